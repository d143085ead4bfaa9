"""``/datasets``: full-text search with facets, as a page and as JSON (``/datasets.json`` or Accept).

The work is done by :mod:`kg.search` on the published generation's index;
this module validates parameters (a bad one is a 400 with the shaped error,
never a clamp), shapes the answer and builds the links. Answers carry an ETag
of the store generation and the request, so a client that asks again before
the next ingest gets a 304.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    has_request_context,
    jsonify,
    render_template,
    request,
)

from kg.errors import StoreError
from kg.search.query import SORTS, Query, Result, empty_result, open_index, parse_query
from kg.search.tables import FACETS
from kg.web.cache import etag_for, not_modified
from kg.web.errors import wants_json

blueprint = Blueprint("search_views", __name__)

FACET_NAMES = {
    "theme": "Theme",
    "publisher": "Publisher",
    "format": "Format",
    "licence": "Licence",
    "keyword": "Keyword",
    "language": "Language",
}
SORT_NAMES = {"relevance": "Relevance", "modified": "Last modified", "title": "Title"}
COMBINING = "Facets combine with AND; values ticked within one facet combine with OR."


def page_link(iri: str | None, base: str | None = None) -> str | None:
    """Where the page of a thing is: the path of an IRI minted under the base, else ``/resource?uri=``.

    Only http(s) IRIs get a link (a ``javascript:`` IRI never becomes one); the
    path is used rather than the IRI itself so that links stay on this server
    when it runs elsewhere than at its base (development, tests).
    """
    if not iri or not iri.lower().startswith(("http://", "https://")):
        return None
    base = base or current_app.config["KG_SETTINGS"].base_uri
    root = request.script_root if has_request_context() else ""
    if iri.startswith(base):
        parts = urlsplit(iri)
        return root + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return f"{root}/resource?uri={quote(iri, safe='')}"


@blueprint.route("/datasets")
@blueprint.route("/datasets.json")
def datasets() -> Response:
    """Search the datasets: ``q``, ``sort``, ``page``, ``size`` and one parameter per facet."""
    try:
        query = parse_query(request.args.to_dict(flat=False))
    except ValueError as exc:
        abort(400, description=str(exc))
    as_json = wants_json()
    store = current_app.extensions["kg_store"]
    etag = etag_for(store.version(), "datasets", as_json, sorted(request.args.items(multi=True)))
    cached = not_modified(etag)
    if cached is not None:
        return cached
    try:
        index = open_index(store)
    except StoreError as exc:
        abort(503, description=str(exc))
    result = index.search(query) if index else empty_result(query)
    if query.page > max(1, result.pages):
        abort(404, description=f"there is no page {query.page}: the last page is {max(1, result.pages)}")
    if as_json:
        response = jsonify(to_json(result))
    else:
        body = render_template(
            "datasets.html",
            title=f"Datasets matching “{query.q}”" if query.q else "Datasets",
            result=result,
            query=query,
            facet_names=FACET_NAMES,
            sort_names=SORT_NAMES,
            combining=COMBINING,
            links=links(query, result),
            json_url=search_url(query, suffix=".json"),
            page_link=page_link,
        )
        response = Response(body, mimetype="text/html")
    response.headers["ETag"] = etag
    response.headers["Vary"] = "Accept"
    return response


def to_json(result: Result) -> dict:
    """The JSON twin: the query as understood, the hits, the facet counts and the paging links."""
    query = result.query

    def terms(values) -> list[dict]:
        return [{"iri": v.value, "label": v.label} for v in values]

    return {
        "query": {
            "q": query.q,
            "sort": query.sort,
            "page": query.page,
            "size": query.size,
            "filters": {facet: list(values) for facet, values in query.filters},
            "combining": COMBINING,
        },
        "total": result.total,
        "pages": result.pages,
        "results": [
            {
                "iri": hit.iri,
                "page": page_link(hit.iri),
                "title": hit.title,
                "snippet": hit.snippet_text(),
                "publisher": terms(hit.publishers)[0] if hit.publishers else None,
                "modified": hit.modified or None,
                "formats": terms(hit.formats),
                "themes": terms(hit.themes),
            }
            for hit in result.hits
        ],
        "facets": {
            facet: [
                {"value": v.value, "label": v.label, "count": v.count, "selected": v.selected}
                for v in result.facets[facet]
            ]
            for facet in FACETS
        },
        "links": {name: url for name, url in links(query, result, suffix=".json").items() if url},
    }


def links(query: Query, result: Result, *, suffix: str = "") -> dict[str, str | None]:
    """self, first, prev, next and last, keeping every other parameter as it was."""
    last = max(1, result.pages)
    return {
        "self": search_url(query, suffix=suffix),
        "first": search_url(query, page=1, suffix=suffix),
        "prev": search_url(query, page=query.page - 1, suffix=suffix) if 1 < query.page <= last + 1 else None,
        "next": search_url(query, page=query.page + 1, suffix=suffix) if query.page < last else None,
        "last": search_url(query, page=last, suffix=suffix),
    }


def search_url(query: Query, *, page: int | None = None, suffix: str = "") -> str:
    """The URL of a query, with only the parameters that differ from their defaults."""
    params: list[tuple[str, str | int]] = [("q", query.q)] if query.q else []
    default_sort = "relevance" if query.words() else "modified"
    if query.sort != default_sort and query.sort in SORTS:
        params.append(("sort", query.sort))
    params += [(facet, value) for facet, values in query.filters for value in values]
    if query.size != 20:
        params.append(("size", query.size))
    page = query.page if page is None else page
    if page != 1:
        params.append(("page", page))
    path = f"{request.script_root}/datasets{suffix}"
    return f"{path}?{urlencode(params)}" if params else path
