# casebridge — the two commands of the README, and a few helpers.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test lint format messages bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-app: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed-app

## Install and start the app with demo data on SQLite at http://127.0.0.1:8000
demo: $(VENV)/.installed-app
	$(BIN)/casebridge demo

## Install the test dependencies and run the whole test suite
test: $(VENV)/.installed-test
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Extract and compile translations (needs GNU gettext)
messages: $(VENV)/.installed-test
	cd src/casebridge && SECRET_KEY=makemessages-only-$$(printf '%040d' 0) ../../$(BIN)/casebridge makemessages -l de --no-obsolete --add-location file
	cd src/casebridge && SECRET_KEY=makemessages-only-$$(printf '%040d' 0) ../../$(BIN)/casebridge compilemessages

clean:
	rm -rf $(VENV) var
