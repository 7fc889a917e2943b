# Two entry points, each working from a fresh clone with only python3:
#   make demo   - set up, build the simulated organization, collect it, write the HTML audit
#   make test   - set up and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test test-fast setup lab clean lint format

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/ecr-audit demo

test: $(STAMP)
	$(BIN)/python -m pytest

# The unit tests alone (no sandbox, notebook or browser; tests/conftest.py marks those).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not sandbox"

# ruff: the linter and formatter configured in pyproject.toml (CI runs `make lint`).
lint: $(STAMP)
	$(BIN)/ruff check ecr_audit tests benchmarks docs
	$(BIN)/ruff format --check ecr_audit tests benchmarks docs

format: $(STAMP)
	$(BIN)/ruff format ecr_audit tests benchmarks docs
	$(BIN)/ruff check --fix ecr_audit tests benchmarks docs

lab: $(STAMP)
	$(BIN)/jupyter lab ecr_audit/notebooks/

clean:
	rm -rf $(VENV) reports/demo snapshots/demo

# Benchmarks (issue 8; figures in benchmarks/RESULTS.md). Not part of `make test`.
.PHONY: bench-collect bench-analysis
bench-collect: $(STAMP)
	$(BIN)/python benchmarks/bench_collect.py

bench-analysis: $(STAMP)
	$(BIN)/python benchmarks/bench_analysis.py
