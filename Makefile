# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run example test lint bench bench-full bench-families bench-visits bench-api bench-load bench-console bench-notify bench-scale system-packages vendor-static messages clean

# Debian packages the service and its tests need: chromium for the console's browser tests
# (Playwright drives it by its path and never downloads a browser here), fonts-noto-cjk for
# certificates and the Chinese pages in screenshots, poppler-utils (pdftoppm, pdftotext) for the
# tests that read certificates back. Installed as root when missing, skipped when present.
SYSTEM_PACKAGES := chromium fonts-noto-cjk poppler-utils

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(VENV)/bin/volmatch warm-up  # the local search's and the routing's compiled loops, into numba's cache
	touch $(STAMP)

system-packages:  ## install the Debian packages above (as root, with apt-get) unless present
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "missing Debian packages: $$missing (run make system-packages as root); without them certificates answer 503 and the tests that need them fail or are skipped" >&2; exit 0; fi; \
	echo "installing $$missing"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null

run: $(STAMP) system-packages  ## start the service on 127.0.0.1:8000 (SQLite under var/) with demo data; Ctrl-C stops
	mkdir -p var
	$(VENV)/bin/volmatch demo --base-url http://127.0.0.1:8000
	$(VENV)/bin/volmatch serve --host 127.0.0.1 --port 8000

example: $(STAMP)  ## solve the bundled example week with the CLI and print the plan summary
	mkdir -p var
	$(VENV)/bin/volmatch solve matcher/examples/city_week.json -o var/example_plan.json
	$(VENV)/bin/volmatch check matcher/examples/city_week.json var/example_plan.json

test: $(STAMP) system-packages  ## lint, type-check and run the whole test suite (API tests on SQLite and PostgreSQL)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	.ci/with-postgres $(PY) -m pytest -q

bench: $(STAMP)  ## quick benchmark subset (< 5 min): results in benchmarks/results/quick/
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m benchmarks --quick

bench-full: $(STAMP)  ## every benchmark (about 2.5 h on 2 cores): results in benchmarks/results/
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m benchmarks

bench-families: $(STAMP)  ## families of city weeks: greedy, the engine, the textbook HiGHS peer (hours)
	$(PY) -m benchmarks.families --tag head

bench-visits: $(STAMP)  ## issue 18: 5,000/600 flexible home visits vs the same week at fixed mid-window slots, 30 s, seeds 0-2, 3 runs (about 20 min)
	$(PY) -m benchmarks.visits --tag head

bench-api: $(STAMP)  ## the HTTP service's benchmark (import, list latency, match run end to end)
	$(PY) -m benchmarks.api_perf

bench-load: $(STAMP)  ## 50 clients for 2 minutes over a throwaway PostgreSQL; nothing may be lost
	$(PY) -m benchmarks.load --clients 50 --duration 120

bench-console: $(STAMP)  ## console list pages (20,000 volunteers, 2,000 requests) and a 5,000/600 plan page
	$(PY) -m benchmarks.console_perf

# htmx, Leaflet and Leaflet.markercluster, taken from their npm packages and committed under
# api/web/static/vendor/ (the console never loads a script from a CDN). Re-run to upgrade.
VENDOR := api/web/static/vendor
NPM_PACKAGES := htmx.org@2.0.7 leaflet@1.9.4 leaflet.markercluster@1.5.3
vendor-static:  ## re-fetch the console's JavaScript and CSS from npm into api/web/static/vendor/
	rm -rf var/npm && mkdir -p var/npm $(VENDOR)/leaflet/images $(VENDOR)/markercluster
	cd var/npm && npm install --no-save --no-package-lock --ignore-scripts --no-audit --no-fund $(NPM_PACKAGES)
	cp var/npm/node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp var/npm/node_modules/leaflet/dist/leaflet.js var/npm/node_modules/leaflet/dist/leaflet.css $(VENDOR)/leaflet/
	cp var/npm/node_modules/leaflet/dist/images/*.png $(VENDOR)/leaflet/images/
	cp var/npm/node_modules/leaflet.markercluster/dist/leaflet.markercluster.js \
	   var/npm/node_modules/leaflet.markercluster/dist/MarkerCluster.css \
	   var/npm/node_modules/leaflet.markercluster/dist/MarkerCluster.Default.css $(VENDOR)/markercluster/
	for p in htmx.org leaflet leaflet.markercluster; do \
	  cp var/npm/node_modules/$$p/*LICEN* $(VENDOR)/LICENSE.$$p 2>/dev/null || true; done
	echo "$(NPM_PACKAGES)" | tr ' ' '\n' > $(VENDOR)/VERSIONS
	rm -rf var/npm

messages: $(STAMP)  ## extract the console's messages, update the catalogs and compile them (.mo, committed)
	$(VENV)/bin/pybabel extract -F api/web/babel.cfg -o api/web/locale/messages.pot --no-location --sort-output --omit-header .
	$(VENV)/bin/pybabel update -i api/web/locale/messages.pot -d api/web/locale --no-fuzzy-matching --ignore-obsolete
	$(VENV)/bin/pybabel compile -d api/web/locale --statistics

bench-notify: $(STAMP)  ## 10,000 events to a local webhook sink, also with the dispatcher SIGKILLed half-way (3 runs)
	$(PY) -m benchmarks.notify --events 10000 --runs 3

bench-scale: $(STAMP)  ## one process and Dask (LocalCluster, scheduler + 2 workers) on issue 19's sizes: hours on 2 cores
	$(PY) -m benchmarks.scale --repeats 3 --out benchmarks/results

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
