#!/bin/sh
# Run the Trent load benchmark (bench/load.py) with the project's Python.
# `make bench` calls this. All arguments are passed through; see `bench/load.sh --help`.
# Python is chosen from: $PYTHON, then <repo>/.venv/bin/python, then python3 on $PATH.
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
root=$(dirname -- "$here")
if [ -n "${PYTHON:-}" ]; then
    py=$PYTHON
elif [ -x "$root/.venv/bin/python" ]; then
    py=$root/.venv/bin/python
else
    py=$(command -v python3) || { echo "bench/load.sh: no python found (set PYTHON)" >&2; exit 2; }
fi
exec "$py" "$here/load.py" "$@"
