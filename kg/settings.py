"""Every ``KG_*`` setting: its name, default and help text.

This module is the only reader of ``os.environ``. Settings are read when
:func:`load_settings` runs (from ``create_app`` or the CLI), never at import,
so tests can build apps with different settings side by side.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kg import malloc


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "KG_STORE",
        "data/store",
        "Folder of the embedded Oxigraph store (created if missing); with a remote store, the folder "
        "of the files derived from it (the search index).",
    ),
    Setting(
        "KG_STORE_QUERY_URL",
        "",
        "SPARQL 1.1 query endpoint of a remote store; set with the next two to use it instead of the "
        "embedded one (see 'Scaling out').",
    ),
    Setting("KG_STORE_UPDATE_URL", "", "SPARQL 1.1 update endpoint of the remote store."),
    Setting("KG_STORE_GSP_URL", "", "Graph Store HTTP Protocol endpoint of the remote store."),
    Setting("KG_STORE_USER", "", "User name for the remote store (HTTP basic authentication); empty = none."),
    Setting("KG_STORE_PASSWORD", "", "Password for the remote store's user."),
    Setting(
        "KG_BASE_URI",
        "http://127.0.0.1:8000/",
        "Base under which agency, dataset, distribution, service and graph IRIs are minted; "
        "must end with '/'.",
    ),
    Setting(
        "KG_UPDATE_TOKEN",
        "",
        "Bearer token that enables SPARQL updates and Graph Store writes, and reads the private "
        "graphs as KG_READ_TOKEN does; empty = writes off.",
    ),
    Setting(
        "KG_READ_TOKEN",
        "",
        "Bearer token that reads the private graphs (quarantine, reports, ingest runs) over HTTP "
        "without the right to write; without a token they are absent (404) on every read path.",
    ),
    Setting("KG_QUERY_TIMEOUT", "10", "Wall-clock limit of one SPARQL query, in seconds."),
    Setting(
        "KG_QUERY_THREADS",
        "2",
        "SPARQL queries (/sparql, /query) each web worker evaluates at once, in threads; more wait "
        "for a free one within KG_QUERY_TIMEOUT. The pages' own queries have 8 threads of their own, "
        "so a busy endpoint does not stall the pages.",
    ),
    Setting(
        "KG_SERVICE_ALLOW",
        "",
        "Comma-separated IRI prefixes that SPARQL SERVICE and LOAD may reach; empty = none (no federation).",
    ),
    Setting("KG_MAX_BODY", "1048576", "Largest request body accepted, in bytes (larger: 413)."),
    Setting(
        "KG_MAX_QUERY", "100000", "Longest SPARQL query or update accepted, in characters (longer: 413)."
    ),
    Setting("KG_MAX_RESULTS", "10000", "Most rows a public SPARQL SELECT returns."),
    Setting(
        "KG_CATALOG_TITLE", "Agency knowledge graph", "Title of the DCAT-AP catalogue the service publishes."
    ),
    Setting(
        "KG_CATALOG_PAGE_SIZE",
        "100",
        "Datasets and data services per page of the paged catalogue for harvesters (/catalog).",
    ),
    Setting(
        "KG_VALIDATION_BATCH",
        "",
        "Records per SHACL validation call during ingest (bigger = faster, more memory); "
        "unset: 200 with rudof (its memory grows ~0.6 MB per record of a batch), 1000 with pyshacl.",
    ),
    Setting("KG_WORKERS", "2", "Processes used to map and validate records during ingest (1 = in-process)."),
    Setting(
        "KG_VALIDATOR",
        "rudof",
        "SHACL engine of ingest: rudof (pyrudof, the Rust engine of the rudof project), or pyshacl: "
        "the same shapes and findings (tested on every sample), rudof in about half the CPU time.",
    ),
    Setting(
        "KG_DEBUG",
        "",
        "Set to 1 to print tracebacks of internal errors (kg command) and run Flask in debug mode.",
    ),
    Setting(
        "KG_LOG_LEVEL",
        "info",
        "Level of the request log on stderr: info (one JSON line per request) or debug (also a line per "
        "page with its store queries: how many, their total time, the slowest one's time and first line).",
    ),
    Setting(
        "KG_HTTP_TIMEOUT",
        "30",
        "Seconds to wait for a portal (kg ingest URL, kg harvest), and for each piece of a body "
        "(which must come at 1 KB/s or more).",
    ),
    Setting(
        "KG_HTTP_RETRIES",
        "3",
        "kg ingest URL, kg harvest: retries of a request that timed out, found no connection or "
        "got a 5xx or 429.",
    ),
    Setting("KG_HTTP_BACKOFF", "1", "Seconds before the first retry, doubled before each next."),
    Setting("KG_HTTP_HOST_INTERVAL", "1", "Least seconds between two requests to one host (pages too)."),
    Setting(
        "KG_JSONLD_FETCH",
        "",
        "Comma- or space-separated URL prefixes (http(s)://host/…) from which ingest may fetch a JSON-LD "
        "remote context that is not bundled (DCAT-AP 3.0.1, the Czech OFN catalogue contexts and "
        "schema.org are), waiting at most KG_HTTP_TIMEOUT; empty = none: a file naming any other "
        "context by URL is refused.",
    ),
    Setting(
        "KG_FORWARDED_ALLOW_IPS",
        "",
        "Comma-separated addresses or networks (CIDR) of the reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto headers `kg serve` believes; empty = none, * = any peer.",
    ),
    Setting(
        "KG_MALLOC",
        "auto",
        "Memory allocator `kg serve` preloads into its processes (LD_PRELOAD): auto = jemalloc, else "
        "mimalloc, where the system has one (`apt install libjemalloc2`), else the C library's; off = "
        "the C library's; or the path of a shared library. Queries ran 10-17 % faster on jemalloc.",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}

LOG_LEVELS = ("info", "debug")  # KG_LOG_LEVEL's values (kg.web.logs)
VALIDATORS = ("rudof", "pyshacl")  # KG_VALIDATOR's values (kg.validation.rudof_engine, kg.validation)
# KG_VALIDATION_BATCH when unset: rudof holds ~12 KB per triple of a batch while it validates (a
# 1,000-record batch took a 2.7 GB worker); pyshacl's per-call overhead wants big batches.
BATCH_BY_VALIDATOR = {"rudof": 200, "pyshacl": 1000}


@dataclass(frozen=True)
class Settings:
    """A snapshot of the configuration, taken once by :func:`load_settings`."""

    store: Path
    base_uri: str
    update_token: str = ""
    read_token: str = ""
    query_timeout: float = 10.0
    query_threads: int = 2
    max_results: int = 10000
    service_allow: tuple[str, ...] = ()
    max_body: int = 1 << 20
    max_query: int = 100_000
    catalog_title: str = "Agency knowledge graph"
    catalog_page_size: int = 100
    validation_batch: int = 200
    workers: int = 2
    validator: str = "rudof"
    http_timeout: float = 30.0
    http_retries: int = 3
    http_backoff: float = 1.0
    http_host_interval: float = 1.0
    jsonld_fetch: tuple[str, ...] = ()
    debug: bool = False
    log_level: str = "info"
    malloc: str = "auto"
    forwarded_allow_ips: tuple[str, ...] = ()
    store_query_url: str = ""
    store_update_url: str = ""
    store_gsp_url: str = ""
    store_user: str = ""
    store_password: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def remote(self) -> bool:
        """Whether the graphs live in a remote SPARQL store rather than the embedded one."""
        return bool(self.store_query_url)


def _at_least_zero(raw: str, name: str, kind: type) -> float | int:
    """A count or a number of seconds where 0 means none (no retry, no pause)."""
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a {kind.__name__}") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r} must be 0 or more")
    return value


def _remote_urls(get) -> dict[str, str]:
    """The three endpoints of a remote store: all or none, each an http(s) URL."""
    names = {
        "store_query_url": "KG_STORE_QUERY_URL",
        "store_update_url": "KG_STORE_UPDATE_URL",
        "store_gsp_url": "KG_STORE_GSP_URL",
    }
    urls = {key: get(name).strip() for key, name in names.items()}
    given = [names[k] for k, v in urls.items() if v]
    if given and len(given) < 3:
        missing = ", ".join(n for k, n in names.items() if not urls[k])
        raise ValueError(f"a remote store needs all three endpoints: {missing} not set")
    for key, url in urls.items():
        if url and not url.startswith(("http://", "https://")):
            raise ValueError(f"{names[key]}={url!r} is not an http(s) URL")
    return urls


_URL_PREFIX = re.compile(r"https?://[^/\s]+/", re.IGNORECASE)


def _fetch_prefixes(raw: str) -> tuple[str, ...]:
    """KG_JSONLD_FETCH: http(s) URL prefixes that name a host and end it with "/" (so that
    ``https://a.example`` cannot also allow ``https://a.example.evil.org/``)."""
    prefixes = tuple(raw.replace(",", " ").split())
    for prefix in prefixes:
        if not prefix.lower().startswith(("http://", "https://")):
            raise ValueError(f"KG_JSONLD_FETCH: {prefix!r} is not an http(s) URL prefix")
        if not _URL_PREFIX.match(prefix):
            example = f" (e.g. {prefix + '/'!r})" if _URL_PREFIX.match(prefix + "/") else ""
            raise ValueError(f"KG_JSONLD_FETCH: {prefix!r} must name a host and end it with '/'{example}")
    return prefixes


def _proxies(raw: str) -> tuple[str, ...]:
    """KG_FORWARDED_ALLOW_IPS: IP addresses or networks (strict: no host bits after the prefix), or *."""
    found = tuple(p.strip() for p in raw.split(",") if p.strip())
    for proxy in found:
        if proxy == "*":
            continue
        try:
            ipaddress.ip_network(proxy)
        except ValueError as exc:
            raise ValueError(
                f"KG_FORWARDED_ALLOW_IPS: {proxy!r} is not an IP address or network ({exc})"
            ) from None
    if "*" in found and len(found) > 1:
        raise ValueError("KG_FORWARDED_ALLOW_IPS: * (any peer) stands alone")
    return found


def load_settings(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Read every ``KG_*`` setting from ``env`` (default: the process environment).

    Keyword ``overrides`` (``store=…``, ``base_uri=…``) win over the environment.

    :raises ValueError: if a setting has a value of the wrong kind.
    """
    env = os.environ if env is None else env

    def get(name: str) -> str:
        return env.get(name, _BY_NAME[name].default)

    def number(name: str, kind: type) -> float | int:
        raw = get(name)
        try:
            value = kind(raw)
        except ValueError:
            raise ValueError(f"{name}={raw!r} is not a {kind.__name__}") from None
        if value <= 0:
            raise ValueError(f"{name}={raw!r} must be positive")
        return value

    base = get("KG_BASE_URI")
    if not base.endswith("/"):
        base += "/"
    values: dict[str, object] = {
        "store": Path(get("KG_STORE")),
        "base_uri": base,
        "update_token": get("KG_UPDATE_TOKEN"),
        "read_token": get("KG_READ_TOKEN"),
        "query_timeout": number("KG_QUERY_TIMEOUT", float),
        "query_threads": number("KG_QUERY_THREADS", int),
        "max_results": number("KG_MAX_RESULTS", int),
        "service_allow": tuple(p.strip() for p in get("KG_SERVICE_ALLOW").split(",") if p.strip()),
        "max_body": number("KG_MAX_BODY", int),
        "max_query": number("KG_MAX_QUERY", int),
        "catalog_title": get("KG_CATALOG_TITLE"),
        "catalog_page_size": number("KG_CATALOG_PAGE_SIZE", int),
        "validation_batch": number("KG_VALIDATION_BATCH", int) if get("KG_VALIDATION_BATCH").strip() else 0,
        "workers": number("KG_WORKERS", int),
        "validator": get("KG_VALIDATOR").strip().lower(),
        "http_timeout": number("KG_HTTP_TIMEOUT", float),
        "http_retries": int(_at_least_zero(get("KG_HTTP_RETRIES"), "KG_HTTP_RETRIES", int)),
        "http_backoff": _at_least_zero(get("KG_HTTP_BACKOFF"), "KG_HTTP_BACKOFF", float),
        "http_host_interval": _at_least_zero(get("KG_HTTP_HOST_INTERVAL"), "KG_HTTP_HOST_INTERVAL", float),
        "jsonld_fetch": _fetch_prefixes(get("KG_JSONLD_FETCH")),
        "debug": get("KG_DEBUG").strip().lower() in ("1", "true", "yes", "on"),
        "log_level": get("KG_LOG_LEVEL").strip().lower() or "info",
        "malloc": malloc.check(get("KG_MALLOC")),
        "forwarded_allow_ips": _proxies(get("KG_FORWARDED_ALLOW_IPS")),
        **_remote_urls(get),
        "store_user": get("KG_STORE_USER"),
        "store_password": get("KG_STORE_PASSWORD"),
    }
    values.update(overrides)
    if "store" in overrides:
        values["store"] = Path(str(values["store"]))
    if values["log_level"] not in LOG_LEVELS:
        raise ValueError(f"KG_LOG_LEVEL={values['log_level']!r} is not one of: {', '.join(LOG_LEVELS)}")
    if values["validator"] not in VALIDATORS:
        raise ValueError(f"KG_VALIDATOR={values['validator']!r} is not one of: {', '.join(VALIDATORS)}")
    if not values["validation_batch"]:
        values["validation_batch"] = BATCH_BY_VALIDATOR[str(values["validator"])]
    return Settings(**values)  # type: ignore[arg-type]


def environment() -> Mapping[str, str]:
    """The process environment, for what no setting names: the credentials a harvest source's
    ``header_env`` points at (:mod:`kg.harvest.sources`), read here like every other variable."""
    return os.environ


TABLE_START = "<!-- settings: generated from kg/settings.py (python -m kg.settings README.md) -->"
TABLE_END = "<!-- /settings -->"


def settings_table() -> str:
    """The README's settings table, from :data:`SETTINGS` (one place for names, defaults and help).

    >>> settings_table().splitlines()[2].startswith("| `KG_STORE` | `data/store` |")
    True
    """
    rows = ["| variable | default | what it does |", "|---|---|---|"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "(empty)"
        rows.append(f"| `{s.name}` | {default} | {s.help.replace('|', '&#124;')} |")
    return "\n".join(rows) + "\n"


def with_settings_table(text: str) -> str:
    """``text`` (a README) with the block between :data:`TABLE_START` and :data:`TABLE_END` generated
    again. :raises ValueError: the markers are missing."""
    head, found, rest = text.partition(TABLE_START + "\n")
    body, end, tail = rest.partition(TABLE_END)
    if not found or not end:
        raise ValueError(f"the settings table markers are missing: {TABLE_START} … {TABLE_END}")
    return head + found + settings_table() + end + tail


if __name__ == "__main__":  # python -m kg.settings README.md: write the table into the file
    import sys

    for name in sys.argv[1:]:
        readme = Path(name)
        readme.write_text(with_settings_table(readme.read_text(encoding="utf-8")), encoding="utf-8")
