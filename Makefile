# Tandem: `make run` starts everything, `make test` checks everything.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

# The suite runs against PostgreSQL and Redis (the real parts), not the embedded defaults.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tandem
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run cluster test test-slow test-fast lint audit deps nginx pydeps jsdeps assets chromium services migrate seed clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

pydeps: $(VENV)/.installed

node_modules/.installed: package.json package-lock.json
	command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs npm)
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

jsdeps: node_modules/.installed

assets: jsdeps
	npm run --silent build

chromium:
	scripts/ensure-chromium.sh

deps: pydeps assets chromium

# nginx (Debian's package) for `make cluster` and the cluster's end-to-end test.
nginx:
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || \
	  (apt-get update -qq && (apt-get install -y -qq nginx-light || apt-get install -y -qq nginx))

services:
	scripts/ensure-services.sh postgres redis

# Python (ruff) and JavaScript (ESLint: frontend/, static/js/, eslint.config.mjs says what and why).
lint: pydeps jsdeps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	node_modules/.bin/eslint --max-warnings 0 .
	$(VENV)/bin/mypy

test: deps services nginx lint
	if ls frontend/tests/*.test.mjs >/dev/null 2>&1; then node --test frontend/tests/; fi
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	  $(VENV)/bin/pytest -m "not slow" $(PYTEST_ARGS)

# The few tests that take a minute or more each (the network flapping 20 times in a minute, the
# authorization matrix's ~1,900 requests): kept out of `make test` so it stays well under 20 minutes
# on a 2-core machine. CI (.ci/run) runs both.
test-slow: deps services
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	  $(VENV)/bin/pytest -m slow $(PYTEST_ARGS)

# The inner loop: lint, the front-end unit tests and the suite without the browser tests (real
# Chromium through Playwright: most of the suite's time). Benchmarks (bench_*.py) are never collected.
# CI runs `make test` and `make test-slow`, which together run everything.
test-fast: pydeps assets services lint
	node --test frontend/tests/
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	  $(VENV)/bin/pytest -m "not browser and not slow" $(PYTEST_ARGS)

# Known vulnerabilities in the pinned dependencies: pip-audit on both requirements files (--strict: a
# package it could not look up fails the audit, never "no known vulnerabilities") and npm audit
# (high or critical). Both need live advisory data (PyPI's JSON API, the npm registry's audit
# endpoint), so `make test` does not depend on this; CI runs it after the tests (.ci/run).
audit: pydeps
	@status=0; \
	$(VENV)/bin/pip-audit --strict --progress-spinner off -r requirements.txt -r requirements-dev.txt || status=1; \
	npm audit --audit-level=high || status=1; \
	exit $$status

migrate: pydeps
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo --if-empty --history 90

# The demo runs with DEBUG on (development keys, plain HTTP on 127.0.0.1); DEBUG is off otherwise,
# and then config/settings.py refuses the development keys. DJANGO_DEBUG=false make run overrides.
run: export DJANGO_DEBUG ?= true
run: deps
	scripts/ensure-services.sh redis $(if $(findstring postgres,$(DATABASE_URL)),postgres,)
	$(MAKE) --no-print-directory seed
	mkdir -p var
	$(PY) manage.py collectstatic --noinput -v 0
	@$(PY) manage.py demo_banner
	$(VENV)/bin/honcho start -f Procfile

# `make run` behind nginx: nginx on 127.0.0.1:8080 balancing two web nodes (8101, 8102) round robin,
# the workers, beat and the demo site pointed at :8080 (docs/cluster.md).
cluster: export DJANGO_DEBUG ?= true
cluster: export TANDEM_BASE_URL ?= http://127.0.0.1:8080
cluster: export FORWARDED_ALLOW_IPS ?= 127.0.0.1
cluster: deps nginx
	scripts/ensure-services.sh redis $(if $(findstring postgres,$(DATABASE_URL)),postgres,)
	$(MAKE) --no-print-directory seed
	mkdir -p var/nginx
	$(PY) manage.py collectstatic --noinput -v 0
	@$(PY) manage.py demo_banner
	$(VENV)/bin/honcho start -f Procfile.cluster

clean:
	rm -rf $(VENV) node_modules static/dist staticfiles .test-db.sqlite3
