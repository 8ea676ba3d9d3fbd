"""Failures a user can reach answer a clear page, never a 500: a draft another tablet
discarded while this one was checking it (409), and writes SQLite refuses for now — the
database locked by another writer, the disk full (503, "nothing was saved, try again")."""
from datetime import date

import pytest

from tests.factories import WARD_A, make_household, make_resident, make_user
from wardkit import connections
from wardkit.db import connect, write
from wardkit.declarations import forms as declaration_forms
from wardkit.declarations import queries as declaration_queries


@pytest.fixture
def mai(db):
    household = make_household(db)
    return make_resident(db, household, full_name="Phạm Thị Mai", dob=date(1985, 6, 1))


def start_draft(auth, resident, kind="vehicle") -> str:
    resp = auth.post(f"/residents/{resident['id']}/declarations/new?kind={kind}")
    assert resp.status_code == 303
    return resp.headers["Location"].rsplit("/", 1)[-1]


def test_invalid_record_while_another_tablet_discards_answers_409(
        client, db, db_path, officer, auth, mai, monkeypatch):
    declaration_id = start_draft(auth, mai)
    token = auth.token()
    real_check = declaration_forms.DeclarationForm.check

    def check_while_the_other_tablet_discards(self, row, resident):
        # The other tablet's "Discard" lands between this request's read and its write.
        other = connect(str(db_path))
        try:
            with write(other):
                declaration_queries.discard_draft(other, WARD_A, declaration_id,
                                                  by=officer["id"])
        finally:
            other.close()
        return real_check(self, row, resident)

    monkeypatch.setattr(declaration_forms.DeclarationForm, "check",
                        check_while_the_other_tablet_discards)
    resp = client.post(f"/declarations/{declaration_id}/record",
                       data={"csrf_token": token, "plate": "not a plate"})
    assert resp.status_code == 409
    assert "Reload the page" in resp.text or "Tải lại trang" in resp.text
    stored = db.execute("SELECT plate, deleted_at FROM declarations WHERE id = ?",
                        [declaration_id]).fetchone()
    assert stored[0] is None and stored[1] is not None  # discarded, nothing typed saved


def test_a_locked_database_answers_503_and_saves_nothing(client, db, auth, mai):
    make_user(db, username="lanh.dao", role="leader")
    auth.login("lanh.dao")
    token = auth.token()
    before = db.execute("SELECT count(*) FROM residential_groups").fetchone()[0]
    db.execute("BEGIN IMMEDIATE")  # another program holds the write lock past busy_timeout
    try:
        resp = client.post("/groups/", data={"csrf_token": token, "name": "Tổ dân phố số 99",
                                             "target_adults": "100"})
    finally:
        db.execute("ROLLBACK")
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "5"
    assert "Chưa lưu được" in resp.text and "thử lại" in resp.text
    assert db.execute("SELECT count(*) FROM residential_groups").fetchone()[0] == before


def test_a_full_disk_answers_503_and_keeps_every_acknowledged_write(
        client, db, auth, monkeypatch):
    """The app's connections may grow the file by two pages only: groups are added until
    the disk is "full"; every 303 is in the database, the refused one left nothing."""
    real_connect = connections.connect

    def capped_connect(path):
        conn = real_connect(path)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {int(pages) + 2}")
        return conn

    monkeypatch.setattr(connections, "connect", capped_connect)
    make_user(db, username="lanh.dao", role="leader")
    auth.login("lanh.dao")
    token = auth.token()
    before = db.execute("SELECT count(*) FROM residential_groups").fetchone()[0]
    saved = 0
    for n in range(400):
        resp = client.post("/groups/", data={
            "csrf_token": token, "name": f"Tổ dân phố số {n} — " + "ngõ rất dài " * 5,
            "cluster": "Cụm dân cư " * 3, "target_adults": "100"})
        if resp.status_code != 303:
            break
        saved += 1
    assert resp.status_code == 503, "the capped database never filled up"
    assert resp.headers["Retry-After"] == "60"
    assert "đầy" in resp.text  # the disk is full: tell the administrator
    assert saved > 0
    assert db.execute("SELECT count(*) FROM residential_groups").fetchone()[0] == before + saved
