# The team's vocabulary. `make run` and `make test` are the two commands a newcomer needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEV    := DEBUG=1
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
# What pytest runs (default: the whole suite), e.g. PYTEST_ARGS="tests/catalog -x".
PYTEST_ARGS ?=
# Test processes (pytest-xdist): one per core; PYTEST_WORKERS=0 runs in one process. An idle
# process takes tests queued for another (worksteal): the few long ones (axe, make run,
# the Celery worker) do not pile up on one process at the end.
PYTEST_WORKERS ?= 2
PYTEST_XDIST := -n $(PYTEST_WORKERS) --dist worksteal
# Tests get Redis (and PostgreSQL) from here: the configured server when it answers,
# else a throwaway one on a free port, stopped afterwards (tests/services.py).
WITH_SERVICES := $(BIN)/python -m tests.services

.PHONY: install run serve test test-postgres browser worker beat bench lint format typecheck migrations-check load-data reset-local-db

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## Set up everything (venv, install, migrate, load data, the dev login admin / admin) and
## start the site on http://$(RUN_ADDR): with Redis, the web server, a Celery worker and
## beat together (honcho + Procfile; Ctrl-C stops all); without, the web server only.
RUN_ADDR ?= 127.0.0.1:8000
run: install
	$(DEV) $(BIN)/python manage.py migrate --noinput
	$(DEV) $(BIN)/python manage.py load_data
	$(DEV) $(BIN)/python manage.py create_dev_superuser
	@if $(DEV) $(BIN)/python -m config.broker; then \
	  echo "Starting web, worker and beat (Procfile) on http://$(RUN_ADDR); Ctrl-C stops all"; \
	  $(DEV) RUN_ADDR=$(RUN_ADDR) exec $(BIN)/honcho start -f Procfile; \
	else \
	  $(DEV) CELERY_BROKER_AVAILABLE=0 exec $(BIN)/python manage.py runserver $(RUN_ADDR); \
	fi

load-data: install
	$(DEV) $(BIN)/python manage.py load_data

## Run the whole suite (SQLite) with a real Redis; browser tests drive Debian's Chromium
test: install browser
	$(WITH_SERVICES) -- $(BIN)/pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

## The same suite against PostgreSQL at PG_URL (a throwaway cluster when none answers)
test-postgres: install browser
	DATABASE_URL=$(PG_URL) $(WITH_SERVICES) --postgres -- $(BIN)/pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

## Debian's Chromium for the Playwright tests (never a downloaded browser)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; fi; }

## Celery worker with the beat scheduler embedded (needs Redis at REDIS_URL), with the
## environment's settings like `make serve` (DEBUG=1 make worker for development)
worker: install
	$(BIN)/celery -A config worker --beat --loglevel=INFO

## Celery beat alone: the price-sync and GGUF schedules (needs Redis at REDIS_URL), with the
## environment's settings. Exactly one per deployment, or none when a `make worker` embeds it.
beat: install
	$(BIN)/celery -A config beat --loglevel=INFO --schedule=$(VENV)/celerybeat-schedule

## Production server: granian (config/serve.py) + WhiteNoise, settings from the environment
## (README "Running in production"). Run `manage.py migrate` once per deploy, not here.
BIND        ?= 0.0.0.0:8000
WEB_WORKERS ?= $(shell nproc)
WEB_THREADS ?= 4
serve: install
	$(BIN)/python manage.py check --deploy
	$(BIN)/python manage.py collectstatic --noinput
	BIND=$(BIND) WEB_WORKERS=$(WEB_WORKERS) WEB_THREADS=$(WEB_THREADS) exec $(BIN)/python -m config.serve

## Load test (wrk) of the production server on a free loopback port, the engine alone,
## then /livez under 100 slow-header clients
bench: install
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
	  else echo "make bench needs Debian's wrk: sudo apt-get install wrk" >&2; exit 1; fi; }
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/slow_clients.py

## Every check CI runs: the pre-commit hooks over all tracked files (ruff check and format,
## django-upgrade for 5.2, djlint on templates; run from .venv, nothing downloaded), the
## import contracts in pyproject.toml (dependencies point one way), then mypy.
lint: install
	$(BIN)/pre-commit run --all-files --show-diff-on-failure
	$(BIN)/lint-imports --no-cache
	$(MAKE) --no-print-directory typecheck

## mypy with django-stubs: strict on calculator/engine/, default elsewhere (pyproject.toml)
typecheck: install
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrations-check: install
	$(DEV) $(BIN)/python manage.py makemigrations --check --dry-run

reset-local-db:
	rm -f db.sqlite3
