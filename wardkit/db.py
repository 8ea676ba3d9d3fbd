"""The data seam, as in Flask's tutorial: `get_db()` gives the request its connection,
`close_db()` ends its use at teardown, and `write()` wraps every write transaction in
`BEGIN IMMEDIATE` ... COMMIT (or ROLLBACK). Also the SQLite version gate, migrations and
the `init-db` / `backup` commands. The pragmas, the thread's kept connection and the
writers' queue live in `wardkit.connections`."""
import contextlib
import importlib.util
import pathlib

import click
from flask.cli import with_appcontext
from flask import current_app, g
from sqlite_utils import Database

from . import connections
from .connections import sqlite3

# Opening a connection with WardKit's pragmas (CLI commands, benchmarks and tests use it).
connect = connections.connect

MIGRATIONS_FILE = pathlib.Path(__file__).resolve().parent.parent / "migrations" / "migrations.py"

# SQLite 3.7.0-3.51.2 can corrupt a WAL database when connections race on a WAL reset;
# fixed in 3.51.3 and backported to 3.44.6 and 3.50.7 (docs/ARCHITECTURE.md#durability).
MIN_SQLITE = (3, 51, 3)
FIXED_BACKPORTS = {(3, 44): 6, (3, 50): 7}


class SQLiteTooOld(RuntimeError):
    """Raised at start-up when the SQLite library has the WAL-reset corruption bug."""


def sqlite_version_ok(version: str) -> bool:
    """Return True when SQLite `version` ("3.53.4") has the WAL-reset fix."""
    parts = tuple(int(p) for p in version.split(".")[:3])
    if parts >= MIN_SQLITE:
        return True
    fixed_patch = FIXED_BACKPORTS.get(parts[:2])
    return fixed_patch is not None and parts[2] >= fixed_patch


def check_sqlite_version(version: str | None = None) -> str:
    """Return the SQLite version in use, or raise SQLiteTooOld with what to do about it."""
    version = version or sqlite3.sqlite_version
    if not sqlite_version_ok(version):
        raise SQLiteTooOld(
            f"WardKit refuses to run on SQLite {version}: versions before 3.51.3 "
            "(except 3.44.6+ and 3.50.7+) can corrupt a WAL database. "
            "Install the pinned requirements (pip install -r requirements.txt), which bring "
            "pysqlite3 with a fixed SQLite."
        )
    return version


def get_db() -> Database:
    """Return this request's (or app context's) Database: the server thread's connection
    (`connections.open`), opened on first use."""
    if "db" not in g:
        g.db = connections.open(current_app.config["DATABASE"])
    return g.db


def close_db(exc=None) -> None:
    """End this context's use of its connection at teardown: roll back anything left open
    and hand it back to the thread (`connections.done`)."""
    db = g.pop("db", None)
    if db is not None:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        connections.done(db)


@contextlib.contextmanager
def write(db: Database | None = None):
    """Run the block in one `BEGIN IMMEDIATE` transaction; yield the Database.

    IMMEDIATE takes the write lock up front, so a read-then-write transaction waits on
    busy_timeout instead of failing at once with "database is locked"
    (docs/ARCHITECTURE.md#write-path). Commits when the block ends, rolls back if it
    raises. A `write()` inside another joins the outer transaction (sqlite-utils calls
    inside nest as savepoints).
    """
    db = db if db is not None else get_db()
    if db.conn.in_transaction:
        yield db
        return
    with connections.writer_turn(db):
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise
        else:
            try:
                db.conn.execute("COMMIT")
            except BaseException:
                if db.conn.in_transaction:
                    db.conn.execute("ROLLBACK")
                raise


# sqlite-utils' Table.insert/update look the table and its columns up in sqlite_master on
# every call (3-5 statements each). Hot paths (the audit log, autosaves) use these two
# instead. Column names always come from code, never from a request.
def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def insert_row(db: Database, table: str, row: dict) -> None:
    """INSERT `row` (column -> value) into `table`."""
    columns = ", ".join(_ident(c) for c in row)
    marks = ", ".join("?" for _ in row)
    db.execute(f"INSERT INTO {_ident(table)} ({columns}) VALUES ({marks})", list(row.values()))


def update_row(db: Database, table: str, row_id: str, changes: dict) -> None:
    """UPDATE the row of `table` whose `id` is `row_id` with `changes` (column -> value)."""
    sets = ", ".join(f"{_ident(c)} = ?" for c in changes)
    db.execute(f"UPDATE {_ident(table)} SET {sets} WHERE id = ?", [*changes.values(), row_id])


def load_migrations():
    """Return the `Migrations` set defined in migrations/migrations.py."""
    spec = importlib.util.spec_from_file_location("wardkit_migrations", MIGRATIONS_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.migrations


def apply_migrations(db: Database) -> list[str]:
    """Apply pending migrations; return the names applied (empty when up to date)."""
    migrations = load_migrations()
    pending = [m.name for m in migrations.pending(db)]
    migrations.apply(db)
    return pending


def latest_migration(db: Database) -> str | None:
    """Return the name of the last applied migration, or None on an empty database."""
    applied = load_migrations().applied(db)
    return applied[-1].name if applied else None


def backup(db: Database, dest: str) -> None:
    """Write a consistent copy of the live database to `dest` and check the copy.

    :raises click.ClickException: if the copy fails its integrity or foreign-key check.
    """
    target = sqlite3.connect(dest)
    try:
        db.conn.backup(target)
        integrity = target.execute("PRAGMA integrity_check").fetchone()[0]
        fk_errors = target.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        target.close()
    if integrity != "ok" or fk_errors:
        raise click.ClickException(f"backup check failed: {integrity}, {len(fk_errors)} FK errors")


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create or upgrade the database (apply pending migrations); idempotent."""
    path = current_app.config["DATABASE"]
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    applied = apply_migrations(get_db())
    if applied:
        click.echo(f"Applied {len(applied)} migration(s): {', '.join(applied)}")
    click.echo(f"Database {path} is at {latest_migration(get_db())}.")


@click.command("backup")
@click.argument("dest", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(dest):
    """Write a consistent online copy of the database to DEST and check it."""
    backup(get_db(), dest)
    click.echo(f"Backed up to {dest} (integrity ok).")


def init_app(app) -> None:
    """Register the teardown and the database commands on `app`."""
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
    app.cli.add_command(backup_command)
