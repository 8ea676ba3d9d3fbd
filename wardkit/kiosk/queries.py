"""SQL for kiosk devices, residents' turns, queue tickets and kiosk requests: row-level
reads and writes without audit rows. The actions that open a transaction and audit it are
in `devices.py`, `turns.py` and `queue.py`."""
import json

from .. import clock
from ..db import insert_row
from ..ids import new_id

# --- devices -------------------------------------------------------------------------

_DEVICE = """SELECT d.*, w.name AS ward_name FROM kiosk_devices d
              JOIN wards w ON w.code = d.ward_code"""


def get_device(db, device_id: str, *, ward_code: str | None = None) -> dict | None:
    """Return the device (with `ward_name`), in `ward_code` when given, or None."""
    sql, params = _DEVICE + " WHERE d.id = :id", {"id": device_id}
    if ward_code is not None:
        sql += " AND d.ward_code = :ward"
        params["ward"] = ward_code
    return next(iter(db.query(sql, params)), None)


def device_by(db, column: str, value: str) -> dict | None:
    """Return the device whose `column` (name, credential_hash or enrol_hash) is `value`."""
    if column not in ("name", "credential_hash", "enrol_hash"):
        raise ValueError(column)
    return next(iter(db.query(_DEVICE + f" WHERE d.{column} = :v", {"v": value})), None)


def list_devices(db, ward_code: str) -> list[dict]:
    """Return the ward's kiosk devices by name."""
    return list(db.query(_DEVICE + " WHERE d.ward_code = :ward ORDER BY d.name",
                         {"ward": ward_code}))


def insert_device(db, *, ward_code: str, name: str, by: str | None) -> dict:
    """Insert a device that is not enrolled yet and return it."""
    now = clock.now_iso()
    row = {"id": new_id(), "ward_code": ward_code, "name": name, "created_at": now,
           "created_by": by, "updated_at": now, "updated_by": by}
    insert_row(db, "kiosk_devices", row)
    return row


def update_device(db, device_id: str, **values) -> None:
    """Set the given columns of the device (and updated_at)."""
    values["updated_at"] = clock.now_iso()
    sets = ", ".join(f"{k} = :{k}" for k in values)
    db.execute(f"UPDATE kiosk_devices SET {sets} WHERE id = :id", {**values, "id": device_id})


# --- turns ---------------------------------------------------------------------------

def get_turn(db, device_id: str) -> dict | None:
    """Return the device's turn with `answers` decoded, or None."""
    row = next(iter(db.query("SELECT * FROM kiosk_turns WHERE device_id = ?", [device_id])),
               None)
    if row is not None:
        row["answers"] = json.loads(row["answers"])
    return row


def put_turn(db, device_id: str, *, flow: str, answers: dict, ticket_number=None,
             started_at: str | None = None) -> None:
    """Create or replace the device's turn."""
    now = clock.now_iso()
    db.execute(
        """INSERT INTO kiosk_turns (device_id, flow, answers, ticket_number, started_at,
                                    last_seen_at)
           VALUES (:d, :flow, :answers, :ticket, :started, :now)
           ON CONFLICT (device_id) DO UPDATE SET flow = :flow, answers = :answers,
               ticket_number = :ticket, started_at = :started, last_seen_at = :now""",
        {"d": device_id, "flow": flow, "answers": json.dumps(answers, ensure_ascii=False),
         "ticket": ticket_number, "started": started_at or now, "now": now})


def delete_turns(db, *, device_id: str | None = None, idle_before: str | None = None) -> int:
    """Delete the device's turn, or every turn idle since before `idle_before`; return how
    many went."""
    if device_id is not None:
        return db.execute("DELETE FROM kiosk_turns WHERE device_id = ?", [device_id]).rowcount
    return db.execute("DELETE FROM kiosk_turns WHERE last_seen_at < ?",
                      [idle_before]).rowcount


# --- tickets and requests --------------------------------------------------------------

def next_number(db, ward_code: str, day: str) -> int:
    """Return the next ticket number of the ward's day (numbers restart every day)."""
    return db.execute("SELECT coalesce(max(number), 0) + 1 FROM queue_tickets "
                      "WHERE ward_code = ? AND day = ?", [ward_code, day]).fetchone()[0]


def insert_ticket(db, row: dict) -> None:
    """Insert a queue ticket (every column given by the caller)."""
    insert_row(db, "queue_tickets", row)


def insert_request(db, row: dict) -> None:
    """Insert a kiosk request (every column given by the caller)."""
    insert_row(db, "kiosk_requests", row)


def tickets_since(db, device_id: str, since: str) -> int:
    """Return how many tickets the device made since `since` (the rate limit)."""
    return db.execute("SELECT count(*) FROM queue_tickets WHERE device_id = ? "
                      "AND created_at >= ?", [device_id, since]).fetchone()[0]


_TICKET = """SELECT t.*, r.id AS request_id, r.kind AS request_kind, r.fields AS request_fields,
                    r.declaration_id, u.display_name AS served_by_name
             FROM queue_tickets t
             LEFT JOIN kiosk_requests r ON r.ticket_id = t.id
             LEFT JOIN users u ON u.id = t.served_by"""


def _decoded(row: dict | None) -> dict | None:
    if row is not None:
        row["request_fields"] = json.loads(row["request_fields"]) \
            if row["request_fields"] else None
    return row


def get_ticket(db, ward_code: str, ticket_id: str) -> dict | None:
    """Return the ward's ticket with its kiosk request (`request_*` columns), or None."""
    return _decoded(next(iter(db.query(_TICKET + " WHERE t.id = :id AND t.ward_code = :w",
                                       {"id": ticket_id, "w": ward_code})), None))


def open_tickets(db, ward_code: str) -> list[dict]:
    """Return the ward's tickets not yet closed: waiting ones oldest first, then those
    called or being served, most recently called first."""
    rows = db.query(_TICKET + """ WHERE t.ward_code = :w
                                  AND t.status IN ('waiting', 'called', 'serving')
                                  ORDER BY t.status != 'waiting', t.created_at, t.number""",
                    {"w": ward_code})
    return [_decoded(r) for r in rows]


def oldest_waiting(db, ward_code: str) -> dict | None:
    """Return the ward's oldest waiting ticket, or None."""
    return next(iter(db.query(
        "SELECT * FROM queue_tickets WHERE ward_code = ? AND status = 'waiting' "
        "ORDER BY created_at, number LIMIT 1", [ward_code])), None)


def update_ticket(db, ticket_id: str, **values) -> None:
    """Set the given columns of the ticket."""
    sets = ", ".join(f"{k} = :{k}" for k in values)
    db.execute(f"UPDATE queue_tickets SET {sets} WHERE id = :id", {**values, "id": ticket_id})


def display_numbers(db, ward_code: str, day: str, limit: int = 6) -> tuple[list[int], int]:
    """Return (the numbers called and not yet closed, latest call first; how many wait)
    for the ward's day: numbers only, nothing else about anyone."""
    called = [r[0] for r in db.execute(
        "SELECT number FROM queue_tickets WHERE ward_code = ? AND day = ? "
        "AND status IN ('called', 'serving') ORDER BY called_at DESC LIMIT ?",
        [ward_code, day, limit])]
    waiting = db.execute("SELECT count(*) FROM queue_tickets WHERE ward_code = ? "
                         "AND status = 'waiting'", [ward_code]).fetchone()[0]
    return called, waiting


def stale_ids(db, before: str) -> tuple[list[str], list[str]]:
    """Return (ticket ids, request ids) never processed and made before `before`: tickets
    still waiting or called (nobody served them), and requests that never became a
    declaration (a ticket closed without one keeps its row, not what was typed)."""
    requests = [r[0] for r in db.execute(
        "SELECT id FROM kiosk_requests WHERE declaration_id IS NULL AND created_at < ?",
        [before])]
    tickets = [r[0] for r in db.execute(
        "SELECT id FROM queue_tickets WHERE status IN ('waiting', 'called') "
        "AND created_at < ?", [before])]
    return tickets, requests


def delete_rows(db, table: str, ids: list[str]) -> int:
    """Delete the rows of `table` (kiosk_requests or queue_tickets) with these ids."""
    if table not in ("kiosk_requests", "queue_tickets"):
        raise ValueError(table)
    return db.execute(f"DELETE FROM {table} WHERE id IN (SELECT value FROM json_each(?))",
                      [json.dumps(ids)]).rowcount
