# The two Quick start commands (README): `make app` and `make test`.
# Each one creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: app test test-fast lint chromium fashion-mnist-subset

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# uv installs the same pinned set as pip in a third of the time (a fresh clone, empty caches: 46 s against
	# 2 min 32 s, most of it unpacking torch's 5 GB); pip is the fallback where uv cannot be installed or run.
	# --compile-bytecode as pip does: with PYTHONDONTWRITEBYTECODE set (as here and on CI) nothing else writes
	# .pyc files, and every process would compile torch's sources again (importing the stack: 18 s, not 7 s).
	$(BIN)/python -m pip install --quiet uv && \
	  $(BIN)/python -m uv pip install --quiet --compile-bytecode --python $(BIN)/python -e ".[dev]" \
	  || $(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

app: $(STAMP)
	$(BIN)/finetune-or-scratch app

test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

# A quick loop while developing: no model training, no browser.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# Browser tests drive Debian's Chromium; Playwright never downloads a browser here.
chromium:
	@test -x /usr/bin/chromium || scripts/install-chromium.sh

fashion-mnist-subset: $(STAMP)
	$(BIN)/python bench/data/builtin/fashion-mnist/build_subset.py
