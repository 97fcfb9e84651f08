# The two commands of the README: `make run` (the service, embedded) and `make test` (everything CI runs).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Embedded all-in-one demo: API + reminder worker + beat, SQLite under ./var, JWT checking OFF (demo only).
run: $(BIN)/.installed
	BHCDS_AUTH_ENABLED=$${BHCDS_AUTH_ENABLED:-false} $(BIN)/bone-health-cds serve --host $${HOST:-127.0.0.1} --port $${PORT:-8080}

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q

bench: $(BIN)/.installed
	$(BIN)/python bench/hooks.py
