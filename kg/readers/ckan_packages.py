"""CKAN package dicts as records: where each field may be, and the package's organisation as an agency.

CKAN sites differ: ckanext-dcat and ckanext-scheming put DCAT fields at the top
level (``issued``, ``contact`` lists, ``title_translated``), older sites keep
them in ``extras`` as ``[{"key", "value"}]`` with JSON-encoded lists. Each field
is therefore looked up under several names, in the package and then in its
extras (:class:`Package`); extras nobody reads are kept in ``DatasetRecord.extra``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from kg.errors import InputError
from kg.readers.text import as_text, as_texts, clean_text, repairs_since, replaced_count, text_repairs
from kg.records import (
    AgencyRecord,
    Contact,
    DatasetRecord,
    DistributionRecord,
    Origin,
    Repair,
    Text,
    first_text,
)

_FILE_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}$")
_WEB_PAGES = (".html", ".htm", ".php", ".asp", ".aspx", ".jsp", ".cfm")
# CKAN's own bookkeeping: not metadata about the dataset, so not kept in ``extra``
_BOOKKEEPING_FIELDS = """
    state private type num_resources num_tags creator_user_id owner_org isopen revision_id
    relationships_as_subject relationships_as_object tracking_summary metadata_created metadata_modified
    organization resources tags groups extras
"""
_BOOKKEEPING = frozenset(_BOOKKEEPING_FIELDS.split())
_PUBLISHER_FIELDS = ("name", "email", "url", "type", "uri")  # publisher_name, … of older sites


PACKAGE_KEYS = ("resources", "id", "name", "title")  # a JSON object with one of them is a package
# where a file's list of packages may be: the file itself, the Action API's "result", or
# package_search's "result": {"results": [...]} (see packages())
PACKAGE_ARRAYS = ((), ("result",), ("result", "results"))

Batch = tuple[str, Iterable[tuple[int, dict]]]  # (file or page URL, [(index in it, package)])


def packages(doc: Any, source: str) -> list[dict]:
    """The package dicts in a CKAN document: a package, a list, or an Action API envelope."""
    if isinstance(doc, dict) and ("success" in doc or "result" in doc) and "resources" not in doc:
        if doc.get("success") is False:
            raise InputError(f"the CKAN API answered success=false: {api_error(doc)}", file=source)
        doc = doc.get("result")
        if isinstance(doc, dict) and isinstance(doc.get("results"), list):
            doc = doc["results"]
    if isinstance(doc, dict):
        doc = [doc]
    if isinstance(doc, list):
        for index, item in enumerate(doc):
            if isinstance(item, str):
                raise InputError(
                    "a list of package names (package_list), not packages", file=source, record=index
                )
            if not isinstance(item, dict) or not any(k in item for k in PACKAGE_KEYS):
                raise InputError(
                    "not a CKAN package (no resources, id, name or title)", file=source, record=index
                )
        return doc
    raise InputError(
        "JSON of no known shape (expected a CKAN package, a list of packages or an Action API answer)",
        file=source,
    )


def api_error(doc: dict) -> str:
    error = doc.get("error")
    if isinstance(error, dict):
        return as_text(error.get("message")) or as_text(error)
    return as_text(error) or "no error message"


class Package:
    """One package dict with its extras; remembers which fields it used so that the rest goes to ``extra``."""

    def __init__(self, item: dict) -> None:
        self.item = item
        extras = item.get("extras")
        if isinstance(extras, dict):  # some exports flatten extras to {key: value}
            extras = [{"key": k, "value": v} for k, v in extras.items()]
        pairs = extras if isinstance(extras, list) else []
        self.extras = {as_text(e.get("key")): e.get("value") for e in pairs if isinstance(e, dict)}
        self.used: set[str] = set()
        self.partly: dict[str, str] = {}  # fields read only in part (see ``text``, ``first``): kept whole

    def raw(self, *names: str) -> Any:
        """The first non-empty value among ``names``, in the package, then in its extras."""
        for name in names:
            for where in (self.item, self.extras):
                if where.get(name) not in (None, "", [], {}):
                    self.used.add(name)
                    return where[name]
        return None

    def text(self, *names: str) -> str:
        """One text; a lang dict gives its English (or first) text and is kept whole in ``extra``."""
        value = self.raw(*names)
        if isinstance(value, dict) and len(value) > 1:
            self.partly[next(n for n in names if n in self.used)] = as_text(value)
        return single(value)

    def first(self, name: str) -> Any:
        """The first object of a list field (ckanext-dcat ``contact``, …); the list is kept if longer."""
        value = self.raw(name)
        if not isinstance(value, list):
            return value
        objects = [v for v in value if isinstance(v, dict)]
        if len(value) > 1:
            self.partly[name] = as_text(value)
        return objects[0] if objects else None

    def texts(self, *names: str) -> list[str]:
        return many(self.raw(*names))

    def publisher(self, origin: Origin) -> AgencyRecord | None:
        """The organisation, else a ckanext-dcat publisher, else the author or maintainer."""
        org = self.item.get("organization")
        mark = replaced_count()
        if isinstance(org, dict) and (org.get("id") or org.get("name")):
            return AgencyRecord(
                key=as_text(org.get("id")) or as_text(org.get("name")),
                name=translated(org.get("title") or org.get("name"), org.get("title_translated")),
                description=translated(org.get("description"), org.get("description_translated")),
                origin=replace(origin, field="organization"),
                repairs=repairs_since(mark, org, "organization"),
            )
        pub = self._publisher_fields()
        if not pub.get("name"):
            return None
        return AgencyRecord(
            key=pub.get("identifier") or pub["name"],
            name={"": pub["name"]},
            origin=replace(origin, field=pub["field"]),
            identifier=pub.get("identifier", ""),
            classification=pub.get("type", ""),
            homepage=pub.get("url", ""),
            contact=Contact(email=pub.get("email", "").removeprefix("mailto:")),
            repairs=self._repairs_of(pub["field"]),
        )

    def _repairs_of(self, field: str) -> list[Repair]:
        """The repairs of the fields a publisher of ``_publisher_fields`` was read from."""
        if field == "publisher_name":
            names = tuple(f"publisher_{k}" for k in _PUBLISHER_FIELDS)
        else:
            names = (field,) if field == "publisher" else (field, f"{field}_email")
        found = ((n, self.item.get(n) if n in self.item else self.extras.get(n)) for n in names)
        return [repair for name, value in found for repair in text_repairs(value, name)]

    def _publisher_fields(self) -> dict[str, str]:
        pub = self.first("publisher")
        if isinstance(pub, dict):
            return {"field": "publisher"} | {
                k: single(pub.get(k)) for k in ("name", "email", "url", "identifier", "type")
            }
        if isinstance(pub, str):
            return {"field": "publisher", "name": as_text(pub)}
        legacy = {k: self.text(f"publisher_{k}") for k in _PUBLISHER_FIELDS[:-1]}
        if legacy["name"]:
            return {**legacy, "identifier": self.text("publisher_uri"), "field": "publisher_name"}
        for who in ("author", "maintainer"):
            if self.text(who):
                return {"field": who, "name": self.text(who), "email": self.text(f"{who}_email")}
        return {}

    def contact(self) -> Contact:
        first = self.first("contact")
        if isinstance(first, dict):
            return Contact(
                name=single(first.get("name_translated")) or single(first.get("name")),
                email=single(first.get("email")).removeprefix("mailto:"),
                phone=single(first.get("phone")),
                url=single(first.get("url")),
            )
        for who in ("maintainer", "author", "contact"):
            contact = Contact(
                name=self.text(who, f"{who}_name"),
                email=self.text(f"{who}_email").removeprefix("mailto:"),
                phone=self.text(f"{who}_phone"),
                url=self.text(f"{who}_uri", f"{who}_url"),
            )
            if contact:
                return contact
        return Contact()

    def dataset(self, origin: Origin, *, publisher: str, since: int | None = None) -> DatasetRecord:
        """The package as a record; ``since``: as for :func:`kg.readers.data_json.dataset`."""
        item = self.item
        mark = replaced_count() if since is None else since
        key = as_text(item.get("id")) or as_text(item.get("name"))
        period = self.first("temporal_coverage")
        period = period if isinstance(period, dict) else {}
        record = DatasetRecord(
            key=key,
            origin=origin,
            identifier=self.text("identifier", "guid") or key,
            title=translated(self.raw("title"), self.raw("title_translated")),
            description=translated(self.raw("notes", "description"), self.raw("notes_translated")),
            publisher=publisher,
            keywords=self.keywords(),
            themes=self.themes(),
            issued=self.text("issued") or as_text(item.get("metadata_created")),
            modified=self.text("modified") or as_text(item.get("metadata_modified")),
            frequency=self.text("frequency", "update_frequency", "accrual_periodicity", "accrualPeriodicity"),
            languages=self.texts("language"),
            licence=self.text("license_url", "license_id", "license_title", "license"),
            access_rights=self.text("access_rights"),
            landing_page=self.text("landing_page", "url"),
            contact=self.contact(),
            temporal_start=single(period.get("start")) or self.text("temporal_start"),
            temporal_end=single(period.get("end")) or self.text("temporal_end"),
            spatial=self.spatial(),
            other_identifiers=self.texts("alternate_identifier"),
            version=self.text("version"),
            version_notes=self.text("version_notes"),
            conforms_to=self.texts("conforms_to"),
            documentation=self.texts("documentation"),
            related=self.texts("related_resource"),
            is_part_of=self.text("is_part_of"),
            provenance=self.text("provenance"),
            distributions=[
                distribution(r, Origin(origin.file, record=origin.record, field=f"resources[{i}]"))
                for i, r in enumerate(_dicts(item.get("resources")))
            ],
        )
        record.extra = self.leftovers()
        record.repairs = repairs_since(mark, item)
        return record

    def keywords(self) -> list[tuple[str, str]]:
        """``tags`` (language ""), plus ``tags_translated`` (lang → list) without repeating them."""
        tagged = self.raw("tags_translated")
        found = (
            [(kw, clean_text(lang)) for lang, kws in tagged.items() for kw in many(kws)]
            if isinstance(tagged, dict)
            else []
        )
        known = {kw for kw, _ in found}
        tags = [
            single(t.get("name")) if isinstance(t, dict) else single(t) for t in many_raw(self.raw("tags"))
        ]
        return [(t, "") for t in tags if t and t not in known] + found

    def themes(self) -> list[str]:
        """Group titles (labels the mapper can match to EU data themes), then ``theme`` values."""
        groups = [
            single(g.get("title") or g.get("display_name") or g.get("name"))
            for g in _dicts(self.item.get("groups"))
        ]
        return [*filter(None, groups), *self.texts("theme")]

    def spatial(self) -> list[str]:
        """Area URIs or names; ckanext-dcat ``spatial_coverage`` also goes whole (geometries) to ``extra``."""
        coverage = self.raw("spatial_coverage")
        if coverage is not None:
            self.partly["spatial_coverage"] = as_text(coverage)
        places = [single(c.get("uri") or c.get("text") or c.get("geom")) for c in _dicts(coverage)]
        return [
            *self.texts("spatial_uri"),
            *self.texts("spatial_text"),
            *self.texts("spatial"),
            *filter(None, places),
        ]

    def leftovers(self) -> dict[str, str]:
        """Fields and extras nobody read, as text, so that nothing the portal sent is lost."""
        skip = self.used | _BOOKKEEPING | {"id"}
        extra = {clean_text(k): as_text(v) for k, v in self.item.items() if k not in skip}
        extra.update({k: as_text(v) for k, v in self.extras.items() if k not in self.used})
        if not self.item.get("id"):
            extra.pop("name", None)  # it is the key; with an id, "name" (the URL slug) is kept here
        extra.update(self.partly)
        return {k: v for k, v in extra.items() if v}


def distribution(res: dict, origin: Origin) -> DistributionRecord:
    """A CKAN resource. Its ``url`` is the access URL, and also the download URL for uploads and files."""
    url = single(res.get("url"))
    try:
        path = urlsplit(url).path.lower()
    except ValueError:  # "http://[oops]/x": not a URL we can read; the mapper reports it
        path = ""
    is_file = res.get("url_type") == "upload" or bool(
        _FILE_EXTENSION.search(path) and not path.endswith(_WEB_PAGES)
    )
    return DistributionRecord(
        origin=origin,
        key=single(res.get("id")),
        title=translated(res.get("name"), res.get("name_translated")),
        description=translated(res.get("description"), res.get("description_translated")),
        access_url=single(res.get("access_url")) or url,
        download_url=single(res.get("download_url")) or (url if is_file else ""),
        format=single(res.get("format")),
        media_type=single(res.get("mimetype") or res.get("media_type")),
        licence=single(res.get("license")),
        rights=single(res.get("rights")),
        byte_size=single(res.get("size") if res.get("size") is not None else res.get("byte_size")),
        issued=single(res.get("issued") or res.get("created")),
        modified=single(res.get("modified") or res.get("last_modified")),
        languages=many(res.get("language")),
        status=single(res.get("status")),
        checksum=single(res.get("hash")),
        checksum_algorithm=single(res.get("hash_algorithm")),
        conforms_to=many(res.get("conforms_to")),
        documentation=many(res.get("documentation")),
    )


# --- values -----------------------------------------------------------------------------


def single(value: Any) -> str:
    """Text from a value that may be a translation dict (→ its English or first text)."""
    if isinstance(value, dict) and value and all(isinstance(v, str) for v in value.values()):
        return first_text({k: as_text(v) for k, v in value.items()})
    return as_text(value)


def many_raw(value: Any) -> list:
    """A list from a list, a JSON-encoded list (how ckanext-dcat stores lists in extras) or one value."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            decoded = json.loads(value)
        except ValueError:
            return [value]
        return decoded if isinstance(decoded, list) else [value]
    if value in (None, ""):
        return []
    return value if isinstance(value, list) else [value]


def many(value: Any) -> list[str]:
    return as_texts([single(v) for v in many_raw(value)])


def translated(plain: Any, translations: Any) -> Text:
    """A Text from a plain value (or a fluent lang dict) and a ``*_translated`` dict."""
    text: Text = {}
    for source in (plain, translations):
        if isinstance(source, dict):
            text.update({clean_text(lang): as_text(v) for lang, v in source.items() if as_text(v)})
    value = "" if isinstance(plain, dict) else as_text(plain)
    if value and value not in text.values():
        text[""] = value
    return text


def _dicts(value: Any) -> list[dict]:
    return [v for v in many_raw(value) if isinstance(v, dict)]
