"""Create, rename and set the adult target of the ward's residential groups."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from htmx_flask import make_response as htmx_response
from flask_babel import gettext as _
from flask_login import current_user

from ..db import get_db
from ..home.views import home_page
from ..htmx import page_or_fragment, wants_fragment
from ..security import MANAGER_ROLES, STAFF, roles
from . import queries
from .forms import GroupForm

bp = Blueprint("groups", __name__, url_prefix="/groups")


def _group_or_404(group_id: str) -> dict:
    group = queries.get_group(get_db(), current_user.ward_code, group_id)
    if group is None:
        abort(404)
    return group


def _check_unique(form: GroupForm, except_id: str | None = None) -> bool:
    if queries.name_taken(get_db(), current_user.ward_code, form.name.data, except_id=except_id):
        form.name.errors = list(form.name.errors) + [
            _("The ward already has a group with this name.")]
        return False
    return True


def _fields(form: GroupForm) -> dict:
    return {"name": form.name.data, "cluster": form.cluster.data or None,
            "target_adults": int(form.target_adults.data or 0)}


@bp.route("/", methods=["POST"])
@roles(*MANAGER_ROLES)
def create():
    """Create a group in the user's ward, then show the home page again."""
    form = GroupForm()
    if not (form.validate() and _check_unique(form)):
        return home_page(group_form=form, status=422)
    group = queries.create_group(get_db(), ward_code=current_user.ward_code,
                                 by=current_user.id, **_fields(form))
    flash(_("Group %(name)s added.", name=group["name"]), "success")
    return redirect(url_for("home.index"), code=303)


@bp.route("/summary")
@roles(*STAFF)
def summary():
    """Answer the groups summary line (refreshed after an inline edit changes a target)."""
    groups = queries.list_groups(get_db(), current_user.ward_code)
    return render_template("groups/_summary.html", groups=groups,
                           total_target=sum(g["target_adults"] for g in groups))


@bp.route("/<group_id>")
@roles(*STAFF)
def row(group_id):
    """Answer one group's table row (used to cancel an inline edit)."""
    group = _group_or_404(group_id)
    return render_template("groups/_row.html", group=group)


@bp.route("/<group_id>/edit")
@roles(*MANAGER_ROLES)
def edit(group_id):
    """Answer the inline edit row to htmx, or a full edit page otherwise."""
    group = _group_or_404(group_id)
    form = GroupForm(data={"name": group["name"], "cluster": group["cluster"] or "",
                           "target_adults": str(group["target_adults"])})
    return page_or_fragment("groups/edit.html", "groups/_edit_row.html",
                            f"group-{group_id}", group=group, form=form)


@bp.route("/<group_id>", methods=["POST"])
@roles(*MANAGER_ROLES)
def update(group_id):
    """Save a rename or a new target; answer the updated row, or the form with errors."""
    group = _group_or_404(group_id)
    form = GroupForm()
    if not (form.validate() and _check_unique(form, except_id=group_id)):
        return page_or_fragment("groups/edit.html", "groups/_edit_row.html",
                                f"group-{group_id}", status=422, group=group, form=form)
    db = get_db()
    fields = _fields(form)
    queries.update_group(db, current_user.ward_code, group, by=current_user.id, **fields)
    if wants_fragment(f"group-{group_id}"):
        # The summary line listens for this event and reloads its total.
        return htmx_response(
            render_template("groups/_row.html",
                            group=queries.get_group(db, current_user.ward_code, group_id)),
            trigger="groups-changed")
    flash(_("Group %(name)s saved.", name=fields["name"]), "success")
    return redirect(url_for("home.index"), code=303)
