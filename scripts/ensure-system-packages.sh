#!/usr/bin/env bash
# Install the Debian packages the test suite needs, if they are missing (softhsm2, chromium).
# PostgreSQL: the suite needs initdb/pg_ctl/postgres on PATH; install Debian's
# postgresql server only when none is there (the CI machine has PostgreSQL 15).
set -euo pipefail
need=()
command -v softhsm2-util >/dev/null 2>&1 || need+=(softhsm2)
# issue 21: the web console's browser tests drive Debian's chromium (headless) with Playwright
[ -x /usr/bin/chromium ] || need+=(chromium)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${need[*]} (run as root, or install them)" >&2
    exit 1
  fi
  echo "installing system packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
