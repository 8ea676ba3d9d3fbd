"""`flask restore`: put a checked backup copy in place of the database and give it a new
hub epoch, so kits re-send what the copy lacks (docs/ARCHITECTURE.md#sync)."""
from .. import audit
from ..connections import sqlite3
from ..db import apply_migrations, write
from . import queries


def check_copy(path: str) -> str | None:
    """Return what is wrong with the backup at `path` (None when it is a sound WardKit
    database): unreadable, failing integrity_check or foreign_key_check, not WardKit's."""
    try:
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.DatabaseError as exc:
        return f"not a readable database: {exc}"
    try:
        integrity = source.execute("PRAGMA integrity_check").fetchone()[0]
        fk_errors = source.execute("PRAGMA foreign_key_check").fetchall()
        tables = {r[0] for r in source.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        return f"not a readable database: {exc}"
    finally:
        source.close()
    if integrity != "ok" or fk_errors:
        return f"failed its check ({integrity}, {len(fk_errors)} foreign-key errors)"
    if "_sqlite_migrations" not in tables or "users" not in tables:
        return "not a WardKit database"
    return None


def restore(db, path: str) -> str:
    """Copy the checked backup at `path` over this database (SQLite's backup API, so
    the WAL is handled), bring its schema up to date, give it a new epoch and audit it.
    Return the new epoch. The server must be stopped: the command says so."""
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        source.backup(db.conn)
    finally:
        source.close()
    apply_migrations(db)
    with write(db):
        epoch = queries.new_epoch(db)
        audit.record(db, "database_restored", user_id=None, ward_code=None,
                     detail={"epoch": epoch})
    return epoch
