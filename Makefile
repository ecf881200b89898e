# Two commands do everything on a fresh machine (see README.md):
#   make serve   - venv + install + `trent serve --dev` on 127.0.0.1:8080
#   make test    - venv + install + system packages + `make lint` + the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# AWS's aws-encryption-cli, the oracle for `trent encrypt|decrypt` (tests/wire/envelope): it pins
# aws-encryption-sdk ~= 3.1 while the test extras use 4.x, so it gets a venv of its own
ESDK_CLI := .venv-esdk-cli/bin/aws-encryption-cli
# Amazon's S3 Encryption Client, the oracle for trent.s3ec (tests/wire/s3ec, bench/s3ec_throughput.py):
# it pins cryptography<49 while Trent uses 50.x, so it gets a venv of its own
S3EC_AMAZON := .venv-s3ec/.installed-stamp

.PHONY: serve test bench lint clean system-packages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(ESDK_CLI):
	$(PYTHON) -m venv .venv-esdk-cli
	.venv-esdk-cli/bin/pip install --quiet 'aws-encryption-sdk-cli==4.3.0'

$(S3EC_AMAZON):
	$(PYTHON) -m venv .venv-s3ec
	.venv-s3ec/bin/pip install --quiet 'amazon-s3-encryption-client-python==4.0.0'
	touch $(S3EC_AMAZON)

serve: $(STAMP)
	$(BIN)/trent serve --dev --host 127.0.0.1 --port 8080 --data-dir .trent

# System packages the tests need: wrk is for bench only; softhsm2 for the HSM tests;
# PostgreSQL 15 server binaries must be on PATH (the suite starts its own throwaway server).
system-packages:
	@scripts/ensure-system-packages.sh

# Static checks, configured in pyproject.toml: ruff (src tests bench), mypy (src/trent) and the
# import-linter layer contracts (ARCHITECTURE.md). `make test` runs them before the suite.
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: lint $(ESDK_CLI) $(S3EC_AMAZON) system-packages
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	bench/load.sh

clean:
	rm -rf $(VENV) .venv-esdk-cli .venv-s3ec .trent .pytest_cache
