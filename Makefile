# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt
PYTEST_ARGS ?=

.PHONY: setup setup-dev demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Runtime install (torch pinned to the CPU build by constraints.txt).
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) -e .
	touch $@

# Development install: test and lint tools, keras for the Keras backend.
$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

demo: setup
	$(BIN)/actlab compare

# One torch/OpenMP thread per test worker: two workers already fill two cores, and idle
# OpenMP threads spin on an oversubscribed machine.
test: setup-dev
	$(BIN)/ruff check src tests benchmarks
	OMP_NUM_THREADS=1 $(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: setup-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: setup
	$(BIN)/python benchmarks/kernels.py
	$(BIN)/python benchmarks/catalog.py
	$(BIN)/python benchmarks/sweep.py
	$(BIN)/python benchmarks/cnn.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
