"""kg.sparql_updates.graphs_written: which graphs an update may change, or None when the text cannot
say (then every derived table is made again, which is always right)."""

from __future__ import annotations

import pytest

from kg.sparql_updates import graphs_written

G, H = "http://kg.test/graph/g", "http://kg.test/graph/h"

CASES = [
    (f"INSERT DATA {{ GRAPH <{G}> {{ <s:1> <p:1> 1 }} }}", (G,)),
    (f"DELETE DATA {{ GRAPH <{G}> {{ <s:1> <p:1> 1 }} GRAPH <{H}> {{ <s:1> <p:1> 2 }} }}", (G, H)),
    ("PREFIX k: <http://kg.test/graph/> INSERT DATA { GRAPH k:g { <s:1> <p:1> 1 } }", (G,)),
    ("INSERT DATA { <s:1> <p:1> 1 }", None),  # the default graph
    (f"DELETE WHERE {{ GRAPH <{G}> {{ ?s ?p ?o }} }}", (G,)),
    ("DELETE WHERE { GRAPH ?g { ?s ?p ?o } }", None),
    (f"WITH <{G}> DELETE {{ ?s ?p ?o }} WHERE {{ GRAPH <{H}> {{ ?s ?p ?o }} }}", (G,)),
    (
        f"DELETE {{ GRAPH <{G}> {{ ?s ?p ?o }} }} INSERT {{ GRAPH <{H}> {{ ?s ?p 1 }} }}"
        " WHERE { ?s ?p ?o }",
        (G, H),
    ),
    ("INSERT { GRAPH ?g { ?s ?p 1 } } WHERE { GRAPH ?g { ?s ?p ?o } }", None),
    (f"DELETE {{ ?s ?p ?o }} WHERE {{ GRAPH <{G}> {{ ?s ?p ?o }} }}", None),  # the default graph
    (f"DELETE {{ GRAPH <{G}> {{ ?s ?p ?o }} }} USING <{H}> WHERE {{ ?s ?p ?o }}", (G,)),
    (f"DROP SILENT GRAPH <{G}> ; CLEAR GRAPH <{H}>", (G, H)),
    (f"CREATE GRAPH <{G}>", (G,)),
    ("CLEAR ALL", None),
    ("DROP NAMED", None),
    ("CLEAR DEFAULT", None),
    (f"ADD <{G}> TO <{H}>", (H,)),
    (f"COPY SILENT GRAPH <{G}> TO GRAPH <{H}>", (H,)),
    (f"MOVE <{G}> TO <{H}>", (G, H)),
    (f"ADD <{G}> TO DEFAULT", None),
    (f"LOAD <http://example.org/x.ttl> INTO GRAPH <{G}>", (G,)),
    ("LOAD <http://example.org/x.ttl>", None),
    ("INSERT DATA { GRAPH <relative> { <s:1> <p:1> 1 } }", None),  # the store's base resolves it
    (
        "PREFIX k: <http://a/> INSERT DATA { GRAPH k:g { <s:1> <p:1> 1 } } ;"
        " PREFIX k: <http://b/> INSERT DATA { GRAPH k:g { <s:1> <p:1> 1 } }",
        ("http://a/g", "http://b/g"),
    ),
    ("INSERT DATA { GRAPH u:g { <s:1> <p:1> 1 } }", None),  # an undeclared prefix
    (f'INSERT DATA {{ GRAPH <{G}> {{ <s:1> <p:1> "GRAPH <{H}> {{ }}" }} }}', (G,)),  # in a literal
    (f"# DROP GRAPH <{H}>\nINSERT DATA {{ GRAPH <{G}> {{ <s:1> <p:1> 1 }} }}", (G,)),  # in a comment
]


@pytest.mark.parametrize(("update", "expected"), CASES)
def test_graphs_an_update_writes(update, expected):
    assert graphs_written(update) == expected


def test_the_default_graph_stands_as_the_graph_given_for_it():
    assert graphs_written("INSERT DATA { <s:1> <p:1> 1 }", default=G) == (G,)
    assert graphs_written(f"CLEAR DEFAULT ; ADD <{H}> TO DEFAULT", default=G) == (G,)
    assert graphs_written("CLEAR ALL", default=G) is None
