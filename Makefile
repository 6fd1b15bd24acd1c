# Two commands do all set-up on a fresh machine with Python 3.11+:
#   make demo   — installs into .venv, starts embedded PostgreSQL, seeds realms, users and videos, serves
#   make test   — installs into .venv (with test tools) and runs the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test install install-dev lint i18n-extract i18n-update

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

# The interface's messages: extract them from templates, scripts and Python into messages.pot, then merge
# that into each language's catalogue (new messages arrive empty, changed ones fuzzy, for a translator).
LOCALES := reelm/locale
i18n-extract: install
	$(BIN)/pybabel extract -F babel.cfg -k t -k tn:1,2 --sort-by-file --no-wrap \
		--project Reelm --copyright-holder "Reelm" -o $(LOCALES)/messages.pot .

i18n-update: i18n-extract
	$(BIN)/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) --no-wrap --ignore-obsolete
