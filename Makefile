# The two commands of the quick start, and a few more.
#   make demo   bootstrap .venv, install chainrule, run the course's worked example
#   make test   bootstrap .venv with the dev tools, run the whole test suite
#   make bench  chainrule against micrograd, side by side (writes benchmarks/results.json)
#   make lint   ruff
#   make docs   the documentation site, built strictly into site/ (a broken link fails)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
EXTRAS ?= dev

.PHONY: demo test bench lint docs clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("chainrule needs Python 3.10 or newer") if sys.version_info < (3, 10) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-$(EXTRAS): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

demo: $(VENV)/.installed-base
	$(BIN)/chainrule tour -o chainrule-out

test: $(VENV)/.installed-$(EXTRAS)
	$(BIN)/python -m pytest

bench: $(VENV)/.installed-bench
	$(BIN)/python -m benchmarks.run --out benchmarks/results.json

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check autograd nn viz tests demos benchmarks chainrule

docs: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict

clean:
	rm -rf $(VENV) chainrule-out site .pytest_cache .hypothesis
