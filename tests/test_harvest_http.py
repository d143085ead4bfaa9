"""The one HTTP client (kg.readers.http) against a real server on 127.0.0.1 serving a real
data.json: conditional GETs, retries and their waits, gzip, bodies cut off, timeouts, the pause
per host. The waits are recorded (``sleep=``) rather than slept, so the tests take no longer
than the requests."""

from __future__ import annotations

from pathlib import Path

import pytest
from harvest_portal import Portal, http_date

from kg.readers.http import USER_AGENT, VERSION, FetchError, HttpClient

DATA_JSON = "real-portals/data-json/floridadep.gov-rossi.data.json"


@pytest.fixture
def body(shared: Path) -> bytes:
    return (shared / "data" / DATA_JSON).read_bytes()


def client(waits: list[float] | None = None, **options: object) -> HttpClient:
    return HttpClient(timeout=5.0, sleep=(waits.append if waits is not None else lambda s: None), **options)


def test_an_answer_with_its_validators_then_304_to_a_conditional_get(portal: Portal, body: bytes) -> None:
    portal.serve("/data.json", body, etag='"v1"', last_modified=http_date(3600))
    first = client().get(portal.url("/data.json"))
    assert first.status == 200 and first.body == body and first.header("ETag") == '"v1"'
    again = client().get(
        portal.url("/data.json"), etag=first.header("etag"), last_modified=first.header("Last-Modified")
    )
    assert again.not_modified and again.body == b""
    sent = portal.requests[-1].headers
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == first.header("Last-Modified")
    assert sent["user-agent"] == USER_AGENT and VERSION in USER_AGENT and sent["accept-encoding"] == "gzip"


def test_last_modified_alone_answers_304(portal: Portal, body: bytes) -> None:
    stamp = http_date(60)
    portal.serve("/data.json", body, last_modified=stamp)
    assert client().get(portal.url("/data.json"), last_modified=stamp).not_modified
    assert client().get(portal.url("/data.json"), last_modified=http_date(30)).status == 200


def test_a_gzip_body_is_decoded(portal: Portal, body: bytes) -> None:
    portal.serve("/data.json", body, plan=["gzip"])
    assert client().get(portal.url("/data.json")).body == body


def test_500_then_success_is_retried_after_the_backoff(portal: Portal, body: bytes) -> None:
    portal.serve("/data.json", body, plan=["500", "503", "ok"])
    waits: list[float] = []
    answer = client(waits, retries=3, backoff=0.5).get(portal.url("/data.json"))
    assert answer.body == body and len(portal.asked("/data.json")) == 3
    assert waits == [0.5, 1.0]  # doubled before each next try


def test_retry_after_is_honoured_and_capped(portal: Portal, body: bytes) -> None:
    portal.serve("/data.json", body, plan=["429", "ok"], retry_after="7")
    waits: list[float] = []
    assert client(waits, retries=1).get(portal.url("/data.json")).status == 200
    assert waits == [7.0]
    portal.serve("/slow-down", body, plan=["503", "ok"], retry_after="86400")
    waits.clear()
    client(waits, retries=1).get(portal.url("/slow-down"))
    assert waits == [120.0]


def test_500_always_fails_after_the_retries_naming_the_url(portal: Portal, body: bytes) -> None:
    portal.serve("/data.json", body, plan=["500"])
    with pytest.raises(FetchError) as caught:
        client(retries=2).get(portal.url("/data.json"))
    assert caught.value.file == portal.url("/data.json") and caught.value.status == 500
    assert "HTTP 500" in caught.value.message and "(3 attempts)" in caught.value.message
    assert len(portal.asked("/data.json")) == 3


def test_a_404_is_not_retried(portal: Portal) -> None:
    with pytest.raises(FetchError) as caught:
        client(retries=3).get(portal.url("/gone.json"))
    assert caught.value.status == 404 and len(portal.requests) == 1


@pytest.mark.parametrize("step", ["truncated", "broken-gzip"])
def test_a_body_cut_off_is_refused(portal: Portal, body: bytes, step: str) -> None:
    portal.serve("/data.json", body, plan=[step])
    with pytest.raises(FetchError) as caught:
        client().get(portal.url("/data.json"))
    assert "truncated" in caught.value.message and caught.value.file == portal.url("/data.json")


def test_a_slow_server_times_out_and_is_retried(portal: Portal, body: bytes) -> None:
    portal.serve("/data.json", body, plan=["slow"], delay=1.5)
    with pytest.raises(FetchError) as caught:
        HttpClient(timeout=0.3, retries=1, sleep=lambda s: None).get(portal.url("/data.json"))
    assert "no answer within 0.3 s (2 attempts)" in caught.value.message


def test_the_size_cap_holds_for_plain_and_gzip_bodies(portal: Portal, body: bytes) -> None:
    portal.serve("/data.json", body)
    portal.serve("/data.json.gz", body, plan=["gzip"])
    for path in ("/data.json", "/data.json.gz"):
        with pytest.raises(FetchError, match="larger than 1000 bytes"):
            client(max_bytes=1000).get(portal.url(path))


def test_requests_to_one_host_keep_the_interval(portal: Portal, body: bytes) -> None:
    portal.serve("/data.json", body)
    waits: list[float] = []
    polite = client(waits, host_interval=30.0)
    polite.get(portal.url("/data.json"))
    polite.get(portal.url("/data.json"))
    assert len(waits) == 1 and 29.0 < waits[0] <= 30.0


def test_credentials_follow_a_redirect_on_the_same_host_only(portal: Portal, body: bytes) -> None:
    with Portal() as other:
        other.serve("/data.json", body)
        portal.serve("/data.json", body)
        portal.serve("/moved", b"", plan=["redirect"], location="/data.json")
        portal.serve("/elsewhere", b"", plan=["redirect"], location=other.url("/data.json"))
        secret = {"Authorization": "Bearer t0ken", "X-Api-Key": "k3y"}
        assert client().get(portal.url("/moved"), headers=secret).body == body
        assert portal.asked("/data.json")[0].headers["authorization"] == "Bearer t0ken"
        assert client().get(portal.url("/elsewhere"), headers=secret).body == body
        (followed,) = other.asked("/data.json")
        assert "authorization" not in followed.headers and "x-api-key" not in followed.headers
        assert followed.headers["user-agent"] == USER_AGENT
