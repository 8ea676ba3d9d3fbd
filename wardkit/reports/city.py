"""The city's side of the daily report (docs/ARCHITECTURE.md#reports): the wards' files
received at /city, and the roll-up of all 126 wards for a day, on the page, in XLSX and
from `flask reports consolidate` (which reads files only, never the database).

Each file is checked by wardkit/reports/cityfile.py (schema, hash, no personal data, a
known ward, totals that add up). For one ward and day the city keeps the newest revision:
the same file again changes nothing, a newer revision replaces the older and says which,
an older one is ignored. The SQL is in city_queries.py.
"""
import csv
import functools
import io
import json
import pathlib
from dataclasses import dataclass
from datetime import date, datetime, time

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font

from .. import audit, clock
from ..db import write
from ..ids import new_id
from . import city_queries
from .cityfile import CityFileRefused, read
from .figures import percent

WARDS_CSV = pathlib.Path(__file__).resolve().parent.parent / "data" / "hanoi_wards.csv"

# Why a file is refused, by CityFileRefused.code (and "future", "conflict" from here).
REFUSALS = {
    "not_json": _l("This is not a ward report file (JSON) from WardKit."),
    "personal_data": _l("The file holds personal data (%(detail)s): refused. A report to "
                        "the city carries counts only."),
    "schema": _l("The file does not follow the report's format (%(detail)s)."),
    "hash": _l("The file's SHA-256 does not match its content: it was changed after the "
               "ward exported it. Ask the ward for the original file."),
    "unknown_ward": _l("Ward code %(detail)s is not one of Hanoi's 126 wards and "
                       "communes."),
    "inconsistent": _l("The ward's total is not the sum of its residential groups "
                       "(%(detail)s)."),
    "future": _l("A report for a day that has not come yet (%(detail)s)."),
    "conflict": _l("Another file with the same revision %(detail)s of this ward's report "
                   "was received already: not replaced. Ask the ward to check."),
    "too_large": _l("The file is too large for a ward report."),
}
# A ward report file is a few kilobytes; a bigger one is not a report.
MAX_FILE_BYTES = 2 * 1024 * 1024

# What was done with a file that passed the checks.
OUTCOMES = {
    "stored": _l("Received (revision %(revision)s)."),
    "replaced": _l("Received revision %(revision)s: replaces revision %(previous)s."),
    "locked": _l("Received the locked revision %(revision)s: replaces the same revision "
                 "before it was locked."),
    "unchanged": _l("This file was received already: nothing changed."),
    "older": _l("Older than revision %(previous)s already received: ignored."),
    "other_day": _l("A report for another day (%(day)s): not in this roll-up."),
}
WRITTEN = ("stored", "replaced", "locked")


@dataclass
class FileResult:
    """What became of one file: `status` is "refused" (then `code`, `detail`) or a key
    of OUTCOMES; `report` is the checked report (None when refused)."""

    name: str
    status: str
    report: dict | None = None
    previous: int | None = None
    code: str | None = None
    detail: str = ""

    @property
    def ward(self) -> str:
        """Return "code name" of the file's ward, or "" when refused."""
        if self.report is None:
            return ""
        return f"{self.report['ward']['code']} {self.report['ward']['name']}"

    @property
    def message(self) -> str:
        """Return what happened to the file, in the reader's language."""
        if self.status == "refused":
            return str(REFUSALS[self.code]) % {"detail": self.detail}
        return str(OUTCOMES[self.status]) % {
            "revision": self.report["revision"], "previous": self.previous,
            "day": self.report["report_date"]}


def deadline_at(day: date) -> datetime:
    """Return the moment (aware) the city expects the wards' reports of `day` by
    (CITY_REPORT_DEADLINE, "HH:MM" Hanoi time)."""
    hours, minutes = current_app.config["CITY_REPORT_DEADLINE"].split(":")
    return datetime.combine(day, time(int(hours), int(minutes)), clock.HANOI)


def _check(name: str, data: bytes, codes: set[str], today: date) -> FileResult:
    """Return the file's result after cityfile's checks and the date: "refused", or
    "checked" with its report."""
    if len(data) > MAX_FILE_BYTES:
        return FileResult(name, "refused", code="too_large")
    try:
        report = read(data, codes)
    except CityFileRefused as exc:
        return FileResult(name, "refused", code=exc.code, detail=exc.detail)
    if date.fromisoformat(report["report_date"]) > today:
        return FileResult(name, "refused", code="future", detail=report["report_date"])
    return FileResult(name, "checked", report=report)


def decide(kept: dict | None, report: dict) -> tuple[str, int | None]:
    """Return what to do with `report` given the one kept for its ward and day (`kept`:
    `revision`, `sha256`, `locked_at`, or None): (a key of OUTCOMES or "conflict", the
    kept revision)."""
    if kept is None:
        return "stored", None
    previous = kept["revision"]
    if kept["sha256"] == report["sha256"]:
        return "unchanged", previous
    if report["revision"] > previous:
        return "replaced", previous
    if report["revision"] < previous:
        return "older", previous
    # The same revision in another file: the ward sent it before and after locking it.
    if report["locked_at"] and not kept["locked_at"]:
        return "locked", previous
    if kept["locked_at"] and not report["locked_at"]:
        return "older", previous
    return "conflict", previous


def receive(db, files: list[tuple[str, bytes]], *, by: str | None) -> list[FileResult]:
    """Check and keep the wards' report files (name, bytes), in the order given; return a
    FileResult per file. One transaction and one audit row `city_reports_received` with
    the counts, only when something was stored: refused, unchanged and older files write
    nothing (and a call with nothing to store writes nothing at all)."""
    codes, today = city_queries.ward_codes(db), clock.today()
    results = [_check(name, data, codes, today) for name, data in files]
    if not any(r.status == "checked" for r in results):
        return results
    now = clock.now_iso()
    with write(db):
        for result in results:
            if result.status != "checked":
                continue
            report = result.report
            kept = city_queries.stored(db, report["ward"]["code"], report["report_date"])
            status, result.previous = decide(kept, report)
            if status == "conflict":
                result.status, result.code = "refused", "conflict"
                result.detail = str(report["revision"])
                continue
            result.status = status
            if status not in WRITTEN:
                continue
            row = _row(report, received_at=now, by=by, replaced=result.previous)
            if kept is None:
                city_queries.insert(db, row)
            else:
                city_queries.replace(db, kept["id"], row)
        counts = _counts(results)
        if any(counts.get(s) for s in WRITTEN):
            audit.record(db, "city_reports_received", user_id=by, ward_code=None,
                         entity="city_reports", detail=counts)
    return results


def _row(report: dict, *, received_at: str, by: str | None, replaced: int | None) -> dict:
    payload = {k: v for k, v in report.items() if k != "sha256"}
    return {"id": new_id(), "ward_code": report["ward"]["code"],
            "report_date": report["report_date"], "revision": report["revision"],
            "cutoff_at": report["cutoff_at"], "locked_at": report["locked_at"],
            "sha256": report["sha256"], "received_at": received_at, "received_by": by,
            "replaced_revision": replaced,
            "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True)}


def _counts(results: list[FileResult]) -> dict:
    """Return {status: how many files}, refused ones also by reason (`refused_<code>`)."""
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
        if result.code:
            key = f"refused_{result.code}"
            counts[key] = counts.get(key, 0) + 1
    return counts


# --- the roll-up -----------------------------------------------------------------------

# The ward figures the roll-up shows (from each report's ward total).
FIGURES = ("adults", "target_adults", "activated", "confirmed", "visited", "households",
           "declarations")


def rollup(db, report_date: date, *, now: datetime | None = None) -> dict:
    """Return the roll-up of every ward in the wards table for `report_date` from the
    reports received (see `build_rollup`)."""
    return build_rollup(city_queries.wards(db),
                        city_queries.received(db, report_date.isoformat()), report_date,
                        now=now)


def build_rollup(wards: list[dict], received: dict[str, dict], report_date: date, *,
                 now: datetime | None = None) -> dict:
    """Return the roll-up of `wards` (code, name) for `report_date`, given the reports
    kept by ward code (`revision`, `locked_at`, `received_at` or None, `total`):

    {"rows": one per ward, best % of target first, then the wards without a report in
    code order; "total": the city's sums; "missing": the wards without a report;
    "reported", "late", "wards": counts; "deadline": the moment reports were due;
    "report_date"}. A row has the ward's `code`, `name`, `revision` (None: no report),
    `locked`, `received_at`, every name in FIGURES, `percent` (activated / target),
    `rank` (1 = best % of target, equal % share a rank; None without a report or a
    target) and `late`: no report once the deadline has passed, or one received after it.
    """
    now = now or clock.now()
    deadline = deadline_at(report_date)
    passed = now > deadline
    rows = []
    for ward in wards:
        kept = received.get(ward["code"])
        row = {"code": ward["code"], "name": ward["name"], "revision": None, "locked": False,
               "received_at": None, "percent": None, "rank": None, "late": passed,
               **{name: None for name in FIGURES}}
        if kept is not None:
            total = kept["total"]
            row.update({name: total[name] for name in FIGURES})
            row.update(revision=kept["revision"], locked=bool(kept["locked_at"]),
                       received_at=kept["received_at"],
                       percent=percent(total["activated"], total["target_adults"]),
                       late=bool(kept["received_at"]) and
                       clock.parse(kept["received_at"]) > deadline)
        rows.append(row)
    ranked = sorted((r for r in rows if r["percent"] is not None),
                    key=lambda r: -r["percent"])
    for i, row in enumerate(ranked):
        same = i and ranked[i - 1]["percent"] == row["percent"]
        row["rank"] = ranked[i - 1]["rank"] if same else i + 1
    reported = [r for r in rows if r["revision"] is not None]
    total = {name: sum(r[name] for r in reported) for name in FIGURES}
    total["percent"] = percent(total["activated"], total["target_adults"])
    unranked = [r for r in reported if r["rank"] is None]
    missing = [r for r in rows if r["revision"] is None]
    return {"rows": ranked + unranked + missing, "total": total, "missing": missing,
            "reported": len(reported), "late": sum(r["late"] for r in rows),
            "wards": len(rows), "deadline": deadline, "report_date": report_date}


# --- consolidate: files only ---------------------------------------------------------------

@functools.cache
def hanoi_wards() -> tuple[dict, ...]:
    """Return Hanoi's wards from wardkit/data/hanoi_wards.csv (code, name, kind,
    code_2025_10), in code order: what the wards table holds, without a database."""
    with WARDS_CSV.open(encoding="utf-8", newline="") as f:
        return tuple(sorted(({k: row[k] for k in ("code", "name", "kind", "code_2025_10")}
                             for row in csv.DictReader(f)), key=lambda w: w["code"]))


def consolidate(files: list[tuple[str, bytes]], report_date: date | None = None,
                *, now: datetime | None = None) -> tuple[list[FileResult], dict]:
    """Check ward files (name, bytes) as /city does, without a database, and return
    (a FileResult per file, the roll-up of every ward for the day). The day is
    `report_date`, else the newest day among the good files, else today; files of another
    day are "other_day". Per ward the newest revision counts, as at /city."""
    wards = hanoi_wards()
    today = (now or clock.now()).astimezone(clock.HANOI).date()
    results = [_check(name, data, {w["code"] for w in wards}, today) for name, data in files]
    good = [r for r in results if r.status == "checked"]
    if report_date is None:
        report_date = max((date.fromisoformat(r.report["report_date"]) for r in good),
                          default=today)
    kept: dict[str, dict] = {}
    for result in good:
        report = result.report
        if report["report_date"] != report_date.isoformat():
            result.status = "other_day"
            continue
        code = report["ward"]["code"]
        status, result.previous = decide(kept.get(code), report)
        if status == "conflict":
            result.status, result.code, result.detail = "refused", "conflict", \
                str(report["revision"])
            continue
        result.status = status
        if status in WRITTEN:
            kept[code] = {"revision": report["revision"], "sha256": report["sha256"],
                          "locked_at": report["locked_at"], "received_at": None,
                          "total": report["total"]}
    return results, build_rollup(list(wards), kept, report_date, now=now)


# --- XLSX: /city.xlsx and `flask reports consolidate` ---------------------------------------

def _columns() -> list[tuple[str, str]]:
    """Return (key, heading) of the roll-up's columns, headings in the reader's language."""
    return [("rank", _("Rank")), ("code", _("Ward code")), ("name", _("Ward or commune")),
            ("revision", _("Revision")), ("locked", _("Locked")),
            ("status", _("Report")), ("adults", _("Adults (15+)")),
            ("target_adults", _("Target")), ("activated", _("iHanoi activated")),
            ("percent", _("Share of target")), ("confirmed", _("Confirmed by the iHanoi list")),
            ("visited", _("Households visited")), ("households", _("Households")),
            ("declarations", _("Declarations"))]


def status_label(row: dict) -> str:
    """Return a ward's report status in words: received, late or missing."""
    if row["revision"] is None:
        return _("Late: not received") if row["late"] else _("Not received yet")
    return _("Received late") if row["late"] else _("Received")


def xlsx(data: dict) -> bytes:
    """Return the roll-up (`build_rollup`) as an XLSX workbook: a sheet of every ward with
    numbers as numbers, a frozen header and the city total row, and a sheet listing the
    wards without a report."""
    book = Workbook()
    sheet = book.active
    sheet.title = _("Wards")[:31]
    columns = _columns()
    sheet.append([heading for _key, heading in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in data["rows"]:
        values = []
        for key, _heading in columns:
            if key == "locked":
                values.append(None if row["revision"] is None
                              else (_("Yes") if row["locked"] else _("No")))
            elif key == "status":
                values.append(status_label(row))
            elif key == "percent":
                values.append(None if row["percent"] is None else row["percent"] / 100)
            else:
                values.append(row[key])
        sheet.append(values)
    total = data["total"]
    sheet.append([None, None, _("Whole city (%(n)s of %(m)s wards reported)",
                                n=data["reported"], m=data["wards"]), None, None, None,
                  *[(total[key] / 100 if total[key] is not None else None)
                    if key == "percent" else total[key] for key, _h in columns[6:]]])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    percent_col = [key for key, _h in columns].index("percent") + 1
    for (cell,) in sheet.iter_rows(min_row=2, min_col=percent_col, max_col=percent_col):
        cell.number_format = "0.0%"
    sheet.freeze_panes = "A2"
    sheet.column_dimensions["C"].width = 28
    missing = book.create_sheet(_("Not received")[:31])
    missing.append([_("Ward code"), _("Ward or commune"), _("Report")])
    for cell in missing[1]:
        cell.font = Font(bold=True)
    for row in data["missing"]:
        missing.append([row["code"], row["name"], status_label(row)])
    missing.freeze_panes = "A2"
    missing.column_dimensions["B"].width = 28
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
