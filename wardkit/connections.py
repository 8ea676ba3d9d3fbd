"""SQLite connections: `connect()` opens one with WardKit's pragmas, and `writer_turn()`
queues WardKit's writers (docs/ARCHITECTURE.md#write-path).

`wardkit.db` is the seam the app uses (`get_db()`, `write()`). Nothing else is kept
between requests: the per-thread connection pool and the idle "anchor" connection that
used to live here were measured and removed (docs/PERFORMANCE.md#data-seam); the writers'
queue stays because removing it more than quadrupled the p99 of declaration saves and let
writers starve for seconds, and tests/test_db.py fails without it.
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
    path = db.wardkit_path
    with _GUARD:
        queue = _QUEUES.get(path) or _QUEUES.setdefault(path, _Queue(path))
    with queue.turn():
        yield
