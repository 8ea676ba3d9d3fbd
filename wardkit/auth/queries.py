"""SQL for users, wards, server-side sessions and login attempts: row-level reads and
writes without audit rows. The account actions that open a transaction and audit it are in
`accounts.py`; `wardkit.security` keeps sessions and throttling with these functions."""

from .. import clock
from ..ids import new_id


def get_user_by_username(db, username: str) -> dict | None:
    """Return the users row for `username` (case-insensitive), or None."""
    rows = list(db.query(
        "SELECT * FROM users WHERE username = :u AND deleted_at IS NULL", {"u": username}))
    return rows[0] if rows else None


def get_user(db, user_id: str, *, ward_code: str | None = None) -> dict | None:
    """Return the users row with `user_id` (in `ward_code` when given), or None."""
    sql = "SELECT * FROM users WHERE id = :id AND deleted_at IS NULL"
    params = {"id": user_id}
    if ward_code is not None:
        sql += " AND ward_code = :ward"
        params["ward"] = ward_code
    rows = list(db.query(sql, params))
    return rows[0] if rows else None


def list_users(db, ward_code: str) -> list[dict]:
    """Return the ward's users, active first, then by role and username."""
    return list(db.query(
        """
        SELECT id, username, display_name, role, is_active, is_demo, created_at
        FROM users
        WHERE ward_code = :ward AND deleted_at IS NULL
        ORDER BY is_active DESC, role, username
        """,
        {"ward": ward_code},
    ))


def create_user(db, *, username: str, password_hash: str, display_name: str, role: str,
                ward_code: str | None, scope: str = "ward", is_demo: bool = False,
                created_by: str | None = None) -> dict:
    """Insert a user (no audit row) and return the new row. A city-scoped user
    (`scope="city"`, a viewer only) has no ward: `ward_code` None (the schema checks it)."""
    now = clock.now_iso()
    row = {
        "id": new_id(),
        "username": username,
        "password_hash": password_hash,
        "display_name": display_name,
        "role": role,
        "ward_code": ward_code,
        "scope": scope,
        "is_active": 1,
        "is_demo": int(is_demo),
        "password_changed_at": now,
        "created_at": now,
        "updated_at": now,
        "updated_by": created_by,
        "deleted_at": None,
    }
    db.table("users").insert(row)
    return row


def set_password(db, user_id: str, password_hash: str, *, by: str | None) -> None:
    """Store a new password hash for the user."""
    now = clock.now_iso()
    db.execute(
        """UPDATE users SET password_hash = :h, password_changed_at = :now,
           updated_at = :now, updated_by = :by WHERE id = :id""",
        {"h": password_hash, "now": now, "by": by, "id": user_id},
    )


def set_active(db, user_id: str, active: bool, *, by: str | None) -> None:
    """Activate or deactivate the user."""
    db.execute(
        "UPDATE users SET is_active = :a, updated_at = :now, updated_by = :by WHERE id = :id",
        {"a": int(active), "now": clock.now_iso(), "by": by, "id": user_id},
    )


def count_users(db) -> int:
    """Return how many users exist (0 means a fresh database)."""
    return db.execute("SELECT count(*) FROM users").fetchone()[0]


def normalise_ward_code(code: str) -> str:
    """Return a ward code in its stored 5-digit form ("103" -> "00103")."""
    code = code.strip()
    return code.zfill(5) if code.isdigit() else code


def get_ward(db, code: str) -> dict | None:
    """Return the wards row with `code`, or None."""
    rows = list(db.query("SELECT * FROM wards WHERE code = :c", {"c": code}))
    return rows[0] if rows else None


def create_session(db, *, id_hash: str, user_id: str, created_at: str, expires_at: str,
                   client_addr: str | None) -> None:
    """Insert a server-side session record."""
    db.table("user_sessions").insert({
        "id_hash": id_hash, "user_id": user_id, "created_at": created_at,
        "last_seen_at": created_at, "expires_at": expires_at, "revoked_at": None,
        "revoked_reason": None, "client_addr": client_addr,
    })


def get_session(db, id_hash: str) -> dict | None:
    """Return the session joined with its user and ward (all `s_`/`u_` fields), or None.
    A city-scoped user has no ward: `ward_code` and `ward_name` are None."""
    rows = list(db.query(
        """
        SELECT s.id_hash, s.created_at, s.last_seen_at, s.expires_at, s.revoked_at,
               u.id AS user_id, u.username, u.display_name, u.role, u.ward_code,
               u.scope, u.is_active, u.deleted_at, w.name AS ward_name
        FROM user_sessions s
        JOIN users u ON u.id = s.user_id
        LEFT JOIN wards w ON w.code = u.ward_code
        WHERE s.id_hash = :h
        """,
        {"h": id_hash},
    ))
    return rows[0] if rows else None


def touch_session(db, id_hash: str, at: str) -> None:
    """Record activity on a session (moves its idle deadline)."""
    db.execute("UPDATE user_sessions SET last_seen_at = :at WHERE id_hash = :h",
               {"at": at, "h": id_hash})


def revoke_session(db, id_hash: str, reason: str) -> None:
    """End one session; a later request with its cookie is anonymous."""
    db.execute(
        """UPDATE user_sessions SET revoked_at = :now, revoked_reason = :reason
           WHERE id_hash = :h AND revoked_at IS NULL""",
        {"now": clock.now_iso(), "reason": reason, "h": id_hash},
    )


def revoke_user_sessions(db, user_id: str, reason: str, *, keep: str | None = None) -> int:
    """End every live session of the user except `keep`; return how many ended."""
    cur = db.execute(
        """UPDATE user_sessions SET revoked_at = :now, revoked_reason = :reason
           WHERE user_id = :uid AND revoked_at IS NULL AND id_hash IS NOT :keep""",
        {"now": clock.now_iso(), "reason": reason, "uid": user_id, "keep": keep},
    )
    return cur.rowcount


def record_attempt(db, *, username: str, client_addr: str, outcome: str) -> None:
    """Log one login attempt (`success`, `failure` or `locked`)."""
    db.table("login_attempts").insert({
        "at": clock.now_iso(), "username": username, "client_addr": client_addr,
        "outcome": outcome,
    })


def failure_times(db, *, username: str, client_addr: str, since: str) -> dict[str, list[str]]:
    """Return the times of failed attempts since `since`, per username and per address.

    Both are throttled: a burst against one account from many addresses, and a burst
    from one address against many accounts.
    """
    sql = "SELECT at FROM login_attempts WHERE {col} = ? AND outcome = 'failure' AND at >= ?"
    return {
        "username": [r[0] for r in db.execute(sql.format(col="username"), [username, since])],
        "client_addr": [r[0] for r in db.execute(sql.format(col="client_addr"),
                                                 [client_addr, since])],
    }
