"""Sync between a hub and field kits (docs/ARCHITECTURE.md#sync): capture, apply,
idempotency, conflicts, tampering, restore and clock skew, on three real databases."""
from datetime import timedelta

import pytest

from wardkit.connections import sqlite3
from wardkit.db import write
from wardkit.residents import queries as resident_queries
from wardkit.sync import bundles, enrol, queries, rounds
from wardkit.sync.apply import Refused
from wardkit.sync.tables import SYNCED, is_local_table

from tests.factories import WARD_A, WARD_B, make_declaration, make_household, make_resident, \
    make_visit
from tests.sync_nodes import Node, Ward


@pytest.fixture
def ward(tmp_path, migrated_template, monkeypatch):
    return Ward(tmp_path, migrated_template, monkeypatch)


def _household(node, ward_code=WARD_A):
    group = node.db.execute("SELECT id, cluster FROM residential_groups WHERE ward_code = ? "
                            "LIMIT 1", [ward_code]).fetchone()
    group = {"id": group[0], "cluster": group[1]} if group else None
    return make_household(node.db, group=group, ward_code=ward_code)


# --- capture -------------------------------------------------------------------------

def test_every_table_is_synced_or_local(db):
    tables = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    unlisted = [t for t in tables if t not in SYNCED and not is_local_table(t)]
    assert unlisted == [], f"add these to wardkit/sync/tables.py: {unlisted}"
    assert not [t for t in SYNCED if is_local_table(t)]


def test_each_synced_table_captures_every_column(db):
    for table in SYNCED:
        triggers = dict(db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
            [table]))
        insert, update = triggers[f"{table}_sync_insert"], triggers[f"{table}_sync_update"]
        for column in queries.synced_columns(db, table):
            assert f"NEW.\"{column}\"" in update and f"'{column}'" in insert, (table, column)


def test_a_write_is_logged_in_its_own_transaction_without_gaps(db):
    household = make_household(db)
    before = queries.state(db)["origin_seq"]
    with pytest.raises(RuntimeError):
        with write(db):
            resident_queries.create_resident(
                db, ward_code=WARD_A, household_id=household["id"], by=None,
                fields={"full_name": "Lê Văn Tám", "dob": "1970-01-02", "gender": "male",
                        "relation": "head", "lawful_basis": "official_duty"})
            raise RuntimeError("the officer's tablet lost power")
    assert queries.state(db)["origin_seq"] == before      # rolled back with the write
    resident = make_resident(db, household, full_name="Lê Văn Tám")
    seqs = [r[0] for r in db.execute("SELECT origin_seq FROM sync_log ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))
    last = db.execute("SELECT table_name, row_id, op FROM sync_log ORDER BY seq DESC "
                      "LIMIT 1").fetchone()
    assert tuple(last) == ("residents", resident["id"], "insert")
    assert queries.version(db, "residents", resident["id"]) == \
        db.execute("SELECT max(seq) FROM sync_log").fetchone()[0]


def test_hard_deletes_of_synced_rows_are_refused(db):
    household = make_household(db)
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        db.execute("DELETE FROM households WHERE id = ?", [household["id"]])


def test_a_kit_cannot_create_users(ward):
    kit = ward.join_by_file("Tổ công tác 1")
    from tests.factories import make_user
    with pytest.raises(sqlite3.IntegrityError, match="changed at the hub"):
        make_user(kit.db, username="new-on-kit")
    assert kit.count("users") == ward.hub.count("users")


# --- a round ----------------------------------------------------------------------------

def test_a_day_on_a_kit_reaches_the_hub_once_and_comes_back(ward):
    kit = ward.join_by_file("Tổ công tác 1")
    assert kit.synced_rows() == ward.hub.synced_rows()
    household = _household(kit)
    resident = make_resident(kit.db, household, full_name="Nguyễn Thị Hoa",
                             cccd="001190012345", phone="0912345678")
    make_visit(kit.db, household, by=ward.officer1["id"])
    make_declaration(kit.db, resident, kind="vehicle", status="recorded",
                     by=ward.officer1["id"])
    pushed = ward.usb_push("Tổ công tác 1")
    assert pushed.applied > 0 and pushed.conflicts == 0 and pushed.held_back == 0
    hub = ward.hub.db
    assert hub.execute("SELECT count(*) FROM residents WHERE id = ?",
                       [resident["id"]]).fetchone()[0] == 1
    assert hub.execute("SELECT count(*) FROM visits WHERE household_id = ?",
                       [household["id"]]).fetchone()[0] == 1
    assert hub.execute("SELECT status FROM declarations").fetchone()[0] == "recorded"
    # The hub's search finds the kit's resident (its index rows were rebuilt).
    found = hub.execute("SELECT count(*) FROM residents_fts WHERE residents_fts MATCH ?",
                        ['name : "hoa"']).fetchone()[0]
    assert found == 1
    # The kit's audit rows travel too.
    assert hub.execute("SELECT count(*) FROM audit_log WHERE action = 'visit_recorded'"
                       ).fetchone()[0] == 1
    again = ward.usb_push("Tổ công tác 1")
    assert again.applied == 0
    ward.usb_pull("Tổ công tác 1")
    assert kit.synced_rows() == ward.hub.synced_rows()


def test_a_kit_joins_and_syncs_over_the_lan(ward):
    make_resident(ward.hub.db, _household(ward.hub), full_name="Trần Văn Ba")
    kit = ward.join_by_lan("Tổ công tác 2")
    assert kit.synced_rows() == ward.hub.synced_rows()
    assert ward.device("Tổ công tác 2")["status"] == "active"
    make_visit(kit.db, _household(kit), by=ward.officer2["id"])
    done = ward.lan_round("Tổ công tác 2")
    assert done["push"]["applied"] > 0 and done["push"]["sent"] == done["push"]["applied"]
    assert kit.synced_rows() == ward.hub.synced_rows()
    assert queries.kit(kit.db)["acked_seq"] == queries.state(kit.db)["origin_seq"]


def test_an_enrolment_code_works_once(ward):
    device, code = enrol.add_kit(ward.hub.db, name="Kit A", ward_code=WARD_A, group_id=None,
                                 by=None)
    first = Node(ward.tmp, "first", ward.template)
    from wardkit.sync import client
    client.join(first.db, "http://hub.test", code)
    second = Node(ward.tmp, "second", ward.template)
    with pytest.raises(Refused, match="unknown or used"):
        client.join(second.db, "http://hub.test", code)
    assert queries.kit(second.db) is None


# --- idempotency and order ----------------------------------------------------------------

def test_the_same_bundle_three_times_and_overlapping_bundles_change_nothing(ward):
    kit = ward.join_by_file("K1")
    household = _household(kit)
    make_resident(kit.db, household, full_name="Đỗ Văn Một")
    first, _ = rounds.push_bundle(kit.db)
    make_resident(kit.db, household, full_name="Đỗ Văn Hai")
    overlapping, _ = rounds.push_bundle(kit.db)      # holds the first's changes too
    rounds.receive_push(ward.hub.db, first)
    after_first = ward.hub.synced_rows()
    log = ward.hub.count("sync_log")
    for _ in range(2):
        result = rounds.receive_push(ward.hub.db, first)[1]
        assert result.applied == 0 and result.duplicates == result.sent
    assert ward.hub.synced_rows() == after_first and ward.hub.count("sync_log") == log
    result = rounds.receive_push(ward.hub.db, overlapping)[1]
    assert result.duplicates > 0 and result.applied > 0
    names = {r[0] for r in ward.hub.db.execute("SELECT full_name FROM residents")}
    assert {"Đỗ Văn Một", "Đỗ Văn Hai"} <= names


def test_an_out_of_order_bundle_waits_for_the_gap(ward):
    kit = ward.join_by_file("K1")
    household = _household(kit)
    early, _ = rounds.push_bundle(kit.db)
    # The kit's mark moves as if `early` had been acknowledged, so the next bundle only
    # holds the later changes: it arrives first, with a gap before it.
    with write(kit.db):
        kit.db.execute("UPDATE sync_kit SET acked_seq = ? WHERE id = 1",
                       [queries.state(kit.db)["origin_seq"]])
    make_resident(kit.db, household, full_name="Vũ Thị Sau")
    late, _ = rounds.push_bundle(kit.db)
    held = rounds.receive_push(ward.hub.db, late)[1]
    assert held.applied == 0 and held.held_back > 0 and held.missing_from == 1
    assert ward.hub.count("households") == 0
    filled = rounds.receive_push(ward.hub.db, early)[1]
    assert filled.held_back == 0
    assert ward.hub.db.execute("SELECT full_name FROM residents").fetchone()[0] == "Vũ Thị Sau"
    assert ward.hub.count("sync_backlog") == 0
    assert ward.device("K1")["acked_seq"] == queries.state(kit.db)["origin_seq"]


# --- conflicts ---------------------------------------------------------------------------

def _resident_on_both(ward):
    k1, k2 = ward.join_by_file("K1"), ward.join_by_file("K2")
    resident = make_resident(ward.hub.db, _household(ward.hub), full_name="Hoàng Văn Nam",
                             phone="0912000111")
    ward.usb_pull("K1")
    ward.usb_pull("K2")
    return k1, k2, resident


def test_the_same_phone_changed_on_two_kits_keeps_both_values(ward):
    k1, k2, resident = _resident_on_both(ward)
    resident_queries.update_resident(k1.db, WARD_A, resident["id"], {"phone": "0987000001"},
                                     by=ward.officer1["id"])
    resident_queries.update_resident(k2.db, WARD_A, resident["id"], {"phone": "0987000002"},
                                     by=ward.officer2["id"])
    assert ward.usb_push("K1").conflicts == 0
    assert ward.usb_push("K2").conflicts == 1
    [conflict] = queries.open_conflicts(ward.hub.db, WARD_A)
    assert conflict["kind"] == "overlap" and conflict["columns"] == ["phone"]
    assert conflict["kept_values"] == {"phone": "0987000001"}
    assert conflict["incoming_values"] == {"phone": "0987000002"}
    assert {conflict["kept_by"], conflict["incoming_by"]} == {ward.officer1["id"],
                                                             ward.officer2["id"]}
    ward.settle_everywhere()
    assert k1.synced_rows() == k2.synced_rows() == ward.hub.synced_rows()


def test_disjoint_columns_merge_without_a_conflict(ward):
    k1, k2, resident = _resident_on_both(ward)
    resident_queries.update_resident(k1.db, WARD_A, resident["id"], {"phone": "0987000001"},
                                     by=ward.officer1["id"])
    resident_queries.update_resident(k2.db, WARD_A, resident["id"],
                                     {"full_name": "Hoàng Văn Năm"}, by=ward.officer2["id"])
    ward.usb_push("K1")
    result = ward.usb_push("K2")
    assert result.conflicts == 0 and result.merged == 1
    row = ward.hub.db.execute("SELECT full_name, phone FROM residents WHERE id = ?",
                              [resident["id"]]).fetchone()
    assert tuple(row) == ("Hoàng Văn Năm", "0987000001")
    ward.settle_everywhere()
    assert k1.synced_rows() == k2.synced_rows() == ward.hub.synced_rows()


def test_the_same_cccd_on_two_kits_is_a_possible_duplicate(ward):
    k1, k2 = ward.join_by_file("K1"), ward.join_by_file("K2")
    a = make_resident(k1.db, _household(k1), full_name="Phan Văn Đức", cccd="001085001234")
    b = make_resident(k2.db, _household(k2), full_name="Phan Văn Đức", cccd="001085001234")
    ward.usb_push("K1")
    result = ward.usb_push("K2")
    assert result.possible_duplicates == 1 and result.held_back == 0
    rows = dict(ward.hub.db.execute("SELECT id, cccd FROM residents"))
    assert rows == {a["id"]: "001085001234", b["id"]: None}
    [conflict] = queries.open_conflicts(ward.hub.db, WARD_A)
    assert conflict["kind"] == "duplicate"
    assert (conflict["row_id"], conflict["other_row_id"]) == (b["id"], a["id"])
    assert conflict["incoming_values"] == {"cccd": "001085001234"}
    ward.settle_everywhere()
    assert k1.synced_rows() == k2.synced_rows() == ward.hub.synced_rows()


# --- tampering ---------------------------------------------------------------------------

def _refused(ward, data, reason):
    before = ward.hub.counts()
    quarantined = ward.hub.count("sync_quarantine")
    with pytest.raises(Refused, match=reason):
        rounds.receive_push(ward.hub.db, data)
    assert ward.hub.counts() == {**before, "audit_log": before["audit_log"] + 1}
    assert ward.hub.count("sync_quarantine") == quarantined + 1
    assert ward.hub.db.execute("SELECT action FROM audit_log ORDER BY at DESC, rowid DESC "
                               "LIMIT 1").fetchone()[0] == "sync_bundle_refused"


def test_a_flipped_byte_is_refused_before_any_write(ward):
    kit = ward.join_by_file("K1")
    make_resident(kit.db, _household(kit))
    data = bytearray(rounds.push_bundle(kit.db)[0])
    data[-40] ^= 0x01
    _refused(ward, bytes(data), "bad seal")
    header_flip = bytearray(rounds.push_bundle(kit.db)[0])
    header_flip[header_flip.index(b'"count":') + 8] ^= 0x01
    _refused(ward, bytes(header_flip), "bad seal|count")


def test_a_revoked_kit_is_refused(ward, fake_clock):
    kit = ward.join_by_file("K1")
    make_resident(kit.db, _household(kit))
    fake_clock.advance(minutes=5)
    enrol.revoke_kit(ward.hub.db, "K1", by=ward.admin["id"])
    fake_clock.advance(minutes=5)
    _refused(ward, rounds.push_bundle(kit.db)[0], "revoked")


def test_a_row_of_another_ward_is_refused(ward):
    kit = ward.join_by_file("K1")
    household = _household(kit)
    # A kit of ward A writes a household of ward B (a bug or a forged kit database).
    with write(kit.db):
        kit.db.execute("UPDATE households SET ward_code = ? WHERE id = ?",
                       [WARD_B, household["id"]])
    _refused(ward, rounds.push_bundle(kit.db)[0], "another ward")


def test_a_replay_under_another_device_is_refused(ward):
    k1, k2 = ward.join_by_file("K1"), ward.join_by_file("K2")
    make_resident(k1.db, _household(k1))
    data = rounds.push_bundle(k1.db)[0]
    # K2 re-seals K1's changes under its own key and name.
    header, payload = bundles.open_sealed(bytes.fromhex(queries.kit(k1.db)["key"]), data)
    k2_kit = queries.kit(k2.db)
    forged = bundles.seal(bytes.fromhex(k2_kit["key"]),
                          {**header, "kit": k2_kit["kit_id"],
                           "device": queries.state(k2.db)["device_id"]}, payload)
    _refused(ward, forged, "another device")


def test_pull_needs_the_kit_key_and_failures_are_throttled(ward):
    ward.join_by_file("K1")
    device = ward.device("K1")
    ward.hub.app.config["LOGIN_MAX_FAILURES"] = 3
    for _ in range(3):
        assert ward.hub.client.get(f"/sync/pull?kit={device['id']}&since=0",
                                   headers={"X-WardKit-Proof": "00" * 32}).status_code == 403
    assert ward.hub.client.get(f"/sync/pull?kit={device['id']}&since=0").status_code == 429


def test_only_the_two_device_routes_skip_csrf(ward):
    exempt = {view for view in ward.hub.app.extensions["csrf"]._exempt_views}
    assert exempt == {"wardkit.sync.views.push", "wardkit.sync.views.pull"}


# --- restore and clocks -------------------------------------------------------------------

def test_a_hub_restored_from_an_older_backup_gets_everything_back(ward, tmp_path):
    kit = ward.join_by_lan("K1")
    make_visit(kit.db, _household(kit), by=ward.officer1["id"])
    ward.lan_round("K1")
    backup = tmp_path / "backup.db"
    from wardkit.db import backup as backup_db
    backup_db(ward.hub.db, str(backup))
    later = make_resident(kit.db, _household(kit), full_name="Mai Thị Muộn")
    ward.lan_round("K1")
    # The hub's disk dies; the ward restores last night's copy.
    result = ward.hub.app.test_cli_runner().invoke(args=["restore", str(backup), "--yes"])
    assert result.exit_code == 0, result.output
    assert ward.hub.db.execute("SELECT count(*) FROM residents WHERE id = ?",
                               [later["id"]]).fetchone()[0] == 0
    done = ward.lan_round("K1")
    assert done["push"].get("epoch_changed")
    assert ward.hub.db.execute("SELECT full_name FROM residents WHERE id = ?",
                               [later["id"]]).fetchone()[0] == "Mai Thị Muộn"
    assert kit.synced_rows() == ward.hub.synced_rows()


def test_a_restore_refuses_a_damaged_copy(ward, tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    result = ward.hub.app.test_cli_runner().invoke(args=["restore", str(bad), "--yes"])
    assert result.exit_code != 0
    assert ward.hub.count("users") == 4


@pytest.mark.parametrize("skew", [timedelta(days=-3), timedelta(days=3)])
def test_a_kit_clock_off_by_days_does_not_change_the_result(ward, fake_clock, skew):
    k1, k2, resident = _resident_on_both(ward)
    fake_clock.advance(seconds=skew.total_seconds())          # K1's clock is wrong
    resident_queries.update_resident(k1.db, WARD_A, resident["id"], {"phone": "0987000001"},
                                     by=ward.officer1["id"])
    fake_clock.advance(seconds=-skew.total_seconds() + 60)
    resident_queries.update_resident(k2.db, WARD_A, resident["id"], {"phone": "0987000002"},
                                     by=ward.officer2["id"])
    ward.usb_push("K1")
    ward.usb_push("K2")
    # Sequence, not clocks: the later push wins at the hub whatever the kits' clocks say.
    assert ward.hub.db.execute("SELECT phone FROM residents WHERE id = ?",
                               [resident["id"]]).fetchone()[0] == "0987000002"
    assert len(queries.open_conflicts(ward.hub.db, WARD_A)) == 1
    ward.settle_everywhere()
    assert k1.synced_rows() == k2.synced_rows() == ward.hub.synced_rows()


# --- commands ---------------------------------------------------------------------------

def test_usb_commands_print_what_they_did_and_fail_on_a_refused_bundle(ward, tmp_path):
    kit = ward.join_by_file("K1")
    make_visit(kit.db, _household(kit), by=ward.officer1["id"])
    stick = tmp_path / "push.bundle"
    out = kit.app.test_cli_runner().invoke(args=["sync", "export", str(stick)])
    assert out.exit_code == 0 and "sealed" in out.output
    assert b"Ng\xc3\xb5" not in stick.read_bytes()     # nothing readable on the stick
    out = ward.hub.app.test_cli_runner().invoke(args=["sync", "import", str(stick)])
    assert out.exit_code == 0 and "applied" in out.output, out.output
    back = tmp_path / "pull.bundle"
    out = ward.hub.app.test_cli_runner().invoke(args=["sync", "export", str(back),
                                                      "--kit", "K1"])
    assert out.exit_code == 0, out.output
    out = kit.app.test_cli_runner().invoke(args=["sync", "import", str(back)])
    assert out.exit_code == 0 and "Pulled" in out.output
    assert kit.synced_rows() == ward.hub.synced_rows()
    data = bytearray(stick.read_bytes())
    data[-1] ^= 0xFF
    stick.write_bytes(bytes(data))
    out = ward.hub.app.test_cli_runner().invoke(args=["sync", "import", str(stick)])
    assert out.exit_code == 1 and "Refused" in out.output


def test_two_kits_a_day_offline_one_by_lan_one_by_usb(ward):
    """The issue's "done when": both kits work a day offline (the same person registered
    on both, the same resident's phone changed on both), then sync, one over the LAN and
    one by USB stick: the hub shows every visit and declaration once, one possible
    duplicate to merge and one conflict to settle, and after another round all three
    databases agree."""
    shared = make_resident(ward.hub.db, _household(ward.hub), full_name="Đinh Thị Lan",
                           phone="0912000111")
    lan_kit, usb_kit = ward.join_by_lan("Tổ 1"), ward.join_by_file("Tổ 2")
    visits, declarations = set(), set()
    for kit, officer in ((lan_kit, ward.officer1), (usb_kit, ward.officer2)):
        household = _household(kit)
        person = make_resident(kit.db, household, full_name="Bùi Văn Khánh",
                               cccd="001079004321", dob="1979-03-04", gender="male")
        for _ in range(3):
            visits.add(make_visit(kit.db, household, by=officer["id"])["id"])
        declarations.add(make_declaration(kit.db, person, kind="vehicle", status="recorded",
                                          by=officer["id"])["id"])
        resident_queries.update_resident(
            kit.db, WARD_A, shared["id"],
            {"phone": "0987000001" if kit is lan_kit else "0987000002"}, by=officer["id"])
    ward.lan_round("Tổ 1")
    ward.usb_round("Tổ 2")
    hub = ward.hub.db
    assert {r[0] for r in hub.execute("SELECT id FROM visits")} == visits
    assert {r[0] for r in hub.execute("SELECT id FROM declarations")} == declarations
    conflicts = queries.open_conflicts(hub, WARD_A)
    assert sorted(c["kind"] for c in conflicts) == ["duplicate", "overlap"]
    ward.lan_round("Tổ 1")
    ward.usb_round("Tổ 2")
    assert lan_kit.synced_rows() == usb_kit.synced_rows() == ward.hub.synced_rows()


def test_a_kit_answers_a_user_or_settings_change_with_a_page_not_a_500(ward):
    kit = ward.join_by_file("K1")
    client = kit.client
    from tests.conftest import Auth
    auth = Auth(client)
    assert auth.login("admin").status_code == 303
    page = auth.post("/admin/users", data={"username": "moi", "display_name": "Người mới",
                                           "role": "officer", "password": "mot mat khau dai",
                                           "password_confirm": "mot mat khau dai"})
    assert page.status_code == 409 and "máy chủ phường" in page.text
    assert kit.count("users") == ward.hub.count("users")
