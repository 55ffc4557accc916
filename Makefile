# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run example test lint bench bench-full bench-families bench-api bench-load clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## start the service on 127.0.0.1:8000 (SQLite under var/) with demo data; Ctrl-C stops
	mkdir -p var
	$(VENV)/bin/volmatch demo --base-url http://127.0.0.1:8000
	$(VENV)/bin/volmatch serve --host 127.0.0.1 --port 8000

example: $(STAMP)  ## solve the bundled example week with the CLI and print the plan summary
	mkdir -p var
	$(VENV)/bin/volmatch solve matcher/examples/city_week.json -o var/example_plan.json
	$(VENV)/bin/volmatch check matcher/examples/city_week.json var/example_plan.json

test: $(STAMP)  ## lint, type-check and run the whole test suite (API tests on SQLite and PostgreSQL)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	.ci/with-postgres $(PY) -m pytest -q

bench: $(STAMP)  ## quick benchmark subset (< 5 min): results in benchmarks/results/quick/
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m benchmarks --quick

bench-full: $(STAMP)  ## every benchmark (about 1.5 h on 2 cores): results in benchmarks/results/
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m benchmarks

bench-families: $(STAMP)  ## families of city weeks: greedy, the engine, the textbook HiGHS peer (hours)
	$(PY) -m benchmarks.families --tag head

bench-api: $(STAMP)  ## the HTTP service's benchmark (import, list latency, match run end to end)
	$(PY) -m benchmarks.api_perf

bench-load: $(STAMP)  ## 50 clients for 2 minutes over a throwaway PostgreSQL; nothing may be lost
	$(PY) -m benchmarks.load --clients 50 --duration 120

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
