# Mercato — the two commands are `make demo` and `make test`; both set everything up first.
PYTHON ?= python3
UV_ON_PATH := $(shell command -v uv 2>/dev/null)
UV := $(if $(UV_ON_PATH),$(UV_ON_PATH),.tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
BENCH_ARGS ?=

.PHONY: setup demo serve test test-fast lint format bench clean

setup: $(VENV)/.synced

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet "uv>=0.5,<1"

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	@touch $@

demo: setup
	$(BIN)/mercato demo --host $(HOST) --port $(PORT)

serve: setup
	$(BIN)/mercato db upgrade && $(BIN)/mercato serve --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/pytest

test-fast: setup
	$(BIN)/pytest -x -q

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: setup
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

bench: setup
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
