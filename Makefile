# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench bench-full clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## solve the bundled example week and print the plan summary
	mkdir -p var
	$(VENV)/bin/volmatch solve matcher/examples/city_week.json -o var/example_plan.json
	$(VENV)/bin/volmatch check matcher/examples/city_week.json var/example_plan.json

test: $(STAMP)  ## lint, type-check and run the whole test suite
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q

bench: $(STAMP)  ## quick benchmark subset (< 5 min): results in benchmarks/results/quick/
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m benchmarks --quick

bench-full: $(STAMP)  ## every benchmark (about 1.5 h on 2 cores): results in benchmarks/results/
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
