"""Home visits: Today (the officer's round), the visit screen, the household timeline,
the leaders' group progress (page and CSV) and assignments of officers to groups."""
from flask import (Blueprint, abort, flash, make_response, redirect, render_template,
                   request, url_for)
from flask_babel import format_percent
from flask_babel import gettext as _
from flask_login import current_user
from htmx_flask import make_response as htmx_response

from .. import clock
from ..db import get_db
from ..declarations import queries as declaration_queries
from ..groups import queries as group_queries
from ..htmx import page_or_fragment, wants_fragment
from ..residents import queries as resident_queries
from ..kiosk import sessions as help_sessions
from ..security import FIELD_ROLES, MANAGER_ROLES, PROGRESS_ROLES, roles
from . import progress as progress_mod
from ..reports.figures import ward_figures
from . import queries
from .days import local_today
from .forms import COME_BACK_TIMES, AssignmentForm, VisitForm, come_back_days

bp = Blueprint("visits", __name__)


@bp.app_template_filter("percent")
def percent(value: float) -> str:
    """Return a percentage with one decimal in the reader's locale ("12,5 %")."""
    return format_percent(value / 100, format="#,##0.0 %")


def _household_or_404(household_id: str) -> dict:
    household = resident_queries.get_household(get_db(), current_user.ward_code,
                                               household_id)
    if household is None:
        abort(404)
    return household


# --- Today ---------------------------------------------------------------------------

def scope_groups(db, ward_groups: list[dict]) -> list[dict]:
    """Return the groups of `ward_groups` (the ward's, in natural order) the signed-in
    user's round covers: an officer's assigned groups, all of them for leaders and
    admins."""
    if current_user.role != "officer":
        return ward_groups
    mine = set(queries.assigned_group_ids(db, current_user.ward_code, current_user.id))
    return [g for g in ward_groups if g["id"] in mine]


def _page_number() -> int:
    try:
        return max(0, min(int(request.args.get("page", 0)), 1000))
    except ValueError:
        return 0


def today_context(db, ward_groups: list[dict]) -> dict:
    """Build Today for the signed-in user from the `group` and `page` query parameters.

    :raises NotFound: for a group outside the user's round (another ward's, unknown, or
        not assigned to this officer).
    """
    groups = scope_groups(db, ward_groups)
    group_id = request.args.get("group") or None
    if group_id is not None and group_id not in {g["id"] for g in groups}:
        abort(404)
    chosen = [group_id] if group_id else [g["id"] for g in groups]
    page = _page_number()
    data = queries.today(db, current_user.ward_code, chosen, page=page)
    return {
        "my_groups": groups, "group_id": group_id, "rows": data["rows"],
        "counts": data["counts"], "page": page, "more": data["more"],
        "today": local_today(),
    }


def today_page(status: int = 200):
    """Return the Today page: the round on top, the ward's groups below."""
    db = get_db()
    ward_groups = group_queries.list_groups(db, current_user.ward_code)
    return render_template("visits/today.html", groups=ward_groups,
                           total_target=sum(g["target_adults"] for g in ward_groups),
                           **today_context(db, ward_groups)), status


@bp.route("/today")
@roles(*FIELD_ROLES)
def today():
    """Show Today: the households of my groups in round order, with counts; "show more"
    answers the next rows only."""
    if wants_fragment("today-more"):
        db = get_db()
        return render_template(
            "visits/_today_rows.html",
            **today_context(db, group_queries.list_groups(db, current_user.ward_code)))
    return today_page()


# --- the visit -----------------------------------------------------------------------

def _visit_context(household: dict, form: VisitForm | None = None) -> dict:
    db = get_db()
    now = clock.now()
    day = local_today(now)
    residents = queries.adult_residents(db, household["id"], day)
    return {
        "household": household, "residents": residents,
        "declarations_by_resident": declaration_queries.by_resident(
            db, current_user.ward_code, [r["id"] for r in residents]),
        "form": form or VisitForm.blank(residents, today=day, now=now),
        "state": queries.household_state(db, household["id"], now=now),
        "timeline": queries.timeline(db, current_user.ward_code, household["id"]),
        "come_back_days": come_back_days(day), "come_back_times": COME_BACK_TIMES,
    }


@bp.route("/households/<household_id>/visits", methods=["GET", "POST"])
@roles(*FIELD_ROLES)
def visit(household_id):
    """Record a visit at the door: the outcome in one tap, come back in two, notes, and
    each adult's iHanoi and Zalo OA status."""
    db = get_db()
    if request.method != "POST":
        household = resident_queries.view_household(db, current_user.ward_code,
                                                    household_id, by=current_user.id)
        if household is None:
            abort(404)
        return render_template("visits/visit.html", **_visit_context(household))
    household = _household_or_404(household_id)
    now = clock.now()
    day = local_today(now)
    residents = queries.adult_residents(db, household["id"], day)
    form = VisitForm(request.form, residents, today=day, now=now)
    if not form.validate():
        return page_or_fragment("visits/visit.html", "visits/_form.html", "visit-form",
                                status=422, **_visit_context(household, form))
    try:
        recorded = queries.record_visit(
            db, ward_code=current_user.ward_code, household_id=household["id"],
            by=current_user.id, outcome=form.outcome, notes=form.notes,
            follow_up_at=form.follow_up_at, onboarding=form.onboarding)
    except queries.VisitError:
        abort(404)  # the household or a resident went away meanwhile
    if wants_fragment("visit-form"):
        context = _visit_context(household)
        # The form's swap, plus the header and the licence/vehicle buttons out of band:
        # outside the form, they would otherwise still say "Never visited" (issue 9).
        html = "".join((
            render_template("visits/_saved.html", visit=recorded,
                            changes=len(form.onboarding), **context),
            render_template("visits/_state.html", oob=True, **context),
            render_template("visits/_declarations.html", oob=True, **context)))
        return htmx_response(html, trigger="household-changed")
    flash(_("Visit recorded."), "success")
    return redirect(url_for("visits.visit", household_id=household["id"]), code=303)


@bp.route("/households/<household_id>/timeline")
@roles(*FIELD_ROLES)
def timeline(household_id):
    """Answer the household's timeline (visits, status changes, declarations)."""
    household = _household_or_404(household_id)
    return render_template("visits/_timeline.html", household=household,
                           timeline=queries.timeline(get_db(), current_user.ward_code,
                                                     household["id"]))


# --- progress ------------------------------------------------------------------------

def _sort_args() -> tuple[str, bool]:
    sort = request.args.get("sort", "name")
    if sort not in progress_mod.SORTS:
        sort = "name"
    return sort, request.args.get("dir") == "desc"


@bp.route("/progress")
@roles(*PROGRESS_ROLES)
def progress():
    """Show each group's coverage: adults, iHanoi activations against the target,
    households visited, follow-ups due, declarations; sortable."""
    db = get_db()
    report = ward_figures(db, current_user.ward_code)
    sort, descending = _sort_args()
    rows = progress_mod.sort_rows(report["rows"], sort, descending)
    return render_template(
        "visits/progress.html", report=report, rows=rows, sort=sort, descending=descending,
        unassigned=queries.unassigned_groups(db, current_user.ward_code),
        help=help_sessions.day_figures(db, current_user.ward_code, report["report_date"]))


@bp.route("/progress.csv")
@roles(*PROGRESS_ROLES)
def progress_csv():
    """Download the progress table as CSV (UTF-8 with BOM)."""
    sort, descending = _sort_args()
    report, data = progress_mod.export_progress(get_db(), current_user.ward_code, sort=sort,
                                                descending=descending, by=current_user.id)
    resp = make_response(data)
    resp.headers["Content-Type"] = "text/csv; charset=utf-8"
    resp.headers["Content-Disposition"] = (
        f'attachment; filename="tien-do-{report["report_date"].isoformat()}.csv"')
    return resp


# --- assignments ---------------------------------------------------------------------

def _assignments_page(form: AssignmentForm | None = None, status: int = 200):
    db = get_db()
    groups = group_queries.list_groups(db, current_user.ward_code)
    users = queries.assignable_users(db, current_user.ward_code)
    assignments = queries.list_assignments(db, current_user.ward_code)
    by_group = {g["id"]: [] for g in groups}
    for a in assignments:
        by_group.setdefault(a["group_id"], []).append(a)
    return render_template(
        "visits/assignments.html", groups=groups, users=users, by_group=by_group,
        form=form or AssignmentForm(groups=groups, users=users),
        unassigned=queries.unassigned_groups(db, current_user.ward_code)), status


@bp.route("/assignments", methods=["GET", "POST"])
@roles(*MANAGER_ROLES)
def assignments():
    """List which officers cover which groups (unassigned groups as a warning); assign
    one more."""
    if request.method != "POST":
        return _assignments_page()
    db = get_db()
    form = AssignmentForm(request.form,
                          groups=group_queries.list_groups(db, current_user.ward_code),
                          users=queries.assignable_users(db, current_user.ward_code))
    if not form.validate():
        return _assignments_page(form, 422)
    queries.assign(db, current_user.ward_code, form.group_id, form.officer_id,
                   by=current_user.id)
    flash(_("Assignment saved."), "success")
    return redirect(url_for("visits.assignments"), code=303)


@bp.route("/assignments/<assignment_id>/delete", methods=["POST"])
@roles(*MANAGER_ROLES)
def unassign(assignment_id):
    """End an assignment."""
    if not queries.unassign(get_db(), current_user.ward_code, assignment_id,
                            by=current_user.id):
        abort(404)
    flash(_("Assignment removed."), "success")
    return redirect(url_for("visits.assignments"), code=303)
