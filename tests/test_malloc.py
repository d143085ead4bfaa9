"""KG_MALLOC: the allocator `kg serve` preloads into every serving process (kg.malloc)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from live import BIN, serve

from kg.malloc import allocator, check, serve_environment
from kg.settings import load_settings

FOUND = allocator("auto")


def test_the_setting_is_auto_off_or_a_library_file(tmp_path):
    library = tmp_path / "libfake.so"
    library.write_bytes(b"")
    assert check("") == check(" Auto ") == "auto"
    assert check("off") == check("no") == "off"
    assert check(str(library)) == str(library)
    assert allocator("off") is None and allocator(str(library)) == str(library)
    with pytest.raises(ValueError, match="KG_MALLOC='/no/such/libjemalloc.so'"):
        check("/no/such/libjemalloc.so")
    with pytest.raises(ValueError, match="KG_MALLOC"):
        load_settings({"KG_MALLOC": "jemalloc"})  # a name, not a path: refused, not guessed
    assert load_settings({}).malloc == "auto"


def test_the_library_is_added_to_ld_preload_once(tmp_path):
    library = str(tmp_path / "liba.so")
    Path(library).write_bytes(b"")
    env = serve_environment(library, {"LD_PRELOAD": "libother.so", "PATH": "/bin"})
    assert env["LD_PRELOAD"] == f"libother.so {library}" and env["PATH"] == "/bin"
    assert serve_environment(library, env)["LD_PRELOAD"] == env["LD_PRELOAD"]
    assert serve_environment("off", {}) == {}
    assert serve_environment("auto", {}).get("LD_PRELOAD") == FOUND


def test_kg_serve_refuses_a_missing_library(tmp_path):
    env = {**os.environ, "KG_STORE": str(tmp_path / "store"), "KG_MALLOC": str(tmp_path / "nope.so")}
    argv = [BIN / "kg", "serve", "--port", "1"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "KG_MALLOC" in done.stderr and "nope.so" in done.stderr


def _tree(root: int) -> set[int]:
    """``root`` and every process under it."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in found} - found
        found |= more
        grew = bool(more)
    return found


def _mapping(pid: int, name: str) -> bool:
    try:
        return name in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.skipif(FOUND is None, reason="no jemalloc nor mimalloc here (apt install libjemalloc2)")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_every_serving_process_runs_on_the_allocator(tmp_path):
    name = Path(FOUND).name.split(".so")[0]  # libjemalloc
    for setting, expected in (("auto", True), ("off", False)):
        (tmp_path / setting).mkdir()
        store = tmp_path / setting / "store"
        with serve(store, workers=1, sample=False, KG_MALLOC=setting) as live:
            deadline = time.monotonic() + 15
            while len(processes := _tree(live.pid)) < 2:  # master, web worker (it evaluates in threads)
                assert time.monotonic() < deadline, f"the server's processes: {processes}"
                time.sleep(0.05)
            mapped = {pid: _mapping(pid, name) for pid in processes}
            assert set(mapped.values()) == {expected}, f"KG_MALLOC={setting}: {mapped}"
