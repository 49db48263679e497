# Pawfile — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SETTINGS := DJANGO_SETTINGS_MODULE=pawfile.config.settings

.PHONY: run test install install-dev browser nginx lint typecheck migrations-check pytest pytest-services bench screenshots clean

run: $(VENV)/.installed-run  ## install, migrate and serve Pawfile on SQLite
	$(BIN)/pawfile serve

test: $(VENV)/.installed-dev browser nginx lint typecheck migrations-check pytest pytest-services  ## the whole suite

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev

browser:  ## Debian's chromium for the browser tests (Playwright's own download is not used)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium with apt-get"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null || echo "could not install chromium"; \
	  else echo "chromium is missing: install it (apt-get install chromium) for the browser tests"; fi; }

nginx:  ## Debian's nginx for the scale-out rehearsal (tests/test_rehearsal.py; not started as a service)
	@test -x /usr/sbin/nginx || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing nginx-light with apt-get"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light) >/dev/null || echo "could not install nginx"; \
	  else echo "nginx is missing: install it (apt-get install nginx-light) for the rehearsal"; fi; }

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache  # layer contracts: [tool.importlinter] in pyproject.toml

typecheck: $(VENV)/.installed-dev
	PAWFILE_ENV=test $(BIN)/mypy pawfile

migrations-check: $(VENV)/.installed-dev
	PAWFILE_ENV=test $(SETTINGS) $(BIN)/python -m django makemigrations --check --dry-run

pytest: $(VENV)/.installed-dev  ## the suite on SQLite, in-process cache and queue
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest -n 2 -q --durations=15 -m "not services"

pytest-services: $(VENV)/.installed-dev  ## the same suite on PostgreSQL + Redis (required when CI=true)
	@$(BIN)/python -m tests.services; rc=$$?; \
	if [ $$rc = 75 ]; then exit 0; elif [ $$rc != 0 ]; then exit $$rc; fi; \
	DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/pawfile} \
	REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/0} \
	$(BIN)/pytest -n 2 -q --durations=15

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/web.py

screenshots: $(VENV)/.installed-dev browser  ## every page as PNGs in ./screenshots (demo data; not part of make test)
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python -m tests.screens.shoot --out screenshots

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache
