# Set-up and everyday commands. Each target creates the virtual environment it
# needs, and installs the project into it again only when pyproject.toml changed.
#
#   make demo    the whole product offline: no Slack or AWS account needed
#   make test    lint, format check, type check and the test suite
#   make serve   the HTTP endpoint for Slack (needs the settings in README.md)
#   make clean   remove the virtual environment and caches

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test serve clean

demo: $(VENV)/.installed
	$(BIN)/snoozedb demo

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

serve: $(VENV)/.installed
	$(BIN)/snoozedb serve

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find bot tests -name __pycache__ -type d -prune -exec rm -rf {} +

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The test extras include everything the demo needs, so installing them also
# satisfies the demo's stamp.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@
