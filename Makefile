# skubridge — two commands on a fresh machine: `make demo` and `make test`.
# Every target creates (once) and reuses the virtualenv .venv; the install is redone
# only when pyproject.toml changes (stamp file .venv/.installed).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: demo test bench chaos scale lint install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/skubridge demo

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

chaos: $(STAMP)
	$(BIN)/python -m bench.chaos

# Many shops on many workers (bench/scale.py): PostgreSQL (apt-get installs Debian's
# package when missing, as root), a Prefect server, two workers, 40 sandbox shops, a worker
# killed mid-run. Slow (see docs/BENCHMARKS.md "Scale-out"); not part of `make test`.
scale: $(STAMP)
	timeout 7200 $(BIN)/python -m bench.scale

# The import contracts also run in `make test` (tests/test_architecture.py).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) data reports .pytest_cache
