"""SQLite connections: `connect()` opens one with WardKit's pragmas; the rest of this module
is what WardKit keeps open or queues between requests, and why (docs/ARCHITECTURE.md#write-path).

`wardkit.db` is the seam the app uses (`get_db()`, `write()`); it asks this module for a
connection at the start of a request (`open`), hands it back at the end (`done`), and waits
for its turn before each write transaction (`writer_turn`). Each piece below stays only
because the mixed-load benchmark (bench/bench_mixed.py) measured what removing it costs;
the figures are in docs/PERFORMANCE.md#data-seam, and tests/test_db.py fails if one goes.
"""
import contextlib
import os
import threading

from sqlite_utils import Database

try:  # The pysqlite3 wheel bundles a fixed SQLite; sqlite-utils uses it too when present.
    import pysqlite3.dbapi2 as sqlite3
except ImportError:  # pragma: no cover - requirements.txt always installs it
    import sqlite3

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one server process, the thread lock suffices
    fcntl = None

# Measurement switches (bench/bench_mixed.py --variant flips them in a copy of the tree).
POOL = True
IDLE = True
QUEUE = True


def connect(path: str) -> Database:
    """Return a sqlite-utils Database on a new connection with WardKit's pragmas set.

    `isolation_level=None` leaves transactions to us: `db.write()` begins them IMMEDIATE.
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
    db.wardkit_path = os.path.realpath(path)  # which write queue it joins
    return db


# --- 1. one connection per server thread, kept between requests ----------------------
# Opening a connection costs ~0.7 ms (SQLite parses the whole schema on its first
# statement, then the pragmas above). Safe to keep: `write()` always commits or rolls
# back, close_db() rolls back anything left open, nothing changes pragmas or creates
# TEMP objects at run time, and every cursor is a local of the request.
_POOL = threading.local()


def open(path: str) -> Database:  # noqa: A001 - the module's verb, used as connections.open
    """Return a connection to `path` for this request: the thread's kept one, or a new one."""
    _keep_idle(path)
    if not POOL:
        return connect(path)
    held = getattr(_POOL, "held", None)
    if held is not None and held[1] == path:
        return held[0]
    if held is not None:
        held[0].close()
    db = connect(path)
    _POOL.held = (db, path)
    return db


def done(db: Database) -> None:
    """Take back a request's connection (already rolled back): keep the thread's, close others."""
    held = getattr(_POOL, "held", None)
    if held is None or held[0] is not db:
        db.close()


# --- 2. one idle connection per process and database -----------------------------------
# Closing the last connection to a WAL database checkpoints the WAL into the main file and
# deletes it, with fsyncs (~2 ms). One connection that stays open and runs nothing means a
# request's close is never the last. SQLite still checkpoints every 1000 WAL pages.
_IDLE: dict[str, Database] = {}
_MAX_IDLE = 4  # databases per process (one in production; tests make many)
_GUARD = threading.Lock()


def _keep_idle(path: str) -> None:
    if not IDLE or path in _IDLE:
        return
    with _GUARD:
        if path not in _IDLE:
            while len(_IDLE) >= _MAX_IDLE:
                _IDLE.pop(next(iter(_IDLE))).close()
            _IDLE[path] = connect(path)


# --- 3. the writers' queue ----------------------------------------------------------------
# SQLite's busy handler retries on a timer (sleeps of 1, 2, 5 ... 100 ms) instead of
# queueing, so under sustained load some writers starve past busy_timeout and the others
# wait far longer than the lock was held. Writers queue here first: on a thread lock
# within the process, then on an flock() of `<db>-writelock` across server processes,
# which wakes the next writer as soon as the lock is released. busy_timeout still covers
# any other program that writes.
QUEUE_TIMEOUT = 30.0  # seconds a writer waits in the process queue before giving up
_QUEUES: dict[str, "_Queue"] = {}


class _Queue:
    """The write queue of one database file in this process."""

    def __init__(self, path: str):
        self.lock = threading.Lock()
        self.path = path + "-writelock"
        self.fd = None

    @contextlib.contextmanager
    def turn(self):
        if not self.lock.acquire(timeout=QUEUE_TIMEOUT):
            raise sqlite3.OperationalError("database is locked (write queue timed out)")
        locked = False
        try:
            if fcntl is not None:
                try:
                    if self.fd is None:
                        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                    fcntl.flock(self.fd, fcntl.LOCK_EX)
                    locked = True
                except OSError:
                    pass  # no lock file (read-only directory): rely on busy_timeout
            yield
        finally:
            if locked:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            self.lock.release()


@contextlib.contextmanager
def writer_turn(db: Database):
    """Wait for this database file's turn to write; the block is the write transaction.

    :raises sqlite3.OperationalError: "database is locked" after QUEUE_TIMEOUT seconds.
    """
    if not QUEUE:
        yield
        return
    path = db.wardkit_path
    with _GUARD:
        queue = _QUEUES.get(path) or _QUEUES.setdefault(path, _Queue(path))
    with queue.turn():
        yield


# A process forked with connections or lock files open must not use them: the child
# forgets them (never closing an inherited SQLite connection, which would disturb the
# parent's). The server loads the app after fork (docs/ARCHITECTURE.md#serving), so this
# only guards against a future fork.
_INHERITED: list = []


def _forget_after_fork() -> None:
    global _POOL
    _INHERITED.extend(_IDLE.values())
    _IDLE.clear()
    _QUEUES.clear()  # their descriptors are the parent's: new ones are opened on demand
    _POOL = threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
