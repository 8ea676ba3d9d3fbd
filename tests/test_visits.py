"""Home visits: the Today order, one-transaction visits, follow-ups, the nobody-home flag,
assignment scoping, validation, and the household timeline."""
import re
from datetime import date, datetime, timezone

import pytest

from tests.factories import (WARD_A, WARD_B, make_declaration, make_group, make_household,
                             make_resident, make_user, make_visit)
from wardkit import clock
from wardkit.visits import queries

# Thursday 3 December 2026, 10:00 in Hanoi.
NOW = datetime(2026, 12, 3, 3, 0, tzinfo=timezone.utc)
HX = {"HX-Request": "true", "HX-Target": "visit-form"}


@pytest.fixture
def now(fake_clock):
    fake_clock.current = NOW
    return fake_clock


@pytest.fixture
def leader(db):
    return make_user(db, username="lanh.dao", role="leader")


def assign(db, group, user, by=None):
    return queries.assign(db, group["ward_code"], group["id"], user["id"], by=by)


def today_order(html: str) -> list[str]:
    return re.findall(r'data-household="([^"]+)"', html)


def hanoi(y, m, d, hh, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=clock.HANOI)


# --- Today ---------------------------------------------------------------------------

def test_today_orders_the_round(client, db, officer, now):
    group = make_group(db, name="Tổ 7")
    assign(db, group, officer)
    h = {name: make_household(db, group=group, house_number=num, street="Âu Cơ")
         for name, num in [("rest", "1"), ("vulnerable", "2"), ("never", "3"),
                           ("never_support", "4"), ("overdue", "5"), ("due", "6"),
                           ("done", "7"), ("later", "8")]}
    make_resident(db, h["vulnerable"], needs_home_support=True, support_reason="bedridden")
    make_resident(db, h["never_support"], needs_home_support=True,
                  support_reason="elderly_alone")
    for name in ("never", "rest", "done", "due", "overdue", "later"):
        make_resident(db, h[name])
    earlier = datetime(2026, 11, 30, 3, 0, tzinfo=timezone.utc)
    by = officer["id"]
    make_visit(db, h["rest"], outcome="nobody_home", by=by, at=earlier)
    make_visit(db, h["vulnerable"], outcome="nobody_home", by=by, at=earlier)
    make_visit(db, h["done"], outcome="done", by=by, at=earlier)
    make_visit(db, h["overdue"], outcome="come_back", by=by, at=earlier,
               follow_up_at=hanoi(2026, 12, 2, 19, 30))
    make_visit(db, h["due"], outcome="come_back", by=by, at=earlier,
               follow_up_at=hanoi(2026, 12, 3, 10, 15))
    make_visit(db, h["later"], outcome="come_back", by=by, at=earlier,
               follow_up_at=hanoi(2026, 12, 5, 8))

    html = client.get("/today").text
    order = today_order(html)
    assert order == [h[n]["id"] for n in ("due", "overdue", "never_support", "never",
                                          "vulnerable", "rest", "later", "done")]
    # The officer's home page is the same round.
    assert today_order(client.get("/").text) == order
    counts = dict(re.findall(r'data-count="(\w+)"><strong>(\d+)</strong>', html))
    assert counts == {"to_visit": "4", "come_back": "3", "done": "1", "visited_today": "0"}
    assert re.search(rf'id="today-{h["overdue"]["id"]}" class="[^"]*\boverdue\b', html)
    assert not re.search(rf'id="today-{h["due"]["id"]}" class="[^"]*\boverdue\b', html)
    assert re.search(rf'id="today-{h["vulnerable"]["id"]}" class="[^"]*\bneeds-support\b',
                     html)

    # Later the same day the appointment's time passes: still first, now marked overdue.
    now.advance(minutes=20)  # 10:20 in Hanoi
    html = client.get("/today").text
    assert today_order(html)[0] == h["due"]["id"]
    assert re.search(rf'id="today-{h["due"]["id"]}" class="[^"]*\boverdue\b', html)


def test_today_pages_and_filters_by_group(client, db, officer, now):
    g1, g2 = make_group(db, name="Tổ 1"), make_group(db, name="Tổ 2")
    assign(db, g1, officer)
    assign(db, g2, officer)
    first = [make_household(db, group=g1, house_number=str(n)) for n in range(1, 56)]
    second = make_household(db, group=g2, house_number="99")
    html = client.get("/today").text
    assert len(today_order(html)) == queries.TODAY_PAGE
    assert 'id="today-more"' in html
    more = client.get("/today?page=1", headers={"HX-Request": "true",
                                                "HX-Target": "today-more"})
    assert "<html" not in more.text
    assert len(today_order(more.text)) == 56 - queries.TODAY_PAGE
    only_g2 = client.get(f"/today?group={g2['id']}").text
    assert today_order(only_g2) == [second["id"]]
    assert first[0]["id"] not in only_g2


def test_officer_sees_only_assigned_groups_leader_sees_the_ward(client, db, auth, now):
    officer = make_user(db, username="can.bo")
    make_user(db, username="lanh.dao", role="leader")
    mine, other = make_group(db, name="Tổ 1"), make_group(db, name="Tổ 2")
    elsewhere = make_group(db, name="Tổ 1", ward_code=WARD_B)
    assign(db, mine, officer)
    h_mine = make_household(db, group=mine)
    h_other = make_household(db, group=other)
    h_elsewhere = make_household(db, group=elsewhere, ward_code=WARD_B)

    auth.login("can.bo")
    assert today_order(client.get("/today").text) == [h_mine["id"]]
    assert client.get(f"/today?group={other['id']}").status_code == 404
    assert client.get(f"/today?group={elsewhere['id']}").status_code == 404
    assert client.get(f"/households/{h_elsewhere['id']}/visits").status_code == 404
    assert client.get(f"/households/{h_elsewhere['id']}/timeline").status_code == 404
    assert client.get("/households/nope/visits").status_code == 404
    r = auth.post(f"/households/{h_elsewhere['id']}/visits", {"outcome": "done"})
    assert r.status_code == 404
    assert client.get("/progress").status_code == 403
    assert client.get("/assignments").status_code == 403
    auth.logout()

    auth.login("lanh.dao")
    assert set(today_order(client.get("/today").text)) == {h_mine["id"], h_other["id"]}
    assert client.get(f"/today?group={other['id']}").status_code == 200
    assert client.get(f"/today?group={elsewhere['id']}").status_code == 404
    assert client.get(f"/households/{h_elsewhere['id']}/visits").status_code == 404
    assert db.execute("SELECT count(*) FROM visits").fetchone()[0] == 0


def test_officer_without_groups_is_told_to_ask(client, db, officer, now):
    make_household(db)
    html = client.get("/").text
    assert 'id="today-no-groups"' in html
    assert today_order(html) == []


@pytest.mark.parametrize("role", ["kiosk", "viewer"])
def test_visit_screens_refused_to_kiosk_and_viewer(client, db, auth, role):
    make_user(db, username="x", role=role)
    household = make_household(db)
    auth.login("x")
    refused = 404 if role in ("viewer", "kiosk") else 403  # a viewer (and a kiosk device) learns nothing: 404
    assert client.get("/today").status_code == refused
    assert client.get(f"/households/{household['id']}/visits").status_code == refused


# --- the visit -----------------------------------------------------------------------

def test_visit_with_status_changes_is_saved_and_shown(client, db, auth, officer, now):
    household = make_household(db)
    mai = make_resident(db, household, full_name="Phạm Thị Mai", dob=date(1950, 1, 1))
    hung = make_resident(db, household, full_name="Lê Văn Hùng", dob=date(1980, 1, 1),
                         ihanoi_status="installed")
    child = make_resident(db, household, full_name="Lê Minh Anh", dob=date(2012, 1, 1))
    page = client.get(f"/households/{household['id']}/visits").text
    assert f'name="ihanoi-{mai["id"]}"' in page and f'name="zalo-{hung["id"]}"' in page
    assert f'name="ihanoi-{child["id"]}"' not in page  # 14 years old: not an adult
    # Adding a licence is a form (POST), outside the visit form (forms do not nest).
    assert f'<form method="post" action="/residents/{mai["id"]}/declarations/new?kind=licence"' in page
    assert page.index('id="visit-declarations"') > page.index("</form>")
    assert f'/households/{household["id"]}/sheet.pdf' in page

    r = auth.post(f"/households/{household['id']}/visits", {
        "outcome": "done", "notes": "Bà Mai nhờ con cài giúp",
        f"ihanoi-{mai['id']}": "activated", f"zalo-{mai['id']}": "1",
        f"ihanoi-{hung['id']}": "installed",
    }, headers=HX)
    assert r.status_code == 200
    assert "<html" not in r.text and 'data-saved-outcome="done"' in r.text
    assert r.headers["HX-Trigger"] == "household-changed"

    rows = {row["id"]: row for row in db.query("SELECT * FROM residents")}
    assert rows[mai["id"]]["ihanoi_status"] == "activated"
    assert rows[mai["id"]]["is_zalo_followed"] == 1
    assert rows[hung["id"]]["ihanoi_status"] == "installed"  # unchanged
    assert rows[hung["id"]]["is_zalo_followed"] == 0
    saved = list(db.query("SELECT * FROM visits"))
    assert [(v["outcome"], v["notes"], v["officer_id"]) for v in saved] == [
        ("done", "Bà Mai nhờ con cài giúp", officer["id"])]
    changes = sorted((c["field"], c["old_value"], c["new_value"])
                     for c in db.query("SELECT * FROM onboarding_changes"))
    assert changes == [("ihanoi_status", "unknown", "activated"),
                       ("is_zalo_followed", "0", "1")]

    # The timeline (what a second officer's page refreshes) shows who did what, when.
    timeline = client.get(f"/households/{household['id']}/timeline").text
    assert 'data-outcome="done"' in timeline
    assert officer["display_name"] in timeline and "Phạm Thị Mai" in timeline
    assert "Bà Mai nhờ con cài giúp" in timeline
    assert "10:00" in timeline  # Hanoi time
    assert timeline.count('data-kind="change"') == 2
    # The household page carries the same timeline and a way to record a visit.
    house = client.get(f"/households/{household['id']}").text
    assert 'id="household-timeline"' in house and 'data-outcome="done"' in house
    assert f'href="/households/{household["id"]}/visits"' in house


def test_saving_a_visit_updates_the_header_and_keeps_the_add_buttons(client, db, auth,
                                                                     officer, now):
    household = make_household(db)
    mai = make_resident(db, household, full_name="Phạm Thị Mai", dob=date(1950, 1, 1))
    page = client.get(f"/households/{household['id']}/visits").text
    assert "Chưa đến lần nào" in page
    r = auth.post(f"/households/{household['id']}/visits", {"outcome": "done"}, headers=HX)
    assert r.status_code == 200
    # One partial per swap target: the form's, then the header and the licence/vehicle
    # section out of band.
    assert r.text.count('id="visit-form"') == 1
    state = r.text[r.text.index('id="visit-state"'):]
    state = state[:state.index("</p>")]
    assert 'hx-swap-oob="true"' in state
    assert "Chưa đến lần nào" not in r.text and "Đã đến 1 lần" in state
    section = r.text[r.text.index('<section id="visit-declarations"'):]
    assert section.startswith('<section id="visit-declarations" class="card visit-declarations"'
                              ' hx-swap-oob="true">')
    add = f'<form method="post" action="/residents/{mai["id"]}/declarations/new?kind=vehicle"'
    assert add in section and 'name="csrf_token"' in section
    # The buttons still work: the draft opens.
    started = auth.post(f"/residents/{mai['id']}/declarations/new?kind=vehicle")
    assert started.status_code == 303 and started.headers["Location"].startswith(
        "/declarations/")


def test_visit_without_htmx_redirects_back(client, db, auth, officer, now):
    household = make_household(db)
    r = auth.post(f"/households/{household['id']}/visits", {"outcome": "declined"})
    assert r.status_code == 303
    assert r.headers["Location"].endswith(f"/households/{household['id']}/visits")
    assert db.execute("SELECT outcome FROM visits").fetchone()[0] == "declined"


def test_visit_and_status_changes_are_one_transaction(client, db, auth, officer, now,
                                                      monkeypatch):
    household = make_household(db)
    mai = make_resident(db, household, dob=date(1950, 1, 1))
    real = queries.apply_onboarding

    def fail_after_update(db_, **kwargs):
        real(db_, **kwargs)  # the resident row is updated, the change rows written...
        raise RuntimeError("disk unplugged")  # ...then the transaction breaks

    monkeypatch.setattr(queries, "apply_onboarding", fail_after_update)
    r = auth.post(f"/households/{household['id']}/visits", {
        "outcome": "come_back", "come_back_day": "2026-12-04", "come_back_time": "17:00",
        f"ihanoi-{mai['id']}": "activated"}, headers=HX)
    assert r.status_code == 500
    for table in ("visits", "follow_ups", "onboarding_changes"):
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    assert db.execute("SELECT ihanoi_status FROM residents").fetchone()[0] == "unknown"
    assert db.execute("SELECT count(*) FROM audit_log WHERE action IN "
                      "('visit_recorded', 'resident_onboarding_updated')").fetchone()[0] == 0


@pytest.mark.parametrize("data, field", [
    ({}, "outcome"),
    ({"outcome": "burgled"}, "outcome"),
    ({"outcome": "come_back"}, "come_back_day"),
    ({"outcome": "come_back", "come_back_day": "2026-12-04"}, "come_back_time"),
    ({"outcome": "come_back", "come_back_day": "2026-12-04", "come_back_time": "03:00"},
     "come_back_time"),
    ({"outcome": "come_back", "come_back_day": "2027-01-20", "come_back_time": "17:00"},
     "come_back_day"),
    # Today at 08:00 has passed (it is 10:00).
    ({"outcome": "come_back", "come_back_day": "2026-12-03", "come_back_time": "08:00"},
     "come_back_time"),
    ({"outcome": "done", "notes": "x" * 1001}, "notes"),
])
def test_bad_visit_input_is_422_beside_the_field_and_saves_nothing(client, db, auth,
                                                                     officer, now, data,
                                                                     field):
    household = make_household(db)
    r = auth.post(f"/households/{household['id']}/visits", data, headers=HX)
    assert r.status_code == 422
    assert "<html" not in r.text
    assert f'id="{field}-error"' in r.text or f'id="visit-{field}-error"' in r.text
    assert db.execute("SELECT count(*) FROM visits").fetchone()[0] == 0
    # Without htmx, the whole page with the same error.
    page = auth.post(f"/households/{household['id']}/visits", data)
    assert page.status_code == 422 and "<html" in page.text


def test_bad_ihanoi_value_is_422(client, db, auth, officer, now):
    household = make_household(db)
    mai = make_resident(db, household)
    r = auth.post(f"/households/{household['id']}/visits",
                  {"outcome": "done", f"ihanoi-{mai['id']}": "hacked"}, headers=HX)
    assert r.status_code == 422
    assert db.execute("SELECT count(*) FROM visits").fetchone()[0] == 0
    assert db.execute("SELECT ihanoi_status FROM residents").fetchone()[0] == "unknown"


def test_foreign_resident_ids_in_the_form_are_ignored(client, db, auth, officer, now):
    household = make_household(db)
    stranger = make_resident(db, make_household(db), full_name="Người Khác")
    r = auth.post(f"/households/{household['id']}/visits",
                  {"outcome": "done", f"ihanoi-{stranger['id']}": "activated"}, headers=HX)
    assert r.status_code == 200
    assert db.execute("SELECT ihanoi_status FROM residents").fetchone()[0] == "unknown"


# --- follow-ups ----------------------------------------------------------------------

def test_come_back_creates_a_due_follow_up_and_a_later_done_closes_it(client, db, auth,
                                                                       officer, now):
    group = make_group(db)
    assign(db, group, officer)
    household = make_household(db, group=group)
    page = client.get(f"/households/{household['id']}/visits").text
    for day in ("2026-12-03", "2026-12-04", "2026-12-05", "2026-12-06"):
        assert f'value="{day}"' in page  # today, tomorrow, Saturday, Sunday
    r = auth.post(f"/households/{household['id']}/visits", {
        "outcome": "come_back", "come_back_day": "2026-12-05", "come_back_time": "19:30"},
        headers=HX)
    assert r.status_code == 200
    (follow_up,) = db.query("SELECT * FROM follow_ups")
    assert follow_up["due_at"] == "2026-12-05T12:30:00.000000Z"  # 19:30 in Hanoi
    assert follow_up["closed_at"] is None
    assert db.execute("SELECT follow_up_on FROM visits").fetchone()[0] == follow_up["due_at"]

    # On Saturday it is first on Today, due; on Sunday it is overdue.
    now.current = datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)
    auth.login("an")  # days later: the session has long timed out
    html = client.get("/today").text
    assert re.search(rf'data-household="{household["id"]}" data-rank="0" '
                     r'data-state="come_back"', html)
    now.current = datetime(2026, 12, 6, 1, 0, tzinfo=timezone.utc)
    auth.login("an")
    html = client.get("/today").text
    assert re.search(rf'data-household="{household["id"]}" data-rank="1"', html)
    assert f'data-due="{follow_up["due_at"]}"' in html

    # Nobody home on the day leaves it open; a "done" closes it.
    auth.post(f"/households/{household['id']}/visits", {"outcome": "nobody_home"},
              headers=HX)
    assert db.execute("SELECT closed_at FROM follow_ups").fetchone()[0] is None
    auth.post(f"/households/{household['id']}/visits", {"outcome": "done"}, headers=HX)
    (closed,) = db.query("SELECT * FROM follow_ups")
    done_visit = db.execute("SELECT id FROM visits WHERE outcome = 'done'").fetchone()[0]
    assert closed["closed_at"] is not None and closed["closed_by_visit_id"] == done_visit
    html = client.get("/today").text
    assert re.search(rf'data-household="{household["id"]}" data-rank="5" data-state="done"',
                     html)


def test_three_nobody_home_flag_the_household(client, db, auth, officer, now):
    group = make_group(db)
    assign(db, group, officer)
    household = make_household(db, group=group)
    flag = 'data-flag="evening-round"'
    for n in range(1, 4):
        assert flag not in client.get("/today").text
        now.advance(minutes=20)
        r = auth.post(f"/households/{household['id']}/visits", {"outcome": "nobody_home"},
                      headers=HX)
        assert r.status_code == 200
    assert flag in client.get("/today").text
    assert flag in client.get(f"/households/{household['id']}/visits").text
    # Someone finally answers: the flag goes.
    auth.post(f"/households/{household['id']}/visits", {"outcome": "done"}, headers=HX)
    assert flag not in client.get("/today").text


def test_nobody_home_streak_counts_only_the_latest_run(db, officer, now):
    household = make_household(db)
    for outcome in ("nobody_home", "nobody_home", "come_back", "nobody_home", "nobody_home"):
        now.advance(hours=1)
        make_visit(db, household, outcome=outcome, by=officer["id"], follow_up_at=(
            hanoi(2026, 12, 10, 8) if outcome == "come_back" else None))
    state = queries.household_state(db, household["id"])
    assert state["nobody_home_streak"] == 2 and not state["evening_round"]


# --- assignments ---------------------------------------------------------------------

def test_leader_assigns_and_unassigns_officers(client, db, auth, leader, now):
    officer = make_user(db, username="can.bo", display_name="Cán bộ Hải")
    g7, g8 = make_group(db, name="Tổ 7"), make_group(db, name="Tổ 8")
    foreign_group = make_group(db, ward_code=WARD_B)
    foreign_officer = make_user(db, ward_code=WARD_B)
    auth.login("lanh.dao")
    page = client.get("/assignments").text
    assert 'id="unassigned-warning"' in page and page.count('<li data-group=') == 2

    r = auth.post("/assignments", {"group_id": g7["id"], "officer_id": officer["id"]})
    assert r.status_code == 303
    page = client.get("/assignments").text
    assert f'<li data-group="{g8["id"]}">' in page and f'<li data-group="{g7["id"]}">' not in page
    assert 'data-officer="%s"' % officer["id"] in page
    # Assigning twice keeps one assignment.
    auth.post("/assignments", {"group_id": g7["id"], "officer_id": officer["id"]})
    assert queries.assigned_group_ids(db, WARD_A, officer["id"]) == [g7["id"]]

    for bad in ({"group_id": foreign_group["id"], "officer_id": officer["id"]},
                {"group_id": g8["id"], "officer_id": foreign_officer["id"]},
                {"group_id": "", "officer_id": ""}):
        r = auth.post("/assignments", bad)
        assert r.status_code == 422
        assert 'class="field-error"' in r.text
    assert len(queries.list_assignments(db, WARD_A)) == 1

    (assignment,) = queries.list_assignments(db, WARD_A)
    assert auth.post(f"/assignments/{assignment['id']}/delete").status_code == 303
    assert queries.assigned_group_ids(db, WARD_A, officer["id"]) == []
    assert auth.post(f"/assignments/{assignment['id']}/delete").status_code == 404
    other = assign(db, foreign_group, foreign_officer)
    assert auth.post(f"/assignments/{other['id']}/delete").status_code == 404
    assert queries.assigned_group_ids(db, WARD_B, foreign_officer["id"]) == [
        foreign_group["id"]]


# --- timeline ------------------------------------------------------------------------

def test_timeline_lists_declarations_with_who(client, db, officer, now):
    household = make_household(db)
    mai = make_resident(db, household)
    make_declaration(db, mai, status="recorded", by=officer["id"])
    html = client.get(f"/households/{household['id']}/timeline").text
    assert 'data-kind="declaration"' in html
    assert officer["display_name"] in html and mai["full_name"] in html
