"""The SQL of the official iHanoi account list (wardkit/reports/accounts.py): the ward's
identifiers to match against, the list and its matches, and the discrepancy lists.

Every read takes the ward code. Writes here are row-level helpers called inside
`accounts.import_list`'s transaction, never on their own.
"""
from ..db import insert_row

# A live resident lives in a live household: the same rule as the figures
# (wardkit/reports/figures.py), so a match never names someone the report ignores.
_LIVE = """FROM residents r CROSS JOIN households h ON h.id = r.household_id
           WHERE r.ward_code = :ward AND r.deleted_at IS NULL AND h.deleted_at IS NULL"""


def ward_identifiers(db, ward_code: str) -> tuple[dict, dict, set]:
    """Return ({cccd: resident id}, {phone: [resident ids]}, {ids of residents who have
    a CCCD}) for the ward's live residents. Phones are stored normalised (0xxxxxxxxx)."""
    by_cccd, by_phone, with_cccd = {}, {}, set()
    for resident_id, cccd, phone in db.execute(
            f"SELECT r.id, r.cccd, r.phone {_LIVE}", {"ward": ward_code}):
        if cccd:
            by_cccd[cccd] = resident_id
            with_cccd.add(resident_id)
        if phone:
            by_phone.setdefault(phone, []).append(resident_id)
    return by_cccd, by_phone, with_cccd


def insert_list(db, row: dict) -> None:
    """Insert one ihanoi_lists row (inside the caller's transaction)."""
    insert_row(db, "ihanoi_lists", row)


def insert_matches(db, list_id: str, matches: dict) -> None:
    """Insert the list's matches, `{resident_id: (matched_by, account_status,
    activated_on)}` (inside the caller's transaction)."""
    db.conn.executemany(
        """INSERT INTO ihanoi_list_matches
               (list_id, resident_id, matched_by, account_status, activated_on)
           VALUES (?, ?, ?, ?, ?)""",
        [(list_id, resident_id, *match) for resident_id, match in matches.items()])


def latest_list(db, ward_code: str) -> dict | None:
    """Return the ward's latest list (by list date, then import time) as a dict, or
    None when the ward has imported none. The figures read the same one."""
    rows = list(db.query(
        """SELECT * FROM ihanoi_lists WHERE ward_code = :ward
           ORDER BY list_date DESC, imported_at DESC LIMIT 1""", {"ward": ward_code}))
    return rows[0] if rows else None


_PERSON = """SELECT r.id, r.full_name, r.ihanoi_status, h.id AS household_id,
                    h.address, g.name AS group_name
             FROM residents r CROSS JOIN households h ON h.id = r.household_id
             LEFT JOIN residential_groups g ON g.id = h.group_id
             WHERE r.ward_code = :ward AND r.deleted_at IS NULL AND h.deleted_at IS NULL"""
_ON_LIST = """SELECT 1 FROM ihanoi_list_matches m WHERE m.list_id = :list
              AND m.resident_id = r.id AND m.account_status = 'activated'"""


def marked_not_listed(db, ward_code: str, list_id: str | None, limit: int) -> tuple[list, int]:
    """Return (the first `limit` people, how many in all) whom officers marked activated
    but whom list `list_id` does not name as activated, by group then name."""
    where = f"AND r.ihanoi_status = 'activated' AND NOT EXISTS ({_ON_LIST})"
    return _people(db, where, ward_code, list_id, limit)


def listed_not_installed(db, ward_code: str, list_id: str | None,
                         limit: int) -> tuple[list, int]:
    """Return (the first `limit` people, how many in all) whom list `list_id` names as
    activated but whom officers marked not installed, by group then name."""
    where = f"AND r.ihanoi_status = 'not_installed' AND EXISTS ({_ON_LIST})"
    return _people(db, where, ward_code, list_id, limit)


def _people(db, where: str, ward_code: str, list_id: str | None,
            limit: int) -> tuple[list, int]:
    params = {"ward": ward_code, "list": list_id, "limit": limit}
    total = db.execute(f"SELECT count(*) FROM ({_PERSON} {where})", params).fetchone()[0]
    rows = list(db.query(f"{_PERSON} {where} ORDER BY g.name, r.sort_key LIMIT :limit",
                         params))
    return rows, total
