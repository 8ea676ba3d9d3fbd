"""Sync's SQL: this node's state, the kits enrolled at a hub, the change log, versions,
the backlog, quarantine and conflicts."""
import json

from .. import clock
from ..ids import new_id
from .tables import LOCAL_COLUMNS

_COLUMNS: dict[str, tuple[str, ...]] = {}


def columns(db, table: str) -> tuple[str, ...]:
    """Return `table`'s columns (cached: the schema only changes between releases)."""
    if table not in _COLUMNS:
        _COLUMNS[table] = tuple(r[1] for r in db.execute(f"PRAGMA table_info({table})"))
    return _COLUMNS[table]


def synced_columns(db, table: str) -> tuple[str, ...]:
    """Return the columns of `table` that travel (all but its local ones)."""
    local = LOCAL_COLUMNS.get(table, frozenset())
    return tuple(c for c in columns(db, table) if c not in local)


# --- this node ------------------------------------------------------------------------

def state(db) -> dict:
    """Return this node's sync_state row (device_id, is_hub, origin_seq, epoch)."""
    row = db.execute("SELECT * FROM sync_state WHERE id = 1").fetchone()
    return dict(zip(columns(db, "sync_state"), row))


def is_kit(db) -> bool:
    """Return True when this database is a field kit (joined to a hub)."""
    return db.execute("SELECT is_hub FROM sync_state WHERE id = 1").fetchone()[0] == 0


def kit(db) -> dict | None:
    """Return this kit's enrolment row, or None on a hub."""
    row = db.execute("SELECT * FROM sync_kit WHERE id = 1").fetchone()
    return dict(zip(columns(db, "sync_kit"), row)) if row else None


def set_applying(db, on: bool) -> None:
    """Mark the apply under way (inside its transaction): the capture triggers skip it."""
    db.execute("UPDATE sync_state SET applying = ? WHERE id = 1", [1 if on else 0])


def new_epoch(db) -> str:
    """Give this node a new epoch (after a restore); return it."""
    epoch = new_id().replace("-", "")
    db.execute("UPDATE sync_state SET epoch = ? WHERE id = 1", [epoch])
    return epoch


# --- rows and versions ---------------------------------------------------------------

def get_row(db, table: str, row_id: str) -> dict | None:
    """Return the row `row_id` of `table` (all columns), or None."""
    row = db.execute(f"SELECT * FROM {table} WHERE id = ?", [row_id]).fetchone()
    return dict(zip(columns(db, table), row)) if row else None


def version(db, table: str, row_id: str) -> int:
    """Return the row's version (the hub_seq of its last applied change; 0 if none)."""
    row = db.execute("SELECT version FROM sync_versions WHERE table_name = ? AND row_id = ?",
                     [table, row_id]).fetchone()
    return row[0] if row else 0


def set_version(db, table: str, row_id: str, value: int) -> None:
    db.execute("""INSERT INTO sync_versions (table_name, row_id, version) VALUES (?, ?, ?)
                  ON CONFLICT (table_name, row_id) DO UPDATE SET version = excluded.version""",
               [table, row_id, value])


def columns_changed_since(db, table: str, row_id: str, base: int, *, not_by: str) -> set:
    """Return the columns of the row that changes after hub_seq `base`, made by any node
    but `not_by`, touched."""
    changed: set = set()
    for (cols,) in db.execute(
            """SELECT columns FROM sync_log WHERE table_name = ? AND row_id = ? AND seq > ?
               AND origin_device != ?""", [table, row_id, base, not_by]):
        changed.update(json.loads(cols))
    return changed


def logged_digests(db, origin_device: str, first: int, last: int) -> dict[int, str]:
    """Return {origin_seq: digest} of the device's changes logged between two seqs."""
    return dict(db.execute("""SELECT origin_seq, digest FROM sync_log
                              WHERE origin_device = ? AND origin_seq BETWEEN ? AND ?""",
                           [origin_device, first, last]))


def log_applied(db, change: dict, received_at: str) -> int:
    """Log a change the hub applied (its columns and digest, not its row); return its
    hub_seq."""
    cur = db.execute(
        """INSERT INTO sync_log (origin_device, origin_seq, table_name, row_id, op,
                                 base_version, columns, digest, made_at, received_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [change["o"], change["s"], change["t"], change["id"], change["op"], change["b"],
         json.dumps(change["c"]), change.get("_d"), change.get("m"), received_at])
    return cur.lastrowid


def rows_by_id(db, table: str, ids: list[str]) -> dict[str, dict]:
    """Return {id: row} of the rows of `table` among `ids` (all columns)."""
    cols = columns(db, table)
    out = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        marks = ", ".join("?" for _ in chunk)
        for values in db.execute(f"SELECT * FROM {table} WHERE id IN ({marks})", chunk):
            out[values[0]] = dict(zip(cols, values))
    return out


def own_changes(db, device_id: str, after: int) -> list[dict]:
    """Return this node's own changes with origin_seq above `after`, in order."""
    return [{"o": o, "s": s, "t": t, "id": i, "op": op, "b": b, "c": json.loads(c),
             "r": json.loads(r) if r else None, "m": m}
            for o, s, t, i, op, b, c, r, m in db.execute(
                """SELECT origin_device, origin_seq, table_name, row_id, op, base_version,
                          columns, row, made_at FROM sync_log
                   WHERE origin_device = ? AND origin_seq > ? ORDER BY origin_seq""",
                [device_id, after])]


def count_own_changes(db, device_id: str, after: int) -> int:
    """Return how many of this node's changes are above `after` (waiting to be sent)."""
    return db.execute("SELECT count(*) FROM sync_log WHERE origin_device = ? AND origin_seq > ?",
                      [device_id, after]).fetchone()[0]


def pending_columns(db, device_id: str, after: int) -> dict:
    """Return {(table, row_id): columns} of this node's changes above `after`: what a pull
    must not overwrite locally."""
    pending: dict = {}
    for t, i, c in db.execute(
            """SELECT table_name, row_id, columns FROM sync_log
               WHERE origin_device = ? AND origin_seq > ?""", [device_id, after]):
        pending.setdefault((t, i), set()).update(json.loads(c))
    return pending


def versions_after(db, since: int) -> list[tuple[str, str, int]]:
    """Return (table, row_id, version) of every row whose version is above `since`."""
    return db.execute("""SELECT table_name, row_id, version FROM sync_versions
                         WHERE version > ? ORDER BY version""", [since]).fetchall()


def last_seq(db) -> int:
    """Return the hub's last hub_seq (0 when nothing was logged)."""
    return db.execute("SELECT coalesce(max(seq), 0) FROM sync_log").fetchone()[0]


# --- kits enrolled at the hub --------------------------------------------------------

def get_device(db, *, kit_id: str | None = None, name: str | None = None,
               device_id: str | None = None) -> dict | None:
    """Return one enrolled kit by its id, name or device id, or None."""
    where, value = (("id", kit_id) if kit_id else ("name", name) if name
                    else ("device_id", device_id))
    row = db.execute(f"SELECT * FROM sync_devices WHERE {where} = ?", [value]).fetchone()
    return dict(zip(columns(db, "sync_devices"), row)) if row else None


def list_devices(db, ward_code: str) -> list[dict]:
    """Return the ward's kits with their backlog and quarantine counts, newest first."""
    cols = columns(db, "sync_devices")
    out = []
    for row in db.execute("SELECT * FROM sync_devices WHERE ward_code = ? ORDER BY created_at DESC",
                          [ward_code]):
        device = dict(zip(cols, row))
        device["backlog"] = db.execute(
            "SELECT count(*), coalesce(sum(last_seq - first_seq + 1), 0) FROM sync_backlog "
            "WHERE device_id = ?", [device["device_id"]]).fetchone()
        device["waiting"] = db.execute(
            "SELECT count(*) FROM sync_versions WHERE version > ?",
            [device["pulled_seq"]]).fetchone()[0] if device["status"] == "active" else 0
        out.append(device)
    return out


def insert_device(db, **row) -> None:
    db.table("sync_devices").insert(row)


def update_device(db, kit_id: str, **changes) -> None:
    db.table("sync_devices").update(kit_id, changes)


# --- backlog and quarantine ----------------------------------------------------------

def hold(db, device_id: str, first_seq: int, last_seq: int, bundle: bytes) -> None:
    """Keep a bundle that arrived after a gap until the gap is filled."""
    db.execute("""INSERT INTO sync_backlog (id, device_id, first_seq, last_seq, bundle,
                                            received_at) VALUES (?, ?, ?, ?, ?, ?)""",
               [new_id(), device_id, first_seq, last_seq, bundle, clock.now_iso()])


def backlog(db, device_id: str) -> list[dict]:
    """Return the device's held bundles, lowest first seq first."""
    return [{"id": i, "first_seq": f, "last_seq": l, "bundle": b}
            for i, f, l, b in db.execute(
                """SELECT id, first_seq, last_seq, bundle FROM sync_backlog
                   WHERE device_id = ? ORDER BY first_seq""", [device_id])]


def drop_held(db, held_id: str) -> None:
    db.execute("DELETE FROM sync_backlog WHERE id = ?", [held_id])


def quarantine(db, *, reason: str, header: dict | None, device_name: str | None,
               bundle: bytes) -> str:
    """Keep a refused bundle (still sealed) with its reason; return its id."""
    row_id = new_id()
    db.execute("""INSERT INTO sync_quarantine (id, received_at, reason, header, device_name,
                                               bundle) VALUES (?, ?, ?, ?, ?, ?)""",
               [row_id, clock.now_iso(), reason,
                json.dumps(header, sort_keys=True) if header else None, device_name,
                bundle[:20 * 1024 * 1024]])
    return row_id


def list_quarantine(db, limit: int = 50) -> list[dict]:
    """Return the latest refused bundles (no contents)."""
    return [{"id": i, "received_at": a, "reason": r, "device_name": n,
             "header": json.loads(h) if h else {}}
            for i, a, r, n, h in db.execute(
                """SELECT id, received_at, reason, device_name, header FROM sync_quarantine
                   ORDER BY received_at DESC LIMIT ?""", [limit])]


# --- conflicts -----------------------------------------------------------------------

def add_conflict(db, **row) -> str:
    """Record a conflict for a leader; return its id."""
    row = {"id": new_id(), "created_at": clock.now_iso(), **row}
    for key in ("columns", "kept_values", "incoming_values"):
        row[key] = json.dumps(row[key], ensure_ascii=False, sort_keys=True)
    db.table("sync_conflicts").insert(row)
    return row["id"]


def _conflict(db, row) -> dict:
    item = dict(zip(columns(db, "sync_conflicts"), row))
    for key in ("columns", "kept_values", "incoming_values"):
        item[key] = json.loads(item[key])
    item["settlement"] = json.loads(item["settlement"]) if item["settlement"] else None
    return item


def open_conflicts(db, ward_code: str) -> list[dict]:
    """Return the ward's unsettled conflicts, oldest first."""
    return [_conflict(db, r) for r in db.execute(
        """SELECT * FROM sync_conflicts WHERE ward_code = ? AND settled_at IS NULL
           ORDER BY created_at""", [ward_code])]


def get_conflict(db, conflict_id: str, ward_code: str) -> dict | None:
    """Return one conflict of the ward, or None."""
    row = db.execute("SELECT * FROM sync_conflicts WHERE id = ? AND ward_code = ?",
                     [conflict_id, ward_code]).fetchone()
    return _conflict(db, row) if row else None


def settle_conflict(db, conflict_id: str, *, by: str, settlement: dict) -> None:
    db.execute("""UPDATE sync_conflicts SET settled_at = ?, settled_by = ?, settlement = ?
                  WHERE id = ?""",
               [clock.now_iso(), by, json.dumps(settlement, ensure_ascii=False), conflict_id])
