"""Cutting the triples of an RDF file into records.

RDF needs no field mapping, only cutting into records the validator and the
store can handle one by one: one per dataset, data service, catalogue and
agent, plus one ``other`` record, so that every triple of the file lands in
exactly one record's ``triples`` (nothing is lost, nothing is stored twice).

The cut is made per subject: a record owns its subject, the blank nodes it
reaches (they have no name of their own) and, for a dataset, its
distributions. A blank node two records reach goes to the first (in claim
order: datasets first, then the output order) and shows up in the other's
``context``, which holds the triples of the resources a record points at (one
hop: what a shape checks about a referenced resource).

The triples stay in a :class:`~kg.readers.rdf_table.TripleTable` on disk; a
record leaves it as rows (:class:`~kg.readers.rdf_table.TableRows`), made rdflib
triples where they are used.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from kg.readers.rdf_table import BLANK, LITERAL, Row, TableRows, TripleTable
from kg.records import RdfKind
from kg.vocab import CPOV, DCAT, DCT, FOAF, ORG, RDF, SKOS

AGENT_CLASSES = frozenset(
    {FOAF.Agent, FOAF.Organization, FOAF.Person, ORG.Organization, ORG.FormalOrganization,
     ORG.OrganizationalUnit, CPOV.PublicOrganisation, DCT.Agent}
)  # fmt: skip
# agencies first (the ingest keeps them as its records' context), then catalogues: a catalogue
# listing 100,000 datasets is the biggest record by far, and validated last it kept one worker
# busy after the other had finished
KIND_ORDER: tuple[RdfKind, ...] = ("agency", "catalog", "dataset", "service")
# What the shapes read of a resource that is not the focus node: its classes (sh:class), what
# the nested vocabulary shapes check (sh:node → skos:inScheme) and the inverse path of a dataset
# series' members (^dcat:inSeries); tests/test_readers_rdf_split.py derives it from shapes/.
LISTED_TERMS = (str(RDF.type), str(SKOS.inScheme), str(DCAT.inSeries))
Record = tuple[RdfKind, str, TableRows]


class Splitter:
    """Assigns each subject (with all its triples) to exactly one record."""

    def __init__(self, table: TripleTable) -> None:
        self.table = table
        self.roots = self._roots()
        self.distribution = table.name(str(DCAT.distribution))
        self.listed_by = table.name(str(DCAT.dataset))
        self.described: dict[str, list[Row]] = {}

    def _roots(self) -> dict[str, RdfKind]:
        """The subjects that are records of their own, with their kind."""
        classes = [str(c) for c in (DCAT.Dataset, DCAT.DataService, DCAT.Catalog, *AGENT_CLASSES)]
        types: dict[str, set[str]] = defaultdict(set)
        for subject, cls in self.table.subjects_typed(classes):
            types[subject].add(cls)
        agents = self.table.subjects_among(self.table.objects_of([str(DCT.publisher), str(DCT.creator)]))
        kinds = {node: _kind(types.get(node, set()), node in agents) for node in types.keys() | agents}
        # a blank node that something refers to is part of that thing's description, but a dataset
        # is its own record even as a blank node inside a catalogue
        parts = self.table.referenced(n for n, kind in kinds.items() if kind != "dataset" and n[:2] == "_:")
        return {node: kind for node, kind in kinds.items() if kind and node not in parts}

    def split(self) -> Iterator[Record]:
        """(kind, key, rows) in output order: agency, catalog, dataset, service, other.

        The leading records that reach no blank node own their subject's triples whatever the
        claim order (:meth:`TripleTable.claim_alone`), so they leave before the datasets are
        claimed (~9 s for 100,000): the ingest's workers start on them, the catalogue among them,
        meanwhile.
        """
        ordered = sorted(self.roots, key=lambda n: (KIND_ORDER.index(self.roots[n]), n))
        number = {root: i for i, root in enumerate(ordered)}
        early = 0
        for root in ordered:
            rows = None if self.roots[root] == "dataset" else self.table.claim_alone(root, early)
            if rows is None:
                break
            yield self.roots[root], root, self._describe(rows)
            early += 1
        for root in sorted(ordered[early:], key=lambda n: self.roots[n] != "dataset"):  # datasets first
            self._claim(root, number[root])
        self.table.claimed()
        for i, root in enumerate(ordered[early:], start=early):
            yield self.roots[root], root, self._describe(self.table.record_rows(i))
        rest = self.table.record_rows(None)
        if rest:
            yield "other", "", self._describe(rest)

    def _claim(self, root: str, number: int) -> None:
        """The root, the blank nodes it reaches and (for a dataset) its distributions, not yet owned
        (level by level: one query per level, not per node)."""
        is_dataset = self.roots[root] == "dataset"
        level = {root}
        while level:
            reached = set()
            for s, p, k, o in self.table.claim(level, number):
                if k == LITERAL or o in self.roots:
                    continue
                if k == BLANK or (is_dataset and s == root and p == self.distribution):
                    reached.add(o)
            level = reached

    def _describe(self, rows: list[Row]) -> TableRows:
        """A record's rows, and its context: the rows of the resources it points at.

        A resource it only lists (``dcat:dataset``: a catalogue's datasets) is described by
        :data:`LISTED_TERMS` alone, which is all the shapes read of it from here; its own
        record carries the rest. The whole description would put every dataset of the file
        into the context of its catalogue, and so into one validation batch.
        """
        own = {row[0] for row in rows}
        pointed: set[str] = set()
        listed: set[str] = set()
        for _, p, k, o, _ in rows:
            if k != LITERAL and o not in own:
                (listed if p == self.listed_by else pointed).add(o)
        listed -= pointed
        context = self._descriptions(pointed) + self.table.rows_of(listed, LISTED_TERMS)
        return self.table.rows(rows, context)

    def _descriptions(self, nodes: set[str]) -> list[Row]:
        """The rows of these nodes, remembered (up to 50,000 nodes): the same publisher, theme or
        licence comes back record after record, and most of them are described nowhere in the file."""
        if len(self.described) > 50_000:
            self.described.clear()
        missing = {node for node in nodes if node not in self.described}
        if missing:
            found: dict[str, list[Row]] = {node: [] for node in missing}
            for row in self.table.rows_of(missing):
                found[row[0]].append(row)
            self.described.update(found)
        return [row for node in nodes for row in self.described.get(node, ())]


def _kind(types: set[str], is_agent: bool) -> RdfKind | None:
    if str(DCAT.Dataset) in types:
        return "dataset"
    if str(DCAT.DataService) in types:
        return "service"
    if str(DCAT.Catalog) in types:
        return "catalog"
    if types or is_agent:  # the other watched classes are the agent classes
        return "agency"
    return None
