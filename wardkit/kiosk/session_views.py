"""Help sessions' pages (docs/ARCHITECTURE.md#kiosk): the ward's sessions with what each
did, the form a leader plans one with, and one session's page."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..db import get_db
from ..security import FIELD_ROLES, MANAGER_ROLES, roles
from ..visits.queries import assignable_users
from . import sessions
from .forms import HelpSessionForm

bp = Blueprint("help_sessions", __name__, url_prefix="/queue/sessions")


def _page(form=None, status=200):
    db = get_db()
    users = assignable_users(db, current_user.ward_code)
    return render_template(
        "queue/sessions.html", sessions=sessions.list_sessions(db, current_user.ward_code),
        form=form or HelpSessionForm(users=users), users=users,
        can_plan=current_user.role in MANAGER_ROLES), status


@bp.route("")
@roles(*FIELD_ROLES)
def index():
    """The ward's help sessions, latest first, with people served, declarations
    recorded and iHanoi accounts activated; leaders plan new ones here."""
    return _page()


@bp.route("", methods=["POST"])
@roles(*MANAGER_ROLES)
def plan():
    """Plan a help session; errors beside the fields (422)."""
    db = get_db()
    form = HelpSessionForm(request.form, users=assignable_users(db, current_user.ward_code))
    if not form.validate():
        return _page(form, 422)
    try:
        session = sessions.plan(db, current_user.ward_code, day=form.day_value,
                                starts_at=form.starts_at, ends_at=form.ends_at,
                                place=form.place, officer_ids=form.officer_ids,
                                by=current_user.id)
    except sessions.SessionRefused:
        form.errors["officer_ids"] = _("Choose at least one officer.")
        return _page(form, 422)
    flash(_("Help session planned."), "success")
    return redirect(url_for("help_sessions.show", session_id=session["id"]), code=303)


@bp.route("/<session_id>")
@roles(*FIELD_ROLES)
def show(session_id):
    """One help session: when, where, who, and what it did."""
    db = get_db()
    session = sessions.get_session(db, current_user.ward_code, session_id)
    if session is None:
        abort(404)
    return render_template("queue/session.html", session=session,
                           figures=sessions.figures(db, session),
                           can_plan=current_user.role in MANAGER_ROLES)


@bp.route("/<session_id>/cancel", methods=["POST"])
@roles(*MANAGER_ROLES)
def cancel(session_id):
    """Cancel a help session."""
    try:
        sessions.cancel(get_db(), current_user.ward_code, session_id, by=current_user.id)
    except sessions.SessionRefused:
        abort(404)
    flash(_("Help session cancelled."), "success")
    return redirect(url_for("help_sessions.index"), code=303)
