# Two entry points for a new user: `make demo` and `make test`.
# Both create ./.venv with `python3 -m venv` when it is missing and (re)install the project
# only when pyproject.toml changed since the last install.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check --quiet

.PHONY: demo test lint typecheck pytest bench bench-quick catalog clean

demo: $(VENV)/.installed-demo
	$(BIN)/bspandas demo

test: $(VENV)/.installed-dev
	$(BIN)/ruff check bspandas tests tools benchmarks
	$(BIN)/ruff format --check bspandas tests tools benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -W error

bench: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks

bench-quick: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks --quick

# Regenerate bspandas/catalog/catalog.json from ../shared/spec (developers only).
catalog: $(VENV)/.installed-dev
	$(BIN)/python tools/build_catalog.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[plot]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[dev]'
	touch $@ $(VENV)/.installed-demo

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
