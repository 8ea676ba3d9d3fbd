"""The audit log is append-only and records login events without personal values."""
import pytest

from wardkit import audit
from wardkit.db import sqlite3, write
from tests.factories import make_user


def test_audit_rows_cannot_be_changed_or_deleted(db):
    with write(db):
        row_id = audit.record(db, "export", entity="residents", entity_id="x", user_id="u",
                              ward_code="00103")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_log SET action = 'nothing' WHERE id = ?", [row_id])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit_log WHERE id = ?", [row_id])
    assert db.execute("SELECT action FROM audit_log WHERE id = ?", [row_id]).fetchone()[0] \
        == "export"


def test_an_audit_row_is_written_only_inside_a_write_transaction(db):
    """The row and the change it describes commit together, or neither does."""
    with pytest.raises(RuntimeError, match="outside write"):
        audit.record(db, "export", user_id=None, ward_code="00103")
    assert audit.entries(db) == []


def test_login_events_are_audited(app, db, auth):
    user = make_user(db, username="an")
    auth.login("an", "wrong password")
    auth.login("an")
    auth.logout()
    actions = [r["action"] for r in reversed(audit.entries(db, entity="users"))]
    assert actions == ["login_failed", "login", "logout"]
    rows = audit.entries(db, entity_id=user["id"])
    assert all(r["user_id"] == user["id"] and r["ward_code"] == "00103" for r in rows)
    assert all(r["client_addr"] == "127.0.0.1" for r in rows)
    # No password, typed or stored, ever reaches the log.
    dump = " ".join(str(v) for r in audit.entries(db) for v in r.values())
    assert "wrong password" not in dump and "scrypt" not in dump
