"""Labels of what no page is about (classes, predicates, EU concepts, web addresses), kept per store
generation (:class:`kg.terms.LabelCache`): the pages are those without it, fewer IRIs are asked of
the store, and a new generation's labels are read again. A real store (the bundled sample), the
Flask test client in-process, every label query counted by a thin wrapper of the app's page store.
"""

from __future__ import annotations

import re

from conftest import Counting

from kg.factory import store_for
from kg.web.app import build_app

JSON = {"Accept": "application/json"}
PAGES = ["/agency/nta", "/dataset/nta-rail-punctuality", "/agency/mei", "/dataset/vea-air-no2-hourly"]
CONCEPT = "http://publications.europa.eu/resource/authority/data-theme/TRAN"


def label_iris(queries: list[str]) -> int:
    """IRIs the label queries looked up (each VALUES block's, once per block)."""
    found = 0
    for sparql in queries:
        if sparql.startswith("SELECT ?x ?p ?l"):
            found += sum(
                len(re.findall(r"<[^>]+>", v)) for v in re.findall(r"VALUES \?x \{([^}]*)\}", sparql)
            )
    return found


def client_of(settings, cached: bool):
    app = build_app(settings)
    counter = app.extensions["kg_pages"] = Counting(app.extensions["kg_pages"])
    if not cached:
        app.extensions["kg_labels"].size = 0  # nothing kept
    return app.test_client(), counter


def test_pages_are_the_same_and_ask_for_fewer_labels(seeded) -> None:
    with_cache, counter = client_of(seeded, cached=True)
    without, plain = client_of(seeded, cached=False)
    for path in PAGES:
        assert with_cache.get(path, headers=JSON).get_json() == without.get(path, headers=JSON).get_json(), (
            path
        )
    for lang in ("fr", "de"):  # the same pages again for other readers: the cache's labels, ranked anew
        for path in PAGES:
            counter.queries.clear()
            plain.queries.clear()
            one = with_cache.get(f"{path}?lang={lang}", headers=JSON).get_json()
            assert one == without.get(f"{path}?lang={lang}", headers=JSON).get_json(), (path, lang)
            assert label_iris(counter.queries) < label_iris(plain.queries) / 2, (path, lang)


def test_a_new_generation_is_read_again(seeded) -> None:
    client, _ = client_of(seeded, cached=True)
    page = client.get(PAGES[1], headers=JSON).get_json()
    assert any(t["iri"] == CONCEPT and t["label"] == "Transport" for t in page["themes"])
    store = store_for(seeded)
    label = '"Transport and mobility"@en'
    store.update(f"""DELETE {{ GRAPH ?g {{ <{CONCEPT}> ?p ?l }} }}
        INSERT {{ GRAPH ?g {{ <{CONCEPT}> ?p {label} }} }}
        WHERE {{ GRAPH ?g {{ <{CONCEPT}> ?p ?l FILTER(lang(?l) = "en") }} }}""")
    page = client.get(PAGES[1], headers=JSON).get_json()
    assert any(t["iri"] == CONCEPT and t["label"] == "Transport and mobility" for t in page["themes"])
