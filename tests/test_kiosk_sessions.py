"""Help sessions at community houses (issue 13): planned by a leader, the tickets made
while one is open belong to it, and its figures — people served, declarations recorded,
iHanoi accounts activated — are counted from what happened, on its page, in /progress and
in the day's report."""
from datetime import date, datetime, timezone

import pytest

from tests.factories import (WARD_A, WARD_B, make_declaration, make_household, make_kiosk,
                             make_resident, make_ticket, make_user)
from wardkit.kiosk import queue, sessions
from wardkit.visits import queries as visit_queries

DAY = date(2026, 12, 3)  # the fake clock: 03:00 UTC = 10:00 in Hanoi


@pytest.fixture
def people(db):
    return {
        "leader": make_user(db, role="leader", username="lanh.dao"),
        "an": make_user(db, role="officer", username="can.bo.an"),
        "binh": make_user(db, role="officer", username="can.bo.binh"),
    }


def plan(db, people, starts="09:30", ends="12:00", officers=("an",)):
    return sessions.plan(db, WARD_A, day=DAY, starts_at=starts, ends_at=ends,
                         place="Nhà văn hoá TDP 3",
                         officer_ids=[people[o]["id"] for o in officers],
                         by=people["leader"]["id"])


def test_a_leader_plans_a_session_and_bad_input_is_refused(client, db, auth, people):
    auth.login("lanh.dao")
    good = {"day": "03/12/2026", "starts_at": "18:00", "ends_at": "21:00",
            "place": "Nhà văn hoá TDP 3", "officer_ids": [people["an"]["id"]]}
    for field, bad, message in (
            ("day", "31/02/2026", "ngày/tháng/năm"), ("day", "02/12/2026", "đã qua"),
            ("starts_at", "25:00", "giờ:phút"), ("ends_at", "17:00", "sau"),
            ("place", "", "nhà văn hoá"), ("officer_ids", [], "cán bộ"),
            ("officer_ids", [make_user(db, ward_code=WARD_B)["id"]], "cán bộ")):
        r = auth.post("/queue/sessions", {**good, field: bad})
        assert r.status_code == 422, (field, bad)
        assert f'id="session-{field.replace("_ids", "s")}-error"' in r.text or \
            f'id="session-{field}-error"' in r.text
        assert message.lower() in r.text.lower(), (field, message)
    assert db.execute("SELECT count(*) FROM help_sessions").fetchone()[0] == 0
    r = auth.post("/queue/sessions", good)
    assert r.status_code == 303
    page = client.get(r.headers["Location"])
    assert "Nhà văn hoá TDP 3" in page.text and "18:00" in page.text


def test_officers_see_sessions_but_do_not_plan_them(client, db, auth, people):
    session = plan(db, people)
    auth.login("can.bo.an")
    assert client.get("/queue/sessions").status_code == 200
    assert client.get(f"/queue/sessions/{session['id']}").status_code == 200
    assert auth.post("/queue/sessions", {"day": "03/12/2026"}).status_code == 403
    assert auth.post(f"/queue/sessions/{session['id']}/cancel").status_code == 403


def test_another_wards_session_is_404(client, db, auth, people):
    boss = make_user(db, role="leader", ward_code=WARD_B)
    other = sessions.plan(db, WARD_B, day=DAY, starts_at="09:00", ends_at="11:00",
                          place="X", officer_ids=[boss["id"]], by=boss["id"])
    auth.login("lanh.dao")
    assert client.get(f"/queue/sessions/{other['id']}").status_code == 404
    assert auth.post(f"/queue/sessions/{other['id']}/cancel").status_code == 404


def test_tickets_belong_to_the_session_open_when_taken(app, db, people, fake_clock):
    session = plan(db, people, starts="09:30", ends="10:30")
    kiosk, _ = make_kiosk(db)
    from wardkit.auth.users import User
    device = User(id=kiosk["id"], username="k", display_name="k", role="kiosk",
                  ward_code=WARD_A, ward_name="", session_token="")
    with app.test_request_context():
        queue.take_ticket(db, device, "ticket", {"reason": "ihanoi"})
        fake_clock.advance(minutes=31)  # 10:31: the session has ended
        queue.take_ticket(db, device, "ticket", {"reason": "other"})
    rows = db.execute("SELECT number, help_session_id FROM queue_tickets ORDER BY number")
    assert rows.fetchall() == [(1, session["id"]), (2, None)]


def test_session_figures_against_a_hand_counted_evening(app, client, db, auth, people,
                                                        fake_clock):
    """09:30–12:00, officer An. Counted: 3 tickets of the session (one done, one being
    served, one no show); An records 1 declaration at 10:00 and marks 1 resident
    activated at 10:00. Not counted: Bình (not on the session) records one and
    activates one; An records one at 12:30, after the session."""
    session = plan(db, people)
    kiosk, _ = make_kiosk(db)
    tickets = [make_ticket(db, kiosk, reason=r) for r in ("ihanoi", "declaration", "other")]
    db.execute("UPDATE queue_tickets SET help_session_id = ?", [session["id"]])
    outcome = {0: "done", 1: None, 2: "no_show"}
    with app.test_request_context():
        for i, t in enumerate(tickets):
            if outcome[i] == "no_show":
                queue.call_next(db, WARD_A, by=people["an"]["id"])
                queue.close(db, WARD_A, t["id"], "no_show", by=people["an"]["id"])
                continue
            queue.serve(db, WARD_A, t["id"], by=people["an"]["id"])
            if outcome[i] == "done":
                queue.close(db, WARD_A, t["id"], "done", by=people["an"]["id"])
    home = make_household(db)
    lan = make_resident(db, home, full_name="Nguyễn Thị Lan")
    hung = make_resident(db, home, full_name="Trần Văn Hùng")
    make_declaration(db, lan, status="recorded", by=people["an"]["id"])
    make_declaration(db, hung, status="recorded", by=people["binh"]["id"])
    for who, resident in (("an", lan), ("binh", hung)):
        visit_queries.record_visit(db, ward_code=WARD_A, household_id=home["id"],
                                   by=people[who]["id"], outcome="done",
                                   onboarding={resident["id"]: {"ihanoi_status": "activated"}})
    fake_clock.current = datetime(2026, 12, 3, 5, 30, tzinfo=timezone.utc)  # 12:30
    make_declaration(db, hung, kind="vehicle", status="recorded", by=people["an"]["id"])
    expected = {"tickets": 3, "served": 2, "no_show": 1, "declarations": 1, "activated": 1}
    assert sessions.figures(db, session) == expected
    auth.login("lanh.dao")
    page = client.get(f"/queue/sessions/{session['id']}").text
    for name, n in (("tickets", 3), ("served", 2), ("no-show", 1), ("declarations", 1),
                    ("activated", 1)):
        assert f'id="fig-{name}">{n}<' in page, name
    # The day's figures count them: /progress now, and the report as stored.
    assert sessions.day_figures(db, WARD_A, DAY) == {
        "sessions": 1, "tickets": 3, "served": 2, "declarations": 1, "activated": 1}
    progress = client.get("/progress").text
    assert 'id="help-figures"' in progress and "1 buổi" in progress
    from wardkit.reports import snapshots
    with app.test_request_context():
        report, _ = snapshots.take_snapshot(db, WARD_A, DAY)
    assert report["figures"]["help"]["served"] == 2
    assert 'id="help-figures"' in client.get("/reports/2026-12-03").text


def test_cancelling_a_session_frees_its_tickets(client, db, auth, people):
    session = plan(db, people)
    kiosk, _ = make_kiosk(db)
    make_ticket(db, kiosk)
    db.execute("UPDATE queue_tickets SET help_session_id = ?", [session["id"]])
    auth.login("lanh.dao")
    assert auth.post(f"/queue/sessions/{session['id']}/cancel").status_code == 303
    assert db.execute("SELECT help_session_id FROM queue_tickets").fetchone()[0] is None
    assert client.get(f"/queue/sessions/{session['id']}").status_code == 404
