"""kg.mapping.repairs: the safe repairs before validation, each with its note, and values left out after it.

Every case is a triple as real catalogues write it (the files of ../shared/data/real-portals have
each of them) and what the record holds after the repair; every repair leaves a note with the
original value, its rule and the new value. A record that needs no repair is left as it is.
"""

from __future__ import annotations

import pytest
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF, RDFS

from kg.mapping.left_out import without_invalid_values
from kg.mapping.mapped import MappedRecord
from kg.mapping.repairs import LEFT_OUT, REPAIR, repair_kind, repair_record
from kg.mapping.value_repairs import read_date
from kg.records import Origin
from kg.validation.report import Finding
from kg.vocab import ADMS, DCAT, DCT, FOAF, VCARD, XSD

EU = "http://publications.europa.eu/resource/authority/"
DS = URIRef("http://data.example/dataset/1")
DIST = URIRef("http://data.example/distribution/1")


def record(*triples) -> MappedRecord:
    base = [(DS, RDF.type, DCAT.Dataset), (DS, DCAT.distribution, DIST), (DIST, RDF.type, DCAT.Distribution)]
    return MappedRecord(str(DS), "dataset", Origin("test.ttl", record=0), "test", base + list(triples))


def repaired(*triples) -> MappedRecord:
    m = record(*triples)
    repair_record(m)
    return m


CASES = {
    # name: (triple as published, what the record holds instead (None: nothing), rule kind)
    "language literal holding the EU IRI": (
        (DS, DCT.language, Literal(EU + "language/DEU")),
        (DS, DCT.language, URIRef(EU + "language/DEU")),
        "language",
    ),
    "retired language code": (
        (DS, DCT.language, URIRef(EU + "language/GER")),
        (DS, DCT.language, URIRef(EU + "language/DEU")),
        "language",
    ),
    "language code as text": (
        (DS, DCT.language, Literal("de")),
        (DS, DCT.language, URIRef(EU + "language/DEU")),
        "language",
    ),
    "ISO 639-1 IRI of the Library of Congress": (
        (DS, DCT.language, URIRef("http://id.loc.gov/vocabulary/iso639-1/sv")),
        (DS, DCT.language, URIRef(EU + "language/SWE")),
        "language",
    ),
    "access URL as text": (
        (DIST, DCAT.accessURL, Literal("https://data.example/file.csv")),
        (DIST, DCAT.accessURL, URIRef("https://data.example/file.csv")),
        "link",
    ),
    "format as text": (
        (DIST, DCT["format"], Literal("CSV")),
        (DIST, DCT["format"], URIRef(EU + "file-type/CSV")),
        "file-type",
    ),
    "retired file-type code": (
        (DIST, DCT["format"], URIRef(EU + "file-type/WFS")),
        (DIST, DCT["format"], URIRef(EU + "file-type/WFS_SRVC")),
        "file-type",
    ),
    "media type as a format": (
        (DIST, DCT["format"], URIRef("https://www.iana.org/assignments/media-types/text/csv")),
        (DIST, DCT["format"], URIRef(EU + "file-type/CSV")),
        "file-type",
    ),
    "media type as text": (
        (DIST, DCAT.mediaType, Literal("text/csv")),
        (DIST, DCAT.mediaType, URIRef("https://www.iana.org/assignments/media-types/text/csv")),
        "media-type",
    ),
    "access right as text": (
        (DS, DCT.accessRights, Literal("public")),
        (DS, DCT.accessRights, URIRef(EU + "access-right/PUBLIC")),
        "access-right",
    ),
    "ADMS status of a distribution": (
        (DIST, ADMS.status, URIRef("http://purl.org/adms/status/Completed")),
        (DIST, ADMS.status, URIRef(EU + "distribution-status/COMPLETED")),
        "distribution-status",
    ),
    "frequency of the Dublin Core collection vocabulary": (
        (DS, DCT.accrualPeriodicity, URIRef("http://purl.org/cld/freq/daily")),
        (DS, DCT.accrualPeriodicity, URIRef(EU + "frequency/DAILY")),
        "frequency",
    ),
    "https form of an EU concept": (
        (DS, DCAT.theme, URIRef("https://publications.europa.eu/resource/authority/data-theme/ENVI")),
        None,
        None,
    ),
    "decimal byte size": (
        (DIST, DCAT.byteSize, Literal("43008.0", datatype=XSD.decimal)),
        (DIST, DCAT.byteSize, Literal("43008", datatype=XSD.nonNegativeInteger)),
        "byte-size",
    ),
    "date typed xsd:date holding a time": (
        # as pyoxigraph reads it (rdflib would make it the date alone, silently)
        (DS, DCT.issued, Literal("2022-03-22T08:51:36", datatype=XSD.date, normalize=False)),
        (DS, DCT.issued, Literal("2022-03-22T08:51:36", datatype=XSD.dateTime)),
        "date",
    ),
    "date-time with GMT between date and time": (
        (DS, DCT.modified, Literal("2021-01-28 GMT 01:51:03.34919300")),
        (DS, DCT.modified, Literal("2021-01-28T01:51:03.349193+00:00", datatype=XSD.dateTime)),
        "date",
    ),
    "date as plain text": (
        (DS, DCT.issued, Literal("2014-09-25")),
        (DS, DCT.issued, Literal("2014-09-25", datatype=XSD.date)),
        "date",
    ),
    "two e-mail addresses in one mailto: IRI": (
        (BNode("c"), VCARD.hasEmail, URIRef("mailto:a@example.org, b@example.org")),
        (BNode("c"), VCARD.hasEmail, URIRef("mailto:b@example.org")),
        "email",
    ),
    "e-mail as text": (
        (BNode("c"), VCARD.hasEmail, Literal("desk@example.org")),
        (BNode("c"), VCARD.hasEmail, URIRef("mailto:desk@example.org")),
        "email",
    ),
    "lone surrogate": (
        (DS, DCT.description, Literal("caf\udc92 data", lang="en")),
        (DS, DCT.description, Literal("caf\ufffd data", lang="en")),
        "character",
    ),
    "IRI with a space": (
        (DS, DCAT.landingPage, URIRef("http://data.example/a page")),
        (DS, DCAT.landingPage, URIRef("http://data.example/a%20page")),
        "iri-encoding",
    ),
    "identifier as an IRI": (
        (DS, DCT.identifier, URIRef("http://data.example/id/1")),
        (DS, DCT.identifier, Literal("http://data.example/id/1")),
        "identifier",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_mechanically_broken_value_is_repaired_with_a_note(case: str) -> None:
    before, after, kind = CASES[case]
    m = repaired(before)
    if after is None:  # the https form: matched by the table's own matcher, or kept
        assert before in m.triples or any(t[1] == before[1] for t in m.triples)
        return
    assert after in m.triples, m.triples
    assert before not in m.triples
    notes = [n for n in m.notes if n.rule == REPAIR + kind]
    assert len(notes) == 1, m.notes
    note = notes[0]
    assert note.focus == str(before[0]) and note.path == str(before[1])
    assert str(before[2]) in note.value or note.value.strip('"').startswith(str(before[2])[:10])
    assert "→" in note.message


def test_a_repaired_link_gets_the_class_its_property_entails() -> None:
    m = repaired((DS, DCAT.landingPage, Literal("https://data.example/about")))
    assert (URIRef("https://data.example/about"), RDF.type, FOAF.Document) in m.triples


def test_text_where_a_statement_belongs_becomes_a_described_statement() -> None:
    m = repaired((DIST, DCT.rights, Literal("License Not Specified")))
    (node,) = [o for s, p, o in m.triples if s == DIST and p == DCT.rights]
    assert (node, RDF.type, DCT.RightsStatement) in m.triples
    assert (node, RDFS.label, Literal("License Not Specified")) in m.triples
    assert [n.rule for n in m.notes] == [REPAIR + "statement"]


@pytest.mark.parametrize(
    ("triple", "kind"),
    [
        ((DS, DCT.modified, Literal("R/P1D")), "date"),
        ((DS, DCT.issued, Literal("", datatype=XSD.date)), "date"),
        ((DS, DCT.temporal, Literal("2019-2020, 2020-2021")), None),
        ((DS, DCT.issued, Literal("04-08-2021")), "date"),
        ((DIST, DCAT.byteSize, Literal("12 kB")), "byte-size"),
        ((BNode("c"), VCARD.hasEmail, URIRef("mailto:")), "email"),
        ((BNode("c"), VCARD.hasEmail, URIRef("mailto:{{orgContactEmail}}")), "email"),
    ],
)
def test_a_value_no_rule_can_read_is_left_out_and_kept_in_a_note(triple, kind) -> None:
    m = repaired(triple)
    if kind is None:  # not a date property: left for validation to judge
        assert triple in m.triples and not m.notes
        return
    assert triple not in m.triples
    (note,) = m.notes
    assert note.rule == LEFT_OUT + kind and note.message.startswith("left out of the published record")
    assert note.value == str(triple[2])  # the original value, nothing lost (the empty text too)


def test_a_record_that_needs_nothing_is_left_as_it_is() -> None:
    triples = [
        (DS, DCT.title, Literal("Air", lang="en")),
        (DS, DCT.language, URIRef(EU + "language/ENG")),
        (DS, DCT.issued, Literal("2024-01-15", datatype=XSD.date)),
        (DS, DCT.modified, Literal("2024-06-01T10:00:00Z", datatype=XSD.dateTime)),
        (DIST, DCAT.accessURL, URIRef("https://data.example/air.csv")),
        (DIST, DCT["format"], URIRef(EU + "file-type/CSV")),
        (DIST, DCAT.byteSize, Literal("12", datatype=XSD.nonNegativeInteger)),
    ]
    m = repaired(*triples)
    assert m.triples == record(*triples).triples and not m.notes


def test_repairs_are_idempotent() -> None:
    m = repaired(*(before for before, _, _ in CASES.values()))
    again = MappedRecord(m.key, m.kind, m.origin, m.label, list(m.triples))
    repair_record(again)
    assert again.triples == m.triples and not again.notes


def test_the_record_s_own_iri_is_never_changed() -> None:
    key = URIRef("http://data.example/dataset/with space")
    m = MappedRecord(str(key), "dataset", Origin("t", record=0), "t", [(key, DCT.title, Literal("x"))])
    repair_record(m)
    assert m.triples == [(key, DCT.title, Literal("x"))] and not m.notes


def test_dates_are_read_only_when_they_read_one_way() -> None:
    assert str(read_date("30/12/2019")) == "2019-12-30"
    assert str(read_date("12/30/2019")) == "2019-12-30"
    assert read_date("05/01/2013") is None and read_date("5/1/13 0:00") is None
    assert read_date("2024-02-30") is None and read_date("2019-2020") is None
    assert read_date("2021").datatype == XSD.gYear


def test_every_rule_says_what_it_does() -> None:
    assert repair_kind(REPAIR + "language").startswith("language")
    assert repair_kind(LEFT_OUT + "value").startswith("left out:")


# ---------------------------------------------------------------- after validation


def _violation(focus, path, value, message="must be something else") -> Finding:
    return Finding(
        "violation", str(focus), str(path), message, "https://w3id.org/agency-kg/shapes#x", str(value)
    )


def test_an_invalid_optional_value_is_left_out_with_what_it_described() -> None:
    theme = BNode("t")
    m = record(
        (DS, DCAT.theme, theme),
        (theme, RDFS.label, Literal("sports")),
        (DS, DCT.title, Literal("Air")),
    )
    less = without_invalid_values(m, [_violation(DS, DCAT.theme, theme)])
    assert less is not None
    assert (DS, DCAT.theme, theme) not in less.triples and (
        theme,
        RDFS.label,
        Literal("sports"),
    ) not in less.triples
    assert (DS, DCT.title, Literal("Air")) in less.triples
    assert m.triples != less.triples  # the record itself is untouched: quarantined as it came if need be
    rules = [n.rule for n in less.notes]
    assert rules == [LEFT_OUT + "value", LEFT_OUT + "value"]
    assert "sports" in less.notes[1].value  # the description left out with it, as N-Triples


def test_a_violation_without_a_value_leaves_nothing_out() -> None:
    missing = Finding("violation", str(DS), str(DCT.title), "needs a title", "x", "")
    assert without_invalid_values(record(), [missing]) is None
    elsewhere = _violation(URIRef("http://elsewhere.example/x"), DCT.title, "t")
    assert without_invalid_values(record(), [elsewhere]) is None
