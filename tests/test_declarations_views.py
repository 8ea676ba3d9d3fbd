"""Declarations, the tablet form: draft on open, autosave, full checks, read-back, record,
ward scoping and roles (issue 4)."""
from datetime import date

import pytest

from wardkit.declarations import queries as q
from tests.conftest import Auth
from tests.factories import (WARD_A, WARD_B, make_declaration, make_household, make_resident,
                             make_user)

MOTORBIKE = {"vehicle_type": "motorcycle", "plate": "29-HA 002.33", "plate_colour": "white",
             "chassis_no": "RLHJC1234KY000001", "engine_no": "JC12E1234567",
             "brand": "Honda", "model": "Wave", "situation": "in_use",
             "lawful_basis": "official_duty", "channel": "home_visit"}
LICENCE = {"licence_no": "001234567890", "licence_class": "B2", "issued_on": "20/05/2019",
           "issuing_authority": "Sở GTVT Hà Nội", "lawful_basis": "official_duty",
           "channel": "home_visit"}


@pytest.fixture
def home(db):
    household = make_household(db)
    return {"household": household,
            "mai": make_resident(db, household, full_name="Phạm Thị Mai",
                                 dob=date(1985, 6, 1)),
            "hung": make_resident(db, household, full_name="Nguyễn Văn Hùng",
                                  gender="male", dob=date(1950, 3, 4))}


def start(client, resident, kind="vehicle") -> str:
    """Tap "Add licence" / "Add vehicle" (a POST); return the new draft's id."""
    resp = Auth(client).post(f"/residents/{resident['id']}/declarations/new?kind={kind}")
    assert resp.status_code == 303
    return resp.headers["Location"].rsplit("/", 1)[-1]


def row(db, declaration_id, ward=WARD_A):
    return q.get_declaration(db, ward, declaration_id)


def record(auth, declaration_id, data):
    """Post the form, then confirm the read-back; return both responses."""
    first = auth.post(f"/declarations/{declaration_id}/record", data)
    second = auth.post(f"/declarations/{declaration_id}/record", {**data, "confirm": "1"})
    return first, second


def test_new_creates_a_draft_and_redirects(client, db, officer, auth, home):
    resp = auth.post(f"/residents/{home['mai']['id']}/declarations/new?kind=vehicle")
    assert resp.status_code == 303
    assert resp.headers["Location"].startswith("/declarations/")
    declaration_id = resp.headers["Location"].rsplit("/", 1)[-1]
    stored = row(db, declaration_id)
    assert stored["status"] == "draft" and stored["kind"] == "vehicle"
    assert stored["recorded_by"] == officer["id"]
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200
    assert f'hx-post="/declarations/{declaration_id}/draft"' in page.text
    assert 'hx-trigger="change"' in page.text and 'hx-target="#save-status"' in page.text
    assert 'name="plate"' in page.text and 'autocomplete="off"' in page.text


def test_new_by_post_and_licence_form(client, db, officer, auth, home):
    # The kind may come in the form body as well as in the action's query string.
    resp = auth.post(f"/residents/{home['mai']['id']}/declarations/new", {"kind": "licence"})
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"])
    assert 'name="licence_no"' in page.text and 'inputmode="numeric"' in page.text
    assert 'name="is_paper_licence"' in page.text


def test_new_by_get_is_refused_and_writes_nothing(client, db, officer, home):
    """A crawler following the old links once left a thousand empty drafts behind."""
    for kind in ("licence", "vehicle"):
        resp = client.get(f"/residents/{home['mai']['id']}/declarations/new?kind={kind}")
        assert resp.status_code == 405
    assert q.list_declarations(db, WARD_A) == []
    assert db.execute("SELECT count(*) FROM declarations").fetchone()[0] == 0


def test_new_without_the_csrf_token_is_refused(client, db, officer, home):
    resp = client.post(f"/residents/{home['mai']['id']}/declarations/new?kind=licence")
    assert resp.status_code in (400, 403)
    assert q.list_declarations(db, WARD_A) == []


def test_resident_row_offers_licence_and_vehicle_as_forms(client, officer, home):
    page = client.get(f"/households/{home['household']['id']}").text
    for kind in ("licence", "vehicle"):
        action = f"/residents/{home['mai']['id']}/declarations/new?kind={kind}"
        assert f'<form method="post" action="{action}"' in page
        assert f'href="{action}"' not in page
    card = page[page.index(f'id="resident-{home["mai"]["id"]}"'):]
    card = card[:card.index("</article>")]
    assert card.count('name="csrf_token"') >= 3  # add licence, add vehicle, remove
    assert "Thêm GPLX" in card and "Thêm phương tiện" in card


def test_autosave_keeps_a_half_filled_form(client, db, officer, auth, home):
    declaration_id = start(client, home["mai"])
    resp = auth.post(f"/declarations/{declaration_id}/draft",
                     {"vehicle_type": "motorcycle", "plate": "29-HA 00", "brand": "Honda",
                      "registered_on": "05/03/2015", "plate_colour": "purple"},
                     headers={"HX-Request": "true", "HX-Target": "save-status"})
    assert resp.status_code == 200
    assert 'id="save-status"' in resp.text
    # The connection drops now: what was typed is already in the database.
    stored = row(db, declaration_id)
    assert stored["status"] == "draft"
    assert stored["plate"] == "29-HA 00" and stored["brand"] == "Honda"
    assert stored["registered_on"] == "2015-03-05"
    assert stored["plate_colour"] is None   # not one of the colours: dropped, not refused
    assert stored["plate_compact"] is None


def test_autosave_reports_an_unreadable_date(client, db, officer, auth, home):
    declaration_id = start(client, home["mai"], "licence")
    resp = auth.post(f"/declarations/{declaration_id}/draft",
                     {"licence_no": "0012", "issued_on": "31/02/2019"})
    assert resp.status_code == 200
    stored = row(db, declaration_id)
    assert stored["licence_no"] == "0012" and stored["issued_on"] is None
    assert "Date of issue" in resp.text or "Ngày cấp" in resp.text or "alert-warn" in resp.text


def test_record_with_a_bad_plate_is_refused_next_to_the_plate(client, db, officer, auth,
                                                               home):
    declaration_id = start(client, home["mai"])
    resp = auth.post(f"/declarations/{declaration_id}/record",
                     {**MOTORBIKE, "plate": "29A-00000", "confirm": "1"},
                     headers={"HX-Request": "true", "HX-Target": "declaration"})
    assert resp.status_code == 422
    assert 'id="declaration"' in resp.text and "<html" not in resp.text
    assert 'id="decl-plate-error"' in resp.text
    stored = row(db, declaration_id)
    assert stored["status"] == "draft"
    assert stored["plate"] == "29A-00000"   # what was typed is kept


def test_record_a_motorbike_reads_back_then_records(client, db, officer, auth, home):
    declaration_id = start(client, home["mai"])
    first, second = record(auth, declaration_id, MOTORBIKE)
    assert first.status_code == 200
    assert 'name="confirm" value="1"' in first.text
    assert "29-HA 002.33" in first.text
    assert second.status_code == 303
    assert second.headers["Location"] == f"/households/{home['household']['id']}"
    stored = row(db, declaration_id)
    assert stored["status"] == "recorded"
    assert stored["plate_compact"] == "29HA00233"
    assert stored["chassis_no"] == "RLHJC1234KY000001"


def test_readback_alone_does_not_record(client, db, officer, auth, home):
    declaration_id = start(client, home["mai"])
    resp = auth.post(f"/declarations/{declaration_id}/record", MOTORBIKE)
    assert resp.status_code == 200
    assert row(db, declaration_id)["status"] == "draft"


def test_confirm_over_htmx_redirects_the_browser(client, db, officer, auth, home):
    declaration_id = start(client, home["mai"])
    resp = auth.post(f"/declarations/{declaration_id}/record", {**MOTORBIKE, "confirm": "1"},
                     headers={"HX-Request": "true", "HX-Target": "declaration"})
    assert resp.headers["HX-Redirect"] == f"/households/{home['household']['id']}"
    assert row(db, declaration_id)["status"] == "recorded"


def test_old_b2_licence_issued_2019_maps_to_b(client, db, officer, auth, home):
    declaration_id = start(client, home["mai"], "licence")
    first, second = record(auth, declaration_id, LICENCE)
    assert first.status_code == 200, first.text
    assert second.status_code == 303
    stored = row(db, declaration_id)
    assert stored["status"] == "recorded"
    assert stored["licence_class"] == "B2" and stored["licence_class_new"] == "B"
    assert stored["issued_on"] == "2019-05-20" and stored["expires_on"] == "2029-05-20"
    assert stored["licence_no"] == "001234567890"


def test_warnings_need_confirming(client, db, officer, auth, home):
    declaration_id = start(client, home["mai"], "licence")
    data = {**LICENCE, "licence_no": "HN123456", "is_paper_licence": "y"}
    resp = auth.post(f"/declarations/{declaration_id}/record", data)
    assert resp.status_code == 422
    assert 'name="confirm_warnings"' in resp.text
    first, second = record(auth, declaration_id, {**data, "confirm_warnings": "y"})
    assert first.status_code == 200 and second.status_code == 303
    stored = row(db, declaration_id)
    assert stored["status"] == "recorded" and stored["needs_exchange"] == 1


@pytest.mark.parametrize("owner, shown", [
    ("Nguyễn Văn 2", "“2”"), ("Trần Thị Lan 😀", "“😀”"), ("<i>Lan</i> Trần", "“&lt;”"),
    ("\u0410nh Nguyễn", "(chữ Kirin)"),
])
def test_owner_name_with_digits_symbols_or_foreign_letters_is_refused(client, db, officer,
                                                                       auth, home, owner,
                                                                       shown):
    declaration_id = start(client, home["mai"])
    resp = auth.post(f"/declarations/{declaration_id}/record",
                     {**MOTORBIKE, "owner_name": owner, "confirm": "1",
                      "confirm_warnings": "y"},
                     headers={"HX-Request": "true", "HX-Target": "declaration"})
    assert resp.status_code == 422
    error = resp.text.split('id="decl-owner_name-error"', 1)[1][:400]
    assert shown in error and "<i>" not in resp.text
    assert row(db, declaration_id)["status"] == "draft"


def test_owner_name_lookalike_d_is_stored_as_d_stroke(client, db, officer, auth, home):
    declaration_id = start(client, home["mai"])
    first, second = record(auth, declaration_id,
                           {**MOTORBIKE, "owner_name": "\u00d0ặng Văn \u00d0ức"})
    assert second.status_code == 303, first.text
    stored = row(db, declaration_id)
    assert stored["status"] == "recorded" and stored["owner_name"] == "Đặng Văn Đức"


def test_owner_may_be_a_company_but_a_one_word_owner_needs_confirming(client, db, officer,
                                                                      auth, home):
    declaration_id = start(client, home["mai"])
    company = "Công ty TNHH Vận tải số 8"
    first, second = record(auth, declaration_id, {**MOTORBIKE, "owner_name": company})
    assert second.status_code == 303, first.text
    assert row(db, declaration_id)["owner_name"] == company
    declaration_id = start(client, home["hung"])
    data = {**MOTORBIKE, "plate": "29-HA 002.34", "chassis_no": "RLHJC1234KY000002",
            "engine_no": "JC12E1234568", "owner_name": "Hùng"}
    resp = auth.post(f"/declarations/{declaration_id}/record", data)
    assert resp.status_code == 422 and 'name="confirm_warnings"' in resp.text
    first, second = record(auth, declaration_id, {**data, "confirm_warnings": "y"})
    assert second.status_code == 303 and row(db, declaration_id)["owner_name"] == "Hùng"


def test_car_vin_failing_its_check_digit_warns_then_records(client, db, officer, auth, home):
    declaration_id = start(client, home["mai"])
    data = {**MOTORBIKE, "vehicle_type": "car", "plate": "30A-123.45",
            "chassis_no": "1HGCM82643A004352", "engine_no": "K24A1234567"}
    resp = auth.post(f"/declarations/{declaration_id}/record", data)
    assert resp.status_code == 422 and 'name="confirm_warnings"' in resp.text
    assert "ký tự thứ 9 là 4, nhưng 16 ký tự còn lại cho ra 3" in resp.text
    assert row(db, declaration_id)["status"] == "draft"
    first, second = record(auth, declaration_id, {**data, "confirm_warnings": "y"})
    assert second.status_code == 303
    assert row(db, declaration_id)["chassis_no"] == "1HGCM82643A004352"   # never changed


def test_car_with_a_good_vin_records_without_warnings(client, db, officer, auth, home):
    declaration_id = start(client, home["mai"])
    data = {**MOTORBIKE, "vehicle_type": "car", "plate": "30A-123.45",
            "chassis_no": "1HGCM82633A004352", "engine_no": "K24A1234567"}
    first, second = record(auth, declaration_id, data)
    assert first.status_code == 200 and second.status_code == 303


@pytest.mark.parametrize("data, field", [
    ({k: v for k, v in MOTORBIKE.items() if k != "lawful_basis"}, "lawful_basis"),
    ({**MOTORBIKE, "lawful_basis": "consent"}, "consent_method"),
])
def test_consent_is_required(client, db, officer, auth, home, data, field):
    declaration_id = start(client, home["mai"])
    resp = auth.post(f"/declarations/{declaration_id}/record", {**data, "confirm": "1"})
    assert resp.status_code == 422
    assert f'id="decl-{field}-error"' in resp.text
    assert row(db, declaration_id)["status"] == "draft"


def test_missing_required_fields_are_shown(client, db, officer, auth, home):
    declaration_id = start(client, home["mai"])
    resp = auth.post(f"/declarations/{declaration_id}/record",
                     {"lawful_basis": "official_duty", "confirm": "1"})
    assert resp.status_code == 422
    for name in ("vehicle_type", "plate", "situation"):
        assert f'id="decl-{name}-error"' in resp.text, name


def test_recorded_declaration_is_no_longer_editable(client, db, officer, auth, home):
    declaration_id = start(client, home["mai"])
    record(auth, declaration_id, MOTORBIKE)
    assert auth.post(f"/declarations/{declaration_id}/draft",
                     {"brand": "Yamaha"}).status_code == 409
    assert row(db, declaration_id)["brand"] == "Honda"
    page = client.get(f"/declarations/{declaration_id}")
    assert page.status_code == 200 and "29-HA 002.33" in page.text


def test_duplicate_plate_flags_both(client, db, officer, auth, home):
    first_id = start(client, home["mai"])
    record(auth, first_id, MOTORBIKE)
    second_id = start(client, home["hung"])
    record(auth, second_id, {**MOTORBIKE, "plate": "29HA00233",
                             "chassis_no": "RLHJC1234KY000002", "engine_no": "JC12E7654321"})
    assert row(db, second_id)["status"] == "recorded"
    assert row(db, first_id)["is_flagged"] == 1
    assert row(db, second_id)["is_flagged"] == 1
    assert [f["reason"] for f in q.list_flags(db, WARD_A, first_id)] == ["same_plate"]


def test_other_wards_declaration_is_not_found_on_every_route(client, db, officer, auth):
    household_b = make_household(db, ward_code=WARD_B)
    resident_b = make_resident(db, household_b, full_name="Lê Văn Bình")
    other = make_declaration(db, resident_b, kind="vehicle")
    assert auth.post(f"/residents/{resident_b['id']}/declarations/new?kind=vehicle"
                     ).status_code == 404
    assert client.get(f"/declarations/{other['id']}").status_code == 404
    assert auth.post(f"/declarations/{other['id']}/draft", MOTORBIKE).status_code == 404
    assert auth.post(f"/declarations/{other['id']}/record",
                     {**MOTORBIKE, "confirm": "1"}).status_code == 404
    stored = q.get_declaration(db, WARD_B, other["id"])
    assert stored["status"] == "draft" and stored["plate"] is None
    assert q.list_declarations(db, WARD_B) and not q.list_declarations(db, WARD_A)


@pytest.mark.parametrize("role", ["kiosk", "viewer"])
def test_kiosk_and_viewer_are_refused(client, db, auth, home, role):
    draft = make_declaration(db, home["mai"], kind="vehicle")
    make_user(db, username="u", role=role)
    auth.login("u")
    refused = 404  # a viewer learns nothing, a kiosk device reaches its own screens only
    assert auth.post(f"/residents/{home['mai']['id']}/declarations/new?kind=vehicle"
                     ).status_code == refused
    assert client.get(f"/declarations/{draft['id']}").status_code == refused
    assert auth.post(f"/declarations/{draft['id']}/draft", MOTORBIKE).status_code == refused
    assert auth.post(f"/declarations/{draft['id']}/record",
                     {**MOTORBIKE, "confirm": "1"}).status_code == refused
    assert q.get_declaration(db, WARD_A, draft["id"])["plate"] is None


def test_unknown_kind_is_refused(client, db, officer, auth, home):
    assert auth.post(f"/residents/{home['mai']['id']}/declarations/new?kind=boat"
                     ).status_code == 400
    assert not q.list_declarations(db, WARD_A)


@pytest.mark.parametrize("data", [
    {"plate": "29-HA 002.33\x00", "vehicle_type": "car", "chassis_no": "ÖÖ", "engine_no": "=1+1",
     "registered_on": "99/99/9999", "plate_colour": "red", "situation": "x", "channel": "x",
     "lawful_basis": "consent", "consent_method": "telepathy"},
    {"vehicle_type": "other", "plate": "Đ" * 300, "owner_is_resident": "y",
     "lawful_basis": "official_duty"},
    {"vehicle_type": "truck", "plate": "", "chassis_no": "1HGCM82633A00435O",
     "situation": "scrapped", "lawful_basis": "official_duty"},
])
def test_odd_input_never_breaks_the_form(client, db, officer, auth, home, data):
    declaration_id = start(client, home["mai"])
    assert auth.post(f"/declarations/{declaration_id}/draft", data).status_code == 200
    resp = auth.post(f"/declarations/{declaration_id}/record", {**data, "confirm": "1"})
    assert resp.status_code == 422
    assert row(db, declaration_id)["status"] == "draft"


@pytest.mark.parametrize("data", [
    {"licence_no": "12345", "licence_class": "Z9", "issued_on": "01/01/2030",
     "expires_on": "abc", "lawful_basis": "official_duty"},
    {"licence_no": "001234567890", "licence_class": "B", "issued_on": "20/05/2019",
     "lawful_basis": "official_duty"},
    {"licence_no": "001234567890", "licence_class": "C", "issued_on": "10/02/2025",
     "expires_on": "01/01/2020", "lawful_basis": "official_duty"},
])
def test_licence_mistakes_are_caught(client, db, officer, auth, home, data):
    declaration_id = start(client, home["mai"], "licence")
    resp = auth.post(f"/declarations/{declaration_id}/record", {**data, "confirm": "1"})
    assert resp.status_code == 422
    assert "field-error" in resp.text
    assert row(db, declaration_id)["status"] == "draft"


def test_class_c_issued_2025_expires_after_five_years(client, db, officer, auth, home):
    declaration_id = start(client, home["mai"], "licence")
    record(auth, declaration_id, {**LICENCE, "licence_class": "C", "issued_on": "10/02/2025"})
    stored = row(db, declaration_id)
    assert stored["status"] == "recorded"
    assert stored["licence_class_new"] == "C" and stored["expires_on"] == "2030-02-10"


def test_recorded_then_submitted_on_ihanoi_or_not(client, db, officer, auth, home):
    """After recording, the officer notes the iHanoi submission (or why not); the
    declaration then waits for a leader's review."""
    declaration_id = start(client, home["mai"])
    record(auth, declaration_id, MOTORBIKE)
    page = client.get(f"/declarations/{declaration_id}")
    assert f"/declarations/{declaration_id}/submitted" in page.text
    resp = auth.post(f"/declarations/{declaration_id}/submitted", {})
    assert resp.status_code == 422 and 'id="not_submitted_reason-error"' in resp.text
    assert row(db, declaration_id)["status"] == "recorded"
    resp = auth.post(f"/declarations/{declaration_id}/submitted", {"on_ihanoi": "1"})
    assert resp.status_code == 303
    saved = row(db, declaration_id)
    assert saved["status"] == "submitted" and saved["submitted_at"]
    # Only once: a second submission is a conflict, not a silent overwrite.
    assert auth.post(f"/declarations/{declaration_id}/submitted",
                     {"on_ihanoi": "1"}).status_code == 409


def test_not_submitted_keeps_the_reason(client, db, officer, auth, home):
    declaration_id = start(client, home["mai"])
    record(auth, declaration_id, MOTORBIKE)
    resp = auth.post(f"/declarations/{declaration_id}/submitted",
                     {"not_submitted_reason": "Điện thoại không đăng nhập được VNeID"})
    assert resp.status_code == 303
    saved = row(db, declaration_id)
    assert saved["status"] == "submitted" and saved["submitted_at"] is None
    assert saved["not_submitted_reason"] == "Điện thoại không đăng nhập được VNeID"
    # The leaders' list does not claim it reached iHanoi.
    listing = client.get("/declarations").text
    assert "Chưa gửi trên iHanoi" in listing


def test_discard_a_draft_opened_by_mistake(client, db, officer, auth, home):
    declaration_id = start(client, home["mai"])
    page = client.get(f"/declarations/{declaration_id}")
    assert f'action="/declarations/{declaration_id}/discard"' in page.text
    resp = auth.post(f"/declarations/{declaration_id}/discard")
    assert resp.status_code == 303
    assert resp.headers["Location"] == f"/households/{home['household']['id']}"
    assert row(db, declaration_id) is None                       # gone from every list
    assert client.get(f"/declarations/{declaration_id}").status_code == 404
    assert declaration_id not in client.get("/declarations").text
    stored = db.execute("SELECT deleted_at FROM declarations WHERE id = ?",
                        [declaration_id]).fetchone()
    assert stored[0] is not None                                 # soft delete, kept
    actions = [r[0] for r in db.execute(
        "SELECT action FROM audit_log WHERE entity_id = ?", [declaration_id])]
    assert "declaration_discarded" in actions


def test_a_recorded_declaration_cannot_be_discarded(client, db, officer, auth, home):
    declaration_id = start(client, home["mai"])
    record(auth, declaration_id, MOTORBIKE)
    assert row(db, declaration_id)["status"] == "recorded"
    assert 'discard"' not in client.get(f"/declarations/{declaration_id}").text
    assert auth.post(f"/declarations/{declaration_id}/discard").status_code == 409
    assert row(db, declaration_id)["status"] == "recorded"


def test_discard_another_wards_draft_is_404(client, db, officer, auth):
    other_household = make_household(db, ward_code=WARD_B)
    other = make_resident(db, other_household, full_name="Lê Văn Tám")
    d = make_declaration(db, other, kind="vehicle")
    assert auth.post(f"/declarations/{d['id']}/discard").status_code == 404
    assert row(db, d["id"], ward=WARD_B) is not None


def test_read_back_of_unchanged_fields_writes_nothing(client, db, officer, auth, home,
                                                      monkeypatch):
    declaration_id = start(client, home["mai"])
    # The first read-back stores the checked forms (compact plate, ...).
    assert auth.post(f"/declarations/{declaration_id}/record", MOTORBIKE).status_code == 200
    assert row(db, declaration_id)["plate_compact"]
    # "Go back and correct", then read back again without changing anything.
    count = "SELECT count(*) FROM audit_log WHERE entity_id = ?"
    before = db.execute(count, [declaration_id]).fetchone()[0]
    updated = row(db, declaration_id)["updated_at"]

    def no_write(*args, **kwargs):
        raise AssertionError("the read-back queued for the write lock")
    with monkeypatch.context() as m:
        m.setattr(q, "write", no_write)
        resp = auth.post(f"/declarations/{declaration_id}/record", MOTORBIKE)
    assert resp.status_code == 200 and 'name="confirm"' in resp.text
    assert db.execute(count, [declaration_id]).fetchone()[0] == before
    assert row(db, declaration_id)["updated_at"] == updated
    # A field changed since the last autosave is saved by the read-back.
    resp = auth.post(f"/declarations/{declaration_id}/record", {**MOTORBIKE, "brand": "Yamaha"})
    assert resp.status_code == 200 and row(db, declaration_id)["brand"] == "Yamaha"


# --- after recording: the person's card, the next step, duplicates ---------------------

def _card(client, home, who="mai") -> str:
    """Return the HTML of the resident's card on the household page."""
    page = client.get(f"/households/{home['household']['id']}").text
    card = page[page.index(f'id="resident-{home[who]["id"]}"'):]
    return card[:card.index("</article>")]


def test_card_shows_each_declaration_with_its_status_and_next_step(client, db, officer,
                                                                    auth, home):
    declaration_id = start(client, home["mai"])
    card = _card(client, home)
    assert f'id="person-declaration-{declaration_id}" data-status="draft"' in card
    assert "Bản nháp" in card and "Tiếp tục khai báo" in card
    assert "Ghi nhận đã gửi trên iHanoi" not in card

    record(auth, declaration_id, MOTORBIKE)
    card = _card(client, home)
    assert f'id="person-declaration-{declaration_id}" data-status="recorded"' in card
    assert "Đã ghi nhận" in card and "29-HA 002.33" in card
    # The next step: mark it submitted, on the read-back page's iHanoi section.
    assert "Ghi nhận đã gửi trên iHanoi" in card
    assert f'href="/declarations/{declaration_id}#ihanoi-submission"' in card
    readback = client.get(f"/declarations/{declaration_id}").text
    assert 'id="ihanoi-submission"' in readback
    assert f'action="/declarations/{declaration_id}/submitted"' in readback
    # Hùng's card lists nothing of Mai's.
    assert f"person-declaration-{declaration_id}" not in _card(client, home, "hung")

    auth.post(f"/declarations/{declaration_id}/submitted", {"on_ihanoi": "1"})
    card = _card(client, home)
    assert 'data-status="submitted"' in card and "Đã gửi trên iHanoi" in card
    assert "Ghi nhận đã gửi trên iHanoi" not in card
    assert "#ihanoi-submission" not in card


def test_submitted_without_ihanoi_says_so_on_the_card(client, db, officer, auth, home):
    declaration_id = start(client, home["mai"])
    record(auth, declaration_id, MOTORBIKE)
    auth.post(f"/declarations/{declaration_id}/submitted",
              {"not_submitted_reason": "Không có điện thoại thông minh"})
    card = _card(client, home)
    assert "Chưa gửi trên iHanoi" in card and "Ghi nhận đã gửi trên iHanoi" not in card


def test_same_licence_twice_for_one_person_is_flagged_with_a_link(client, db, officer, auth,
                                                                  home):
    first = start(client, home["mai"], "licence")
    record(auth, first, LICENCE)
    assert row(db, first)["is_flagged"] == 0
    second = start(client, home["mai"], "licence")
    record(auth, second, LICENCE)
    assert row(db, second)["status"] == "recorded"
    assert row(db, first)["is_flagged"] == 1 and row(db, second)["is_flagged"] == 1
    assert [(f["reason"], f["same_person"]) for f in q.list_flags(db, WARD_A, second)] == [
        ("same_licence", 1)]
    card = _card(client, home)
    message = "Số GPLX này đã được khai báo hai lần cho cùng một người."
    assert card.count(message) == 2  # on both declarations
    second_item = card[card.index(f'id="person-declaration-{second}"'):]
    assert f'href="/declarations/{first}">Mở khai báo kia</a>' in second_item
    # The read-back page of either says so too, with the link to the other.
    readback = client.get(f"/declarations/{first}").text
    assert message in readback and f'href="/declarations/{second}"' in readback
    # The leader's list shows both as conflicts.
    assert len(q.list_declarations(db, WARD_A, flagged=True)) == 2


def test_same_plate_twice_for_one_person_is_flagged(client, db, officer, auth, home):
    first = start(client, home["mai"])
    record(auth, first, MOTORBIKE)
    second = start(client, home["mai"])
    record(auth, second, {**MOTORBIKE, "plate": "29HA00233",
                          "chassis_no": "RLHJC1234KY000009", "engine_no": "JC12E0000009"})
    assert [f["reason"] for f in q.list_flags(db, WARD_A, second)] == ["same_plate"]
    card = _card(client, home)
    assert "Biển số này đã được khai báo hai lần cho cùng một người." in card


def test_same_plate_on_another_person_names_them_on_the_card(client, db, officer, auth,
                                                             home):
    first = start(client, home["mai"])
    record(auth, first, MOTORBIKE)
    second = start(client, home["hung"])
    record(auth, second, {**MOTORBIKE, "chassis_no": "RLHJC1234KY000002",
                          "engine_no": "JC12E7654321"})
    hung = _card(client, home, "hung")
    assert "Biển số này cũng được khai báo cho Phạm Thị Mai." in hung
    assert f'href="/declarations/{first}">Mở khai báo kia</a>' in hung
    assert "Biển số này cũng được khai báo cho Nguyễn Văn Hùng." in _card(client, home)
