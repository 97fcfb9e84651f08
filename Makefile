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
# HOST and PORT choose where it listens (default 127.0.0.1:8080).
run: $(BIN)/.installed
	@if [ -z "$${BHCDS_FHIR_BASE_URL}$${BHCDS_REMINDER_WEBHOOK_URL}" ]; then \
	  echo "note: reminders are scheduled but none is delivered until BHCDS_FHIR_BASE_URL or BHCDS_REMINDER_WEBHOOK_URL is set (README: watch a reminder arrive)"; fi
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
