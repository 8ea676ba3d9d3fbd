# WardKit: `make run` serves the app, `make test` runs the whole suite. Both set up
# everything they need first (virtualenv, pinned packages, database, browser).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask

.PHONY: run test venv dev-deps browser pdf-libs faketime wrk init-db translations bench clean

# `flask serve` runs gunicorn on Linux and waitress on Windows (wardkit/serve.py).
run: $(VENV)/.runtime pdf-libs
	$(FLASK) init-db
	$(FLASK) seed-demo
	$(FLASK) serve

# The suite runs twice: on today's date, then with the system date a year ahead (Debian's
# faketime), which proves that no test depends on the real date. Each run spreads the tests
# over 2 worker processes (pytest-xdist; tests marked xdist_group share one worker).
test: $(VENV)/.dev browser pdf-libs faketime
	$(BIN)/python -m pytest -n 2 --dist loadgroup
	@echo "--- the whole suite again, with the system date moved a year ahead (faketime +365d)"
	faketime -f '+365d' $(BIN)/python -m pytest -n 2 --dist loadgroup -q -p no:cacheprovider

venv: $(VENV)/.runtime

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# Debian's chromium for the Playwright browser tests (Playwright cannot download its own
# browser offline). Installed with apt when missing and we are root; otherwise the
# browser tests skip locally and fail under CI=true.
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "chromium is missing: sudo apt-get install chromium (browser tests will skip)"; \
	  fi; \
	fi

# The printed QR sheets: WeasyPrint's system libraries (Pango, HarfBuzz) and poppler-utils
# (pdftoppm/pdftotext, which the sheet tests use to read the PDFs back). Installed with
# apt when missing and we are root.
PDF_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils
pdf-libs:
	@missing=$$(for p in $(PDF_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "missing for the printed sheets: sudo apt-get install $$missing"; \
	  fi; \
	fi

# A Debian tool the suite or a benchmark needs: installed with apt when missing and we are
# root, otherwise the target fails saying what to install. $(call debian-tool,COMMAND)
define debian-tool
	@if ! command -v $(1) >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); \
	  else \
	    echo "$(1) is missing: sudo apt-get install $(1)"; exit 1; \
	  fi; \
	fi
endef

# Debian's faketime moves the system date for the second run of the suite.
faketime:
	$(call debian-tool,faketime)

# Debian's wrk drives the mixed-load benchmark (bench/bench_mixed.py).
wrk:
	$(call debian-tool,wrk)

init-db: $(VENV)/.runtime
	$(FLASK) init-db

# Re-extract strings and update both catalogues, then compile them (commit the .po and .mo).
translations: $(VENV)/.dev
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o wardkit/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i wardkit/translations/messages.pot -d wardkit/translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d wardkit/translations

bench: $(VENV)/.dev wrk
	$(BIN)/python bench/bench_commits.py
	$(BIN)/python bench/bench_mixed.py
	$(BIN)/python bench/bench_queue.py

clean:
	rm -rf $(VENV) .pytest_cache
