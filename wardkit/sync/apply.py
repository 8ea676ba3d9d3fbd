"""Applying changes: the hub's apply of a kit's push, and a kit's apply of a pull
(docs/ARCHITECTURE.md#sync).

Both write in transactions of at most BATCH changes with foreign keys deferred, with
`sync_state.applying` set so the capture triggers stay quiet, and rebuild what is local
(search index rows, the progress generation) for the rows they touched.
"""
import contextlib
import dataclasses

from .. import audit, clock
from ..connections import connect, sqlite3
from ..db import write
from ..residents.queries import new_reference
from ..residents.search import index_resident, unindex_resident
from . import queries
from .tables import BOOKKEEPING, LOCAL_COLUMNS, PULLED, PUSHABLE

BATCH = 500


class Refused(Exception):
    """A bundle refused whole, before anything of it was written; `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass
class Result:
    """What one push or pull did, as the commands and pages report it."""
    sent: int = 0
    applied: int = 0
    duplicates: int = 0
    conflicts: int = 0
    possible_duplicates: int = 0
    merged: int = 0
    held_back: int = 0
    missing_from: int | None = None
    clock_flagged: int = 0
    acked: int | None = None
    epoch: str | None = None

    def counts(self) -> dict:
        """Return the figures (for the audit row and the JSON answer)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    def add(self, other: "Result") -> None:
        for field in ("applied", "duplicates", "conflicts", "possible_duplicates", "merged",
                      "held_back", "clock_flagged"):
            setattr(self, field, getattr(self, field) + getattr(other, field))


# --- writing one row, keeping unique-key clashes ----------------------------------------

def _strip(db, table: str, row_id: str, clash_columns: list[str], values: dict,
           inserting: bool) -> bool:
    """Change `values` so they no longer clash on `clash_columns`; return False when there
    is no rule for this clash. A changed value that clashes is dropped (the row keeps its
    own); a value the row already had (it clashes because the row came back to life) is
    emptied or re-made."""
    if table == "residents" and "cccd" in clash_columns:
        if not inserting and values.get("cccd") is not None:
            values.pop("cccd")
        else:
            values["cccd"] = None
    elif table == "households" and "reference" in clash_columns:
        values["reference"] = new_reference()
    elif table == "residential_groups" and "name" in clash_columns:
        name = values.get("name") or db.execute(
            "SELECT name FROM residential_groups WHERE id = ?", [row_id]).fetchone()[0]
        values["name"] = name[:75] + " (2)"
    elif table == "assignments":
        values["deleted_at"] = values.get("updated_at") or clock.now_iso()
    elif table == "declaration_flags":
        values["resolved_at"] = values.get("created_at") or clock.now_iso()
    else:
        return False
    return True


def _clashing_row(db, table: str, clash_columns: list[str], values: dict, row_id: str):
    """Return the id of the live row that holds `values`' clashing key, or None."""
    if any(c not in values for c in clash_columns):
        return None
    where = " AND ".join(f"{c} = ?" for c in clash_columns)
    live = " AND deleted_at IS NULL" if "deleted_at" in queries.columns(db, table) else ""
    row = db.execute(f"SELECT id FROM {table} WHERE {where}{live} AND id != ? LIMIT 1",
                     [values[c] for c in clash_columns] + [row_id]).fetchone()
    return row[0] if row else None


# Tables with a unique key besides id: only their writes need a savepoint to clash in.
UNIQUE_KEYS = frozenset({"residents", "households", "residential_groups", "assignments",
                         "declaration_flags", "users"})


def _insert_sql(table: str, cols: tuple) -> str:
    return (f"INSERT INTO {table} ({', '.join(cols)}) "
            f"VALUES ({', '.join('?' for _ in cols)})")


def _update_sql(table: str, cols: tuple) -> str:
    return f"UPDATE {table} SET {', '.join(c + ' = ?' for c in cols)} WHERE id = ?"


def write_row(db, table: str, row_id: str, values: dict, *, existing: dict | None) -> list:
    """Insert the row `values` (when `existing` is None) or update `existing` with the
    changed columns `values`; return the clashes kept: [(columns, other row id, clashing
    values)] for each unique key the row could not take.

    Columns are always named in the table's order, so the same kind of change is the
    same statement, prepared once per connection: preparing a write on a synced table
    compiles its capture triggers too, which costs more than running it
    (docs/PERFORMANCE.md, "Sync").

    :raises sqlite3.IntegrityError: a clash with no rule, or a CHECK the row fails.
    """
    guarded = table in UNIQUE_KEYS
    clashes = []
    for _ in range(4):
        if existing is not None and not values:
            return clashes  # nothing (left) to change
        if existing is None:
            # The table's columns in order (the same statement every time), those the
            # row has: a column it lacks keeps its default.
            row = {c: values[c] for c in queries.columns(db, table) if c in values}
            if "fts_rowid" in LOCAL_COLUMNS.get(table, ()):
                row["fts_rowid"] = db.execute(
                    "SELECT coalesce(max(fts_rowid), 0) + 1 FROM residents").fetchone()[0]
            sql, params = _insert_sql(table, tuple(row)), list(row.values())
        else:
            row = {**existing, **values}
            # Only the changed columns (fewer indexes and triggers to touch), named in the
            # table's order, so the same kind of change is the same statement.
            cols = tuple(c for c in queries.columns(db, table) if c in values)
            sql, params = _update_sql(table, cols), [values[c] for c in cols] + [row_id]
        if guarded:
            db.execute("SAVEPOINT sync_row")
        try:
            db.execute(sql, params)
            if guarded:
                db.execute("RELEASE sync_row")
            return clashes
        except sqlite3.IntegrityError as exc:
            if guarded:
                db.execute("ROLLBACK TO sync_row")
                db.execute("RELEASE sync_row")
            message = str(exc)
            if not guarded or not message.startswith("UNIQUE constraint failed:"):
                raise
            clash_columns = [part.strip().split(".", 1)[1]
                             for part in message.split(":", 1)[1].split(",")]
            clash_columns = [c for c in clash_columns if c != "ward_code"] or clash_columns
            if clash_columns == ["id"]:
                raise
            key = clash_columns + (["ward_code"] if "ward_code" in row else [])
            other = _clashing_row(db, table, key, row, row_id)
            kept = {c: row.get(c) for c in clash_columns}
            if not _strip(db, table, row_id, clash_columns, values, existing is None):
                raise
            clashes.append((clash_columns, other, kept))
    raise sqlite3.IntegrityError(f"{table} {row_id}: clashes remain")


# --- local rebuilds ----------------------------------------------------------------

def rebuild(db, touched: dict[str, set]) -> None:
    """Rebuild this node's local state for the rows an apply touched: each resident's
    search entry (and those of residents in a touched household, whose address it holds),
    sessions of users whose password or status changed, and the progress generation."""
    residents = set(touched.get("residents", ()))
    households = touched.get("households", set())
    if households:
        for chunk in _chunks(sorted(households), 500):
            marks = ", ".join("?" for _ in chunk)
            residents.update(r[0] for r in db.execute(
                f"SELECT id FROM residents WHERE household_id IN ({marks})", chunk))
    for chunk in _chunks(sorted(residents), 500):
        marks = ", ".join("?" for _ in chunk)
        rows = db.execute(
            f"""SELECT r.id, r.fts_rowid, r.name_folded, r.cccd, r.phone, r.household_id,
                       r.deleted_at, h.address
                FROM residents r JOIN households h ON h.id = r.household_id
                WHERE r.id IN ({marks})""", chunk).fetchall()
        for rid, fts_rowid, name_folded, cccd, phone, household_id, deleted_at, address in rows:
            unindex_resident(db, fts_rowid)
            if deleted_at is None:
                index_resident(db, {"fts_rowid": fts_rowid, "name_folded": name_folded,
                                    "cccd": cccd, "phone": phone,
                                    "household_id": household_id, "address": address})
    if any(touched.values()):
        db.execute("UPDATE data_generations SET n = n + 1 WHERE name = 'progress'")


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


# --- the hub: verify and apply a kit's push ----------------------------------------------

def verify_push(db, device: dict, header: dict, changes: list[dict]) -> None:
    """Check a kit's push before anything is written.

    :raises Refused: wrong device or ward, a change of another origin, a table a kit may
        not push, a row of another ward, seqs not consecutive, a replay with another body.
    """
    if header.get("kind") != "push":
        raise Refused("not a push bundle")
    if header.get("ward") != device["ward_code"]:
        raise Refused("wrong ward")
    if device["device_id"] and header.get("device") != device["device_id"]:
        raise Refused("replay under another device")
    first, last = header.get("first_seq"), header.get("last_seq")
    if header.get("count") != len(changes):
        raise Refused("count does not match")
    expected = first
    for change in changes:
        if change.get("o") != header.get("device"):
            raise Refused("replay under another device")
        if change.get("s") != expected:
            raise Refused("sequence numbers not consecutive")
        expected += 1
        table, row = change.get("t"), change.get("r")
        if table not in PUSHABLE:
            raise Refused(f"a kit may not change {table}")
        if not isinstance(row, dict) or row.get("id") != change.get("id") \
                or change.get("op") not in ("insert", "update"):
            raise Refused("damaged change")
        allowed = set(queries.synced_columns(db, table))
        if not set(row) <= allowed or not set(change.get("c") or ()) <= allowed:
            raise Refused("unknown columns")
        ward = row.get("ward_code")
        if ward != device["ward_code"] and not (table == "audit_log" and ward is None):
            raise Refused("a row of another ward")
    if changes and (first > last or expected - 1 != last):
        raise Refused("sequence numbers not consecutive")
    # The rows the changes touch that the hub has: all of this kit's ward.
    by_table: dict[str, list] = {}
    for change in changes:
        if change["t"] != "audit_log":
            by_table.setdefault(change["t"], []).append(change["id"])
    for table, ids in by_table.items():
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ", ".join("?" for _ in chunk)
            if db.execute(f"SELECT 1 FROM {table} WHERE id IN ({marks}) AND ward_code != ? "
                          "LIMIT 1", [*chunk, device["ward_code"]]).fetchone():
                raise Refused("a row of another ward")
    # Changes the hub has already applied: each must be the very change it logged.
    if changes and changes[0]["s"] <= device["acked_seq"]:
        logged = queries.logged_digests(db, header["device"], changes[0]["s"],
                                        min(changes[-1]["s"], device["acked_seq"]))
        for change in changes:
            digest = logged.get(change["s"])
            if digest is not None and digest != change.get("_d"):
                raise Refused("a replay with a different body")


def _apply_change(db, change: dict, device: dict, received_at: str, result: Result,
                  touched: dict, rows: dict) -> None:
    """Apply one change at the hub. `rows` holds {(table, id): row} of the batch's rows
    as they stand (read once per batch, kept up to date here)."""
    table, row_id, row = change["t"], change["id"], change["r"]
    existing = rows.get((table, row_id))
    clashes = []
    if existing is None:
        clashes = write_row(db, table, row_id, dict(row), existing=None)
    elif table == "audit_log":
        pass  # already here: the audit log only ever gains rows
    else:
        changes = {c: row[c] for c in change["c"] if c != "id" and c in row}
        current = queries.version(db, table, row_id)
        if change["b"] < current:
            theirs = queries.columns_changed_since(db, table, row_id, change["b"],
                                                   not_by=change["o"])
            overlap = sorted(c for c in changes if c in theirs and c not in BOOKKEEPING
                             and existing.get(c) != changes[c])
            if overlap:
                queries.add_conflict(
                    db, ward_code=device["ward_code"], kind="overlap", table_name=table,
                    row_id=row_id, columns=overlap,
                    kept_values={c: existing.get(c) for c in overlap},
                    incoming_values={c: changes[c] for c in overlap},
                    kept_by=existing.get("updated_by"), kept_at=existing.get("updated_at"),
                    incoming_by=row.get("updated_by"), incoming_at=change.get("m"),
                    origin_device=change["o"])
                result.conflicts += 1
            else:
                result.merged += 1
        changes = {c: v for c, v in changes.items() if existing.get(c) != v}
        clashes = write_row(db, table, row_id, changes, existing=existing)
    for clash_columns, other, kept in clashes:
        if table in ("residents", "households", "residential_groups"):
            queries.add_conflict(
                db, ward_code=device["ward_code"], kind="duplicate", table_name=table,
                row_id=row_id, other_row_id=other, columns=clash_columns,
                kept_values={c: None for c in clash_columns}, incoming_values=kept,
                incoming_by=row.get("updated_by"), incoming_at=change.get("m"),
                origin_device=change["o"])
            result.possible_duplicates += 1
    if table != "audit_log":
        rows[(table, row_id)] = queries.get_row(db, table, row_id) if clashes else \
            {**(existing or {}), **(row if existing is None else changes)}
    hub_seq = queries.log_applied(db, change, received_at)
    if table != "audit_log":
        queries.set_version(db, table, row_id, hub_seq)
    touched.setdefault(table, set()).add(row_id)
    result.applied += 1


@contextlib.contextmanager
def own_connection(db):
    """Yield a new connection to `db`'s file for an apply, closed after it.

    A connection that has prepared many write statements (a server thread's, after a day
    of requests) ran the same apply 2-3 times slower than a new one (docs/PERFORMANCE.md,
    *Sync*); opening one costs about a millisecond.
    """
    own = connect(db.wardkit_path)
    try:
        yield own
    finally:
        own.conn.close()


def _batch_rows(db, batch: list[dict]) -> dict:
    """Return {(table, id): row} of the rows the batch's changes touch that exist."""
    by_table: dict[str, list] = {}
    for change in batch:
        by_table.setdefault(change["t"], []).append(change["id"])
    return {(table, row_id): row for table, ids in by_table.items()
            for row_id, row in queries.rows_by_id(db, table, ids).items()}


def apply_push(db, device: dict, header: dict, changes: list[dict], *,
               bundle: bytes | None = None) -> Result:
    """Apply a verified push from `device` at the hub; return what it did.

    Changes at or below the kit's acknowledged mark are skipped (duplicates); a bundle
    that starts after a gap is held in the backlog and nothing of it is applied; the rest
    goes in batches of BATCH, each one transaction that also moves the mark.
    """
    result = Result(sent=len(changes))
    mark = device["acked_seq"]
    fresh = [c for c in changes if c["s"] > mark]
    result.duplicates = len(changes) - len(fresh)
    received_at = clock.now_iso()
    if fresh and fresh[0]["s"] > mark + 1:
        if bundle is not None:
            with write(db):
                queries.hold(db, device["device_id"], fresh[0]["s"], fresh[-1]["s"], bundle)
        result.held_back = len(fresh)
        result.missing_from = mark + 1
    else:
        with own_connection(db) as own:
            for batch in _chunks(fresh, BATCH):
                touched: dict = {}
                with write(own):
                    own.execute("PRAGMA defer_foreign_keys = ON")
                    queries.set_applying(own, True)
                    rows = _batch_rows(own, batch)
                    for change in batch:
                        _apply_change(own, change, device, received_at, result, touched, rows)
                    mark = batch[-1]["s"]
                    queries.update_device(own, device["id"], acked_seq=mark)
                    rebuild(own, touched)
                    queries.set_applying(own, False)
        device = {**device, "acked_seq": mark}
    with write(db):
        queries.update_device(db, device["id"], last_seen_at=received_at,
                              pulled_seq=max(device["pulled_seq"],
                                             int(header.get("pulled_seq") or 0)))
        audit.record(db, "sync_push_applied", user_id=None, ward_code=device["ward_code"],
                     entity="sync_devices", entity_id=device["id"], detail=result.counts())
    result.acked = mark
    return result


# --- a kit: apply a pull from the hub -------------------------------------------------

def _apply_pulled(db, items: list[dict], pending: dict) -> int | None:
    """Apply pulled rows in batches; return the lowest version to ask for again (a
    unique value it could not take here), or None."""
    repull = None
    for batch in _chunks(items, BATCH):
        touched: dict = {}
        with write(db):
            db.execute("PRAGMA defer_foreign_keys = ON")
            queries.set_applying(db, True)
            rows = _batch_rows(db, batch)  # a pull holds each row once
            for item in batch:
                table, row_id, row = item["t"], item["id"], item["r"]
                existing = rows.get((table, row_id))
                keep = pending.get((table, row_id), set())
                if existing is None:
                    clashes = write_row(db, table, row_id, dict(row), existing=None)
                else:
                    changes = {c: v for c, v in row.items()
                               if c != "id" and c not in keep and existing.get(c) != v}
                    clashes = write_row(db, table, row_id, changes, existing=existing)
                    if table == "users" and existing and (
                            "password_hash" in changes or changes.get("is_active") == 0):
                        from ..auth.queries import revoke_user_sessions
                        revoke_user_sessions(db, row_id, "changed at the hub")
                if clashes:
                    repull = min(repull or item["v"], item["v"])
                queries.set_version(db, table, row_id, item["v"])
                touched.setdefault(table, set()).add(row_id)
            rebuild(db, touched)
            queries.set_applying(db, False)
    return repull


def apply_pull(db, header: dict, items: list[dict]) -> Result:
    """Apply the hub's rows on this kit; return what it did.

    A row's columns that this kit changed and the hub has not acknowledged yet keep their
    local values (they are on their way to the hub, where conflicts are decided). A row
    that cannot take a unique value here (a local unacknowledged row holds it) is applied
    without it and asked for again at the next pull.
    """
    kit = queries.kit(db)
    me = queries.state(db)["device_id"]
    result = Result(sent=len(items))
    epoch_changed = header["epoch"] != kit["hub_epoch"]
    acked = int(header.get("acked") or 0)
    pending = queries.pending_columns(db, me, acked)
    order = {t: i for i, t in enumerate(PULLED)}
    items = sorted(items, key=lambda i: (order[i["t"]], i["v"]))
    repull = None
    with own_connection(db) as own:
        repull = _apply_pulled(own, items, pending)
    result.applied = len(items)
    until = int(header.get("until") or 0)
    pulled = 0 if (epoch_changed and header.get("since")) else until
    if repull is not None:
        pulled = min(pulled, repull - 1)
    with write(db):
        db.execute("""UPDATE sync_kit SET pulled_seq = ?, acked_seq = ?, hub_epoch = ?,
                      last_pull_at = ? WHERE id = 1""",
                   [pulled, acked, header["epoch"], clock.now_iso()])
        # The kit's own record of the round stays on the kit (written as part of the
        # apply, so it is not a change to send): otherwise every pull would leave one.
        queries.set_applying(db, True)
        audit.record(db, "sync_pull_applied", user_id=None, ward_code=kit["ward_code"],
                     entity="sync_kit", entity_id=kit["kit_id"], detail=result.counts())
        queries.set_applying(db, False)
    result.acked, result.epoch = acked, header["epoch"]
    return result


def pull_items(db, ward_code: str, since: int) -> tuple[list[dict], int]:
    """Return (items, until): the hub's current rows of the ward whose version is above
    `since`, as a pull carries them, and the highest version among all rows."""
    by_table: dict[str, dict[str, int]] = {}
    until = since
    for table, row_id, version in queries.versions_after(db, since):
        until = max(until, version)
        if table in PULLED:
            by_table.setdefault(table, {})[row_id] = version
    items = []
    for table in PULLED:
        ids = by_table.get(table)
        if not ids:
            continue
        cols = queries.synced_columns(db, table)
        names = ", ".join(cols)
        for chunk in _chunks(list(ids), 500):
            marks = ", ".join("?" for _ in chunk)
            for values in db.execute(
                    f"SELECT {names} FROM {table} WHERE id IN ({marks}) AND ward_code = ?",
                    [*chunk, ward_code]):
                row = dict(zip(cols, values))
                items.append({"t": table, "id": row["id"], "v": ids[row["id"]], "r": row})
    return items, until


def loads_changes(items: list[dict]) -> list[dict]:
    """Return push changes with their fields checked for type (a damaged bundle refused).

    :raises Refused: when a change lacks a field or has one of the wrong type.
    """
    for c in items:
        if not (isinstance(c.get("s"), int) and isinstance(c.get("b"), int)
                and isinstance(c.get("t"), str) and isinstance(c.get("id"), str)
                and isinstance(c.get("c"), list) and isinstance(c.get("o"), str)):
            raise Refused("damaged change")
    return items
