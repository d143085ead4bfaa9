"""The ``kg`` command's ``main(argv)`` run in the test process, returning what :func:`conftest.run_kg`
returns for the real command: the exit code and the text of stdout and stderr.

For the tests that check what a command prints and its exit code: a ``kg`` subprocess costs a Python
start and the kg imports (about 0.4 CPU-s, most of a short command's cost). What only a real process
shows stays with ``run_kg`` (tests/test_cli.py keeps it for the real entry point's exit codes, a
lock held by another process, a closed pipe, ``kg serve``; tests/test_faults.py kills it), and an
ingest on more than one worker process (its pool forks the process that runs it).

The command sees ``env`` as its whole environment and ``cwd`` as its folder, and writes to its own
stdout and stderr, as a subprocess would; the process-wide state that ``main`` changes (the
environment, the folder, the warning filters, the libraries' loggers it quiets) is put back after.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import warnings
from collections.abc import Mapping
from pathlib import Path

from kg.cli import main

# the loggers kg.cli._quiet_libraries silences for the command's run
QUIETED = ("rdflib", "pyshacl", "py.warnings", "urllib3", "owlrl")


def _text(buffer: io.BytesIO) -> str:
    """As ``subprocess.run(text=True)`` reads it: UTF-8, universal newlines."""
    return buffer.getvalue().decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def kg_here(
    *args: object, env: Mapping[str, str], cwd: Path | str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``kg ARGS`` in this process; stdout and stderr as text, as :func:`conftest.run_kg`."""
    # more than one ingest worker is a ProcessPoolExecutor, which forks: a fork of the test process
    # (its server threads and their locks) can hang; such a command runs as a subprocess (run_kg)
    assert env.get("KG_WORKERS", "1") == "1", "KG_WORKERS > 1 forks the test process: use run_kg"
    argv = [str(a) for a in args]
    out, err = io.BytesIO(), io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    stderr = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    loggers = {name: logging.getLogger(name) for name in QUIETED}
    saved_loggers = {name: (lg.level, lg.propagate) for name, lg in loggers.items()}
    try:
        os.environ.clear()
        os.environ.update(env)
        if cwd is not None:
            os.chdir(cwd)
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
        ):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse: usage errors (2) and --help (0)
                if isinstance(exc.code, str):
                    print(exc.code, file=stderr)
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            stdout.flush()
            stderr.flush()
    finally:
        logging.captureWarnings(False)
        for name, (level, propagate) in saved_loggers.items():
            loggers[name].setLevel(level)
            loggers[name].propagate = propagate
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess(["kg", *argv], code, _text(out), _text(err))
