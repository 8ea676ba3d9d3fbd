"""The daily report's lifecycle (docs/ARCHITECTURE.md#reports): the snapshot of the ward's
figures at the morning cut-off, the leader's note, the lock ("Chốt số liệu") and
corrections as new revisions.

A report stores its figures once, counted by wardkit/reports/figures.py (the code behind
/progress) at the moment it is taken, with the change since the previous report; it is
never recounted. The schema refuses any change to a locked report and any delete.
"""
import json
import unicodedata
from datetime import date, datetime, time

from flask import current_app

from .. import audit, clock
from ..db import write
from ..ids import new_id
from ..sync.queries import is_kit
from ..kiosk import sessions as help_sessions
from . import queries
from .figures import COUNTS, ward_figures

FIGURES_VERSION = 1
NOTE_MAX = 2000
REASON_MAX = 500


class ReportRefused(Exception):
    """An action the report's state does not allow; `code` names which (see MESSAGES in
    wardkit/reports/views.py), `status` the HTTP status that fits."""

    def __init__(self, code: str, status: int = 422):
        super().__init__(code)
        self.code = code
        self.status = status


def cutoff_time() -> time:
    """Return the configured cut-off (REPORT_CUTOFF, "HH:MM" Hanoi time)."""
    hours, minutes = current_app.config["REPORT_CUTOFF"].split(":")
    return time(int(hours), int(minutes))


def cutoff_at(day: date) -> datetime:
    """Return the moment (aware, UTC) of `day`'s cut-off."""
    return datetime.combine(day, cutoff_time(), clock.HANOI).astimezone(clock.HANOI)


def due_day(now: datetime | None = None) -> date | None:
    """Return the day whose report is due at `now`: today once its cut-off has passed,
    otherwise None (yesterday's was due at yesterday's cut-off)."""
    now = now or clock.now()
    today = now.astimezone(clock.HANOI).date()
    return today if now >= cutoff_at(today) else None


def build_figures(db, ward_code: str, report_date: date, now: datetime) -> dict:
    """Return the figures a report stores: the groups' and the ward's counts at `now`,
    which previous report they are compared with, and the change since it."""
    counted = ward_figures(db, ward_code, now=now)
    groups = [{key: row[key] for key in ("id", "name", "cluster") + COUNTS}
              for row in counted["rows"]]
    total = {key: counted["total"][key] for key in COUNTS}
    previous = queries.previous_report(db, ward_code, report_date.isoformat())
    change = None
    if previous is not None:
        before = {g["id"]: g for g in previous["figures"]["groups"]}
        change = {"groups": {}, "total": {}}
        for group in groups:
            old = before.get(group["id"])
            if old is not None:
                change["groups"][group["id"]] = {k: group[k] - old.get(k, 0) for k in COUNTS}
        change["total"] = {k: total[k] - previous["figures"]["total"].get(k, 0)
                           for k in COUNTS}
    return {
        "version": FIGURES_VERSION,
        "counted_on": counted["report_date"].isoformat(),
        "groups": groups,
        "total": total,
        # The day's help sessions at community houses (the ward's, not a group's).
        "help": help_sessions.day_figures(db, ward_code, report_date),
        "previous": None if previous is None else {
            "report_date": previous["report_date"], "revision": previous["revision"]},
        "change": change,
    }


def take_snapshot(db, ward_code: str, report_date: date, *, by: str | None = None,
                  now: datetime | None = None) -> tuple[dict, bool]:
    """Take the ward's report for `report_date` now unless one exists; return (the
    report, True when this call took it). `by` None means taken automatically.

    Safe with many server processes: the counting runs outside the write lock, and the
    insert is refused by the (ward, day, revision) key when another process got there
    first, so there is one snapshot and one audit row per day.

    :raises ReportRefused: "future" for a day after today.
    """
    now = now or clock.now()
    if report_date > now.astimezone(clock.HANOI).date():
        raise ReportRefused("future", 404)
    day = report_date.isoformat()
    existing = queries.get_report(db, ward_code, day)
    if existing is not None:
        return existing, False
    figures = build_figures(db, ward_code, report_date, now)
    stamp = clock.iso(now)
    row = {"id": new_id(), "ward_code": ward_code, "report_date": day, "revision": 1,
           "cutoff_at": clock.iso(cutoff_at(report_date)), "taken_at": stamp,
           "taken_by": by, "figures": _json(figures), "created_at": stamp,
           "updated_at": stamp, "updated_by": by}
    with write(db):
        taken = queries.insert_report(db, row)
        if taken:
            audit.record(db, "report_snapshot_taken", user_id=by, ward_code=ward_code,
                         entity="reports", entity_id=row["id"],
                         detail={"report_date": day, "automatic": by is None})
    return queries.get_report(db, ward_code, day), taken


def ensure_due_snapshots(db, *, now: datetime | None = None) -> list[str]:
    """Take today's report for every ward with data once the cut-off has passed and
    nobody has; return the ward codes it was taken for now. A kit takes none: the report
    is the hub's."""
    now = now or clock.now()
    day = due_day(now)
    if day is None or is_kit(db):
        return []
    taken = []
    for ward_code in queries.wards_with_data(db):
        if queries.get_report(db, ward_code, day.isoformat()) is None:
            if take_snapshot(db, ward_code, day, now=now)[1]:
                taken.append(ward_code)
    return taken


def save_note(db, ward_code: str, report_date: str, note: str, *, by: str) -> dict:
    """Store the leader's note on the day's unlocked report; return the report.

    :raises ReportRefused: "missing" (404), "locked" (409), "note_too_long".
    """
    report = _current(db, ward_code, report_date)
    note = _clean(note)
    if note and len(note) > NOTE_MAX:
        raise ReportRefused("note_too_long")
    with write(db):
        queries.set_note(db, report["id"], note, by=by, now=clock.now_iso())
        audit.record(db, "report_note_saved", user_id=by, ward_code=ward_code,
                     entity="reports", entity_id=report["id"],
                     detail={"report_date": report_date, "revision": report["revision"]})
    return queries.get_report(db, ward_code, report_date)


def lock(db, ward_code: str, report_date: str, *, note: str, by: str, signer_name: str,
         signer_title: str) -> dict:
    """Lock the day's newest revision with its note and signature block ("Chốt số
    liệu"); return the report. From then on the schema refuses any change to it.

    :raises ReportRefused: "missing" (404), "locked" (409), "note_too_long",
        "signer_missing".
    """
    report = _current(db, ward_code, report_date)
    note = _clean(note)
    if note and len(note) > NOTE_MAX:
        raise ReportRefused("note_too_long")
    signer_name, signer_title = _clean(signer_name), _clean(signer_title)
    if not signer_name or not signer_title or len(signer_name) > 100 \
            or len(signer_title) > 100:
        raise ReportRefused("signer_missing")
    with write(db):
        queries.lock(db, report["id"], note=note, by=by, signer_name=signer_name,
                     signer_title=signer_title, now=clock.now_iso())
        audit.record(db, "report_locked", user_id=by, ward_code=ward_code,
                     entity="reports", entity_id=report["id"],
                     detail={"report_date": report_date, "revision": report["revision"]})
    return queries.get_report(db, ward_code, report_date)


def revise(db, ward_code: str, report_date: str, *, reason: str, by: str,
           now: datetime | None = None) -> dict:
    """Start a correction of the day's locked report: a new revision counted now, with
    the reason, to be noted and locked like the first; return it. The locked revision
    stays as it was.

    :raises ReportRefused: "missing" (404), "not_locked" (409), "reason_missing".
    """
    now = now or clock.now()
    report = queries.get_report(db, ward_code, report_date)
    if report is None:
        raise ReportRefused("missing", 404)
    if report["locked_at"] is None:
        raise ReportRefused("not_locked", 409)
    reason = _clean(reason)
    if not reason or len(reason) > REASON_MAX:
        raise ReportRefused("reason_missing")
    figures = build_figures(db, ward_code, date.fromisoformat(report_date), now)
    stamp = clock.iso(now)
    row = {"id": new_id(), "ward_code": ward_code, "report_date": report_date,
           "revision": report["revision"] + 1, "cutoff_at": report["cutoff_at"],
           "taken_at": stamp, "taken_by": by, "figures": _json(figures),
           "note": report["note"], "reason": reason, "created_at": stamp,
           "updated_at": stamp, "updated_by": by}
    with write(db):
        if not queries.insert_report(db, row):
            raise ReportRefused("not_locked", 409)  # someone revised it a moment ago
        audit.record(db, "report_revised", user_id=by, ward_code=ward_code,
                     entity="reports", entity_id=row["id"],
                     detail={"report_date": report_date, "revision": row["revision"]})
    return queries.get_report(db, ward_code, report_date)


def _current(db, ward_code: str, report_date: str) -> dict:
    report = queries.get_report(db, ward_code, report_date)
    if report is None:
        raise ReportRefused("missing", 404)
    if report["locked_at"] is not None:
        raise ReportRefused("locked", 409)
    return report


def _clean(text: str | None) -> str | None:
    """Return a note, reason or name as typed, in NFC with Windows line ends made
    Unix, or None when blank."""
    text = unicodedata.normalize("NFC", (text or "").replace("\r\n", "\n")).strip()
    return text or None


def _json(figures: dict) -> str:
    return json.dumps(figures, ensure_ascii=False, sort_keys=True)
