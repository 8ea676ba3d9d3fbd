"""SQL for households and residents (search and its index: search.py).

Every lookup takes the caller's ward code: a row of another ward is simply not found.
Each user action (register a household, add, edit, remove or restore a resident, view a
household, reissue its QR code) is one function here that opens `write()` and records its
audit row (docs/ARCHITECTURE.md#write-path). `bulk_create` writes no audit row: the import
that calls it records one for the whole batch.
"""
import secrets
from datetime import date

from .. import audit, clock
from ..db import write
from ..ids import new_id
from ..text import clean_line, fold, sort_key
from .search import FTS_INSERT, address_terms, fts_values, index_resident, unindex_resident

RESIDENT_FIELDS = (
    "full_name", "dob", "gender", "cccd", "is_born_abroad", "phone", "relation",
    "needs_home_support", "support_reason", "ihanoi_status", "lawful_basis",
)


def new_reference() -> str:
    """Return a fresh household QR token: 128 random bits, URL-safe, no personal data."""
    return secrets.token_urlsafe(16)


def format_address(house_number: str, lane: str | None, street: str) -> str:
    """Return the household's address as printed: "Số 12, Ngõ 34, Âu Cơ"."""
    parts = [f"Số {house_number}", lane, street]
    return ", ".join(p for p in parts if p)


# --- households ----------------------------------------------------------------------

def _household_row(fields: dict, *, ward_code: str, by: str | None, now: str) -> dict:
    """Return the full households row (address, folded address, fresh QR token)."""
    address = format_address(fields["house_number"], fields.get("lane"), fields["street"])
    return {
        "id": new_id(), "ward_code": ward_code, "group_id": fields["group_id"],
        "house_number": fields["house_number"], "lane": fields.get("lane"),
        "street": fields["street"], "cluster": fields.get("cluster"), "address": address,
        "address_folded": fold(address), "reference": new_reference(),
        "notes": fields.get("notes"), "created_at": now, "updated_at": now,
        "updated_by": by, "deleted_at": None,
    }


def create_household(db, *, ward_code: str, group_id: str, house_number: str,
                     lane: str | None, street: str, cluster: str | None = None,
                     notes: str | None = None, by: str | None) -> dict:
    """Insert a household (audited as household_created) and return the new row."""
    row = _household_row(
        {"group_id": group_id, "house_number": house_number, "lane": lane, "street": street,
         "cluster": cluster, "notes": notes}, ward_code=ward_code, by=by, now=clock.now_iso())
    with write(db):
        db.table("households").insert(row)
        audit.record(db, "household_created", user_id=by, ward_code=ward_code,
                     entity="households", entity_id=row["id"])
    return row


def register_household(db, *, ward_code: str, group: dict, house_number: str,
                       lane: str | None, street: str, notes: str | None, fields: dict,
                       by: str | None) -> dict:
    """Insert a household of `group` and its first resident (validated `fields`) in one
    transaction, each audited; return the household row."""
    with write(db):
        household = create_household(
            db, ward_code=ward_code, group_id=group["id"], house_number=house_number,
            lane=lane, street=street, cluster=group["cluster"], notes=notes, by=by)
        create_resident(db, ward_code=ward_code, household_id=household["id"],
                        fields=fields, by=by)
    return household


def view_household(db, ward_code: str, household_id: str, *, by: str | None) -> dict | None:
    """Return the live household like `get_household` and record that `by` opened it
    (household_viewed: who looked at whose data), or None without recording anything."""
    household = get_household(db, ward_code, household_id)
    if household is not None:
        with write(db):
            audit.record(db, "household_viewed", user_id=by, ward_code=ward_code,
                         entity="households", entity_id=household_id)
    return household


def get_household(db, ward_code: str, household_id: str) -> dict | None:
    """Return the live household (with `group_name`) of the ward, or None."""
    rows = list(db.query(
        """
        SELECT h.*, g.name AS group_name
        FROM households h JOIN residential_groups g ON g.id = h.group_id
        WHERE h.id = :id AND h.ward_code = :ward AND h.deleted_at IS NULL
        """,
        {"id": household_id, "ward": ward_code},
    ))
    return rows[0] if rows else None


def get_household_by_reference(db, ward_code: str, reference: str) -> dict | None:
    """Return the ward's live household whose QR token is `reference`, or None."""
    row = db.execute(
        "SELECT id FROM households WHERE reference = ? AND ward_code = ? AND deleted_at IS NULL",
        [reference, ward_code]).fetchone()
    return get_household(db, ward_code, row[0]) if row else None


def find_household_at(db, ward_code: str, group_id: str, address: str) -> dict | None:
    """Return the live household of the group at this address (folded match), or None."""
    row = db.execute(
        """SELECT id FROM households WHERE ward_code = ? AND group_id = ?
           AND address_folded = ? AND deleted_at IS NULL""",
        [ward_code, group_id, fold(address)]).fetchone()
    return get_household(db, ward_code, row[0]) if row else None


def reissue_reference(db, ward_code: str, household_id: str, *, by: str | None) -> str:
    """Give the household a new QR token (old printed sheets stop working), audited as
    reference_reissued; return the token."""
    reference = new_reference()
    with write(db):
        db.execute(
            """UPDATE households SET reference = :ref, updated_at = :now, updated_by = :by
               WHERE id = :id AND ward_code = :ward""",
            {"ref": reference, "now": clock.now_iso(), "by": by, "id": household_id,
             "ward": ward_code})
        audit.record(db, "reference_reissued", user_id=by, ward_code=ward_code,
                     entity="households", entity_id=household_id)
    return reference


# --- residents -----------------------------------------------------------------------

def _derived(fields: dict) -> dict:
    """Return the stored columns computed from a resident's editable fields."""
    name = clean_line(fields["full_name"])
    dob = fields["dob"]
    return {
        "full_name": name,
        "name_folded": fold(name),
        "sort_key": sort_key(name),
        "dob": dob.isoformat() if isinstance(dob, date) else dob,
    }


def _next_fts_rowid(db) -> int:
    """Return the next free search-index rowid (callers hold the write transaction)."""
    return db.execute("SELECT coalesce(max(fts_rowid), 0) + 1 FROM residents").fetchone()[0]


def _resident_row(fields: dict, *, ward_code: str, household_id: str, by: str | None,
                  now: str) -> dict:
    """Return the full residents row for validated `fields` (one dict literal: this runs
    100,000 times in an import)."""
    name = clean_line(fields["full_name"])
    dob = fields["dob"]
    basis = fields.get("lawful_basis")
    return {
        "id": new_id(), "ward_code": ward_code, "household_id": household_id,
        "full_name": name, "name_folded": fold(name), "sort_key": sort_key(name),
        "dob": dob.isoformat() if isinstance(dob, date) else dob,
        "gender": fields.get("gender"), "cccd": fields.get("cccd"),
        "is_born_abroad": int(bool(fields.get("is_born_abroad"))),
        "phone": fields.get("phone"), "relation": fields.get("relation"),
        "needs_home_support": int(bool(fields.get("needs_home_support"))),
        "support_reason": fields.get("support_reason"),
        "ihanoi_status": fields.get("ihanoi_status") or "unknown",
        "lawful_basis": basis,
        "consent_at": now if basis and basis.startswith("consent") else None,
        "created_at": now, "updated_at": now, "updated_by": by, "deleted_at": None,
    }


def create_resident(db, *, ward_code: str, household_id: str, fields: dict,
                    by: str | None) -> dict:
    """Insert a resident of the household, index it for search, audit it as
    resident_created, and return the row."""
    row = _resident_row(fields, ward_code=ward_code, household_id=household_id, by=by,
                        now=clock.now_iso())
    with write(db):
        row["fts_rowid"] = _next_fts_rowid(db)
        db.table("residents").insert(row)
        index_resident(db, row)
        audit.record(db, "resident_created", user_id=by, ward_code=ward_code,
                     entity="residents", entity_id=row["id"],
                     detail={"household_id": household_id})
    return row


def update_resident(db, ward_code: str, resident_id: str, fields: dict, *,
                    by: str | None) -> list[str]:
    """Save edited fields of a live resident, re-index it, and audit it as
    resident_updated with the changed column names (never the values); return those
    names."""
    with write(db):
        changed = _update_resident(db, ward_code, resident_id, fields, by=by)
        audit.record(db, "resident_updated", user_id=by, ward_code=ward_code,
                     entity="residents", entity_id=resident_id, detail={"fields": changed})
    return changed


def _update_resident(db, ward_code: str, resident_id: str, fields: dict, *,
                     by: str | None) -> list[str]:
    old = get_resident(db, ward_code, resident_id)
    changes = {k: fields[k] for k in RESIDENT_FIELDS if k in fields}
    changes.update(_derived({**old, **fields}))
    for flag in ("is_born_abroad", "needs_home_support"):
        if flag in changes:
            changes[flag] = int(bool(changes[flag]))
    if changes.get("lawful_basis", "").startswith("consent") and \
            changes["lawful_basis"] != old["lawful_basis"]:
        changes["consent_at"] = clock.now_iso()
    changed = sorted(k for k, v in changes.items()
                     if k in RESIDENT_FIELDS and old.get(k) != v)
    changes.update({"updated_at": clock.now_iso(), "updated_by": by})
    db.table("residents").update(resident_id, changes)
    unindex_resident(db, old["fts_rowid"])
    index_resident(db, {**old, **changes})
    return changed


def get_resident(db, ward_code: str, resident_id: str, *,
                 include_deleted: bool = False) -> dict | None:
    """Return the ward's resident (with `address`, `group_name`), or None. Soft-deleted
    residents only when `include_deleted`."""
    rows = list(db.query(
        """
        SELECT r.*, h.address, h.group_id, g.name AS group_name
        FROM residents r
        JOIN households h ON h.id = r.household_id
        JOIN residential_groups g ON g.id = h.group_id
        WHERE r.id = :id AND r.ward_code = :ward
          AND (:deleted OR r.deleted_at IS NULL)
        """,
        {"id": resident_id, "ward": ward_code, "deleted": int(include_deleted)},
    ))
    return rows[0] if rows else None


def list_residents(db, household_id: str) -> list[dict]:
    """Return the household's live residents: the head first, then by date of birth."""
    return list(db.query(
        """
        SELECT * FROM residents
        WHERE household_id = :h AND deleted_at IS NULL
        ORDER BY relation != 'head', dob, sort_key
        """,
        {"h": household_id},
    ))


def soft_delete_resident(db, ward_code: str, resident_id: str, *, by: str | None) -> None:
    """Mark a resident deleted (kept for sync and undo), drop it from search, and audit
    it as resident_deleted."""
    now = clock.now_iso()
    with write(db):
        db.execute(
            """UPDATE residents SET deleted_at = :now, updated_at = :now, updated_by = :by
               WHERE id = :id AND ward_code = :ward""",
            {"now": now, "by": by, "id": resident_id, "ward": ward_code})
        unindex_resident(db, get_resident(db, ward_code, resident_id,
                                  include_deleted=True)["fts_rowid"])
        audit.record(db, "resident_deleted", user_id=by, ward_code=ward_code,
                     entity="residents", entity_id=resident_id)


def restore_resident(db, ward_code: str, resident_id: str, *, by: str | None) -> bool:
    """Undo a soft delete, put the resident back in search, and audit it as
    resident_restored. Return False, changing nothing, when another live resident of the
    ward now holds the same CCCD (checked inside the transaction)."""
    with write(db):
        resident = get_resident(db, ward_code, resident_id, include_deleted=True)
        if resident["cccd"] and find_by_cccd(db, ward_code, resident["cccd"],
                                             except_id=resident_id):
            return False
        db.execute(
            """UPDATE residents SET deleted_at = NULL, updated_at = :now, updated_by = :by
               WHERE id = :id AND ward_code = :ward""",
            {"now": clock.now_iso(), "by": by, "id": resident_id, "ward": ward_code})
        index_resident(db, get_resident(db, ward_code, resident_id))
        audit.record(db, "resident_restored", user_id=by, ward_code=ward_code,
                     entity="residents", entity_id=resident_id)
    return True


def find_by_cccd(db, ward_code: str, cccd: str, *, except_id: str | None = None) -> dict | None:
    """Return the ward's live resident holding this CCCD (other than `except_id`), or None."""
    rows = list(db.query(
        """SELECT id, household_id, full_name FROM residents
           WHERE ward_code = :ward AND cccd = :cccd AND deleted_at IS NULL
             AND id IS NOT :except""",
        {"ward": ward_code, "cccd": cccd, "except": except_id}))
    return rows[0] if rows else None


def find_by_name_dob(db, ward_code: str, full_name: str, dob: date | str, *,
                     except_id: str | None = None) -> list[dict]:
    """Return the ward's live residents with the same folded name and date of birth."""
    dob = dob.isoformat() if isinstance(dob, date) else dob
    return list(db.query(
        """SELECT id, household_id, full_name FROM residents
           WHERE ward_code = :ward AND name_folded = :name AND dob = :dob
             AND deleted_at IS NULL AND id IS NOT :except""",
        {"ward": ward_code, "name": fold(full_name), "dob": dob, "except": except_id}))


def household_history(db, household_id: str, limit: int = 50) -> list[dict]:
    """Return the audit entries about the household and its residents, newest first,
    with the acting user's display name."""
    return list(db.query(
        """
        SELECT a.at, a.action, a.entity, a.entity_id, a.detail,
               u.display_name AS user_name, r.full_name AS resident_name
        FROM audit_log a
        LEFT JOIN users u ON u.id = a.user_id
        LEFT JOIN residents r ON a.entity = 'residents' AND r.id = a.entity_id
        WHERE ((a.entity = 'households' AND a.entity_id = :h)
           OR (a.entity = 'residents' AND a.entity_id IN
                (SELECT id FROM residents WHERE household_id = :h)))
          AND a.action != 'household_viewed'
        ORDER BY a.at DESC, a.rowid DESC
        LIMIT :limit
        """,
        {"h": household_id, "limit": limit},
    ))


def count_residents(db, ward_code: str) -> int:
    """Return how many live residents the ward has."""
    return db.execute("SELECT count(*) FROM residents WHERE ward_code = ? AND deleted_at IS NULL",
                      [ward_code]).fetchone()[0]


def bulk_create(db, *, ward_code: str, items, by: str | None, batch: int = 2000) -> dict:
    """Insert many households with their residents (already validated), in batches, and
    index them for search. `items` yields (household_fields, [resident_fields]); a
    household_fields dict with an "id" key is an existing household to add people to.

    Return the counts {"households": n, "residents": m}. The caller holds the
    transaction (one `write()` for an all-or-nothing import).
    """
    now = clock.now_iso()
    next_rowid = _next_fts_rowid(db)
    households, residents, fts = [], [], []
    counts = {"households": 0, "residents": 0}

    def flush():
        # Plain executemany: sqlite-utils' insert_all spends more time building statements
        # than SQLite spends writing (measured on 100,000-row imports).
        for table, rows in (("households", households), ("residents", residents)):
            if rows:
                columns = list(rows[0])
                db.conn.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' * len(columns))})",
                    [[row[c] for c in columns] for row in rows])
        db.conn.executemany(FTS_INSERT, fts)
        counts["households"] += len(households)
        counts["residents"] += len(residents)
        households.clear(), residents.clear(), fts.clear()

    for household_fields, people in items:
        if "id" in household_fields:  # an existing household
            household = household_fields
        else:
            household = _household_row(household_fields, ward_code=ward_code, by=by, now=now)
            households.append(household)
        address_text = address_terms(fold(household["address"]))
        for fields in people:
            row = _resident_row(fields, ward_code=ward_code, household_id=household["id"],
                                by=by, now=now)
            row["fts_rowid"] = next_rowid
            next_rowid += 1
            residents.append(row)
            fts.append(fts_values(row, address_text))
        if len(residents) >= batch:
            flush()
    flush()
    return counts
