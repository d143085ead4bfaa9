"""Read a US Project Open Data ``data.json``: metadata schema 1.1 ("DCAT-US") and 1.0.

Every US federal agency publishes one. Three shapes are found in the wild, told apart by
:func:`kg.readers.detect.data_json_shape` (format detection asks the same function): the 1.1 catalogue
object with a ``dataset`` array; the bare array of dataset objects of schema 1.0 (2013); one
dataset object with no catalogue around it, read as a catalogue of one dataset (record 0).

Files stray from the schema (a keyword given as a string, a single distribution object,
identifiers with leading spaces), so every field is read by shape, not by type, and anything
without a DCAT-AP home is kept as text in ``DatasetRecord.extra``. Schema 1.0 fields are read
into the record fields of their 1.1 successors: ``person`` or a plain-string ``contactPoint``
and ``mbox`` are the contact point, ``dataDictionary`` is ``describedBy``, ``keyword`` is one
comma-separated string, and ``accessURL``/``webService`` on the dataset itself are
distributions of their own; a dataset-level ``format`` is the format of the distributions that
give none. Values are interpreted by the mapper, as for 1.1 ("Public", "Quaterly", "5/1/13").

Publishers are nested objects (``subOrganizationOf``) with no identifier, so an
agency's key is its name; each level is yielded once per file, the outermost
first, before the first dataset that uses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from kg.errors import InputError
from kg.readers import json_stream
from kg.readers.detect import SNIFFED_KEYS, DataJsonShape, data_json_shape
from kg.readers.text import as_text, as_texts, clean_text, repairs_since, replaced_count, text_repairs
from kg.records import AgencyRecord, Contact, DatasetRecord, DistributionRecord, Origin, Record

# dataset fields read into the record (everything else goes to ``extra``); schema 1.0 fields
# that may go unused (``person`` beside a contactPoint, a ``format`` no distribution takes) are
# added per dataset when they are read
_KNOWN_FIELDS = """
    @type identifier title description keyword modified issued publisher contactPoint distribution
    accessLevel license spatial temporal accrualPeriodicity theme language landingPage isPartOf
    references conformsTo describedBy dataDictionary accessURL downloadURL webService
"""
_KNOWN = frozenset(_KNOWN_FIELDS.split())
_MAX_PUBLISHER_DEPTH = 20  # a guard against pathological nesting, far above real hierarchies
_ARRAYS = (("dataset",), ())  # where the datasets are: a catalogue's "dataset", or the file itself
_EXPECTED = (
    'expected an object with a "dataset" array (a catalogue), an array of dataset objects '
    '(schema 1.0) or one dataset object (with "title" and "identifier", "distribution" or "accessLevel")'
)


def read_data_json(path: str | Path, *, outline: Any = None) -> Iterator[Record]:
    """Agencies (publisher chains) and datasets of a data.json file, in file order.

    The file is read twice, one dataset at a time (:mod:`kg.readers.json_stream`): a first pass
    checks that it is JSON of a data.json shape, so that a broken file fails before any record
    (``outline``: that pass's result, when format detection made it); the second yields the
    records. Why: the parsed document is several times the file (648 MB for the 100,000-dataset
    file of 149 MB). A file of one dataset object is small: the first pass gives it whole.
    """
    file = str(path)
    if outline is None:
        outline = json_stream.outline(path, arrays=_ARRAYS, keep=SNIFFED_KEYS)
    found = _datasets(outline, _check_shape(outline, file))
    if isinstance(found, json_stream.Streamed):
        return _records(json_stream.items(path, found.route), file)
    return _records(found, file)


def data_json_records(doc: Any, file: str) -> Iterator[Record]:
    """The records of an already parsed data.json document (``file`` names it in errors)."""
    return _records(_datasets(doc, _check_shape(doc, file)), file)


def _datasets(doc: Any, shape: DataJsonShape) -> list:
    """The dataset items of a document of that shape (stand-ins, in an outline's arrays)."""
    if shape == "dataset":
        return [doc]
    return doc["dataset"] if shape == "catalogue" else doc


def _check_shape(doc: Any, file: str) -> DataJsonShape:
    """The document's shape; every dataset item an object (checked on the outline's stand-ins)."""
    shape = data_json_shape(doc)
    if shape is None:
        record = 0 if isinstance(doc, dict) else None  # a single object: the record it would be
        raise InputError(
            f"not a data.json catalogue: {_EXPECTED}, found {_found(doc)}", file=file, record=record
        )
    for index, item in enumerate(_datasets(doc, shape)):
        if not isinstance(item, dict):
            raise InputError(_not_an_object(item), file=file, record=index)
    return shape


def _found(doc: Any) -> str:
    if isinstance(doc, dict):
        return f"an object with keys {sorted(doc)[:8]}"
    if not isinstance(doc, list):
        return type(doc).__name__
    if not doc:
        return "an empty array"
    if any(isinstance(x, dict) and "resources" in x for x in doc):
        return "an array of CKAN packages (--format ckan)"
    if any(isinstance(x, dict) and any(k.startswith("@") for k in x) for x in doc):
        return "an array of JSON-LD nodes (--format jsonld)"
    return "an array with no dataset object in it"


def _not_an_object(item: Any) -> str:
    return f"a dataset must be a JSON object, found {type(item).__name__}"


def _records(datasets: Iterable[Any], file: str) -> Iterator[Record]:
    """The records of the dataset items, read one at a time."""
    seen_agencies: set[str] = set()
    for index, item in enumerate(datasets):
        origin = Origin(file, record=index)
        if not isinstance(item, dict):
            raise InputError(_not_an_object(item), file=file, record=index)
        mark = replaced_count()
        agencies = publisher_chain(item.get("publisher"), Origin(file, record=index, field="publisher"))
        for agency in agencies:
            if agency.key not in seen_agencies:
                seen_agencies.add(agency.key)
                yield agency
        yield dataset(item, origin, publisher=agencies[-1].key if agencies else "", since=mark)


def publisher_chain(publisher: Any, origin: Origin) -> list[AgencyRecord]:
    """The publisher and the organisations above it, outermost first (parents before units)."""
    chain: list[AgencyRecord] = []
    node, where = publisher, "publisher"
    while node and len(chain) < _MAX_PUBLISHER_DEPTH:
        if isinstance(node, str):  # schema 1.0 and some generators: the name alone
            node, at = {"name": node}, where
        else:
            at = f"{where}.name"
        if not isinstance(node, dict):
            break
        name = as_text(node.get("name"))
        if name:
            repairs = text_repairs(node.get("name"), at)
            chain.append(AgencyRecord(key=name, name={"": name}, origin=origin, repairs=repairs))
        node, where = node.get("subOrganizationOf"), f"{where}.subOrganizationOf"
    chain.reverse()
    for parent, child in zip(chain, chain[1:], strict=False):
        child.parent = parent.key
    return chain


def dataset(item: dict, origin: Origin, *, publisher: str, since: int | None = None) -> DatasetRecord:
    """One data.json dataset object as a record (no checks: the validator judges the values).

    ``since``: :func:`kg.readers.text.replaced_count` before the caller read the item's
    publisher, so that a repair there is among the dataset's (:func:`~kg.readers.text.repairs_since`).
    """
    mark = replaced_count() if since is None else since
    identifier = as_text(item.get("identifier"))
    start, end = split_interval(as_text(item.get("temporal")))
    used: set[str] = set()  # schema 1.0 fields read only in some datasets (see _KNOWN_FIELDS)
    record = DatasetRecord(
        key=identifier,
        origin=origin,
        identifier=identifier,
        title=_text(item.get("title")),
        description=_text(item.get("description")),
        publisher=publisher,
        keywords=[(k, "") for k in keywords(item.get("keyword"))],
        themes=as_texts(item.get("theme")),
        issued=as_text(item.get("issued")),
        modified=as_text(item.get("modified")),
        frequency=as_text(item.get("accrualPeriodicity")),
        languages=as_texts(item.get("language")),
        licence=as_text(item.get("license")),
        access_rights=as_text(item.get("accessLevel")),
        landing_page=as_text(item.get("landingPage")),
        contact=_contact(item, used),
        temporal_start=start,
        temporal_end=end,
        spatial=as_texts(item.get("spatial")),
        conforms_to=as_texts(item.get("conformsTo")),
        documentation=[*as_texts(item.get("describedBy")), *as_texts(item.get("dataDictionary"))],
        related=as_texts(item.get("references")),
        is_part_of=as_text(item.get("isPartOf")),
        distributions=_distributions(item, origin, used),
    )
    known = _KNOWN | used
    record.extra = {clean_text(k): as_text(v) for k, v in item.items() if k not in known and as_text(v)}
    record.repairs = repairs_since(mark, item)
    return record


def keywords(value: Any) -> list[str]:
    """``keyword``: a list; or, as schema 1.0 had it (and strays of 1.1), one comma-separated string.

    >>> keywords("countries, aid,,"), keywords(["a, b"])
    (['countries', 'aid'], ['a, b'])
    """
    if isinstance(value, str):
        return as_texts(value.split(","))
    return as_texts(value)


def _contact(item: dict, used: set[str]) -> Contact:
    """``contactPoint`` (1.1: a vCard; 1.0: the name, as is ``person``), with 1.0's ``mbox`` as e-mail."""
    name_field = "contactPoint" if item.get("contactPoint") not in (None, "") else "person"
    found = contact(item.get(name_field))
    if name_field == "person" and found:
        used.add("person")
    mbox = as_text(item.get("mbox"))
    if mbox and not found.email:
        found.email = _without_mailto(mbox)
        used.add("mbox")
    return found


def _distributions(item: dict, origin: Origin, used: set[str]) -> list[DistributionRecord]:
    """The ``distribution`` objects, after those schema 1.0 gave on the dataset itself; the
    dataset-level ``format`` goes to each that has no format or media type (not to a web service)."""
    listed = [
        distribution(d, Origin(origin.file, record=origin.record, field=f"distribution[{i}]"))
        for i, d in enumerate(_objects(item.get("distribution")))
    ]
    urls = {url for d in listed for url in (d.access_url, d.download_url) if url}
    access, download = as_text(item.get("accessURL")), as_text(item.get("downloadURL"))
    service = as_text(item.get("webService"))
    own: list[DistributionRecord] = []
    if (access or download) and not {access, download} & urls:
        field = "accessURL" if access else "downloadURL"
        own.append(DistributionRecord(_at(origin, field), access_url=access, download_url=download))
    formats = as_texts(item.get("format"))
    for dist in (*own, *listed):
        if len(formats) == 1 and not (dist.format or dist.media_type):
            dist.format = formats[0]
            used.add("format")
    if service and service not in urls:
        own.append(DistributionRecord(_at(origin, "webService"), access_url=service))
    return [*own, *listed]


def _at(origin: Origin, field: str) -> Origin:
    return Origin(origin.file, record=origin.record, field=field)


def distribution(item: dict, origin: Origin) -> DistributionRecord:
    return DistributionRecord(
        origin=origin,
        key=as_text(item.get("identifier")),
        title=_text(item.get("title")),
        description=_text(item.get("description")),
        access_url=as_text(item.get("accessURL")),
        download_url=as_text(item.get("downloadURL")),
        format=as_text(item.get("format")),
        media_type=as_text(item.get("mediaType")),
        licence=as_text(item.get("license")),
        rights=as_text(item.get("rights")),
        issued=as_text(item.get("issued")),
        modified=as_text(item.get("modified")),
        conforms_to=as_texts(item.get("conformsTo")),
        documentation=as_texts(item.get("describedBy")),
    )


def contact(point: Any) -> Contact:
    """``contactPoint`` (a vCard object; a list of them in some files: the first one counts)."""
    if isinstance(point, list):
        point = next((p for p in point if isinstance(p, dict)), None)
    if not isinstance(point, dict):
        return Contact(name=as_text(point))
    email = _without_mailto(as_text(point.get("hasEmail")))
    return Contact(name=as_text(point.get("fn")), email=email, phone=as_text(point.get("hasTelephone")))


def _without_mailto(email: str) -> str:
    return email[len("mailto:") :].strip() if email.lower().startswith("mailto:") else email


def split_interval(temporal: str) -> tuple[str, str]:
    """An ISO 8601 "start/end" interval as (start, end); anything else as (temporal, "").

    >>> split_interval("2000-01-15/2000-12-31")
    ('2000-01-15', '2000-12-31')
    >>> split_interval("2000-01-15T00:45:00Z/P1W")
    ('2000-01-15T00:45:00Z/P1W', '')
    """
    parts = temporal.split("/")
    if len(parts) == 2 and all(parts) and not any(p.startswith(("P", "R")) for p in parts):
        return parts[0].strip(), parts[1].strip()
    return temporal, ""


def _text(value: Any) -> dict[str, str]:
    text = as_text(value)
    return {"": text} if text else {}


def _objects(value: Any) -> list[dict]:
    """``distribution`` as a list of objects, whether the file gives a list or a single object."""
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]
