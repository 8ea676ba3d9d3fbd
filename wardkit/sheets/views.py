"""Printed QR onboarding sheets: per household and per residential group (PDF, or an HTML
preview with `?format=html`), batch PDFs with progress, the household QR's landing route
`/r/<reference>`, and the admin's sheet settings page.

Every print and preview is audited with the households it showed; `/r/<reference>` is
signed-in, ward-scoped, rate-limited and audited (queries.py holds those actions).
"""
import os

from flask import (Blueprint, Response, abort, current_app, flash, redirect,
                   render_template, request, url_for)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import TooManyRequests

from .. import clock
from ..db import get_db
from ..errors import error_response
from ..groups import queries as group_queries
from ..htmx import page_or_fragment, wants_fragment
from ..residents import queries as resident_queries
from ..security import FIELD_ROLES, roles
from . import documents, jobs, queries
from .forms import SettingsForm

bp = Blueprint("sheets", __name__)

PREVIEW_LIMIT = 50          # households shown in a group's HTML preview
STREAM_BLOCK = 64 * 1024


def _layout(allowed: tuple[str, ...]) -> str:
    layout = request.args.get("layout", "page")
    if layout not in allowed:
        abort(404)
    return layout


def _wants_html() -> bool:
    fmt = request.args.get("format", "pdf")
    if fmt not in ("pdf", "html"):
        abort(404)
    return fmt == "html"


def _group_or_404(group_id: str) -> dict:
    group = group_queries.get_group(get_db(), current_user.ward_code, group_id)
    if group is None:
        abort(404)
    return group


def _qr_base(settings: dict) -> tuple[str, bool]:
    """Return `(base, warn)`: the address the household QR codes point to and whether
    the sheets must be marked as test copies (see documents.qr_base)."""
    return documents.qr_base(settings.get("public_url"),
                             current_app.config.get("PUBLIC_URL"), request.url_root)


def _locale() -> str:
    return str(get_locale() or "vi")


def _audit_print(household_ids: list[str], *, preview: bool = False, **detail) -> None:
    queries.record_sheets_shown(get_db(), current_user.ward_code, household_ids,
                                by=current_user.id, preview=preview, **detail)


def _stream(path, filename: str, *, delete: bool) -> Response:
    """Stream a PDF file in blocks of STREAM_BLOCK (never whole in memory); with `delete`
    the file is unlinked at once (the open handle keeps it readable until sent)."""
    handle = open(path, "rb")
    if delete:
        os.unlink(path)
    size = os.fstat(handle.fileno()).st_size

    def blocks():
        with handle:
            while block := handle.read(STREAM_BLOCK):
                yield block

    resp = Response(blocks(), mimetype="application/pdf", direct_passthrough=True)
    resp.headers["Content-Length"] = str(size)
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp


def _render_to_temp(layout: str, household_ids: list[str], *, settings: dict,
                    group_name: str) -> str:
    folder = jobs.JOBS.directory()   # swept with the jobs if a killed server left it
    path = folder / f"direct-{os.urandom(12).hex()}.pdf"
    base_url, qr_warning = _qr_base(settings)
    try:
        jobs.render_group(get_db(), current_user.ward_code, layout, household_ids, str(path),
                          base_url=base_url, qr_warning=qr_warning,
                          ward_name=current_user.ward_name,
                          group_name=group_name, sheet_locale=_locale(), settings=settings,
                          workers=current_app.config.get("SHEETS_WORKERS"),
                          tmp_dir=str(folder))
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return str(path)


def _sheet_households(household_ids: list[str], settings: dict) -> list[dict]:
    return documents.with_codes(
        queries.sheet_households(get_db(), current_user.ward_code, household_ids,
                                 today=clock.today()),
        _qr_base(settings)[0])


# --- one household -----------------------------------------------------------------------

@bp.route("/households/<household_id>/sheet.pdf")
@roles(*FIELD_ROLES)
def household_sheet(household_id):
    """The household's sheet as a PDF (`layout=page|large`), or its HTML preview
    (`format=html`)."""
    layout = _layout(documents.HOUSEHOLD_LAYOUTS)
    as_html = _wants_html()
    db = get_db()
    household = resident_queries.get_household(db, current_user.ward_code, household_id)
    if household is None:
        abort(404)
    settings = queries.effective_settings(db, current_user.ward_code)
    ids = [household["id"]]
    if as_html:
        _audit_print(ids, preview=True, layout=layout)
        return documents.document_html(
            layout, settings=settings, ward_name=current_user.ward_name,
            group_name=household["group_name"], households=_sheet_households(ids, settings),
            for_pdf=False, sheet_locale=_locale(), qr_warning=_qr_base(settings)[1],
            back_url=url_for("residents.household", household_id=household_id),
            pdf_url=url_for(".household_sheet", household_id=household_id, layout=layout))
    path = _render_to_temp(layout, ids, settings=settings, group_name=household["group_name"])
    _audit_print(ids, layout=layout)
    return _stream(path, f"wardkit-sheet-{layout}.pdf", delete=True)


# --- a residential group ------------------------------------------------------------------

@bp.route("/groups/<group_id>/sheets")
@roles(*FIELD_ROLES)
def group_print(group_id):
    """The group's print page: choose a layout, preview, make the PDF with progress."""
    group = _group_or_404(group_id)
    db = get_db()
    settings = queries.effective_settings(db, current_user.ward_code)
    return render_template(
        "sheets/group.html", group=group,
        count=queries.count_group_households(db, current_user.ward_code, group["id"]),
        settings=settings, qr_warning=documents.codes_lead_nowhere(settings),
        layout=request.args.get("layout") if request.args.get("layout") in documents.LAYOUTS
        else "page")


@bp.route("/groups/<group_id>/sheets.pdf")
@roles(*FIELD_ROLES)
def group_sheets(group_id):
    """All the group's sheets in one PDF, ordered by address (`layout=page|cards|large`),
    streamed; or the HTML preview of the first PREVIEW_LIMIT (`format=html`)."""
    layout = _layout(documents.LAYOUTS)
    as_html = _wants_html()
    group = _group_or_404(group_id)
    db = get_db()
    settings = queries.effective_settings(db, current_user.ward_code)
    ids = queries.group_household_ids(db, current_user.ward_code, group["id"])
    if layout != "cards" and not ids:
        flash(_("This group has no households yet: there is nothing to print."), "info")
        return redirect(url_for(".group_print", group_id=group_id, layout=layout), code=303)
    if as_html:
        if layout == "cards":
            context = {"card_pages": 1,
                       "sheet_count": documents.card_page_count(len(ids))}
        else:
            shown = ids[:PREVIEW_LIMIT]
            _audit_print(shown, preview=True, layout=layout, group_id=group["id"])
            context = {"households": _sheet_households(shown, settings),
                       "sheet_count": len(ids)}
        return documents.document_html(
            layout, settings=settings, ward_name=current_user.ward_name,
            group_name=group["name"], for_pdf=False, sheet_locale=_locale(),
            qr_warning=layout != "cards" and _qr_base(settings)[1],
            back_url=url_for(".group_print", group_id=group_id, layout=layout),
            pdf_url=url_for(".group_sheets", group_id=group_id, layout=layout), **context)
    path = _render_to_temp(layout, ids, settings=settings, group_name=group["name"])
    if layout != "cards":
        _audit_print(ids, layout=layout, group_id=group["id"])
    return _stream(path, f"wardkit-sheets-{layout}.pdf", delete=True)


@bp.route("/groups/<group_id>/sheets/jobs", methods=["POST"])
@roles(*FIELD_ROLES)
def start_job(group_id):
    """Start making the group's PDF in the background; answer the progress block."""
    group = _group_or_404(group_id)
    layout = request.form.get("layout", "page")
    if layout not in documents.LAYOUTS:
        abort(404)
    db = get_db()
    settings = queries.effective_settings(db, current_user.ward_code)
    ids = queries.group_household_ids(db, current_user.ward_code, group["id"])
    if layout != "cards" and not ids:
        return render_template("sheets/_job.html", token=None, group=group,
                               job={"state": "empty"}, running=False), 422
    base_url, qr_warning = _qr_base(settings)
    token = jobs.start(db, current_user.ward_code, group=group, layout=layout,
                       household_ids=ids, base_url=base_url,
                       qr_warning=qr_warning and layout != "cards", locale=_locale(),
                       ward_name=current_user.ward_name, by=current_user.id)
    return _progress(token, group)


def _own_job(token: str | None) -> dict:
    """Return the signed-in user's batch job's metadata; 404 for any other token."""
    meta = jobs.JOBS.own(token, current_user.id, current_user.ward_code)
    if meta is None:
        abort(404)
    return meta


def _progress(token: str, group: dict):
    job = jobs.JOBS.status(token)
    context = {"token": token, "job": job, "group": group,
               "running": job["state"] in jobs.JOBS.running}
    if not wants_fragment("sheets-job"):  # the polls answer the fragment alone
        context["qr_warning"] = documents.codes_lead_nowhere(
            queries.effective_settings(get_db(), current_user.ward_code))
    return page_or_fragment("sheets/job.html", "sheets/_job.html", "sheets-job", **context)


@bp.route("/sheets/jobs/status", methods=["POST"])
@roles(*FIELD_ROLES)
def job_status():
    """Answer a batch job's progress block (polled every second while it runs)."""
    token = request.form.get("token")
    meta = _own_job(token)
    group = _group_or_404(meta["group_id"])
    return _progress(token, group)


@bp.route("/sheets/jobs/<token>/sheets.pdf")
@roles(*FIELD_ROLES)
def job_pdf(token):
    """Download a finished batch PDF (kept for 30 minutes)."""
    meta = _own_job(token)
    path = jobs.pdf_path(token)
    if not path.exists():
        abort(404)
    return _stream(path, f"wardkit-sheets-{meta['layout']}.pdf", delete=False)


# --- the household QR ---------------------------------------------------------------------

@bp.route("/r/<reference>")
@roles(*FIELD_ROLES)
def scan(reference):
    """What a scanned household QR opens: the household page of the signed-in user's
    ward (404 for an unknown, revoked or other ward's token)."""
    db = get_db()
    wait = queries.scan_retry_after(db, current_user.id,
                                    limit=current_app.config.get("SCAN_MAX_PER_MINUTE", 30))
    if wait:
        raise TooManyRequests(retry_after=wait)
    household = queries.scan_household(db, current_user.ward_code, reference,
                                       by=current_user.id)
    if household is None:
        # Revoked tokens are not kept, so a replaced sheet and a stranger's look alike;
        # the officer holding an old sheet needs to hear the likely reason.
        return error_response(404, _(
            "This QR code is no longer valid: a new code may have been issued for the "
            "household (sheets printed before stop working), or it belongs to another "
            "ward."))
    return redirect(url_for("residents.household", household_id=household["id"]), code=303)


# --- settings -----------------------------------------------------------------------------

@bp.route("/settings", methods=["GET", "POST"])
@roles("admin")
def settings():
    """The ward's sheet settings: official links, hotlines, police contact."""
    db = get_db()
    stored = queries.get_settings(db, current_user.ward_code)
    effective = queries.effective_settings(db, current_user.ward_code)
    if request.method != "POST":
        form = SettingsForm(formdata=None, data={
            field: (stored or {}).get(field) or queries.DEFAULTS.get(field, "")
            for field in queries.SETTING_FIELDS})
        return render_template("settings/sheets.html", form=form, effective=effective,
                               stored=stored, server_url=current_app.config.get("PUBLIC_URL"),
                               qr_warning=documents.codes_lead_nowhere(effective))
    form = SettingsForm()
    if not form.validate():
        return render_template("settings/sheets.html", form=form, effective=effective,
                               stored=stored,
                               server_url=current_app.config.get("PUBLIC_URL"),
                               qr_warning=documents.codes_lead_nowhere(effective)), 422
    queries.save_settings(db, current_user.ward_code, form.data, by=current_user.id)
    flash(_("Settings saved. Sheets now print with these links."), "success")
    return redirect(url_for(".settings"), code=303)
