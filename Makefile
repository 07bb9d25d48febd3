# Two commands for people: `make run` and `make test`. Both start with the
# idempotent `make setup`.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
INSTALLED := $(VENV)/.installed
NPM_INSTALLED := static/node_modules/.installed
CATALOGS := $(patsubst %.po,%.mo,$(wildcard hotline/translations/*/LC_MESSAGES/messages.po))

# The PostgreSQL run of the suite (the web app's tests; triage and browser
# tests do not touch the database backend).
TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# One pytest worker per core, a test file per worker at a time: much of the
# suite waits on real servers, browsers and sockets, so two workers nearly
# halve a run even on two cores. Every test owns its database, ports and
# Redis channel, so workers never share state. `make test PYTEST_WORKERS=0`
# runs in one process (easier to debug).
PYTEST_WORKERS ?= logical
PYTEST := $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

.PHONY: setup run test test-postgres bench bench-surge lint format db model translations clean

setup: $(INSTALLED) $(NPM_INSTALLED) $(CATALOGS) db model

$(INSTALLED): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(NPM_INSTALLED): static/package.json static/package-lock.json
	cd static && npm ci --no-audit --no-fund --loglevel=error
	touch $@

hotline/translations/%/LC_MESSAGES/messages.mo: hotline/translations/%/LC_MESSAGES/messages.po $(INSTALLED)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

db: $(INSTALLED)
	$(BIN)/hotline db upgrade

model: $(INSTALLED)
	$(BIN)/hotline triage train --if-stale

run: setup
	$(BIN)/hotline serve

test: setup
	$(PYTEST)

test-postgres: setup
	HOTLINE_TEST_DATABASE_URL=$(TEST_POSTGRES_URL) $(PYTEST) -m "not browser and not slow" --ignore=tests/triage

bench: setup
	$(BIN)/python -m bench

# Issue 20's surge: 2,000 residents waiting, 100 of them writing, one console,
# against the bare and the durable relay; `make bench-surge ARGS=--quick`
# is the small one (under two minutes).
bench-surge: setup
	$(BIN)/python -m bench --surge --modes gevent $(ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Refresh the message catalogues after changing user-facing text.
translations: $(INSTALLED)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o /tmp/hotline-messages.pot .
	$(BIN)/pybabel update -i /tmp/hotline-messages.pot -d hotline/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) static/node_modules
