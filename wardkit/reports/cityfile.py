"""The file a ward sends the city (docs/ARCHITECTURE.md#the-city-file): one JSON object
with a format name and version, the SHA-256 of its report, and the report itself — the
ward (its code in both data versions), the day, revision, cut-off and the per-group and
ward counts. Counts only: no note, no reason, nothing about a person.

Its JSON Schema is wardkit/reports/city-report.schema.json (written from COUNTS by
`schema()`; a test keeps the two equal). The hash is over the report's canonical JSON
(keys sorted, no spaces, UTF-8), so any change to a figure shows.
"""
import hashlib
import json
import pathlib

import fastjsonschema

from .figures import COUNTS

FORMAT = "wardkit-daily-report"
VERSION = 1
SCHEMA_FILE = pathlib.Path(__file__).with_name("city-report.schema.json")

# Column names of the residents table (and the other personal fields of the registry): a
# file naming any of them is refused outright, whatever else it holds.
PERSONAL_FIELDS = frozenset({
    "full_name", "name_folded", "sort_key", "dob", "gender", "cccd", "phone", "relation",
    "needs_home_support", "support_reason", "ihanoi_status", "lawful_basis", "consent_at",
    "household_id", "resident_id", "address", "house_number", "lane", "street",
    "licence_no", "plate", "plate_compact", "chassis_no", "engine_no", "owner_name",
    "reg_cert_no", "is_born_abroad", "is_zalo_followed", "fts_rowid", "note", "notes",
})


class CityFileRefused(Exception):
    """A ward file the city cannot take; `code` says why (see wardkit/reports/city.py's
    messages), `detail` where."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def schema() -> dict:
    """Return the JSON Schema of the city file, built from COUNTS."""
    counts = {name: {"type": "integer", "minimum": 0} for name in COUNTS}
    group = {
        "type": "object", "additionalProperties": False,
        "required": ["name", "cluster", *COUNTS],
        "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 80},
                       "cluster": {"type": ["string", "null"], "maxLength": 80},
                       **counts},
    }
    stamp = {"type": "string",
             "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": f"urn:wardkit:{FORMAT}:{VERSION}",
        "title": "WardKit daily ward report, for the city police",
        "description": "Counts only, per residential group and for the ward. `sha256` is "
                       "the SHA-256 (hex) of `report` as canonical JSON: keys sorted, "
                       "separators ',' and ':', UTF-8, no ASCII escaping.",
        "type": "object", "additionalProperties": False,
        "required": ["format", "version", "sha256", "report"],
        "properties": {
            "format": {"const": FORMAT},
            "version": {"const": VERSION},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "report": {
                "type": "object", "additionalProperties": False,
                "required": ["ward", "report_date", "revision", "cutoff_at", "taken_at",
                             "locked_at", "groups", "total"],
                "properties": {
                    "ward": {
                        "type": "object", "additionalProperties": False,
                        "required": ["code", "code_2025_10", "name", "data_version"],
                        "properties": {
                            "code": {"type": "string", "pattern": r"^\d{5}$"},
                            "code_2025_10": {"type": "string", "pattern": r"^\d{5}$"},
                            "name": {"type": "string", "minLength": 1, "maxLength": 100},
                            "data_version": {"type": "string", "maxLength": 100},
                        },
                    },
                    "report_date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                    "revision": {"type": "integer", "minimum": 1},
                    "cutoff_at": stamp,
                    "taken_at": stamp,
                    "locked_at": {"anyOf": [stamp, {"type": "null"}]},
                    "groups": {"type": "array", "maxItems": 1000, "items": group},
                    "total": {"type": "object", "additionalProperties": False,
                              "required": list(COUNTS), "properties": counts},
                },
            },
        },
    }


# Compiled to Python once: 126 files of 20-60 groups check in ~0.1 s this way, against
# ~7 s with a general-purpose validator walking the schema (docs/PERFORMANCE.md).
_VALIDATE = fastjsonschema.compile(schema())


def canonical(report: dict) -> bytes:
    """Return the bytes the hash is taken over: `report` as canonical JSON."""
    return json.dumps(report, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def build(report: dict, ward: dict) -> tuple[dict, str]:
    """Return (the city file's object, its file name) for a stored report (figures
    decoded, wardkit/reports/queries.py) of `ward` (queries.ward)."""
    figures = report["figures"]
    body = {
        "ward": {"code": ward["code"], "code_2025_10": ward["code_2025_10"],
                 "name": ward["name"], "data_version": ward["data_version"]},
        "report_date": report["report_date"],
        "revision": report["revision"],
        "cutoff_at": report["cutoff_at"],
        "taken_at": report["taken_at"],
        "locked_at": report["locked_at"],
        "groups": [{"name": g["name"], "cluster": g["cluster"],
                    **{k: g[k] for k in COUNTS}} for g in figures["groups"]],
        "total": {k: figures["total"][k] for k in COUNTS},
    }
    digest = hashlib.sha256(canonical(body)).hexdigest()
    name = (f"bao-cao-{ward['code']}-{report['report_date']}-r{report['revision']}"
            f"-{digest[:12]}.json")
    return {"format": FORMAT, "version": VERSION, "sha256": digest, "report": body}, name


def dumps(document: dict) -> bytes:
    """Return the city file's bytes (indented UTF-8 JSON, readable by a person)."""
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"


def read(data: bytes, ward_codes: set[str]) -> dict:
    """Check a ward's file and return its `report` (with `sha256` added).

    Checked in order: JSON at all, no personal-data field anywhere, the schema, the hash,
    a known ward code, and the ward total equal to the sum of its groups.

    :raises CityFileRefused: "not_json", "personal_data", "schema", "hash",
        "unknown_ward" or "inconsistent".
    """
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CityFileRefused("not_json", str(exc)[:200]) from None
    found = sorted(_keys(document) & PERSONAL_FIELDS)
    if found:
        raise CityFileRefused("personal_data", ", ".join(found))
    try:
        _VALIDATE(document)
    except fastjsonschema.JsonSchemaValueException as error:
        raise CityFileRefused("schema", error.message[:300]) from None
    report = document["report"]
    if hashlib.sha256(canonical(report)).hexdigest() != document["sha256"]:
        raise CityFileRefused("hash")
    if report["ward"]["code"] not in ward_codes:
        raise CityFileRefused("unknown_ward", report["ward"]["code"])
    for name in COUNTS:
        if sum(g[name] for g in report["groups"]) != report["total"][name]:
            raise CityFileRefused("inconsistent", name)
    return dict(report, sha256=document["sha256"])


def _keys(value) -> set[str]:
    """Return every object key anywhere inside a decoded JSON value."""
    found, stack = set(), [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.update(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
