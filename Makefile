# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export KG_STORE ?= data/store
# one test process per core, a test file on one process (its module fixtures built once, its
# summary sections whole); XDIST= runs the suite in this process. Three processes a half, or the
# two halves at once, measured no faster on a quiet machine and cost more CPU (docs/development.md)
XDIST  ?= -n 2 --dist loadfile

.PHONY: run test lint install sample serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

sample: $(STAMP)
	$(BIN)/kg ingest kg/sample/csv --source sample-csv

run: sample
	$(BIN)/kg serve --host 127.0.0.1 --port 8000

# the tests' temporary folders (their stores, servers and files) in RAM: /dev/shm where it is a
# tmpfs with 2 GB free, else the system's; the same store files, with no wait on the disk's
# fsync (docs/development.md); TEST_TMPDIR=/tmp puts them on disk
TEST_TMPDIR ?= $(shell [ "$$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 {print $$4}')" -gt 2000000 ] 2>/dev/null && echo /dev/shm)

# every Python process of the suite (pytest's workers, each `kg` command, gunicorn's workers, the
# evaluators) reads compiled bytecode from .venv/pycache, even where PYTHONDONTWRITEBYTECODE is
# set: without it each one compiled the kg modules again and each worker rewrote every test
# file's asserts (docs/development.md)
TEST_PYC := PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(abspath $(VENV))/pycache

# the whole suite on the embedded store, then its store, endpoint and UI tests on a real
# `oxigraph serve` per test store (tests/backend.py)
test: $(STAMP)
	TMPDIR=$(TEST_TMPDIR) $(TEST_PYC) $(BIN)/pytest -q $(XDIST)
	TMPDIR=$(TEST_TMPDIR) $(TEST_PYC) KG_TEST_STORE=oxigraph $(BIN)/pytest -q $(XDIST)

lint: $(STAMP)
	$(BIN)/ruff check kg tests bench app.py
	$(BIN)/ruff format --check kg tests bench app.py

clean:
	rm -rf $(VENV) data tests/artifacts
