"""One sync round's two halves on each side: the hub receives a push and writes a pull;
a kit writes its push and receives the hub's ack or pull (docs/ARCHITECTURE.md#sync).

Everything arrives as a sealed bundle (bundles.py) and is verified before anything is
written; a refused bundle is quarantined (on the hub) and audited.
"""
import hashlib
import hmac
import json

from .. import audit, clock
from ..db import write
from . import bundles, queries
from .apply import Refused, Result, apply_pull, apply_push, loads_changes, pull_items, verify_push


def _refuse(db, reason: str, header: dict | None, data: bytes, device: dict | None):
    """Quarantine and audit a refused bundle; raise Refused."""
    with write(db):
        qid = queries.quarantine(db, reason=reason, header=header, bundle=data,
                                 device_name=device["name"] if device else None)
        audit.record(db, "sync_bundle_refused", user_id=None,
                     ward_code=device["ward_code"] if device else (header or {}).get("ward"),
                     entity="sync_quarantine", entity_id=qid,
                     detail={"reason": reason, "kit": device["name"] if device else None})
    raise Refused(reason)


# --- the hub -----------------------------------------------------------------------------

def receive_push(db, data: bytes) -> tuple[dict, Result]:
    """Verify and apply a kit's push bundle at the hub; return (device, result).

    Then applies whatever the device's backlog holds that the push made contiguous.

    :raises Refused: the bundle is not a push of an active kit of this ward, its seal
        does not verify, or a change in it may not be applied (quarantined, audited).
    """
    try:
        header = bundles.read_header(data)
    except bundles.BundleError as exc:
        _refuse(db, exc.reason, None, data, None)
    device = queries.get_device(db, kit_id=str(header.get("kit")))
    if device is None:
        _refuse(db, "unknown kit", header, data, None)
    try:
        header, payload = bundles.open_sealed(bytes.fromhex(device["key"]), data)
        changes = loads_changes(bundles.read_lines(payload, digests=True))
    except bundles.BundleError as exc:
        _refuse(db, exc.reason, header, data, device)
    except Refused as exc:
        _refuse(db, exc.reason, header, data, device)
    flagged = 0
    if device["status"] == "revoked":
        # Sealed before the revocation (by the kit's clock) and delivered late: accepted
        # and flagged; anything later is refused.
        if not header.get("created_at") or header["created_at"] >= device["revoked_at"]:
            _refuse(db, "revoked kit", header, data, device)
        flagged = len(changes)
    if device["device_id"] is None:
        # Enrolled with a file: the kit's first push names its device.
        if queries.get_device(db, device_id=str(header.get("device"))):
            _refuse(db, "replay under another device", header, data, device)
        with write(db):
            queries.update_device(db, device["id"], device_id=header.get("device"),
                                  status="active", code_hash=None)
        device = queries.get_device(db, kit_id=device["id"])
    try:
        verify_push(db, device, header, changes)
    except Refused as exc:
        _refuse(db, exc.reason, header, data, device)
    offset = None
    if header.get("created_at"):
        offset = (clock.parse(header["created_at"]) - clock.now()).total_seconds()
    result = apply_push(db, device, header, changes, bundle=data)
    result.clock_flagged = flagged
    if offset is not None and header.get("live"):
        with write(db):
            queries.update_device(db, device["id"], clock_offset_seconds=offset)
    _drain_backlog(db, device["id"], result)
    result.epoch = queries.state(db)["epoch"]
    return queries.get_device(db, kit_id=device["id"]), result


def _drain_backlog(db, kit_id: str, result: Result) -> None:
    """Apply the device's held bundles that now follow its mark."""
    while True:
        device = queries.get_device(db, kit_id=kit_id)
        ready = [h for h in queries.backlog(db, device["device_id"])
                 if h["first_seq"] <= device["acked_seq"] + 1]
        if not ready:
            return
        held = ready[0]
        header, payload = bundles.open_sealed(bytes.fromhex(device["key"]), held["bundle"])
        changes = loads_changes(bundles.read_lines(payload, digests=True))
        with write(db):
            queries.drop_held(db, held["id"])
        more = apply_push(db, device, header, changes)
        result.add(more)
        result.held_back = max(0, result.held_back - len(changes))
        result.acked = more.acked


def ack_bundle(db, device: dict, result: Result) -> bytes:
    """Return the hub's sealed answer to a LAN push: its epoch, the kit's mark, counts."""
    state = queries.state(db)
    header = {"kind": "ack", "kit": device["id"], "ward": device["ward_code"],
              "device": state["device_id"], "epoch": state["epoch"],
              "acked": device["acked_seq"], "created_at": clock.now_iso()}
    counts = {**result.counts(), "clock_offset": device.get("clock_offset_seconds")}
    return bundles.seal(bytes.fromhex(device["key"]), header, json.dumps(counts).encode())


def pull_bundle(db, device: dict, since: int) -> bytes:
    """Return the sealed pull for `device`: the ward's rows changed after hub_seq `since`."""
    state = queries.state(db)
    items, until = pull_items(db, device["ward_code"], since)
    header = {"kind": "pull", "kit": device["id"], "ward": device["ward_code"],
              "device": state["device_id"], "epoch": state["epoch"], "since": since,
              "until": until, "acked": device["acked_seq"], "count": len(items),
              "created_at": clock.now_iso()}
    return bundles.seal(bytes.fromhex(device["key"]), header, bundles.json_lines(items))


def count_failure(db, name: str, client_addr: str) -> None:
    """Count a refused device request against `client_addr`, as a failed login is: the
    device routes are throttled by the same rule (security.login_retry_after)."""
    from ..auth.queries import record_attempt
    with write(db):
        record_attempt(db, username=name, client_addr=client_addr, outcome="failure")


def pull_mac(key_hex: str, kit_id: str, since: int) -> str:
    """Return the proof a kit sends with GET /sync/pull: HMAC-SHA256 under its key."""
    return hmac.new(bytes.fromhex(key_hex), f"pull:{kit_id}:{since}".encode(),
                    hashlib.sha256).hexdigest()


def check_pull_mac(device: dict, since: int, mac: str) -> bool:
    """Return True when `mac` proves the kit's key for this pull."""
    return hmac.compare_digest(pull_mac(device["key"], device["id"], since), mac or "")


# --- a kit ----------------------------------------------------------------------------------

def push_bundle(db, *, live: bool = False) -> tuple[bytes, int]:
    """Return (this kit's sealed push of every change the hub has not acknowledged, count).
    `live` says it goes over the LAN now (so the hub may measure the kit's clock)."""
    kit = queries.kit(db)
    me = queries.state(db)["device_id"]
    changes = queries.own_changes(db, me, kit["acked_seq"])
    header = {"kind": "push", "kit": kit["kit_id"], "ward": kit["ward_code"], "device": me,
              "epoch": kit["hub_epoch"], "first_seq": kit["acked_seq"] + 1,
              "last_seq": kit["acked_seq"] + len(changes), "count": len(changes),
              "pulled_seq": kit["pulled_seq"], "created_at": clock.now_iso(), "live": live}
    return bundles.seal(bytes.fromhex(kit["key"]), header, bundles.json_lines(changes)), \
        len(changes)


def _open_for_kit(db, data: bytes, kind: str) -> tuple[dict, dict, bytes]:
    kit = queries.kit(db)
    if kit is None:
        raise Refused("this database is not a field kit")
    try:
        header, payload = bundles.open_sealed(bytes.fromhex(kit["key"]), data)
    except bundles.BundleError as exc:
        raise Refused(exc.reason) from None
    if header.get("kind") != kind or header.get("kit") != kit["kit_id"] \
            or header.get("ward") != kit["ward_code"] \
            or header.get("device") != kit["hub_device_id"]:
        raise Refused(f"not a {kind} for this kit")
    return kit, header, payload


def receive_ack(db, data: bytes) -> dict:
    """Apply the hub's answer to a LAN push on this kit; return its counts and marks.
    A new hub epoch (the hub was restored) moves the kit's marks back so it re-sends
    what the hub lost and pulls everything again."""
    kit, header, payload = _open_for_kit(db, data, "ack")
    counts = json.loads(payload)
    with write(db):
        if header["epoch"] != kit["hub_epoch"]:
            db.execute("""UPDATE sync_kit SET acked_seq = ?, pulled_seq = 0, hub_epoch = ?,
                          last_push_at = ? WHERE id = 1""",
                       [header["acked"], header["epoch"], clock.now_iso()])
            counts["epoch_changed"] = True
        else:
            db.execute("UPDATE sync_kit SET acked_seq = max(acked_seq, ?), last_push_at = ? "
                       "WHERE id = 1", [header["acked"], clock.now_iso()])
        if counts.get("clock_offset") is not None:
            db.execute("UPDATE sync_kit SET clock_offset_seconds = ? WHERE id = 1",
                       [counts["clock_offset"]])
    return counts


def receive_pull(db, data: bytes) -> Result:
    """Verify and apply the hub's pull bundle on this kit; return what it did.

    :raises Refused: not a pull sealed for this kit by its hub.
    """
    kit, header, payload = _open_for_kit(db, data, "pull")
    try:
        items = bundles.read_lines(payload)
    except bundles.BundleError as exc:
        raise Refused(exc.reason) from None
    return apply_pull(db, header, items)
