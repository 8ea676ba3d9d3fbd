"""The declaration form on the tablet: start a draft from a resident, autosave as the
officer types, full checks, a read-back summary, then `recorded` (issue 4)."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from htmx_flask import make_response as htmx_response

from .. import clock
from ..db import get_db
from ..htmx import page_or_fragment, wants_fragment
from ..residents import queries as resident_queries
from ..security import FIELD_ROLES, roles
from ..vocabulary import DECLARATION_KIND_LABELS
from . import queries
from .forms import (CLASS_SUGGESTIONS, DeclarationForm, draft_fields,
                    readback_rows)
from .workflow import EDITABLE, KINDS, DeclarationError

bp = Blueprint("declarations", __name__, url_prefix="/declarations")

# People's data, entered by accountable staff (the kiosk comes later, docs/ARCHITECTURE.md#access-control).
TARGET = "declaration"


def _declaration_or_404(declaration_id: str) -> dict:
    row = queries.get_declaration(get_db(), current_user.ward_code, declaration_id)
    if row is None:
        abort(404)
    return row


def _resident(row: dict) -> dict | None:
    return resident_queries.get_resident(get_db(), current_user.ward_code, row["resident_id"],
                                         include_deleted=True)


def _context(row: dict, form: DeclarationForm, **extra) -> dict:
    return {"declaration": row, "resident": _resident(row), "form": form,
            "kind_label": DECLARATION_KIND_LABELS[row["kind"]], "class_suggestions": CLASS_SUGGESTIONS,
            "editable": row["status"] in EDITABLE, **extra}


@roles(*FIELD_ROLES)
def new(resident_id):
    """Start a draft at once (so nothing typed is ever lost); answer a 303 to its form.

    POST only: a GET must never write (a crawler following "Add licence" links once left
    over a thousand empty drafts). `kind` comes from the form or the action's query string.
    """
    kind = request.values.get("kind", "")
    if kind not in KINDS:
        abort(400)
    try:
        row = queries.create_draft(get_db(), ward_code=current_user.ward_code,
                                   resident_id=resident_id, kind=kind,
                                   channel="home_visit", by=current_user.id)
    except DeclarationError:
        abort(404)
    return redirect(url_for("declarations.edit", declaration_id=row["id"]), code=303)


@bp.record_once
def _register_new(state):
    # Under the resident, outside the blueprint's /declarations prefix.
    state.app.add_url_rule("/residents/<resident_id>/declarations/new", "declarations.new",
                           new, methods=["POST"])


@bp.route("/<declaration_id>")
@roles(*FIELD_ROLES)
def edit(declaration_id):
    """Show the tablet form of a draft (or the summary once it is recorded)."""
    row = _declaration_or_404(declaration_id)
    form = DeclarationForm.from_row(row)
    if row["status"] not in EDITABLE:
        flags = queries.list_flags(get_db(), current_user.ward_code, declaration_id)
        return page_or_fragment("declarations/form.html", "declarations/_readback.html",
                                TARGET, **_context(row, form, rows=readback_rows(row, row),
                                                   flags=flags))
    return page_or_fragment("declarations/form.html", "declarations/_form.html", TARGET,
                            **_context(row, form))


@bp.route("/<declaration_id>/draft", methods=["POST"])
@roles(*FIELD_ROLES)
def save_draft(declaration_id):
    """Autosave: store what was typed, unchecked, and answer the save status."""
    row = _declaration_or_404(declaration_id)
    if row["status"] not in EDITABLE:
        abort(409)
    fields, bad_dates = draft_fields(request.form, row["kind"])
    queries.save_draft(get_db(), current_user.ward_code, declaration_id, fields,
                       by=current_user.id, reload=False)
    labels = []
    if bad_dates:  # building the whole form only for its labels costs a few ms a save
        form = DeclarationForm(formdata=None)
        labels = [form[name].label.text for name in bad_dates]
    return render_template("declarations/_save_status.html",
                           time=format_datetime(clock.now(), "HH:mm"), bad_dates=labels)


def _readback(row: dict, form: DeclarationForm):
    """Answer the read-back summary to confirm with the resident."""
    return page_or_fragment(
        "declarations/form.html", "declarations/_readback.html", TARGET,
        **_context(row, form, rows=readback_rows(row, row), confirming=True,
                   note=getattr(form, "licence_note", None)))


@bp.route("/<declaration_id>/record", methods=["POST"])
@roles(*FIELD_ROLES)
def record(declaration_id):
    """Check everything; show the read-back summary; on `confirm=1`, record it."""
    row = _declaration_or_404(declaration_id)
    if row["status"] not in EDITABLE:
        abort(409)
    db = get_db()
    form = DeclarationForm()
    ok = form.check(row, _resident(row))
    if not ok:
        # Keep what was typed, even with mistakes in it.
        fields, _bad = draft_fields(request.form, row["kind"])
        try:
            row = queries.save_draft(db, current_user.ward_code, declaration_id, fields,
                                     by=current_user.id)
        except DeclarationError:
            # Another tablet recorded or discarded the draft meanwhile: as below.
            abort(409)
        return page_or_fragment("declarations/form.html", "declarations/_form.html", TARGET,
                                status=422, **_context(row, form))
    recorded = request.form.get("confirm") == "1"
    if not recorded and not queries.changed_fields(row, form.cleaned):
        # The read-back of what the autosaves already stored: nothing to write, so it
        # does not queue for the write lock.
        return _readback(row, form)
    try:
        if recorded:
            row = queries.record_declaration(db, current_user.ward_code, declaration_id,
                                             form.cleaned, role=current_user.role,
                                             by=current_user.id)
        else:
            row = queries.save_draft(db, current_user.ward_code, declaration_id,
                                     form.cleaned, by=current_user.id)
    except DeclarationError:
        # Checked above; only a concurrent change (another tablet) gets here.
        abort(409)
    if not recorded:
        return _readback(row, form)
    resident = _resident(row)
    target = url_for("residents.household", household_id=resident["household_id"])
    flash(_("%(kind)s recorded for %(name)s.", kind=DECLARATION_KIND_LABELS[row["kind"]],
            name=resident["full_name"]), "success")
    if wants_fragment(TARGET):
        return htmx_response("", redirect=target)
    return redirect(target, code=303)


@bp.route("/<declaration_id>/discard", methods=["POST"])
@roles(*FIELD_ROLES)
def discard(declaration_id):
    """Throw away a draft (soft delete, audited) and go back to the household."""
    _declaration_or_404(declaration_id)
    try:
        row = queries.discard_draft(get_db(), current_user.ward_code, declaration_id,
                                    by=current_user.id)
    except DeclarationError:
        abort(409)
    resident = _resident(row)
    flash(_("Draft discarded."), "success")
    return redirect(url_for("residents.household", household_id=resident["household_id"]),
                    code=303)


@bp.route("/<declaration_id>/submitted", methods=["POST"])
@roles(*FIELD_ROLES)
def mark_submitted(declaration_id):
    """Record that the resident submitted the declaration on iHanoi (now), or why not."""
    row = _declaration_or_404(declaration_id)
    on_ihanoi = request.form.get("on_ihanoi") == "1"
    reason = (request.form.get("not_submitted_reason") or "").strip()[:300]
    if not on_ihanoi and not reason:
        form = DeclarationForm.from_row(row)
        return page_or_fragment(
            "declarations/form.html", "declarations/_readback.html", TARGET, status=422,
            submission_error=_("Say why it was not submitted on iHanoi."),
            **_context(row, form, rows=readback_rows(row, row)))
    try:
        queries.transition(get_db(), current_user.ward_code, declaration_id, "submitted",
                           role=current_user.role, by=current_user.id,
                           submitted_at=clock.now_iso() if on_ihanoi else None,
                           reason=None if on_ihanoi else reason)
    except DeclarationError:
        abort(409)
    flash(_("Submission recorded."), "success")
    return redirect(url_for("declarations.edit", declaration_id=declaration_id), code=303)
