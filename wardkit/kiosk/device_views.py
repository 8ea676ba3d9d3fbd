"""Enrolling kiosk devices (docs/ARCHITECTURE.md#kiosk): the admin's Kiosks page, where a
device is named and gets a one-time enrolment link (and its QR code, for a tablet to
scan), or is revoked; and the link itself, opened on the device."""
import base64

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from ..db import get_db
from ..security import roles
from ..sheets import qr
from ..sheets.documents import qr_base
from ..sheets.queries import get_settings
from . import devices, queries

bp = Blueprint("kiosk_devices", __name__)

REFUSALS = {
    "bad_name": _l("Give the kiosk a name of 1 to 60 characters."),
    "unknown_ward": _l("This ward is not known."),
    "name_taken": _l("Another ward’s kiosk has this name. Choose another."),
}


def enrol_url(token: str, base: str) -> str:
    """Return the enrolment link for `token` on the server at `base`."""
    return base.rstrip("/") + url_for("kiosk_devices.enrol", token=token)


def _page(link=None, device=None, error=None, status=200):
    db = get_db()
    rows = [dict(d, state=devices.state(d)) for d in queries.list_devices(
        db, current_user.ward_code)]
    code = None
    if link:
        # Not qr.png_data_uri: its cache would keep the one-time link in memory.
        code = "data:image/png;base64," + base64.b64encode(
            qr.png.__wrapped__(link)).decode("ascii")
    return render_template("kiosk/devices.html", devices=rows, link=link, code=code,
                           new_device=device, error=error,
                           minutes=current_app.config["KIOSK_ENROL_MINUTES"]), status


@bp.route("/admin/kiosks")
@roles("admin")
def index():
    """The ward's kiosk devices: state, last seen, until when; enrol or revoke."""
    return _page()


@bp.route("/admin/kiosks", methods=["POST"])
@roles("admin")
def create():
    """Make a one-time enrolment link for a new (or renewed) kiosk and show it once."""
    db = get_db()
    try:
        device, token = devices.enrol(db, name=request.form.get("name"),
                                      ward_code=current_user.ward_code, by=current_user.id)
    except devices.EnrolRefused as refused:
        return _page(error=REFUSALS[refused.code], status=422)
    settings = get_settings(db, current_user.ward_code) or {}
    base, _warn = qr_base(settings.get("public_url"), current_app.config.get("PUBLIC_URL"),
                          request.url_root)
    return _page(link=enrol_url(token, base), device=device)


@bp.route("/admin/kiosks/<kiosk_id>/revoke", methods=["POST"])
@roles("admin")
def revoke(kiosk_id):
    """Revoke the kiosk: it shows "not active" at its next screen."""
    db = get_db()
    device = queries.get_device(db, kiosk_id, ward_code=current_user.ward_code)
    if device is None:
        abort(404)
    devices.revoke(db, device, by=current_user.id)
    flash(_("Kiosk %(name)s revoked.", name=device["name"]), "success")
    return redirect(url_for("kiosk_devices.index"), code=303)


@bp.route("/kiosk/enrol/<token>", methods=["GET", "POST"])
def enrol(token):
    """The one-time enrolment link, opened on the device. GET asks to confirm (a GET
    never writes); POST enrols this browser as the kiosk, signing out anyone signed in
    on it, and goes to the kiosk's start screen. An unknown, used or expired link: 404."""
    db = get_db()
    device = devices.link_device(db, token)
    if device is None:
        return render_template("kiosk/enrol.html", device=None), 404
    if request.method == "GET":
        return render_template("kiosk/enrol.html", device=device)
    credential = devices.use_link(db, token)
    if credential is None:
        return render_template("kiosk/enrol.html", device=None), 404
    if current_user.is_authenticated and current_user.role != "kiosk":
        logout_user()
    session.clear()
    resp = redirect(url_for("kiosk.start"), code=303)
    resp.set_cookie(devices.cookie_name(), credential, httponly=True, samesite="Lax",
                    secure=bool(current_app.config["HTTPS"]), path="/",
                    max_age=current_app.config["KIOSK_CREDENTIAL_DAYS"] * 86400)
    return resp
