"""The data layer: pragmas, write() transactions, the SQLite version gate, backups."""
import pathlib
import subprocess
import sys
import threading
import time

import pytest

from wardkit import db as dbmod
from wardkit.db import SQLiteTooOld, apply_migrations, check_sqlite_version, connect, write

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_connection_pragmas(db_path):
    db = connect(str(db_path))
    q = lambda p: db.execute(f"PRAGMA {p}").fetchone()[0]  # noqa: E731
    assert q("journal_mode") == "wal"
    assert q("synchronous") == 2  # FULL
    assert q("busy_timeout") == 5000
    assert q("foreign_keys") == 1
    assert q("secure_delete") == 1
    assert db.conn.isolation_level is None


def test_bundled_sqlite_has_the_wal_fix():
    version = dbmod.sqlite3.sqlite_version
    assert dbmod.sqlite_version_ok(version), version
    assert check_sqlite_version() == version


@pytest.mark.parametrize("version, ok", [
    ("3.40.1", False),   # Debian 12's system SQLite
    ("3.51.2", False),
    ("3.51.3", True),
    ("3.53.4", True),
    ("3.44.5", False),
    ("3.44.6", True),    # fixed backport
    ("3.50.6", False),
    ("3.50.7", True),    # fixed backport
    ("4.0.0", True),
])
def test_sqlite_version_gate(version, ok):
    assert dbmod.sqlite_version_ok(version) is ok
    if not ok:
        with pytest.raises(SQLiteTooOld, match="3.51.3"):
            check_sqlite_version(version)


def test_app_refuses_to_start_on_old_sqlite(monkeypatch, db_path):
    from wardkit import create_app
    monkeypatch.setattr(dbmod.sqlite3, "sqlite_version", "3.40.1")
    with pytest.raises(SQLiteTooOld, match="refuses to run on SQLite 3.40.1"):
        create_app({"DATABASE": str(db_path), "SECRET_KEY": "x"})


def _groups(db):
    return db.execute("SELECT count(*) FROM residential_groups").fetchone()[0]


def _insert_group(db, name):
    from tests.factories import make_group
    return make_group(db, name=name)


def test_write_commits(db_path):
    db = connect(str(db_path))
    with write(db):
        _insert_group(db, "Tổ 1")
        _insert_group(db, "Tổ 2")
    other = connect(str(db_path))
    assert _groups(other) == 2


def test_write_rolls_back_everything_on_error(db_path):
    db = connect(str(db_path))
    with pytest.raises(RuntimeError):
        with write(db):
            _insert_group(db, "Tổ 1")
            raise RuntimeError("power cut in the middle")
    assert _groups(db) == 0
    assert not db.conn.in_transaction


def test_write_begins_immediate(db_path):
    """Inside write() the write lock is already held: another writer cannot start."""
    db = connect(str(db_path))
    other = dbmod.sqlite3.connect(str(db_path), isolation_level=None, timeout=0)
    with write(db):
        with pytest.raises(dbmod.sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")


def test_concurrent_read_then_write_never_locked(db_path):
    """8 threads doing read-then-write transactions: none fails with 'database is locked'."""
    errors = []

    def worker(n):
        db = connect(str(db_path))
        try:
            for i in range(25):
                with write(db):
                    _groups(db)
                    _insert_group(db, f"Tổ {n}-{i}")
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _groups(connect(str(db_path))) == 200


def test_backup_is_consistent_and_restorable(db_path, tmp_path):
    db = connect(str(db_path))
    _insert_group(db, "Tổ 9")
    dest = tmp_path / "backup.db"
    dbmod.backup(db, str(dest))
    restored = connect(str(dest))
    assert restored.execute("SELECT name FROM residential_groups").fetchone()[0] == "Tổ 9"
    assert restored.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_migrations_twice_are_a_noop(tmp_path):
    db = connect(str(tmp_path / "fresh.db"))
    first = apply_migrations(db)
    assert first[0] == "0001_wal" and first[-1] == dbmod.latest_migration(db)
    before = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    assert apply_migrations(db) == []
    assert db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == before
    assert db.execute("SELECT count(*) FROM wards").fetchone()[0] == 126
    tables = set(db.table_names())
    assert {"wards", "residential_groups", "users", "user_sessions", "login_attempts",
            "audit_log"} <= tables


def test_wards_reference_data(db):
    kinds = dict(db.execute("SELECT kind, count(*) FROM wards GROUP BY kind").fetchall())
    assert kinds == {"phuong": 51, "xa": 75}
    tay_ho = db.execute("SELECT name, kind, data_version FROM wards WHERE code = '00103'").fetchone()
    assert tay_ho[0] == "Phường Tây Hồ" and tay_ho[1] == "phuong"
    assert "2026.9.0" in tay_ho[2]
    # Codes that changed between data lines keep both (docs/DOMAIN-RULES.md#wards).
    assert db.execute("SELECT name, code_2025_10 FROM wards WHERE code = '00226'").fetchone() \
        == ("Phường Văn Miếu - Quốc Tử Giám", "00196")


def test_syncable_tables_have_uuid_ids_and_soft_delete(db):
    for table in ("residential_groups", "users"):
        cols = db.table(table).columns_dict
        assert {"id", "created_at", "updated_at", "updated_by", "deleted_at"} <= set(cols)
        assert cols["id"] is str


def test_foreign_keys_enforced(db):
    from tests.factories import make_group
    with pytest.raises(dbmod.sqlite3.IntegrityError):
        make_group(db, ward_code="99999")


def test_migrations_file_runs_standalone_with_sqlite_utils(tmp_path, latest_schema):
    """migrations.py is self-contained: the sqlite-utils CLI can apply it too."""
    import subprocess
    import sys
    from pathlib import Path
    cli = Path(sys.executable).parent / "sqlite-utils"
    target = tmp_path / "standalone.db"
    subprocess.run([str(cli), "migrate", str(target), "migrations/migrations.py"], check=True)
    db = connect(str(target))
    assert db.execute("SELECT count(*) FROM wards").fetchone()[0] == 126
    assert dbmod.latest_migration(db) == latest_schema


def test_ids_are_time_ordered_uuid7():
    import uuid
    from wardkit.ids import new_id
    ids = [new_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    parsed = [uuid.UUID(i) for i in ids]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in parsed)
    # Millisecond prefix never goes backwards (the random tail orders ids within one ms).
    assert [i[:13] for i in ids] == sorted(i[:13] for i in ids)


def test_a_server_thread_keeps_its_connection_and_sees_other_commits(app, db):
    """The thread's kept connection (wardkit/connections.py): reused by the next request,
    which still reads the latest committed data (no snapshot held over)."""
    def handler():
        """A request that reads, leaving a cursor half-read, as `next(db.query())` does."""
        conn = dbmod.get_db()
        cursor = conn.execute("SELECT code FROM wards")
        cursor.fetchone()
        return conn, _groups(conn)

    with app.app_context():
        first, before = handler()
    _insert_group(db, "Tổ dân phố số 99")          # another connection commits
    with app.app_context():
        second, after = handler()
    assert second is first                          # the same connection, reused
    assert after == before + 1                      # and it sees the new row


def test_a_kept_connection_never_carries_a_transaction_over(app):
    with app.app_context():
        conn = dbmod.get_db()
        conn.execute("BEGIN IMMEDIATE")             # a request that forgot to finish
    with app.app_context():
        again = dbmod.get_db()
        assert again is conn and not again.conn.in_transaction
        with write(again):                          # and the write lock is free
            again.execute("SELECT 1")


# --- the writers' queue (wardkit/connections.py) ---------------------------------------

def test_writers_queue_instead_of_polling_for_the_lock(db_path):
    """The writers' queue: a writer waits its turn behind a long write even when its own
    busy_timeout is far shorter, instead of failing with "database is locked"."""
    holder, waiter = connect(str(db_path)), connect(str(db_path))
    waiter.execute("PRAGMA busy_timeout=20")
    started, result = threading.Event(), {}

    def hold():
        with write(holder):
            holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
            started.set()
            time.sleep(0.4)

    thread = threading.Thread(target=hold)
    thread.start()
    started.wait(5)
    try:
        with write(waiter):
            waiter.execute("CREATE TABLE IF NOT EXISTS u (x)")
        result["ok"] = True
    except Exception as exc:  # noqa: BLE001 - reported below
        result["error"] = exc
    thread.join()
    assert result == {"ok": True}


def test_writers_queue_across_server_processes(db_path, tmp_path):
    """Another server process holding a write: this one queues on the lock file."""
    ready = tmp_path / "ready"
    script = (
        "import sys, time, pathlib\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from wardkit.db import connect, write\n"
        f"db = connect({str(db_path)!r})\n"
        "with write(db):\n"
        "    db.execute('CREATE TABLE IF NOT EXISTS t (x)')\n"
        f"    pathlib.Path({str(ready)!r}).touch()\n"
        "    time.sleep(0.6)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 10
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    waiter = connect(str(db_path))
    waiter.execute("PRAGMA busy_timeout=20")
    with write(waiter):
        waiter.execute("CREATE TABLE IF NOT EXISTS u (x)")
    assert child.wait(10) == 0
