"""kg backup / kg restore: Oxigraph's backup, restored as a new generation, compared."""

from __future__ import annotations

from conftest import snapshot
from in_process import kg_here


def test_backup_then_restore_gives_back_the_same_store(seeded, kg_env, tmp_path):
    before = snapshot(seeded)
    backup = tmp_path / "backup"
    done = kg_here("backup", backup, env=kg_env)
    assert done.returncode == 0, done.stderr
    assert kg_here("remove", "sample", env=kg_env).returncode == 0
    assert snapshot(seeded) != before
    done = kg_here("restore", backup, env=kg_env)
    assert done.returncode == 0, done.stderr
    assert snapshot(seeded) == before


def test_backup_refuses_an_existing_folder_and_restore_a_non_backup(seeded, kg_env, tmp_path):
    (tmp_path / "taken").mkdir()
    done = kg_here("backup", tmp_path / "taken", env=kg_env)
    assert done.returncode == 4 and "exists" in done.stderr and "Traceback" not in done.stderr
    done = kg_here("restore", tmp_path / "taken", env=kg_env)
    assert done.returncode == 4 and "not a backup" in done.stderr and "Traceback" not in done.stderr
