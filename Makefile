# Birge — two commands: `make run` (demo server) and `make test` (the whole suite).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCALE ?= small
SEED ?= 1
HOST ?= 127.0.0.1
PORT ?= 8000


.PHONY: runtime-deps run test suite test-fast test-e2e bench setup system-deps demo schema messages compilemessages clean lint

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.lock
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP) compilemessages

# Debian packages: Chromium for the browser tests, fonts and Pango for the PDFs, gettext for catalogues.
system-deps:
	@bash scripts/system-deps.sh test

runtime-deps:
	@bash scripts/system-deps.sh runtime

compilemessages: $(STAMP) runtime-deps
	@$(BIN)/birge compilemessages --ignore=.venv >/dev/null

run: runtime-deps setup
	@mkdir -p var
	$(BIN)/birge migrate --no-input -v 0
	$(BIN)/birge collectstatic --no-input -v 0 >/dev/null
	LOG_LEVEL=WARNING $(BIN)/birge demo --scale $(SCALE) --seed $(SEED) --reuse
	@echo "Serving on http://$(HOST):$(PORT)/  (Ctrl+C to stop)"
	$(BIN)/birge runserver $(HOST):$(PORT) --noreload

test: setup system-deps suite

# The whole suite on an installed tree: the non-browser tests on both cores, then the browser
# tests (one live server and one demo dataset, so in one process). DATABASE_URL picks the database.
suite:
	$(BIN)/pytest -q -m "not e2e" -n 2 --dist loadfile
	$(BIN)/pytest -q -m e2e

test-fast: setup
	$(BIN)/pytest -q -m "not e2e" -n 2 --dist loadfile

test-e2e: setup system-deps
	$(BIN)/pytest -q -m e2e

bench: setup
	$(BIN)/python -m bench.run

schema: setup
	env -u DATABASE_URL $(BIN)/birge spectacular --file docs/openapi.yaml --validate --fail-on-warn --lang en

messages: setup
	$(BIN)/birge makemessages -l ky -l ru -l en --ignore=.venv --ignore=bench --no-obsolete
	$(BIN)/birge makemessages -d djangojs -l ky -l ru -l en --ignore=.venv --ignore=staticfiles --no-obsolete

clean:
	rm -rf var staticfiles
