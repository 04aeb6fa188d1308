# The README's two promises: `make run` and `make test`, on a machine with only Python 3.11+.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint browser tools bench bench-subscribers clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/broadsheet run

browser:
	sh scripts/install-browser.sh

# promtool (Debian's prometheus package), with which a test checks /metrics.
tools:
	sh scripts/install-tools.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# Tests run in TEST_WORKERS processes at once (pytest-xdist), each with services of its own;
# those that measure a rate or a time bound run afterwards, alone, so they measure that.
# The slowest 15 are listed after the first run (what to shorten when the suite grows).
# TEST_ONLY narrows both runs by marker (e.g. "not browser"); exit status 5 means none matched.
TEST_WORKERS ?= 4
TEST_ONLY ?=
AND_ONLY := $(if $(TEST_ONLY), and ($(TEST_ONLY)))
test: install browser tools lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal --durations=15 -m "not timing$(AND_ONLY)"
	$(BIN)/pytest -m "timing$(AND_ONLY)" || [ $$? -eq 5 ]

# The figures, and the command behind each: docs/performance.md. What each script measures:
# docs/development.md. bench/trial.py (the fault trial) is run on its own.
bench: install
	$(BIN)/python bench/send.py
	$(BIN)/python bench/signup.py
	$(BIN)/python bench/tracking.py
	$(BIN)/python bench/plan.py && $(BIN)/python bench/scale.py
	$(BIN)/python bench/segment.py
	$(BIN)/python bench/subscribers.py
	$(BIN)/python bench/campaign_pages.py
	$(BIN)/python bench/overview.py
	$(BIN)/python bench/archive.py
	$(BIN)/python bench/import.py

# The admin's subscriber list at 1,000,000 readers (this machine's PostgreSQL).
bench-subscribers: install
	$(BIN)/python bench/subscribers.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .mypy_cache
