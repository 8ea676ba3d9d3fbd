"""The leader's side of declarations: the list with counts and filters
(`GET /declarations`), bulk verify, one review (verified / needs_fix), and the export for
the traffic police (`GET /declarations/export.xlsx|.csv`).

Filters travel in the query string: ids and enumerations only, never personal data
(docs/ARCHITECTURE.md#personal-data), each checked against an allow-list (unknown values are ignored).
"""
from flask import (Blueprint, Response, abort, flash, redirect, request,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from .. import clock
from ..db import get_db
from ..groups import queries as group_queries
from ..htmx import page_or_fragment
from ..security import FIELD_ROLES, MANAGER_ROLES, roles
from . import export, queries
from .workflow import KINDS, STATUSES, DeclarationError

review_bp = Blueprint("declaration_review", __name__, url_prefix="/declarations")

PAGE_SIZE = queries.PAGE_SIZE  # 50, and never more
MAX_PAGE = 10_000
MAX_BULK = 500  # ids in one bulk verify


REFUSALS = {
    "not_found": _l("A selected declaration no longer exists."),
    "not_allowed": _l("Only submitted declarations can be verified; a declaration can "
                      "be sent back only once recorded or submitted."),
    "incomplete": _l("A selected declaration is not complete: send it back to the officer "
                     "instead."),
    "reason_required": _l("Say what must be fixed."),
    "submission_missing": _l("The declaration has no submission recorded."),
}


# --- filters -------------------------------------------------------------------------

def _filters(source) -> dict:
    """Return the valid filters in `source` (request.args or request.form) as
    {status, kind, group, flagged, page}; anything unknown is dropped."""
    groups = {g["id"] for g in group_queries.list_groups(get_db(), current_user.ward_code)}
    found = {}
    status = source.get("status", "")
    if status in STATUSES:
        found["status"] = status
    kind = source.get("kind", "")
    if kind in KINDS:
        found["kind"] = kind
    group = source.get("group", "")
    if group in groups:
        found["group"] = group
    flagged = source.get("flagged", "")
    if flagged in ("0", "1"):
        found["flagged"] = flagged
    try:
        page = int(source.get("page", 0))
    except (TypeError, ValueError):
        page = 0
    if 0 < page <= MAX_PAGE:
        found["page"] = page
    return found


def _list_context(filters: dict, error: str | None = None) -> dict:
    db = get_db()
    ward = current_user.ward_code
    page = filters.get("page", 0)
    rows = queries.list_declarations(
        db, ward, status=filters.get("status"), kind=filters.get("kind"),
        group_id=filters.get("group"),
        flagged=None if "flagged" not in filters else filters["flagged"] == "1",
        officer_id=current_user.id if current_user.role == "officer" else None,
        limit=PAGE_SIZE + 1, offset=page * PAGE_SIZE)
    return {
        "rows": rows[:PAGE_SIZE], "more": len(rows) > PAGE_SIZE, "page": page,
        "filters": filters, "counts": queries.counts_by_status(db, ward),
        "groups": group_queries.list_groups(db, ward), "statuses": STATUSES, "kinds": KINDS,
        "can_review": current_user.role in MANAGER_ROLES, "error": error,
    }


def _back(filters: dict):
    """Redirect (303) to the list with the same filters."""
    return redirect(url_for("declaration_review.index", **filters), code=303)


def _refused(filters: dict, message: str):
    return page_or_fragment("declarations/list.html", "declarations/_list.html",
                            "declarations-list", status=422,
                            **_list_context(filters, error=message))


# --- pages ---------------------------------------------------------------------------

@review_bp.route("")
@roles(*FIELD_ROLES)
def index():
    """List the ward's declarations: counts per status, filters, and (for leaders) the
    bulk verify form. An officer's own drafts and needs_fix items come first."""
    return page_or_fragment("declarations/list.html", "declarations/_list.html",
                            "declarations-list", **_list_context(_filters(request.args)))


@review_bp.route("/verify", methods=["POST"])
@roles(*MANAGER_ROLES)
def verify():
    """Verify the selected declarations, all or none."""
    filters = _filters(request.form)
    ids = [i for i in request.form.getlist("ids") if i][:MAX_BULK + 1]
    if not ids:
        return _refused(filters, _("Select the declarations to verify."))
    if len(ids) > MAX_BULK:
        return _refused(filters, _("Verify at most %(num)s declarations at a time.",
                                   num=MAX_BULK))
    try:
        count = queries.verify_many(get_db(), current_user.ward_code, ids,
                                    role=current_user.role, by=current_user.id)
    except DeclarationError as e:
        return _refused(filters, _("Nothing was verified.") + " " + str(
            REFUSALS.get(e.code, REFUSALS["not_allowed"])))
    flash(ngettext("%(num)s declaration verified.", "%(num)s declarations verified.", count),
          "success")
    return _back(filters)


@review_bp.route("/<declaration_id>/review", methods=["POST"])
@roles(*MANAGER_ROLES)
def review(declaration_id):
    """Record a leader's review of one declaration: verified, or needs_fix with a reason."""
    db = get_db()
    filters = _filters(request.form)
    if queries.get_declaration(db, current_user.ward_code, declaration_id) is None:
        abort(404)
    decision = request.form.get("decision", "")
    if decision not in ("verified", "needs_fix"):
        return _refused(filters, _("Choose whether to verify or send back."))
    reason = request.form.get("reason", "")[:500]
    try:
        queries.transition(db, current_user.ward_code, declaration_id, decision,
                           role=current_user.role, by=current_user.id, reason=reason)
    except DeclarationError as e:
        if e.code == "not_found":
            abort(404)
        return _refused(filters, str(REFUSALS.get(e.code, REFUSALS["not_allowed"])))
    if decision == "verified":
        flash(_("Declaration verified."), "success")
    else:
        flash(_("Declaration sent back to the officer."), "success")
    return _back(filters)


# --- export --------------------------------------------------------------------------

def _export(fmt: str):
    ward = current_user.ward_code
    body = export.export_verified(get_db(), ward, fmt, by=current_user.id)
    day = clock.today().isoformat()
    resp = Response(body, mimetype=export.MIMETYPES[fmt])
    resp.headers["Content-Disposition"] = (
        f'attachment; filename="khai-bao-{ward}-{day}.{fmt}"')
    resp.headers["Cache-Control"] = "no-store"
    return resp


@review_bp.route("/export.xlsx")
@roles(*MANAGER_ROLES)
def export_xlsx():
    """Download the ward's verified declarations as XLSX (audited)."""
    return _export("xlsx")


@review_bp.route("/export.csv")
@roles(*MANAGER_ROLES)
def export_csv():
    """Download the ward's verified declarations as CSV (audited)."""
    return _export("csv")
