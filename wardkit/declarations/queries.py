"""SQL for licence and vehicle declarations: drafts, the review workflow, conflict flags.

Every lookup takes the caller's ward code: another ward's declaration is simply not found.
Each user action is one function here that opens `write()` and records its audit row
(docs/ARCHITECTURE.md#write-path); called inside another action's `write()`, it joins
that transaction. Audit rows hold ids, statuses and field names only, never the values typed.
"""
import json

from .. import audit, clock
from ..db import insert_row, update_row, write
from ..ids import new_id
from .workflow import (CHANNELS, EDITABLE, KINDS, NEEDS_COMPLETE, DeclarationError,
                       NotEditable, TransitionRefused, can_transition, missing_for_record)

__all__ = [
    "DeclarationError", "NotEditable", "TransitionRefused", "EDITABLE_FIELDS",
    "create_draft", "save_draft", "discard_draft", "record_declaration", "get_declaration",
    "list_declarations", "counts_by_status", "transition", "refresh_flags", "list_flags",
    "by_resident", "verify_many",
]

PAGE_SIZE = 50
ENTITY = "declarations"

# The columns a form may write through save_draft; status, ownership, review and flag
# columns only change through the functions below. Derived values (plate_compact,
# licence_class_new, expires_on, needs_exchange) are computed by the caller.
EDITABLE_FIELDS = (
    "lawful_basis", "consent_method", "channel",
    "licence_no", "licence_class", "licence_class_new", "issued_on", "expires_on",
    "issuing_authority", "is_paper_licence", "needs_exchange",
    "vehicle_type", "plate", "plate_compact", "plate_colour", "chassis_no", "engine_no",
    "brand", "model", "colour", "reg_cert_no", "registered_on", "owner_name",
    "owner_is_resident", "situation",
)
_FLAG_FIELDS = ("is_paper_licence", "needs_exchange", "owner_is_resident")


def create_draft(db, *, ward_code: str, resident_id: str, kind: str, channel: str,
                 by: str) -> dict:
    """Insert an empty draft declaration for the ward's live resident, audited, and return
    it. `by` is required: every declaration has its accountable recorder.

    :raises DeclarationError: `bad_kind`, `bad_channel`, or `not_found` when the resident
        is not a live resident of the ward.
    """
    if kind not in KINDS:
        raise DeclarationError("bad_kind")
    if channel not in CHANNELS:
        raise DeclarationError("bad_channel")
    with write(db):
        found = db.execute(
            "SELECT 1 FROM residents WHERE id = ? AND ward_code = ? AND deleted_at IS NULL",
            [resident_id, ward_code]).fetchone()
        if not found:
            raise DeclarationError("not_found")
        now = clock.now_iso()
        row = {
            "id": new_id(), "ward_code": ward_code, "resident_id": resident_id, "kind": kind,
            "status": "draft", "recorded_by": by, "channel": channel,
            "created_at": now, "updated_at": now, "updated_by": by,
        }
        insert_row(db, "declarations", row)
        audit.record(db, "declaration_created", entity=ENTITY, entity_id=row["id"],
                     detail={"kind": kind, "channel": channel, "resident_id": resident_id},
                     user_id=by, ward_code=ward_code)
        return get_declaration(db, ward_code, row["id"])


def _clean(column: str, value):
    """Return the stored form of a field value: blank text is NULL, flags are 0/1."""
    if isinstance(value, str) and not value.strip():
        return None
    if column in _FLAG_FIELDS and value is not None:
        return int(bool(value))
    return value


def changed_fields(row: dict, fields: dict) -> list[str]:
    """Return the editable fields whose stored form in `fields` differs from `row`."""
    return sorted(k for k in EDITABLE_FIELDS
                  if k in fields and row.get(k) != _clean(k, fields[k]))


def save_draft(db, ward_code: str, declaration_id: str, fields: dict, *, by: str | None,
               reload: bool = True) -> dict | None:
    """Save the given fields of a draft (or needs_fix) declaration; return it reloaded
    (None with `reload=False`: autosaves need no row, and the write lock is held for less).

    Only EDITABLE_FIELDS are written (other keys, such as a form's csrf_token or a forged
    `status`, are ignored); fields not given keep their values, so each htmx save may carry
    one field. Blank text is stored as NULL. The changed field names are audited.

    :raises NotEditable: `not_found`, or `not_editable` once recorded or later.
    """
    with write(db):
        # Read inside write(): the status checked is the one being updated.
        cursor = db.execute("SELECT * FROM declarations WHERE id = ? AND ward_code = ?"
                            " AND deleted_at IS NULL", [declaration_id, ward_code])
        found = cursor.fetchone()
        if found is None:
            raise NotEditable("not_found")
        old = dict(zip((c[0] for c in cursor.description), found))
        if old["status"] not in EDITABLE:
            raise NotEditable("not_editable")
        changed = changed_fields(old, fields)
        if changed:
            # The row is the ward's (checked above), so an update by primary key is scoped.
            update_row(db, "declarations", declaration_id, {
                **{k: _clean(k, fields[k]) for k in changed},
                "updated_at": clock.now_iso(), "updated_by": by})
            audit.record(db, "declaration_saved", entity=ENTITY, entity_id=declaration_id,
                         detail={"fields": changed}, user_id=by, ward_code=ward_code)
        return get_declaration(db, ward_code, declaration_id) if reload else None


def record_declaration(db, ward_code: str, declaration_id: str, fields: dict, *, role: str,
                       by: str | None) -> dict:
    """Save the checked `fields`, move the declaration to `recorded`, refresh its conflict
    flags, all in one transaction; return it reloaded.

    :raises NotEditable: as `save_draft`.
    :raises TransitionRefused: as `transition`.
    """
    with write(db):
        save_draft(db, ward_code, declaration_id, fields, by=by, reload=False)
        row = transition(db, ward_code, declaration_id, "recorded", role=role, by=by)
        refresh_flags(db, ward_code, declaration_id)
        return row


def discard_draft(db, ward_code: str, declaration_id: str, *, by: str | None) -> dict:
    """Soft-delete a `draft` declaration (opened by mistake or abandoned), audited; return
    the row as it was. Recorded or later declarations are never discarded: they go through
    review.

    :raises NotEditable: `not_found`, or `not_editable` when it is not a draft.
    """
    with write(db):
        row = get_declaration(db, ward_code, declaration_id)
        if row is None:
            raise NotEditable("not_found")
        if row["status"] != "draft":
            raise NotEditable("not_editable")
        now = clock.now_iso()
        update_row(db, "declarations", declaration_id,
                   {"deleted_at": now, "updated_at": now, "updated_by": by})
        audit.record(db, "declaration_discarded", entity=ENTITY, entity_id=declaration_id,
                     detail={"kind": row["kind"], "resident_id": row["resident_id"]},
                     user_id=by, ward_code=ward_code)
        return row


_SELECT = """
    SELECT d.*, r.full_name AS resident_name, h.group_id, g.name AS group_name
    FROM declarations d
    JOIN residents r ON r.id = d.resident_id
    JOIN households h ON h.id = r.household_id
    JOIN residential_groups g ON g.id = h.group_id
"""


def get_declaration(db, ward_code: str, declaration_id: str) -> dict | None:
    """Return the ward's live declaration with `resident_name`, `group_id`, `group_name`,
    or None (unknown id, another ward's, or deleted)."""
    rows = list(db.query(
        _SELECT + " WHERE d.id = :id AND d.ward_code = :ward AND d.deleted_at IS NULL",
        {"id": declaration_id, "ward": ward_code}))
    return rows[0] if rows else None


def list_declarations(db, ward_code: str, *, status: str | None = None,
                      kind: str | None = None, group_id: str | None = None,
                      flagged: bool | None = None, officer_id: str | None = None,
                      limit: int = PAGE_SIZE, offset: int = 0) -> list[dict]:
    """Return the ward's live declarations matching the filters (each None = any), with
    `resident_name`, `group_id` and `group_name`, most recently changed first.

    With `officer_id`, that officer's own drafts and needs_fix items come first (it orders,
    it does not filter).
    """
    return list(db.query(
        _SELECT + """
        WHERE d.ward_code = :ward AND d.deleted_at IS NULL
          AND (:status IS NULL OR d.status = :status)
          AND (:kind IS NULL OR d.kind = :kind)
          AND (:group IS NULL OR h.group_id = :group)
          AND (:flagged IS NULL OR d.is_flagged = :flagged)
        ORDER BY (d.recorded_by = :officer AND d.status IN ('draft', 'needs_fix')) DESC,
                 d.updated_at DESC, d.id DESC
        LIMIT :limit OFFSET :offset
        """,
        {"ward": ward_code, "status": status, "kind": kind, "group": group_id,
         "flagged": None if flagged is None else int(bool(flagged)),
         "officer": officer_id, "limit": limit, "offset": offset}))


def counts_by_status(db, ward_code: str) -> dict:
    """Return {status: count} of the ward's live declarations, every status present."""
    counts = dict.fromkeys(("draft", "recorded", "submitted", "verified", "needs_fix"), 0)
    for status, n in db.execute(
            """SELECT status, count(*) FROM declarations
               WHERE ward_code = ? AND deleted_at IS NULL GROUP BY status""", [ward_code]):
        counts[status] = n
    return counts


def transition(db, ward_code: str, declaration_id: str, to_status: str, *, role: str,
               by: str | None, reason: str | None = None,
               submitted_at: str | None = None) -> dict:
    """Move a declaration to `to_status`, audit it, and return it reloaded.

    `submitted`: pass `submitted_at` (when the resident submitted on iHanoi) or `reason`
    (why not, stored as not_submitted_reason). `needs_fix` requires a `reason`; `verified`
    takes an optional one; both record the reviewer and time.

    :raises TransitionRefused: `not_found`, `not_allowed`, `incomplete` (with `fields`),
        `reason_required`, `submission_missing`.
    """
    with write(db):
        row = get_declaration(db, ward_code, declaration_id)
        if row is None:
            raise TransitionRefused("not_found")
        from_status = row["status"]
        if not can_transition(role, from_status, to_status):
            raise TransitionRefused("not_allowed")
        if to_status in NEEDS_COMPLETE:
            missing = missing_for_record(row)
            if missing:
                raise TransitionRefused("incomplete", missing)
        reason = reason.strip() if isinstance(reason, str) and reason.strip() else None
        now = clock.now_iso()
        changes = {"status": to_status, "updated_at": now, "updated_by": by}
        if to_status == "submitted":
            if not submitted_at and not reason:
                raise TransitionRefused("submission_missing")
            changes.update(submitted_at=submitted_at or None,
                           not_submitted_reason=None if submitted_at else reason)
        elif to_status in ("verified", "needs_fix"):
            if to_status == "needs_fix" and not reason:
                raise TransitionRefused("reason_required")
            changes.update(reviewed_by=by, reviewed_at=now, review_reason=reason)
        # The row is the ward's (checked above) and write() holds the lock, so the status
        # read above is still current.
        update_row(db, "declarations", declaration_id, changes)
        audit.record(db, f"declaration_{to_status}", entity=ENTITY, entity_id=declaration_id,
                     detail={"from": from_status, "to": to_status, "kind": row["kind"]},
                     user_id=by, ward_code=ward_code)
        return get_declaration(db, ward_code, declaration_id)


# Conflict rules: (reason, kind, SQL condition matching `o` (other) against `d` (this)).
# Empty strings never match (save_draft stores blanks as NULL, and NULL never equals).
_CONFLICTS = (
    ("same_plate", "vehicle", "o.plate_compact = d.plate_compact AND d.plate_compact != ''"),
    ("same_vehicle", "vehicle",
     "o.chassis_no = d.chassis_no AND o.engine_no = d.engine_no "
     "AND d.chassis_no != '' AND d.engine_no != ''"),
    ("same_licence", "licence", "o.licence_no = d.licence_no AND d.licence_no != ''"),
)


def refresh_flags(db, ward_code: str, declaration_id: str) -> list[dict]:
    """Recompute the conflicts of one declaration and return its open flags.

    A conflict is another live declaration of the same kind in the ward, of another
    resident or of the same one (the same licence or vehicle declared twice for one
    person is a duplicate to clear up too), with the same compact plate, the same chassis
    and engine numbers (both filled), or the same licence number. Missing flags are added
    in both directions and both declarations get is_flagged = 1; open flags of this
    declaration whose conflict is gone (the plate was corrected) are resolved, and
    is_flagged recomputed on both sides.
    Returns [] for an unknown or other ward's id. Not audited: flags follow from the
    declarations' fields, whose changes are.
    """
    with write(db):
        row = get_declaration(db, ward_code, declaration_id)
        if row is None:
            return []
        now = clock.now_iso()
        found = set()
        for reason, kind, condition in _CONFLICTS:
            if row["kind"] != kind:
                continue
            for (other_id,) in db.execute(
                    f"""SELECT o.id FROM declarations d JOIN declarations o
                          ON o.ward_code = d.ward_code AND o.kind = d.kind AND o.id != d.id
                         AND o.deleted_at IS NULL
                         AND {condition}
                        WHERE d.id = :id AND d.ward_code = :ward""",
                    {"id": declaration_id, "ward": ward_code}).fetchall():
                found.add((other_id, reason))
        touched = {declaration_id}
        # Open flags (either direction) whose conflict no longer holds.
        for flag_id, a, b, reason in db.execute(
                """SELECT id, declaration_id, other_declaration_id, reason FROM declaration_flags
                   WHERE resolved_at IS NULL AND ward_code = :ward
                     AND (declaration_id = :id OR other_declaration_id = :id)""",
                {"id": declaration_id, "ward": ward_code}).fetchall():
            other = b if a == declaration_id else a
            if (other, reason) not in found:
                db.execute("UPDATE declaration_flags SET resolved_at = ? WHERE id = ?",
                           [now, flag_id])
                touched.add(other)
        for other_id, reason in sorted(found):
            for a, b in ((declaration_id, other_id), (other_id, declaration_id)):
                db.execute(
                    """INSERT INTO declaration_flags
                           (id, ward_code, declaration_id, other_declaration_id, reason, created_at)
                       SELECT :fid, :ward, :a, :b, :reason, :now
                       WHERE NOT EXISTS (SELECT 1 FROM declaration_flags
                           WHERE declaration_id = :a AND other_declaration_id = :b
                             AND reason = :reason AND resolved_at IS NULL)""",
                    {"fid": new_id(), "ward": ward_code, "a": a, "b": b, "reason": reason,
                     "now": now})
            touched.add(other_id)
        for d_id in touched:
            # is_flagged only, not updated_at: a flag is the leader's note, not an edit.
            db.execute(
                """UPDATE declarations SET is_flagged = EXISTS (
                       SELECT 1 FROM declaration_flags f
                       WHERE f.declaration_id = declarations.id AND f.resolved_at IS NULL)
                   WHERE id = ? AND ward_code = ?""", [d_id, ward_code])
        return list_flags(db, ward_code, declaration_id)


_FLAGS_SELECT = """
    SELECT f.*, o.resident_id AS other_resident_id, r.full_name AS other_resident_name,
           (o.resident_id = d.resident_id) AS same_person
    FROM declaration_flags f
    JOIN declarations d ON d.id = f.declaration_id
    JOIN declarations o ON o.id = f.other_declaration_id
    JOIN residents r ON r.id = o.resident_id
"""


def list_flags(db, ward_code: str, declaration_id: str) -> list[dict]:
    """Return the open flags of the ward's declaration, oldest first, with the other
    declaration's `other_resident_id` and `other_resident_name`, and `same_person` (1 when
    both declarations are the same resident's)."""
    return list(db.query(
        _FLAGS_SELECT + """
        WHERE f.declaration_id = :id AND f.ward_code = :ward AND f.resolved_at IS NULL
        ORDER BY f.created_at, f.reason, f.other_declaration_id
        """,
        {"id": declaration_id, "ward": ward_code}))


def by_resident(db, ward_code: str, resident_ids: list[str]) -> dict[str, list[dict]]:
    """Return {resident id: that resident's live declarations in the ward, oldest first,
    each with its open `flags` (as `list_flags`)} for every id in `resident_ids` ([] when
    none, or another ward's or an unknown resident)."""
    out: dict[str, list[dict]] = {rid: [] for rid in resident_ids}
    if not resident_ids:
        return out
    ids = json.dumps(list(resident_ids))
    rows = list(db.query(
        """SELECT * FROM declarations
           WHERE resident_id IN (SELECT value FROM json_each(:ids))
             AND ward_code = :ward AND deleted_at IS NULL
           ORDER BY created_at, rowid""",
        {"ids": ids, "ward": ward_code}))
    flags: dict[str, list] = {}
    if any(r["is_flagged"] for r in rows):
        for flag in db.query(
                _FLAGS_SELECT + """
                WHERE d.resident_id IN (SELECT value FROM json_each(:ids))
                  AND f.ward_code = :ward AND f.resolved_at IS NULL
                ORDER BY f.created_at, f.reason, f.other_declaration_id""",
                {"ids": ids, "ward": ward_code}):
            flags.setdefault(flag["declaration_id"], []).append(flag)
    for r in rows:
        r["flags"] = flags.get(r["id"], [])
        out[r["resident_id"]].append(r)
    return out


def verify_many(db, ward_code: str, ids, *, role: str, by: str | None) -> int:
    """Verify each of the ward's declarations in `ids`; return how many were verified.

    All or nothing, in one transaction: the first refusal raises and rolls back the ones
    already moved.

    :raises TransitionRefused: as `transition`, for the first declaration refused.
    """
    count = 0
    with write(db):
        for declaration_id in dict.fromkeys(ids):  # drop repeats, keep order
            transition(db, ward_code, declaration_id, "verified", role=role, by=by)
            count += 1
    return count
