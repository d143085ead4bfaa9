"""The sources file of ``kg harvest``: a good one read, and each mistake refused whole, naming the
file, the ``[[source]]`` entry and the field, before anything is fetched (exit 2, no state, no
store)."""

from __future__ import annotations

from pathlib import Path

import pytest
from in_process import kg_here

from kg.harvest.sources import SourcesFileError, read_sources, schedule_seconds

GOOD = """
[[source]]
name = "agency-x"
url = "https://data.agency-x.example/data.json"
format = "data.json"
schedule = "6h"
headers = { "X-Client" = "kg-test" }
header_env = { Authorization = "PORTAL_TOKEN" }

[[source]]
name = "local"
url = "catalogue/sample.ttl"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    remote, local = read_sources(path, {"PORTAL_TOKEN": "Bearer s3cret"})
    assert (remote.name, remote.fmt, remote.schedule, remote.every) == (
        "agency-x",
        "data.json",
        "6h",
        21600.0,
    )
    assert remote.headers == {"X-Client": "kg-test", "Authorization": "Bearer s3cret"}
    assert "s3cret" not in repr(remote)
    assert local.url == str(tmp_path / "catalogue" / "sample.ttl") and local.fmt is None and not local.every


ENTRY = '[[source]]\nname = "a"\nurl = "https://a.example/data.json"\n'


@pytest.mark.parametrize(
    ("text", "entry", "field", "words"),
    [
        (ENTRY + 'schedul = "6h"\n', "[[source]] 1 (name 'a')", "schedul", "unknown key"),
        (ENTRY + ENTRY, "[[source]] 2 (name 'a')", "name", "a second source of this name"),
        (ENTRY + 'schedule = "every day"\n', "[[source]] 1 (name 'a')", "schedule", "not a schedule"),
        (ENTRY + 'schedule = "0h"\n', "[[source]] 1 (name 'a')", "schedule", "not a schedule"),
        (ENTRY + "schedule = 6\n", "[[source]] 1 (name 'a')", "schedule", "not a text"),
        ('[[source]]\nname = "a"\nurl = "ftp://a.example/x.json"\n', "[[source]] 1", "url", "neither"),
        ('[[source]]\nname = "a"\nurl = "https:///x.json"\n', "[[source]] 1", "url", "names no host"),
        ('[[source]]\nname = "a"\n', "[[source]] 1 (name 'a')", "url", "missing"),
        ('[[source]]\nname = "Agency X"\nurl = "x.json"\n', "[[source]] 1", "name", "say 'agency-x'"),
        ('[[source]]\nurl = "x.json"\n', "[[source]] 1", "name", "missing"),
        (ENTRY + 'format = "xlsx"\n', "[[source]] 1 (name 'a')", "format", "'xlsx' is not one of"),
        (ENTRY + 'format = "csv"\n', "[[source]] 1 (name 'a')", "format", "give its local path"),
        (ENTRY + 'header_env = { Authorization = "KG_TEST_UNSET_TOKEN" }\n', "[[source]] 1", "header_env",
         "KG_TEST_UNSET_TOKEN (for 'Authorization') is not set"),
        (ENTRY + 'headers = { "Bad Header" = "x" }\n', "[[source]] 1", "headers", "not an HTTP header name"),
        ('[[source]]\nname = "a"\nurl = "x.json"\nheaders = { A = "b" }\n', "[[source]] 1", "headers",
         "http(s) sources only"),
    ],
    ids=["unknown-key", "duplicate-name", "bad-schedule", "zero-schedule", "schedule-number", "ftp-url",
         "no-host", "no-url", "bad-name", "no-name", "bad-format", "csv-url", "missing-env", "bad-header",
         "local-headers"],
)  # fmt: skip
def test_each_mistake_names_file_entry_and_field(
    tmp_path: Path, text: str, entry: str, field: str, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SourcesFileError) as caught:
        read_sources(path, {})
    message = str(caught.value)
    assert message.startswith(f"{path}, {entry}") and f"field {field}:" in message and words in message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[[source]\nname =", "not valid TOML"),
        ("title = 'x'\n", "unknown top-level keys"),
        ("", "no [[source]]"),
    ],
    ids=["toml-syntax", "top-level-key", "empty"],
)
def test_a_file_that_is_no_sources_file(tmp_path: Path, text: str, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SourcesFileError) as caught:
        read_sources(path, {})
    assert str(caught.value).startswith(f"{path}: ") and words in str(caught.value)


def test_schedules() -> None:
    assert [schedule_seconds(s) for s in ("45s", "30m", "6h", "1d", " 2 d ")] == [
        45,
        1800,
        21600,
        86400,
        172800,
    ]


def test_kg_harvest_refuses_a_bad_file_whole(tmp_path: Path, kg_env: dict[str, str]) -> None:
    good = tmp_path / "good.json"
    good.write_text("{}", encoding="utf-8")
    path = write(tmp_path, '[[source]]\nname = "good"\nurl = "good.json"\n' + ENTRY + 'schedule = "soon"\n')
    result = kg_here("harvest", str(path), env=kg_env)
    assert result.returncode == 2, result.stderr
    assert f"{path}, [[source]] 2 (name 'a'), field schedule: 'soon' is not a schedule" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not Path(kg_env["KG_STORE"]).exists()  # nothing harvested, not even the good source


def test_kg_harvest_loop_wants_a_schedule_for_each_source(tmp_path: Path, kg_env: dict[str, str]) -> None:
    path = write(tmp_path, ENTRY)
    result = kg_here("harvest", str(path), "--loop", env=kg_env)
    assert result.returncode == 2 and "[[source]] 1 (name 'a'), field schedule: --loop" in result.stderr
    assert not Path(kg_env["KG_STORE"]).exists()
