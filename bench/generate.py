"""Seeded generator of synthetic agency metadata for the benchmarks.

It writes N synthetic datasets (1–3 distributions each) published by 50 fixed
agencies in a three-level hierarchy (5 ministries → 15 agencies → 30 units),
plus a few data services, in any of the project's input formats:

=============  ====================  ==============================================
``--format``   written to ``--out``  what it is
=============  ====================  ==============================================
``csv``        ``csv/``              ``agencies.csv``, ``datasets.csv``,
                                     ``distributions.csv``, ``services.csv`` in the
                                     README's column layout (``;`` for lists)
``data.json``  ``data.json``         US Project Open Data 1.1 catalog
``ckan``       ``ckan.json``         a CKAN ``package_search`` response
``ttl``        ``catalog.ttl``       DCAT-AP Turtle (EU vocabulary IRIs)
``all``        all four
=============  ====================  ==============================================

Every format carries the same records for a seed, so results can be compared
across readers. Beside the output it writes ``manifest.json``: the counts and
the identifiers of the records that were made deliberately imperfect:

* **messy** (~1 %): realistic irregularities a tolerant reader should cope
  with — ``date_time`` (``issued`` as ``"2019-06-27 12:41:27"``),
  ``format_nc`` (a distribution format ``"nc "`` with no media type),
  ``language_name`` (``"English"`` instead of a code), ``frequency_text``
  (``"Monthly"``), ``keyword_case`` (the same keyword twice, differing in case
  and surrounding spaces);
* **broken** (~0.5 %): break a DCAT-AP mandatory rule and should be
  quarantined — ``empty_title``, ``empty_description``, ``no_url`` (a
  distribution with neither access nor download URL).

Output streams record by record (memory stays flat; 100,000 records take
seconds) and is byte-identical for the same ``n`` and ``seed``.

Usage::

    python bench/generate.py --n 100000 --seed 1 --format all --out /tmp/gen

or from Python: ``generate(n, seed, fmt, out) -> Path``.

>>> first = next(iter_records(1, seed=7))
>>> first["id"], len(first["dists"]) in (1, 2, 3)
('ds-0000000', True)
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import IO, Any

FORMATS = ("csv", "data.json", "ckan", "ttl")
OUTPUT_NAMES = {"csv": "csv", "data.json": "data.json", "ckan": "ckan.json", "ttl": "catalog.ttl"}

AGENCY_COLUMNS = [
    "id", "name", "parent", "type", "acronym", "description", "identifier", "homepage", "email", "phone",
    "street", "locality", "postal_code", "region", "country", "jurisdiction", "name@fr",
]  # fmt: skip
DATASET_COLUMNS = [
    "id", "title", "description", "publisher", "keywords", "themes", "issued", "modified", "frequency",
    "languages", "licence", "access_rights", "landing_page", "contact_name", "contact_email", "contact_phone",
    "contact_url", "temporal_start", "temporal_end", "spatial", "identifier", "version", "version_notes",
    "conforms_to", "documentation", "related", "is_part_of", "provenance", "title@fr", "description@fr",
]  # fmt: skip
DISTRIBUTION_COLUMNS = [
    "dataset", "id", "title", "description", "access_url", "download_url", "format", "media_type", "licence",
    "rights", "byte_size", "issued", "modified", "languages", "status", "checksum", "checksum_algorithm",
    "conforms_to", "documentation",
]  # fmt: skip
SERVICE_COLUMNS = [
    "id", "title", "description", "publisher", "endpoint_url", "endpoint_description", "serves_datasets",
    "themes", "keywords", "licence", "access_rights", "formats", "contact_name", "contact_email",
    "landing_page", "conforms_to",
]  # fmt: skip

BASE = "https://data.bench.example/"  # IRIs in the Turtle output; also the portal's landing pages
FILES = "https://files.bench.example/"
EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"
COUNTRY = "Examplia"

MESSY_RATE = 0.01
BROKEN_RATE = 0.005
MESSY_KINDS = ("date_time", "format_nc", "language_name", "frequency_text", "keyword_case")
BROKEN_KINDS = ("empty_title", "empty_description", "no_url")

# ------------------------------------------------------------------ vocabularies
# (domain code, ministry, themes, [(agency code, agency name)], subjects)
DOMAINS = [
    ("fin", "Ministry of Finance", ["ECON", "GOVE"],
     [("tax", "Tax Administration"), ("cus", "Customs Service"), ("nso", "National Statistics Office")],
     ["tax revenue", "customs declarations", "public debt", "government spending", "consumer prices",
      "household income", "business registrations", "import volumes", "export volumes", "pension payments"]),
    ("hea", "Ministry of Health", ["HEAL", "SOCI"],
     [("phi", "Public Health Institute"), ("med", "Medicines Agency"), ("food", "Food Safety Authority")],
     ["hospital admissions", "vaccination coverage", "medicine approvals", "food inspections",
      "disease notifications", "emergency calls", "waiting times", "health workforce", "drug shortages",
      "life expectancy"]),
    ("tra", "Ministry of Transport", ["TRAN", "REGI"],
     [("road", "Road Authority"), ("rail", "Rail Regulator"), ("air", "Civil Aviation Authority")],
     ["traffic counts", "road accidents", "rail passengers", "airport passengers", "vehicle registrations",
      "public transport stops", "road works", "bridge inspections", "port freight", "cycling counts"]),
    ("env", "Ministry of Environment", ["ENVI", "AGRI", "ENER"],
     [("ea", "Environment Agency"), ("met", "Meteorological Institute"), ("for", "Forestry Service")],
     ["air quality", "river water quality", "bathing water", "noise levels", "waste collection",
      "forest cover", "rainfall", "temperature", "protected areas", "greenhouse gas emissions"]),
    ("edu", "Ministry of Education", ["EDUC", "TECH", "SOCI"],
     [("hec", "Higher Education Council"), ("sch", "Schools Inspectorate"), ("lib", "National Library")],
     ["school enrolment", "exam results", "university graduates", "teacher numbers", "library loans",
      "school locations", "student grants", "adult education", "research grants", "museum visits"]),
]  # fmt: skip
UNIT_KINDS = [
    ("stat", "Statistics Unit"), ("data", "Open Data Unit"), ("geo", "Geospatial Unit"),
    ("res", "Research Unit"), ("reg", "Registry Unit"), ("mon", "Monitoring Unit"),
]  # fmt: skip
THEME_LABELS = {
    "AGRI": "Agriculture, fisheries, forestry and food", "ECON": "Economy and finance",
    "EDUC": "Education, culture and sport", "ENER": "Energy", "ENVI": "Environment",
    "GOVE": "Government and public sector", "HEAL": "Health", "INTR": "International issues",
    "JUST": "Justice, legal system and public safety", "REGI": "Regions and cities",
    "SOCI": "Population and society", "TECH": "Science and technology", "TRAN": "Transport",
}  # fmt: skip
ALL_THEMES = sorted(THEME_LABELS)
MEASURES = ["statistics", "register", "monthly figures", "indicators", "survey results", "time series",
            "locations", "inspection results", "forecasts", "open data extract"]  # fmt: skip
DIMENSIONS = ["region", "municipality", "age group", "sector", "month", "station", "district", "sex",
              "size class", "year"]  # fmt: skip
EXTRA_SENTENCES = [
    "Figures for the latest period are provisional.",
    "The methodology changed in 2018; earlier years are not fully comparable.",
    "Small counts are suppressed to protect confidentiality.",
    "Coordinates are given in WGS 84.",
    "Values are revised once a year when final data are available.",
    "See the documentation for definitions of every column.",
    "",
    "",
]
WORDS = [
    "open data", "statistics", "public sector", "monitoring", "register", "indicators", "time series",
    "regions", "municipalities", "budget", "health", "environment", "transport", "education", "energy",
    "climate", "water", "air", "noise", "waste", "roads", "rail", "aviation", "ports", "schools", "hospitals",
    "taxes", "prices", "employment", "population", "households", "businesses", "trade", "agriculture",
    "forests", "weather", "maps", "geodata", "safety", "inspections", "permits", "licences", "grants",
    "research", "innovation", "culture", "libraries", "museums", "tourism", "housing", "social security",
    "pensions", "public procurement", "contracts", "infrastructure", "mobility", "cycling", "emissions",
    "biodiversity", "données ouvertes", "Umwelt", "µg/m³", "qualité de l'air", "Verkehr", "Straßenverkehr",
]  # fmt: skip
REGIONS = [COUNTRY] * 6 + ["North Region", "South Region", "East Region", "West Region", "Capital Region",
                           "Coastal District", "Highlands"]  # fmt: skip

# (FORMAT, extension, media type, EU file-type code, weight); extension None = no download URL
FORMAT_TABLE = [
    ("CSV", "csv", "text/csv", "CSV", 30),
    ("JSON", "json", "application/json", "JSON", 12),
    ("XLSX", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "XLSX", 12),
    ("PDF", "pdf", "application/pdf", "PDF", 10),
    ("XML", "xml", "application/xml", "XML", 6),
    ("GeoJSON", "geojson", "application/geo+json", "GEOJSON", 6),
    ("ZIP", "zip", "application/zip", "ZIP", 5),
    ("SHP", "shp.zip", "application/zip", "SHP", 4),
    ("XLS", "xls", "application/vnd.ms-excel", "XLS", 4),
    ("HTML", None, "text/html", "HTML", 4),
    ("ODS", "ods", "application/vnd.oasis.opendocument.spreadsheet", "ODS", 2),
    ("TXT", "txt", "text/plain", "TXT", 2),
    ("RDF", "rdf", "application/rdf+xml", "RDF_XML", 2),
]
# (word, ISO 8601 for data.json or "" to leave out, EU frequency code, weight)
FREQUENCY_TABLE = [
    ("annual", "R/P1Y", "ANNUAL", 30),
    ("monthly", "R/P1M", "MONTHLY", 20),
    ("quarterly", "R/P3M", "QUARTERLY", 10),
    ("irregular", "irregular", "IRREG", 10),
    ("daily", "R/P1D", "DAILY", 8),
    ("weekly", "R/P1W", "WEEKLY", 6),
    ("never", "", "NEVER", 3),
    ("hourly", "R/PT1H", "HOURLY", 2),
    ("biennial", "R/P2Y", "BIENNIAL", 2),
    ("", "", "", 9),
]
# (CSV value, licence URL for data.json, IRI for Turtle, CKAN license_id, CKAN title, weight)
LICENCE_TABLE = [
    ("CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/", EU + "licence/CC_BY_4_0",
     "cc-by", "Creative Commons Attribution", 55),
    ("CC0-1.0", "https://creativecommons.org/publicdomain/zero/1.0/", EU + "licence/CC0",
     "cc-zero", "Creative Commons CCZero", 25),
    ("CC-BY-SA-4.0", "https://creativecommons.org/licenses/by-sa/4.0/", EU + "licence/CC_BYSA_4_0",
     "cc-by-sa", "Creative Commons Attribution Share-Alike", 10),
    ("ODbL-1.0", "https://opendatacommons.org/licenses/odbl/1-0/", "https://opendatacommons.org/licenses/odbl/1-0/",
     "odc-odbl", "Open Data Commons Open Database License (ODbL)", 10),
]  # fmt: skip
# (CSV value, data.json accessLevel, EU access-right code, weight)
ACCESS_TABLE = [("public", "public", "PUBLIC", 95), ("restricted", "restricted public", "RESTRICTED", 3),
                ("non-public", "non-public", "NON_PUBLIC", 2)]  # fmt: skip
LANGUAGE_TABLE = [(["en"], 70), (["en", "fr"], 10), (["de"], 5), (["en", "de"], 5), (["fr"], 5), (["es"], 5)]
LANGUAGE_CODES = {"en": "ENG", "fr": "FRA", "de": "DEU", "es": "SPA"}
RIGHTS_TEXT = "Access on request for accredited users. See the landing page for the conditions."


def _expand(table: list[tuple]) -> list[tuple]:
    """Each row repeated by its weight (the last field), for fast weighted ``rng.choice``."""
    return [row[:-1] for row in table for _ in range(row[-1])]


_FORMATS = _expand(FORMAT_TABLE)
_FREQUENCIES = _expand(FREQUENCY_TABLE)
_LICENCES = _expand(LICENCE_TABLE)
_ACCESS = _expand(ACCESS_TABLE)
_LANGUAGES = _expand(LANGUAGE_TABLE)
_FREQ_BY_WORD = {row[0]: row for row in FREQUENCY_TABLE}
_LICENCE_BY_CODE = {row[0]: row for row in LICENCE_TABLE}
_ACCESS_BY_CODE = {row[0]: row for row in ACCESS_TABLE}

_FIRST_DAY = date(2010, 1, 1).toordinal()
_LAST_ISSUED = date(2025, 12, 31).toordinal()
_LAST_MODIFIED = date(2026, 10, 31).toordinal()


# ------------------------------------------------------------------ agencies
def _agencies() -> list[dict[str, str]]:
    """The 50 fixed agencies, parents before children (CSV column names as keys)."""
    out: list[dict[str, str]] = []
    number = 100000

    def add(key: str, name: str, parent: str, kind: str, acronym: str, description: str) -> None:
        nonlocal number
        number += 17
        out.append(
            {
                "id": key,
                "name": name,
                "parent": parent,
                "type": kind,
                "acronym": acronym,
                "description": description,
                "identifier": f"EX-GOV-{number}",
                "homepage": f"https://{key}.gov.bench.example/",
                "email": f"info@{key}.gov.bench.example",
                "phone": f"+999 30 {number % 1000:03d} {number % 9973:04d}",
                "street": f"{number % 97 + 1} Government Street",
                "locality": "Capital City",
                "postal_code": f"{number % 90000 + 10000}",
                "region": "Capital Region",
                "country": COUNTRY,
                "jurisdiction": COUNTRY,
                "name@fr": "",
            }
        )

    for d, (code, ministry, _themes, agencies, _subjects) in enumerate(DOMAINS):
        add(
            code,
            ministry,
            "",
            "ministry",
            "M" + code.upper(),
            f"The {ministry} of the Republic of {COUNTRY}.",
        )
        for a, (acode, aname) in enumerate(agencies):
            akey = f"{code}-{acode}"
            add(akey, aname, code, "agency", acode.upper(), f"The {aname}, an agency of the {ministry}.")
            for u in range(2):
                ucode, uname = UNIT_KINDS[(d * 3 + a * 2 + u) % len(UNIT_KINDS)]
                add(f"{akey}-{ucode}", f"{uname}, {aname}", akey, "unit", f"{acode.upper()}-{ucode.upper()}",
                    f"The {uname.lower()} of the {aname}.")  # fmt: skip
    return out


AGENCIES = _agencies()
_AGENCY_BY_ID = {a["id"]: a for a in AGENCIES}
_DOMAIN_BY_CODE = {d[0]: d for d in DOMAINS}


# ------------------------------------------------------------------ records
def _day(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


def dataset_id(i: int) -> str:
    return f"ds-{i:07d}"


def iter_records(n: int, seed: int) -> Iterator[dict[str, Any]]:
    """The n synthetic datasets: dicts keyed by the CSV column names, plus
    ``uuid``, ``dists`` (distribution dicts) and ``defect`` (``""``,
    ``"messy:<kind>"`` or ``"broken:<kind>"``). Values are the "CSV view";
    writers translate them for their format."""
    rng = random.Random(seed)
    agencies = AGENCIES
    for i in range(n):
        ident = dataset_id(i)
        agency = rng.choice(agencies)
        domain = _DOMAIN_BY_CODE[agency["id"].split("-", 1)[0]]
        subject = rng.choice(domain[4])
        measure = rng.choice(MEASURES)
        dimension = rng.choice(DIMENSIONS)
        title = f"{subject.capitalize()} {measure} by {dimension}"
        if rng.random() < 0.4:
            title += f", {rng.randrange(2005, 2026)}"
        description = (
            f"{measure.capitalize()} of {subject} by {dimension}, published by the {agency['name']}."
        )
        extra = rng.choice(EXTRA_SENTENCES)
        if extra:
            description += " " + extra
        themes = [rng.choice(domain[2])]
        if rng.random() < 0.3:
            other = rng.choice(ALL_THEMES)
            if other not in themes:
                themes.append(other)
        keywords = [subject]
        for _ in range(rng.randrange(1, 6)):
            word = rng.choice(WORDS)
            if word not in keywords:
                keywords.append(word)
        issued_ord = rng.randrange(_FIRST_DAY, _LAST_ISSUED)
        modified_ord = issued_ord + rng.randrange(0, _LAST_MODIFIED - issued_ord + 1)
        frequency = rng.choice(_FREQUENCIES)[0]
        languages = list(rng.choice(_LANGUAGES)[0])
        licence = rng.choice(_LICENCES)[0]
        access = rng.choice(_ACCESS)[0]
        landing = f"{BASE}dataset/{ident}"
        temporal_start = temporal_end = ""
        if rng.random() < 0.5:
            start = rng.randrange(_FIRST_DAY - 3650, issued_ord)
            temporal_start = _day(start)
            if rng.random() < 0.6:
                temporal_end = _day(rng.randrange(start, issued_ord + 1))
        record: dict[str, Any] = {
            "id": ident,
            "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "title": title,
            "description": description,
            "publisher": agency["id"],
            "keywords": keywords,
            "themes": themes,
            "issued": _day(issued_ord),
            "modified": _day(modified_ord),
            "frequency": frequency,
            "languages": languages,
            "licence": licence,
            "access_rights": access,
            "landing_page": landing,
            "contact_name": f"Data team, {agency['name']}",
            "contact_email": f"data@{agency['id']}.gov.bench.example",
            "contact_phone": agency["phone"] if rng.random() < 0.3 else "",
            "contact_url": "",
            "temporal_start": temporal_start,
            "temporal_end": temporal_end,
            "spatial": rng.choice(REGIONS),
            "identifier": "",
            "version": f"{rng.randrange(1, 5)}.{rng.randrange(0, 10)}" if rng.random() < 0.1 else "",
            "version_notes": "",
            "conforms_to": f"{BASE}standard/{domain[0]}-{rng.randrange(1, 6)}" if rng.random() < 0.05 else "",
            "documentation": f"{agency['homepage']}docs/{ident}" if rng.random() < 0.1 else "",
            "related": "",
            "is_part_of": dataset_id(rng.randrange(i)) if i and rng.random() < 0.02 else "",
            "provenance": "",
            "title@fr": "",
            "description@fr": "",
            "defect": "",
        }
        if record["version"] and rng.random() < 0.5:
            record["version_notes"] = "Corrected values for the latest period."
        dists = []
        for k in range(rng.randrange(1, 4)):
            fmt, ext, media, _code = rng.choice(_FORMATS)
            download = f"{FILES}{ident}/{ident}-{k}.{ext}" if ext else ""
            dist = {
                "dataset": ident,
                "id": f"{ident}-{k}",
                "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "title": f"{title} ({fmt})",
                "description": "",
                "access_url": landing,
                "download_url": download,
                "format": fmt,
                "media_type": media,
                "licence": "",
                "rights": RIGHTS_TEXT if access != "public" else "",
                "byte_size": str(rng.randrange(1_000, 500_000_000)) if ext else "",
                "issued": "",
                "modified": "",
                "languages": [],
                "status": "",
                "checksum": "",
                "checksum_algorithm": "",
                "conforms_to": "",
                "documentation": "",
            }
            if ext and rng.random() < 0.1:
                dist["checksum"] = f"{rng.getrandbits(256):064x}"
                dist["checksum_algorithm"] = "sha256"
                dist["issued"] = record["issued"]
                dist["modified"] = record["modified"]
            dists.append(dist)
        record["dists"] = dists

        roll = rng.random()
        if roll < BROKEN_RATE:
            kind = rng.choice(BROKEN_KINDS)
            record["defect"] = "broken:" + kind
            if kind == "empty_title":
                record["title"] = ""
            elif kind == "empty_description":
                record["description"] = ""
            else:
                victim = dists[rng.randrange(len(dists))]
                victim["access_url"] = victim["download_url"] = ""
        elif roll < BROKEN_RATE + MESSY_RATE:
            kind = rng.choice(MESSY_KINDS)
            record["defect"] = "messy:" + kind
            if kind == "date_time":
                clock = rng.randrange(86400)
                record["issued"] += f" {clock // 3600:02d}:{clock // 60 % 60:02d}:{clock % 60:02d}"
            elif kind == "format_nc":
                dist = dists[0]
                dist.update(format="nc ", media_type="", byte_size=str(rng.randrange(10**6, 10**9)))
                dist["download_url"] = f"{FILES}{ident}/{ident}-0.nc"
            elif kind == "language_name":
                record["languages"] = ["English"]
            elif kind == "frequency_text":
                record["frequency"] = "Monthly"
            else:
                record["keywords"] = [f" {keywords[0].capitalize()} ", *keywords]
        yield record


def iter_services(n: int, seed: int) -> Iterator[dict[str, Any]]:
    """Data services: one per 500 datasets (at least one), each serving 1–5 of them."""
    rng = random.Random(seed * 7919 + 17)
    for j in range(max(1, n // 500)):
        agency = rng.choice(AGENCIES)
        domain = _DOMAIN_BY_CODE[agency["id"].split("-", 1)[0]]
        subject = rng.choice(domain[4])
        key = f"svc-{j:05d}"
        api = f"https://api.bench.example/{key}/v1/"
        served = sorted({dataset_id(rng.randrange(n)) for _ in range(rng.randrange(1, 6))}) if n else []
        yield {
            "id": key,
            "title": f"{subject.capitalize()} API",
            "description": f"A web API giving access to {subject} data of the {agency['name']}.",
            "publisher": agency["id"],
            "endpoint_url": api,
            "endpoint_description": api + "openapi.json",
            "serves_datasets": served,
            "themes": [domain[2][0]],
            "keywords": [subject, "API"],
            "licence": rng.choice(_LICENCES)[0],
            "access_rights": "public",
            "formats": ["JSON", "CSV"] if rng.random() < 0.5 else ["JSON"],
            "contact_name": f"Data team, {agency['name']}",
            "contact_email": f"data@{agency['id']}.gov.bench.example",
            "landing_page": f"{agency['homepage']}api/{key}",
            "conforms_to": "https://spec.openapis.org/oas/v3.1.0",
        }


# ------------------------------------------------------------------ writers
class _Writer:
    def begin(self) -> None: ...
    def add(self, rec: dict[str, Any]) -> None: ...
    def end(self, services: Iterable[dict[str, Any]]) -> None: ...


def _open(path: Path) -> IO[str]:
    return open(path, "w", encoding="utf-8", newline="", buffering=1 << 20)


def _cell(value: Any) -> str:
    return ";".join(value) if isinstance(value, list) else value


class CsvWriter(_Writer):
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def begin(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with _open(self.folder / "agencies.csv") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(AGENCY_COLUMNS)
            w.writerows([a[c] for c in AGENCY_COLUMNS] for a in AGENCIES)
        self.files = [_open(self.folder / name) for name in ("datasets.csv", "distributions.csv")]
        self.datasets = csv.writer(self.files[0], lineterminator="\n")
        self.dists = csv.writer(self.files[1], lineterminator="\n")
        self.datasets.writerow(DATASET_COLUMNS)
        self.dists.writerow(DISTRIBUTION_COLUMNS)

    def add(self, rec: dict[str, Any]) -> None:
        self.datasets.writerow([_cell(rec[c]) for c in DATASET_COLUMNS])
        for d in rec["dists"]:
            self.dists.writerow([_cell(d[c]) for c in DISTRIBUTION_COLUMNS])

    def end(self, services: Iterable[dict[str, Any]]) -> None:
        for f in self.files:
            f.close()
        with _open(self.folder / "services.csv") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(SERVICE_COLUMNS)
            w.writerows([_cell(s[c]) for c in SERVICE_COLUMNS] for s in services)


def _publisher_object(key: str) -> dict[str, Any]:
    agency = _AGENCY_BY_ID[key]
    obj: dict[str, Any] = {"@type": "org:Organization", "name": agency["name"]}
    if agency["parent"]:
        obj["subOrganizationOf"] = _publisher_object(agency["parent"])
    return obj


class DataJsonWriter(_Writer):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.publishers = {a["id"]: _publisher_object(a["id"]) for a in AGENCIES}

    def begin(self) -> None:
        self.f = _open(self.path)
        self.f.write(
            '{"@context": "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld",\n'
            ' "@type": "dcat:Catalog",\n'
            ' "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",\n'
            ' "describedBy": "https://project-open-data.cio.gov/v1.1/schema/catalog.json",\n'
            ' "dataset": ['
        )
        self.sep = "\n"

    def add(self, rec: dict[str, Any]) -> None:
        licence = _LICENCE_BY_CODE[rec["licence"]]
        access = _ACCESS_BY_CODE[rec["access_rights"]]
        obj: dict[str, Any] = {
            "@type": "dcat:Dataset",
            "identifier": rec["id"],
            "title": rec["title"],
            "description": rec["description"],
            "keyword": rec["keywords"],
            "issued": rec["issued"],
            "modified": rec["modified"],
            "publisher": self.publishers[rec["publisher"]],
            "contactPoint": {
                "@type": "vcard:Contact",
                "fn": rec["contact_name"],
                "hasEmail": "mailto:" + rec["contact_email"],
            },
            "accessLevel": access[1],
            "license": licence[1],
        }
        if access[0] != "public":
            obj["rights"] = RIGHTS_TEXT
        freq = _FREQ_BY_WORD.get(rec["frequency"])
        if freq is None:  # messy
            obj["accrualPeriodicity"] = rec["frequency"]
        elif freq[1]:
            obj["accrualPeriodicity"] = freq[1]
        if rec["temporal_start"] and rec["temporal_end"]:
            obj["temporal"] = f"{rec['temporal_start']}/{rec['temporal_end']}"
        obj["spatial"] = rec["spatial"]
        obj["theme"] = [THEME_LABELS[t] for t in rec["themes"]]
        obj["language"] = rec["languages"]
        obj["landingPage"] = rec["landing_page"]
        if rec["is_part_of"]:
            obj["isPartOf"] = rec["is_part_of"]
        if rec["conforms_to"]:
            obj["conformsTo"] = rec["conforms_to"]
        if rec["documentation"]:
            obj["describedBy"] = rec["documentation"]
        dists = []
        for d in rec["dists"]:
            dist: dict[str, Any] = {"@type": "dcat:Distribution", "title": d["title"]}
            if d["download_url"]:
                dist["downloadURL"] = d["download_url"]
            elif d["access_url"]:
                dist["accessURL"] = d["access_url"]
            if d["media_type"]:
                dist["mediaType"] = d["media_type"]
            dist["format"] = d["format"]
            dists.append(dist)
        obj["distribution"] = dists
        self.f.write(self.sep)
        self.f.write(json.dumps(obj, ensure_ascii=False))
        self.sep = ",\n"

    def end(self, services: Iterable[dict[str, Any]]) -> None:
        self.f.write("\n]}\n")
        self.f.close()


class CkanWriter(_Writer):
    """A CKAN Action API ``package_search`` response (ckanext-dcat style extras)."""

    def __init__(self, path: Path, count: int) -> None:
        self.path = path
        self.count = count
        self.orgs = {
            a["id"]: {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, a["homepage"])),
                "name": a["id"],
                "title": a["name"],
                "description": a["description"],
                "type": "organization",
                "is_organization": True,
                "state": "active",
                "approval_status": "approved",
            }
            for a in AGENCIES
        }

    def begin(self) -> None:
        self.f = _open(self.path)
        self.f.write(
            '{"help": "https://ckan.bench.example/api/3/action/help_show?name=package_search",\n'
            ' "success": true,\n'
            f' "result": {{"count": {self.count}, "sort": "score desc, metadata_modified desc", '
            '"facets": {}, "search_facets": {},\n "results": ['
        )
        self.sep = "\n"

    def add(self, rec: dict[str, Any]) -> None:
        licence = _LICENCE_BY_CODE[rec["licence"]]
        org = self.orgs[rec["publisher"]]
        extras = [
            {"key": "issued", "value": rec["issued"]},
            {"key": "modified", "value": rec["modified"]},
            {"key": "identifier", "value": rec["id"]},
            {"key": "theme", "value": json.dumps([f"{EU}data-theme/{t}" for t in rec["themes"]])},
            {"key": "language", "value": json.dumps(rec["languages"])},
            {"key": "access_rights", "value": rec["access_rights"]},
            {"key": "spatial_text", "value": rec["spatial"]},
        ]
        if rec["frequency"]:
            extras.append({"key": "frequency", "value": rec["frequency"]})
        if rec["temporal_start"]:
            extras.append({"key": "temporal_start", "value": rec["temporal_start"]})
        if rec["temporal_end"]:
            extras.append({"key": "temporal_end", "value": rec["temporal_end"]})
        if rec["is_part_of"]:
            extras.append({"key": "is_part_of", "value": rec["is_part_of"]})
        resources = []
        for k, d in enumerate(rec["dists"]):
            res: dict[str, Any] = {
                "id": d["uuid"],
                "package_id": rec["uuid"],
                "name": d["title"],
                "description": d["description"],
                "url": d["download_url"] or d["access_url"],
                "format": d["format"],
                "mimetype": d["media_type"] or None,
                "size": int(d["byte_size"]) if d["byte_size"] else None,
                "hash": d["checksum"],
                "created": rec["issued"][:10] + "T09:00:00",
                "last_modified": d["modified"] + "T09:00:00" if d["modified"] else None,
                "position": k,
                "state": "active",
                "url_type": None,
            }
            if d["download_url"] and d["access_url"]:
                res["access_url"] = d["access_url"]
            resources.append(res)
        pkg = {
            "id": rec["uuid"],
            "name": rec["id"],
            "title": rec["title"],
            "notes": rec["description"],
            "url": rec["landing_page"],
            "version": rec["version"] or None,
            "state": "active",
            "type": "dataset",
            "private": False,
            "author": None,
            "author_email": None,
            "maintainer": rec["contact_name"],
            "maintainer_email": rec["contact_email"],
            "license_id": licence[3],
            "license_title": licence[4],
            "license_url": licence[1],
            "metadata_created": rec["issued"][:10] + "T09:00:00",
            "metadata_modified": rec["modified"] + "T09:00:00",
            "owner_org": org["id"],
            "organization": org,
            "groups": [{"name": t.lower(), "title": THEME_LABELS[t]} for t in rec["themes"]],
            "tags": [{"name": kw, "display_name": kw, "state": "active"} for kw in rec["keywords"]],
            "num_tags": len(rec["keywords"]),
            "extras": extras,
            "resources": resources,
            "num_resources": len(resources),
        }
        self.f.write(self.sep)
        self.f.write(json.dumps(pkg, ensure_ascii=False))
        self.sep = ",\n"

    def end(self, services: Iterable[dict[str, Any]]) -> None:
        self.f.write("\n]}}\n")
        self.f.close()


def _lit(text: str, lang: str = "") -> str:
    esc = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{esc}"@{lang}' if lang else f'"{esc}"'


def _date(value: str) -> str:
    if len(value) == 10:
        return f'"{value}"^^xsd:date'
    return _lit(value)  # messy: kept as a plain literal, as a sloppy source would


_TTL_PREFIXES = """\
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix cpov: <http://data.europa.eu/m8g/> .
@prefix adms: <http://www.w3.org/ns/adms#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix spdx: <http://spdx.org/rdf/terms#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix theme: <http://publications.europa.eu/resource/authority/data-theme/> .
@prefix filetype: <http://publications.europa.eu/resource/authority/file-type/> .
@prefix freq: <http://publications.europa.eu/resource/authority/frequency/> .
@prefix lang: <http://publications.europa.eu/resource/authority/language/> .
@prefix access: <http://publications.europa.eu/resource/authority/access-right/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .

"""


class TurtleWriter(_Writer):
    """DCAT-AP 3 Turtle, written as text one resource at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.catalog = f"<{BASE}catalog>"
        self.file_types = {row[0]: row[3] for row in FORMAT_TABLE}

    def begin(self) -> None:
        self.f = _open(self.path)
        w = self.f.write
        w(_TTL_PREFIXES)
        w(f"{self.catalog} a dcat:Catalog ;\n")
        w(f"    dct:title {_lit('Synthetic benchmark catalogue', 'en')} ;\n")
        w(f"    dct:description {_lit('Generated by bench/generate.py for benchmarks.', 'en')} ;\n")
        w(f"    dct:publisher <{BASE}agency/{AGENCIES[0]['id']}> .\n\n")
        for a in AGENCIES:
            iri = f"<{BASE}agency/{a['id']}>"
            parent = f"<{BASE}agency/{a['parent']}>"
            if a["type"] == "unit":
                lines = [f"{iri} a foaf:Agent, org:OrganizationalUnit", f"org:unitOf {parent}"]
            else:
                lines = [f"{iri} a foaf:Agent, org:Organization, cpov:PublicOrganisation"]
                if a["parent"]:
                    lines.append(f"org:subOrganizationOf {parent}")
            lines += [
                f"foaf:name {_lit(a['name'], 'en')}",
                f"skos:prefLabel {_lit(a['name'], 'en')}",
                f"skos:altLabel {_lit(a['acronym'])}",
                f"dct:description {_lit(a['description'], 'en')}",
                f"dct:identifier {_lit(a['identifier'])}",
                f"foaf:homepage <{a['homepage']}>",
                f"foaf:mbox <mailto:{a['email']}>",
            ]
            w(" ;\n    ".join(lines) + " .\n\n")

    def _contact(self, name: str, email: str, phone: str = "") -> str:
        parts = f"a vcard:Kind ; vcard:fn {_lit(name)} ; vcard:hasEmail <mailto:{email}>"
        if phone:
            parts += f" ; vcard:hasTelephone <tel:{phone.replace(' ', '')}>"
        return f"[ {parts} ]"

    def add(self, rec: dict[str, Any]) -> None:
        w = self.f.write
        ident = rec["id"]
        iri = f"<{BASE}dataset/{ident}>"
        lines = [f"{iri} a dcat:Dataset", f"dct:identifier {_lit(ident)}"]
        if rec["title"]:
            lines.append(f"dct:title {_lit(rec['title'], 'en')}")
        if rec["description"]:
            lines.append(f"dct:description {_lit(rec['description'], 'en')}")
        lines.append(f"dct:publisher <{BASE}agency/{rec['publisher']}>")
        lines.append("dcat:keyword " + ", ".join(_lit(k, "en") for k in rec["keywords"]))
        lines.append("dcat:theme " + ", ".join(f"theme:{t}" for t in rec["themes"]))
        lines.append(f"dct:issued {_date(rec['issued'])}")
        lines.append(f"dct:modified {_date(rec['modified'])}")
        freq = _FREQ_BY_WORD.get(rec["frequency"])
        if freq is None:
            lines.append(f"dct:accrualPeriodicity {_lit(rec['frequency'])}")
        elif freq[2]:
            lines.append(f"dct:accrualPeriodicity freq:{freq[2]}")
        langs = [f"lang:{LANGUAGE_CODES[x]}" if x in LANGUAGE_CODES else _lit(x) for x in rec["languages"]]
        lines.append("dct:language " + ", ".join(langs))
        lines.append(f"dct:accessRights access:{_ACCESS_BY_CODE[rec['access_rights']][2]}")
        lines.append(f"dcat:landingPage <{rec['landing_page']}>")
        lines.append(
            "dcat:contactPoint "
            + self._contact(rec["contact_name"], rec["contact_email"], rec["contact_phone"])
        )
        if rec["temporal_start"]:
            period = f"a dct:PeriodOfTime ; dcat:startDate {_date(rec['temporal_start'])}"
            if rec["temporal_end"]:
                period += f" ; dcat:endDate {_date(rec['temporal_end'])}"
            lines.append(f"dct:temporal [ {period} ]")
        lines.append(f"dct:spatial [ a dct:Location ; skos:prefLabel {_lit(rec['spatial'], 'en')} ]")
        if rec["version"]:
            lines.append(f"dcat:version {_lit(rec['version'])}")
            if rec["version_notes"]:
                lines.append(f"adms:versionNotes {_lit(rec['version_notes'], 'en')}")
        if rec["conforms_to"]:
            lines.append(f"dct:conformsTo <{rec['conforms_to']}>")
        if rec["documentation"]:
            lines.append(f"foaf:page <{rec['documentation']}>")
        if rec["is_part_of"]:
            lines.append(f"dct:isPartOf <{BASE}dataset/{rec['is_part_of']}>")
        lines.append(
            "dcat:distribution " + ", ".join(f"<{BASE}distribution/{d['id']}>" for d in rec["dists"])
        )
        w(" ;\n    ".join(lines) + " .\n")
        licence = _LICENCE_BY_CODE[rec["licence"]][2]
        for d in rec["dists"]:
            lines = [
                f"<{BASE}distribution/{d['id']}> a dcat:Distribution",
                f"dct:title {_lit(d['title'], 'en')}",
            ]
            if d["access_url"]:
                lines.append(f"dcat:accessURL <{d['access_url']}>")
            if d["download_url"]:
                lines.append(f"dcat:downloadURL <{d['download_url']}>")
            code = self.file_types.get(d["format"])
            lines.append(f"dct:format filetype:{code}" if code else f"dct:format {_lit(d['format'])}")
            if d["media_type"]:
                lines.append(f"dcat:mediaType <{IANA}{d['media_type']}>")
            lines.append(f"dct:license <{licence}>")
            if d["rights"]:
                lines.append(f"dct:rights [ a dct:RightsStatement ; rdfs:label {_lit(d['rights'], 'en')} ]")
            if d["byte_size"]:
                lines.append(f'dcat:byteSize "{d["byte_size"]}"^^xsd:nonNegativeInteger')
            if d["issued"]:
                lines.append(f"dct:issued {_date(d['issued'])}")
            if d["modified"]:
                lines.append(f"dct:modified {_date(d['modified'])}")
            if d["checksum"]:
                lines.append(
                    "spdx:checksum [ a spdx:Checksum ; spdx:algorithm spdx:checksumAlgorithm_sha256 ; "
                    f'spdx:checksumValue "{d["checksum"]}"^^xsd:hexBinary ]'
                )
            w(" ;\n    ".join(lines) + " .\n")
        w(f"{self.catalog} dcat:dataset {iri} .\n\n")

    def end(self, services: Iterable[dict[str, Any]]) -> None:
        w = self.f.write
        for s in services:
            iri = f"<{BASE}service/{s['id']}>"
            lines = [
                f"{iri} a dcat:DataService",
                f"dct:identifier {_lit(s['id'])}",
                f"dct:title {_lit(s['title'], 'en')}",
                f"dct:description {_lit(s['description'], 'en')}",
                f"dct:publisher <{BASE}agency/{s['publisher']}>",
                f"dcat:endpointURL <{s['endpoint_url']}>",
                f"dcat:endpointDescription <{s['endpoint_description']}>",
                "dcat:theme " + ", ".join(f"theme:{t}" for t in s["themes"]),
                "dcat:keyword " + ", ".join(_lit(k, "en") for k in s["keywords"]),
                f"dct:license <{_LICENCE_BY_CODE[s['licence']][2]}>",
                f"dct:accessRights access:{_ACCESS_BY_CODE[s['access_rights']][2]}",
                "dct:format " + ", ".join(f"filetype:{self.file_types[x]}" for x in s["formats"]),
                "dcat:contactPoint " + self._contact(s["contact_name"], s["contact_email"]),
                f"dcat:landingPage <{s['landing_page']}>",
                f"dct:conformsTo <{s['conforms_to']}>",
            ]
            if s["serves_datasets"]:
                lines.append(
                    "dcat:servesDataset " + ", ".join(f"<{BASE}dataset/{x}>" for x in s["serves_datasets"])
                )
            w(" ;\n    ".join(lines) + " .\n")
            w(f"{self.catalog} dcat:service {iri} .\n\n")
        self.f.close()


# ------------------------------------------------------------------ API
def _writer(fmt: str, out: Path, n: int) -> _Writer:
    target = out / OUTPUT_NAMES[fmt]
    if fmt == "csv":
        return CsvWriter(target)
    if fmt == "data.json":
        return DataJsonWriter(target)
    if fmt == "ckan":
        return CkanWriter(target, n)
    return TurtleWriter(target)


def generate(n: int, seed: int, fmt: str, out: Path) -> Path:
    """Write n synthetic datasets in ``fmt`` (``csv``, ``data.json``, ``ckan``,
    ``ttl`` or ``all``) under ``out`` and return the path to read: the CSV
    folder, the JSON or Turtle file, or ``out`` itself for ``all``.

    ``out/manifest.json`` gets the counts and the messy/broken identifiers."""
    if n < 0:
        raise ValueError("n must be >= 0")
    if fmt != "all" and fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)} or all")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    formats = FORMATS if fmt == "all" else (fmt,)
    writers = [_writer(f, out, n) for f in formats]
    for w in writers:
        w.begin()
    distributions = 0
    defects: dict[str, dict[str, list[str]]] = {"messy": {}, "broken": {}}
    for rec in iter_records(n, seed):
        for w in writers:
            w.add(rec)
        distributions += len(rec["dists"])
        if rec["defect"]:
            group, kind = rec["defect"].split(":")
            defects[group].setdefault(kind, []).append(rec["id"])
    services = list(iter_services(n, seed))
    for w in writers:
        w.end(services)
    manifest = {
        "generator": "bench/generate.py",
        "n": n,
        "seed": seed,
        "agencies": len(AGENCIES),
        "datasets": n,
        "distributions": distributions,
        "services": len(services),
        "messy": {k: defects["messy"][k] for k in sorted(defects["messy"])},
        "broken": {k: defects["broken"][k] for k in sorted(defects["broken"])},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return out if fmt == "all" else out / OUTPUT_NAMES[fmt]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate synthetic agency metadata for benchmarks.")
    parser.add_argument("--n", type=int, default=1000, help="number of datasets (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--format", default="all", choices=[*FORMATS, "all"], help="output format (default all)"
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    path = generate(args.n, args.seed, args.format, args.out)
    print(f"wrote {args.n} datasets ({args.format}) to {path} in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
