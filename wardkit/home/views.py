"""The home page (today's work: for now the ward and its groups), `/healthz` and the
language switch."""
from flask import (Blueprint, current_app, jsonify, redirect, render_template, request,
                   session, url_for)
from flask_login import current_user

from .. import db as dbmod
from ..auth.views import safe_next
from ..groups import queries as group_queries
from ..groups.forms import GroupForm
from ..security import CITY_VIEWER, STAFF, roles

bp = Blueprint("home", __name__)


def home_page(group_form: GroupForm | None = None, status: int = 200):
    """Return the home page response; `group_form` carries errors from a failed create.
    A viewer of the whole city has no ward: their home is the city's roll-up."""
    if current_user.is_city:
        return redirect(url_for("city.index"))
    if current_user.role == "officer" and group_form is None:  # officers start on Today
        from ..visits.views import today_page
        return today_page(status)
    groups = group_queries.list_groups(dbmod.get_db(), current_user.ward_code)
    return render_template(
        "home/index.html", groups=groups, group_form=group_form or GroupForm(),
        total_target=sum(g["target_adults"] for g in groups),
    ), status


@bp.route("/")
@roles(*STAFF, CITY_VIEWER)
def index():
    """Show the home page for the signed-in user's ward."""
    return home_page()


@bp.route("/healthz")
def healthz():
    """Answer whether the database responds, with SQLite's version and the schema step."""
    try:
        db = dbmod.get_db()
        db.execute("SELECT 1").fetchone()
        schema = dbmod.latest_migration(db)
    except Exception:  # any database failure means "not healthy", never a stack trace
        current_app.logger.exception("health check failed")
        return jsonify(status="error"), 503
    return jsonify(status="ok", sqlite=dbmod.sqlite3.sqlite_version, schema=schema)


@bp.route("/language", methods=["POST"])
def set_language():
    """Switch the interface language (Vietnamese or English) and go back."""
    lang = request.form.get("lang")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")), code=303)
