# The two commands: `make run` and `make test`. Both create .venv and install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Serve the portal on http://127.0.0.1:5000 and the sandbox on :5001 (PORT, SANDBOX_PORT, HOST).
run: install
	scripts/run.sh

## The whole suite. REQUIRE_BROWSER=1 fails browser tests without Chromium;
## TEST_DATABASE_URL=postgresql://... adds the PostgreSQL leg.
test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

## Load benchmarks (wrk) against hello-world Flask, with issue 14's targets as PASS/FAIL;
## exits non-zero on a FAIL unless BENCH_REPORT_ONLY=1; BENCH_DATABASE_URL=postgresql://...
## adds the PostgreSQL leg. See docs/benchmarks.md.
bench: install-dev
	bench/run.sh

clean:
	rm -rf $(VENV) .pytest_cache
