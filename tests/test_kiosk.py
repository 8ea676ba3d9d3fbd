"""The community-centre kiosk (issue 13): an enrolled device, not a login; the resident's
turn and its idle reset; one question per screen with the officer form's checks; a ticket
number and nothing else; the rate limit; the purge."""
import json
import re
from datetime import timedelta

import pytest

from tests.conftest import csrf_from
from tests.factories import WARD_A, WARD_B, make_kiosk, make_ticket, make_user

COOKIE = "wardkit-kiosk"
VEHICLE_ANSWERS = [  # (step, form data), the way a resident goes through the screens
    ("agree", {"value": "yes"}),
    ("type", {"value": "motorcycle"}),
    ("plate", {"value": "29x1 234.56"}),
    ("plate-check", {"value": "yes"}),
    ("colour", {"value": "white"}),
    ("situation", {"value": "in_use"}),
    ("owner", {"value": "no"}),
    ("owner-name", {"value": "Nguyễn Văn Hùng"}),
    ("papers", {"value": "yes"}),
    ("chassis", {"value": "RLHJC1234KY000001"}),
    ("engine", {"value": "JC12E1234567"}),
    ("brand", {"value": "Honda"}),
    ("model", {"value": "Wave Alpha"}),
    ("vehicle-colour", {"value": "Đỏ"}),
    ("certificate", {"value": "012345"}),
    ("registered", {"value": "15/04/2019"}),
    ("name", {"value": "Nguyễn Thị Lan"}),
    ("phone", {"value": "0912 345 678"}),
]


@pytest.fixture
def kiosk(db, client):
    """An enrolled kiosk of ward A; `client` is that device."""
    device, credential = make_kiosk(db, name="Nhà văn hoá TDP 3")
    client.set_cookie(COOKIE, credential)
    return device


def post(client, path, data=None, **kwargs):
    """POST to a kiosk screen with the form token of the start screen."""
    token = csrf_from(client.get("/kiosk").text)
    return client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)


def begin(client, flow):
    r = post(client, "/kiosk/start", {"flow": flow})
    assert r.status_code == 303
    return r.headers["Location"]


def walk(client, flow, answers):
    """Answer every screen of `flow` as given, checking each goes on; send; return the
    response of the ticket screen."""
    location = begin(client, flow)
    for step, data in answers:
        assert location == f"/kiosk/{flow}/{step}", (location, step)
        assert client.get(location).status_code == 200
        r = post(client, location, data)
        assert r.status_code == 303, (step, r.status_code, r.text[-600:])
        location = r.headers["Location"]
    assert location == f"/kiosk/{flow}/review"
    review = client.get(location)
    assert review.status_code == 200
    r = post(client, location)
    assert r.status_code == 303 and r.headers["Location"] == "/kiosk/ticket"
    return client.get("/kiosk/ticket"), review


def number_on(page) -> int:
    return int(re.search(r'id="ticket-number">(\d+)<', page.text).group(1))


# --- the device ----------------------------------------------------------------------

def test_cli_enrol_prints_a_one_time_link_that_enrols_the_device(app, runner, db, client):
    r = runner.invoke(args=["kiosk", "enrol", "Nhà văn hoá TDP 3", "--ward", "103"])
    assert r.exit_code == 0, r.output
    link = re.search(r"http\S+/kiosk/enrol/(\S+)", r.output)
    assert link, r.output
    path = f"/kiosk/enrol/{link.group(1)}"
    page = client.get(path)  # a GET asks to confirm, and writes nothing
    assert page.status_code == 200 and "Nhà văn hoá TDP 3" in page.text
    assert db.execute("SELECT credential_hash FROM kiosk_devices").fetchone()[0] is None
    r = client.post(path, data={"csrf_token": csrf_from(page.text)})
    assert r.status_code == 303 and r.headers["Location"] == "/kiosk"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie
    assert "Max-Age=2592000" in cookie  # 30 days
    assert client.get("/kiosk").status_code == 200
    # The link works once: another device opening it gets nothing.
    other = app.test_client()
    assert other.get(path).status_code == 404
    actions = [a for (a,) in db.execute("SELECT action FROM audit_log ORDER BY rowid")]
    assert actions[-2:] == ["kiosk_link_made", "kiosk_enrolled"]


def test_the_enrolment_link_expires_after_15_minutes(runner, client, db, fake_clock):
    r = runner.invoke(args=["kiosk", "enrol", "K1", "--ward", "103"])
    path = re.search(r"(/kiosk/enrol/\S+)", r.output).group(1)
    fake_clock.advance(minutes=15, seconds=1)
    assert client.get(path).status_code == 404


def test_enrol_refuses_a_name_of_another_ward_and_a_bad_ward(runner, db):
    make_kiosk(db, ward_code=WARD_B, name="Ki-ốt chung")
    r = runner.invoke(args=["kiosk", "enrol", "Ki-ốt chung", "--ward", "103"])
    assert r.exit_code == 1 and "another ward" in r.output
    r = runner.invoke(args=["kiosk", "enrol", "K", "--ward", "99999"])
    assert r.exit_code == 1 and "No ward" in r.output


def test_revoked_kiosk_says_it_is_not_active(runner, client, db, kiosk):
    begin(client, "vehicle")
    r = runner.invoke(args=["kiosk", "revoke", kiosk["name"]])
    assert r.exit_code == 0, r.output
    page = client.get("/kiosk")
    assert page.status_code == 403 and 'id="kiosk-inactive"' in page.text
    assert client.get("/kiosk/vehicle/agree").status_code == 403
    assert db.execute("SELECT count(*) FROM kiosk_turns").fetchone()[0] == 0
    assert "kiosk_revoked" in {a for (a,) in db.execute("SELECT action FROM audit_log")}


def test_expired_credential_and_no_credential_say_not_active(app, client, db, fake_clock):
    _device, credential = make_kiosk(db, days=30)
    client.set_cookie(COOKIE, credential)
    assert client.get("/kiosk").status_code == 200
    fake_clock.advance(days=30, seconds=1)
    assert 'id="kiosk-inactive"' in client.get("/kiosk").text
    assert app.test_client().get("/kiosk").status_code == 403  # no credential at all


def test_admin_enrols_and_revokes_from_the_kiosks_page(client, db, auth):
    import base64

    import zxingcpp
    from PIL import Image
    import io
    make_user(db, username="admin", role="admin")
    auth.login("admin")
    assert auth.post("/admin/kiosks", {"name": ""}).status_code == 422
    page = auth.post("/admin/kiosks", {"name": "Máy 1"})
    assert page.status_code == 200
    link = re.search(r'<code class="enrol-link">([^<]+)</code>', page.text).group(1)
    png = re.search(r'src="data:image/png;base64,([^"]+)"', page.text).group(1)
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(base64.b64decode(png))))
    assert [d.text for d in decoded] == [link]
    device = db.execute("SELECT id FROM kiosk_devices WHERE name = 'Máy 1'").fetchone()[0]
    assert auth.post(f"/admin/kiosks/{device}/revoke").status_code == 303
    assert db.execute("SELECT revoked_at FROM kiosk_devices").fetchone()[0] is not None


def test_other_wards_kiosk_cannot_be_revoked(client, db, auth):
    other, _ = make_kiosk(db, ward_code=WARD_B)
    make_user(db, username="admin", role="admin")
    auth.login("admin")
    assert auth.post(f"/admin/kiosks/{other['id']}/revoke").status_code == 404
    assert "Ki-ốt" not in client.get("/admin/kiosks").text.split("<tbody>")[1]


# --- what the kiosk may reach ------------------------------------------------------------

def _fill(rule: str, ids: dict) -> str:
    path = rule
    for arg in re.findall(r"<(?:\w+:)?(\w+)>", rule):
        path = re.sub(rf"<(?:\w+:)?{arg}>", ids.get(arg, "x"), path)
    return path


def test_a_kiosk_reaches_its_own_screens_and_nothing_else(app, client, db):
    """Every route of the app, GET and POST, with real ids of its ward, the ticket it just
    took among them: 403/404, except the kiosk's own screens (and the hall display)."""
    from tests.crawl import seed_ward
    officer = make_user(db, role="officer", username="can.bo")
    ids = seed_ward(db, WARD_A, officer["id"])
    device, credential = make_kiosk(db, name="K-matrix")
    client.set_cookie(COOKIE, credential)
    ticket_page, _ = walk(client, "ticket", [("reason", {"value": "other"}),
                                             ("name", {"skip": "1"}), ("phone", {"skip": "1"})])
    just_taken = db.execute("SELECT id FROM queue_tickets WHERE device_id = ?",
                            [device["id"]]).fetchone()[0]
    ids.update(ticket_id=just_taken, token="0" * 32)
    own = {rule.endpoint for rule in app.url_map.iter_rules()
           if "kiosk" in getattr(app.view_functions[rule.endpoint], "wardkit_roles", ())}
    assert {"kiosk.start", "kiosk.step", "queue.display"} <= own
    assert "queue.ticket" not in own and "queue.index" not in own
    token = csrf_from(client.get("/kiosk").text)
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in own or rule.endpoint in ("static", "kiosk_devices.enrol"):
            continue
        path = _fill(rule.rule, ids)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = client.open(path, method=method, data={"csrf_token": token})
            assert r.status_code in (403, 404), (method, path, r.status_code)
            checked += 1
    assert checked > 80
    # The ticket it took is not readable, and nothing was changed by trying.
    assert client.get(f"/queue/{just_taken}").status_code == 404
    assert db.execute("SELECT status FROM queue_tickets WHERE id = ?",
                      [just_taken]).fetchone()[0] == "waiting"


# --- the resident's turn -------------------------------------------------------------------

def test_a_resident_declares_a_vehicle_and_gets_only_a_number(client, db, kiosk):
    ticket, review = walk(client, "vehicle", VEHICLE_ANSWERS)
    assert "29-X1 234.56" in review.text  # the plate read back in large type
    assert ticket.status_code == 200 and number_on(ticket) == 1
    assert "29" not in ticket.text.split('id="ticket-number"')[0][-200:]
    for typed in ("Nguyễn Thị Lan", "0912", "RLHJC", "Wave"):
        assert typed not in ticket.text
    row = db.execute("SELECT t.number, t.reason, t.name, t.phone, r.kind, r.fields "
                     "FROM queue_tickets t JOIN kiosk_requests r ON r.ticket_id = t.id"
                     ).fetchone()
    assert row[:5] == (1, "declaration", "Nguyễn Thị Lan", "0912345678", "vehicle")
    fields = json.loads(row[5])
    assert fields == {
        "vehicle_type": "motorcycle", "plate": "29X1 234.56", "plate_compact": "29X123456",
        "plate_colour": "white", "situation": "in_use", "owner_is_resident": False,
        "owner_name": "Nguyễn Văn Hùng", "chassis_no": "RLHJC1234KY000001",
        "engine_no": "JC12E1234567", "brand": "Honda", "model": "Wave Alpha",
        "colour": "Đỏ", "reg_cert_no": "012345", "registered_on": "2019-04-15"}
    # The turn keeps the number only; the answers are gone from the server.
    assert db.execute("SELECT answers, ticket_number FROM kiosk_turns").fetchone() == ("{}", 1)
    audit = db.execute("SELECT detail FROM audit_log WHERE action = 'kiosk_ticket_taken'"
                       ).fetchone()[0]
    assert "Lan" not in audit and "29X1" not in audit


def test_a_licence_at_the_kiosk(client, db, kiosk):
    ticket, review = walk(client, "licence", [
        ("agree", {"value": "yes"}), ("form", {"value": "card"}),
        ("number", {"value": "0012 3456 7890"}), ("class", {"value": "B2"}),
        ("issued", {"value": "20/05/2019"}), ("expires", {"skip": "1"}),
        ("authority", {"value": "Sở GTVT Hà Nội"}), ("name", {"skip": "1"}),
        ("phone", {"skip": "1"})])
    assert number_on(ticket) == 1
    fields = json.loads(db.execute("SELECT fields FROM kiosk_requests").fetchone()[0])
    assert fields == {"licence_no": "001234567890", "licence_class": "B2",
                      "issued_on": "2019-05-20", "expires_on": None,
                      "issuing_authority": "Sở GTVT Hà Nội", "is_paper_licence": False,
                      "needs_exchange": False}


def test_numbers_go_up_through_the_day(client, db, kiosk):
    for expected in (1, 2):
        ticket, _ = walk(client, "ticket", [("reason", {"value": "ihanoi"}),
                                            ("name", {"skip": "1"}), ("phone", {"skip": "1"})])
        assert number_on(ticket) == expected
        post(client, "/kiosk/reset")


@pytest.mark.parametrize("step, before, data, message", [
    ("plate", [("agree", {"value": "yes"}), ("type", {"value": "motorcycle"})],
     {"value": "ZZ-99"}, "Biển số"),
    ("chassis", [("agree", {"value": "yes"}), ("type", {"value": "motorcycle"}),
                 ("plate", {"skip": "1"}), ("situation", {"value": "in_use"}),
                 ("owner", {"value": "yes"}), ("papers", {"value": "no"})],
     {"skip": "1"}, "chassis"),
    ("type", [("agree", {"value": "yes"})], {"value": "spaceship"}, None),
])
def test_bad_input_is_refused_beside_the_field_and_nothing_kept(client, db, kiosk, step,
                                                                 before, data, message):
    location = begin(client, "vehicle")
    for name, answer in before:
        location = post(client, location, answer).headers["Location"]
    assert location.endswith("/" + step)
    kept = db.execute("SELECT answers FROM kiosk_turns").fetchone()[0]
    r = post(client, location, data)
    assert r.status_code == 422
    assert 'id="error"' in r.text
    if message:
        assert message.lower() in r.text.lower() or "khung" in r.text
    assert db.execute("SELECT answers FROM kiosk_turns").fetchone()[0] == kept
    assert db.execute("SELECT count(*) FROM queue_tickets").fetchone()[0] == 0


def test_refusing_to_agree_keeps_nothing(client, db, kiosk):
    location = begin(client, "vehicle")
    r = post(client, location, {"value": "no"})
    assert r.status_code == 303 and r.headers["Location"] == "/kiosk"
    assert db.execute("SELECT count(*) FROM kiosk_turns").fetchone()[0] == 0


def test_the_turn_resets_after_two_minutes_idle_and_the_device_stays(client, db, kiosk,
                                                                       fake_clock):
    location = begin(client, "vehicle")
    for name, answer in VEHICLE_ANSWERS[:3]:
        location = post(client, location, answer).headers["Location"]
    assert "29-X1 234.56" in client.get("/kiosk/vehicle/plate-check").text
    fake_clock.advance(seconds=119)
    assert client.get("/kiosk/vehicle/plate-check").status_code == 200
    fake_clock.advance(seconds=2)  # 121 s since the last answer
    r = client.get("/kiosk/vehicle/plate-check")
    assert r.status_code == 303 and r.headers["Location"] == "/kiosk"
    assert r.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert r.headers["Cache-Control"] == "no-store"
    r = post(client, "/kiosk/vehicle/colour", {"value": "white"})  # too late to answer
    assert r.status_code == 303 and r.headers["Location"] == "/kiosk"
    assert db.execute("SELECT count(*) FROM kiosk_turns").fetchone()[0] == 0
    start = client.get("/kiosk")  # still enrolled: the next resident starts afresh
    assert start.status_code == 200 and "29" not in start.text.split("<main")[1]


def test_the_reset_clears_site_data_and_forgets_the_turn(client, db, kiosk):
    begin(client, "ticket")
    r = post(client, "/kiosk/reset")
    assert r.status_code == 303 and r.headers["Location"] == "/kiosk"
    assert r.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert r.headers["Cache-Control"] == "no-store"
    assert db.execute("SELECT count(*) FROM kiosk_turns").fetchone()[0] == 0
    for path in ("/kiosk", "/kiosk/ticket"):
        assert client.get(path).headers["Cache-Control"] == "no-store"


def test_rate_limit_per_kiosk_per_minute(app, client, db, kiosk, fake_clock):
    app.config["KIOSK_MAX_REQUESTS_PER_MINUTE"] = 2
    answers = [("reason", {"value": "other"}), ("name", {"skip": "1"}),
               ("phone", {"skip": "1"})]
    walk(client, "ticket", answers)
    walk(client, "ticket", answers)
    location = begin(client, "ticket")
    for step, data in answers:
        location = post(client, location, data).headers["Location"]
    r = post(client, location)
    assert r.status_code == 429 and "cán bộ" in r.text.lower()
    assert db.execute("SELECT count(*) FROM queue_tickets").fetchone()[0] == 2
    # Another kiosk is not held back by this one, and a minute later this one goes on.
    fake_clock.advance(seconds=61)
    assert post(client, location).status_code == 303


# --- the queue -----------------------------------------------------------------------------

@pytest.fixture
def officer_client(app, db):
    from tests.conftest import Auth
    make_user(db, role="officer", username="can.bo.an", display_name="Cán bộ An")
    other = app.test_client()
    Auth(other).login("can.bo.an")
    return other, Auth(other)


def test_a_kiosk_declaration_becomes_the_matched_residents_draft(client, db, kiosk,
                                                                 officer_client):
    from tests.factories import make_household, make_resident
    from wardkit.declarations import queries as declaration_queries
    household = make_household(db)
    lan = make_resident(db, household, full_name="Nguyễn Thị Lan", phone="0912345678")
    walk(client, "vehicle", VEHICLE_ANSWERS)
    officer, auth = officer_client
    assert "Số 1" in officer.get("/queue").text or 'id="ticket-1"' in officer.get("/queue").text
    assert auth.post("/queue/call-next").status_code == 303
    display = client.get("/queue/display")  # the kiosk device on the hall's TV
    assert re.search(r'class="display-number latest">1<', display.text)
    assert "Lan" not in display.text
    ticket_id = db.execute("SELECT id FROM queue_tickets").fetchone()[0]
    assert auth.post(f"/queue/{ticket_id}/serve").status_code == 303
    page = officer.get(f"/queue/{ticket_id}")
    assert 'value="Nguyễn Thị Lan"' in page.text  # the search, prefilled
    assert f'value="{lan["id"]}"' in page.text  # ...finds her
    assert "29X1 234.56" in page.text
    r = auth.post(f"/queue/{ticket_id}/resident", {"resident_id": lan["id"]})
    assert r.status_code == 303
    draft_id = r.headers["Location"].rsplit("/", 1)[1]
    draft = declaration_queries.get_declaration(db, WARD_A, draft_id)
    assert draft["resident_id"] == lan["id"] and draft["channel"] == "kiosk"
    assert draft["status"] == "draft"
    expected = {"vehicle_type": "motorcycle", "plate": "29X1 234.56",
                "plate_compact": "29X123456", "plate_colour": "white", "situation": "in_use",
                "owner_is_resident": 0, "owner_name": "Nguyễn Văn Hùng",
                "chassis_no": "RLHJC1234KY000001", "engine_no": "JC12E1234567",
                "brand": "Honda", "model": "Wave Alpha", "colour": "Đỏ",
                "reg_cert_no": "012345", "registered_on": "2019-04-15"}
    assert {k: draft[k] for k in expected} == expected
    # What the resident typed left the request; a second click makes no second draft.
    assert db.execute("SELECT fields, declaration_id FROM kiosk_requests").fetchone() == (
        None, draft_id)
    r = auth.post(f"/queue/{ticket_id}/resident", {"resident_id": lan["id"]})
    assert r.headers["Location"].endswith(draft_id)
    assert db.execute("SELECT count(*) FROM declarations").fetchone()[0] == 1
    # The officer records it as usual from the draft's form (tests/test_declarations_views.py).
    assert officer.get(f"/declarations/{draft_id}").status_code == 200
    assert auth.post(f"/queue/{ticket_id}/close", {"outcome": "done"}).status_code == 303
    assert db.execute("SELECT status, name, phone FROM queue_tickets").fetchone() == (
        "done", None, None)


def test_no_show_and_nobody_waiting(db, officer_client):
    kiosk, _ = make_kiosk(db)
    ticket = make_ticket(db, kiosk, reason="ihanoi", name="Bà Tư")
    officer, auth = officer_client
    assert auth.post("/queue/call-next").status_code == 303
    assert auth.post(f"/queue/{ticket['id']}/close", {"outcome": "no_show"}).status_code == 303
    assert db.execute("SELECT status, name FROM queue_tickets").fetchone() == ("no_show", None)
    r = auth.post("/queue/call-next", follow_redirects=True)
    assert r.status_code == 200
    assert auth.post(f"/queue/{ticket['id']}/close", {"outcome": "bogus"}).status_code == 400


def test_another_wards_ticket_is_404(db, officer_client):
    kiosk, _ = make_kiosk(db, ward_code=WARD_B)
    ticket = make_ticket(db, kiosk, request={"plate": "29X1 234.56"})
    officer, auth = officer_client
    assert officer.get(f"/queue/{ticket['id']}").status_code == 404
    for action, data in (("serve", {}), ("resident", {"resident_id": "x"}),
                         ("close", {"outcome": "done"}), ("search", {"q": "a"})):
        assert auth.post(f"/queue/{ticket['id']}/{action}", data).status_code == 404
    assert "29X1" not in officer.get("/queue").text
    assert auth.post("/queue/call-next").status_code == 303
    assert db.execute("SELECT status FROM queue_tickets").fetchone()[0] == "waiting"


def test_serving_with_another_wards_resident_is_404(db, officer_client):
    from tests.factories import make_household, make_resident
    kiosk, _ = make_kiosk(db)
    ticket = make_ticket(db, kiosk, request={"plate": "29X1 234.56"})
    stranger = make_resident(db, make_household(db, ward_code=WARD_B))
    officer, auth = officer_client
    r = auth.post(f"/queue/{ticket['id']}/resident", {"resident_id": stranger["id"]})
    assert r.status_code == 404
    assert db.execute("SELECT count(*) FROM declarations").fetchone()[0] == 0


def test_purge_after_seven_days_audited_with_counts(app, runner, db, fake_clock):
    kiosk, _ = make_kiosk(db)
    old = fake_clock()
    make_ticket(db, kiosk, request={"plate": "29X1 234.56"})          # never served
    served = make_ticket(db, kiosk, reason="ihanoi")
    db.execute("UPDATE queue_tickets SET status = 'done' WHERE id = ?", [served["id"]])
    fake_clock.advance(days=6)
    recent = make_ticket(db, kiosk, request={"plate": "30A 123.45"})
    assert "Nothing to purge" in runner.invoke(args=["kiosk", "purge"]).output
    fake_clock.advance(days=1, seconds=1)
    r = runner.invoke(args=["kiosk", "purge"])
    assert r.exit_code == 0 and "1 ticket(s), 1 request(s)" in r.output
    left = {row[0] for row in db.execute("SELECT id FROM queue_tickets")}
    assert left == {served["id"], recent["id"]}
    assert db.execute("SELECT count(*) FROM kiosk_requests").fetchone()[0] == 1
    detail = json.loads(db.execute("SELECT detail FROM audit_log WHERE action = "
                                   "'kiosk_purged'").fetchone()[0])
    assert detail == {"tickets": 1, "requests": 1, "days": 7}
    assert old < fake_clock()


def test_seed_demo_prints_the_demo_kiosks_link(runner, db):
    r = runner.invoke(args=["seed-demo", "--households", "5"])
    assert r.exit_code == 0, r.output
    assert re.search(r"/kiosk/enrol/\S{20,}", r.output)


def test_the_servers_clock_purges_the_queue_and_idle_turns(app, db, fake_clock):
    from wardkit.kiosk import queries as kiosk_queries
    from wardkit.reports import schedule
    kiosk, _ = make_kiosk(db)
    make_ticket(db, kiosk)
    kiosk_queries.put_turn(db, kiosk["id"], flow="ticket", answers={"name": "Bà Tư"})
    fake_clock.advance(days=7, minutes=1)
    schedule.tick(app)
    assert db.execute("SELECT count(*) FROM queue_tickets").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM kiosk_turns").fetchone()[0] == 0


def test_sending_with_a_question_unanswered_goes_back_to_it(client, db, kiosk):
    location = begin(client, "vehicle")
    post(client, location, {"value": "yes"})  # agreed, then jumps to the last screen
    r = post(client, "/kiosk/vehicle/review")
    assert r.status_code == 303 and r.headers["Location"] == "/kiosk/vehicle/type"
    assert db.execute("SELECT count(*) FROM queue_tickets").fetchone()[0] == 0


def test_licence_dates_are_checked_with_the_class(client, db, kiosk):
    location = begin(client, "licence")
    for answer in ({"value": "yes"}, {"value": "card"}, {"value": "001234567890"},
                   {"value": "B2"}, {"value": "20/05/2019"}):
        location = post(client, location, answer).headers["Location"]
    assert location == "/kiosk/licence/expires"
    r = post(client, location, {"value": "20/05/2018"})  # before it was issued
    assert r.status_code == 422 and "trước ngày cấp" in r.text
    r = post(client, location, {"value": "20/05/2029"})  # a future expiry is fine
    assert r.status_code == 303
    assert json.loads(db.execute("SELECT answers FROM kiosk_turns").fetchone()[0])[
        "expires_on"] == "2029-05-20"
