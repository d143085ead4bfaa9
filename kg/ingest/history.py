"""Each ingest's part of the records' history (:mod:`kg.history`): the source's history file brought
forward, and the PROV-O of what the run added, changed and removed, in the provenance graph.

Why beside :mod:`kg.ingest.memo` and not in it: the memo decides what to map again (by digest, under
a recipe); the history says what changed for readers, over every run and kept when a record goes.
It is fed by the memo's classification (this run's records file and digests) and the last run's
records file, and written inside the store's write, so that its time is taken under the write lock
and it is published with the graphs or not at all.

The PROV-O shape: each run is a ``prov:Activity`` (:func:`kg.ingest.provenance.run_ntriples`);
each version of a record is a ``prov:Entity``, ``prov:specializationOf`` the record's IRI,
``prov:wasGeneratedBy`` the run that saw it new or changed, at ``prov:generatedAtTime``; a
changed record's new version ``prov:wasRevisionOf`` the one before, which (like the version of a
removed record) gets ``prov:wasInvalidatedBy`` the run and ``prov:invalidatedAtTime``.

A changed digest whose triples are the same (the record's publisher changed, not the record) is
no change to the record: its digest is kept, nothing else. An RDF source's records (mapped whole,
no memo) are given by the run (:class:`RdfVersions`: a canonical hash of each); runs that keep no
results (reuse off, a remote store) have no history: their file is left as it was.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from kg.factory import store_for
from kg.history import LAYOUT, NEW_COLUMNS, RECORD_INDEX, SCHEMA, history_name, stamp
from kg.ingest.memo import Changes, Memo
from kg.ingest.records_file import kept_records, results_of
from kg.iris import Minter, record_key
from kg.mapping.ntriples import nt_iri
from kg.settings import Settings
from kg.store.next_generation import FILES
from kg.store.results import canonical_ntriples, without_blank_labels
from kg.vocab import PROV, RDF, XSD


class RdfVersions:
    """An RDF source's records as the history sees them (its memo keeps none: RDF is mapped whole).

    A record is what the ingest attributes to a dcat:Dataset, dcat:DataService, catalogue or agent
    of the file: the triples its mapping made of the resource and what hangs off it (blank nodes,
    its distributions). Its digest is a SHA-256 of those lines in canonical form
    (:func:`kg.store.results.canonical_ntriples`: RDFC-1.0), so that a file written again with other
    blank node labels changes nothing, and any other difference is a change; its *parts*, a hash
    per predicate of its lines with the blank nodes' labels left out, say which predicates changed.
    A record whose subject is a blank node has no name from one run to the next, nor an IRI to
    follow: it has no history.
    """

    def __init__(self) -> None:
        self.present: dict[str, tuple[str, bytes, str, int]] = {}  # as _present: IRI, digest, kind, published
        self.parts: dict[str, str] = {}

    def add(self, key: str, kind: str, published: bool, lines: str) -> None:
        if not key.startswith(("http://", "https://")):
            return
        ident = f"RdfRecord:{key}"  # kg.ingest.digests.identity of its RdfRecord
        canonical = canonical_ntriples(lines)
        digest = hashlib.sha256("\n".join(canonical).encode("utf-8")).digest()
        self.present[ident] = (key, digest, kind, int(published))
        by_predicate: dict[str, list[str]] = {}
        for line in sorted(without_blank_labels(line) for line in canonical):
            by_predicate.setdefault(_predicate(line), []).append(line)
        self.parts[ident] = json.dumps(
            {
                p: hashlib.sha1("\n".join(ls).encode("utf-8")).hexdigest()[:16]
                for p, ls in by_predicate.items()
            },
            sort_keys=True,
        )

    def what_changed(self, old_parts: dict[str, str], idents: list[str]) -> dict[str, dict]:
        """For each of ``idents`` (a new digest: its canonical triples differ, so it changed): the
        predicates whose lines were added, removed or changed, from the parts the history kept of
        the last version ({}: not known, or a change only among its blank nodes' links)."""
        found: dict[str, dict] = {}
        for ident in idents:
            before, after = json.loads(old_parts.get(ident) or "{}"), json.loads(self.parts[ident])
            if not before or before == after:
                found[ident] = {}
            else:
                found[ident] = {
                    "added": sorted(set(after) - set(before)),
                    "removed": sorted(set(before) - set(after)),
                    "changed": sorted(p for p in set(before) & set(after) if before[p] != after[p]),
                }
        return found


def keep_history(  # noqa: ANN001 - writer: kg.store.writer.Writer
    writer,
    settings: Settings,
    name: str,
    memo: Memo | None,
    run: str,
    scratch: Path,
    rdf: RdfVersions | None = None,
) -> Changes | None:
    """Inside the write of a source (``writer``, :meth:`kg.store.writer.Writer`): its history file
    brought forward with this run (``memo``, finished; None: removed from the store, every record
    gone; an RDF source's records in ``rdf``), and the PROV-O of the changes into the provenance
    graph; ``scratch``: a folder that outlives the write (the file is moved from there when the
    generation is published).

    Returns an RDF source's counts against the last run, as the history found them (its memo keeps
    no records to count: :meth:`kg.ingest.memo.Memo.finish` gives None), else None."""
    if memo is not None and memo.opaque and rdf is None:
        return None
    folder = store_for(settings).folder()  # the write lock is held: no newer generation can come
    files = folder / FILES if folder is not None else None
    previous = files / history_name(name) if files is not None else None
    old_records = files / f"{name}.sqlite" if files is not None else None
    target = scratch / "history.db"
    seen = memo.seen if memo is not None else {}
    new_records = memo.target if memo is not None else None
    if memo is not None and memo.opaque:
        seen, new_records = dict.fromkeys(rdf.present, b""), None
    else:
        rdf = None  # not an RDF source: its records are in its memo
    kept = memo.kept if memo is not None and rdf is None else None
    lines = update_history(
        previous, target, old_records, new_records, seen, run, datetime.now(UTC), rdf, present=kept
    )
    writer.put_file(history_name(name), target)
    writer.load_text(lines, graph=Minter(settings.base_uri).provenance_graph())
    return run_counts(target, run, mapped=len(rdf.present)) if rdf is not None else None


def run_counts(path: Path, run: str, *, mapped: int) -> Changes:
    """The records a history file says ``run`` added (new, or back after a removal), changed and
    removed, and the others it holds as present (unchanged); ``mapped``: records mapped by the run."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        added, changed, removed, present = db.execute(
            "SELECT sum(added_run = ?1), sum(changed_run = ?1 AND added_run != ?1), sum(removed_run = ?1),"
            " sum(removed IS NULL) FROM records",
            (run,),
        ).fetchone()
    finally:
        db.close()
    added, changed, removed, present = (n or 0 for n in (added, changed, removed, present))
    return Changes(added, changed, removed, present - added - changed, mapped=mapped)


def update_history(
    previous: Path | None,
    target: Path,
    old_records: Path | None,
    new_records: Path | None,
    seen: dict[str, bytes],
    run: str,
    now: datetime,
    rdf: RdfVersions | None = None,
    *,
    present: dict[str, tuple[str, bytes, str, int]] | None = None,
) -> str:
    """Write ``target``: ``previous`` (or a new history) with this run's records, and return the
    PROV-O N-Triples of what changed.

    :param old_records: the last run's memo file; ``new_records``: this run's (None: no record now).
    :param present: what ``new_records`` keeps of each record, when the caller has it
        (:attr:`kg.ingest.memo.Memo.kept`), so that the file is not read for it.
    :param seen: every record this run read, by identity, with its digest (a record not in
        ``new_records``, whose result was not kept, is neither changed nor removed).
    :param rdf: an RDF source's records (then ``new_records`` is None).
    """
    db = _start(previous, target)
    when = stamp(now)
    prov = _Prov(run, when)
    if present is None:
        present = rdf.present if rdf is not None else _present(new_records)
    parts = rdf.parts if rdf is not None else {}
    query = "SELECT ident, iri, digest, removed, version, published, parts FROM records"
    rows = {r[0]: r[1:] for r in db.execute(query)}
    differing = [i for i, p in present.items() if i in rows and rows[i][2] is None and rows[i][1] != p[1]]
    if rdf is not None:
        what = rdf.what_changed({i: rows[i][5] for i in differing}, differing)
    else:
        what = _what_changed(old_records, new_records, differing)
    for ident, (iri, digest, kind, published) in present.items():
        old, mine = rows.get(ident), parts.get(ident, "{}")
        if old is None:
            version = prov.generated(ident, iri)
            row = (
                ident,
                iri,
                kind,
                digest,
                when,
                when,
                run,
                when,
                run,
                version,
                published,
                record_key(iri),
                mine,
            )
            db.execute(_INSERT, row)
        elif old[2] is not None:  # back after a removal
            version = prov.generated(ident, iri)
            row = (iri, record_key(iri), kind, digest, when, run, when, run, version, published, mine, ident)
            db.execute(_BACK, row)
        elif what.get(ident) is not None:
            version = prov.generated(ident, iri, revision_of=old[3])
            changes = json.dumps(what[ident])
            row = (iri, record_key(iri), kind, digest, when, run, version, changes, published, mine, ident)
            db.execute(_CHANGED, row)
        elif (iri, digest, published) != (old[0], old[1], old[4]):  # same triples; new digest or verdict
            db.execute(_SAME, (iri, record_key(iri), kind, digest, published, mine, ident))
    for ident, (_, _, removed, version, _, _) in rows.items():
        if removed is None and ident not in seen:
            prov.invalidated(version)
            db.execute(_REMOVED, (when, run, ident))
    db.commit()
    db.close()
    return "".join(prov.lines)


_INSERT = "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, '{}', ?, ?, ?)"
_BACK = """UPDATE records SET iri = ?, record = ?, kind = ?, digest = ?, added = ?, added_run = ?,
    changed = ?, changed_run = ?, version = ?, removed = NULL, removed_run = NULL, what = '{}',
    published = ?, parts = ? WHERE ident = ?"""
_CHANGED = """UPDATE records SET iri = ?, record = ?, kind = ?, digest = ?, changed = ?, changed_run = ?,
    version = ?, what = ?, published = ?, parts = ? WHERE ident = ?"""
_SAME = """UPDATE records SET iri = ?, record = ?, kind = ?, digest = ?, published = ?, parts = ?
    WHERE ident = ?"""
_REMOVED = "UPDATE records SET removed = ?, removed_run = ? WHERE ident = ?"


def _start(previous: Path | None, target: Path) -> sqlite3.Connection:
    """The last history copied to ``target`` (a generation's files are never written in place), or a
    new one when there is none or it is of an unknown layout; one of layout 1 is brought to 2."""
    if previous is not None and previous.is_file():
        shutil.copyfile(previous, target)
        db = sqlite3.connect(target)
        try:
            layout = dict(db.execute("SELECT name, value FROM meta")).get("layout")
            if layout == "1":
                _with_record_keys(db)
                layout = LAYOUT
            if layout == LAYOUT:
                return db
        except sqlite3.Error:
            pass
        db.close()
        target.unlink()
    db = sqlite3.connect(target)
    db.executescript(SCHEMA)
    db.execute("INSERT INTO meta VALUES ('layout', ?)", (LAYOUT,))
    return db


def _with_record_keys(db: sqlite3.Connection) -> None:
    """Layout 1 to 2: each record's catalogue record key beside its IRI (its history kept whole)."""
    db.create_function("record_key", 1, record_key, deterministic=True)
    for column in NEW_COLUMNS:
        db.execute(f"ALTER TABLE records ADD COLUMN {column}")
    db.execute("UPDATE records SET record = record_key(iri)")
    db.execute(RECORD_INDEX)
    db.execute("UPDATE meta SET value = ? WHERE name = 'layout'", (LAYOUT,))


def _present(records: Path | None) -> dict[str, tuple[str, bytes, str, int]]:
    """This run's kept records (identity -> IRI, digest, kind, whether published), from its memo file."""
    return kept_records(records) if records is not None else {}


def _what_changed(old: Path | None, new: Path | None, idents: list[str]) -> dict[str, dict | None]:
    """For each of ``idents``: the predicates of its triples added, removed and changed between the
    last run's result and this one's (None: the same triples), blank nodes' labels left out."""
    if not idents or old is None or new is None or not old.is_file():
        return {i: {} for i in idents}
    before, after = _lines(old, idents), _lines(new, idents)
    found: dict[str, dict | None] = {}
    for ident in idents:
        a, b = before.get(ident), after.get(ident)
        if a is None or b is None:
            found[ident] = {}
        elif a == b:
            found[ident] = None
        else:
            gone, came = {_predicate(x) for x in a - b}, {_predicate(x) for x in b - a}
            found[ident] = {
                "added": sorted(came - gone),
                "removed": sorted(gone - came),
                "changed": sorted(came & gone),
            }
    return found


def _lines(records: Path, idents: Iterable[str]) -> dict[str, frozenset[str]]:
    """The N-Triples lines of each record's kept result, blank nodes' labels made one."""
    return {
        ident: frozenset(without_blank_labels(line) for line in result[2][0].splitlines())  # its triples
        for ident, result in results_of(records, idents)
    }


def _predicate(line: str) -> str:
    return line.split(" ", 2)[1].strip("<>")


class _Prov:
    """The PROV-O N-Triples of one run's changes (see the module docstring)."""

    def __init__(self, run: str, when: str) -> None:
        self.run = nt_iri(run)
        self.run_iri = run
        self.when = f'"{when}"^^{nt_iri(str(XSD.dateTime))}'
        self.lines: list[str] = []

    def generated(self, ident: str, iri: str, revision_of: str | None = None) -> str:
        """A new version of the record ``ident``: its IRI, for the history to keep."""
        version = f"{self.run_iri}/{hashlib.sha1(ident.encode()).hexdigest()[:16]}"
        v = nt_iri(version)
        self.lines += [
            f"{v} {_TYPE} {_ENTITY} .\n",
            f"{v} {_GENERATED_BY} {self.run} .\n",
            f"{v} {_GENERATED_AT} {self.when} .\n",
        ]
        if iri.startswith(("http://", "https://")):  # every record with a history has one
            self.lines.append(f"{v} {_SPECIALIZATION_OF} {nt_iri(iri)} .\n")
        if revision_of:
            self.lines.append(f"{v} {_REVISION_OF} {nt_iri(revision_of)} .\n")
            self.invalidated(revision_of)
        return version

    def invalidated(self, version: str) -> None:
        v = nt_iri(version)
        self.lines += [f"{v} {_INVALIDATED_BY} {self.run} .\n", f"{v} {_INVALIDATED_AT} {self.when} .\n"]


_TYPE, _ENTITY, _GENERATED_BY, _GENERATED_AT, _SPECIALIZATION_OF = map(
    nt_iri, (RDF.type, PROV.Entity, PROV.wasGeneratedBy, PROV.generatedAtTime, PROV.specializationOf)
)
_REVISION_OF, _INVALIDATED_BY, _INVALIDATED_AT = map(
    nt_iri, (PROV.wasRevisionOf, PROV.wasInvalidatedBy, PROV.invalidatedAtTime)
)
