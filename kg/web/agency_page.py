"""The agency page: who it is, where it sits in its hierarchy, and what it and its units publish.

The rest of a resource page (description, contact, identifiers, what points at
it, findings) is :mod:`kg.web.resources`'; this module adds what only an agency has:

* its *hierarchy*: its parents up to the top and its sub-organisations and units
  below, from one query that starts at the agency and walks the org: links up and
  down from it (bounded by the size of its own family, at most :data:`TREE_EDGES` links);
* its *datasets*, a page of :data:`LIST_SIZE` at a time (``?page=``) sorted by title,
  and the *summary* of what it and its units publish (datasets per agency of the tree,
  the most frequent themes, formats and licences), both from the search index
  (:mod:`kg.search`), whose facet counts are bitsets: no query over the datasets;
* its *data services*: the services whose publisher it is (from the derived data).

:func:`agency_summary` is the one place the summary is read: the per-generation
derived data (counts per agency including units, quality summaries) replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from flask import abort, current_app

from kg.describe import Describer, Location
from kg.errors import StoreError
from kg.search.query import MAX_VALUES, Index, Query, Result, Value, open_index
from kg.terms import Term
from kg.vocab import ORG
from kg.web.search_views import search_url
from kg.web.tables import derived

LIST_SIZE = 50  # datasets a page
SERVICES_LIMIT = 50
TREE_EDGES = 2000  # org: links read for the hierarchy; a family larger than this is cut
TREE_DEPTH = 12  # levels shown above and below the agency
SUMMARY_FACETS = ("theme", "format", "licence")
SUMMARY_VALUES = 5  # values shown per facet
_UP = "|".join(
    (f"<{ORG.subOrganizationOf}>", f"<{ORG.unitOf}>", f"^<{ORG.hasSubOrganization}>", f"^<{ORG.hasUnit}>")
)


@dataclass
class AgencySummary:
    """What a set of agencies (an agency and the bodies below it) publishes.

    ``quality``: the quality summary of their datasets (datasets scored, average score,
    datasets per rating, as on ``/quality``), or None where it is not known.
    """

    datasets: int = 0
    by_agency: dict[str, int] = field(default_factory=dict)
    facets: dict[str, tuple[Value, ...]] = field(default_factory=dict)
    quality: dict | None = None


def agency_summary(index: Index | None, agencies: list[str]) -> AgencySummary:
    """Datasets published by ``agencies`` in all, per agency and per facet value, and their quality.

    From the search index: its publisher facet counts each agency's datasets and the other facets
    count over the agencies' datasets together, with bitsets (about 2 ms at 100,000 datasets);
    the quality summary from the per-generation derived data (:func:`agency_quality`).
    """
    if index is None or not agencies:
        return AgencySummary()
    query = Query(filters=(("publisher", tuple(agencies)),), size=1)
    result = index.search(query, facet_limit=SUMMARY_VALUES)
    counts = {v.value: v.count for v in result.facets["publisher"] if v.selected}
    facets = {f: tuple(v for v in result.facets[f] if not v.selected) for f in SUMMARY_FACETS}
    return AgencySummary(result.total, counts, facets, agency_quality(agencies))


def agency_quality(agencies: list[str]) -> dict | None:
    """The quality of the datasets ``agencies`` publish, as ``/quality?agency=`` counts it: datasets
    scored, their average score, quarantined records; None where no derived data is there.

    One indexed read per agency of the derived ``quality_totals`` (sums per source and publisher).
    """
    tables = derived()
    if tables is None:
        return None
    marks = ",".join("?" * len(agencies))
    ((scored, total, held),) = tables.rows(
        f"SELECT coalesce(sum(scored), 0), coalesce(sum(score), 0), coalesce(sum(quarantined), 0) "
        f"FROM quality_totals WHERE agency IN ({marks})",
        tuple(agencies),
    )
    if not scored and not held:
        return None
    return {
        "datasets_scored": scored,
        "average_score": round(total / scored, 2) if scored else None,
        "quarantined": held,
        "page": "/quality?" + urlencode({"agency": agencies[0]}),
    }


def agency_datasets(index: Index | None, agency: str, page: int) -> Result | None:
    """One page of the datasets the agency publishes itself, by title (404 past the last page)."""
    if index is None:
        if page > 1:
            abort(404, description=f"there is no page {page}: the agency publishes no dataset")
        return None
    result = index.search(
        Query(filters=(("publisher", (agency,)),), sort="title", page=page, size=LIST_SIZE),
        facet_limit=0,
        titles_only=True,
    )
    if page > max(1, result.pages):
        abort(404, description=f"there is no page {page}: the last page is {max(1, result.pages)}")
    return result


def agency_parts(d: Describer, loc: Location, page: int) -> dict:
    """The agency page's fields that come from beyond its own description."""
    tree, family = hierarchy(d, loc)
    index = _index()
    own = agency_datasets(index, loc.iri, page)
    summary = agency_summary(index, family)
    _count(tree["children"], summary.by_agency)
    total, pages = (own.total, own.pages) if own else (0, 1)
    datasets = [_dataset(d, hit.iri, hit.title) for hit in own.hits] if own else []
    more = search_url(Query(filters=(("publisher", (loc.iri,)),))) if total > len(datasets) else None
    return {
        "tree": tree,
        "datasets": datasets,
        "datasets_total": total,
        "datasets_page": page,
        "datasets_pages": max(1, pages),
        "datasets_links": {
            "prev": _page_url(d, loc, page - 1) if page > 1 else None,
            "next": _page_url(d, loc, page + 1) if page < pages else None,
        },
        "more_datasets": more,
        "summary": _summary(d, summary, family),
        "services": services(d, loc),
    }


def hierarchy(d: Describer, loc: Location) -> tuple[dict, list[str]]:
    """The agency's parents (root first), the tree of the bodies below it, and the agency with
    every body below it (the family whose datasets the summary counts).

    One query from the agency: upwards (its ancestors and their links) and downwards
    (the bodies linked to it, at any depth, and their links). Walking org: links from
    every agency instead made the page's cost grow with the number of agencies.
    """
    me = f"<{loc.iri}>"
    rows = d.rows(
        f"""SELECT DISTINCT ?c ?p ?unit WHERE {{
          {{ {me} ({_UP})* ?c . ?c ({_UP}) ?p }} UNION {{ ?c ({_UP})+ {me} . ?c ({_UP}) ?p }}
          FILTER(isIRI(?c) && isIRI(?p))
          BIND(EXISTS {{ ?c a <{ORG.OrganizationalUnit}> }} AS ?unit) }} LIMIT {TREE_EDGES}""",
        loc.graphs,
    )
    parents: dict[str, list[str]] = {}
    children: dict[str, set[tuple[str, bool]]] = {}
    for row in rows:
        c, p = row["c"].value, row["p"].value
        parents.setdefault(c, []).append(p)
        children.setdefault(p, set()).add((c, row["unit"].value in ("true", "1")))  # Virtuoso: 1
    ancestors, current = [], loc.iri
    while parents.get(current) and len(ancestors) < TREE_DEPTH:
        current = sorted(parents[current])[0]
        if current == loc.iri or current in ancestors:
            break
        ancestors.insert(0, current)
    family = [loc.iri]

    def below(iri: str, seen: frozenset[str]) -> list[dict]:
        if len(seen) > TREE_DEPTH + len(ancestors) + 1:
            return []
        out = []
        for c, unit in sorted(children.get(iri, ())):
            if c in seen:
                continue
            if c not in family:
                family.append(c)
            out.append({"term": d.iri(c), "unit": unit, "datasets": 0, "children": below(c, seen | {c})})
        return out

    tree = {
        "ancestors": [d.iri(a) for a in ancestors],
        "children": below(loc.iri, frozenset({loc.iri, *ancestors})),
    }
    return tree, family


def services(d: Describer, loc: Location) -> list[Term]:
    """The data services the agency publishes (at most :data:`SERVICES_LIMIT`, in IRI order).

    From the derived data (:mod:`kg.derived.agencies`: the published services per publisher), one
    indexed read: asked of the store, every service of the catalogue was joined with every
    ``dct:publisher`` link of the agency, 27 ms at 1,000,000 datasets. A quarantined agency's page
    lists the published services that name it, as it lists its published datasets.
    """
    tables = derived()
    if tables is None:
        return []
    found = tables.rows(
        "SELECT service FROM agency_services WHERE publisher = ? ORDER BY service LIMIT ?",
        (loc.iri, SERVICES_LIMIT),
    )
    return [d.iri(service) for (service,) in found]


def inbound_predicates(loc: Location) -> list[str] | None:
    """The predicates that may point at a published agent (:meth:`kg.describe.Describer.inbound`
    looks its links up by these, never reading its datasets' ``dct:publisher`` links); None for
    a quarantined or private one, whose own graph is read as a whole."""
    tables = derived()
    if tables is None or loc.status != "published":
        return None
    return tables.value("agent_links", [])


def _dataset(d: Describer, iri: str, title: str) -> Term:
    """A listed dataset with the search index's title (English first, as /datasets shows it):
    50 fewer IRIs to look labels up for, 4 lookups each. A reader of another language gets
    the store's label in that language."""
    if d.english_first and title and d.path(iri) is not None:
        return Term("iri", iri, label=title, href=d.href(iri, True))
    return d.iri(iri, label=title)


def _index() -> Index | None:
    """The published generation's search index (None: nothing published yet)."""
    try:
        return open_index(current_app.extensions["kg_store"])
    except StoreError as exc:
        abort(503, description=str(exc))


def _count(children: list[dict], counts: dict[str, int]) -> None:
    for child in children:
        child["datasets"] = counts.get(child["term"].value, 0)
        _count(child["children"], counts)


def _summary(d: Describer, summary: AgencySummary, family: list[str]) -> dict:
    """The summary as the page shows it: terms for the facet values, links to the search."""
    linked = len(family) <= MAX_VALUES  # /datasets takes at most MAX_VALUES publishers

    def link(facet: str, value: str) -> str | None:
        if not linked:
            return None
        return search_url(Query(filters=((facet, (value,)), ("publisher", tuple(family)))))

    def term(value: Value) -> Term:
        """The index's label (English first) unless the reader asked for another language."""
        if not value.value.startswith(("http://", "https://")):
            return Term("literal", value.value)
        if d.english_first and value.label and value.label != value.value:
            return Term("iri", value.value, label=value.label, href=d.href(value.value, True))
        return d.iri(value.value, label=value.label)

    return {
        "agencies": len(family),
        "datasets": summary.datasets,
        "facets": {
            facet: [{"value": term(v), "count": v.count, "href": link(facet, v.value)} for v in values]
            for facet, values in summary.facets.items()
        },
        "quality": summary.quality,
        "search": search_url(Query(filters=(("publisher", tuple(family)),))) if linked else None,
    }


def _page_url(d: Describer, loc: Location, page: int) -> str:
    """The agency page's address here with ``page`` (and the reader's ``lang``)."""
    path = d.path(loc.iri) if "#" not in loc.iri else None
    url = path if path is not None else f"{d.root}/resource?uri={quote(loc.iri, safe='')}"
    params = [p for p in (d.query, f"page={page}" if page > 1 else "") if p]
    return url + ("&" if "?" in url else "?") + "&".join(params) if params else url
