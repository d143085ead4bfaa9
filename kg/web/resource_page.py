"""What a linked-data page shows: a resource's description as one view, for its HTML and JSON twin.

Why a module of its own: :mod:`kg.web.resources` answers a request (the route, the format, the
ETag, the cache, the RDF); this builds what the HTML page and its JSON twin show of the
resource it located: its description and the links to it, then per kind of resource (dataset,
distribution, service, agency) the fields its template lays out, its quality from the derived
data and its findings; and the view made plain JSON (:func:`jsonable`).
"""

from __future__ import annotations

from urllib.parse import quote

from flask import request

from kg.derived.quality import dataset_quality
from kg.describe import Describer, Location, Node
from kg.findings import findings_of
from kg.terms import Term
from kg.vocab import ADMS, CPOV, DCAT, DCT, FOAF, LOCN, ORG, RDF, SCHEMA, SKOS, SPDX, VCARD
from kg.web.agency_page import agency_parts, inbound_predicates
from kg.web.record_page import history_of, record_view
from kg.web.tables import derived

RDF_FORMATS = ("ttl", "jsonld", "rdf", "nt")
KINDS = ("agency", "dataset", "distribution", "service", "record")
LIST_LIMIT = 50
# links to a resource that its page lists in a section of their own, so not among the links to
# it: an agency's datasets and services (dct:publisher), thousands of them, each to be labelled
INBOUND_SHOWN_ELSEWHERE = {"agency": (DCT.publisher,)}


def address(d: Describer, iri: str, fmt: str) -> str:
    """This resource's address here in format ``fmt``."""
    path = d.path(iri) if "#" not in iri else None
    if path is not None:
        return f"{path}?format={fmt}"
    return f"{request.script_root}/resource?uri={quote(iri, safe='')}&format={fmt}"


def page(d: Describer, loc: Location, number: int = 1) -> dict:
    """Everything a page shows (the same for its HTML and its JSON twin); ``number``: the page of
    an agency's datasets."""
    nodes = d.nodes(loc)
    me = nodes.get(loc.iri) or Node(d.iri(loc.iri), d)
    kind = loc.kind if loc.kind in KINDS else "resource"
    hidden = INBOUND_SHOWN_ELSEWHERE.get(kind, ())
    inbound = d.inbound(loc, hidden, inbound_predicates(loc) if kind == "agency" else None)
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
        "formats": {f: address(d, loc.iri, f) for f in ("json", *RDF_FORMATS)},
    }
    if kind != "resource":
        view.update(BUILDERS[kind](d, loc, me, nodes, number))
    record = view.pop("record", None)
    found = findings_of(d, loc, record)
    view["findings"], view["findings_status"] = found.shown, found.status
    # when the record was first seen, last changed (by which run, what changed) and removed, from its
    # source's history; a catalogue record: its member's (None: no history holds it, or a remote store)
    view["history"] = view["history"] if "history" in view else history_of(loc.iri)
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


BUILDERS = {
    "dataset": _dataset,
    "distribution": _distribution,
    "service": _service,
    "agency": _agency,
    "record": record_view,
}


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
