"""The kiosk's "Install and activate iHanoi" screens (issue 13): the ward's own store, VNeID
and Zalo links as QR codes that decode to those links (with the sample warning until the
admin sets them), the VNeID sign-in step by step with plain drawings, the hotlines; for an
enrolled kiosk device only, nothing kept by the browser, nothing inline for the CSP."""
import base64
import io
import pathlib
import re

import pytest

from tests.factories import WARD_A, WARD_B, make_kiosk, make_user
from wardkit.kiosk.guide import SCREENS, VNEID_LOGIN_LABEL, ZALO_OA_NAME
from wardkit.sheets import queries as sheet_queries

COOKIE = "wardkit-kiosk"
ROOT = pathlib.Path(__file__).resolve().parent.parent
COUNT = len(SCREENS)
LINKS = {
    "ihanoi_android_url": "https://play.google.com/store/apps/details?id=vn.test.ihanoi",
    "ihanoi_ios_url": "https://apps.apple.com/vn/app/ihanoi-test/id1234567890",
    "vneid_url": "https://vneid.gov.vn/test-install",
    "zalo_oa_url": "https://zalo.me/1234567890123456789",
    "ihanoi_hotline": "1022",
    "traffic_hotline": "0243.942.4451",
    "police_name": "Công an phường Tây Hồ",
    "police_phone": "024.3823.0000",
}


@pytest.fixture
def kiosk(db, client):
    """An enrolled kiosk of ward A; `client` is that device."""
    device, credential = make_kiosk(db, name="Nhà văn hoá TDP 3")
    client.set_cookie(COOKIE, credential)
    return device


def screen_url(n: int) -> str:
    return "/kiosk/ihanoi" if n == 1 else f"/kiosk/ihanoi/{n}"


def screen_of(kind: str) -> int:
    return next(n for n, s in enumerate(SCREENS, start=1) if s.kind == kind)


def decode(html: str, ident: str) -> str:
    """Return the text of the QR code image `ident` on the page, read by zxing-cpp from
    the PNG of its data URI."""
    import zxingcpp
    from PIL import Image
    m = re.search(rf'id="{ident}" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert m, f"no {ident} code on the page"
    with Image.open(io.BytesIO(base64.b64decode(m.group(1)))) as image:
        found = zxingcpp.read_barcodes(image.convert("L"),
                                       formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1, ident
    return found[0].text


def set_links(db, ward=WARD_A, **changes):
    sheet_queries.save_settings(db, ward, {**LINKS, **changes}, by=None)


def test_an_enrolled_kiosk_goes_through_every_screen(kiosk, client):
    seen, url = [], "/kiosk/ihanoi"
    while url:
        r = client.get(url)
        assert r.status_code == 200, url
        assert r.headers["Cache-Control"] == "no-store", url
        n = len(seen) + 1
        assert f'id="guide-progress">Bước {n}' in r.text and f"{COUNT}</p>" in r.text
        assert 'form="kiosk-reset"' in r.text  # "Back to the start" ends the turn
        assert 'id="kiosk-reset"' in r.text
        back = re.search(r'href="([^"]+)" id="guide-back"', r.text).group(1)
        assert back == ("/kiosk" if n == 1 else screen_url(n - 1))
        seen.append(url)
        m = re.search(r'href="([^"]+)" id="guide-next"', r.text)
        url = m.group(1) if m else None
    assert seen == [screen_url(n) for n in range(1, COUNT + 1)]
    last = client.get(seen[-1]).text
    assert 'type="submit" form="kiosk-reset" class="kiosk-button" id="guide-finish"' in last
    assert 5 <= COUNT <= 10


def test_the_login_steps_are_in_vietnamese_with_a_drawing_each(kiosk, client):
    drawings = [(n, s) for n, s in enumerate(SCREENS, start=1) if s.kind == "drawing"]
    assert 4 <= len(drawings) <= 6
    assert len({s.drawing for _n, s in drawings}) == len(drawings)
    for n, screen in drawings:
        html = client.get(screen_url(n)).text
        src = re.search(r'id="guide-drawing" src="(/static/[^"?]+)(\?v=[0-9a-f]+)?"', html)
        assert src and src.group(1) == f"/static/{screen.drawing}", n
    login = client.get(screen_url(drawings[1][0])).text
    assert "Đăng nhập bằng VNeID" in login and f"“{VNEID_LOGIN_LABEL}”" in login
    account = client.get(screen_url(screen_of("account"))).text
    assert "Mức 2" in account and "thẻ căn cước gắn chip" in account
    assert "Về màn hình đầu" in account and "Tiếp" in account and "Quay lại" in account
    notes = [n for n, s in drawings if s.note]
    assert len(notes) == 1  # one account, one phone at a time: said once, where VNeID opens
    passcode = client.get(screen_url(notes[0])).text
    assert re.search(r'id="guide-note">[^<]*một điện thoại tại một thời điểm',
                     passcode)


def test_the_drawings_are_served_and_are_plain_shapes(kiosk, client):
    for screen in SCREENS:
        if not screen.drawing:
            continue
        r = client.get(f"/static/{screen.drawing}")
        assert r.status_code == 200, screen.drawing
        assert r.mimetype == "image/svg+xml"
        svg = r.data.decode()
        # Our own drawing: no embedded picture, words, script or outside reference.
        for banned in ("<image", "<text", "<script", "href", "<foreignObject", "base64"):
            assert banned not in svg, (screen.drawing, banned)
        assert svg.startswith("<svg xmlns=\"http://www.w3.org/2000/svg\"")
    on_disk = sorted(p.name for p in (ROOT / "static" / "kiosk").glob("*.svg"))
    used = sorted(pathlib.Path(s.drawing).name for s in SCREENS if s.drawing)
    assert set(used) <= set(on_disk)


def test_store_codes_are_samples_until_the_ward_sets_its_links(kiosk, client, db):
    page = client.get("/kiosk/ihanoi").text
    assert 'id="sample-warning"' in page
    assert decode(page, "qr-android") == sheet_queries.SAMPLE_SETTINGS["ihanoi_android_url"]
    assert decode(page, "qr-ios") == sheet_queries.SAMPLE_SETTINGS["ihanoi_ios_url"]
    account = client.get(screen_url(screen_of("account"))).text
    assert 'id="sample-warning"' in account
    assert decode(account, "qr-vneid") == sheet_queries.SAMPLE_SETTINGS["vneid_url"]

    set_links(db)
    set_links(db, WARD_B, ihanoi_android_url="https://play.google.com/store/apps/details?id=b",
              ihanoi_ios_url="https://apps.apple.com/vn/app/b/id1")
    page = client.get("/kiosk/ihanoi").text
    assert 'id="sample-warning"' not in page
    assert decode(page, "qr-android") == LINKS["ihanoi_android_url"]
    assert decode(page, "qr-ios") == LINKS["ihanoi_ios_url"]
    account = client.get(screen_url(screen_of("account"))).text
    assert 'id="sample-warning"' not in account
    assert decode(account, "qr-vneid") == LINKS["vneid_url"]
    # The drawings' screens show no codes, so no warning either.
    assert "sample-warning" not in client.get(screen_url(screen_of("drawing"))).text


def test_last_screen_has_the_zalo_code_and_both_hotlines(kiosk, client, db):
    last = screen_url(screen_of("zalo"))
    assert screen_of("zalo") == COUNT
    page = client.get(last).text
    assert 'id="sample-warning"' in page
    assert decode(page, "qr-zalo") == sheet_queries.SAMPLE_SETTINGS["zalo_oa_url"]
    assert "0243.942.4451" in page and "1022" in page

    set_links(db, ihanoi_hotline="1022 (nhánh 8)", traffic_hotline="069.219.6000")
    set_links(db, WARD_B, zalo_oa_url="https://zalo.me/999", traffic_hotline="024.1111.2222")
    page = client.get(last).text
    assert 'id="sample-warning"' not in page
    assert decode(page, "qr-zalo") == LINKS["zalo_oa_url"]
    assert re.search(r'id="traffic-hotline">[^<]*069\.219\.6000<', page)
    assert re.search(r'id="ihanoi-hotline">[^<]*1022 \(nhánh 8\)<', page)
    assert "024.1111.2222" not in page
    assert f"<figcaption>{ZALO_OA_NAME}</figcaption>" in page


@pytest.mark.parametrize("path", ["/kiosk/ihanoi/0", f"/kiosk/ihanoi/{COUNT + 1}",
                                  "/kiosk/ihanoi/99", "/kiosk/ihanoi/-1", "/kiosk/ihanoi/x"])
def test_unknown_screen_is_404(kiosk, client, path):
    assert client.get(path).status_code == 404


def test_first_screen_number_goes_to_the_guide(kiosk, client):
    r = client.get("/kiosk/ihanoi/1")
    assert r.status_code == 302 and r.headers["Location"] == "/kiosk/ihanoi"


def test_enrolled_through_the_real_link(db, client, auth):
    make_user(db, role="kiosk", username="kiosk-hall")
    auth.login("kiosk-hall")
    assert client.get("/kiosk/ihanoi").status_code == 200
    assert client.get(screen_url(COUNT)).status_code == 200


@pytest.mark.parametrize("role", ["officer", "leader", "admin", "viewer"])
def test_staff_get_no_guide_screen(db, client, auth, role):
    make_user(db, role=role, username="staff")
    auth.login("staff")
    for n in range(1, COUNT + 1):
        r = client.get(screen_url(n))
        assert r.status_code in (403, 404), (role, n)
        assert 'id="qr-' not in r.text


def test_without_a_credential_the_kiosk_is_not_active(client, db):
    for cookie in (None, "not-a-real-credential"):
        if cookie:
            client.set_cookie(COOKIE, cookie)
        for n in (1, 2, COUNT):
            r = client.get(screen_url(n))
            assert r.status_code == 403, (cookie, n)
            assert 'id="kiosk-inactive"' in r.text and 'id="qr-' not in r.text
            assert r.headers["Cache-Control"] == "no-store"


def test_pages_and_templates_have_nothing_inline(kiosk, client):
    for path in ROOT.joinpath("templates", "kiosk").glob("guide*.html"):
        text = path.read_text()
        assert "style=" not in text and not re.search(r"<script(?![^>]*\bsrc=)", text), path
    for n in range(1, COUNT + 1):
        html = client.get(screen_url(n)).text
        assert " style=" not in html, n
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), n
        assert re.search(r"<script[^>]*src=", html)  # the idle reset still runs
