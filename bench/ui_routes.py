"""The requests of ``bench/ui.py``: for every page kind and its JSON twin (and the RDF syntaxes a
resource or the catalogue is offered in), distinct requests that ask for things that exist.

*Distinct*: no row asks for a URL twice, so neither the client's ETag nor a worker's result cache
(:class:`kg.web.cache.ResultCache`, keyed by generation and request) can answer. The search index
also keeps the matches of its last 64 texts per process; the search rows therefore never share a
text, within a row or between rows. A page with one address gets a parameter its view does not
read (``r=N``: home, VoID, the query editor); pages whose view refuses unknown parameters
(``/datasets``, ``/agencies``) differ by what they ask. Where a kind has few resources (an agency,
a data service, a vocabulary concept) its requests differ by ``page=`` or by ``lang=`` (the language
the page prefers), each a separate answer of the server's.

Each row holds one request more than it measures: the last is kept for ``--new-generation``, so
that the first request of each kind on a new generation is one nobody asked before either.
"""

from __future__ import annotations

import random
import urllib.parse
from dataclasses import dataclass
from itertools import combinations, islice

from bench.ui_store import BASE, EU, GEN, StoreFacts

HTML, JSON = "text/html", "application/json"
RDF = {
    "ttl": "text/turtle",
    "rdf": "application/rdf+xml",
    "jsonld": "application/ld+json",
    "nt": "application/n-triples",
}
LANGS = ("", "en", "fr", "de", "es", "it", "nl", "pt", "pl", "sv")
AGENCY_PAGE = 50  # datasets on an agency's page (kg.web.agency_page.LIST_SIZE)
QUALITY_PAGE = 50  # rows of a /quality list (kg.web.quality_views.PAGE_SIZE)
SEARCH_PAGES = 10_000  # the last page /datasets shows (kg.search.query.MAX_PAGE)


@dataclass
class Row:
    """One row of the report: a page kind in one format, and its requests (path, Accept)."""

    name: str
    what: str
    requests: list[tuple[str, str]]
    skipped: str = ""

    @property
    def measured(self) -> list[tuple[str, str]]:
        return self.requests[:-1]

    @property
    def held_back(self) -> tuple[str, str] | None:
        return self.requests[-1] if len(self.requests) > 1 else None


def plans(n: int, seed: int, count: int, facts: StoreFacts, page_size: int) -> list[Row]:
    """Every row, in report order, ``count`` measured requests each where the store has enough."""
    rng = random.Random(seed)
    k = count + 1
    return [
        Row("home", "`/?r=N`", [(f"/?r={i}", HTML) for i in range(k)]),
        Row("home-json", "`/index.json?r=N`", [(f"/index.json?r={i}", JSON) for i in range(k)]),
        *search_rows(rng, k, facts.datasets),
        *resource_rows(rng, n, seed, k, facts),
        *directory_rows(rng, k, facts),
        *quality_rows(rng, k, facts),
        *catalog_rows(rng, k, facts.catalog_members, page_size),
        *[
            Row(
                f"void-{fmt}",
                f"`/.well-known/void?r=N`, {media}",
                [(f"/.well-known/void?r={j * k + i}", media) for i in range(k)],
            )
            for j, (fmt, media) in enumerate(RDF.items())
        ],
        Row("query", "`/query?r=N`: the SPARQL editor", [(f"/query?r={i}", HTML) for i in range(k)]),
        Row("query-json", "`/query.json?r=N`", [(f"/query.json?r={i}", JSON) for i in range(k)]),
    ]


# ---------------------------------------------------------------- search


def search_rows(rng: random.Random, k: int, datasets: int) -> list[Row]:
    """Search with words and facets, with words, a facet and a sort, with common words only (the
    widest matches), and with no words (browsing, by last modified or by title)."""
    narrow, broad = iter(_narrow_texts(rng)), iter(_broad_texts(rng))
    formats = [f"{EU}file-type/{row[3]}" for row in GEN.FORMAT_TABLE]
    publishers = [f"{BASE}agency/{a['id']}" for a in GEN.AGENCIES]
    theme_of = {s: d[2][0] for d in GEN.DOMAINS for s in d[4]}
    deepest = 2 if datasets >= 5000 else 1  # a 2 % match has a second page of 20

    def faceted(text: tuple[str, str]) -> dict:
        s, m = text
        return {"q": f"{s} {m}", "theme": f"{EU}data-theme/{theme_of[s]}", "format": rng.choice(formats)}

    def with_sort(text: tuple[str, str]) -> dict:
        sort = rng.choice(("title", "modified"))
        return {"q": " ".join(text), "publisher": rng.choice(publishers), "sort": sort}

    kinds = (
        ("search", "`/datasets?q=<subject> <measure>&theme=…&format=…`", narrow, faceted),
        ("search-sorted", "`/datasets?q=…&publisher=…&sort=title|modified`", narrow, with_sort),
        ("search-broad", "`/datasets?q=<common words>&page=1|2`: 2-100 % match, by relevance", broad,
         lambda q: {"q": q, "page": rng.randint(1, deepest)}),
    )  # fmt: skip
    rows = []
    for name, what, texts, make in kinds:
        for suffix, accept in (("", HTML), (".json", JSON)):
            paths = [f"/datasets{suffix}?" + urllib.parse.urlencode(make(t)) for t in islice(texts, k)]
            rows.append(_twin(name, what, suffix, "`/datasets.json`", [(p, accept) for p in paths]))
    last = min(max(1, -(-datasets // 20)), SEARCH_PAGES)  # the search lists 20 a page, 10,000 pages at most
    for suffix, accept in (("", HTML), (".json", JSON)):
        pages = _pages(rng, last, k)
        paths = [
            f"/datasets{suffix}?page={p}" + ("&sort=title" if i % 2 else "") for i, p in enumerate(pages)
        ]
        what = "`/datasets?page=N[&sort=title]`: no words, no facet"
        rows.append(_twin("search-browse", what, suffix, "`/datasets.json`", [(p, accept) for p in paths]))
    return rows


def _twin(name: str, what: str, suffix: str, path: str, requests: list[tuple[str, str]]) -> Row:
    return Row(name + "-json", f"the same, {path}", requests) if suffix else Row(name, what, requests)


def _narrow_texts(rng: random.Random) -> list[tuple[str, str]]:
    """A subject and a measure word (500 texts), then with a dimension word too (5,000 more)."""
    subjects = [s for d in GEN.DOMAINS for s in d[4]]
    measures = [m.split()[0] for m in GEN.MEASURES]
    first = [(s, m) for s in subjects for m in measures]
    more = [(s, f"{m} {d.split()[0]}") for s in subjects for m in measures for d in GEN.DIMENSIONS]
    rng.shuffle(first)
    rng.shuffle(more)
    return first + more


def _broad_texts(rng: random.Random) -> list[str]:
    """Texts of common words, each matching 2 % of the datasets or more (every description says
    "<measure> of <subject> by <dimension>, published by the <agency>"): about 600 of them."""
    everywhere = ["published", "the", "of", "by"]
    common = sorted(
        {m.split()[0] for m in GEN.MEASURES}
        | {d.split()[0] for d in GEN.DIMENSIONS}
        | {w.lower() for a in GEN.AGENCIES for w in a["name"].replace(",", " ").split() if len(w) > 3}
    )
    texts = everywhere + common + [f"{a} {b}" for a, b in combinations(everywhere, 2)]
    texts += [f"{a} {c}" for a in everywhere for c in common]
    texts += [f"{a} {b} {c}" for a, b in combinations(everywhere, 2) for c in common]
    rng.shuffle(texts)
    return texts


# ---------------------------------------------------------------- resources


def resource_rows(rng: random.Random, n: int, seed: int, k: int, facts: StoreFacts) -> list[Row]:
    """Dataset, distribution, data service and agency pages, their JSON and RDF, and ``/resource``."""
    ids = _published_ids(rng.sample(range(n), min(n, 6 * k)), n, facts)
    datasets = [f"/dataset/{GEN.dataset_id(i)}" for i in ids]
    distributions = [f"/distribution/{GEN.dataset_id(i)}-0" for i in ids]  # every dataset has a first
    services = [f"/service/{s['id']}" for s in GEN.iter_services(n, seed)]
    agencies = [
        f"/agency/{iri.rsplit('/', 1)[1]}?page={p}"
        for iri, total in facts.agency_datasets.items()
        if iri.startswith(f"{BASE}agency/")
        for p in range(1, max(1, -(-total // AGENCY_PAGE)) + 1)
    ]
    concepts = [f"/resource?uri={urllib.parse.quote(c, safe='')}" for c in facts.concepts]
    for pool in (services, agencies, concepts):
        rng.shuffle(pool)
    by_dataset, by_distribution = _deal(datasets, 6, k), _deal(distributions, 6, k)  # rows 0-3 and 4-5
    by_service, by_agency, by_concept = _deal(services, 2, k), _deal(agencies, 4, k), _deal(concepts, 2, k)
    as_json = [c.replace("/resource?", "/resource.json?") for c in by_concept[1]]
    specs = [
        ("dataset", "`/dataset/<id>`, `Accept: text/html`", HTML, by_dataset[0]),
        ("dataset-json", "the same, `Accept: application/json`", JSON, by_dataset[1]),
        ("dataset-ttl", "the same, `Accept: text/turtle`", RDF["ttl"], by_dataset[2]),
        ("dataset-jsonld", "the same, `Accept: application/ld+json`", RDF["jsonld"], by_dataset[3]),
        ("distribution", "`/distribution/<id>-0`", HTML, by_distribution[4]),
        ("distribution-json", "the same, JSON", JSON, by_distribution[5]),
        ("service", "`/service/<id>[?lang=…]`", HTML, by_service[0]),
        ("service-json", "the same, JSON", JSON, by_service[1]),
        ("agency", "`/agency/<id>?page=N[&lang=…]` (its datasets, 50 a page)", HTML, by_agency[0]),
        ("agency-json", "the same, JSON", JSON, by_agency[1]),
        ("agency-ttl", "the same, `Accept: text/turtle` (`page` not read)", RDF["ttl"], by_agency[2]),
        ("agency-jsonld", "the same, `Accept: application/ld+json`", RDF["jsonld"], by_agency[3]),
        ("resource", "`/resource?uri=<EU concept the datasets use>[&lang=…]`", HTML, by_concept[0]),
        ("resource-json", "the same, `/resource.json`", JSON, as_json),
    ]  # fmt: skip
    return [Row(name, what, [(p, accept) for p in paths]) for name, what, accept, paths in specs]


def _published_ids(ids: list[int], n: int, facts: StoreFacts) -> list[int]:
    """``ids`` with each dataset the ingest did not publish (quarantined: its page is a 404)
    replaced by the next published one not drawn yet; no random draw more, so that every other
    row asks for what it asked before."""

    def iri(i: int) -> str:
        return f"{BASE}dataset/{GEN.dataset_id(i)}"

    published = facts.published([iri(i) for i in ids])
    taken, out = set(ids), []
    for i in ids:
        j = i
        if iri(i) not in published:
            j = (i + 1) % n
            while j != i and (j in taken or not facts.published([iri(j)])):
                j = (j + 1) % n
            if j == i:
                continue  # nothing else is published
            taken.add(j)
        out.append(j)
    return out


def _deal(paths: list[str], rows: int, k: int) -> list[list[str]]:
    """``rows`` disjoint lists of up to ``k`` distinct paths each: ``paths`` dealt out in turn, then
    again with ``lang=`` values when they are too few."""
    variants = [
        p + (("&" if "?" in p else "?") + f"lang={lang}" if lang else "") for lang in LANGS for p in paths
    ]
    return [variants[i::rows][:k] for i in range(rows)]


# ---------------------------------------------------------------- aggregate pages


def directory_rows(rng: random.Random, k: int, facts: StoreFacts) -> list[Row]:
    """``/agencies``: a word of the names, alone or with a filter, and the filters alone."""
    words = sorted(
        {w.lower() for name in facts.agency_names for w in name.replace(",", " ").split() if len(w) > 3}
    )
    extras: list[dict[str, str]] = [{}, {"type": "unit"}, {"type": "organisation"}]
    extras += [{"kind": v} for v, _ in facts.agency_facets.get("kind", [])]
    extras += [{"source": v} for v, _ in facts.agency_facets.get("source", [])]
    filters = extras + [{"q": w} | e for w in words for e in extras]
    rows = []
    for suffix, accept in (("", HTML), (".json", JSON)):
        rng.shuffle(filters)
        paths = [f"/agencies{suffix}" + ("?" + urllib.parse.urlencode(f) if f else "") for f in filters[:k]]
        what = "`/agencies?q=<word>&type|kind|source=…`" if not suffix else "the same, `/agencies.json`"
        rows.append(Row("agencies" + ("-json" if suffix else ""), what, [(p, accept) for p in paths]))
    return rows


def quality_rows(rng: random.Random, k: int, facts: StoreFacts) -> list[Row]:
    """``/quality`` of the store, of its first source, and of the agencies: ``page`` and ``qpage``."""
    scopes: list[tuple[str, str, list[str]]] = [("quality", "`/quality?page=N&qpage=M`", [""])]
    sources = [f"source={s}" for s in facts.quality_sources]
    agencies = [a for a in facts.quality_lengths if a.startswith("agency=") and facts.quality_lengths[a][0]]
    scopes.append(("quality-source", "`/quality?source=<name>&page=N&qpage=M`", sources))
    scopes.append(("quality-agency", "`/quality?agency=<IRI>&page=N&qpage=M`", agencies))
    rows = []
    for name, what, keys in scopes:
        keys = [key for key in keys if facts.quality_lengths.get(key, (0, 0))[0]]  # a bulk load has none
        pool = [
            (key, page, qpage)
            for key in keys
            for page in _pages(rng, -(-facts.quality_lengths[key][0] // QUALITY_PAGE), 4 * k)
            for qpage in _pages(rng, -(-facts.quality_lengths[key][1] // QUALITY_PAGE), 3)
        ]
        rng.shuffle(pool)
        for suffix, accept in (("", HTML), (".json", JSON)):
            chosen = pool[:k] if suffix else pool[-k:]
            paths = [f"/quality{suffix}?" + _scoped(key, page, qpage) for key, page, qpage in chosen]
            skipped = "" if keys else "no quality data in this store (a bulk load: use --ingested)"
            twin = (name + "-json", "the same, `/quality.json`") if suffix else (name, what)
            rows.append(Row(*twin, [(p, accept) for p in paths], skipped))
    return rows


def _scoped(key: str, page: int, qpage: int) -> str:
    params = [tuple(key.split("=", 1))] if key else []
    return urllib.parse.urlencode([*params, ("page", page), ("qpage", qpage)])


def _pages(rng: random.Random, last: int, most: int) -> list[int]:
    """Up to ``most`` distinct page numbers of 1..last: the first, the middle and the last, then
    others at random."""
    last = max(1, last)
    ends = list(dict.fromkeys((1, (last + 1) // 2, last)))
    others = [p for p in rng.sample(range(1, last + 1), min(last, most + 3)) if p not in ends]
    return (ends + others)[:most]


def catalog_rows(rng: random.Random, k: int, members: int, page_size: int) -> list[Row]:
    """``/catalog`` pages (the first, the middle and the last among them) in every syntax."""
    last = max(1, -(-members // page_size))
    rows = []
    for fmt, accept in (("html", HTML), ("json", JSON), *RDF.items()):
        pages = _pages(rng, last, k)
        path = "/catalog" if fmt == "html" else f"/catalog.{fmt}"
        what = f"`{path}?page=N` of {last:,} (first, middle, last and others)"
        rows.append(Row(f"catalog-{fmt}", what, [(f"{path}?page={p}", accept) for p in pages]))
    return rows
