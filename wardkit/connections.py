"""SQLite connections: `connect()` opens one with WardKit's pragmas; `open()`/`done()` keep
one connection per server thread between requests; `writer_turn()` queues WardKit's writers
(docs/ARCHITECTURE.md#write-path).

`wardkit.db` is the seam the app uses (`get_db()`, `write()`). The two pieces here stay
because the benchmarks measured what removing each costs (docs/PERFORMANCE.md#data-seam):
without the thread's connection, 20 % fewer declaration saves and 17 % fewer requests of
the officer's mix; without the writers' queue, declaration saves' p99 4 to 7 times higher
and writers starving for seconds. tests/test_db.py fails if either goes. The idle
"anchor" connection and the fork bookkeeping that used to live here were measured and
removed.
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

# --- one connection per server thread, kept between requests ------------------------------
# Opening a connection costs ~1 ms (SQLite parses the whole schema on its first statement,
# then the pragmas above), and its page cache starts cold. Safe to keep: `write()` always
# commits or rolls back, close_db() rolls back anything left open, nothing changes pragmas
# or creates TEMP objects at run time, and every cursor is a local of the request, so its
# read snapshot ends with the request. Server threads live as long as their worker process
# (which loads the app after fork, docs/ARCHITECTURE.md#serving), so a kept connection is
# never inherited by another process.
_POOL = threading.local()


def open(path: str) -> Database:  # noqa: A001 - read as connections.open(path)
    """Return this thread's connection to `path`, opening it on first use."""
    held = getattr(_POOL, "held", None)
    if held is not None and held[1] == path:
        return held[0]
    if held is not None:  # another database (tests make many): keep one per thread
        held[0].close()
    db = connect(path)
    _POOL.held = (db, path)
    return db


def done(db: Database) -> None:
    """Take back a request's connection (rolled back): the thread keeps its own."""
    held = getattr(_POOL, "held", None)
    if held is None or held[0] is not db:
        db.close()


# --- the writers' queue -----------------------------------------------------------------
# SQLite's busy handler retries on a timer (sleeps of 1, 2, 5 ... 100 ms) instead of
# queueing, so under sustained load some writers starve past busy_timeout and the others
# wait far longer than the lock was held. Writers queue here first: on a thread lock
# within the process, then on an flock() of `<db>-writelock` across server processes,
# which wakes the next writer as soon as the lock is released. busy_timeout still covers
# any other program that writes. A queue belongs to one process: server workers load the
# app after fork (docs/ARCHITECTURE.md#serving), so no lock descriptor is ever inherited.
QUEUE_TIMEOUT = 30.0  # seconds a writer waits in the process queue before giving up
_QUEUES: dict[str, "_Queue"] = {}
_GUARD = threading.Lock()


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
    queue = _QUEUES.get(db.wardkit_path)
    if queue is None:  # the first write to this file in this process
        with _GUARD:
            queue = _QUEUES.setdefault(db.wardkit_path, _Queue(db.wardkit_path))
    with queue.turn():
        yield
