"""The sync screens (issue 11): /sync on a kit and on the hub, /devices (add a kit with
its one-time code, revoke, admin only, hub only) and /conflicts (settle an overlap field
by field, merge two records of one person, ward-scoped)."""
import io
import re
import time

import pytest

from tests.factories import (WARD_A, WARD_B, make_declaration, make_household, make_resident,
                             make_user, make_visit)
from wardkit import audit
from wardkit.db import write
from wardkit.sync import client, queries
from wardkit.text import fold


@pytest.fixture
def people(db):
    return {
        "admin": make_user(db, role="admin", username="quan", display_name="Quản trị"),
        "leader": make_user(db, role="leader", username="lan", display_name="Chị Lan"),
        "officer": make_user(db, role="officer", username="an", display_name="Anh An"),
        "leader_b": make_user(db, role="leader", ward_code=WARD_B, username="leaderb"),
    }


def make_kit(db, *, offset=None):
    """Turn the test database into a field kit of ward A."""
    with write(db):
        db.execute("UPDATE sync_state SET is_hub = 0 WHERE id = 1")
        db.execute(
            """INSERT INTO sync_kit (id, kit_id, name, ward_code, key, hub_url, hub_device_id,
                                     hub_epoch, joined_at, clock_offset_seconds)
               VALUES (1, 'kit-1', 'Tổ 3 máy 1', ?, ?, 'http://127.0.0.1:9', 'hubdevice',
                       'hubepoch', '2026-12-01T00:00:00.000000Z', ?)""",
            [WARD_A, "00" * 32, offset])


def overlap(db, resident, *, by, kept="Phạm Thị Mai Cũ", incoming="Phạm Thị Mai Mới",
            ward=WARD_A):
    with write(db):
        return queries.add_conflict(
            db, ward_code=ward, kind="overlap", table_name="residents", row_id=resident["id"],
            columns=["full_name", "phone"],
            kept_values={"full_name": kept, "phone": "0912000111"},
            incoming_values={"full_name": incoming, "phone": "0912000222"},
            kept_by=by, kept_at="2026-12-02T01:00:00.000000Z", incoming_by=by,
            incoming_at="2026-12-02T02:00:00.000000Z", origin_device="kitdevice")


def token_of(html):
    """Return the job token the progress block polls with."""
    return re.search(r"&#34;token&#34;: &#34;([A-Za-z0-9_-]{43})&#34;", html).group(1)


def poll(auth, resp, done_marker, *, htmx=False):
    """Poll the sync job's status until `done_marker` shows (at most ~5 s)."""
    headers = {"HX-Request": "true", "HX-Target": "sync-job"} if htmx else {}
    for _ in range(100):
        if done_marker in resp.text:
            break
        time.sleep(0.05)
        resp = auth.post("/sync/status", {"token": token_of(resp.text)}, headers=headers)
    return resp


def log_count(db, row_id):
    return db.execute("SELECT count(*) FROM sync_log WHERE row_id = ?", [row_id]).fetchone()[0]


# --- /devices ----------------------------------------------------------------------------

def test_admin_adds_a_kit_and_sees_its_code_once(db, auth, people):
    auth.login("quan")
    page = auth.client.get("/devices")
    assert page.status_code == 200
    resp = auth.post("/devices", {"name": "Tổ 3 máy 1"})
    assert resp.status_code == 200
    device = queries.get_device(db, name="Tổ 3 máy 1")
    assert device["status"] == "pending" and device["ward_code"] == WARD_A
    assert 'id="kit-code"' in resp.text and "<svg" in resp.text
    assert "flask kit join http://localhost" in resp.text
    code = resp.text.split('id="kit-code">')[1].split("<")[0]
    assert len(code) == 19 and code.count("-") == 3
    # Shown once: the list shows the kit, not its code.
    again = auth.client.get("/devices")
    assert "Tổ 3 máy 1" in again.text and code not in again.text
    assert audit.entries(db, action="sync_kit_added")


def test_add_kit_refuses_a_taken_or_empty_name(db, auth, people):
    auth.login("quan")
    auth.post("/devices", {"name": "Máy 1"})
    resp = auth.post("/devices", {"name": "máy 1"})
    assert resp.status_code == 422 and 'id="kit-name-error"' in resp.text
    assert auth.post("/devices", {"name": "  "}).status_code == 422
    assert len(queries.list_devices(db, WARD_A)) == 1


def test_admin_revokes_a_kit(db, auth, people):
    auth.login("quan")
    auth.post("/devices", {"name": "Máy 2"})
    device = queries.get_device(db, name="Máy 2")
    unconfirmed = auth.post(f"/devices/{device['id']}/revoke")
    assert unconfirmed.status_code == 422
    assert queries.get_device(db, name="Máy 2")["status"] == "pending"
    resp = auth.post(f"/devices/{device['id']}/revoke", {"confirm": "1"})
    assert resp.status_code == 303
    assert queries.get_device(db, name="Máy 2")["status"] == "revoked"
    assert audit.entries(db, action="sync_kit_revoked")[0]["user_id"] == people["admin"]["id"]


def test_devices_are_for_admins_of_their_ward(db, auth, people):
    from wardkit.sync import enrol
    device, _code = enrol.add_kit(db, name="Máy B", ward_code=WARD_B, group_id=None, by=None)
    auth.login("lan")
    assert auth.client.get("/devices").status_code == 403
    assert auth.post("/devices", {"name": "X"}).status_code == 403
    auth.logout()
    make_user(db, role="admin", username="quanb", ward_code=WARD_A)
    auth.login("quanb")
    assert auth.post(f"/devices/{device['id']}/revoke", {"confirm": "1"}).status_code == 404
    assert auth.post("/devices/nope/revoke", {"confirm": "1"}).status_code == 404
    assert queries.get_device(db, name="Máy B")["status"] == "pending"


def test_nav_links_follow_the_role(db, auth, people):
    auth.login("lan")
    home = auth.client.get("/").text
    assert 'id="nav-sync"' in home and 'id="nav-conflicts"' in home
    assert 'id="nav-devices"' not in home
    auth.logout()
    auth.login("an")
    home = auth.client.get("/").text
    assert 'id="nav-sync"' in home and 'id="nav-conflicts"' not in home
    assert auth.client.get("/conflicts").status_code == 403


# --- /sync -------------------------------------------------------------------------------

def test_sync_on_the_hub(db, auth, people):
    auth.login("quan")
    page = auth.client.get("/sync")
    assert page.status_code == 200
    assert queries.state(db)["epoch"][:8] in page.text
    assert 'id="sync-hub"' in page.text and "/devices" in page.text
    assert auth.post("/sync/now").status_code == 404
    assert auth.post("/sync/export").status_code == 404


def test_a_kit_shows_its_waiting_changes_and_no_devices(db, auth, people):
    make_kit(db, offset=-1500)
    household = make_household(db)
    make_resident(db, household)
    auth.login("an")
    page = auth.client.get("/sync")
    assert page.status_code == 200
    waiting = queries.count_own_changes(db, queries.state(db)["device_id"], 0)
    assert waiting >= 3  # group, household, resident (and audit rows)
    assert f'id="sync-waiting">{waiting}<' in page.text
    assert 'id="sync-clock"' in page.text and "25" in page.text
    auth.logout()
    auth.login("quan")
    assert auth.client.get("/devices").status_code == 404


def test_a_kit_exports_its_push_and_refuses_a_bad_import(db, auth, people):
    make_kit(db)
    auth.login("an")
    resp = auth.post("/sync/export")
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"].endswith('push-2026-12-03.bundle"')
    assert "wardkit-to-3-may-1-push" in resp.headers["Content-Disposition"]
    assert audit.entries(db, action="sync_bundle_exported")
    before = db.execute("SELECT count(*) FROM sync_log").fetchone()[0]
    bad = auth.post("/sync/import", {"file": (io.BytesIO(b"not a bundle"), "x.bundle")},
                    content_type="multipart/form-data")
    assert bad.status_code == 422 and 'id="sync-file-error"' in bad.text
    assert db.execute("SELECT count(*) FROM sync_log").fetchone()[0] == before
    assert db.execute("SELECT last_pull_at FROM sync_kit").fetchone()[0] is None


def test_sync_now_runs_in_the_background(db, auth, people, monkeypatch, tmp_path, app):
    make_kit(db)
    app.config["SYNC_JOBS_DIR"] = str(tmp_path / "jobs")

    def fake_sync(conn, progress):
        progress("push")
        progress("pull")
        return {"push": {"sent": 4, "applied": 4}, "pull": {"sent": 2, "applied": 2}}

    monkeypatch.setattr(client, "sync_now", fake_sync)
    auth.login("an")
    resp = auth.post("/sync/now", headers={"HX-Request": "true", "HX-Target": "sync-job"})
    assert resp.status_code == 200 and 'id="sync-job"' in resp.text
    assert "<html" not in resp.text  # the fragment alone
    resp = poll(auth, resp, 'id="sync-done"', htmx=True)
    assert 'id="sync-done"' in resp.text


def test_sync_now_shows_an_unreachable_hub(db, auth, people, tmp_path, app):
    make_kit(db)  # its hub_url points at a closed port
    app.config["SYNC_JOBS_DIR"] = str(tmp_path / "jobs")
    auth.login("an")
    started = auth.post("/sync/now")
    token = next((tmp_path / "jobs").glob("*.json")).stem
    resp = poll(auth, started, 'id="sync-error"')
    assert 'id="sync-error"' in resp.text
    # Another user's job is not found.
    auth.logout()
    auth.login("lan")
    assert auth.post("/sync/status", {"token": token}).status_code == 404


# --- /conflicts --------------------------------------------------------------------------

@pytest.fixture
def mai(db):
    return make_resident(db, make_household(db), full_name="Phạm Thị Mai",
                         phone="0912000333")


def test_conflicts_lists_an_overlap(db, auth, people, mai):
    overlap(db, mai, by=people["officer"]["id"])
    auth.login("lan")
    page = auth.client.get("/conflicts")
    assert page.status_code == 200
    assert "Phạm Thị Mai Cũ" in page.text and "Phạm Thị Mai Mới" in page.text
    assert "Anh An" in page.text and f"/households/{mai['household_id']}" in page.text
    assert "•••••••111" in page.text and "0912000111" not in page.text  # phones masked


@pytest.mark.parametrize("side", ["kept", "incoming"])
def test_settle_writes_the_chosen_values(db, auth, people, mai, side):
    cid = overlap(db, mai, by=people["officer"]["id"])
    logged = log_count(db, mai["id"])
    auth.login("lan")
    missing = auth.post(f"/conflicts/{cid}", {"choice-full_name": side})
    assert missing.status_code == 422
    resp = auth.post(f"/conflicts/{cid}", {"choice-full_name": side, "choice-phone": side})
    assert resp.status_code == 303
    row = queries.get_row(db, "residents", mai["id"])
    name = "Phạm Thị Mai Cũ" if side == "kept" else "Phạm Thị Mai Mới"
    assert row["full_name"] == name and row["name_folded"] == fold(name)
    assert row["phone"] == ("0912000111" if side == "kept" else "0912000222")
    assert row["updated_by"] == people["leader"]["id"]
    assert log_count(db, mai["id"]) == logged + 1
    entry = db.execute("SELECT columns FROM sync_log WHERE row_id = ? ORDER BY seq DESC",
                       [mai["id"]]).fetchone()[0]
    assert "full_name" in entry and "phone" in entry
    assert queries.get_conflict(db, cid, WARD_A)["settled_by"] == people["leader"]["id"]
    assert audit.entries(db, action="sync_conflict_settled")
    assert auth.post(f"/conflicts/{cid}", {"choice-full_name": side,
                                          "choice-phone": side}).status_code == 404
    # Found under its new name.
    word = fold(name).split()[-1]
    fts = {r[0] for r in db.execute("SELECT rowid FROM residents_fts WHERE residents_fts "
                                    "MATCH ?", [word])}
    assert row["fts_rowid"] in fts


def test_other_ward_conflicts_are_not_found(db, auth, people):
    other = make_resident(db, make_household(db, ward_code=WARD_B), full_name="Lê Văn B")
    cid = overlap(db, other, by=None, ward=WARD_B)
    auth.login("lan")
    assert cid not in auth.client.get("/conflicts").text
    assert auth.post(f"/conflicts/{cid}", {"choice-full_name": "kept",
                                          "choice-phone": "kept"}).status_code == 404
    assert auth.post(f"/conflicts/{cid}/merge", {"survivor": other["id"]}).status_code == 404
    assert auth.post(f"/conflicts/{cid}/dismiss").status_code == 404
    assert auth.post("/conflicts/nope/dismiss").status_code == 404
    assert queries.get_row(db, "residents", other["id"])["full_name"] == "Lê Văn B"


def duplicate(db, incoming, existing, cccd):
    with write(db):
        return queries.add_conflict(
            db, ward_code=WARD_A, kind="duplicate", table_name="residents",
            row_id=incoming["id"], other_row_id=existing["id"], columns=["cccd"],
            kept_values={"cccd": None}, incoming_values={"cccd": cccd},
            incoming_by=None, incoming_at="2026-12-02T02:00:00.000000Z",
            origin_device="kitdevice")


def test_merge_two_people(db, auth, people):
    officer = people["officer"]["id"]
    hub_household = make_household(db)
    kit_household = make_household(db)
    existing = make_resident(db, hub_household, full_name="Nguyễn Văn Hùng",
                             cccd="001085000321", ihanoi_status="installed")
    incoming = make_resident(db, kit_household, full_name="Nguyễn Văn Hùng",
                             phone="0987654321")
    old = make_declaration(db, existing, by=officer)
    new = make_declaration(db, incoming, kind="vehicle", by=officer)
    make_visit(db, kit_household, by=officer,
               onboarding={incoming["id"]: {"ihanoi_status": "not_installed"}})
    cid = duplicate(db, incoming, existing, "001085000321")
    auth.login("lan")
    page = auth.client.get("/conflicts")
    assert "••••••••0321" in page.text and "001085000321" not in page.text
    assert auth.post(f"/conflicts/{cid}/merge", {}).status_code == 422
    resp = auth.post(f"/conflicts/{cid}/merge", {"survivor": incoming["id"]})
    assert resp.status_code == 303
    survivor = queries.get_row(db, "residents", incoming["id"])
    other = queries.get_row(db, "residents", existing["id"])
    assert other["deleted_at"] is not None and survivor["deleted_at"] is None
    assert survivor["cccd"] == "001085000321" and survivor["phone"] == "0987654321"
    assert survivor["ihanoi_status"] == "installed"
    owners = {r[0] for r in db.execute("SELECT resident_id FROM declarations WHERE id IN (?, ?)",
                                       [old["id"], new["id"]])}
    assert owners == {incoming["id"]}
    assert db.execute("SELECT count(*) FROM onboarding_changes WHERE resident_id = ?",
                      [existing["id"]]).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM onboarding_changes WHERE resident_id = ?",
                      [incoming["id"]]).fetchone()[0] == 1
    merged = audit.entries(db, action="residents_merged")[0]
    assert existing["id"] in merged["detail"] and "Hùng" not in merged["detail"]
    assert queries.get_conflict(db, cid, WARD_A)["settled_at"]
    # The removed record left the search index; the survivor is in it once.
    fts = {r[0] for r in db.execute("SELECT rowid FROM residents_fts WHERE residents_fts "
                                    "MATCH 'hung'")}
    assert survivor["fts_rowid"] in fts and other["fts_rowid"] not in fts


def test_not_the_same_person(db, auth, people):
    a = make_resident(db, make_household(db), full_name="Trần Thị Hoa", cccd="001190000111")
    b = make_resident(db, make_household(db), full_name="Trần Thị Hoa")
    cid = duplicate(db, b, a, "001190000111")
    auth.login("lan")
    assert auth.post(f"/conflicts/{cid}/dismiss").status_code == 303
    assert queries.get_conflict(db, cid, WARD_A)["settlement"] == {"outcome": "not_same"}
    assert queries.get_row(db, "residents", a["id"])["deleted_at"] is None
    assert queries.get_row(db, "residents", b["id"])["deleted_at"] is None
    assert "Trần Thị Hoa" not in auth.client.get("/conflicts").text


def test_usb_round_through_the_pages(tmp_path, migrated_template, monkeypatch):
    """The kit's officer exports the push from /sync, the hub applies it, and the kit
    imports the hub's pull from /sync: the counts show and the kit's marks move."""
    from tests.conftest import Auth
    from tests.sync_nodes import Ward
    from wardkit.sync import rounds
    ward = Ward(tmp_path, migrated_template, monkeypatch)
    kit = ward.join_by_file("Máy 1")
    make_household(ward.hub.db)  # a row the kit does not have yet
    officer = Auth(kit.client)
    assert officer.login("officer1").status_code == 303
    resp = officer.post("/sync/export")
    assert resp.status_code == 200
    device, result = rounds.receive_push(ward.hub.db, resp.data)
    assert result.applied >= 1  # at least the export's audit row
    pull = rounds.pull_bundle(ward.hub.db, device, device["pulled_seq"])
    page = officer.post("/sync/import", {"file": (io.BytesIO(pull), "pull.bundle")},
                        content_type="multipart/form-data")
    assert page.status_code == 200 and 'id="sync-imported"' in page.text
    assert kit.db.execute("SELECT last_pull_at FROM sync_kit").fetchone()[0] is not None
    assert audit.entries(kit.db, action="sync_bundle_imported")[0]["user_id"] \
        == ward.officer1["id"]
    # The same bundle under another kit's seal is refused with its reason, 422.
    other = ward.join_by_file("Máy 2")
    resp = Auth(other.client)
    resp.login("officer1")
    refused = resp.post("/sync/import", {"file": (io.BytesIO(pull), "pull.bundle")},
                        content_type="multipart/form-data")
    assert refused.status_code == 422 and "Dấu niêm phong không khớp" in refused.text


def test_a_duplicate_household_is_marked_settled(db, auth, people):
    household = make_household(db)
    with write(db):
        cid = queries.add_conflict(
            db, ward_code=WARD_A, kind="duplicate", table_name="households",
            row_id=household["id"], other_row_id=None, columns=["reference"],
            kept_values={"reference": None}, incoming_values={"reference": "x" * 22},
            origin_device="kitdevice")
    auth.login("lan")
    page = auth.client.get("/conflicts")
    assert f'id="conflict-{cid}"' in page.text and "Đánh dấu đã xử lý" in page.text
    assert auth.post(f"/conflicts/{cid}/merge", {"survivor": household["id"]}).status_code == 404
    assert auth.post(f"/conflicts/{cid}/dismiss").status_code == 303
    assert queries.get_conflict(db, cid, WARD_A)["settlement"] == {"outcome": "settled"}
    assert 'id="no-conflicts"' in auth.client.get("/conflicts").text
