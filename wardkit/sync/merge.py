"""A leader settles the conflicts a kit's push left at the hub (docs/ARCHITECTURE.md#sync):
choose a value per field of an overlap, merge two records of the same person, or mark a
possible duplicate settled. Each is one action: one `write()` with its audit row.

The writes are ordinary UPDATE statements, so the capture triggers log them and the
settled values travel to every kit at its next pull.
"""
from .. import audit, clock
from ..db import write
from ..text import fold, sort_key
from . import queries
from .apply import rebuild
from .tables import BOTH, DERIVED

SIDES = ("kept", "incoming")
# iHanoi onboarding, least to most advanced: a merge keeps the more advanced of the two.
IHANOI_ORDER = ("unknown", "not_installed", "installed", "activated")
# Columns of a resident a merge never copies from the other record.
MERGE_SKIP = frozenset({"id", "ward_code", "household_id", "full_name", "name_folded",
                        "sort_key", "dob", "gender", "relation", "lawful_basis", "fts_rowid",
                        "created_at", "updated_at", "updated_by", "deleted_at",
                        "ihanoi_status", "is_zalo_followed", "needs_home_support"})
_COMPUTE = {"name_folded": fold, "sort_key": sort_key, "address_folded": fold}


class SettleError(ValueError):
    """The conflict cannot be settled that way (gone, settled already, wrong kind)."""


# --- reads for the conflicts page ------------------------------------------------------

def user_names(db, user_ids) -> dict:
    """Return {user id: display name} for the given ids (unknown ids left out)."""
    ids = sorted({i for i in user_ids if i})
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    return dict(db.execute(f"SELECT id, display_name FROM users WHERE id IN ({marks})", ids))


def residents_of(db, ward_code: str, resident_ids) -> dict:
    """Return {id: resident row with its household's address} for the ward's residents."""
    ids = sorted({i for i in resident_ids if i})
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = db.execute(
        f"""SELECT r.id, r.household_id, r.full_name, r.dob, r.gender, r.cccd, r.phone,
                   r.ihanoi_status, r.deleted_at, h.address,
                   (SELECT count(*) FROM declarations d
                    WHERE d.resident_id = r.id AND d.deleted_at IS NULL) AS declarations
            FROM residents r JOIN households h ON h.id = r.household_id
            WHERE r.ward_code = ? AND r.id IN ({marks})""", [ward_code, *ids])
    names = [d[0] for d in rows.description]
    return {row[0]: dict(zip(names, row)) for row in rows.fetchall()}


def household_of(db, ward_code: str, table: str, row_id: str) -> str | None:
    """Return the household a conflict's row belongs to (for the link), or None."""
    if table == "households":
        column = "id"
    elif "household_id" in queries.columns(db, table):
        column = "household_id"
    elif table == "declarations":
        row = db.execute("""SELECT r.household_id FROM declarations d
                            JOIN residents r ON r.id = d.resident_id
                            WHERE d.id = ? AND d.ward_code = ?""", [row_id, ward_code]).fetchone()
        return row[0] if row else None
    else:
        return None
    row = db.execute(f"SELECT {column} FROM {table} WHERE id = ? AND ward_code = ?",
                     [row_id, ward_code]).fetchone()
    return row[0] if row else None


def shown_columns(conflict: dict) -> list[str]:
    """Return the columns a leader chooses for: derived ones follow their source."""
    derived = DERIVED.get(conflict["table_name"], {})
    return [c for c in conflict["columns"]
            if not (c in derived and derived[c] in conflict["columns"])]


# --- settling an overlap -------------------------------------------------------------------

def _open(db, conflict_id: str, ward_code: str, kind: str) -> dict:
    conflict = queries.get_conflict(db, conflict_id, ward_code)
    if conflict is None or conflict["settled_at"] or conflict["kind"] != kind:
        raise SettleError("no such open conflict")
    return conflict


def chosen_values(db, conflict: dict, choices: dict) -> dict:
    """Return {column: value} to write for `choices` ({shown column: "kept"|"incoming"}),
    with the derived columns of a chosen source (from that side, else recomputed).

    :raises SettleError: a column without a choice, or one the row does not have.
    """
    table = conflict["table_name"]
    known = set(queries.columns(db, table))
    values = {}
    for column in shown_columns(conflict):
        side = choices.get(column)
        if side not in SIDES or column not in known:
            raise SettleError(f"no choice for {column}")
        values[column] = conflict[f"{side}_values"].get(column)
    for derived, source in DERIVED.get(table, {}).items():
        if source not in values or derived not in known:
            continue
        side_values = conflict[f"{choices[source]}_values"]
        values[derived] = (side_values[derived] if side_values.get(derived) is not None
                           else _COMPUTE[derived](values[source]))
    return values


def settle(db, conflict_id: str, choices: dict, *, by: str | None, ward_code: str) -> dict:
    """Write the chosen side of each field of an overlap conflict to its row, mark the
    conflict settled and audit it (the columns and sides, never the values); re-index the
    resident or household touched. Return the values written.

    :raises SettleError: the conflict is not open in this ward, a field has no choice,
        or its row is gone.
    """
    with write(db):
        conflict = _open(db, conflict_id, ward_code, "overlap")
        table, row_id = conflict["table_name"], conflict["row_id"]
        if table not in BOTH:
            raise SettleError("not a table a leader settles")
        values = chosen_values(db, conflict, choices)
        if not db.execute(f"SELECT 1 FROM {table} WHERE id = ? AND ward_code = ?",
                          [row_id, ward_code]).fetchone():
            raise SettleError("the row is gone")
        stamp = {}
        if "updated_at" in queries.columns(db, table):
            stamp = {"updated_at": clock.now_iso(), "updated_by": by}
        sets = {**values, **stamp}
        db.execute(f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in sets)} WHERE id = ?",
                   [*sets.values(), row_id])
        if table in ("residents", "households"):
            rebuild(db, {table: {row_id}})
        sides = {c: choices[c] for c in shown_columns(conflict)}
        queries.settle_conflict(db, conflict_id, by=by, settlement={"choices": sides})
        audit.record(db, "sync_conflict_settled", user_id=by, ward_code=ward_code,
                     entity="sync_conflicts", entity_id=conflict_id,
                     detail={"table": table, "row_id": row_id, "choices": sides})
    return values


def dismiss(db, conflict_id: str, *, by: str | None, ward_code: str, outcome: str) -> None:
    """Mark a possible duplicate settled without changing a record: "not_same" (two
    people after all) or "settled" (a household or group looked at).

    :raises SettleError: the conflict is not an open duplicate of this ward.
    """
    with write(db):
        conflict = _open(db, conflict_id, ward_code, "duplicate")
        queries.settle_conflict(db, conflict_id, by=by, settlement={"outcome": outcome})
        audit.record(db, "sync_conflict_settled", user_id=by, ward_code=ward_code,
                     entity="sync_conflicts", entity_id=conflict_id,
                     detail={"table": conflict["table_name"], "outcome": outcome})


# --- merging two people -------------------------------------------------------------------

def merge_people(db, survivor_id: str, other_id: str, *, by: str | None, ward_code: str,
                 conflict_id: str) -> dict:
    """Merge the duplicate `other_id` into `survivor_id`: its declarations and onboarding
    changes move to the survivor, the survivor's empty fields are filled from it, the
    more advanced onboarding state wins, and the other record is soft-deleted. Settles
    the conflict and audits both ids (no names). Return {"declarations": n,
    "onboarding_changes": m}.

    :raises SettleError: the conflict is not an open duplicate of exactly these two
        live residents of the ward.
    """
    with write(db):
        conflict = _open(db, conflict_id, ward_code, "duplicate")
        pair = {conflict["row_id"], conflict["other_row_id"]}
        if conflict["table_name"] != "residents" or survivor_id == other_id \
                or pair != {survivor_id, other_id}:
            raise SettleError("not this conflict's two people")
        survivor = queries.get_row(db, "residents", survivor_id)
        other = queries.get_row(db, "residents", other_id)
        if not survivor or not other or survivor["ward_code"] != ward_code \
                or other["ward_code"] != ward_code or survivor["deleted_at"] \
                or other["deleted_at"]:
            raise SettleError("not two live people of this ward")
        now = clock.now_iso()
        moved = db.execute(
            """UPDATE declarations SET resident_id = ?, updated_at = ?, updated_by = ?
               WHERE resident_id = ? AND ward_code = ?""",
            [survivor_id, now, by, other_id, ward_code]).rowcount
        onboarding = db.execute(
            "UPDATE onboarding_changes SET resident_id = ? WHERE resident_id = ? "
            "AND ward_code = ?", [survivor_id, other_id, ward_code]).rowcount
        # The other record goes first: its CCCD may then pass to the survivor.
        db.execute("UPDATE residents SET deleted_at = ?, updated_at = ?, updated_by = ? "
                   "WHERE id = ?", [now, now, by, other_id])
        fill = {c: other[c] for c in survivor
                if c not in MERGE_SKIP and survivor[c] in (None, "")
                and other.get(c) not in (None, "")}
        fill["ihanoi_status"] = max(survivor["ihanoi_status"], other["ihanoi_status"],
                                    key=IHANOI_ORDER.index)
        for flag in ("is_zalo_followed", "needs_home_support"):
            fill[flag] = max(survivor[flag] or 0, other[flag] or 0)
        fill.update(updated_at=now, updated_by=by)
        db.execute(f"UPDATE residents SET {', '.join(f'{c} = ?' for c in fill)} WHERE id = ?",
                   [*fill.values(), survivor_id])
        rebuild(db, {"residents": {survivor_id, other_id}})
        queries.settle_conflict(db, conflict_id, by=by, settlement={
            "outcome": "merged", "survivor": survivor_id, "other": other_id})
        counts = {"declarations": moved, "onboarding_changes": onboarding}
        audit.record(db, "residents_merged", user_id=by, ward_code=ward_code,
                     entity="residents", entity_id=survivor_id,
                     detail={"survivor_id": survivor_id, "other_id": other_id,
                             "conflict_id": conflict_id, **counts})
    return counts
