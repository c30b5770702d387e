# Set-up and checks. `make demo` runs the flagship scenario end to end; `make test` runs lint and tests.
# Both create .venv with Python >= 3.12 on first use.

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The first interpreter that is 3.12 or newer; pyenv selects 3.12 through .python-version.
PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 python3 python; do \
	  command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null \
	  && { echo $$p; break; }; done)

.PHONY: demo backtest test lint format bench clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  echo "error: forecast needs Python 3.12 or newer (PyMC 6 requires it); none found on PATH." >&2; \
	  echo "       Install one (for example 'pyenv install 3.12') or run 'make PYTHON=/path/to/python3.12 ...'." >&2; \
	  exit 1; fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/forecast run scenarios/singapore-summit-2018.yaml --out reports
	$(BIN)/forecast score reports/singapore-summit-2018 \
	  --resolutions scenarios/singapore-summit-2018.resolutions.yaml

# The flagship and the earlier rounds in scenarios/backtest/, each written as of its own past
# date, run into reports/backtest/ and scored together by one `forecast score`.
BACKTEST := $(filter-out %.resolutions.yaml,$(wildcard scenarios/backtest/*.yaml))

backtest: $(STAMP)
	$(BIN)/forecast run scenarios/singapore-summit-2018.yaml $(BACKTEST) \
	  --out reports/backtest --format json,html
	$(BIN)/forecast score reports/backtest/singapore-summit-2018 \
	  $(patsubst scenarios/backtest/%.yaml,reports/backtest/%,$(BACKTEST)) \
	  --resolutions scenarios/singapore-summit-2018.resolutions.yaml \
	  $(addprefix --resolutions ,$(BACKTEST:.yaml=.resolutions.yaml))

lint: $(STAMP)
	$(BIN)/ruff check forecast tests benchmarks
	$(BIN)/ruff format --check forecast tests benchmarks

format: $(STAMP)
	$(BIN)/ruff check --fix forecast tests benchmarks
	$(BIN)/ruff format forecast tests benchmarks

# Whole test files spread over every core (pytest-xdist), in the order tests/conftest.py collects
# them: longest first.
test: lint
	$(BIN)/python -m pytest -n auto --dist loadfile --no-loadscope-reorder

bench: $(STAMP)
	$(BIN)/python benchmarks/engine_speed.py

clean:
	rm -rf $(VENV) reports/*/ reports/index.html .pytest_cache .hypothesis
