# The two commands: `make run` (the product with demo data) and `make test` (the suite).
# With no DATABASE_URL both use an embedded PostgreSQL under var/; see README.md.

VENV ?= .venv
PYTHON := $(VENV)/bin/python
BOOTSTRAP_PYTHON := $(shell command -v python3.11 || command -v python3)
STAMP := $(VENV)/.installed

.PHONY: venv run test lint fmt

venv: $(STAMP)

# Reinstalls only when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(PYTHON) || $(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[dev]'
	touch $@

run: venv
	$(PYTHON) -m telecom.devstack

test: venv
	$(PYTHON) -m pytest -n 2 -p no:cacheprovider $(PYTEST_ARGS)

lint: venv
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) manage.py check
	$(PYTHON) manage.py makemigrations --check --dry-run
	$(VENV)/bin/lint-imports

fmt: venv
	$(PYTHON) -m ruff check --fix .
	$(PYTHON) -m ruff format .
