# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export KG_STORE ?= data/store
# three test processes a half on 2 cores, a test file on one process (its module fixtures built
# once, its summary sections whole): a third of a test process's time or more is spent waiting
# (server starts, sleeps, timeouts, the browser), which the third fills; XDIST= runs each half in one process
XDIST  ?= -n 3 --dist loadfile

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

# the whole suite on the embedded store and, at the same time, its store, endpoint and UI tests on
# a real `oxigraph serve` per test store (tests/backend.py): the two halves wait on servers, sleeps
# and timeouts at different moments, so each fills the other's idle cores; the second half's output
# is printed when both have ended, and either one failing fails the target
test: $(STAMP)
	@remote_log=$$(mktemp); \
	TMPDIR=$(TEST_TMPDIR) $(TEST_PYC) KG_TEST_STORE=oxigraph $(BIN)/pytest -q $(XDIST) >$$remote_log 2>&1 & \
	remote=$$!; \
	echo "TMPDIR=$(TEST_TMPDIR) $(BIN)/pytest -q $(XDIST)  (and KG_TEST_STORE=oxigraph at the same time)"; \
	TMPDIR=$(TEST_TMPDIR) $(TEST_PYC) $(BIN)/pytest -q $(XDIST); embedded=$$?; \
	wait $$remote; remote=$$?; \
	echo; echo "KG_TEST_STORE=oxigraph TMPDIR=$(TEST_TMPDIR) $(BIN)/pytest -q $(XDIST):"; \
	cat $$remote_log; rm -f $$remote_log; \
	test $$embedded -eq 0 && test $$remote -eq 0

lint: $(STAMP)
	$(BIN)/ruff check kg tests bench app.py
	$(BIN)/ruff format --check kg tests bench app.py

clean:
	rm -rf $(VENV) data tests/artifacts
