"""Residential groups: the ward's groups (reads) and the create and update actions, each
in its own transaction with its audit row. Every function is scoped to one ward."""
import re

from .. import audit, clock
from ..db import write
from ..ids import new_id


def list_groups(db, ward_code: str) -> list[dict]:
    """Return the ward's live groups, in natural order of their names ("Tổ 2" before
    "Tổ 10")."""
    rows = list(db.query(
        """
        SELECT id, name, cluster, target_adults, updated_at
        FROM residential_groups
        WHERE ward_code = :ward AND deleted_at IS NULL
        """,
        {"ward": ward_code},
    ))
    return sorted(rows, key=lambda r: natural_key(r["name"]))


def natural_key(name: str) -> list:
    """Return a sort key that orders embedded numbers by value."""
    return [int(part) if part.isdigit() else part.casefold()
            for part in re.split(r"(\d+)", name)]


def get_group(db, ward_code: str, group_id: str) -> dict | None:
    """Return the group with `group_id` in `ward_code`, or None (also for other wards)."""
    rows = list(db.query(
        """
        SELECT * FROM residential_groups
        WHERE id = :id AND ward_code = :ward AND deleted_at IS NULL
        """,
        {"id": group_id, "ward": ward_code},
    ))
    return rows[0] if rows else None


def name_taken(db, ward_code: str, name: str, *, except_id: str | None = None) -> bool:
    """Return True when another live group of the ward already has this name."""
    row = db.execute(
        """SELECT 1 FROM residential_groups WHERE ward_code = ? AND name = ?
           AND deleted_at IS NULL AND id IS NOT ?""",
        [ward_code, name, except_id],
    ).fetchone()
    return row is not None


def create_group(db, *, ward_code: str, name: str, cluster: str | None, target_adults: int,
                 by: str | None) -> dict:
    """Create a group in `ward_code`, audited as `group_created` by `by`; return the new
    row."""
    with write(db):
        row = insert_group(db, ward_code=ward_code, name=name, cluster=cluster,
                           target_adults=target_adults, by=by)
        audit.record(db, "group_created", user_id=by, ward_code=ward_code,
                     entity="residential_groups", entity_id=row["id"])
    return row


def update_group(db, ward_code: str, group: dict, *, name: str, cluster: str | None,
                 target_adults: int, by: str | None) -> list[str]:
    """Rename `group` and set its cluster and adult target, audited as `group_updated`
    by `by`; return the names of the fields that changed."""
    fields = {"name": name, "cluster": cluster, "target_adults": target_adults}
    with write(db):
        update_group_row(db, ward_code, group["id"], by=by, **fields)
        changed = sorted(k for k, v in fields.items() if group[k] != v)
        audit.record(db, "group_updated", user_id=by, ward_code=ward_code,
                     entity="residential_groups", entity_id=group["id"],
                     detail={"fields": changed})
    return changed


# Row-level writes without an audit row, for `flask seed-demo`, which audits its groups
# itself once their targets are known.

def insert_group(db, *, ward_code: str, name: str, cluster: str | None, target_adults: int,
                 by: str | None) -> dict:
    """Insert a group (no audit row) and return the new row."""
    now = clock.now_iso()
    row = {
        "id": new_id(), "ward_code": ward_code, "name": name, "cluster": cluster,
        "target_adults": target_adults, "created_at": now, "updated_at": now,
        "updated_by": by, "deleted_at": None,
    }
    db.table("residential_groups").insert(row)
    return row


def update_group_row(db, ward_code: str, group_id: str, *, name: str, cluster: str | None,
                     target_adults: int, by: str | None) -> None:
    """Set a group's name, cluster and adult target (no audit row)."""
    db.execute(
        """
        UPDATE residential_groups
        SET name = :name, cluster = :cluster, target_adults = :target,
            updated_at = :now, updated_by = :by
        WHERE id = :id AND ward_code = :ward
        """,
        {"name": name, "cluster": cluster, "target": target_adults, "now": clock.now_iso(),
         "by": by, "id": group_id, "ward": ward_code},
    )
