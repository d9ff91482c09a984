# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
HOST ?= 127.0.0.1
# Empty: gunicorn.conf.py picks the worker count from the cores.
WORKERS ?=
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test lint migrate seed-demo contract bench screenshots clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

migrate: $(VENV)/.runtime-installed
	$(FLASK) db upgrade

seed-demo: migrate
	$(FLASK) seed-demo --if-empty

## make run: install, migrate the SQLite database under instance/, seed the demo when empty, serve on PORT.
run: seed-demo
	@echo ""
	@echo "Zoufang is starting on http://$(HOST):$(PORT)"
	@echo "  admin site:   http://$(HOST):$(PORT)/admin"
	@echo "  phone client: http://$(HOST):$(PORT)/m/  (workers, in WeChat or any phone browser)"
	@echo "  phone API:    http://$(HOST):$(PORT)/api/v1  (OpenAPI: /api/v1/openapi.json)"
	@echo ""
	exec env GUNICORN_BIND=$(HOST):$(PORT) $(if $(WORKERS),WEB_CONCURRENCY=$(WORKERS)) \
		$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

## make test: install the dev requirements and run the suite (TEST_DATABASE_URL adds PostgreSQL).
test: $(VENV)/.dev-installed
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .

## make contract: the phone API contract of ../shared against a running server (make run first).
contract:
	$(BIN)/python ../shared/contract/phone_api_contract.py http://$(HOST):$(PORT) \
		$${CONTRACT_USER:-$$(sed -n 's/^worker *\([^ ]*\) *\([^ ]*\).*/\1/p' instance/demo_logins.txt | head -1)} \
		$${CONTRACT_PASSWORD:-$$(sed -n 's/^worker *\([^ ]*\) *\([^ ]*\).*/\2/p' instance/demo_logins.txt | head -1)}

## make screenshots: rerun the phone client's browser tests, rewriting docs/screenshots/*.png.
screenshots: $(VENV)/.dev-installed
	UPDATE_SCREENSHOTS=1 $(BIN)/pytest -q tests/mobile

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench.photo_pipeline

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
