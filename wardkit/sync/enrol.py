"""Enrolling field kits at the hub, a kit joining, and revoking a kit
(docs/ARCHITECTURE.md#sync).

The hub makes each kit a random 256-bit key and a one-time code "LLLL-SSSS-SSSS-SSSS"
(Crockford base32, 80 bits): LLLL finds the enrolment, and the whole code unlocks (scrypt)
the welcome that carries the key, over the LAN or in an enrolment file.
"""
import json
import secrets
from datetime import timedelta

from .. import audit, clock
from ..db import write
from ..ids import new_id
from . import bundles, queries
from .apply import Refused, apply_pull, pull_items

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
CODE_HOURS = 72


class EnrolError(ValueError):
    """An enrolment that cannot go ahead; the message says why, for a person."""


def new_code() -> str:
    """Return a fresh one-time enrolment code."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def normal_code(code: str) -> str:
    """Return the code without dashes or spaces, upper case, with look-alikes mapped."""
    table = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})
    return "".join(ch for ch in code.upper() if ch.isalnum()).translate(table)


def _code_key(code: str) -> bytes:
    """Return the key the code unlocks (salted with its lookup part, which the hub can
    read in a bundle's header before it knows which enrolment the bundle is for)."""
    return bundles.code_key(normal_code(code), "wardkit-enrol:" + normal_code(code)[:4])


def add_kit(db, *, name: str, ward_code: str, group_id: str | None, by: str | None) -> tuple[dict, str]:
    """Enrol a kit at the hub; return (its row, the one-time code to give the kit).

    :raises EnrolError: on a kit, or when the name is taken.
    """
    name = " ".join(name.split())
    if queries.is_kit(db):
        raise EnrolError("kits are enrolled at the hub, not on a kit")
    if not name or len(name) > 60:
        raise EnrolError("a kit needs a name of 1 to 60 characters")
    if queries.get_device(db, name=name):
        raise EnrolError(f"a kit named {name!r} exists already")
    code = new_code()
    key = _code_key(code)
    kit_id = new_id()
    with write(db):
        queries.insert_device(
            db, id=kit_id, name=name, ward_code=ward_code, group_id=group_id,
            key=bundles.new_key().hex(), code_hash=normal_code(code)[:4] + ":" + key.hex(),
            code_expires_at=clock.iso(clock.now() + timedelta(hours=CODE_HOURS)),
            status="pending", created_at=clock.now_iso(), created_by=by)
        audit.record(db, "sync_kit_added", user_id=by, ward_code=ward_code,
                     entity="sync_devices", entity_id=kit_id, detail={"name": name})
    return queries.get_device(db, kit_id=kit_id), code


def _welcome(db, device: dict, key: bytes, lookup: str, extra: dict | None = None) -> bytes:
    """Return the sealed welcome for `device`: its id, name, key and ward, the hub's
    device id and epoch, and `extra` (the ward's rows, in an enrolment file)."""
    state = queries.state(db)
    header = {"kind": "welcome", "lookup": lookup, "ward": device["ward_code"],
              "device": state["device_id"], "epoch": state["epoch"],
              "created_at": clock.now_iso()}
    payload = {"kit_id": device["id"], "name": device["name"], "key": device["key"],
               "ward": device["ward_code"], "hub_device_id": state["device_id"],
               "epoch": state["epoch"], **(extra or {})}
    return bundles.seal(key, header, json.dumps(payload, ensure_ascii=False).encode())


def enrolment_file(db, device: dict, code: str, *, by: str | None) -> bytes:
    """Return the enrolment bundle for `flask kit join --file`: the welcome with the
    ward's rows, sealed under the code. The code then no longer works over the LAN
    (the kit's first push binds it)."""
    items, until = pull_items(db, device["ward_code"], 0)
    data = _welcome(db, device, _code_key(code), normal_code(code)[:4],
                    {"pull": items, "until": until, "acked": device["acked_seq"]})
    with write(db):
        queries.update_device(db, device["id"], code_hash=None)
        audit.record(db, "sync_enrolment_file_written", user_id=by,
                     ward_code=device["ward_code"], entity="sync_devices",
                     entity_id=device["id"], detail={"rows": len(items)})
    return data


def join_request(db, code: str) -> bytes:
    """Return the kit's LAN join bundle: its device id, sealed under the code."""
    state = queries.state(db)
    header = {"kind": "join", "lookup": normal_code(code)[:4], "device": state["device_id"],
              "created_at": clock.now_iso()}
    return bundles.seal(_code_key(code), header,
                        json.dumps({"device_id": state["device_id"]}).encode())


def receive_join(db, data: bytes) -> bytes:
    """At the hub: check a join bundle against the pending enrolments, bind the kit's
    device id (the code is then spent) and return the sealed welcome.

    :raises Refused: no pending enrolment opens it, or its code expired.
    """
    header = bundles.read_header(data)
    lookup = normal_code(str(header.get("lookup", "")))[:4]
    for row in db.execute("SELECT id FROM sync_devices WHERE status = 'pending' "
                          "AND code_hash LIKE ?", [lookup + ":%"]).fetchall():
        device = queries.get_device(db, kit_id=row[0])
        key = bytes.fromhex(device["code_hash"].split(":", 1)[1])
        try:
            header, payload = bundles.open_sealed(key, data)
        except bundles.BundleError:
            continue
        if header["kind"] != "join":
            continue
        if device["code_expires_at"] < clock.now_iso():
            raise Refused("enrolment code expired")
        device_id = json.loads(payload)["device_id"]
        if device_id != header.get("device") or queries.get_device(db, device_id=device_id):
            raise Refused("device already enrolled")
        with write(db):
            queries.update_device(db, device["id"], device_id=device_id, status="active",
                                  code_hash=None, last_seen_at=clock.now_iso())
            audit.record(db, "sync_kit_joined", user_id=None, ward_code=device["ward_code"],
                         entity="sync_devices", entity_id=device["id"],
                         detail={"name": device["name"]})
        return _welcome(db, device, key, lookup)
    raise Refused("unknown or used enrolment code")


def is_fresh(db) -> bool:
    """Return True for a database with no users, households or kit enrolment yet."""
    return not (db.execute("SELECT 1 FROM users LIMIT 1").fetchone()
                or db.execute("SELECT 1 FROM households LIMIT 1").fetchone()
                or db.execute("SELECT 1 FROM sync_kit").fetchone())


def open_welcome(data: bytes, code: str) -> dict:
    """Return the welcome's contents (key, ward, hub; maybe the ward's rows).

    :raises Refused: the code does not open it.
    """
    try:
        header, payload = bundles.open_sealed(_code_key(code), data)
    except bundles.BundleError as exc:
        raise Refused("the code does not open this enrolment" if exc.reason == "bad seal"
                      else exc.reason) from None
    if header.get("kind") != "welcome":
        raise Refused("not an enrolment bundle")
    return json.loads(payload)


def become_kit(db, welcome: dict, hub_url: str | None) -> dict:
    """Make this fresh database the kit the welcome describes; apply the ward's rows when
    the welcome carries them. Return the kit row.

    :raises EnrolError: when the database already holds data or a ward it does not know.
    """
    if not is_fresh(db):
        raise EnrolError("this database already holds data: a kit joins on a fresh one "
                         "(flask init-db on an empty file)")
    if not db.execute("SELECT 1 FROM wards WHERE code = ?", [welcome["ward"]]).fetchone():
        raise EnrolError(f"unknown ward {welcome['ward']}")
    with write(db):
        db.execute("UPDATE sync_state SET is_hub = 0 WHERE id = 1")
        db.execute(
            """INSERT INTO sync_kit (id, kit_id, name, ward_code, key, hub_url, hub_device_id,
                                     hub_epoch, joined_at)
               VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [welcome["kit_id"], welcome["name"], welcome["ward"], welcome["key"], hub_url,
             welcome["hub_device_id"], welcome["epoch"], clock.now_iso()])
        audit.record(db, "sync_kit_joined", user_id=None, ward_code=welcome["ward"],
                     entity="sync_kit", entity_id=welcome["kit_id"],
                     detail={"name": welcome["name"]})
    if "pull" in welcome:
        apply_pull(db, {"epoch": welcome["epoch"], "since": 0, "until": welcome["until"],
                        "acked": welcome.get("acked", 0)}, welcome["pull"])
    return queries.kit(db)


def revoke_kit(db, name: str, *, by: str | None) -> dict:
    """Revoke a kit at the hub (its later bundles are refused); return its row.

    :raises EnrolError: no such kit.
    """
    device = queries.get_device(db, name=name)
    if device is None:
        raise EnrolError(f"no kit named {name!r}")
    with write(db):
        queries.update_device(db, device["id"], status="revoked", code_hash=None,
                              revoked_at=clock.now_iso())
        audit.record(db, "sync_kit_revoked", user_id=by, ward_code=device["ward_code"],
                     entity="sync_devices", entity_id=device["id"],
                     detail={"name": device["name"]})
    return queries.get_device(db, kit_id=device["id"])
