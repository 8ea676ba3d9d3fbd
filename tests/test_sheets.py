"""Printed QR sheets: the PDFs themselves (every one through tests/pdfcheck.py: qpdf's
structure check, drawn by pdfium and by poppler, every QR decoded with zxing-cpp from both;
text read back with pdftotext and pdfium, font sizes from pdfium), the watermark, the group
batch and its background job, access, audit, and /r/<reference>.

The sheets are rendered in English (`lang=en`) so the assertions do not depend on the
Vietnamese catalogue; names, addresses and the watermark carry the diacritics that prove
the embedded font extracts correctly.
"""
import io
import json
import os
import re
import shutil
import subprocess
import time
from datetime import date

import pytest

from tests import pdfcheck
from tests.factories import (WARD_A, WARD_B, make_group, make_household, make_resident,
                             make_user)
from wardkit import audit
from wardkit.sheets import queries as sheet_queries

TOOLS = ("pdftoppm", "pdftotext", "pdffonts", "pdfinfo")


def _require_tools():
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    try:
        import pikepdf  # noqa: F401
        import pypdfium2  # noqa: F401
        import weasyprint  # noqa: F401
        import zxingcpp  # noqa: F401
    except (ImportError, OSError) as exc:
        missing.append(str(exc))
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"missing for the PDF tests: {missing} (make test installs them)")
        pytest.skip(f"missing for the PDF tests: {missing}")


@pytest.fixture(autouse=True)
def pdf_tools():
    _require_tools()


LINKS = {
    "ihanoi_android_url": "https://play.google.com/store/apps/details?id=vn.test.ihanoi",
    "ihanoi_ios_url": "https://apps.apple.com/vn/app/ihanoi-test/id1234567890",
    "vneid_url": "https://vneid.gov.vn/test-install",
    "declare_guide_url": "https://hanoi.gov.vn/test-guide",
    "zalo_oa_url": "https://zalo.me/3499917305709217875",
    "ihanoi_hotline": "1022 (nhánh 8)",
    "traffic_hotline": "0243.942.4451",
    "police_name": "Công an phường Tây Hồ",
    "police_phone": "024.3823.0000",
    "police_address": "Số 1 Phú Xá",
    "public_url": "",
}
CCCD = "001085012345"
PHONE = "0912345678"


def configure(db, ward_code=WARD_A, **overrides):
    from wardkit.db import write
    with write(db):
        sheet_queries.save_settings(db, ward_code, {**LINKS, **overrides}, by=None)


@pytest.fixture
def family(db):
    """A group with two households: Số 2 (Hùng, the head, activated; Mai; a child Đức)
    and Số 10 (Hằng alone); plus a household of another ward."""
    group = make_group(db, name="Tổ dân phố số 7")
    first = make_household(db, group=group, house_number="2", lane="Ngõ 34", street="Âu Cơ")
    make_resident(db, first, full_name="Nguyễn Văn Hùng", relation="head", cccd=CCCD,
                  phone=PHONE, gender="male", dob=date(1970, 3, 4), ihanoi_status="activated")
    make_resident(db, first, full_name="Phạm Thị Mai", relation="spouse",
                  dob=date(1972, 5, 6), ihanoi_status="installed")
    make_resident(db, first, full_name="Nguyễn Minh Đức", relation="child", gender="male",
                  dob=date(2018, 1, 2))
    second = make_household(db, group=group, house_number="10", lane="Ngõ 34", street="Âu Cơ")
    make_resident(db, second, full_name="Lê Thị Hằng", relation="head", dob=date(1941, 2, 3))
    other = make_household(db, ward_code=WARD_B, street="Hàng Bạc", lane=None)
    return {"group": group, "first": first, "second": second, "other": other}


@pytest.fixture
def english(client):
    """Sheets in English: the assertions do not wait for the Vietnamese catalogue."""
    with client.session_transaction() as session:
        session["lang"] = "en"


# --- reading PDFs ---------------------------------------------------------------------------

_CHECKED: set[str] = set()


def checked(data: bytes) -> bytes:
    """Return `data` after the strict checks of tests/pdfcheck.py (once per distinct PDF):
    every PDF a test reads must be sound for every reader, not only for poppler."""
    import hashlib
    digest = hashlib.sha256(data).hexdigest()
    if digest not in _CHECKED:
        pdfcheck.assert_valid_pdf(data)
        _CHECKED.add(digest)
    return data


def pdf_text(data: bytes, tmp_path, *, layout=False) -> str:
    checked(data)
    path = tmp_path / "sheet.pdf"
    path.write_bytes(data)
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else []) + [str(path), "-"]
    return subprocess.run(args, check=True, capture_output=True).stdout.decode("utf-8")


def page_texts(data: bytes, tmp_path) -> list[str]:
    return pdf_text(data, tmp_path).split("\f")[:-1]


def qr_payloads(data: bytes, tmp_path, dpi=150) -> list[list[str]]:
    """Return the decoded QR payloads of each page, after checking the PDF strictly: the
    codes are decoded from pdfium's drawing and from poppler's, and must agree."""
    import zxingcpp
    from PIL import Image

    pdfium_codes = pdfcheck.qr_codes(pdfcheck.assert_valid_pdf(data, dpi=dpi))
    path = tmp_path / "scan.pdf"
    path.write_bytes(data)
    prefix = tmp_path / "page"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", str(path), str(prefix)],
                   check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    result = []
    for png in pages:
        with Image.open(png) as image:
            found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        result.append(sorted(code.text for code in found))
        png.unlink()
    assert result == pdfium_codes, "poppler and pdfium read different codes"
    return result


def text_sizes(data: bytes) -> list[tuple[float, str]]:
    """Return (font size in pt as printed, text) of every text run in the PDF (pdfium)."""
    return pdfcheck.text_runs(checked(data))


def household_url(household) -> str:
    return f"http://localhost/r/{household['reference']}"


# --- one household ------------------------------------------------------------------------

def test_household_sheet_qr_codes_decode_to_the_configured_links(db, officer, client, family,
                                                                   english, tmp_path):
    configure(db)
    resp = client.get(f"/households/{family['first']['id']}/sheet.pdf")
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    assert resp.data.startswith(b"%PDF")
    pages = qr_payloads(resp.data, tmp_path)
    assert len(pages) == 1, "one household, one A4 page"
    assert pages[0] == sorted([
        LINKS["ihanoi_android_url"], LINKS["ihanoi_ios_url"], LINKS["vneid_url"],
        LINKS["declare_guide_url"], LINKS["zalo_oa_url"], household_url(family["first"])])


def test_household_sheet_text_names_address_steps_and_no_personal_numbers(
        db, officer, client, family, english, tmp_path):
    configure(db)
    data = client.get(f"/households/{family['first']['id']}/sheet.pdf").data
    text = pdf_text(data, tmp_path)
    flat = " ".join(text.split())
    for expected in ("Phường Tây Hồ", "Tổ dân phố số 7", "Số 2, Ngõ 34, Âu Cơ",
                     "For: Hùng, Mai, Đức", "Install iHanoi", "Log in with VNeID",
                     "Declare your licence and vehicles", "Follow the traffic police on Zalo",
                     "0243.942.4451", "1022 (nhánh 8)", "Công an phường Tây Hồ",
                     "024.3823.0000", "Số 1 Phú Xá"):
        assert expected in flat, expected
    # The short link under each code (wrapped to the code's width).
    assert "zalo.me/3499917305709217875" in "".join(text.split())
    # No full names, CCCD, phone or date of birth on paper.
    digits = "".join(ch for ch in text if ch.isdigit())
    assert CCCD not in digits and CCCD[-6:] not in text
    assert PHONE not in digits and "912 345" not in text
    assert "Nguyễn Văn Hùng" not in flat and "1970" not in text and "04/03" not in text
    assert "MẪU / SAMPLE" not in text


def test_embedded_font_and_metadata_without_personal_data(db, officer, client, family,
                                                          tmp_path):
    configure(db)
    data = checked(client.get(f"/households/{family['first']['id']}/sheet.pdf").data)
    path = tmp_path / "fonts.pdf"
    path.write_bytes(data)
    fonts = subprocess.run(["pdffonts", str(path)], check=True,
                           capture_output=True).stdout.decode()
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all("Be-Vietnam-Pro" in row[0] for row in rows), fonts
    assert all(row[-5:-2] == ["yes", "yes", "yes"] for row in rows), "embedded, subset, unicode"
    info = subprocess.run(["pdfinfo", str(path)], check=True,
                          capture_output=True).stdout.decode()
    meta = " ".join(line for line in info.splitlines()
                    if line.split(":")[0] in ("Title", "Author", "Subject", "Keywords",
                                              "Creator"))
    assert "WardKit" in meta and "iHanoi" in meta
    for private in ("Hùng", "Mai", "Âu Cơ", "Ngõ 34", "Tổ dân phố", officer["display_name"]):
        assert private not in meta


def test_watermark_until_the_links_are_set(db, officer, client, family, english, tmp_path):
    url = f"/households/{family['first']['id']}/sheet.pdf"
    text = pdf_text(client.get(url).data, tmp_path)
    assert "MẪU / SAMPLE" in text
    # Obvious sample links, never guessed ones (wrapped to the code's width, maybe at a
    # hyphen, which pdftotext drops and pdfium marks).
    lines = sum(pdfcheck.page_lines(client.get(url).data), [])
    assert "ihanoi-android.example/mau-sample" in "".join(lines).replace("\ufffe", "-")
    preview = client.get(url + "?format=html").text
    assert "The links are not set: these sheets are samples." in preview
    configure(db)
    assert "MẪU / SAMPLE" not in pdf_text(client.get(url).data, tmp_path)
    assert "these sheets are samples" not in client.get(url + "?format=html").text


def test_demo_style_sample_settings_keep_the_watermark(db, officer, client, family, english,
                                                       tmp_path):
    from wardkit.db import write
    with write(db):
        sheet_queries.save_settings(db, WARD_A, LINKS, by=None, is_sample=True)
    text = pdf_text(client.get(f"/households/{family['first']['id']}/sheet.pdf").data,
                    tmp_path)
    assert "MẪU / SAMPLE" in text


def test_checklist_is_pre_ticked_from_the_registry(db, officer, client, family, english):
    configure(db)
    html = client.get(f"/households/{family['first']['id']}/sheet.pdf?format=html").text
    rows = {}
    for chunk in html.split('<span class="cl-name" role="rowheader">')[1:]:
        name = chunk.split("<", 1)[0].strip()
        row = chunk.split("</div>", 1)[0]
        rows[name] = [cell.count("ticked") for cell in row.split('role="cell"')[1:]]
    # Adults only (the child Đức is not listed); Hùng activated, Mai installed.
    assert rows == {"Hùng": [1, 1, 0, 0], "Mai": [1, 0, 0, 0]}


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_large_print_every_text_is_at_least_18_pt(db, officer, client, family, tmp_path, lang):
    """Large print keeps its promise everywhere: checklist headers, the links under the
    codes and the household code's caption too, not only the body."""
    configure(db)
    with client.session_transaction() as session:
        session["lang"] = lang
    resp = client.get(f"/households/{family['first']['id']}/sheet.pdf?layout=large")
    assert resp.status_code == 200
    runs = text_sizes(resp.data)
    small = [(size, text) for size, text in runs if size < 18]
    assert not small, small
    link = [size for size, text in runs if "zalo.me" in text]
    header = [size for size, text in runs if text in ("Name", "Tên")]
    assert link and header  # what is measured is really there
    names = [size for size, text in runs if "Hùng" in text]
    assert names and min(names) >= 18
    # The normal sheet's body is 14 pt or more.
    normal = text_sizes(client.get(f"/households/{family['first']['id']}/sheet.pdf").data)
    assert min(size for size, text in normal
               if text.startswith(("Scan the code", "Quét mã"))) >= 14
    # Every step's code still scans in large print.
    payloads = sum(qr_payloads(resp.data, tmp_path), [])
    assert LINKS["zalo_oa_url"] in payloads and household_url(family["first"]) in payloads


def test_page_layout_links_are_at_least_10_pt(db, officer, client, family, english):
    configure(db)
    runs = text_sizes(client.get(f"/households/{family['first']['id']}/sheet.pdf").data)
    links = [(size, text) for size, text in runs
             if any(host in text for host in ("play.google", "apps.apple", "vneid.gov",
                                              "hanoi.gov", "zalo.me", "3499917"))]
    assert len(links) >= 5, runs
    assert min(size for size, _ in links) >= 10, links


STEP_3 = {"en": ("Declare your licence and vehicles",
                 "In iHanoi, declare your driving licence and your vehicles, and check "
                 "that everything is right.")}


@pytest.mark.parametrize("layout", ["page", "large", "cards"])
@pytest.mark.parametrize("lang", ["en", "vi"])
def test_no_word_of_step_3_is_broken_across_lines(app, db, officer, client, family, tmp_path,
                                                   layout, lang):
    """Step 3's title, text and guide link wrap between words (a link after a slash),
    never inside one, and nothing is hyphenated."""
    from flask_babel import force_locale, gettext
    configure(db)
    with client.session_transaction() as session:
        session["lang"] = lang
    with app.test_request_context(), force_locale(lang):
        title, text = (gettext(msgid) for msgid in STEP_3["en"])
    url = (f"/groups/{family['group']['id']}/sheets.pdf?layout=cards" if layout == "cards"
           else f"/households/{family['first']['id']}/sheet.pdf?layout={layout}")
    lines = [line for page in pdfcheck.page_lines(checked(client.get(url).data))
             for line in page]
    assert not [line for line in lines if "\ufffe" in line or line.endswith("-")], lines
    words = {word for line in lines for word in line.split()}
    expected = title.split() + ([] if layout == "cards" else text.split())
    broken = [word for word in expected if word not in words]
    assert not broken, (broken, lines)
    # The guide link: whole, or cut after its slash.
    pieces = [word for word in words if "guide" in word or "hanoi.gov" in word]
    assert pieces and all(p in ("hanoi.gov.vn/test-guide", "hanoi.gov.vn/", "test-guide")
                          for p in pieces), pieces


@pytest.mark.parametrize("layout,widest", [("page", 12), ("large", 25)])
def test_no_empty_band_across_a_sheet(db, officer, client, family, english, layout, widest):
    """A household with one adult still fills its sheet: the checklist's blank rows take
    the fixed block (page); large print flows step after step (no fixed half pages)."""
    configure(db, public_url="http://192.168.1.20:5000")
    data = client.get(f"/households/{family['second']['id']}/sheet.pdf?layout={layout}").data
    for number, image in enumerate(pdfcheck.assert_valid_pdf(data, dpi=100), 1):
        band = pdfcheck.widest_blank_band(image, dpi=100)
        assert band < widest, f"page {number}: a blank band of {band:.0f} mm"


def test_household_sheet_404_for_other_ward_unknown_or_bad_layout(officer, client, family):
    assert client.get(f"/households/{family['other']['id']}/sheet.pdf").status_code == 404
    assert client.get("/households/nope/sheet.pdf").status_code == 404
    url = f"/households/{family['first']['id']}/sheet.pdf"
    assert client.get(url + "?layout=cards").status_code == 404
    assert client.get(url + "?layout=<script>").status_code == 404
    assert client.get(url + "?format=docx").status_code == 404


@pytest.mark.parametrize("role,status", [("kiosk", 404), ("viewer", 404)])
def test_sheets_are_for_registry_roles_only(db, client, auth, family, role, status):
    make_user(db, username="u1", role=role)
    auth.login("u1")
    assert client.get(f"/households/{family['first']['id']}/sheet.pdf").status_code == status
    assert client.get(f"/groups/{family['group']['id']}/sheets.pdf").status_code == status


def test_printing_is_audited_with_the_household_ids(db, officer, client, family):
    client.get(f"/households/{family['first']['id']}/sheet.pdf")
    rows = audit.entries(db, action="sheets_printed")
    assert len(rows) == 1
    assert rows[0]["user_id"] == officer["id"]
    assert json.loads(rows[0]["detail"])["household_ids"] == [family["first"]["id"]]
    assert "Hùng" not in rows[0]["detail"]


# --- a group --------------------------------------------------------------------------------

def test_group_batch_every_page_scans_in_address_order(db, officer, client, family, english,
                                                        tmp_path):
    configure(db)
    third = make_household(db, group=family["group"], house_number="3", lane="Ngõ 34",
                           street="Âu Cơ")
    make_resident(db, third, full_name="Trần Văn Toàn", relation="head")
    resp = client.get(f"/groups/{family['group']['id']}/sheets.pdf?layout=page")
    assert resp.status_code == 200
    pages = qr_payloads(resp.data, tmp_path)
    steps = [LINKS[k] for k in ("ihanoi_android_url", "ihanoi_ios_url", "vneid_url",
                                "declare_guide_url", "zalo_oa_url")]
    # House numbers by value: 2, 3, 10 (not "10" before "2").
    expected = [family["first"], third, family["second"]]
    assert len(pages) == 3
    for page, household in zip(pages, expected):
        assert page == sorted(steps + [household_url(household)])
    texts = page_texts(resp.data, tmp_path)
    assert "Hùng" in texts[0] and "Toàn" in texts[1] and "Hằng" in texts[2]
    assert "Hàng Bạc" not in "".join(texts)  # the other ward's household
    detail = json.loads(audit.entries(db, action="sheets_printed")[0]["detail"])
    assert detail["household_ids"] == [h["id"] for h in expected]
    assert detail["layout"] == "page"


def test_cards_have_four_per_page_and_no_household_data(db, officer, client, family, english,
                                                         tmp_path):
    configure(db)
    for n in range(3):  # 5 households: two pages of cards
        make_household(db, group=family["group"], house_number=str(20 + n))
    resp = client.get(f"/groups/{family['group']['id']}/sheets.pdf?layout=cards")
    assert resp.status_code == 200
    texts = page_texts(resp.data, tmp_path)
    assert len(texts) == 2
    for text in texts:
        assert text.count("Guide to installing iHanoi") == 4
        for private in ("Hùng", "Mai", "Hằng", "Âu Cơ", "Số 2", "For:"):
            assert private not in text
    for page in qr_payloads(resp.data, tmp_path):
        assert page == sorted([LINKS["ihanoi_android_url"], LINKS["ihanoi_ios_url"],
                               LINKS["vneid_url"], LINKS["declare_guide_url"],
                               LINKS["zalo_oa_url"]] * 4)
    assert not audit.entries(db, action="sheets_printed")  # no household data printed


def test_cards_keep_the_declaration_step_with_its_code(db, officer, client, family, english,
                                                       tmp_path):
    """Every card lists step 3 and carries the declaration guide's code and link."""
    configure(db)
    data = client.get(f"/groups/{family['group']['id']}/sheets.pdf?layout=cards").data
    text = " ".join(pdf_text(data, tmp_path).split())
    assert text.count("Declare your licence and vehicles") == 4
    assert text.count("3 · Guide") == 4
    assert "".join(text.split()).count("hanoi.gov.vn/test-guide") == 4
    # Without a guide link, the step is still listed (done in the app), with no code.
    configure(db, declare_guide_url="")
    data = client.get(f"/groups/{family['group']['id']}/sheets.pdf?layout=cards").data
    text = " ".join(pdf_text(data, tmp_path).split())
    assert text.count("Declare your licence and vehicles") == 4 and "3 · Guide" not in text
    assert LINKS["declare_guide_url"] not in sum(qr_payloads(data, tmp_path), [])


def test_group_preview_is_the_same_sheet_in_html(db, officer, client, family, english):
    resp = client.get(f"/groups/{family['group']['id']}/sheets.pdf?layout=page&format=html")
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    html = resp.text
    assert html.index("Số 2, Ngõ 34") < html.index("Số 10, Ngõ 34")
    assert "sheets.css" in html and "<script" not in html
    assert f"/groups/{family['group']['id']}/sheets.pdf?layout=page" in html
    assert "Preview: 2 sheets" in html
    assert CCCD not in html and PHONE not in html
    assert audit.entries(db, action="sheets_previewed")


def test_group_of_another_ward_or_unknown_is_404(db, officer, client, family):
    other_group = make_group(db, ward_code=WARD_B)
    for url in (f"/groups/{other_group['id']}/sheets.pdf", f"/groups/{other_group['id']}/sheets",
                "/groups/nope/sheets.pdf",
                f"/groups/{family['group']['id']}/sheets.pdf?layout=poster"):
        assert client.get(url).status_code == 404, url


def test_empty_group_has_nothing_to_print_but_cards(db, officer, client, english, tmp_path):
    group = make_group(db)
    resp = client.get(f"/groups/{group['id']}/sheets.pdf")
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"]).text
    assert "This group has no households yet" in page
    cards = client.get(f"/groups/{group['id']}/sheets.pdf?layout=cards")
    assert cards.status_code == 200 and len(page_texts(cards.data, tmp_path)) == 1


def test_print_buttons_on_group_row_and_household_page(db, officer, client, family, english):
    home = client.get("/").text
    assert f"/groups/{family['group']['id']}/sheets" in home
    household = client.get(f"/households/{family['first']['id']}").text
    assert f"/households/{family['first']['id']}/sheet.pdf" in household
    assert "Print sheets" in household
    page = client.get(f"/groups/{family['group']['id']}/sheets").text
    assert "2 households, in order of address." in page
    assert "The official links are not set yet" in page


def test_background_job_shows_progress_then_the_pdf(app, db, officer, client, auth, family,
                                                    english, tmp_path):
    configure(db)
    app.config["SHEETS_WORKERS"] = 1
    resp = auth.post(f"/groups/{family['group']['id']}/sheets/jobs", {"layout": "page"},
                     headers={"HX-Request": "true", "HX-Target": "sheets-job"})
    assert resp.status_code == 200
    assert "<html" not in resp.text
    token = re.search(r"token&#34;: &#34;([\w-]{43})", resp.text).group(1)
    [printed] = audit.entries(db, action="sheets_printed")
    assert (printed["user_id"], printed["ward_code"]) == (officer["id"], WARD_A)
    deadline = time.time() + 60
    while True:
        status = auth.post("/sheets/jobs/status", {"token": token},
                           headers={"HX-Request": "true", "HX-Target": "sheets-job"})
        if "The PDF is ready" in status.text or time.time() > deadline:
            break
        assert "Making the PDF" in status.text and "<progress" in status.text
        time.sleep(0.2)
    assert "The PDF is ready" in status.text
    pdf = client.get(f"/sheets/jobs/{token}/sheets.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert len(qr_payloads(pdf.data, tmp_path)) == 2
    # Another user cannot poll or download it.
    make_user(db, username="binh", role="officer")
    client.post("/logout", data={"csrf_token": auth.token()})
    auth.login("binh")
    assert client.get(f"/sheets/jobs/{token}/sheets.pdf").status_code == 404
    assert auth.post("/sheets/jobs/status", {"token": token}).status_code == 404
    assert auth.post("/sheets/jobs/status", {"token": "../../etc"}).status_code == 404


def test_batch_in_parallel_parts_joins_in_order(app, db, family, tmp_path):
    """Several chunks through two worker processes come back joined, in order."""
    from wardkit.sheets import documents, jobs
    from flask_babel import force_locale
    configure(db)
    for n in range(4):
        make_household(db, group=family["group"], house_number=str(30 + n))
    ids = sheet_queries.group_household_ids(db, WARD_A, family["group"]["id"])
    target = tmp_path / "batch.pdf"
    seen = []
    with app.test_request_context(), force_locale("en"), \
            pytest.MonkeyPatch.context() as mp:
        mp.setitem(documents.CHUNK_HOUSEHOLDS, "page", 2)
        pages = jobs.render_group(db, WARD_A, "page", ids, str(target),
                                  base_url="https://wardkit.test/", ward_name="Phường Tây Hồ",
                                  group_name="Tổ 7", sheet_locale="en", workers=2,
                                  progress=seen.append, tmp_dir=str(tmp_path))
    assert pages == 6 and seen == [1, 2, 3]
    payloads = qr_payloads(target.read_bytes(), tmp_path)
    homes = [next(p for p in page if "/r/" in p) for page in payloads]
    references = dict(db.execute("SELECT reference, id FROM households").fetchall())
    assert [references[url.rsplit("/", 1)[1]] for url in homes] == ids
    assert not list(tmp_path.glob("wardkit-sheets-*")), "temporary parts are removed"


def test_a_sheet_drawn_whole_is_one_page_like_a_stamped_one(app, db, family):
    """The fixed household block holds its seven checklist rows whether the page is
    stamped or drawn whole (big households, the naive way): nothing runs onto a page 2."""
    from flask_babel import force_locale
    from wardkit import clock
    from wardkit.sheets import documents, pdf
    configure(db, public_url="http://192.168.1.20:5000")
    with app.test_request_context(), force_locale("vi"):
        settings = sheet_queries.effective_settings(db, WARD_A)
        households = documents.with_codes(sheet_queries.sheet_households(
            db, WARD_A, [family["first"]["id"]], today=clock.now().date()), "http://x")
        whole = documents.document_html("page", settings=settings, ward_name="Phường Tây Hồ",
                                        households=households)
        base = documents.base_html(settings=settings, ward_name="Phường Tây Hồ",
                                   group_name="Tổ 7")
    assert pdf.render(whole, io.BytesIO()) == 1
    assert pdf.render(base, io.BytesIO()) == 1


def test_stamped_pages_are_sound_pdf_for_every_reader(tmp_path):
    """The base layer stamped under each part's pages: each page's content streams stay
    indirect objects (a direct one made pdfium — Chrome's viewer — draw the page blank and
    qpdf drop it), and pdfium draws both layers and reads the part's code."""
    import pikepdf
    from wardkit.sheets import pdf, qr

    base, part = tmp_path / "base.pdf", tmp_path / "part.pdf"
    bar = '<div style="height:30mm;background:#000"></div>'  # ink on every page
    pdf.render(f'<p style="font-size:30pt">BASE LAYER</p>{bar}', str(base))
    pdf.render(f'<p style="margin-top:80mm;font-size:30pt">PART ONE</p>{bar}'
               f'<img style="width:40mm" src="{qr.png_data_uri("https://wardkit.test/r/x")}">'
               f'<p style="break-before:page;font-size:30pt">PART TWO</p>{bar}', str(part))
    target = tmp_path / "joined.pdf"
    assert pdf.join([(str(part), True), (str(part), False)], str(target),
                    base=str(base)) == 4
    with pikepdf.open(target) as document:
        for page in document.pages[:2]:
            contents = page.obj["/Contents"]
            assert isinstance(contents, pikepdf.Array) and len(contents) == 2
            assert all(stream.is_indirect for stream in contents)
    images = pdfcheck.assert_valid_pdf(target)
    assert pdfcheck.qr_codes(images)[0] == ["https://wardkit.test/r/x"]
    pages = [" ".join(lines) for lines in pdfcheck.page_lines(target)]
    assert pages == ["BASE LAYER PART ONE", "BASE LAYER PART TWO", "PART ONE", "PART TWO"]


# --- /r/<reference> -------------------------------------------------------------------------

def test_scan_opens_the_household_and_is_audited(db, officer, client, family):
    resp = client.get(f"/r/{family['first']['reference']}")
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith(f"/households/{family['first']['id']}")
    rows = audit.entries(db, action="household_scanned")
    assert rows and rows[0]["entity_id"] == family["first"]["id"]
    assert (rows[0]["user_id"], rows[0]["ward_code"]) == (officer["id"], WARD_A)


def test_scan_requires_login(client, family):
    resp = client.get(f"/r/{family['first']['reference']}")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_scan_of_another_ward_or_unknown_is_404(db, officer, client, family):
    assert client.get(f"/r/{family['other']['reference']}").status_code == 404
    assert client.get("/r/not-a-real-reference-token").status_code == 404
    assert client.get("/r/x").status_code == 404
    rows = audit.entries(db, action="household_scan_unknown")
    assert len(rows) == 3 and {(r["user_id"], r["ward_code"]) for r in rows} == {
        (officer["id"], WARD_A)}


def test_reissued_reference_stops_the_old_sheet(db, officer, client, auth, family):
    old = family["first"]["reference"]
    resp = auth.post(f"/households/{family['first']['id']}/reference", {"confirm": "1"})
    assert resp.status_code == 303
    assert client.get(f"/r/{old}").status_code == 404
    new = db.execute("SELECT reference FROM households WHERE id = ?",
                     [family["first"]["id"]]).fetchone()[0]
    assert new != old
    assert client.get(f"/r/{new}").status_code == 303


def test_scans_are_rate_limited(app, db, officer, client, family, fake_clock):
    app.config["SCAN_MAX_PER_MINUTE"] = 5
    for _ in range(5):
        assert client.get(f"/r/{family['first']['reference']}").status_code == 303
    resp = client.get(f"/r/{family['first']['reference']}")
    assert resp.status_code == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    fake_clock.advance(seconds=61)
    assert client.get(f"/r/{family['first']['reference']}").status_code == 303


def test_a_big_household_gets_a_whole_page_in_its_place(db, officer, client, family, english,
                                                         tmp_path):
    """More adults than the stamped block holds: that sheet is drawn whole (its steps
    continue on a second page), in its place."""
    configure(db)
    big = make_household(db, group=family["group"], house_number="4", lane="Ngõ 34",
                         street="Âu Cơ")
    names = ["An", "Bình", "Chi", "Dũng", "Giang", "Hương", "Khoa", "Long"]
    for name in names:
        make_resident(db, big, full_name=f"Đỗ Văn {name}", dob=date(1980, 1, 1))
    data = client.get(f"/groups/{family['group']['id']}/sheets.pdf").data
    texts = page_texts(data, tmp_path)
    assert len(texts) == 4
    assert all(name in texts[1] for name in names)
    assert "Install iHanoi" in texts[1] + texts[2]
    assert "Công an phường Tây Hồ" in texts[2] and "Hằng" in texts[3]
    pages = qr_payloads(data, tmp_path)
    assert [p for page in pages for p in page if "/r/" in p] == [
        household_url(h) for h in (family["first"], big, family["second"])]


@pytest.mark.parametrize("msgid", ["Guide to installing iHanoi", "Install iHanoi",
                                   "Log in with VNeID", "Follow the traffic police on Zalo"])
def test_vietnamese_step_text_extracts_with_its_diacritics(app, db, officer, client, family,
                                                            tmp_path, msgid):
    """In Vietnamese (the default), the sheet's own text comes out of the PDF as printed,
    diacritics and all."""
    from flask_babel import force_locale, gettext
    configure(db)
    with app.test_request_context(), force_locale("vi"):
        expected = gettext(msgid)
    assert expected != msgid, f"not translated: {msgid!r}"
    assert any(ord(ch) > 127 for ch in expected), expected  # really Vietnamese
    text = pdf_text(client.get(f"/households/{family['first']['id']}/sheet.pdf").data,
                    tmp_path)
    assert " ".join(expected.split()) in " ".join(text.split())
