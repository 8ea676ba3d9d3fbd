"""Kiosk devices (docs/ARCHITECTURE.md#kiosk): a tablet on a stand, a touchscreen PC or a
field kit's screen that residents use at a community house. Nobody types a password there:
an admin enrols the device, which gets a long-lived credential bound to its ward and good
for the kiosk's routes only; revoking it ends it at once.

The credential is a random token (256 bits) kept in an HttpOnly cookie on the device and
stored hashed, like a session. It is set through a one-time enrolment link, valid for a
few minutes (KIOSK_ENROL_MINUTES), that the admin opens on the device.
"""
import hashlib
import secrets
from datetime import timedelta

from flask import current_app, g

from .. import audit, clock
from ..auth import queries as auth_queries
from ..auth.users import User
from ..db import write
from ..text import clean_line
from . import queries

# Touching last_seen_at at most this often keeps a kiosk's page views from being writes.
SEEN_EVERY_SECONDS = 60


class EnrolRefused(ValueError):
    """Enrolment refused. `code` says why (bad_name, unknown_ward, name_taken): the page
    words it in the reader's language; the message is for the command line."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def hash_token(token: str) -> str:
    """Return the stored form of a kiosk token (SHA-256 hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


def cookie_name() -> str:
    """Return the name of the kiosk's credential cookie (__Host- prefixed over HTTPS)."""
    return "__Host-wardkit-kiosk" if current_app.config["HTTPS"] else "wardkit-kiosk"


def clean_name(raw: str | None) -> str:
    """Return a device name as stored (one clean line).

    :raises EnrolRefused: when it is empty or longer than 60 characters."""
    name = clean_line(raw)
    if not name or len(name) > 60:
        raise EnrolRefused("bad_name", "Give the kiosk a name of 1 to 60 characters.")
    return name


def enrol(db, *, name: str, ward_code: str, by: str | None, via: str | None = None
          ) -> tuple[dict, str]:
    """Make a one-time enrolment link for the kiosk `name` of the ward (creating the
    device, or renewing one that exists: its current credential lasts until the link is
    used); return (the device row, the raw link token). Audited as `kiosk_link_made`.

    :raises EnrolRefused: for a bad name, an unknown ward, or a name another ward uses.
    """
    name = clean_name(name)
    ward = auth_queries.get_ward(db, auth_queries.normalise_ward_code(ward_code or ""))
    if ward is None:
        raise EnrolRefused("unknown_ward", f"No ward with code {ward_code!r}.")
    token = secrets.token_urlsafe(32)
    expires = clock.now() + timedelta(minutes=current_app.config["KIOSK_ENROL_MINUTES"])
    with write(db):
        device = queries.device_by(db, "name", name)
        if device is None:
            device = queries.insert_device(db, ward_code=ward["code"], name=name, by=by)
        elif device["ward_code"] != ward["code"]:
            raise EnrolRefused("name_taken",
                               f"The name {name!r} is taken by a kiosk of another ward.")
        queries.update_device(db, device["id"], enrol_hash=hash_token(token),
                              enrol_expires_at=clock.iso(expires), updated_by=by)
        audit.record(db, "kiosk_link_made", user_id=by, ward_code=ward["code"],
                     entity="kiosk_devices", entity_id=device["id"],
                     detail={"via": via} if via else None)
    return queries.get_device(db, device["id"]), token


def link_device(db, token: str) -> dict | None:
    """Return the device whose enrolment link `token` is, while it is usable, or None."""
    device = queries.device_by(db, "enrol_hash", hash_token(token or ""))
    if device is None or clock.parse(device["enrol_expires_at"]) <= clock.now():
        return None
    return device


def use_link(db, token: str) -> str | None:
    """Enrol the device that opened the link `token`: return its new credential (to set
    in its cookie), or None when the link is unknown, used or expired. The link works
    once; the device's previous credential, if any, stops working. Audited as
    `kiosk_enrolled`."""
    days = current_app.config["KIOSK_CREDENTIAL_DAYS"]
    credential = secrets.token_urlsafe(32)
    with write(db):
        device = link_device(db, token)
        if device is None:
            return None
        now = clock.now()
        queries.update_device(
            db, device["id"], credential_hash=hash_token(credential), enrol_hash=None,
            enrol_expires_at=None, enrolled_at=clock.iso(now),
            expires_at=clock.iso(now + timedelta(days=days)), revoked_at=None,
            last_seen_at=clock.iso(now), updated_by=None)
        queries.delete_turns(db, device_id=device["id"])
        audit.record(db, "kiosk_enrolled", user_id=None, ward_code=device["ward_code"],
                     entity="kiosk_devices", entity_id=device["id"])
    return credential


def revoke(db, device: dict, *, by: str | None, via: str | None = None) -> None:
    """End the device's credential and any unused enrolment link at once, and forget the
    turn on it; audited as `kiosk_revoked`. The device then shows "not active"."""
    with write(db):
        queries.update_device(db, device["id"], revoked_at=clock.now_iso(), enrol_hash=None,
                              enrol_expires_at=None, updated_by=by)
        queries.delete_turns(db, device_id=device["id"])
        audit.record(db, "kiosk_revoked", user_id=by, ward_code=device["ward_code"],
                     entity="kiosk_devices", entity_id=device["id"],
                     detail={"via": via} if via else None)


def state(device: dict) -> str:
    """Return the device's state: `active`, `revoked`, `expired` or `pending` (a link
    made, never used)."""
    if device["revoked_at"]:
        return "revoked"
    if not device["credential_hash"]:
        return "pending"
    if clock.parse(device["expires_at"]) <= clock.now():
        return "expired"
    return "active"


def load_device(db, token: str | None) -> User | None:
    """Return the kiosk User behind the credential `token` while it is active, else None.

    When a credential was presented but is not active (revoked, expired or unknown),
    `g.kiosk_refused` says so, and the kiosk's screens say the kiosk is not active.
    """
    if not token:
        return None
    device = queries.device_by(db, "credential_hash", hash_token(token))
    if device is None or state(device) != "active":
        g.kiosk_refused = state(device) if device else "unknown"
        return None
    now = clock.now()
    if (now - clock.parse(device["last_seen_at"])).total_seconds() >= SEEN_EVERY_SECONDS:
        with write(db):  # bookkeeping, like a session's last_seen_at
            queries.update_device(db, device["id"], last_seen_at=clock.iso(now))
    return User(id=device["id"], username=device["name"], display_name=device["name"],
                role="kiosk", ward_code=device["ward_code"], ward_name=device["ward_name"],
                session_token="")
