"""Settings: read at load time, validated, and every one documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kg.settings import SETTINGS, load_settings, settings_table, with_settings_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_documented_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [s.name for s in SETTINGS if f"`{s.name}`" not in text]
    assert not missing, f"settings not documented in README.md: {missing}"


def test_the_readme_s_settings_table_is_the_one_kg_settings_generates() -> None:
    """Run ``python -m kg.settings README.md`` after changing a setting."""
    text = README.read_text(encoding="utf-8")
    assert with_settings_table(text) == text
    assert settings_table() in text


def test_the_readme_is_a_front_door() -> None:
    """The README stays short (what it is, the two commands, a tour, the commands and settings);
    the reference lives in docs/, every figure in bench/RESULTS.md."""
    text = README.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= 12 * 1024
    for link in re.findall(r"\]\((docs/[^)#]+|bench/[^)#]+)\)", text):
        assert (README.parent / link).is_file(), link


def test_defaults_and_overrides() -> None:
    settings = load_settings({})
    assert settings.base_uri == "http://127.0.0.1:8000/"
    assert settings.update_token == ""
    settings = load_settings({"KG_BASE_URI": "https://data.example.org", "KG_WORKERS": "3"}, store="/tmp/x")
    assert settings.base_uri == "https://data.example.org/"
    assert settings.workers == 3 and str(settings.store) == "/tmp/x"


@pytest.mark.parametrize(
    ("name", "value"), [("KG_WORKERS", "two"), ("KG_QUERY_TIMEOUT", "-1"), ("KG_QUERY_THREADS", "0")]
)
def test_bad_values_are_refused_with_the_name(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        load_settings({name: value})


def test_a_remote_store_needs_all_three_endpoints() -> None:
    urls = {
        "KG_STORE_QUERY_URL": "http://127.0.0.1:7878/query",
        "KG_STORE_UPDATE_URL": "http://127.0.0.1:7878/update",
        "KG_STORE_GSP_URL": "http://127.0.0.1:7878/store",
    }
    assert load_settings(urls).remote and not load_settings({}).remote
    with pytest.raises(ValueError, match="KG_STORE_GSP_URL"):
        load_settings({k: v for k, v in urls.items() if k != "KG_STORE_GSP_URL"})
    with pytest.raises(ValueError, match="KG_STORE_UPDATE_URL='ftp://x'"):
        load_settings({**urls, "KG_STORE_UPDATE_URL": "ftp://x"})


def test_jsonld_fetch_prefixes() -> None:
    assert load_settings({}).jsonld_fetch == ()
    raw = "https://contexts.example.org/ld/, http://127.0.0.1:8080/  https://b.example/"
    assert load_settings({"KG_JSONLD_FETCH": raw}).jsonld_fetch == (
        "https://contexts.example.org/ld/",
        "http://127.0.0.1:8080/",
        "https://b.example/",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ftp://contexts.example.org/", "not an http(s) URL prefix"),
        ("contexts.example.org/", "not an http(s) URL prefix"),
        ("https://contexts.example.org", "end it with '/' (e.g. 'https://contexts.example.org/')"),
        ("https:///ld/", "must name a host"),
    ],
)
def test_jsonld_fetch_refuses_what_is_not_an_http_prefix_of_a_host(value: str, expected: str) -> None:
    with pytest.raises(ValueError, match="KG_JSONLD_FETCH") as caught:
        load_settings({"KG_JSONLD_FETCH": f"https://ok.example/ {value}"})
    assert expected in str(caught.value) and repr(value) in str(caught.value)


def test_read_token_and_forwarded_proxies() -> None:
    settings = load_settings({})
    assert settings.read_token == "" and settings.forwarded_allow_ips == ()  # no token, no proxy believed
    settings = load_settings(
        {"KG_READ_TOKEN": "r", "KG_FORWARDED_ALLOW_IPS": " 10.0.0.1, 192.168.0.0/16,::1 "}
    )
    assert settings.read_token == "r"
    assert settings.forwarded_allow_ips == ("10.0.0.1", "192.168.0.0/16", "::1")
    assert load_settings({"KG_FORWARDED_ALLOW_IPS": "*"}).forwarded_allow_ips == ("*",)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("proxy.example.org", "'proxy.example.org' is not an IP address or network"),
        ("10.0.0.1/8", "'10.0.0.1/8' is not an IP address or network"),  # host bits set: a typo
        ("10.0.0.1;10.0.0.2", "is not an IP address or network"),
        ("*, 10.0.0.1", "stands alone"),
    ],
)
def test_bad_forwarded_proxies_are_refused(value: str, expected: str) -> None:
    with pytest.raises(ValueError, match=re.escape(expected)):
        load_settings({"KG_FORWARDED_ALLOW_IPS": value})
