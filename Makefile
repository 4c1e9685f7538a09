# Two entry points for a new user: `make demo` and `make test`.
# Both create ./.venv with `python3 -m venv` when it is missing and (re)install the project
# only when pyproject.toml changed since the last install.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check --quiet

COMPAT ?= .venv-pandas22
# Material for MkDocs prints a banner about MkDocs 2.0 on every build; this site pins mkdocs<2.
# Never add -q: it silences warnings before --strict counts them, so a broken page would pass.
DOCS   := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

.PHONY: demo test test-compat soak bench bench-quick catalog docs clean

demo: $(VENV)/.installed-demo
	$(BIN)/bspandas demo

test: $(VENV)/.installed-dev
	$(BIN)/ruff check bspandas tests tools benchmarks
	$(BIN)/ruff format --check bspandas tests tools benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -W error --cov --cov-report=term:skip-covered
	$(DOCS)

# The documentation site into site/ (open site/index.html): the API reference, a getting-started
# page and both notebooks executed against the embedded sandbox. Warnings are errors.
docs: $(VENV)/.installed-dev
	$(DOCS)

# The oldest pandas bspandas supports (2.2), in a venv of its own (CI runs it after `test`).
test-compat: $(COMPAT)/.installed
	$(COMPAT)/bin/python -m pytest -W error -q -p no:cacheprovider

$(COMPAT)/.installed: pyproject.toml
	test -x $(COMPAT)/bin/python || $(PYTHON) -m venv $(COMPAT)
	$(COMPAT)/bin/python -m pip --disable-pip-version-check --quiet install -e '.[dev]' 'pandas==2.2.3'
	touch $@

# `make test` ten times in a row with both cores kept busy (the suite must never flake).
soak:
	tools/soak.sh 10

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
	rm -rf $(VENV) $(COMPAT) build dist site .pytest_cache .mypy_cache .ruff_cache .coverage
