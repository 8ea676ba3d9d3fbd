"""Spreadsheet import: encodings, XLSX, address splitting, row errors, all-or-nothing
apply, idempotence, formula-looking cells, size and row limits, the preview and progress
pages, the CLI, ward scoping and roles."""
import csv
import io
import json
import os
import pathlib
import time
import unicodedata
from datetime import date, datetime

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wardkit import audit, clock, create_app
from wardkit.files import file_clock
from wardkit.residents import addresses, fake, import_files, importer, queries
from wardkit.residents.search import search
from tests.conftest import TEST_CONFIG
from tests.factories import (WARD_A, WARD_B, make_group, make_household, make_resident,
                             make_user)

HX = {"HX-Request": "true"}
HEADER = ["STT", "Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Số điện thoại",
          "Địa chỉ", "Tổ dân phố", "Quan hệ với chủ hộ"]
RELATION_WORDS = {"head": "Chủ hộ", "spouse": ("Chồng", "Vợ"), "child": "Con",
                  "parent": ("Bố", "Mẹ"), "grandchild": "Cháu",
                  "grandparent": ("Ông", "Bà"), "sibling": ("Anh", "Chị"),
                  "relative": "Họ hàng", "other": "Người ở nhờ"}


@pytest.fixture
def app(db_path, tmp_path):
    """The app on this test's database, with uploads kept under the test's tmp dir."""
    return create_app({**TEST_CONFIG, "DATABASE": str(db_path),
                       "IMPORT_DIR": str(tmp_path / "imports")})


@pytest.fixture
def group7(db):
    return make_group(db, name="Tổ dân phố số 7")


# --- helpers ---------------------------------------------------------------------------

def person(name="Nguyễn Văn Hùng", dob="02/04/1958", gender="Nam", cccd="001058123456",
           phone="0912 345 678", address="Số 12, ngõ 34, Âu Cơ", group="Tổ dân phố số 7",
           relation="Chủ hộ"):
    return [name, dob, gender, cccd, phone, address, group, relation]


FAMILY = [
    person(),
    person("Trần Thị Lan", "15/08/1960", "Nữ", "001160654321", "0987 654 321",
           relation="Vợ"),
    person("Nguyễn Minh Anh", "01/06/2015", "Nữ", "", "", relation="Con"),
]


def csv_bytes(rows, header=HEADER, *, encoding="utf-8-sig", delimiter=",",
              numbered=True) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for i, row in enumerate(rows, start=1):
        writer.writerow([i, *row] if numbered else row)
    return out.getvalue().encode(encoding)


def ward_rows(groups, households, seed=7):
    """Rows as a group head's Excel export would have them, from the realistic generator."""
    names = {g["id"]: g["name"] for g in groups}
    rows = []
    for household, people in fake.generate_ward(seed, groups, households,
                                                today=clock.today()):
        address = queries.format_address(household["house_number"], household["lane"],
                                         household["street"])
        for p in people:
            word = RELATION_WORDS[p["relation"]]
            if isinstance(word, tuple):
                word = word[p["gender"] == "female"]
            rows.append(person(p["full_name"], p["dob"].strftime("%d/%m/%Y"),
                               "Nam" if p["gender"] == "male" else "Nữ", p["cccd"] or "",
                               p["phone"] or "", address, names[household["group_id"]], word))
    return rows


def plan_for(db, data, filename="list.csv", ward=WARD_A, **kwargs):
    table = import_files.read_table(data, filename)
    return importer.plan_import(db, ward, table, today=clock.today(), **kwargs)


def count(db, table="residents", ward=WARD_A):
    return db.execute(f"SELECT count(*) FROM {table} WHERE ward_code = ?", [ward]).fetchone()[0]


def stored_files(app):
    directory = app.config["IMPORT_DIR"]
    return os.listdir(directory) if os.path.isdir(directory) else []


def upload(auth, data, filename="list.csv", **form):
    return auth.post("/import", {"file": (io.BytesIO(data), filename), **form},
                     content_type="multipart/form-data")


def token_of(html):
    marker = 'name="token" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


def wait_done(auth, token, timeout=30):
    """Poll the status endpoint like the page does until the job stops running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = auth.post("/import/status", {"token": token},
                      headers={"HX-Target": "import-progress", **HX})
        assert r.status_code == 200, r.text
        if "every 1s" not in r.text:
            return r
        time.sleep(0.05)
    raise AssertionError("import did not finish")


def import_via_web(auth, data, filename="list.csv", **form):
    preview = upload(auth, data, filename, **form)
    assert preview.status_code == 200, preview.text
    token = token_of(preview.text)
    auth.post("/import/confirm", {"token": token},
              headers={"HX-Target": "import-actions", **HX})
    return preview, wait_done(auth, token)


# Legacy Vietnamese font encodings, for the refusal tests (enough of each table).
_TCVN3 = dict(zip(
    "ăâêôơưđĂÂÊÔƠƯĐàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ",
    [0xA8, 0xA9, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,
     0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBB, 0xBC, 0xBD, 0xBE, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA,
     0xCB, 0xCC, 0xCE, 0xCF, 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xDC,
     0xDD, 0xDE, 0xDF, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xEB,
     0xEC, 0xED, 0xEE, 0xEF, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA,
     0xFB, 0xFC, 0xFD, 0xFE]))


def tcvn3(text: str) -> bytes:
    """Encode like a .VnTime sheet: one byte per Vietnamese letter (capitals came from the
    .VnTimeH font, which uses the same codes)."""
    return bytes(_TCVN3.get(ch, _TCVN3.get(ch.lower(), ord(ch))) for ch in text)


_VNI_TONES = {"\u0300": "ø", "\u0301": "ù", "\u0309": "û", "\u0303": "õ", "\u0323": "ï"}
_VNI_HAT_TONES = {"": "â", "\u0300": "à", "\u0301": "á", "\u0309": "å", "\u0303": "ã",
                  "\u0323": "ä"}
_VNI_I = {"\u0300": "ì", "\u0301": "í", "\u0309": "æ", "\u0303": "ó", "\u0323": "ò"}


def vni(text: str) -> bytes:
    """Encode like a VNI-Times sheet: base letter + a Latin-1 byte for the marks."""
    out = []
    for ch in text:
        if ch in "đĐ":
            out.append("ñ" if ch == "đ" else "Ñ")
            continue
        base, *marks = unicodedata.normalize("NFD", ch)
        tone = next((m for m in marks if m in _VNI_TONES), "")
        if "\u031b" in marks:             # ơ ư are single letters in VNI
            base = {"o": "ô", "u": "ö", "O": "Ô", "U": "Ö"}[base]
        if base.lower() == "i" and tone:
            out.append(_VNI_I[tone])
        elif "\u0302" in marks:           # â ê ô: the hat and the tone share one byte
            out.append(base + _VNI_HAT_TONES[tone])
        else:
            out.append(base + (_VNI_TONES[tone] if tone else ""))
    return "".join(out).encode("cp1252")


def cp1258(text: str) -> bytes:
    """Encode like Windows-1258: letters ă â ê ô ơ ư đ precomposed, tones as combining
    marks after them."""
    tones = "\u0300\u0301\u0303\u0309\u0323"
    out = []
    for ch in unicodedata.normalize("NFC", text):
        marks = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(m for m in marks if m not in tones))
        out.append(base + "".join(m for m in marks if m in tones))
    return "".join(out).encode("cp1258")


# --- the address parser -------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Số 12, ngõ 34, Âu Cơ", ("12", "Ngõ 34", "Âu Cơ")),
    ("12 ngõ 34 Âu Cơ", ("12", "Ngõ 34", "Âu Cơ")),
    ("12A Ngõ 34 Ngách 5 Xuân Diệu", ("12A", "Ngõ 34, ngách 5", "Xuân Diệu")),
    ("Số 12, Ngõ 34, ngách 5, Âu Cơ", ("12", "Ngõ 34, ngách 5", "Âu Cơ")),
    ("12 Âu Cơ", ("12", None, "Âu Cơ")),
    ("số nhà 5 phố Âu Cơ", ("5", None, "Âu Cơ")),
    ("SN 5 Phố Huế", ("5", None, "Phố Huế")),
    ("12/3 ngõ 4/5 Đường Thành", ("12/3", "Ngõ 4/5", "Đường Thành")),
    ("12 ngo 34 Au Co", ("12", "Ngõ 34", "Au Co")),
    ("Số 7, ngõ Huyện, Hàng Trống", ("7", "Ngõ Huyện", "Hàng Trống")),
    ("Số 5, Ngõ Gạch", ("5", None, "Ngõ Gạch")),
    ("12 Ngô Quyền", ("12", None, "Ngô Quyền")),
    ("Số 12, ngõ 34, Xã Đàn", ("12", "Ngõ 34", "Xã Đàn")),
    ("Số 12, Âu Cơ, P. Tây Hồ, Hà Nội", ("12", None, "Âu Cơ")),
    ("Số 12 Ngõ 34, Âu Cơ, tổ 7", ("12", "Ngõ 34", "Âu Cơ")),
    ("Số 12, Phó Đức Chính", ("12", None, "Phó Đức Chính")),
    (unicodedata.normalize("NFD", "Số 12, ngõ 34, Âu Cơ"), ("12", "Ngõ 34", "Âu Cơ")),
])
def test_parse_address(text, expected):
    assert addresses.parse_address(text) == expected


@pytest.mark.parametrize("text", ["", "Âu Cơ", "12 ngõ 34", "12 Âu Cơ, Tây Hồ",
                                  "12 ngõ Huyện Hàng Trống", "=HYPERLINK(\"x\")",
                                  "1" * 31 + " Âu Cơ"])
def test_parse_address_refuses_what_it_cannot_split(text):
    with pytest.raises(addresses.AddressError):
        addresses.parse_address(text)


def test_address_written_either_way_is_the_same_household():
    a = queries.format_address(*addresses.parse_address("12A ngõ 34 ngách 5 Xuân Diệu"))
    b = queries.format_address(*addresses.split_columns_address("Số 12A", "Ngõ 34, Ngách 5",
                                                               "Phố Xuân Diệu"))
    assert a == b == "Số 12A, Ngõ 34, ngách 5, Xuân Diệu"
    assert addresses.split_columns_address("12", "34", "Âu Cơ") == ("12", "Ngõ 34", "Âu Cơ")


# --- reading: encodings, headers, XLSX ------------------------------------------------------

def test_headers_match_any_case_or_accents_and_unknown_columns_are_listed(db, group7):
    header = ["ho va ten", "DATE OF BIRTH", "Sex", "cccd", "SĐT", "address", "Tổ",
              "quan he", "Ghi chú", "STT"]
    rows = [["Nguyễn Văn Hùng", "02/04/1958", "M", "001058123456", "0912345678",
             "12 ngõ 34 Âu Cơ", "7", "chu ho", "hay vắng", "1"]]
    table = import_files.read_table(csv_bytes(rows, header, numbered=False), "x.csv")
    assert set(table.columns) == {"full_name", "dob", "gender", "cccd", "phone", "address",
                                  "group", "relation"}
    assert table.unknown == ["Ghi chú"]      # STT is recognised and ignored
    plan = importer.plan_import(db, WARD_A, table, today=clock.today())
    assert plan.errors == [] and plan.to_add == 1


def test_title_rows_above_the_header_keep_spreadsheet_row_numbers(db, group7):
    text = ("DANH SÁCH NHÂN KHẨU TỔ 7,,,,,,,,\n,,,,,,,,\n"
            + csv_bytes([person(dob="31/02/1990")]).decode("utf-8-sig"))
    table = import_files.read_table(text.encode(), "x.csv")
    assert table.header_row == 3
    plan = importer.plan_import(db, WARD_A, table, today=clock.today())
    assert [(row, field) for row, field, _ in plan.errors] == [(4, "dob")]


def test_missing_required_columns_refused_before_any_row(db, group7):
    with pytest.raises(import_files.ImportRefused) as exc:
        import_files.read_table(csv_bytes([["Nguyễn Văn Hùng", "12 Âu Cơ", "Chủ hộ"]],
                                      ["Họ và tên", "Địa chỉ", "Quan hệ", ],
                                      numbered=False), "x.csv")
    message = str(exc.value.message)
    assert "Ngày sinh" in message and "Giới tính" in message and exc.value.status == 422
    header = [h for h in HEADER if h != "Tổ dân phố"]
    table = import_files.read_table(csv_bytes([[1, *person()[:6], "Chủ hộ"]], header,
                                          numbered=False), "x.csv")
    with pytest.raises(import_files.ImportRefused, match="Tổ dân phố"):
        importer.plan_import(db, WARD_A, table, today=clock.today())
    plan = importer.plan_import(db, WARD_A, table, today=clock.today(),
                                default_group_id=group7["id"])
    assert plan.to_add == 1


def test_utf8_bom_csv_imports(db, group7):
    data = csv_bytes(FAMILY)
    assert data.startswith(b"\xef\xbb\xbf")
    table = import_files.read_table(data, "x.csv")
    assert table.encoding == "UTF-8 (BOM)" and table.header[1] == "Họ và tên"
    plan = importer.plan_import(db, WARD_A, table, today=clock.today())
    assert plan.counts()["to_add"] == 3 and plan.households_new == 1
    importer.apply_import(db, WARD_A, plan, by=None)
    [household] = db.query("SELECT * FROM households WHERE ward_code = ?", [WARD_A])
    assert household["address"] == "Số 12, Ngõ 34, Âu Cơ"
    people = queries.list_residents(db, household["id"])
    assert [p["full_name"] for p in people] == ["Nguyễn Văn Hùng", "Trần Thị Lan",
                                                "Nguyễn Minh Anh"]
    assert people[0]["phone"] == "0912345678" and people[0]["lawful_basis"] == "official_duty"
    assert people[2]["cccd"] is None and people[2]["relation"] == "child"


def test_utf16_tab_separated_as_excel_unicode_text(db, group7):
    data = csv_bytes(FAMILY, encoding="utf-16", delimiter="\t")
    assert data[:2] == b"\xff\xfe"
    table = import_files.read_table(data, "danh sach.txt")
    assert table.encoding == "UTF-16" and table.delimiter == "\t"
    plan = importer.plan_import(db, WARD_A, table, today=clock.today())
    assert plan.errors == [] and plan.to_add == 3


def test_semicolon_csv_with_commas_in_addresses(db, group7):
    table = import_files.read_table(csv_bytes(FAMILY, encoding="utf-8", delimiter=";"), "x.csv")
    assert table.delimiter == ";" and table.encoding == "UTF-8"
    assert importer.plan_import(db, WARD_A, table, today=clock.today()).to_add == 3


def test_windows_1258_combining_tones_are_stored_nfc(db, group7):
    text = csv_bytes(FAMILY, encoding="utf-8").decode()
    data = cp1258(text)
    assert "\u0303".encode("cp1258") in data          # ễ is e + a combining tilde byte
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    table = import_files.read_table(data, "x.csv")
    assert table.encoding == "Windows-1258"
    plan = importer.plan_import(db, WARD_A, table, today=clock.today())
    assert plan.errors == []
    importer.apply_import(db, WARD_A, plan, by=None)
    names = [r[0] for r in db.execute("SELECT full_name FROM residents")]
    assert "Nguyễn Văn Hùng" in names
    assert all(unicodedata.is_normalized("NFC", n) for n in names)
    [address] = [r[0] for r in db.execute("SELECT address FROM households")]
    assert address == "Số 12, Ngõ 34, Âu Cơ"


@pytest.mark.parametrize("encode", [tcvn3, vni], ids=["TCVN3", "VNI"])
def test_legacy_font_encodings_are_refused(db, group7, encode):
    data = encode(csv_bytes(FAMILY * 2, encoding="utf-8").decode())
    with pytest.raises(import_files.ImportRefused) as exc:
        import_files.read_table(data, "x.csv")
    assert "CSV UTF-8" in str(exc.value.message) and "TCVN3" in str(exc.value.message)


def test_legacy_encoding_refused_on_the_page_and_nothing_stored(client, db, auth, officer,
                                                                group7, app):
    r = upload(auth, tcvn3(csv_bytes(FAMILY, encoding="utf-8").decode()))
    assert r.status_code == 422
    assert 'id="import-error"' in r.text and "CSV UTF-8" in r.text
    assert count(db) == 0
    assert stored_files(app) == []


def test_real_vietnamese_and_foreign_names_are_not_taken_for_garbling():
    assert not import_files.looks_garbled(csv_bytes(FAMILY * 20).decode("utf-8-sig"))
    assert not import_files.looks_garbled("Müller, José, François, Nguyễn Thị Hồng Đào")
    assert import_files.looks_garbled("NguyÔn V¨n Hïng, TrÇn ThÞ Lan, §ç §øc Anh")


def xlsx_bytes(rows, header=HEADER[1:]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_xlsx_numeric_cccd_phone_and_date_cells(db, group7):
    data = xlsx_bytes([
        ["Nguyễn Văn Hùng", datetime(1958, 4, 2), "Nam", 1058123456, 912345678,
         "Số 12, ngõ 34, Âu Cơ", "Tổ 7", "Chủ hộ"],
        ["Trần Thị Lan", "15/08/1960", "Nữ", "001160654321", "0987654321",
         "Số 12, ngõ 34, Âu Cơ", 7, "Vợ"],
        ["Nguyễn Minh Anh", date(2015, 6, 1), "Nữ", None, None, "Số 12, ngõ 34, Âu Cơ",
         "tổ dân phố số 7", "Con"],
    ])
    table = import_files.read_table(data, "danh sach.xlsx")
    assert table.kind == "xlsx"
    plan = importer.plan_import(db, WARD_A, table, today=clock.today())
    assert plan.errors == [] and plan.to_add == 3
    [(row, field, message)] = [w for w in plan.warnings if w[1] == "cccd"]
    assert row == 2 and "001058123456" in str(message)
    importer.apply_import(db, WARD_A, plan, by=None)
    head = db.execute("SELECT cccd, phone, dob FROM residents WHERE relation = 'head'")
    assert head.fetchone() == ("001058123456", "0912345678", "1958-04-02")


def test_broken_xlsx_and_old_xls_are_refused():
    with pytest.raises(import_files.ImportRefused, match="could not be read"):
        import_files.read_table(b"PK\x03\x04 not really a zip", "x.xlsx")
    with pytest.raises(import_files.ImportRefused, match=".xlsx"):
        import_files.read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "x.xls")


# --- formula-looking cells -------------------------------------------------------------------

def test_formula_looking_cells_are_refused_never_evaluated(db, group7):
    rows = [person(name="=HYPERLINK(\"http://evil.example\",\"Nguyễn Văn Hùng\")"),
            person(name="@SUM(A1:A9)", cccd="001160654321", gender="Nữ", dob="15/08/1960",
                   relation="Vợ"),
            person(name="-Trần Văn Nam", cccd="", dob="01/01/1990", relation="Con"),
            person(name="+84 912 345 678", cccd="", dob="01/01/1991", relation="Con"),
            person(name="Lê Thị Hoa", cccd="", dob="02/02/1992", relation="Con",
                   phone="+84 912 345 678")]
    plan = plan_for(db, csv_bytes(rows))
    assert [(row, field) for row, field, _ in plan.errors] == [
        (2, "full_name"), (3, "full_name"), (4, "full_name"), (5, "full_name")]
    assert "formula" in str(plan.errors[0][2])
    assert plan.to_add == 1                      # "+84…" in the phone column is a phone
    importer.apply_import(db, WARD_A, plan, by=None)
    assert db.execute("SELECT full_name, phone FROM residents").fetchall() == [
        ("Lê Thị Hoa", "0912345678")]


def test_xlsx_formulas_are_read_as_values_never_run(db, group7):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER[1:])
    sheet.append(['=HYPERLINK("http://evil.example","x")', "02/04/1958", "Nam", "", "",
                  "Số 12, ngõ 34, Âu Cơ", "7", "Chủ hộ"])
    sheet.append(["=1+1", "15/08/1960", "Nữ", "", "", "Số 12, ngõ 34, Âu Cơ", "7", "Vợ"])
    sheet["A3"].data_type = "s"                  # a text cell that only looks like one
    out = io.BytesIO()
    workbook.save(out)
    plan = plan_for(db, out.getvalue(), "x.xlsx")
    # The formula has no cached value (never calculated): the name is empty, not run.
    assert [(row, field) for row, field, _ in plan.errors] == [(2, "full_name"),
                                                               (3, "full_name")]
    assert "formula" in str(plan.errors[1][2]) and plan.to_add == 0


# --- rows: values, errors, duplicates ----------------------------------------------------------

def test_values_in_vietnamese_or_english_map_to_codes(db, group7):
    rows = [person(relation="chủ hộ", gender="nam"),
            person("Trần Thị Lan", "15/08/1960", "F", "", "", relation="Vo"),
            person("Nguyễn Văn Bình", "01/06/1935", "male", "", "", relation="Bố"),
            person("Nguyễn Thị Hoa", "01/06/2012", "Nữ", "", "", relation="Cháu nội"),
            person("Vũ Văn Tư", "01/06/1990", "Nam", "", "", relation="Người thuê nhà")]
    plan = plan_for(db, csv_bytes(rows))
    assert plan.errors == []
    relations = [p["relation"] for _, people in plan.items for p in people]
    assert relations == ["head", "spouse", "parent", "grandchild", "other"]


def test_unknown_values_name_row_and_field(db, group7):
    rows = [person(gender="Không rõ"), person(cccd="", relation="Sếp", dob="01/01/1980",
                                              name="Lê Văn Tám"),
            person(cccd="1.00108E+11", dob="01/01/1981", name="Lê Văn Chín"),
            person(cccd="", dob="01/01/1982", name="Lê Văn Mười", group="Tổ 99"),
            person(cccd="", dob="01/01/1983", name="Lê Văn Một", address="Âu Cơ")]
    plan = plan_for(db, csv_bytes(rows))
    found = {(row, field): str(message) for row, field, message in plan.errors}
    assert set(found) == {(2, "gender"), (3, "relation"), (4, "cccd"), (5, "group"),
                          (6, "address")}
    assert "Nam" in found[2, "gender"] and "Sếp" in found[3, "relation"]
    assert "scientific" in found[4, "cccd"] and "Tổ 99" in found[5, "group"]
    assert plan.error_rows == 5 and plan.to_add == 0


def test_eth_in_names_and_addresses_is_stored_as_d_stroke_and_found(db, group7):
    """A sheet that once went through Windows-1252 has Ð where Đ was."""
    rows = [person("\u00d0ẶNG VĂN HÙNG", address="Số 5, \u00d0ội Cấn"),
            person("\u00d0ỗ Thị \u00f0ào", "15/08/1960", "Nữ", "", "", address="Số 5, Đội Cấn",
                   relation="Vợ")]
    plan = plan_for(db, csv_bytes(rows))
    assert plan.errors == [] and plan.households_new == 1       # one address, one household
    importer.apply_import(db, WARD_A, plan, by=None)
    names = sorted(r[0] for r in db.execute("SELECT full_name FROM residents"))
    assert names == ["ĐẶNG VĂN HÙNG", "Đỗ Thị đào"]
    assert [r[0] for r in db.execute("SELECT address FROM households")] == ["Số 5, Đội Cấn"]
    for q, found in (("đặng", "ĐẶNG VĂN HÙNG"), ("dang hung", "ĐẶNG VĂN HÙNG"),
                     ("đỗ đào", "Đỗ Thị đào"), ("do thi dao", "Đỗ Thị đào")):
        assert [r["full_name"] for r in search(db, WARD_A, q)[0]] == [found], q


def test_name_errors_are_row_errors_naming_the_character(db, group7):
    rows = [person(),
            person("Trần Thị L\u0430n", "15/08/1960", "Nữ", "001160654321", relation="Vợ"),
            person("Nguyễn Minh Anh 2", "01/06/2015", "Nữ", "", "", relation="Con"),
            person("Nguyễn Văn 😀", "01/06/2016", "Nam", "", "", relation="Con"),
            person("Bình", "01/06/2017", "Nam", "", "", relation="Con")]
    plan = plan_for(db, csv_bytes(rows))
    found = {(row, field): str(message) for row, field, message in plan.errors}
    assert set(found) == {(3, "full_name"), (4, "full_name"), (5, "full_name")}
    assert "“\u0430”" in found[3, "full_name"] and "Cyrillic" in found[3, "full_name"]
    assert "“2”" in found[4, "full_name"] and "“😀”" in found[5, "full_name"]
    # A one-word name is only a warning: the row is imported and the warning listed.
    assert plan.to_add == 2
    assert any(row == 6 and "one word" in str(m) for row, _, m in plan.warnings)
    importer.apply_import(db, WARD_A, plan, by=None)
    assert sorted(r[0] for r in db.execute("SELECT full_name FROM residents")) == [
        "Bình", "Nguyễn Văn Hùng"]


def test_a_cyrillic_letter_is_shown_on_the_preview_in_vietnamese(client, db, auth, officer,
                                                                 group7):
    r = upload(auth, csv_bytes([person("Nguyễn V\u0430n Hùng")]))
    assert r.status_code == 200
    assert "Ký tự “\u0430” (chữ Kirin) trong “V\u0430n” không phải chữ cái tiếng Việt" in r.text
    assert 'id="count-errors">1<' in r.text and count(db) == 0


def test_cells_quoted_in_row_errors_are_escaped_on_the_preview(client, db, auth, officer,
                                                                 group7):
    rows = [person(gender="<script>alert(1)</script>"),
            person("Trần Thị Lan", "15/08/1960", "Nữ", "", "", relation="<img src=x>"),
            person("Lê Văn Tám", "01/01/1980", "Nam", "", "", group="<b>7</b>"),
            person("Lê <i>Văn</i> Chín", "01/01/1981", "Nam", "", "")]
    r = upload(auth, csv_bytes(rows))
    assert r.status_code == 200 and 'id="count-errors">4<' in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    for markup in ("<script>alert", "<img src=x>", "<b>7", "<i>Văn"):
        assert markup not in r.text


def test_same_cccd_twice_in_the_file_names_the_first_row(db, group7):
    rows = [*FAMILY, person("Nguyễn Văn Hưng", dob="02/04/1958", address="Số 40, Âu Cơ")]
    plan = plan_for(db, csv_bytes(rows))
    [(row, field, message)] = plan.errors
    assert (row, field) == (5, "cccd") and "row 2" in str(message)
    assert plan.to_add == 3


def test_group_by_number_and_households_grouped_by_address(db, group7):
    other = make_group(db, name="Tổ dân phố số 8")
    rows = [person(group="7"), person("Trần Thị Lan", "15/08/1960", "Nữ", "", "",
                                      address="12 Ngõ 34 Âu Cơ", group="Tổ 7", relation="Vợ"),
            person("Lê Văn An", "01/01/1970", "Nam", "", "", group="tdp 08")]
    plan = plan_for(db, csv_bytes(rows))
    assert plan.errors == [] and plan.households_new == 2
    assert [(h["group_id"], len(p)) for h, p in plan.items] == [(group7["id"], 2),
                                                                (other["id"], 1)]


def test_existing_household_at_the_address_is_reused(db, group7):
    household = make_household(db, group=group7, house_number="12", lane="Ngõ 34",
                               street="Âu Cơ")
    make_resident(db, household, full_name="Nguyễn Văn Hùng", dob=date(1958, 4, 2),
                  gender="male", relation="head")      # registered without a CCCD
    plan = plan_for(db, csv_bytes(FAMILY))
    assert (plan.already, plan.to_add) == (1, 2)
    assert plan.households_new == 0 and plan.households_existing == 1
    assert any("without this CCCD" in str(m) for _, _, m in plan.warnings)
    importer.apply_import(db, WARD_A, plan, by=None)
    assert len(queries.list_residents(db, household["id"])) == 3
    assert count(db, "households") == 1


# --- all or nothing, big files ---------------------------------------------------------------

@pytest.fixture
def five_thousand(db):
    groups = [make_group(db, name=f"Tổ dân phố số {k}") for k in range(1, 5)]
    rows = ward_rows(groups, 1600)[:5000]
    assert len(rows) == 5000
    return rows


def test_bad_row_4000_of_5000_is_named_and_the_rest_imports(db, five_thousand):
    rows = [list(r) for r in five_thousand]
    rows[3998][1] = "31/02/1990"        # data row 3999 = spreadsheet row 4000
    plan = plan_for(db, csv_bytes(rows))
    assert plan.rows == 5000
    assert [(row, field) for row, field, _ in plan.errors] == [(4000, "dob")]
    assert plan.label("dob") == "Ngày sinh"
    counts = importer.apply_import(db, WARD_A, plan, by=None)
    assert counts["residents_added"] == count(db) == 4999
    fts = db.execute("SELECT count(*) FROM residents_fts").fetchone()[0]
    assert fts == 4999


def test_failure_during_apply_leaves_nothing(db, five_thousand, monkeypatch):
    plan = plan_for(db, csv_bytes(five_thousand))
    real = queries.bulk_create
    seen = {}

    def failing(db, *, items, **kwargs):
        def items_then_fail():
            people = 0
            for household, residents in items:
                if people >= 3000:   # after the first 2,000-person batch was written
                    seen["inserted"] = db.execute(
                        "SELECT count(*) FROM residents").fetchone()[0]
                    raise RuntimeError("disk full")
                people += len(residents)
                yield household, residents
        return real(db, items=items_then_fail(), **kwargs)

    monkeypatch.setattr(queries, "bulk_create", failing)
    with pytest.raises(RuntimeError):
        importer.apply_import(db, WARD_A, plan, by=None)
    assert seen["inserted"] >= 2000                  # a batch was in the transaction…
    assert count(db) == 0 and count(db, "households") == 0     # …and rolled back
    assert db.execute("SELECT count(*) FROM residents_fts").fetchone()[0] == 0
    assert audit.entries(db, action="residents_imported") == []
    assert not db.conn.in_transaction


def test_oversized_upload_answers_413(client, db, auth, officer, group7, app):
    assert app.config["MAX_CONTENT_LENGTH"] == 20 * 1024 * 1024
    r = upload(auth, b"x" * (20 * 1024 * 1024 + 1))
    assert r.status_code == 413 and "20 MB" in r.text
    with pytest.raises(import_files.ImportRefused) as exc:
        import_files.read_table(b"x" * (import_files.MAX_BYTES + 1), "x.csv")
    assert exc.value.status == 413


def test_more_than_200000_rows_refused_with_413(client, db, auth, officer, group7, app):
    line = "A,01/01/1990,Nam,1 Âu Cơ,7,Chủ hộ\n"
    data = ("Họ và tên,Ngày sinh,Giới tính,Địa chỉ,Tổ,Quan hệ\n"
            + line * (import_files.MAX_ROWS + 1)).encode()
    assert len(data) < import_files.MAX_BYTES
    r = upload(auth, data)
    assert r.status_code == 413
    assert 'id="import-error"' in r.text and "200,000" in r.text
    assert count(db) == 0 and stored_files(app) == []


# --- the web flow -----------------------------------------------------------------------------

def test_upload_page_lists_the_recognised_headers(client, officer, group7):
    r = client.get("/import")
    assert r.status_code == 200
    assert 'type="file"' in r.text and 'accept=".csv,' in r.text and ".xlsx" in r.text
    assert "Quan hệ với chủ hộ" in r.text and "Tổ dân phố số 7" in r.text


def test_preview_shows_counts_row_numbers_and_fields(client, db, auth, officer, group7):
    rows = [*FAMILY, person("Lê Văn Tám", "31/02/1990", "Nam", "", "", relation="Con"),
            person("Lê Văn Chín", "01/01/1991", "Nam", "", "12345", relation="Con")]
    r = upload(auth, csv_bytes(rows, HEADER + ["Ghi chú"]))
    assert r.status_code == 200
    assert 'id="count-to-add">3<' in r.text and 'id="count-errors">2<' in r.text
    assert 'id="count-households-new">1<' in r.text
    assert '<td class="num">5</td><td>Ngày sinh</td>' in r.text
    assert '<td class="num">6</td><td>Số điện thoại</td>' in r.text
    assert "Ghi chú" in r.text.split('id="unknown-columns"')[1][:200]
    assert 'id="basis-note"' in r.text                    # official duty by default
    assert 'name="token"' in r.text and count(db) == 0   # nothing written yet
    entry = audit.entries(db, action="import_previewed")[0]
    assert json.loads(entry["detail"])["to_add"] == 3 and "Hùng" not in entry["detail"]


def test_stored_upload_is_private_and_deleted_after_confirm(client, db, auth, officer,
                                                             group7, app):
    r = upload(auth, csv_bytes(FAMILY))
    token = token_of(r.text)
    stored = os.path.join(app.config["IMPORT_DIR"], f"{token}.upload")
    assert os.stat(stored).st_mode & 0o777 == 0o600
    assert token not in r.headers.get("Set-Cookie", "")
    r = auth.post("/import/confirm", {"token": token},
                  headers={"HX-Target": "import-actions", **HX})
    assert r.status_code == 200 and 'hx-trigger="every 1s"' in r.text
    assert 'hx-post="/import/status"' in r.text and token in r.text
    result = wait_done(auth, token)
    assert 'id="import-result"' in result.text
    assert not os.path.exists(stored)
    assert count(db) == 3


def test_full_import_with_progress_and_audit(client, db, auth, officer, five_thousand):
    preview, result = import_via_web(auth, csv_bytes(five_thousand))
    assert 'id="count-to-add">5.000<' in preview.text or \
        'id="count-to-add">5,000<' in preview.text
    assert "import-result" in result.text and count(db) == 5000
    [entry] = audit.entries(db, action="residents_imported")
    detail = json.loads(entry["detail"])
    assert detail["residents_added"] == 5000 and detail["via"] == "web"
    assert entry["user_id"] == officer["id"] and entry["ward_code"] == WARD_A
    assert not any(r[1] in entry["detail"] for r in five_thousand[:50])   # no names


def test_reimporting_the_same_file_adds_nothing(client, db, auth, officer, group7):
    data = csv_bytes([*FAMILY, person("Lê Văn Tám", "31/02/1990", cccd="", relation="Con")])
    import_via_web(auth, data)
    assert count(db) == 3 and count(db, "households") == 1
    r = upload(auth, data)
    assert 'id="count-to-add">0<' in r.text and 'id="count-already">3<' in r.text
    assert 'id="count-errors">1<' in r.text
    assert 'id="nothing-to-import"' in r.text and 'name="token"' not in r.text
    plan = plan_for(db, data)
    assert (plan.to_add, plan.already, plan.households_new) == (0, 3, 0)
    assert count(db) == 3 and count(db, "households") == 1


def test_confirm_twice_imports_once(client, db, auth, officer, group7):
    token = token_of(upload(auth, csv_bytes(FAMILY)).text)
    auth.post("/import/confirm", {"token": token}, headers={"HX-Target": "import-actions", **HX})
    auth.post("/import/confirm", {"token": token}, headers={"HX-Target": "import-actions", **HX})
    wait_done(auth, token)
    assert count(db) == 3 and len(audit.entries(db, action="residents_imported")) == 1


def test_data_changed_since_the_preview_is_planned_again(client, db, auth, officer, group7):
    token = token_of(upload(auth, csv_bytes(FAMILY)).text)
    household = make_household(db, group=group7, house_number="12", lane="Ngõ 34",
                               street="Âu Cơ")
    make_resident(db, household, full_name="Nguyễn Văn Hùng", dob=date(1958, 4, 2),
                  gender="male", relation="head", cccd="001058123456")
    auth.post("/import/confirm", {"token": token}, headers={"HX-Target": "import-actions", **HX})
    result = wait_done(auth, token)
    assert "import-result" in result.text
    assert count(db) == 3 and count(db, "households") == 1


def test_another_users_token_is_404_and_cancel_deletes(client, db, auth, officer, group7,
                                                        app):
    token = token_of(upload(auth, csv_bytes(FAMILY)).text)
    auth.logout()
    make_user(db, username="binh", role="officer")
    auth.login("binh")
    assert auth.post("/import/confirm", {"token": token}).status_code == 404
    assert auth.post("/import/status", {"token": token}).status_code == 404
    assert auth.post("/import/confirm", {"token": "../../etc/passwd"}).status_code == 404
    auth.logout()
    auth.login("an")
    r = auth.post("/import/cancel", {"token": token})
    assert r.status_code == 303
    assert not os.path.exists(os.path.join(app.config["IMPORT_DIR"], f"{token}.upload"))
    assert auth.post("/import/confirm", {"token": token}).status_code == 404   # expired
    assert count(db) == 0


def test_uploads_older_than_an_hour_are_swept(client, db, auth, officer, group7, app):
    from wardkit.residents import import_views
    token = token_of(upload(auth, csv_bytes(FAMILY)).text)
    with app.app_context():
        now = file_clock(pathlib.Path(app.config["IMPORT_DIR"]))
        assert import_views.sweep(now + 30 * 60) == 0
        assert import_views.sweep(now + 61 * 60) == 2     # .upload and .json
    assert stored_files(app) == []
    r = auth.post("/import/confirm", {"token": token})
    assert r.status_code == 404 and 'id="import-error"' in r.text


def test_failure_in_the_background_job_is_shown_and_nothing_saved(client, db, auth, officer,
                                                                    group7, monkeypatch):
    token = token_of(upload(auth, csv_bytes(FAMILY)).text)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(queries, "bulk_create", broken)
    auth.post("/import/confirm", {"token": token}, headers={"HX-Target": "import-actions", **HX})
    result = wait_done(auth, token)
    assert 'id="import-failed"' in result.text and count(db) == 0


# --- command line ---------------------------------------------------------------------------

def test_cli_dry_run_writes_nothing_then_real_run_writes(runner, db, group7, tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes(csv_bytes([*FAMILY, person("Lê Văn Tám", "31/02/1990", cccd="",
                                                relation="Con")]))
    r = runner.invoke(args=["import-residents", str(path), "--ward", "103", "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "row 5, Ngày sinh:" in r.output and "to add 3" in r.output
    assert "Dry run" in r.output and count(db) == 0
    r = runner.invoke(args=["import-residents", str(path), "--ward", WARD_A])
    assert r.exit_code == 0, r.output
    assert "Imported 3 people" in r.output and count(db) == 3
    [entry] = audit.entries(db, action="residents_imported")
    assert entry["user_id"] is None and json.loads(entry["detail"])["via"] == "cli"


def test_cli_group_option_and_refusals(runner, db, group7, tmp_path):
    path = tmp_path / "list.csv"
    header = [h for h in HEADER if h != "Tổ dân phố"]
    path.write_bytes(csv_bytes([[*p[:6], p[7]] for p in FAMILY], header))
    r = runner.invoke(args=["import-residents", str(path), "--ward", WARD_A])
    assert r.exit_code == 1 and "Tổ dân phố" in r.output
    r = runner.invoke(args=["import-residents", str(path), "--ward", WARD_A, "--group", "7"])
    assert r.exit_code == 0 and count(db) == 3
    bad = tmp_path / "bad.csv"
    bad.write_bytes(tcvn3(csv_bytes(FAMILY, encoding="utf-8").decode()))
    r = runner.invoke(args=["import-residents", str(bad), "--ward", WARD_A])
    assert r.exit_code == 1 and "CSV UTF-8" in r.output
    r = runner.invoke(args=["import-residents", str(path), "--ward", "99999"])
    assert r.exit_code == 1


# --- ward scoping and roles -----------------------------------------------------------------

def test_import_never_touches_another_ward(client, db, auth, officer, group7):
    group_b = make_group(db, ward_code=WARD_B, name="Tổ dân phố số 9")
    household_b = make_household(db, group=group_b, ward_code=WARD_B, house_number="12",
                                 lane="Ngõ 34", street="Âu Cơ")
    make_resident(db, household_b, full_name="Nguyễn Văn Hùng", dob=date(1958, 4, 2),
                  gender="male", relation="head", cccd="001058123456")
    rows = [*FAMILY, person("Lê Văn Tám", "01/01/1990", cccd="", relation="Con",
                            group="Tổ dân phố số 9")]
    preview, result = import_via_web(auth, csv_bytes(rows))
    assert "Tổ dân phố số 9" in preview.text.split('id="import-errors"')[1]
    # Ward B's CCCD and household do not count in ward A: the family is added in A.
    assert count(db, ward=WARD_A) == 3 and count(db, "households", WARD_A) == 1
    assert count(db, ward=WARD_B) == 1 and count(db, "households", WARD_B) == 1
    assert db.execute("SELECT updated_at FROM households WHERE id = ?",
                      [household_b["id"]]).fetchone()[0] == household_b["updated_at"]
    # A group id of another ward is refused as the default group too.
    with pytest.raises(import_files.ImportRefused):
        plan_for(db, csv_bytes(FAMILY), default_group_id=group_b["id"])


@pytest.mark.parametrize("role", ["kiosk", "viewer"])
def test_kiosk_and_viewer_cannot_import(client, db, auth, group7, role):
    make_user(db, username="k", role=role)
    auth.login("k")
    refused = 404 if role in ("viewer", "kiosk") else 403  # a viewer (and a kiosk device) learns nothing: 404
    assert client.get("/import").status_code == refused
    token = auth.token("/")
    for path in ("/import", "/import/confirm", "/import/status", "/import/cancel"):
        r = client.post(path, data={"csrf_token": token, "token": "x" * 43,
                                    "file": (io.BytesIO(csv_bytes(FAMILY)), "x.csv")},
                        content_type="multipart/form-data")
        assert r.status_code == refused, path
    assert count(db) == 0


def test_anonymous_is_sent_to_login(client):
    r = client.get("/import")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_people_added_after_the_plan_make_apply_plan_again(db, group7):
    """Two officers importing overlapping lists at once must not add anyone twice."""
    data = csv_bytes(FAMILY)
    table = import_files.read_table(data, "x.csv")
    plan = importer.plan_import(db, WARD_A, table, today=clock.today())
    other = importer.plan_import(db, WARD_A, table, today=clock.today())
    importer.apply_import(db, WARD_A, other, by=None)            # the other import wins
    with pytest.raises(importer.RegisterChanged):
        importer.apply_import(db, WARD_A, plan, by=None)
    assert count(db) == 3
    plan, counts = importer.plan_and_apply(db, WARD_A, table, today=clock.today(),
                                           by=None, via="test")
    assert counts["residents_added"] == 0 and plan.already == 3 and count(db) == 3
    # Another ward's additions do not disturb this ward's import.
    plan = importer.plan_import(db, WARD_A, table, today=clock.today())
    make_resident(db, make_household(db, ward_code=WARD_B), full_name="Lê Văn B")
    importer.apply_import(db, WARD_A, plan, by=None)


_CELLS = st.sampled_from(["", "Nguyễn Văn Hùng", "02/04/1958", "Nam", "Nữ", "x", "7",
                          "Chủ hộ", "Số 12, ngõ 34, Âu Cơ", "001058123456", "0912345678",
                          "=1+1", '"', "\u200b", "§ø", "1.08E+11", "12 ngõ", "\t", ";"])
_HEAD = "Họ và tên,Ngày sinh,Giới tính,Số CCCD,Số điện thoại,Địa chỉ,Tổ,Quan hệ\n"


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda t: (_HEAD + t).encode()),
    st.lists(st.lists(_CELLS, max_size=10), max_size=8).map(
        lambda rows: (_HEAD + "\n".join(",".join(r) for r in rows)).encode())))
def test_any_input_is_planned_or_refused_never_crashes(db, group7, data):
    try:
        table = import_files.read_table(data, "x.csv")
        plan = importer.plan_import(db, WARD_A, table, today=clock.today())
    except import_files.ImportRefused as exc:
        assert str(exc.message)
        return
    assert plan.rows == plan.to_add + plan.already + plan.error_rows
    assert all(isinstance(row, int) and row >= 2 for row, _, _ in plan.errors)


def test_mac_line_endings_and_excel_sep_line(db, group7):
    text = csv_bytes(FAMILY, encoding="utf-8").decode().replace("\r\n", "\r")
    assert importer.plan_import(db, WARD_A, import_files.read_table(text.encode(), "x.csv"),
                                today=clock.today()).to_add == 3
    text = "sep=;\r\n" + csv_bytes(FAMILY, encoding="utf-8", delimiter=";").decode()
    table = import_files.read_table(text.encode(), "x.csv")
    assert table.delimiter == ";" and table.header_row == 1
    assert importer.plan_import(db, WARD_A, table, today=clock.today()).to_add == 3
