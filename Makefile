# Two commands do all set-up on a fresh machine with Python 3.11+:
#   make demo   — installs into .venv, starts embedded PostgreSQL, seeds realms, users and videos, serves
#   make test   — installs into .venv (with test tools) and runs the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test install install-dev lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'

demo: install
	$(BIN)/reelm demo $(ARGS)

test: install-dev
	$(BIN)/python -m pytest $(ARGS)

lint: install-dev
	$(BIN)/ruff check reelm tests bench
	$(BIN)/ruff format --check reelm tests bench
	$(BIN)/mypy reelm tests bench
	$(BIN)/lint-imports
