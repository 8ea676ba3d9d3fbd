"""What the household QR codes hold: the settings page's ward-network address, else
WARDKIT_PUBLIC_URL, else the address the page was opened with, and then (or with a
loopback address) the sheets are marked TEST COPY and the print pages warn."""
import re
import time

import pytest

from tests.factories import make_user
from tests.test_sheets import (configure, english, family, pdf_text, pdf_tools,  # noqa: F401
                               qr_payloads)
from wardkit.sheets import documents

LAN = "http://192.168.1.20:5000"
WATERMARK = "TEST COPY — the QR codes do not work yet: the ward network address is not set"
WARNING = "The household QR codes will not work on the tablets"


def _flat(text: str) -> str:
    return " ".join(text.split())


def _household_codes(data: bytes, tmp_path) -> list[str]:
    return [p for page in qr_payloads(data, tmp_path) for p in page if "/r/" in p]


@pytest.mark.parametrize("url,loopback", [
    ("http://127.0.0.1:5000", True), ("http://127.8.9.1/", True), ("http://localhost:5000", True),
    ("http://[::1]:5000", True), ("http://0.0.0.0:5000", True), ("http://LOCALHOST.", True),
    (LAN, False), ("https://wardkit.tayho.lan", False), ("http://10.0.0.5:8080", False),
])
def test_loopback_addresses(url, loopback):
    assert documents.is_loopback_url(url) is loopback


def test_qr_base_precedence():
    root = "http://127.0.0.1:5000/"
    assert documents.qr_base("http://10.0.0.5:8080", LAN, root) == ("http://10.0.0.5:8080", False)
    assert documents.qr_base("", LAN, root) == (LAN, False)
    assert documents.qr_base(None, None, root) == (root, True)
    # Opened over the ward network but nothing set: still a test copy (nobody chose it).
    assert documents.qr_base(None, None, "http://192.168.1.20:5000/")[1] is True
    assert documents.qr_base("http://127.0.0.1:5000", None, root) == (
        "http://127.0.0.1:5000", True)
    # A mistyped server setting is not printed as a code a phone reads as text.
    assert documents.qr_base(None, "192.168.1.20:5000", root) == (root, True)


def test_server_address_goes_into_the_code_without_a_watermark(app, db, officer, client,
                                                                family, english, tmp_path):
    configure(db)
    app.config["PUBLIC_URL"] = LAN
    data = client.get(f"/households/{family['first']['id']}/sheet.pdf").data
    assert _household_codes(data, tmp_path) == [f"{LAN}/r/{family['first']['reference']}"]
    assert WATERMARK not in _flat(pdf_text(data, tmp_path))
    assert WARNING not in client.get(f"/groups/{family['group']['id']}/sheets").text
    assert WARNING not in client.get(f"/households/{family['first']['id']}").text


def test_the_settings_page_address_wins_over_the_server_one(app, db, officer, client, family,
                                                            english, tmp_path):
    configure(db, public_url="http://10.0.0.5:8080")
    app.config["PUBLIC_URL"] = LAN
    data = client.get(f"/households/{family['first']['id']}/sheet.pdf?layout=large").data
    assert _household_codes(data, tmp_path) == [
        f"http://10.0.0.5:8080/r/{family['first']['reference']}"]
    assert WATERMARK not in _flat(pdf_text(data, tmp_path))


@pytest.mark.parametrize("setting", ["", "http://127.0.0.1:5000"])
@pytest.mark.parametrize("layout", ["page", "large"])
def test_no_address_or_a_loopback_one_marks_the_sheet_and_warns(db, officer, client, family,
                                                                english, tmp_path, setting,
                                                                layout):
    configure(db, public_url=setting)
    url = f"/households/{family['first']['id']}/sheet.pdf?layout={layout}"
    data = client.get(url).data
    base = setting or "http://localhost"   # the address the page was opened with
    assert _household_codes(data, tmp_path) == [f"{base}/r/{family['first']['reference']}"]
    pages = [_flat(page) for page in pdf_text(data, tmp_path).split("\f")[:-1]]
    assert pages and all(WATERMARK in page for page in pages), "on every page"
    assert WARNING in client.get(f"/households/{family['first']['id']}").text
    assert WARNING in client.get(f"/groups/{family['group']['id']}/sheets").text
    assert "the ward network address is not set" in client.get(url + "&format=html").text


def test_cards_carry_no_household_code_and_no_watermark(db, officer, client, family, english,
                                                        tmp_path):
    configure(db)
    data = client.get(f"/groups/{family['group']['id']}/sheets.pdf?layout=cards").data
    assert WATERMARK not in _flat(pdf_text(data, tmp_path))


def _run_job(auth, group_id: str) -> str:
    resp = auth.post(f"/groups/{group_id}/sheets/jobs", {"layout": "page"},
                     headers={"HX-Request": "true", "HX-Target": "sheets-job"})
    token = re.search(r"token&#34;: &#34;([\w-]{43})", resp.text).group(1)
    deadline = time.time() + 90
    while time.time() < deadline:
        page = auth.post("/sheets/jobs/status", {"token": token}).text   # the full job page
        if 'id="sheets-download"' in page:
            return token, page
        time.sleep(0.2)
    pytest.fail("the batch did not finish")


@pytest.mark.parametrize("server_url", [None, LAN])
def test_group_batch_codes_and_watermark(app, db, officer, client, auth, family, english,
                                         tmp_path, server_url):
    """The batch (base layer stamped under each household block) holds the same address
    and, without one, the watermark on every page; the job page warns."""
    configure(db)
    app.config.update(SHEETS_WORKERS=1, PUBLIC_URL=server_url)
    token, page = _run_job(auth, family["group"]["id"])
    data = client.get(f"/sheets/jobs/{token}/sheets.pdf").data
    base = server_url or "http://localhost"
    assert _household_codes(data, tmp_path) == [
        f"{base}/r/{family[h]['reference']}" for h in ("first", "second")]
    pages = [_flat(p) for p in pdf_text(data, tmp_path).split("\f")[:-1]]
    assert len(pages) == 2
    assert all((WATERMARK in p) is (server_url is None) for p in pages)
    assert (WARNING in page) is (server_url is None)


def test_settings_page_warns_and_names_the_server_address(app, db, client, auth):
    make_user(db, username="admin1", role="admin")
    auth.login("admin1")
    with client.session_transaction() as session:
        session["lang"] = "en"
    configure(db)
    page = client.get("/settings").text
    assert WARNING in page and "While it is empty, sheets print marked TEST COPY" in page
    app.config["PUBLIC_URL"] = LAN
    page = client.get("/settings").text
    assert WARNING not in page
    assert f"Empty: the address set on the server, {LAN} (WARDKIT_PUBLIC_URL)." in page


def test_the_watermark_in_vietnamese(db, officer, client, family, tmp_path):
    """In Vietnamese (the default) the mark reads as the ward's officers expect, and
    extracts from the PDF with its diacritics."""
    configure(db)
    data = client.get(f"/households/{family['first']['id']}/sheet.pdf").data
    assert ("BẢN THỬ — mã QR chưa dùng được: chưa đặt địa chỉ mạng của phường"
            in _flat(pdf_text(data, tmp_path)))
    page = client.get(f"/groups/{family['group']['id']}/sheets").text
    assert "Mã QR của hộ sẽ không mở được trên máy tính bảng" in page
