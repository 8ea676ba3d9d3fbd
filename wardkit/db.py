"""The data seam: one SQLite connection per request, durable pragmas, `write()` for every
write transaction, migrations, and the `init-db` / `backup` commands."""
import contextlib
import importlib.util
import os
import pathlib
import threading

import click
from flask.cli import with_appcontext
from flask import current_app, g
from sqlite_utils import Database

try:  # The pysqlite3 wheel bundles a fixed SQLite; sqlite-utils uses it too when present.
    import pysqlite3.dbapi2 as sqlite3
except ImportError:  # pragma: no cover - requirements.txt always installs it
    import sqlite3

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


# One writer at a time per database file, queued. SQLite's busy handler retries on a
# timer (sleeps of 1, 2, 5 ... 100 ms) instead of queueing, so under sustained load
# some writers starve past busy_timeout (measured: 5 of ~45,000 commits failed
# "database is locked" in 20 s with 8 threads) and the others wait far longer than the
# lock was held (p99 over 500 ms with two server processes). So writers queue here
# first: on a thread lock within the process, then on an flock() of `<db>-writelock`
# across WardKit's server processes, which wakes the next writer as soon as the lock
# is released. busy_timeout still covers any other program that writes.
WRITE_LOCK_TIMEOUT = 30.0  # seconds a writer waits in the process queue before giving up
_WRITE_LOCKS: dict[str, "WriteLock"] = {}
_WRITE_LOCKS_GUARD = threading.Lock()

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one server process, the thread lock suffices
    fcntl = None


class WriteLock:
    """The write queue of one database file: a thread lock, then a file lock."""

    def __init__(self, path: str):
        self.thread_lock = threading.Lock()
        self.path = path + "-writelock"
        self.fd = None
        self.pid = None

    def acquire(self, timeout: float) -> bool:
        """Wait for the queue; return False if the thread queue timed out."""
        if not self.thread_lock.acquire(timeout=timeout):
            return False
        if fcntl is not None:
            try:
                if self.pid != os.getpid():  # a descriptor inherited across fork() is shared
                    self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                    self.pid = os.getpid()
                fcntl.flock(self.fd, fcntl.LOCK_EX)
            except OSError:
                # The lock file cannot be used (read-only directory): rely on busy_timeout.
                pass
        return True

    def release(self) -> None:
        """Let the next writer in."""
        try:
            if fcntl is not None and self.fd is not None and self.pid == os.getpid():
                try:
                    fcntl.flock(self.fd, fcntl.LOCK_UN)
                except OSError:
                    pass
        finally:
            self.thread_lock.release()


def _write_lock(path: str) -> WriteLock:
    """Return this process's write queue for the database file at `path`."""
    real = os.path.realpath(path)
    with _WRITE_LOCKS_GUARD:
        if real not in _WRITE_LOCKS:
            _WRITE_LOCKS[real] = WriteLock(real)
        return _WRITE_LOCKS[real]


def connect(path: str) -> Database:
    """Return a sqlite-utils Database on a new connection with WardKit's pragmas set.

    `isolation_level=None` leaves transactions to us: `write()` begins them IMMEDIATE.
    :raises AssertionError: if the file cannot be put in WAL mode.
    """
    conn = sqlite3.connect(path, isolation_level=None, timeout=5.0, check_same_thread=False)
    # foreign_keys must be set outside a transaction; WAL persists but is asserted.
    conn.execute("PRAGMA busy_timeout=5000")
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    assert mode.lower() == "wal", f"journal_mode is {mode}, not wal"
    # FULL: with NORMAL a committed record can vanish after a power cut (no UPS in wards).
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA secure_delete=ON")
    # 32 MiB of page cache (default 2 MiB): a ward's indexes stay in memory, which
    # makes bulk imports a third faster. Per connection, so it is cheap until used.
    conn.execute("PRAGMA cache_size=-32768")
    db = Database(conn, execute_plugins=False)
    db.write_lock = _write_lock(path)
    return db


# Closing the last connection to a WAL database checkpoints the WAL into the main file
# and deletes it, with fsyncs (~2 ms a request, measured). Each process keeps one idle
# connection per database open, so a request's close is never the last one. It runs no
# queries; SQLite still checkpoints automatically every 1000 WAL pages on commit.
_ANCHORS: dict[tuple[int, str], Database] = {}
_MAX_ANCHORS = 4  # databases per process (one in production; tests make many)
_INHERITED: list[Database] = []  # a parent's anchors after fork(): never used or closed
_ANCHORS_GUARD = threading.Lock()


def _anchor(path: str) -> None:
    """Open this process's idle connection to `path`, once."""
    pid = os.getpid()
    key = (pid, os.path.realpath(path))
    if key in _ANCHORS:
        return
    with _ANCHORS_GUARD:
        if key in _ANCHORS:
            return
        for other in [k for k in _ANCHORS if k[0] != pid]:
            # SQLite must not close a connection opened before fork() in the child.
            _INHERITED.append(_ANCHORS.pop(other))
        while len(_ANCHORS) >= _MAX_ANCHORS:
            _ANCHORS.pop(next(iter(_ANCHORS))).close()
        _ANCHORS[key] = connect(path)


# Each server thread keeps its connection between requests: opening one costs ~0.7 ms
# (SQLite parses the whole schema on a connection's first statement, then the PRAGMAs
# above), a good part of a small request. Safe because a connection carries nothing
# from one request to the next: `write()` always commits or rolls back, no code changes
# PRAGMAs or creates TEMP objects at run time, and close_db() rolls back anything left
# open; every cursor is a local of the request, so CPython resets its statement (ending
# its read snapshot) when the request ends. `DB_POOL = False` opens one per request.
_POOL = threading.local()


def _pooled(path: str) -> Database:
    """Return this thread's open connection to `path`, opening one when needed."""
    pid = os.getpid()
    held = getattr(_POOL, "held", None)
    if held is not None:
        db, held_pid, held_path = held
        if held_pid == pid and held_path == path:
            return db
        if held_pid == pid:
            db.close()
        else:
            _INHERITED.append(db)  # opened before fork(): never closed by the child
    db = connect(path)
    _POOL.held = (db, pid, path)
    return db


def get_db() -> Database:
    """Return this request's (or app context's) Database, opening it on first use."""
    if "db" not in g:
        path = current_app.config["DATABASE"]
        if current_app.config.get("DB_POOL", True):
            g.db = _pooled(path)
            g.db_pooled = True
        else:
            g.db = connect(path)
        _anchor(path)
    return g.db


def close_db(exc=None) -> None:
    """End this context's use of its connection: close it, or, when it is the thread's
    pooled one, roll back anything left open and keep it for the next request."""
    db = g.pop("db", None)
    if db is None:
        return
    if g.pop("db_pooled", False):
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
    else:
        db.close()


@contextlib.contextmanager
def write(db: Database | None = None):
    """Run the block in one `BEGIN IMMEDIATE` transaction; yield the Database.

    IMMEDIATE takes the write lock up front, so a read-then-write transaction waits on
    busy_timeout instead of failing at once with "database is locked" (docs/ARCHITECTURE.md#durability).
    Commits when the block ends, rolls back if it raises. Nested calls become part of the
    outer transaction (sqlite-utils calls inside nest as savepoints).
    """
    db = db if db is not None else get_db()
    if db.conn.in_transaction:
        yield db
        return
    if not db.write_lock.acquire(timeout=WRITE_LOCK_TIMEOUT):
        raise sqlite3.OperationalError("database is locked (write queue timed out)")
    try:
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
    finally:
        db.write_lock.release()


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
