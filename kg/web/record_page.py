"""Our catalogue records' pages, and the pages of what its source removed (410 Gone).

Why here, beside :mod:`kg.web.resource_page`: both answer from the records' history
(:mod:`kg.history`), not from the store's graphs, and are then served by the one mechanism of
:mod:`kg.web.resources` (the route, the format, the ETag, the JSON twin, the RDF).

*A catalogue record* (``{base}record/{key}``, :meth:`kg.iris.Minter.record`) is not in the store:
the catalogue's pages and the export make it from the history (:mod:`kg.catalog_records`). Its IRI
is located here as a :class:`kg.describe.Location` whose description is those same lines plus its
source (``kgo:source``) and the PROV-O version of its member's last change (as ``/changes`` gives
it: the way into the member's history). Its member is described at the member's own IRI: with it,
the record meets the official DCAT-AP shapes (``foaf:primaryTopic`` a dataset or data service).

*Gone*: a dataset, service or agency that its source no longer has (and the catalogue record of a
removed member) answers 410 with a page and a JSON twin that say when it was removed, by which
run, from which source, and its history; its RDF is the PROV-O of the removal. An IRI no history
holds stays a 404.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, request

from kg.catalog_records import record_lines
from kg.describe import Describer, Location, Node
from kg.history import Change, of_record, of_record_key
from kg.mapping.ntriples import nt_iri, nt_literal
from kg.store.results import parse_ntriples
from kg.terms import curie
from kg.vocab import DCAT, DCT, FOAF, KGO, PROV, RDF, XSD


def _folder():  # noqa: ANN202 - Path | None
    """The published generation's folder (its histories), None with a remote store (none kept)."""
    if current_app.config["KG_SETTINGS"].remote:
        return None
    return current_app.extensions["kg_store"].folder()


def is_record(d: Describer, iri: str) -> bool:
    return iri.startswith(f"{d.iris.base}record/")


def record_location(d: Describer, iri: str) -> tuple[Location | None, dict | None]:
    """Our catalogue record ``iri``: (its location, None) while its member is in the catalogue,
    (None, the member's history) once its source removed it, (None, None) when there is no such
    record (never minted, or its member quarantined: not in the catalogue)."""
    found = of_record_key(_folder(), iri.rpartition("/")[2])
    if found is None or d.iris.record(found["iri"]) != iri:
        return None, None
    if found["removed"]:
        return None, found
    if not found["published"]:
        return None, None
    triples = parse_ntriples(_record_text(d, iri, found))
    rows = [(t.subject, t.subject, t.predicate, t.object) for t in triples]
    return Location(iri, "published", None, [str(DCAT.CatalogRecord)], rows, frozenset({iri})), None


def _record_text(d: Describer, iri: str, h: dict) -> str:
    """The record's N-Triples: as the catalogue says it, with its source and the PROV-O version of
    the member's last change."""
    settings = current_app.config["KG_SETTINGS"]
    member = h["iri"]
    lines = record_lines(settings, [member], {member: (h["first_seen"], h["last_changed"])})
    lines += [
        f"{nt_iri(iri)} {nt_iri(str(KGO.source))} {nt_literal(h['source'])} .\n",
    ]
    return "".join(lines) + change_ntriples([_change(h)])


def removed(d: Describer, iri: str) -> dict | None:
    """The history of ``iri`` when its source removed it (and no source has it now), else None."""
    found = of_record(_folder(), iri)
    return found if found is not None and found["removed"] else None


def _change(h: dict) -> Change:
    how = "removed" if h["removed"] else "added" if h["added"] == h["last_changed"] else "changed"
    time, run = (h["removed"], h["removed_by"]) if h["removed"] else (h["last_changed"], h["changed_by"])
    return Change(h["iri"], h["source"], how, time, run, h["kind"], h["version"], h["published"])


def record_view(d: Describer, loc: Location, me: Node, nodes: dict[str, Node], number: int) -> dict:
    """A ``dcat:CatalogRecord``'s page (ours, or one a harvested catalogue carries): its member and
    dates, its source; and the member's history, where one is kept."""
    topics = me.all(FOAF.primaryTopic)
    member = next((t.value for t in topics if t.kind == "iri"), None)
    return {
        "primary_topic": topics,
        "issued": me.best(DCT.issued),
        "modified": me.best(DCT.modified),
        "source": me.best(KGO.source),
        "history": history_of(member) if member else None,
    }


def history_of(iri: str) -> dict | None:
    """The history a page shows of ``iri`` (None: none kept; :func:`shown`)."""
    found = of_record(_folder(), iri)
    return shown(found) if found is not None else None


def shown(h: dict) -> dict:
    """A history as :mod:`kg.history` reads it, as a page shows it: the predicates that changed with
    their CURIEs, and the address of its source's change feed from its latest change (where that
    change is listed)."""
    what = {
        how: [{"iri": p, "curie": curie(p)} for p in predicates]
        for how, predicates in h["what_changed"].items()
    }
    query = urlencode({"since": h["removed"] or h["last_changed"], "source": h["source"]})
    return {**h, "what_changed": what, "feed": f"{request.script_root}/changes?{query}"}


def gone_view(d: Describer, iri: str, h: dict) -> dict:
    """The page of what is gone: ``iri`` (a record, or our catalogue record of one) and the
    history of the record its source removed."""
    h = shown(h)  # read once, where the IRI was located (kg.web.resources)
    record = iri != h["iri"]
    view = {
        "iri": iri,
        "kind": "gone",
        "status": "removed",
        "self": d.iri(iri),
        "record_of": d.iri(h["iri"]) if record else None,
        "record_kind": "catalogue record" if record else h["kind"],
        "removed": h["removed"],
        "removed_by": d.iri(h["removed_by"]),
        "source": h["source"],
        "history": h,
        "formats": {f: f"{d.path(iri) or ''}?format={f}" for f in ("json", "ttl", "jsonld", "rdf", "nt")},
    }
    d.resolve()
    return view


def gone_ntriples(d: Describer, iri: str, h: dict) -> str:
    """The RDF of what is gone: the PROV-O of the removal of its record's last version; for our
    catalogue record, the record too (modified when its member was removed)."""
    text = change_ntriples([_change(h)])
    if iri != h["iri"]:
        settings = current_app.config["KG_SETTINGS"]
        times = {h["iri"]: (h["first_seen"], h["removed"])}
        listed = f"{nt_iri(d.iris.catalog())} "  # the catalogue lists it no more
        lines = record_lines(settings, [h["iri"]], times)
        text += "".join(line for line in lines if not line.startswith(listed))
    return text


def change_ntriples(items: list[Change]) -> str:
    """Changes as PROV-O: each record's version as the change left it (or, removed, as it was), the
    record it is a version of, the run and the time; the kind of change as kgo:change."""
    lines = []
    when = nt_iri(str(XSD.dateTime))
    for c in items:
        v = nt_iri(c.version)
        at, by = (PROV.invalidatedAtTime, PROV.wasInvalidatedBy) if c.kind == "removed" else (
            PROV.generatedAtTime, PROV.wasGeneratedBy)  # fmt: skip
        lines += [
            f"{v} {nt_iri(str(RDF.type))} {nt_iri(str(PROV.Entity))} .\n",
            f"{v} {nt_iri(str(PROV.specializationOf))} {nt_iri(c.iri)} .\n",
            f'{v} {nt_iri(str(at))} "{c.time}"^^{when} .\n',
            f"{v} {nt_iri(str(by))} {nt_iri(c.run)} .\n",
            f"{v} {nt_iri(str(KGO.change))} {nt_literal(c.kind)} .\n",
        ]
    return "".join(sorted(lines))
