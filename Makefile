# Two entry points, each working from a fresh clone with only python3:
#   make demo   - set up, build the simulated organization, collect it, write the HTML audit
#   make test   - set up and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
DEMO_OUT = reports/demo

.PHONY: demo test test-fast setup lab clean lint format

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/ecr-audit demo --out $(DEMO_OUT)

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

# The kernel runs in the notebook's directory: ECR_AUDIT_WORKDIR tells `open_snapshot` where a
# relative `snapshot = "snapshots/..."` was meant from (this directory).
lab: $(STAMP)
	ECR_AUDIT_WORKDIR=$(CURDIR) $(BIN)/jupyter lab ecr_audit/notebooks/

# What `make setup` / `make demo` create: the virtualenv, the editable install's metadata, the demo's
# snapshot and report, and any wheel build.
clean:
	rm -rf $(VENV) $(DEMO_OUT) ecr_audit.egg-info build dist

# Benchmarks (issue 8; figures in benchmarks/RESULTS.md). Not part of `make test`.
.PHONY: bench-collect bench-analysis
bench-collect: $(STAMP)
	$(BIN)/python benchmarks/bench_collect.py

bench-analysis: $(STAMP)
	$(BIN)/python benchmarks/bench_analysis.py
