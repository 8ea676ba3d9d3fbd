"""The daily report's pages (docs/ARCHITECTURE.md#reports): `/reports` (today's report and
the history) and `/reports/<day>` (the table with each group's sparkline, the note, the
lock and corrections). The files (PDF, XLSX, the city's JSON) are in downloads.py."""
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import clock
from ..db import get_db
from ..security import MANAGER_ROLES, roles
from . import present, queries, snapshots
from .snapshots import ReportRefused

bp = Blueprint("reports", __name__)

# Who reads the reports: counts only, so the ward's viewer and officers too. Only leaders
# and admins take, note, lock and correct them.
READERS = ("admin", "leader", "officer", "viewer")

MESSAGES = {
    "future": _l("There is no report for a day that has not come yet."),
    "missing": _l("There is no report for this day."),
    "locked": _l("This report is locked: its figures and note can no longer change. "
                 "To correct it, make a revision with the reason."),
    "not_locked": _l("Lock this report first; a correction revises a locked report."),
    "note_too_long": _l("The note is too long (at most 2,000 characters)."),
    "signer_missing": _l("Enter the title and the name of who signs (at most 100 "
                         "characters each)."),
    "reason_missing": _l("Give the reason for the correction (at most 500 characters)."),
}

# Which field a refusal is about, so its message shows beside that field.
FIELDS = {"note_too_long": "note", "signer_missing": "signer", "reason_missing": "reason"}


def _downloads(day: date, revision: int | None) -> dict | None:
    """Return the URLs of the report's PDF, XLSX and city file."""
    return {fmt: url_for(f"report_files.{fmt}", day=day.isoformat(), revision=revision)
            for fmt in ("pdf", "xlsx", "json")}


def _day(text: str) -> date:
    """Return the day in the URL; 404 for a malformed or future one."""
    return present.past_day(text) or abort(404)


def _act(day: date, form: dict, action, done: str):
    """Run a leader's `action` on the day's report; on success flash `done` and go back
    to the report (303), on a refusal show the report with the message beside its field
    (404 when there is no such report)."""
    try:
        action()
    except ReportRefused as exc:
        if exc.status == 404:
            abort(404)
        return _report_page(day, problem=exc.code, status=exc.status, form=form)
    flash(done, "success")
    return redirect(url_for("reports.report", day=day.isoformat()), code=303)


@bp.route("/reports")
@roles(*READERS)
def index():
    """Today's report (or when it will be taken) and the history of reports."""
    db = get_db()
    ward = current_user.ward_code
    today = clock.today()
    return render_template(
        "reports/index.html", today=today, history=queries.history(db, ward),
        today_report=queries.get_report(db, ward, today.isoformat()),
        cutoff=snapshots.cutoff_time(), due=snapshots.due_day() is not None)


def _report_page(day: date, revision: int | None = None, *, problem: str | None = None,
                 status: int = 200, form: dict | None = None):
    db = get_db()
    ward_code = current_user.ward_code
    report = queries.get_report(db, ward_code, day.isoformat(), revision)
    if report is None and revision is not None:
        abort(404)
    ward = queries.ward(db, ward_code)
    context = {"day": day, "report": report, "ward": ward, "units": present.unit_names(ward),
               "problem": MESSAGES.get(problem) if problem else None,
               "problem_field": FIELDS.get(problem), "form": form or {},
               "today": clock.today(), "due": snapshots.due_day() is not None,
               "downloads": _downloads(day, revision) if report is not None else None,
               "cutoff": snapshots.cutoff_time(),
               "can_manage": current_user.role in MANAGER_ROLES}
    if report is not None:
        series = present.day_series(db, ward_code, day.isoformat())
        rows = present.rows(report)
        revisions = queries.revisions(db, ward_code, day.isoformat())
        context.update(
            rows=rows, dates=present.dates(report), revisions=revisions,
            # The newest revision is the last listed: no second read of the report.
            is_latest=revisions[-1]["revision"] == report["revision"],
            sparklines={row["id"] or "total": present.sparkline(series, row["id"] or "total")
                        for row in rows})
    return render_template("reports/report.html", **context), status


@bp.route("/reports/<day>")
@roles(*READERS)
def report(day):
    """One day's report: the stored figures per group and for the ward, the change since
    the previous report, each group's activations over the days, the note and, for
    leaders, the lock or a correction. `?revision=N` shows an earlier revision."""
    revision = request.args.get("revision", type=int)
    return _report_page(_day(day), revision)


@bp.route("/reports/<day>/snapshot", methods=["POST"])
@roles(*MANAGER_ROLES)
def snapshot(day):
    """Take the day's report now when there is none (before the cut-off, or on a day the
    ward's computer was off at the cut-off)."""
    day = _day(day)
    _report, taken = snapshots.take_snapshot(get_db(), current_user.ward_code, day,
                                             by=current_user.id)
    flash(_("The figures were taken.") if taken else _("This day's report exists already."),
          "success" if taken else "info")
    return redirect(url_for("reports.report", day=day.isoformat()), code=303)


@bp.route("/reports/<day>/note", methods=["POST"])
@roles(*MANAGER_ROLES)
def note(day):
    """Save the leader's note on the unlocked report (the lock form's other button)."""
    day = _day(day)
    form = {key: request.form.get(key, "") for key in ("note", "signer_name", "signer_title")}
    return _act(day, form, lambda: snapshots.save_note(
        get_db(), current_user.ward_code, day.isoformat(), form["note"], by=current_user.id),
        _("The note was saved."))


@bp.route("/reports/<day>/lock", methods=["POST"])
@roles(*MANAGER_ROLES)
def lock(day):
    """Lock the report ("Chốt số liệu") with its note and who signs it."""
    day = _day(day)
    form = {key: request.form.get(key, "") for key in ("note", "signer_name", "signer_title")}
    return _act(day, form, lambda: snapshots.lock(
        get_db(), current_user.ward_code, day.isoformat(), note=form["note"],
        by=current_user.id, signer_name=form["signer_name"],
        signer_title=form["signer_title"]),
        _("The report is locked. Send the PDF and the city file."))


@bp.route("/reports/<day>/revise", methods=["POST"])
@roles(*MANAGER_ROLES)
def revise(day):
    """Start a correction of the locked report: a new revision counted now, with the
    reason; the locked one stays as it was."""
    day = _day(day)
    form = {"reason": request.form.get("reason", "")}
    return _act(day, form, lambda: snapshots.revise(
        get_db(), current_user.ward_code, day.isoformat(), reason=form["reason"],
        by=current_user.id),
        _("A new revision was made from the figures as they are now. Check it, then "
          "lock it."))
