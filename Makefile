# casebridge — the two commands of the README, and a few helpers.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test lint format messages bench bench-load bench-federation clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-app: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,bench]"
	touch $@ $(VENV)/.installed-app $(VENV)/.installed-test

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed-app

## Install and start the app with demo data on SQLite at http://127.0.0.1:8000
demo: $(VENV)/.installed-app
	$(BIN)/casebridge demo

## Install the test dependencies and run the whole test suite
test: $(VENV)/.installed-test
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Extract and compile translations (needs GNU gettext)
messages: $(VENV)/.installed-test
	cd src/casebridge && SECRET_KEY=makemessages-only-$$(printf '%040d' 0) ../../$(BIN)/casebridge makemessages -l de --no-obsolete --add-location file
	cd src/casebridge && SECRET_KEY=makemessages-only-$$(printf '%040d' 0) ../../$(BIN)/casebridge compilemessages

# PostgreSQL server for the benchmarks; each script creates and drops its own database.
BENCH_POSTGRES ?= postgres://postgres@127.0.0.1:5432
BENCH_OUT      ?= bench/out
# the generated volume: 1 = 100,000 contacts, 20,000 cases, 500,000 entries; 10 = ten times
SCALE          ?= 1
LOAD_ARGS      ?=

## Every benchmark on SQLite and PostgreSQL, then the load test, each script's output in
## bench/out/, then bench/baseline.md (machine, figures) from them. `make bench SCALE=10`.
bench: $(VENV)/.installed-bench
	rm -rf $(BENCH_OUT) && mkdir -p $(BENCH_OUT)
	$(BIN)/python bench/collect.py start $(BENCH_OUT)
	for db in sqlite postgres; do \
	  if [ $$db = postgres ]; then url=$(BENCH_POSTGRES)/cb_bench; else url=; fi; \
	  DATABASE_URL=$$url $(BIN)/python bench/routing.py | tee $(BENCH_OUT)/routing-$$db.txt && \
	  DATABASE_URL=$$url $(BIN)/python bench/policy.py | tee $(BENCH_OUT)/policy-$$db.txt && \
	  (cd bench && DATABASE_URL=$$url PYTHONPATH=../src ../$(BIN)/python audit.py verify | tee ../$(BENCH_OUT)/audit-verify-$$db.txt) && \
	  (cd bench && DATABASE_URL=$$url PYTHONPATH=../src ../$(BIN)/python audit.py cost | tee ../$(BENCH_OUT)/audit-cost-$$db.txt) && \
	  (cd bench && DATABASE_URL=$$url PYTHONPATH=../src ../$(BIN)/python audit.py auditlog | tee ../$(BENCH_OUT)/audit-auditlog-$$db.txt) && \
	  DATABASE_URL=$$url $(BIN)/python bench/stats.py --scale $(SCALE) | tee $(BENCH_OUT)/stats-$$db.txt || exit 1; \
	done
	(cd bench && DATABASE_URL=$(BENCH_POSTGRES)/cb_bench PYTHONPATH=../src ../$(BIN)/python audit.py lock | tee ../$(BENCH_OUT)/audit-lock-postgres.txt)
	$(MAKE) bench-load
	$(BIN)/python bench/collect.py write $(BENCH_OUT) bench/baseline.md --scale $(SCALE)

## The load test alone (locust against gunicorn), on SQLite and PostgreSQL
## (the saturation curve without think time, with the floor beside it, then realistic think time),
## then the curve on PostgreSQL through HAProxy before two app servers of 2 workers each
## (the same 4 workers as the one-server figure; needs Debian's haproxy)
LOAD_CURVE ?= --users 1,2,4,8,16,32 --wait zero --floor --run-time 30 --max-requests 0
LOAD_THINK ?= --users 20 --wait think --run-time 60 --max-requests 0
bench-load: $(VENV)/.installed-bench
	mkdir -p $(BENCH_OUT)
	for db in sqlite postgres; do \
	  CASEBRIDGE_OPS_POSTGRES=$(BENCH_POSTGRES) $(BIN)/python bench/load.py --database $$db --scale $(SCALE) $(LOAD_CURVE) $(LOAD_ARGS) --output $(BENCH_OUT)/load-$$db.md && \
	  CASEBRIDGE_OPS_POSTGRES=$(BENCH_POSTGRES) $(BIN)/python bench/load.py --database $$db --scale $(SCALE) $(LOAD_THINK) $(LOAD_ARGS) --output $(BENCH_OUT)/load-think-$$db.md || exit 1; \
	done
	CASEBRIDGE_OPS_POSTGRES=$(BENCH_POSTGRES) $(BIN)/python bench/load.py --database postgres --servers 2 --workers 2 --scale $(SCALE) $(LOAD_CURVE) $(LOAD_ARGS) --output $(BENCH_OUT)/load-postgres-2servers.md

## Federation between two local installations (issue 22), on SQLite and PostgreSQL:
## consultation round trips, then person matches over FEDERATION_CASES open cases a side
FEDERATION_CASES ?= 100000
bench-federation: $(VENV)/.installed-bench
	mkdir -p $(BENCH_OUT)
	for db in sqlite postgres; do \
	  CASEBRIDGE_OPS_POSTGRES=$(BENCH_POSTGRES) $(BIN)/python bench/federation.py --database $$db --cases $(FEDERATION_CASES) | tee $(BENCH_OUT)/federation-$$db.txt || exit 1; \
	done

clean:
	rm -rf $(VENV) var
