"""Linked-data pages: every IRI minted under ``KG_BASE_URI`` dereferences, others via /resource?uri=.

``{base}dataset/…``, ``distribution/…``, ``service/…``, ``agency/…`` (and the
``graph/…`` and ``run/…`` names of the provenance graph) are routed relative to
the base's path, read from the settings when the blueprint is registered, so
``https://data.example.org/kg/`` serves ``/kg/dataset/x``. ``/resource?uri=``
does the same for any IRI the store knows (harvested RDF keeps its IRIs).

One answer per format, chosen by ``?format=`` (or a ``.json``/``.ttl``/… suffix)
or ``Accept``: an HTML page, its JSON twin (plain JSON; JSON-LD is an RDF
format), or the resource's concise bounded description as Turtle, JSON-LD,
RDF/XML or N-Triples. ``Vary: Accept, Accept-Language``; ETags follow the store
generation. A quarantined record is shown (200) with a "not published" banner
and its report; an IRI the store knows nothing about is a 404. The RDF of a
resource read from a private graph (a quarantined record with its report, an
ingest run) is raw private data: a 404 unless the request carries a token
(:func:`kg.web.auth.readable`); its HTML page and JSON twin are for everyone.
"""

from __future__ import annotations

import io
import json
import re
from urllib.parse import quote, urlsplit

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask.blueprints import BlueprintSetupState

from kg.derived.quality import dataset_quality
from kg.describe import Describer, Location, Node
from kg.errors import QueryError
from kg.findings import findings_of
from kg.store.results import serialize_triples
from kg.terms import Term, iri_ok, valid_lang
from kg.vocab import ADMS, CPOV, DCAT, DCT, FOAF, LOCN, ORG, PREFIXES, RDF, SCHEMA, SKOS, SPDX, VCARD
from kg.web.agency_page import agency_parts
from kg.web.auth import readable, reads_private
from kg.web.cache import etag_for, not_modified
from kg.web.formats import GRAPHS, content_type, negotiate
from kg.web.tables import derived

blueprint = Blueprint("resources", __name__)

FORMATS = {
    "html": "text/html",
    "json": "application/json",
    **{f: GRAPHS[f] for f in ("ttl", "jsonld", "rdf", "nt")},
}
RDF_FORMATS = ("ttl", "jsonld", "rdf", "nt")
KINDS = ("agency", "dataset", "distribution", "service")
TEMPLATES = {k: f"{k}.html" for k in KINDS} | {"resource": "resource.html"}
LIST_LIMIT = 50
# links to a resource that its page lists in a section of their own, so not among the links to
# it: an agency's datasets and services (dct:publisher), thousands of them, each to be labelled
INBOUND_SHOWN_ELSEWHERE = {"agency": (DCT.publisher,)}


@blueprint.record
def _minted_routes(state: BlueprintSetupState) -> None:
    """Routes under the path of the configured base (known only when the app is built)."""
    path = urlsplit(state.app.config["KG_SETTINGS"].base_uri).path or "/"
    state.add_url_rule(f"{path}<any({','.join(KINDS)}):kind>/<slug>", "minted", minted)
    state.add_url_rule(f"{path}<any(graph,run):kind>/<path:slug>", "minted_other", minted)


@blueprint.after_request
def _vary(response: Response) -> Response:
    response.headers["Vary"] = "Accept, Accept-Language"
    return response


def minted(kind: str, slug: str) -> Response:
    """A minted IRI: ``{base}{kind}/{slug}``; a ``.json``/``.ttl``/… suffix picks the format,
    unless the store knows the IRI with the suffix itself."""
    base = current_app.config["KG_SETTINGS"].base_uri
    d = _describer()
    iri, fmt = f"{base}{kind}/{slug}", None
    stem, dot, ext = slug.rpartition(".")
    if dot and ext in FORMATS and ext != "html" and not _known(d, iri):
        iri, fmt = f"{base}{kind}/{stem}", ext
    return _respond(d, iri, fmt, bad=404)


@blueprint.route("/resource")
@blueprint.route("/resource.json")
def resource() -> Response:
    """Any IRI the store knows, e.g. a vocabulary concept or a harvested dataset."""
    iri = request.args.get("uri", "").strip()
    if not iri:
        abort(400, "give the IRI to describe: /resource?uri=…")
    if not iri_ok(iri):
        abort(400, f"not an absolute IRI: {iri[:200]!r}")
    fmt = "json" if request.path.endswith(".json") else None
    return _respond(_describer(), iri, fmt, bad=400)


def _describer() -> Describer:
    lang = request.args.get("lang", "")
    if lang and not valid_lang(lang):
        abort(400, f"not a language tag: {lang[:40]!r}")
    langs = [lang] if lang else []
    langs += [value for value, _ in request.accept_languages if valid_lang(value)]
    settings = current_app.config["KG_SETTINGS"]
    query = f"lang={quote(lang)}" if lang else ""
    return Describer(
        current_app.extensions["kg_pages"],
        settings.base_uri,
        langs=langs,
        root=request.script_root,
        query=query,
    )


def _known(d: Describer, iri: str) -> bool:
    try:
        return iri_ok(iri) and d.known(iri)
    except QueryError:  # an IRI the query parser refuses (bad percent-encoding, …)
        return False


def _locate(d: Describer, iri: str, fmt: str, *, bad: int) -> Location:
    """Where the store knows ``iri`` from (404 if nowhere); a page reads its description with it."""
    if not iri_ok(iri):
        abort(404, f"nothing is known about <{iri[:200]}>")
    try:
        loc = d.locate(iri, parts=fmt not in RDF_FORMATS)
    except QueryError:  # an IRI the query parser refuses (bad percent-encoding, …)
        abort(bad, f"not a valid IRI: {iri[:200]!r}")
    if loc is None:
        abort(404, f"nothing is known about <{iri}>")
    return loc


def _format(fmt: str | None) -> str:
    wanted = request.args.get("format", "")
    if wanted and wanted not in FORMATS:
        abort(400, f"unknown format {wanted[:20]!r}; use one of {', '.join(FORMATS)}")
    return fmt or wanted or negotiate(FORMATS)


def _page_number() -> int:
    """``?page=`` (the agency page's list of datasets): a whole number from 1, else a 400."""
    raw = request.args.get("page", "1").strip()
    if not re.fullmatch(r"[1-9][0-9]{0,5}", raw):
        abort(400, f"page must be a whole number from 1 to 999999, not {raw[:40]!r}")
    return int(raw)


def _respond(d: Describer, iri: str, fmt: str | None, *, bad: int) -> Response:
    """The answer in the negotiated format: from the client's copy (304) or this worker's cache
    when the generation has not changed, else built (the resource is located first: 404)."""
    fmt, number = _format(fmt), _page_number()
    store = current_app.extensions["kg_pages"]
    # the raw triples of a private graph go to token holders only: they get answers of their own
    token = fmt in RDF_FORMATS and reads_private()
    etag = etag_for(store.version(), request.script_root, iri, fmt, d.prefs, d.query, number, token)
    if (cached := not_modified(etag)) is not None:
        return cached
    cache = current_app.extensions["kg_cache"]
    entry = cache.get(("resources", etag))
    if entry is None:
        loc = _locate(d, iri, fmt, bad=bad)
        if fmt in RDF_FORMATS and not all(readable(store, g) for g in loc.graphs or ()):
            abort(404, f"nothing is known about <{iri}>")  # as if absent, as the Graph Store says
        body, ctype = _body(d, loc, fmt, number)
        cache.put(("resources", etag), body, ctype)
    else:
        body, ctype = entry
    response = Response(body, content_type=ctype)
    response.headers["ETag"] = etag
    if token:
        response.headers["Cache-Control"] = "private"
    response.headers["Link"] = ", ".join(
        f'<{_url_for(d, iri, f)}>; rel="alternate"; type="{FORMATS[f]}"' for f in RDF_FORMATS
    )
    return response


def _body(d: Describer, loc: Location, fmt: str, number: int) -> tuple[bytes, str]:
    if fmt in RDF_FORMATS:
        out = io.BytesIO()
        serialize_triples(d.triples(loc), out, fmt, prefixes=PREFIXES)
        return out.getvalue(), content_type(fmt)
    view = page(d, loc, number)
    if fmt == "json":
        return json.dumps(jsonable(view), ensure_ascii=False).encode("utf-8"), "application/json"
    template = TEMPLATES.get(view["kind"], "resource.html")
    html = render_template(template, v=view, title=view["self"].label)
    return html.encode("utf-8"), "text/html; charset=utf-8"


def _url_for(d: Describer, iri: str, fmt: str) -> str:
    """This resource's address here in format ``fmt``."""
    path = d.path(iri) if "#" not in iri else None
    if path is not None:
        return f"{path}?format={fmt}"
    return f"{request.script_root}/resource?uri={quote(iri, safe='')}&format={fmt}"


# ---------------------------------------------------------------- page contents


def page(d: Describer, loc: Location, number: int = 1) -> dict:
    """Everything a page shows (the same for its HTML and its JSON twin); ``number``: the page of
    an agency's datasets."""
    nodes = d.nodes(loc)
    me = nodes.get(loc.iri) or Node(d.iri(loc.iri), d)
    kind = loc.kind if loc.kind in KINDS else "resource"
    hidden = INBOUND_SHOWN_ELSEWHERE.get(kind, ())
    inbound = d.inbound(loc, hidden)
    view = {
        "iri": loc.iri,
        "kind": kind,
        "status": loc.status,
        "graph": loc.graphs[0] if loc.graphs else None,
        "self": d.iri(loc.iri),
        "types": me.all(RDF.type),
        "root": me,
        "nodes": nodes,
        "inbound": inbound.links,
        "inbound_total": inbound.total,
        "inbound_total_exact": inbound.exact,
        "inbound_hidden": [d.iri(str(p)) for p in hidden],
        "formats": {f: _url_for(d, loc.iri, f) for f in ("json", *RDF_FORMATS)},
    }
    if kind != "resource":
        view.update(BUILDERS[kind](d, loc, me, nodes, number))
    record = view.pop("record", None)
    found = findings_of(d, loc, record)
    view["findings"], view["findings_status"] = found.shown, found.status
    d.resolve()
    for key in ("datasets", "services", "distributions"):
        listed = view.get(key)
        if isinstance(listed, list) and not (kind == "agency" and key == "datasets"):  # the index's order
            listed.sort(key=lambda item: _label(item).lower())
    return view


def _label(item: Term | dict) -> str:
    return item.label if isinstance(item, Term) else item["term"].label


def _texts(me: Node) -> dict:
    return {"title": me.best(DCT.title), "description": me.best(DCT.description)}


def _ext(d: Describer, terms: list[Term]) -> list[Term]:
    return [d.external(t) for t in terms]


def _contact(d: Describer, nodes: dict[str, Node], refs: list[Term]) -> list[dict]:
    out = []
    for ref in refs:
        c = nodes.get(ref.value)
        if c is None:
            out.append({"term": ref})
            continue
        out.append(
            {
                "name": c.best(VCARD.fn) or c.best(VCARD["organization-name"]),
                "emails": _ext(d, c.all(VCARD.hasEmail)) or c.all(CPOV.email),
                "phones": _ext(d, c.all(VCARD.hasTelephone)) or c.all(CPOV.telephone),
                "pages": _ext(d, c.all(VCARD.hasURL) + c.all(FOAF.page)),
            }
        )
    return out


def _common(d: Describer, me: Node, nodes: dict[str, Node]) -> dict:
    """What datasets and services share."""
    return {
        **_texts(me),
        "publisher": me.all(DCT.publisher),
        "themes": me.all(DCAT.theme),
        "keywords": me.texts(DCAT.keyword),
        "licences": me.all(DCT.license),
        "access_rights": me.all(DCT.accessRights),
        "landing_pages": _ext(d, me.all(DCAT.landingPage)),
        "contact": _contact(d, nodes, me.all(DCAT.contactPoint)),
        "conforms_to": me.all(DCT.conformsTo),
    }


def _dataset(d: Describer, loc: Location, me: Node, nodes: dict[str, Node], number: int) -> dict:
    dists = [t.value for t in me.all(DCAT.distribution) if t.kind == "iri"]
    parts = d.nodes(loc, dists) if dists else {}  # read with the dataset (Describer.locate)
    periods = [nodes[t.value] for t in me.all(DCT.temporal) if t.value in nodes]
    return {
        **_common(d, me, nodes),
        "issued": me.best(DCT.issued),
        "modified": me.best(DCT.modified),
        "frequency": me.all(DCT.accrualPeriodicity),
        "languages": me.all(DCT.language),
        "temporal": [
            {
                "start": p.best(DCAT.startDate) or p.best(SCHEMA.startDate),
                "end": p.best(DCAT.endDate) or p.best(SCHEMA.endDate),
            }
            for p in periods
        ],
        "spatial": me.all(DCT.spatial),
        "version": me.best(DCAT.version),
        "distributions": [_distribution_summary(d, parts[i]) for i in dists if i in parts],
        "services": d.linked(loc, DCAT.servesDataset, limit=LIST_LIMIT),
        "quality": _quality(loc.iri),
    }


def _quality(iri: str) -> dict | None:
    """The dataset's score, rating and points per dimension and indicator, from the derived data
    (one lookup by IRI; the store keeps only the score and the dimensions: :mod:`kg.quality`)."""
    tables = derived()
    return dataset_quality(tables.db(), iri) if tables is not None else None


def _distribution_summary(d: Describer, n: Node) -> dict:
    return {
        "term": n.term,
        **_texts(n),
        "formats": n.all(DCT.format),
        "media_types": n.all(DCAT.mediaType),
        "licences": n.all(DCT.license),
        "access_urls": _ext(d, n.all(DCAT.accessURL)),
        "download_urls": _ext(d, n.all(DCAT.downloadURL)),
    }


def _distribution(d: Describer, loc: Location, me: Node, nodes: dict[str, Node], number: int) -> dict:
    datasets = d.linked(loc, DCAT.distribution, limit=5)
    checksums = [nodes[t.value] for t in me.all(SPDX.checksum) if t.value in nodes]
    return {
        **_distribution_summary(d, me),
        "datasets": datasets,
        "byte_size": me.best(DCAT.byteSize),
        "issued": me.best(DCT.issued),
        "modified": me.best(DCT.modified),
        "checksums": [
            {"algorithm": c.all(SPDX.algorithm), "value": c.best(SPDX.checksumValue)} for c in checksums
        ],
        "access_services": me.all(DCAT.accessService),
        # its findings are its dataset's record's (the first, if several datasets list it)
        "record": min((t.value for t in datasets), default="") if loc.status == "published" else None,
    }


def _service(d: Describer, loc: Location, me: Node, nodes: dict[str, Node], number: int) -> dict:
    return {
        **_common(d, me, nodes),
        "endpoint_urls": _ext(d, me.all(DCAT.endpointURL)),
        "endpoint_descriptions": _ext(d, me.all(DCAT.endpointDescription)),
        "formats": me.all(DCT.format),
        "datasets": me.all(DCAT.servesDataset),
    }


def _agency(d: Describer, loc: Location, me: Node, nodes: dict[str, Node], number: int) -> dict:
    identifiers = [
        nodes[t.value].best(SKOS.notation) if t.value in nodes else t for t in me.all(ADMS.identifier)
    ]
    addresses = [nodes[t.value] for t in me.all(LOCN.address) if t.value in nodes]
    return {
        "name": me.best(SKOS.prefLabel) or me.best(FOAF.name),
        "acronyms": me.all(SKOS.altLabel),
        "description": me.best(DCT.description),
        "identifiers": [i for i in identifiers if i is not None],
        "classification": me.all(ORG.classification),
        "homepages": _ext(d, me.all(FOAF.homepage)),
        "contact": _contact(d, nodes, me.all(CPOV.contactPoint) + me.all(DCAT.contactPoint)),
        "addresses": [a.best(LOCN.fullAddress) for a in addresses if a.best(LOCN.fullAddress)],
        "jurisdiction": me.all(CPOV.spatial),
        **agency_parts(d, loc, number),
    }


BUILDERS = {"dataset": _dataset, "distribution": _distribution, "service": _service, "agency": _agency}


# ---------------------------------------------------------------- JSON twin


def jsonable(value):
    """The page as plain JSON: terms as small objects, the description as subjects with properties."""
    if isinstance(value, Term):
        return value.as_json()
    if isinstance(value, Node):
        return {
            **value.term.as_json(),
            "properties": [
                {"predicate": value.preds[p].as_json(), "objects": [o.as_json() for o in objs]}
                for p, objs in value.props.items()
            ],
        }
    if isinstance(value, dict):
        out = {k: jsonable(v) for k, v in value.items() if k not in ("root", "nodes", "inbound")}
        if "nodes" in value:
            out["statements"] = [jsonable(n) for n in value["nodes"].values()]
            out["inbound"] = [{"subject": s.as_json(), "predicate": p.as_json()} for s, p in value["inbound"]]
        return out
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
