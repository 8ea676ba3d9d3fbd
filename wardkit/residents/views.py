"""The registry screens: resident search, household page, inline add/edit/delete, and the
new-household form."""
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from htmx_flask import make_response as htmx_response

from .. import clock
from ..db import get_db
from ..declarations import queries as declaration_queries
from ..errors import error_response
from ..groups import queries as group_queries
from ..htmx import page_or_fragment, wants_fragment
from ..security import FIELD_ROLES, roles
from ..sheets import documents as sheet_documents
from ..sheets import queries as sheet_queries
from ..visits import queries as visit_queries
from . import queries
from . import search as resident_search
from .forms import HouseholdForm, ResidentForm

bp = Blueprint("residents", __name__)


@bp.app_template_filter("mask_cccd")
def mask_cccd(cccd: str | None) -> str:
    """Return a CCCD as every screen but the edit form shows it: only the last 4 digits
    (docs/DOMAIN-RULES.md)."""
    return f"••••••••{cccd[-4:]}" if cccd else ""


@bp.app_template_filter("mask_phone")
def mask_phone(phone: str | None) -> str:
    """Return a phone number as screens show it outside the edit form: a dot for each
    digit but the last 3 (enough to ask "is it the one ending 678?")."""
    if not phone:
        return ""
    return "•" * max(len(phone) - 3, 0) + phone[-3:]


@bp.app_template_filter("dmy")
def dmy(iso: str | None) -> str:
    """Return an ISO date as dd/mm/yyyy, the way Vietnamese forms write it."""
    if not iso:
        return ""
    year, month, day = iso[:10].split("-")
    return f"{day}/{month}/{year}"


@bp.app_template_filter("age")
def age(iso: str | None) -> int | None:
    """Return the age in whole years today of someone born on the ISO date."""
    if not iso:
        return None
    born = date.fromisoformat(iso[:10])
    today = clock.today()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _household_or_404(household_id: str) -> dict:
    household = queries.get_household(get_db(), current_user.ward_code, household_id)
    if household is None:
        abort(404)
    return household


def _resident_or_404(resident_id: str, *, include_deleted: bool = False) -> dict:
    resident = queries.get_resident(get_db(), current_user.ward_code, resident_id,
                                    include_deleted=include_deleted)
    if resident is None:
        abort(404)
    return resident


# --- search --------------------------------------------------------------------------

def _page_number() -> int:
    try:
        return max(0, min(int(request.form.get("page", 0)), 10_000))
    except ValueError:
        return 0


@bp.route("/residents")
@roles(*FIELD_ROLES)
def index():
    """Show the search page with the first residents in Vietnamese name order."""
    rows, more = resident_search.search(get_db(), current_user.ward_code, "")
    return render_template("residents/index.html", rows=rows, more=more, q="", page=0,
                           total=queries.count_residents(get_db(), current_user.ward_code))


@bp.route("/residents/search", methods=["POST"])
@roles(*FIELD_ROLES)
def search():
    """Answer the results for the term in the body (never the URL): the results fragment
    to the live search box, the whole page otherwise."""
    q = request.form.get("q", "")[:100]
    page = _page_number()
    rows, more = resident_search.search(get_db(), current_user.ward_code, q, page=page)
    if wants_fragment("residents-more"):  # "show more" appends the next page's rows
        return render_template("residents/_result_rows.html", rows=rows, more=more, q=q,
                               page=page)
    # The live search box only needs the results; the count costs a query.
    if wants_fragment("residents-results"):
        return page_or_fragment("residents/index.html", "residents/_results.html",
                                "residents-results", rows=rows, more=more, q=q, page=page)
    return render_template("residents/index.html", rows=rows, more=more, q=q, page=page,
                           total=queries.count_residents(get_db(), current_user.ward_code))


# --- households ----------------------------------------------------------------------

def _new_household_page(form: HouseholdForm, status: int = 200):
    return render_template("residents/new_household.html", form=form), status


@bp.route("/households/new", methods=["GET", "POST"])
@roles(*FIELD_ROLES)
def new_household():
    """Create a household and its first resident in one short form."""
    db = get_db()
    form = HouseholdForm()
    form.set_groups(group_queries.list_groups(db, current_user.ward_code))
    if request.method != "POST":
        form.group_id.data = request.args.get("group_id", "")
        form.relation.data = "head"
        return _new_household_page(form)
    valid = form.check(db, current_user.ward_code)
    if valid:
        group = group_queries.get_group(db, current_user.ward_code, form.group_id.data)
        address = queries.format_address(form.house_number.data, form.lane.data,
                                         form.street.data)
        existing = queries.find_household_at(db, current_user.ward_code, group["id"], address)
        if existing:
            form.house_number.errors = list(form.house_number.errors) + [_(
                "This address is already registered in the group. Open the household to add "
                "people to it.")]
            form.duplicate_household = existing
            valid = False
    if not valid:
        return _new_household_page(form, 422)
    household = queries.register_household(
        db, ward_code=current_user.ward_code, group=group,
        house_number=form.house_number.data, lane=form.lane.data, street=form.street.data,
        notes=form.notes.data or None, fields=form.cleaned, by=current_user.id)
    flash(_("Household registered."), "success")
    return redirect(url_for("residents.household", household_id=household["id"]), code=303)


def _household_context(household: dict, add_form: ResidentForm | None = None) -> dict:
    db = get_db()
    residents = queries.list_residents(db, household["id"])
    return {
        "household": household,
        "residents": residents,
        "declarations_by_resident": declaration_queries.by_resident(
            db, current_user.ward_code, [r["id"] for r in residents]),
        "history": queries.household_history(db, household["id"]),
        "timeline": visit_queries.timeline(db, current_user.ward_code, household["id"]),
        "form": add_form or _blank_add_form(),
        "qr_warning": sheet_documents.codes_lead_nowhere(
            sheet_queries.effective_settings(db, current_user.ward_code)),
    }


def _row(resident: dict, template: str = "residents/_row.html", **extra) -> str:
    """Return the resident's card (`template`) rendered with their declarations."""
    return render_template(template, resident=resident, **extra,
                           declarations_by_resident=declaration_queries.by_resident(
                               get_db(), current_user.ward_code, [resident["id"]]))


def _blank_add_form() -> ResidentForm:
    form = ResidentForm(formdata=None)
    form.relation.data = "child"
    form.lawful_basis.data = "official_duty"
    return form


@bp.route("/households/<household_id>")
@roles(*FIELD_ROLES)
def household(household_id):
    """Show a household: address, residents with inline add/edit, and its history."""
    household = queries.view_household(get_db(), current_user.ward_code, household_id,
                                       by=current_user.id)
    if household is None:
        abort(404)
    return render_template("residents/household.html", **_household_context(household))


@bp.route("/households/<household_id>/history")
@roles(*FIELD_ROLES)
def history(household_id):
    """Answer the household's history list (refreshed after each change)."""
    household = _household_or_404(household_id)
    return render_template("residents/_history.html", household=household,
                           history=queries.household_history(get_db(), household["id"]))


@bp.route("/households/<household_id>/reference", methods=["POST"])
@roles(*FIELD_ROLES)
def reissue_reference(household_id):
    """Issue a new QR token for the household; sheets printed before stop working.

    One tap must not revoke every printed sheet: without `confirm=1` (the button inside
    the warning) nothing changes and the answer is the warning page with that button."""
    household = _household_or_404(household_id)
    if request.form.get("confirm") != "1":
        return render_template("residents/reissue_confirm.html", household=household)
    queries.reissue_reference(get_db(), current_user.ward_code, household["id"],
                              by=current_user.id)
    flash(_("A new QR code was issued. Print a new sheet for this household."), "success")
    return redirect(url_for("residents.household", household_id=household["id"]), code=303)


# --- residents -----------------------------------------------------------------------

def _changed(fragment_html: str):
    """Wrap a fragment so the household's history refreshes after a change."""
    return htmx_response(fragment_html, trigger="household-changed")


@bp.route("/households/<household_id>/residents", methods=["POST"])
@roles(*FIELD_ROLES)
def add_resident(household_id):
    """Add a person to the household: answer their new row and a fresh form, or the
    form with its errors and warnings."""
    household = _household_or_404(household_id)
    db = get_db()
    form = ResidentForm()
    if not form.check(db, current_user.ward_code):
        return page_or_fragment("residents/household.html", "residents/_add_form.html",
                                "resident-new", status=422,
                                **_household_context(household, form))
    resident = queries.create_resident(db, ward_code=current_user.ward_code,
                                       household_id=household["id"], fields=form.cleaned,
                                       by=current_user.id)
    if not wants_fragment("resident-new"):
        flash(_("%(name)s added.", name=resident["full_name"]), "success")
        return redirect(url_for("residents.household", household_id=household["id"]),
                        code=303)
    return _changed(_row(resident, "residents/_added.html", household=household,
                         form=_blank_add_form()))


def _edit_form(resident: dict) -> ResidentForm:
    form = ResidentForm(formdata=None, data={
        **{k: resident[k] for k in ("full_name", "gender", "cccd", "phone", "relation",
                                    "support_reason", "lawful_basis")},
        "dob": dmy(resident["dob"]),
        "is_born_abroad": bool(resident["is_born_abroad"]),
        "needs_home_support": bool(resident["needs_home_support"]),
    })
    form.support_reason.data = resident["support_reason"] or ""
    return form


@bp.route("/residents/<resident_id>")
@roles(*FIELD_ROLES)
def resident_row(resident_id):
    """Answer a resident's row (to cancel an edit), or go to their household."""
    resident = _resident_or_404(resident_id)
    if wants_fragment(f"resident-{resident_id}"):
        return _row(resident)
    return redirect(url_for("residents.household", household_id=resident["household_id"])
                    + f"#resident-{resident_id}")


@bp.route("/residents/<resident_id>/edit", methods=["GET", "POST"])
@roles(*FIELD_ROLES)
def edit_resident(resident_id):
    """Edit a resident inline (htmx) or on a page of its own."""
    resident = _resident_or_404(resident_id)
    target = f"resident-{resident_id}"
    db = get_db()
    if request.method != "POST":
        return page_or_fragment("residents/edit.html", "residents/_edit_row.html", target,
                                resident=resident, form=_edit_form(resident))
    form = ResidentForm()
    if not form.check(db, current_user.ward_code, except_id=resident_id):
        return page_or_fragment("residents/edit.html", "residents/_edit_row.html", target,
                                status=422, resident=resident, form=form)
    queries.update_resident(db, current_user.ward_code, resident_id, form.cleaned,
                            by=current_user.id)
    resident = queries.get_resident(db, current_user.ward_code, resident_id)
    if wants_fragment(target):
        return _changed(_row(resident))
    flash(_("Changes saved."), "success")
    return redirect(url_for("residents.household", household_id=resident["household_id"]),
                    code=303)


@bp.route("/residents/<resident_id>/delete", methods=["POST"])
@roles(*FIELD_ROLES)
def delete_resident(resident_id):
    """Remove a person from the household (soft delete), with an undo button."""
    resident = _resident_or_404(resident_id)
    queries.soft_delete_resident(get_db(), current_user.ward_code, resident_id,
                                 by=current_user.id)
    if wants_fragment(f"resident-{resident_id}"):
        return _changed(render_template("residents/_deleted_row.html", resident=resident))
    flash(_("%(name)s removed.", name=resident["full_name"]), "success")
    return redirect(url_for("residents.household", household_id=resident["household_id"]),
                    code=303)


@bp.route("/residents/<resident_id>/restore", methods=["POST"])
@roles(*FIELD_ROLES)
def restore_resident(resident_id):
    """Undo a removal."""
    resident = _resident_or_404(resident_id, include_deleted=True)
    db = get_db()
    if resident["deleted_at"] is not None and not queries.restore_resident(
            db, current_user.ward_code, resident_id, by=current_user.id):
        return error_response(409, _("Another person in the ward now holds the same "
                                     "CCCD. Open that record and check which one is "
                                     "right."))
    resident = queries.get_resident(db, current_user.ward_code, resident_id)
    if wants_fragment(f"resident-{resident_id}"):
        return _changed(_row(resident))
    return redirect(url_for("residents.household", household_id=resident["household_id"]),
                    code=303)
