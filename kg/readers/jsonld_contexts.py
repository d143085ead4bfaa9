"""JSON-LD remote contexts without the open network: bundled well-known ones, and allowed prefixes.

pyoxigraph's JSON-LD parser loads no remote context and takes no document loader from Python;
and a reader that fetched whatever URL a file names would make an ingest depend on (and leak to)
any site. So before the parse, :func:`inline_contexts` replaces every context a document names by
URL — a ``@context`` string or list entry, an ``@import`` — by the context itself, taken

* from the contexts bundled in ``kg/readers/contexts/`` (:data:`BUNDLED`: DCAT-AP 3.0.1, the two
  Czech OFN catalogue contexts, schema.org), written for this project;
* else over HTTP(S) when the URL starts with a prefix the operator allows (``KG_JSONLD_FETCH``):
  with the HTTP timeout, a size cap, JSON checked, redirects only within those prefixes, and kept
  for the life of the process;
* else nowhere: an :class:`~kg.errors.InputError` names the file and the context.

A context that names another is resolved the same way (a relative reference against its own URL);
one that includes itself is refused. Non-ASCII characters of a URL may come as they are or
percent-encoded (IRIs in the wild come both ways): both spellings name the same context.

>>> iri_key("https://ofn.gov.cz/rozhran%C3%AD-katalog%C5%AF/x%20y")
'https://ofn.gov.cz/rozhraní-katalogů/x%20y'
"""

from __future__ import annotations

import functools
import json
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from kg.errors import InputError
from kg.readers.jsonld_fetch import fetch_context

CONTEXTS = Path(__file__).with_name("contexts")
MAX_INLINED_BYTES = 64 << 20  # the contexts inlined into one document, counted at each use
MAX_REMOTE_CONTEXTS = 50  # distinct remote contexts one document may name, directly or not

_DCAT_AP = "dcat-ap-3.0.1.jsonld"
_OFN_2021 = "ofn-rozhrani-katalogu-2021-01-11.jsonld"
_DCAT_AP_CZ = "dcat-ap-cz-2024-05-28.jsonld"
_SCHEMA_ORG = "schema-org.jsonld"
_DCAT_AP_RELEASE = "releases/3.0.1/context/dcat-ap.jsonld"
_OFN_CONTEXT = "kontexty/rozhraní-katalogů-otevřených-dat.jsonld"

BUNDLED: dict[str, str] = {  # a published URL -> its file in kg/readers/contexts/
    f"https://semiceu.github.io/DCAT-AP/{_DCAT_AP_RELEASE}": _DCAT_AP,
    f"http://semiceu.github.io/DCAT-AP/{_DCAT_AP_RELEASE}": _DCAT_AP,
    # the same file in SEMIC's repository, as some tools name it
    f"https://raw.githubusercontent.com/SEMICeu/DCAT-AP/master/{_DCAT_AP_RELEASE}": _DCAT_AP,
    f"https://github.com/SEMICeu/DCAT-AP/raw/refs/heads/master/{_DCAT_AP_RELEASE}": _DCAT_AP,
    f"https://ofn.gov.cz/rozhraní-katalogů-otevřených-dat/2021-01-11/{_OFN_CONTEXT}": _OFN_2021,
    f"https://ofn.gov.cz/dcat-ap-cz-rozhraní-katalogů-otevřených-dat/2024-05-28/{_OFN_CONTEXT}": _DCAT_AP_CZ,
    **{
        f"{scheme}://schema.org{path}": _SCHEMA_ORG
        for scheme in ("http", "https")
        for path in ("", "/", "/docs/jsonldcontext.json", "/docs/jsonldcontext.jsonld")
    },
}
_ESCAPED_NON_ASCII = re.compile(r"(?:%[89A-Fa-f][0-9A-Fa-f])+")
_FETCHED: dict[str, Any] = {}  # URL -> context document fetched by this process
_FETCH_LOCK = threading.Lock()


def iri_key(url: str) -> str:
    """``url`` with its percent-encoded non-ASCII characters decoded (NFC): the key contexts are
    looked up by. ASCII escapes (``%2F``, ``%20``) stay as they are: decoding them changes the URL."""

    def decoded(match: re.Match[str]) -> str:
        try:
            return unquote(match.group(0), errors="strict")
        except UnicodeDecodeError:
            return match.group(0)

    return unicodedata.normalize("NFC", _ESCAPED_NON_ASCII.sub(decoded, url))


def _folded(url: str) -> str:
    """``url`` with its scheme and host in lower case (they are case-insensitive; the path is not)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


_BY_KEY = {_folded(iri_key(url)): name for url, name in BUNDLED.items()}


@functools.cache
def bundled_document(name: str) -> dict[str, Any]:
    """A bundled context document (parsed once; shared, so never changed)."""
    return json.loads((CONTEXTS / name).read_text(encoding="utf-8"))


def bundled(url: str) -> dict[str, Any] | None:
    """The bundled context document a URL names, or None."""
    name = _BY_KEY.get(_folded(iri_key(url)))
    return bundled_document(name) if name else None


@dataclass(frozen=True)
class ContextLoader:
    """Where remote contexts come from: the bundled ones, else the ``fetch`` URL prefixes
    (``KG_JSONLD_FETCH``, checked by :mod:`kg.settings`), with ``timeout`` (``KG_HTTP_TIMEOUT``)."""

    fetch: tuple[str, ...] = ()
    timeout: float = 30.0

    def allows(self, url: str) -> bool:
        """Whether ``url`` may be fetched: http(s), on the host of an allowed prefix (compared as
        urllib will connect, so that no spelling of the URL reaches another host), under its path."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            return False
        key = _folded(iri_key(url))
        return any(
            urlsplit(prefix).netloc.lower() == parts.netloc.lower()
            and key.startswith(_folded(iri_key(prefix)))
            for prefix in self.fetch
        )

    def document(self, url: str, *, key: str, file: str) -> Any:
        """The context document ``url`` names (parsed JSON, shared: never change it).

        :raises InputError: naming ``file`` and the URL, if it is neither bundled nor allowed, or
            its fetch fails. ``key`` (``@context``, ``@import``) says where the file names it.
        """
        found = bundled(url)
        if found is not None:
            return found
        if not self.allows(url):
            raise InputError(_unknown(url, key), file=file)
        with _FETCH_LOCK:
            cached = _FETCHED.get(url)
        if cached is None:
            cached = fetch_context(url, allows=self.allows, timeout=self.timeout, file=file)
            with _FETCH_LOCK:
                _FETCHED[url] = cached
        return cached


def _unknown(url: str, key: str) -> str:
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return (
            f"JSON-LD names the remote {key} {url}, which is not a bundled context and is not under a "
            f"prefix KG_JSONLD_FETCH allows: add its prefix (e.g. {parts.scheme}://{parts.netloc}/) to "
            "KG_JSONLD_FETCH, or put the context inline"
        )
    return (
        f"JSON-LD names the {key} {url}, which is not a bundled context and not an http(s) URL the "
        "reader may fetch: put the context inline"
    )


def inline_contexts(doc: Any, *, base: str, file: str, loader: ContextLoader) -> str | None:
    """The JSON text of ``doc`` with every remote context it names inlined, or None if it names none
    (then the file's own text is parsed, unchanged). ``doc`` is changed in place; ``base`` is the
    document's URL, against which relative references resolve.

    :raises InputError: a context that is unknown, cannot be fetched, includes itself, or makes
        the document too big.
    """
    inliner = _Inliner(loader, file)
    try:
        inliner.document(doc, base)
        if not inliner.resolved:
            return None
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    except RecursionError as exc:
        raise InputError("JSON-LD contexts nested too deeply", file=file) from exc


class _Inliner:
    """One document's inlining: each remote context resolved once, their inlined size counted."""

    def __init__(self, loader: ContextLoader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.resolved: dict[str, tuple[Any, int]] = {}  # URL -> (its @context inlined, its JSON size)
        self.named: set[str] = set()  # URLs being resolved or resolved
        self.inlined = 0

    def document(self, doc: Any, base: str) -> None:
        """Replace the value of every ``@context`` in the document's nodes (iteratively: documents
        may nest deeper than Python recurses)."""
        stack = [doc]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                for key, value in node.items():
                    if key == "@context":
                        node[key] = self.context(value, base, ())
                    else:
                        stack.append(value)

    def context(self, value: Any, base: str, chain: tuple[str, ...]) -> Any:
        """A ``@context`` value with its remote references replaced (JSON-LD allows a string, an
        object, null, or a list of those; anything else is left for the parser to refuse)."""
        if isinstance(value, str):
            return self.remote(urljoin(base, value), "@context", chain)
        if isinstance(value, dict):
            return self.definition(value, base, chain)
        if isinstance(value, list):
            out: list[Any] = []
            for item in value:
                resolved = self.context(item, base, chain) if isinstance(item, str | dict) else item
                if isinstance(item, str) and isinstance(resolved, list):
                    out.extend(resolved)  # a list inside a list is not a context: splice it
                else:
                    out.append(resolved)
            return out
        return value

    def definition(self, context: dict[str, Any], base: str, chain: tuple[str, ...]) -> dict[str, Any]:
        """A context object: an ``@import`` merged in (its entries overridden by the object's own, as
        JSON-LD 1.1 says), scoped contexts of term definitions resolved."""
        out: dict[str, Any] = {}
        imported = context.get("@import")
        if isinstance(imported, str):
            url = urljoin(base, imported)
            value = self.remote(url, "@import", chain)
            if not isinstance(value, dict):
                raise InputError(f"JSON-LD @import {url} is not a single context object", file=self.file)
            out.update(value)
        for term, value in context.items():
            if term == "@import" and isinstance(value, str):
                continue
            if isinstance(value, dict) and "@context" in value:
                value = {**value, "@context": self.context(value["@context"], base, chain)}
            out[term] = value
        return out

    def remote(self, url: str, key: str, chain: tuple[str, ...]) -> Any:
        """The ``@context`` of the document ``url`` names, itself resolved (relative to ``url``)."""
        if url in chain:
            loop = " -> ".join((*chain[chain.index(url) :], url))
            raise InputError(f"JSON-LD remote context {url} includes itself ({loop})", file=self.file)
        if url not in self.resolved:
            self.named.add(url)
            if len(self.named) > MAX_REMOTE_CONTEXTS:
                raise InputError(
                    f"JSON-LD names more than {MAX_REMOTE_CONTEXTS} remote contexts (the last: {url})",
                    file=self.file,
                )
            document = self.loader.document(url, key=key, file=self.file)
            if not isinstance(document, dict) or "@context" not in document:
                raise InputError(f"JSON-LD remote {key} {url} has no @context", file=self.file)
            value = self.context(document["@context"], url, (*chain, url))
            self.resolved[url] = (value, len(json.dumps(value, ensure_ascii=False, separators=(",", ":"))))
        value, size = self.resolved[url]
        self.inlined += size
        if self.inlined > MAX_INLINED_BYTES:
            raise InputError(
                f"JSON-LD names remote contexts so often that inlined they would take more than "
                f"{MAX_INLINED_BYTES >> 20} MB (the last: {url}); name the context once, at the top",
                file=self.file,
            )
        return value
