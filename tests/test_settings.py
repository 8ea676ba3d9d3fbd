"""The admin's sheet settings page: https links validated with the message beside the
field (422, nothing saved), audited saves, admin only, and what the sheets then print."""
import pytest

from tests.factories import WARD_A, WARD_B, make_user
from wardkit import audit
from wardkit.sheets import queries as sheet_queries

VALID = {
    "ihanoi_android_url": "https://play.google.com/store/apps/details?id=vn.test.ihanoi",
    "ihanoi_ios_url": "https://apps.apple.com/vn/app/ihanoi-test/id1234567890",
    "vneid_url": "https://vneid.gov.vn/test-install",
    "declare_guide_url": "",
    "zalo_oa_url": "https://zalo.me/3499917305709217875",
    "ihanoi_hotline": "1022",
    "traffic_hotline": "0243.942.4451",
    "police_name": "Công an phường Tây Hồ",
    "police_phone": "024.3823.0000",
    "police_address": "",
    "public_url": "http://192.168.1.20:5000",
}


@pytest.fixture
def admin(db, auth):
    user = make_user(db, username="quantri", role="admin")
    auth.login("quantri")
    with auth.client.session_transaction() as session:
        session["lang"] = "en"
    return user


def test_admin_saves_settings_and_the_watermark_goes(db, admin, client, auth):
    page = client.get("/settings")
    assert page.status_code == 200
    assert "every sheet prints with a MẪU / SAMPLE watermark" in page.text
    resp = auth.post("/settings", VALID)
    assert resp.status_code == 303
    stored = sheet_queries.get_settings(db, WARD_A)
    assert stored["zalo_oa_url"] == VALID["zalo_oa_url"]
    assert stored["declare_guide_url"] is None and stored["is_sample"] == 0
    effective = sheet_queries.effective_settings(db, WARD_A)
    assert effective["is_sample"] is False
    assert sheet_queries.effective_settings(db, WARD_B)["is_sample"] is True
    row = audit.entries(db, action="sheet_settings_updated")[0]
    assert "zalo_oa_url" in row["detail"] and "zalo.me" not in row["detail"]
    assert (row["user_id"], row["ward_code"]) == (admin["id"], WARD_A)
    again = client.get("/settings").text
    assert VALID["zalo_oa_url"] in again and "MẪU / SAMPLE watermark" not in again


@pytest.mark.parametrize("field,value", [
    ("zalo_oa_url", "http://zalo.me/123"),            # not https
    ("zalo_oa_url", "zalo.me/123"),                   # no scheme
    ("ihanoi_android_url", "javascript:alert(1)"),
    ("ihanoi_ios_url", "https://user:pw@apps.apple.com/x"),
    ("vneid_url", "https://vneid gov.vn"),
    ("vneid_url", "https://localhost/x"),             # no real host name
    ("declare_guide_url", "ftp://hanoi.gov.vn/guide"),
    ("zalo_oa_url", "https://zalo.me/" + "9" * 600),
])
def test_bad_links_are_refused_beside_the_field(db, admin, client, auth, field, value):
    resp = auth.post("/settings", {**VALID, field: value})
    assert resp.status_code == 422
    html = resp.text
    assert f'id="{field}-error"' in html
    assert "Enter a full link that starts with https://" in html
    assert sheet_queries.get_settings(db, WARD_A) is None


@pytest.mark.parametrize("field", ["ihanoi_android_url", "ihanoi_ios_url", "vneid_url",
                                   "zalo_oa_url", "police_name", "police_phone"])
def test_required_fields(db, admin, auth, field):
    resp = auth.post("/settings", {**VALID, field: ""})
    assert resp.status_code == 422
    assert f'id="{field}-error"' in resp.text
    assert sheet_queries.get_settings(db, WARD_A) is None


def test_bad_phone_and_public_address(db, admin, auth):
    resp = auth.post("/settings", {**VALID, "police_phone": "call us",
                                   "public_url": "http://192.168.1.20:5000/?x=1"})
    assert resp.status_code == 422
    assert 'id="police_phone-error"' in resp.text and 'id="public_url-error"' in resp.text


@pytest.mark.parametrize("role", ["leader", "officer", "viewer", "kiosk"])
def test_settings_are_for_admins_only(db, client, auth, role):
    make_user(db, username="u1", role=role)
    auth.login("u1")
    # A viewer learns nothing (404), like on every page not open to viewers.
    assert client.get("/settings").status_code == (404 if role in ("viewer", "kiosk") else 403)


def test_household_codes_use_the_configured_address(db, admin, auth, client):
    from tests.factories import make_household
    auth.post("/settings", VALID)
    household = make_household(db)
    html = client.get(f"/households/{household['id']}/sheet.pdf?format=html").text
    from wardkit.sheets import qr
    assert qr.png_data_uri(f"http://192.168.1.20:5000/r/{household['reference']}",
                           best_mask=False) in html


def test_demo_ward_has_obvious_sample_links_and_stays_a_sample(runner, db):
    result = runner.invoke(args=["seed-demo", "--households", "5"])
    assert result.exit_code == 0, result.output
    stored = sheet_queries.get_settings(db, WARD_A)
    assert stored["is_sample"] == 1
    for field in ("ihanoi_android_url", "ihanoi_ios_url", "vneid_url", "zalo_oa_url"):
        assert stored[field].startswith("https://") and ".example/" in stored[field]
    assert sheet_queries.effective_settings(db, WARD_A)["is_sample"] is True
