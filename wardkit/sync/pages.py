"""The people's side of sync (docs/ARCHITECTURE.md#sync): `/sync` (a kit's state, sync
now, export and import of bundles; on the hub, its epoch and mark), `/devices` (the
hub's kits: add, revoke, refused bundles) and `/conflicts` (what a leader settles).

The device routes a kit calls are in views.py; the actions these pages call are in
actions.py, enrol.py and merge.py.
"""
import re

from flask import (Blueprint, Response, abort, flash, redirect, render_template, request,
                   url_for)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from .. import clock
from ..db import get_db
from ..groups import queries as group_queries
from ..htmx import page_or_fragment
from ..security import FIELD_ROLES, MANAGER_ROLES, roles
from ..sheets import qr
from ..text import fold
from . import actions, enrol, merge, queries
from .apply import Refused
from .tables import DERIVED

bp = Blueprint("sync_pages", __name__)

CLOCK_WARN_SECONDS = 600
# Why a bundle or a round was refused, for a person (the code's reasons are English).
REASONS = {
    "not a WardKit bundle": _l("This file is not a WardKit bundle."),
    "damaged header": _l("The file is damaged."),
    "damaged bundle": _l("The file is damaged."),
    "damaged payload": _l("The file is damaged."),
    "damaged change": _l("The file is damaged."),
    "unknown bundle format": _l("This bundle was made by another version of WardKit."),
    "bad seal": _l("The seal does not match: the file was changed, or it was made for "
                   "another kit."),
    "not a pull for this kit": _l("This bundle was not made by the hub for this kit."),
    "not a ack for this kit": _l("This bundle was not made by the hub for this kit."),
    "this database is not a field kit": _l("This computer is not a field kit."),
    "unknown kit": _l("The hub does not know this kit."),
    "revoked kit": _l("This kit was revoked at the hub."),
    "unknown kit or bad proof": _l("The hub does not know this kit, or its key."),
    "too many failed attempts": _l("Too many failed attempts: wait a few minutes."),
    "wrong ward": _l("The bundle is for another ward."),
    "sequence numbers not consecutive": _l("Changes are missing: sync again."),
}
FALLBACK_REASON = _l("The bundle was refused.")


def reason_text(reason: str | None) -> str:
    """Return a refusal's reason in the reader's language."""
    reason = (reason or "").removeprefix("the hub refused: ")
    if reason.startswith("this kit has no hub address"):
        return _("This kit has no hub address: join it again with the hub's address.")
    return str(REASONS.get(reason, FALLBACK_REASON))


def _kit_only() -> dict:
    kit = queries.kit(get_db())
    if kit is None or not queries.is_kit(get_db()):
        abort(404)
    return kit


def _hub_only() -> None:
    if queries.is_kit(get_db()):
        abort(404)


# --- /sync ------------------------------------------------------------------------------

def _sync_context(**extra) -> dict:
    db = get_db()
    if not queries.is_kit(db):
        state = queries.state(db)
        return {"is_kit": False, "epoch": state["epoch"][:8], "last_seq": queries.last_seq(db),
                **extra}
    kit = queries.kit(db)
    offset = kit["clock_offset_seconds"] or 0
    return {
        "is_kit": True, "kit": kit,
        "waiting": queries.count_own_changes(db, queries.state(db)["device_id"],
                                             kit["acked_seq"]),
        "clock_minutes": round(abs(offset) / 60) if abs(offset) > CLOCK_WARN_SECONDS else None,
        "import_error": None, "imported": None, **extra,
    }


@bp.route("/sync")
@roles(*FIELD_ROLES)
def index():
    """This node's sync state: a kit's marks and buttons, or the hub's summary."""
    return render_template("sync/index.html", **_sync_context())


@bp.route("/sync/now", methods=["POST"])
@roles(*FIELD_ROLES)
def sync_now():
    """Start one round with the hub in the background; answer the progress block."""
    _kit_only()
    token = actions.start_sync(current_user.ward_code, by=current_user.id,
                               locale=str(get_locale()))
    return _progress(token)


def _progress(token: str):
    job = actions.JOBS.status(token)
    context = {"token": token, "job": job, "running": job["state"] in actions.JOBS.running,
               "reason_text": reason_text}
    if job["state"] == "done":
        context["waiting"] = _sync_context()["waiting"]
    return page_or_fragment("sync/job.html", "sync/_job.html", "sync-job", **context)


@bp.route("/sync/status", methods=["POST"])
@roles(*FIELD_ROLES)
def sync_status():
    """Answer a sync job's progress block (polled every second while it runs)."""
    token = request.form.get("token")
    actions.JOBS.own(token, current_user.id, current_user.ward_code)  # another's: 404
    return _progress(token)


@bp.route("/sync/export", methods=["POST"])
@roles(*FIELD_ROLES)
def export():
    """Download this kit's push bundle (for a USB stick)."""
    _kit_only()
    data, _count, name = actions.export_push(get_db(), by=current_user.id)
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", fold(name)).strip("-") or "kit"
    filename = f"wardkit-{safe}-push-{clock.today().isoformat()}.bundle"
    return Response(data, mimetype="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store"})


@bp.route("/sync/import", methods=["POST"])
@roles(*FIELD_ROLES)
def import_bundle():
    """Apply the hub's pull bundle from an uploaded file; show what it did."""
    _kit_only()
    upload = request.files.get("file")
    data = upload.read() if upload else b""
    if not data:
        return render_template("sync/index.html", **_sync_context(
            import_error=_("Choose the bundle file the hub wrote for this kit."))), 422
    try:
        result = actions.import_pull(get_db(), data, by=current_user.id)
    except Refused as exc:
        return render_template("sync/index.html", **_sync_context(
            import_error=reason_text(exc.reason))), 422
    return render_template("sync/index.html", **_sync_context(imported=result.counts()))


# --- /devices ---------------------------------------------------------------------------

def _devices_page(status: int = 200, **extra):
    db = get_db()
    ward = current_user.ward_code
    devices = queries.list_devices(db, ward)
    names = {d["name"] for d in devices}
    quarantined = [q for q in queries.list_quarantine(db)
                   if q["header"].get("ward") == ward or q["device_name"] in names
                   or (not q["header"].get("ward") and not q["device_name"])]
    context = {"devices": devices, "quarantined": quarantined,
               "groups": group_queries.list_groups(db, ward),
               "groups_by_id": {g["id"]: g["name"] for g in group_queries.list_groups(db, ward)},
               "error": None, "name": "", "group_id": "", "added": None,
               "reason_text": reason_text, **extra}
    return render_template("sync/devices.html", **context), status


@bp.route("/devices")
@roles("admin")
def devices():
    """The hub's kits of this ward, their marks and backlog, and refused bundles."""
    _hub_only()
    return _devices_page()


@bp.route("/devices", methods=["POST"])
@roles("admin")
def add_device():
    """Enrol a kit; show its one-time code once (large, with a QR code)."""
    _hub_only()
    db = get_db()
    name = " ".join(request.form.get("name", "").split())
    group_id = request.form.get("group_id") or None
    groups = {g["id"] for g in group_queries.list_groups(db, current_user.ward_code)}
    error = None
    if not name or len(name) > 60:
        error = _("Give the kit a name of 1 to 60 characters.")
    elif group_id is not None and group_id not in groups:
        error = _("Choose one of the ward's residential groups.")
    elif queries.get_device(db, name=name):
        error = _("A kit with this name exists already: choose another name.")
    if error is None:
        try:
            device, code = enrol.add_kit(db, name=name, ward_code=current_user.ward_code,
                                         group_id=group_id, by=current_user.id)
        except enrol.EnrolError:
            error = _("The kit could not be added: check its name and try again.")
    if error is not None:
        return _devices_page(422, error=error, name=name, group_id=group_id or "")
    hub_url = request.host_url.rstrip("/")
    return _devices_page(added={"device": device, "code": code, "qr": Markup(qr.svg(code)),
                                "command": f"flask kit join {hub_url} {code}",
                                "hours": enrol.CODE_HOURS})


@bp.route("/devices/<kit_id>/revoke", methods=["POST"])
@roles("admin")
def revoke_device(kit_id):
    """Revoke a kit of this ward: its later bundles are refused."""
    _hub_only()
    device = queries.get_device(get_db(), kit_id=kit_id)
    if device is None or device["ward_code"] != current_user.ward_code:
        abort(404)
    if request.form.get("confirm") != "1":
        return _devices_page(422, revoke_error=(kit_id, _("Tick the box to confirm.")))
    if device["status"] != "revoked":
        enrol.revoke_kit(get_db(), device["name"], by=current_user.id)
        flash(_("Kit %(name)s revoked: its bundles are refused from now on.",
                name=device["name"]), "success")
    return redirect(url_for("sync_pages.devices"), code=303)


# --- /conflicts -------------------------------------------------------------------------

def _conflicts_page(status: int = 200, errors: dict | None = None):
    db = get_db()
    ward = current_user.ward_code
    conflicts = queries.open_conflicts(db, ward)
    people_ids, user_ids = set(), set()
    for c in conflicts:
        user_ids.update((c["kept_by"], c["incoming_by"]))
        if c["table_name"] == "residents":
            people_ids.update((c["row_id"], c["other_row_id"]))
        c["shown"] = merge.shown_columns(c)
        c["household_id"] = merge.household_of(db, ward, c["table_name"], c["row_id"])
    return render_template(
        "sync/conflicts.html", conflicts=conflicts, errors=errors or {},
        people=merge.residents_of(db, ward, people_ids), users=merge.user_names(db, user_ids),
        derived=DERIVED), status


def _conflict_or_404(conflict_id: str) -> dict:
    conflict = queries.get_conflict(get_db(), conflict_id, current_user.ward_code)
    if conflict is None:
        abort(404)
    return conflict


@bp.route("/conflicts")
@roles(*MANAGER_ROLES)
def conflicts():
    """The ward's open conflicts: two edits of the same fields, possible duplicates."""
    return _conflicts_page()


@bp.route("/conflicts/<conflict_id>", methods=["POST"])
@roles(*MANAGER_ROLES)
def settle(conflict_id):
    """Keep the chosen value of each field of an overlap conflict."""
    conflict = _conflict_or_404(conflict_id)
    if conflict["kind"] != "overlap" or conflict["settled_at"]:
        abort(404)
    choices = {c: request.form.get(f"choice-{c}") for c in merge.shown_columns(conflict)}
    if any(v not in merge.SIDES for v in choices.values()):
        return _conflicts_page(422, {conflict_id: _("Choose a value for each field.")})
    try:
        merge.settle(get_db(), conflict_id, choices, by=current_user.id,
                     ward_code=current_user.ward_code)
    except merge.SettleError:
        abort(404)
    flash(_("Conflict settled: the chosen values are saved and go to every kit."), "success")
    return redirect(url_for("sync_pages.conflicts"), code=303)


@bp.route("/conflicts/<conflict_id>/merge", methods=["POST"])
@roles(*MANAGER_ROLES)
def merge_people(conflict_id):
    """Merge a possible duplicate's two people into the one chosen to stay."""
    conflict = _conflict_or_404(conflict_id)
    if conflict["kind"] != "duplicate" or conflict["table_name"] != "residents" \
            or conflict["settled_at"]:
        abort(404)
    survivor = request.form.get("survivor")
    pair = [conflict["row_id"], conflict["other_row_id"]]
    if survivor not in pair:
        return _conflicts_page(422, {conflict_id: _("Choose the record to keep.")})
    other = pair[1] if survivor == pair[0] else pair[0]
    try:
        merge.merge_people(get_db(), survivor, other, by=current_user.id,
                           ward_code=current_user.ward_code, conflict_id=conflict_id)
    except merge.SettleError:
        return _conflicts_page(422, {conflict_id: _(
            "These two records can no longer be merged (one was removed).")})
    flash(_("The two records are now one person."), "success")
    return redirect(url_for("sync_pages.conflicts"), code=303)


@bp.route("/conflicts/<conflict_id>/dismiss", methods=["POST"])
@roles(*MANAGER_ROLES)
def dismiss(conflict_id):
    """Settle a possible duplicate without changing a record."""
    conflict = _conflict_or_404(conflict_id)
    if conflict["kind"] != "duplicate" or conflict["settled_at"]:
        abort(404)
    outcome = "not_same" if conflict["table_name"] == "residents" else "settled"
    merge.dismiss(get_db(), conflict_id, by=current_user.id,
                  ward_code=current_user.ward_code, outcome=outcome)
    flash(_("Marked settled."), "success")
    return redirect(url_for("sync_pages.conflicts"), code=303)
