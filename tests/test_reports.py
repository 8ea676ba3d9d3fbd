"""The daily report: the snapshot of a hand-counted ward at the 07:00 cut-off (writes after
it not counted), the same numbers as /progress at the same moment, the lock (route and
schema), revisions, the automatic snapshot once a day across server processes, and the
pages."""
import re
import subprocess
import sys
import textwrap
from datetime import date, datetime, timezone

import pytest

from tests.factories import (WARD_B, make_declaration, make_group, make_household,
                             make_resident, make_user, make_visit)
from wardkit.clock import HANOI
from wardkit.db import sqlite3
from wardkit.reports import figures, queries, schedule, snapshots

DAY = date(2026, 12, 3)
BEFORE = datetime(2026, 12, 2, 23, 30, tzinfo=timezone.utc)   # 06:30 in Hanoi
CUTOFF = datetime(2026, 12, 3, 0, 0, tzinfo=timezone.utc)      # 07:00 in Hanoi
AFTER = datetime(2026, 12, 3, 0, 30, tzinfo=timezone.utc)      # 07:30 in Hanoi


@pytest.fixture
def ward(db, fake_clock):
    """A ward counted by hand (figures in test_snapshot_figures), all written before the
    cut-off of 3 December."""
    fake_clock.current = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)
    officer = make_user(db, username="can.bo")
    t1 = make_group(db, name="Tổ dân phố số 1", target_adults=4)
    t2 = make_group(db, name="Tổ dân phố số 2", target_adults=0)
    h1 = make_household(db, group=t1, house_number="1")
    h2 = make_household(db, group=t1, house_number="2")
    h3 = make_household(db, group=t2, house_number="3")
    r1 = make_resident(db, h1, full_name="Nguyễn Văn Một", dob=date(1950, 1, 1),
                       ihanoi_status="activated")
    r2 = make_resident(db, h1, full_name="Trần Thị Hai", dob=date(2000, 1, 1),
                       ihanoi_status="installed")
    make_resident(db, h1, full_name="Lê Văn Ba", dob=date(2015, 1, 1))  # a child
    r4 = make_resident(db, h1, full_name="Phạm Thị Bốn", dob=date(1985, 1, 1))
    db.execute("UPDATE residents SET needs_home_support = 1, support_reason = 'disability' "
               "WHERE id = ?", [r4["id"]])
    r5 = make_resident(db, h2, full_name="Đỗ Văn Năm", dob=date(1990, 1, 1),
                       ihanoi_status="not_installed")
    make_resident(db, h3, full_name="Vũ Thị Sáu", dob=date(1970, 1, 1),
                  ihanoi_status="activated")
    # Another ward's activated, visited resident: never counted here.
    other = make_household(db, group=make_group(db, name="Tổ 1", ward_code=WARD_B),
                           ward_code=WARD_B)
    make_resident(db, other, dob=date(1960, 1, 1), ihanoi_status="activated")
    make_visit(db, other, outcome="done")
    # h2 asked to come back on 2 December at 17:00: overdue by the 3rd.
    make_visit(db, h2, outcome="come_back", by=officer["id"],
               follow_up_at=datetime(2026, 12, 2, 17, 0, tzinfo=HANOI))
    fake_clock.current = BEFORE
    make_visit(db, h1, outcome="done", by=officer["id"])
    make_declaration(db, r1, kind="licence", status="recorded")
    make_declaration(db, r2, kind="vehicle", status="submitted")
    make_declaration(db, r5, kind="vehicle", status="draft")  # a draft: not counted
    return {"t1": t1, "t2": t2, "h3": h3, "r5": r5, "officer": officer}


def after_cutoff_writes(db, fake_clock, ward):
    """Write at 07:30: a new activated adult, a visit and a recorded declaration."""
    fake_clock.current = AFTER
    h = make_household(db, group=ward["t1"], house_number="9")
    make_resident(db, h, full_name="Hoàng Văn Bảy", dob=date(1999, 1, 1),
                  ihanoi_status="activated")
    make_visit(db, ward["h3"], outcome="done")
    make_declaration(db, ward["r5"], kind="licence", status="recorded")


EXPECTED_T1 = {
    "target_adults": 4, "adults": 4, "installed": 2, "activated": 1, "confirmed": 0,
    "households": 2, "visited": 2, "visits_done": 1, "visits_nobody_home": 0,
    "visits_come_back": 1, "visits_declined": 0, "follow_ups_open": 1,
    "follow_ups_due": 1, "follow_ups_overdue": 1, "support_needed": 1,
    "support_reached": 1, "declarations": 2, "licences": 1, "vehicles": 1,
    "declarations_recorded": 1, "declarations_submitted": 1, "declarations_verified": 0,
    "declarations_needs_fix": 0,
}
EXPECTED_T2 = {
    "target_adults": 0, "adults": 1, "installed": 1, "activated": 1, "households": 1,
    "visited": 0, "visits_done": 0, "follow_ups_open": 0, "support_needed": 0,
    "declarations": 0,
}


def test_snapshot_figures_at_the_cutoff(app, db, fake_clock, ward):
    fake_clock.current = CUTOFF.replace(minute=1)
    with app.test_request_context():
        assert schedule.tick(app) == ["00070", "00103"]  # each ward with data
        after_cutoff_writes(db, fake_clock, ward)
        assert schedule.tick(app) == []  # once a day
        report = queries.get_report(db, "00103", "2026-12-03")
    assert report["revision"] == 1 and report["taken_by"] is None
    assert report["cutoff_at"] == "2026-12-03T00:00:00.000000Z"
    groups = {g["name"]: g for g in report["figures"]["groups"]}
    assert list(groups) == ["Tổ dân phố số 1", "Tổ dân phố số 2"]
    assert {k: groups["Tổ dân phố số 1"][k] for k in EXPECTED_T1} == EXPECTED_T1
    assert {k: groups["Tổ dân phố số 2"][k] for k in EXPECTED_T2} == EXPECTED_T2
    total = report["figures"]["total"]
    assert total["adults"] == 5 and total["activated"] == 2 and total["declarations"] == 2
    assert report["figures"]["previous"] is None
    # The writes at 07:30 are not in it, and it is never recounted.
    with app.test_request_context():
        live = figures.ward_figures(db, "00103", now=AFTER)["total"]
    assert (live["adults"], live["activated"], live["declarations"]) == (6, 3, 3)
    assert queries.get_report(db, "00103", "2026-12-03")["figures"] == report["figures"]


def test_no_snapshot_before_the_cutoff_nor_on_a_kit(app, db, fake_clock, ward):
    fake_clock.current = BEFORE
    assert schedule.tick(app) == []
    fake_clock.current = AFTER
    db.execute("UPDATE sync_state SET is_hub = 0")
    assert schedule.tick(app) == []
    assert db.execute("SELECT count(*) FROM reports").fetchone()[0] == 0


def progress_cells(html: str, group_id: str) -> dict:
    row = re.search(rf'<tr id="progress-{group_id}".*?</tr>', html, re.S).group(0)
    return {col: value for col, value in re.findall(r'data-col="(\w+)">\+?([\d./]+)', row)}


def test_snapshot_equals_progress_at_the_same_moment(app, client, db, auth, fake_clock,
                                                     ward):
    make_user(db, username="lanh.dao", role="leader")
    fake_clock.current = AFTER
    after_cutoff_writes(db, fake_clock, ward)
    auth.login("lanh.dao")
    html = client.get("/progress").text
    assert auth.post("/reports/2026-12-03/snapshot").status_code == 303
    report = queries.get_report(db, "00103", "2026-12-03")
    for group in report["figures"]["groups"]:
        cells = progress_cells(html, group["id"])
        assert cells["adults"] == str(group["adults"])
        assert cells["activated"] == str(group["activated"])
        assert cells["visited"] == str(group["visited"])
        assert cells["follow_ups"] == str(group["follow_ups_due"])
        assert cells["declarations"] == str(group["declarations"])
    page = client.get("/reports/2026-12-03").text
    t1 = re.search(rf'<tr id="report-{ward["t1"]["id"]}".*?</tr>', page, re.S).group(0)
    assert 'data-col="adults">5<' in t1 and 'data-col="activated">2' in t1


def test_lock_is_final_and_a_revision_keeps_both(app, client, db, auth, fake_clock, ward):
    leader = make_user(db, username="lanh.dao", role="leader", display_name="Nguyễn Văn Trưởng")
    fake_clock.current = CUTOFF.replace(minute=5)
    schedule.tick(app)
    auth.login("lanh.dao")
    page = client.get("/reports/2026-12-03")
    assert "Bản nháp" in page.text or "Draft" in page.text
    resp = auth.post("/reports/2026-12-03/note", data={"note": "Khó khăn: nhiều cụ già.\r\n"
                                                              "Đề xuất: thêm buổi tối."})
    assert resp.status_code == 303
    resp = auth.post("/reports/2026-12-03/lock", data={
        "note": "Khó khăn: nhiều cụ già.\nĐề xuất: thêm buổi tối.",
        "signer_title": "TRƯỞNG CÔNG AN PHƯỜNG", "signer_name": "Nguyễn Văn Trưởng"})
    assert resp.status_code == 303
    locked = queries.get_report(db, "00103", "2026-12-03")
    assert locked["locked_by"] == leader["id"] and locked["note"].startswith("Khó khăn")
    # The route refuses changes...
    assert auth.post("/reports/2026-12-03/note", data={"note": "x"}).status_code == 409
    assert auth.post("/reports/2026-12-03/lock", data={
        "note": "x", "signer_title": "T", "signer_name": "N"}).status_code == 409
    # ...and so does the schema, whoever asks.
    with pytest.raises(sqlite3.IntegrityError, match="locked report is immutable"):
        db.execute("UPDATE reports SET note = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        db.execute("DELETE FROM reports")
    # A correction: counted again now, with its reason; both stay.
    after_cutoff_writes(db, fake_clock, ward)
    assert auth.post("/reports/2026-12-03/revise", data={"reason": ""}).status_code == 422
    resp = auth.post("/reports/2026-12-03/revise",
                     data={"reason": "Tổ 1 nhập thiếu hộ số 9"})
    assert resp.status_code == 303
    first = queries.get_report(db, "00103", "2026-12-03", 1)
    second = queries.get_report(db, "00103", "2026-12-03")
    assert second["revision"] == 2 and second["locked_at"] is None
    assert first["figures"]["total"]["adults"] == 5
    assert second["figures"]["total"]["adults"] == 6
    assert second["reason"] == "Tổ 1 nhập thiếu hộ số 9"
    page = client.get("/reports/2026-12-03").text
    assert "Tổ 1 nhập thiếu hộ số 9" in page and 'id="report-revisions"' in page
    assert client.get("/reports/2026-12-03?revision=1").status_code == 200
    assert client.get("/reports/2026-12-03?revision=7").status_code == 404
    actions = [r[0] for r in db.execute(
        "SELECT action FROM audit_log WHERE entity = 'reports' AND ward_code = '00103' "
        "ORDER BY rowid")]
    assert actions == ["report_snapshot_taken", "report_note_saved", "report_locked",
                       "report_revised"]


def test_bad_input(app, client, db, auth, fake_clock, ward):
    make_user(db, username="lanh.dao", role="leader")
    make_user(db, username="an", role="officer")
    fake_clock.current = AFTER
    schedule.tick(app)
    auth.login("an")
    assert client.get("/reports/2026-12-03").status_code == 200  # officers read it
    resp = auth.post("/reports/2026-12-03/lock", data={
        "note": "", "signer_title": "T", "signer_name": "N"})
    assert resp.status_code == 403
    auth.logout()
    auth.login("lanh.dao")
    assert client.get("/reports/2026-12-04").status_code == 404  # the future
    assert client.get("/reports/2026-13-01").status_code == 404
    assert auth.post("/reports/2026-12-04/snapshot").status_code == 404
    resp = auth.post("/reports/2026-12-03/lock", data={
        "note": "x" * 2001, "signer_title": "TRƯỞNG CÔNG AN PHƯỜNG", "signer_name": "A"})
    assert resp.status_code == 422 and 'id="note-error"' in resp.text
    resp = auth.post("/reports/2026-12-03/lock", data={
        "note": "", "signer_title": "", "signer_name": ""})
    assert resp.status_code == 422 and 'id="signer-error"' in resp.text
    assert queries.get_report(db, "00103", "2026-12-03")["locked_at"] is None
    assert auth.post("/reports/2026-12-03/revise",
                     data={"reason": "r"}).status_code == 409  # not locked yet


def test_changes_since_the_previous_report_and_the_sparkline(app, client, db, auth,
                                                             fake_clock, ward):
    make_user(db, username="lanh.dao", role="leader")
    fake_clock.current = CUTOFF.replace(minute=1)
    schedule.tick(app)
    after_cutoff_writes(db, fake_clock, ward)
    fake_clock.current = datetime(2026, 12, 4, 0, 1, tzinfo=timezone.utc)
    schedule.tick(app)
    report = queries.get_report(db, "00103", "2026-12-04")
    assert report["figures"]["previous"] == {"report_date": "2026-12-03", "revision": 1}
    assert report["figures"]["change"]["total"]["activated"] == 1
    assert report["figures"]["change"]["groups"][ward["t1"]["id"]]["adults"] == 1
    auth.login("lanh.dao")
    page = client.get("/reports/2026-12-04").text
    t1 = re.search(rf'<tr id="report-{ward["t1"]["id"]}".*?</tr>', page, re.S).group(0)
    assert '<span class="delta" data-delta="activated">+1</span>' in t1
    svg = re.search(r'<svg class="sparkline".*?</svg>', t1, re.S).group(0)
    points = re.search(r'<polyline class="spark-line" points="([^"]+)"', svg).group(1)
    assert len(points.split()) == 2  # two days: 1 then 2 activated
    assert float(points.split()[1].split(",")[1]) < float(points.split()[0].split(",")[1])
    assert 'class="spark-target"' in svg  # the target of 4
    assert "<script" not in page.split("</header>", 1)[1].split("<footer", 1)[0]
    history = client.get("/reports").text
    assert "04/12/2026" in history and "03/12/2026" in history


def test_automatic_snapshot_once_across_processes(app, db, db_path, fake_clock, ward):
    """Four server processes' report clocks wake at the same minute: one report per
    ward (the fixture has two), one audit row each."""
    code = textwrap.dedent(f"""
        import sys, time
        from datetime import datetime, timezone
        from wardkit import clock, create_app
        from wardkit.reports import schedule
        clock.now = lambda: datetime(2026, 12, 3, 0, 2, tzinfo=timezone.utc)
        app = create_app({{"TESTING": True, "DATABASE": {str(db_path)!r},
                          "SECRET_KEY": "x"}})
        start = float(sys.argv[1])
        time.sleep(max(0, start - time.time()))
        print(len(schedule.tick(app)))
    """)
    import time
    start = str(time.time() + 1.5)
    procs = [subprocess.Popen([sys.executable, "-c", code, start], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outputs]
    assert sum(int(o[0]) for o in outputs) == 2
    assert db.execute("SELECT ward_code, count(*) FROM reports GROUP BY ward_code"
                      ).fetchall() == [("00070", 1), ("00103", 1)]
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = "
                      "'report_snapshot_taken'").fetchone()[0] == 2


def test_report_clock_thread_takes_the_report(app, db, fake_clock, ward):
    fake_clock.current = AFTER
    stop = schedule.start(app, interval=0.05)
    try:
        import time
        deadline = time.time() + 10
        while time.time() < deadline and db.execute(
                "SELECT count(*) FROM reports").fetchone()[0] < 2:
            time.sleep(0.05)
    finally:
        stop.set()
    assert queries.get_report(db, "00103", "2026-12-03") is not None


def test_cli_snapshot(app, runner, db, fake_clock, ward):
    fake_clock.current = BEFORE
    result = runner.invoke(args=["reports", "snapshot"])
    assert result.exit_code == 0 and "has not passed" in result.output
    result = runner.invoke(args=["reports", "snapshot", "--date", "2026-12-03"])
    assert result.exit_code == 0 and "00103 2026-12-03: taken" in result.output
    result = runner.invoke(args=["reports", "snapshot", "--date", "2026-12-03"])
    assert "exists already" in result.output
    result = runner.invoke(args=["reports", "snapshot", "--date", "2026-12-09"])
    assert result.exit_code == 1
    assert db.execute("SELECT count(*) FROM reports").fetchone()[0] == 2  # both wards


def test_counts_module_is_the_only_counter():
    """/progress and the report share one counting function (no second copy)."""
    from wardkit.visits import progress as progress_mod
    assert progress_mod.ward_figures is figures.ward_figures
    assert snapshots.ward_figures is figures.ward_figures
