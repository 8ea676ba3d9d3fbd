"""The leaders' group progress against a hand-counted ward: adults by date of birth at
the report date, only live residents of live households, only the ward's own; today's
and cumulative numbers; sorting; the CSV."""
import csv
import io
import re
from datetime import date, datetime, timezone

import pytest

from tests.factories import (WARD_B, make_declaration, make_group, make_household,
                             make_resident, make_user, make_visit)
from wardkit import clock
from wardkit.clock import HANOI
from wardkit.visits import progress as progress_mod
from wardkit.reports import figures
from wardkit.visits import queries

NOW = datetime(2026, 12, 3, 3, 0, tzinfo=timezone.utc)  # Thu 3 Dec 2026, 10:00 in Hanoi
YESTERDAY = datetime(2026, 12, 2, 3, 0, tzinfo=timezone.utc)


def declaration(db, fake_clock, resident, status, *, at=None):
    """Make a declaration of `resident` in `status`, its steps taken at `at` (the fake
    clock's time unless given)."""
    saved = fake_clock.current
    fake_clock.current = at or saved
    try:
        return make_declaration(db, resident, kind="vehicle", status=status)
    finally:
        fake_clock.current = saved


@pytest.fixture
def ward(db, fake_clock):
    """The hand-counted ward (see the numbers in test_progress_numbers)."""
    fake_clock.current = YESTERDAY
    officer = make_user(db, username="can.bo")
    g1 = make_group(db, name="Tổ 1", target_adults=10)
    g2 = make_group(db, name="Tổ 2", target_adults=0)
    g3 = make_group(db, name="=SUM(A1:A9)", target_adults=4)  # formula-looking name
    a1, a2, a3 = (make_household(db, group=g1, house_number=n) for n in ("1", "2", "3"))
    b1 = make_household(db, group=g2, house_number="1")
    r1 = make_resident(db, a1, full_name="Nguyễn Văn Một", dob=date(1950, 1, 1))
    r2 = make_resident(db, a1, full_name="Nguyễn Thị Hai", dob=date(2011, 12, 3),
                       ihanoi_status="installed")   # 15 today: an adult
    r3 = make_resident(db, a1, full_name="Nguyễn Văn Ba", dob=date(2011, 12, 4))  # 15 tomorrow
    r4 = make_resident(db, a1, full_name="Nguyễn Văn Bốn", dob=date(1980, 1, 1),
                       ihanoi_status="activated")
    declaration(db, fake_clock, r4, "recorded", at=NOW)  # a removed resident's
    db.execute("UPDATE residents SET deleted_at = ? WHERE id = ?", [clock.now_iso(), r4["id"]])
    make_resident(db, a2, full_name="Trần Văn Năm", dob=date(1970, 1, 1),
                  ihanoi_status="activated")
    db.execute("UPDATE households SET deleted_at = ? WHERE id = ?", [clock.now_iso(), a2["id"]])
    r6 = make_resident(db, a3, full_name="Lê Thị Sáu", dob=date(1990, 1, 1))
    r7 = make_resident(db, b1, full_name="Phạm Văn Bảy", dob=date(2000, 1, 1),
                       ihanoi_status="activated")
    # Another ward, all activated and visited: never counted here.
    og = make_group(db, name="Tổ 1", ward_code=WARD_B, target_adults=10)
    oh = make_household(db, group=og, ward_code=WARD_B)
    other = make_resident(db, oh, dob=date(1960, 1, 1), ihanoi_status="activated")
    make_visit(db, oh, outcome="done")
    declaration(db, fake_clock, other, "recorded", at=NOW)

    # Yesterday: a3 asked to come back today at 17:00; r2's declaration was recorded.
    make_visit(db, a3, outcome="come_back", by=officer["id"],
               follow_up_at=datetime(2026, 12, 3, 17, 0, tzinfo=HANOI))
    declaration(db, fake_clock, r2, "verified")
    declaration(db, fake_clock, r6, "draft")

    # Today: a1 done, r1 activated (and 14-year-old r3 too: not an adult); b1 asks to
    # come back on Saturday.
    fake_clock.current = NOW
    make_visit(db, a1, outcome="done", by=officer["id"],
               onboarding={r1["id"]: {"ihanoi_status": "activated"},
                           r3["id"]: {"ihanoi_status": "activated"}})
    make_visit(db, b1, outcome="come_back", by=officer["id"],
               follow_up_at=datetime(2026, 12, 5, 8, 0, tzinfo=HANOI))
    declaration(db, fake_clock, r1, "recorded")
    return {"g1": g1, "g2": g2, "g3": g3, "r7": r7}


def test_progress_numbers(app, db, ward):
    with app.test_request_context():
        report = figures.ward_figures(db, "00103")
    assert report["report_date"] == date(2026, 12, 3)
    rows = {row["name"]: row for row in report["rows"]}
    assert list(rows) == ["=SUM(A1:A9)", "Tổ 1", "Tổ 2"]  # natural name order
    keys = ("adults", "activated", "activated_today", "households", "visited",
            "visited_today", "follow_ups_due", "declarations", "declarations_today")
    assert {k: rows["Tổ 1"][k] for k in keys} == {
        "adults": 3, "activated": 1, "activated_today": 1, "households": 2, "visited": 2,
        "visited_today": 1, "follow_ups_due": 1, "declarations": 2, "declarations_today": 1}
    assert rows["Tổ 1"]["percent"] == pytest.approx(10.0)
    assert {k: rows["Tổ 2"][k] for k in keys} == {
        "adults": 1, "activated": 1, "activated_today": 0, "households": 1, "visited": 1,
        "visited_today": 1, "follow_ups_due": 0, "declarations": 0, "declarations_today": 0}
    assert rows["Tổ 2"]["percent"] is None  # no target set
    assert all(rows["=SUM(A1:A9)"][k] == 0 for k in keys)
    total = report["total"]
    assert {k: total[k] for k in keys} == {
        "adults": 4, "activated": 2, "activated_today": 1, "households": 3, "visited": 3,
        "visited_today": 2, "follow_ups_due": 1, "declarations": 2, "declarations_today": 1}
    assert total["target_adults"] == 14
    assert total["percent"] == pytest.approx(200 / 14)


def cells(html: str, group_id: str) -> dict:
    row = re.search(rf'<tr id="progress-{group_id}".*?</tr>', html, re.S).group(0)
    return {col: value for col, value in re.findall(
        r'data-col="(\w+)">\+?([\d./]+)', row)}


def test_progress_page_shows_the_numbers(client, db, auth, ward):
    make_user(db, username="lanh.dao", role="leader")
    auth.login("lanh.dao")
    html = client.get("/progress").text
    g1 = cells(html, ward["g1"]["id"])
    assert g1["adults"] == "3" and g1["activated"] == "1" and g1["activated_today"] == "1"
    assert g1["visited"] == "2" and g1["visited_today"] == "1"
    assert g1["follow_ups"] == "1" and g1["declarations"] == "2"
    assert g1["declarations_today"] == "1"
    # The bar is an inline SVG rect sized by the percentage, not a style attribute.
    row = re.search(rf'<tr id="progress-{ward["g1"]["id"]}".*?</tr>', html, re.S).group(0)
    assert '<rect class="bar-fill" x="0" y="0" width="10.0"' in row
    assert "style=" not in html
    # Tổ 3 has nobody assigned, nor do the others: the warning names them.
    assert 'id="unassigned-warning"' in html
    assert "Phạm Văn Bảy" not in html  # aggregates only


def order(html: str) -> list[str]:
    return re.findall(r'<tr id="progress-([^"]+)" data-group', html)


def test_progress_sorts_on_allowed_columns(client, db, auth, ward):
    make_user(db, username="lanh.dao", role="leader")
    auth.login("lanh.dao")
    g1, g2, g3 = (ward[k]["id"] for k in ("g1", "g2", "g3"))
    assert order(client.get("/progress").text) == [g3, g1, g2]
    assert order(client.get("/progress?sort=adults&dir=desc").text) == [g1, g2, g3]
    assert order(client.get("/progress?sort=adults").text) == [g3, g2, g1]
    assert order(client.get("/progress?sort=name&dir=desc").text) == [g2, g1, g3]
    assert order(client.get("/progress?sort=percent&dir=desc").text) == [g1, g3, g2]
    assert order(client.get("/progress?sort=visited_today;drop").text) == [g3, g1, g2]


def test_every_sort_answers_in_both_directions_page_and_csv(client, db, auth, ward):
    """Each column header a leader can tap sorts (a 500 once came from `follow_ups`)."""
    make_user(db, username="lanh.dao", role="leader")
    auth.login("lanh.dao")
    for sort in progress_mod.SORTS:
        for direction in ("asc", "desc"):
            page = client.get(f"/progress?sort={sort}&dir={direction}")
            assert page.status_code == 200, (sort, direction)
            assert client.get(f"/progress.csv?sort={sort}&dir={direction}").status_code == 200
    g1 = ward["g1"]["id"]
    # Tổ 1 is the only group with a follow-up due (a3, come back at 17:00).
    assert order(client.get("/progress?sort=follow_ups&dir=desc").text)[0] == g1
    assert order(client.get("/progress?sort=follow_ups").text)[-1] == g1
    rows = list(csv.reader(io.StringIO(
        client.get("/progress.csv?sort=follow_ups&dir=desc").data.decode("utf-8-sig"))))
    assert rows[1][0] == "Tổ 1"


def test_progress_csv_is_neutralised(client, db, auth, ward):
    make_user(db, username="lanh.dao", role="leader")
    auth.login("lanh.dao")
    r = client.get("/progress.csv")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/csv")
    assert r.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert len(rows) == 1 + 3 + 1  # header, groups, ward total
    assert rows[2][:4] == ["Tổ 1", "3", "10", "1"]
    assert rows[1][0] == "'=SUM(A1:A9)"
    assert rows[4][1:4] == ["4", "14", "2"]
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'progress_exported'"
                      ).fetchone()[0] == 1


@pytest.mark.parametrize("role, status", [("leader", 200), ("admin", 200), ("viewer", 200),
                                          ("officer", 403), ("kiosk", 404)])
def test_progress_roles(client, db, auth, role, status):
    make_user(db, username="u", role=role)
    auth.login("u")
    assert client.get("/progress").status_code == status
    assert client.get("/progress.csv").status_code == status


def test_cached_progress_follows_every_write(app, db, ward, fake_clock):
    """The second read comes from progress_cache; any write to a counted table, even one
    carrying an old timestamp (as a sync would), makes the next read count again."""
    with app.test_request_context():
        first = figures.ward_figures(db, "00103")
        assert db.execute("SELECT count(*) FROM progress_cache").fetchone()[0] == 1
        assert figures.ward_figures(db, "00103")["total"]["adults"] == 4
        # A resident arrives, stamped last year: still counted at once.
        b1 = db.execute("SELECT household_id FROM residents WHERE id = ?",
                        [ward["r7"]["id"]]).fetchone()[0]
        fake_clock.current = datetime(2025, 1, 1, tzinfo=timezone.utc)
        make_resident(db, {"id": b1, "ward_code": "00103"}, dob=date(1990, 5, 5),
                      ihanoi_status="activated")
        fake_clock.current = NOW
        again = figures.ward_figures(db, "00103")
        assert again["total"]["adults"] == first["total"]["adults"] + 1
        assert again["total"]["activated"] == first["total"]["activated"] + 1
        # A raw status change with no timestamp at all.
        db.execute("UPDATE residents SET ihanoi_status = 'installed' WHERE id = ?",
                   [ward["r7"]["id"]])
        assert figures.ward_figures(db, "00103")["total"]["activated"] == \
            again["total"]["activated"] - 1
        # Writes that cannot change a count leave the cache alone (schema 0009).
        generation = db.execute("SELECT n FROM data_generations").fetchone()[0]
        db.execute("UPDATE residents SET full_name = 'Phạm Văn Bẩy', phone = NULL "
                   "WHERE id = ?", [ward["r7"]["id"]])
        db.execute("UPDATE declarations SET plate = '29A-123.45' WHERE status = 'draft'")
        assert db.execute("SELECT n FROM data_generations").fetchone()[0] == generation
        # The next day the same data is counted for the new day (the 14-year-old of
        # yesterday is now 15).
        fake_clock.current = datetime(2026, 12, 4, 3, 0, tzinfo=timezone.utc)
        tomorrow = figures.ward_figures(db, "00103")
        assert tomorrow["report_date"] == date(2026, 12, 4)
        assert tomorrow["total"]["adults"] == again["total"]["adults"] + 1


def test_visits_leave_the_cache_to_the_next_read(app, db, ward, fake_clock):
    """Recording a visit does not touch progress_cache (no recount at the door); the next
    read sees the visit, counts again once, and always equals a full recount."""
    officer = db.execute("SELECT id FROM users WHERE username = 'can.bo'").fetchone()[0]
    households = [r[0] for r in db.execute(
        "SELECT id FROM households WHERE ward_code = '00103' AND deleted_at IS NULL")]
    people = {h: [r[0] for r in db.execute(
        "SELECT id FROM residents WHERE household_id = ? AND deleted_at IS NULL", [h])]
        for h in households}
    steps = [("done", {"ihanoi_status": "activated", "is_zalo_followed": 1}),
             ("nobody_home", None), ("come_back", {"ihanoi_status": "installed"}),
             ("declined", {"ihanoi_status": "not_installed"}), ("done", None)]
    with app.test_request_context():
        figures.ward_figures(db, "00103")  # the cache is current
        for n, (outcome, change) in enumerate(steps * 2):
            fake_clock.advance(minutes=1)
            household = households[n % len(households)]
            onboarding = ({rid: change for rid in people[household]} if change else None)
            cache_before = db.execute("SELECT * FROM progress_cache").fetchone()
            queries.record_visit(
                db, ward_code="00103", household_id=household, by=officer,
                outcome=outcome, onboarding=onboarding,
                follow_up_at=(datetime(2026, 12, 3, 19, 30, tzinfo=HANOI)
                              if outcome == "come_back" else None))
            assert db.execute("SELECT * FROM progress_cache").fetchone() == cache_before
            cached = [{k: v for k, v in row.items() if k != "percent"}
                      for row in figures.ward_figures(db, "00103")["rows"]]
            fresh = figures.count_groups(db, "00103", date(2026, 12, 3))
            assert cached == fresh, (n, outcome)
            key = db.execute("SELECT cache_key FROM progress_cache").fetchone()[0]
            assert key != cache_before[1]  # counted again after the visit...
            figures.ward_figures(db, "00103")
            assert db.execute("SELECT cache_key FROM progress_cache").fetchone()[0] == \
                key  # ...once: the next read is served from the cache
