# The README's commands. Nothing here is hidden: each target says what it runs.
SHELL := /bin/bash
PY := .venv/bin/python
PORT ?= 8000
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test bench lint fmt check pytest install

install:
	scripts/bootstrap.sh python

run: install
	$(PY) -m stampcard migrate --noinput -v 0
	$(PY) -m stampcard collectstatic --noinput -v 0
	$(PY) -m stampcard load_demo
	$(PY) -m stampcard wallet_certificates
	@echo "Serving on http://127.0.0.1:$(PORT)/ (outbound messages delivered in the background)"
	$(PY) -m stampcard deliver_outbox & trap 'kill $$! 2>/dev/null' EXIT INT TERM; \
	$(PY) -m gunicorn stampcard.wsgi --bind 127.0.0.1:$(PORT) --workers 2 --threads 4 --access-logfile -

test:
	scripts/bootstrap.sh test
	$(MAKE) --no-print-directory lint
	scripts/with-services.sh $(MAKE) --no-print-directory pytest

pytest:
	$(PY) -m pytest -n 2 -p no:cacheprovider $(PYTEST_ARGS)

lint:
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
	.venv/bin/mypy src tests bench

fmt:
	.venv/bin/ruff format src tests bench
	.venv/bin/ruff check --fix src tests bench

bench:
	scripts/bootstrap.sh test
	PG_FSYNC=on PG_SYNCHRONOUS_COMMIT=on scripts/with-services.sh $(PY) -m bench.run
