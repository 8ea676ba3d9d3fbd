"""The append-only audit log: who did what to which record, when and from where.

Rows never copy personal values (names, ID numbers): only ids and small facts in
`detail`. A trigger in the schema refuses UPDATE and DELETE.
"""
import json

from flask import has_request_context, request

from . import clock
from .db import insert_row
from .ids import new_id


def record(db, action: str, *, user_id: str | None, ward_code: str | None,
           entity: str | None = None, entity_id: str | None = None,
           detail: dict | None = None) -> str:
    """Append one audit row inside the caller's transaction and return its id.

    `user_id` and `ward_code` are always given by the action that writes the row (None for
    an anonymous or system action): an audit row never guesses who acted from the request
    (docs/ARCHITECTURE.md#write-path). The client address comes from the request when
    there is one.

    :raises RuntimeError: outside a `write()` transaction, where the row could be kept while
        the change it describes is not (or the reverse).
    """
    if not db.conn.in_transaction:
        raise RuntimeError(f"audit row {action!r} written outside write()")
    row_id = new_id()
    insert_row(db, "audit_log", {
        "id": row_id,
        "at": clock.now_iso(),
        "user_id": user_id,
        "ward_code": ward_code,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None,
        "client_addr": request.remote_addr if has_request_context() else None,
    })
    return row_id


def entries(db, *, entity: str | None = None, entity_id: str | None = None,
            action: str | None = None, limit: int = 100) -> list[dict]:
    """Return audit rows, newest first, filtered by entity, id and action when given."""
    where, params = [], {}
    for column, value in (("entity", entity), ("entity_id", entity_id), ("action", action)):
        if value is not None:
            where.append(f"{column} = :{column}")
            params[column] = value
    sql = "SELECT * FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY at DESC, rowid DESC LIMIT :limit"
    params["limit"] = limit
    return list(db.query(sql, params))
