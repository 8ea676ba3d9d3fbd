"""The daily report's files: the PDF (text read back with pdfium and pdftotext, the
national motto and every Vietnamese letter intact, qpdf's structure check, a pdfium
render, embedded fonts, A4, no person in its metadata, a draft's mark and a revision's
reason), the XLSX (numbers as numbers, frozen header, the ward total, the day series), the
city's JSON (its schema, its hash, no field of a resident), the downloads (who may, 404s,
the audit row) and `flask reports export`.

The PDFs, the XLSX and the JSON of one ward are rendered once for the module (a PDF costs
a good part of a second)."""
import hashlib
import io
import json
import pathlib
import shutil
import subprocess
from datetime import date, datetime, timezone

import pytest

from tests import pdfcheck
from tests.conftest import TEST_CONFIG, FakeClock
from tests.factories import (WARD_A, make_declaration, make_group, make_household,
                             make_resident, make_user, make_visit)
from wardkit import clock, create_app
from wardkit.db import connect
from wardkit.reports import cityfile, exports, snapshots
from wardkit.reports.figures import COUNTS
from wardkit.reports.pdf import date_line, proper_name
from wardkit.reports.xlsx import COUNT_LABELS

ROOT = pathlib.Path(__file__).resolve().parent.parent
# 2 and 3 December 2026, 07:30 in Hanoi: just after each day's cut-off.
DAY1_AT = datetime(2026, 12, 2, 0, 30, tzinfo=timezone.utc)
DAY2_AT = datetime(2026, 12, 3, 0, 30, tzinfo=timezone.utc)
DAY2 = "2026-12-03"
NOTE = "Nhiều hộ vắng nhà ban ngày.\nĐề xuất: tổ chức vận động vào buổi tối."
SIGNER = "Nguyễn Văn Hùng"
GROUPS = ("Tổ dân phố Đồng Cổ", "Tổ 2 – Quảng Bá", "=HYPERLINK(\"x\")")


def _build_ward(db, fake):
    """Three groups with Vietnamese names (one that looks like a formula), residents,
    visits and declarations on two days; return the groups."""
    fake.current = DAY1_AT
    officer = make_user(db, username="can.bo.files")
    groups = [make_group(db, name=name, target_adults=target, cluster=cluster)
              for name, target, cluster in zip(GROUPS, (6, 4, 0), ("Cụm 1", None, "Cụm 2"))]
    people, homes = [], []
    for group, count in zip(groups, (4, 3, 1)):
        home = make_household(db, group=group)
        homes.append(home)
        make_household(db, group=group)  # never visited
        for n in range(count):
            people.append(make_resident(db, home, full_name=f"Lê Thị Ánh {n}",
                                        dob=date(1980 + n, 1, 1),
                                        ihanoi_status="activated" if n == 0 else "unknown"))
        make_visit(db, home, outcome="done", by=officer["id"])
    make_declaration(db, people[0], kind="licence", status="verified")
    return groups, homes, people, officer


@pytest.fixture(scope="module")
def built(migrated_template, tmp_path_factory):
    """Render the files of a ward's report once: the locked revision 1 of 3 December
    (PDF, XLSX, JSON) and its draft correction, revision 2 (PDF)."""
    path = tmp_path_factory.mktemp("report-files") / "wardkit.db"
    shutil.copy(migrated_template, path)
    app = create_app({**TEST_CONFIG, "DATABASE": str(path)})
    fake = FakeClock(DAY1_AT)
    with pytest.MonkeyPatch.context() as patch, app.app_context():
        patch.setattr(clock, "now", fake)
        db = connect(str(path))
        groups, homes, people, officer = _build_ward(db, fake)
        leader = make_user(db, username="lanh.dao.files", role="leader")
        snapshots.take_snapshot(db, WARD_A, date(2026, 12, 2))
        # Day 2: two more people activated at the door, a vehicle declared.
        fake.current = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)
        make_visit(db, make_household(db, group=groups[0]), outcome="nobody_home",
                   by=officer["id"])
        make_visit(db, homes[0], outcome="done", by=officer["id"],
                   onboarding={people[1]["id"]: {"ihanoi_status": "activated"},
                               people[2]["id"]: {"ihanoi_status": "installed"}})
        make_declaration(db, people[4], kind="vehicle", status="recorded")
        fake.current = DAY2_AT
        snapshots.take_snapshot(db, WARD_A, date(2026, 12, 3))
        snapshots.lock(db, WARD_A, DAY2, note=NOTE, by=leader["id"], signer_name=SIGNER,
                       signer_title="Trưởng Công an phường")
        locked = exports.find_report(db, WARD_A, date(2026, 12, 3))
        files = {fmt: exports.render(db, WARD_A, locked, fmt)
                 for fmt in ("pdf", "xlsx", "json")}
        fake.advance(minutes=30)
        snapshots.revise(db, WARD_A, DAY2, reason="Bổ sung số liệu tổ Đồng Cổ",
                         by=leader["id"])
        draft = exports.find_report(db, WARD_A, date(2026, 12, 3))
        files["draft"] = exports.render(db, WARD_A, draft, "pdf")
        resident_columns = {row[1] for row in db.execute("PRAGMA table_info(residents)")}
        names = [row[0] for row in db.execute("SELECT full_name FROM residents")]
        context = exports.report_context(db, WARD_A, locked)
        db.close()
    return {"files": files, "report": locked, "draft": draft, "context": context,
            "resident_columns": resident_columns, "names": names}


def pdftotext(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=data,
                          capture_output=True, check=True).stdout.decode()


# --- the PDF -------------------------------------------------------------------------------

def test_pdf_is_sound_a4_and_reads_back_in_vietnamese(built):
    data, name = built["files"]["pdf"]
    assert name == f"bao-cao-{WARD_A}-{DAY2}-r1.pdf"
    images = pdfcheck.assert_valid_pdf(data)   # qpdf clean, pdfium draws ink, poppler agrees
    assert len(images) >= 1
    lines = [line for page in pdfcheck.page_lines(data) for line in page]
    text = "\n".join(lines)
    poppler = pdftotext(data)
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                     "CÔNG AN THÀNH PHỐ HÀ NỘI", "CÔNG AN PHƯỜNG TÂY HỒ",
                     "Tây Hồ, ngày 03 tháng 12 năm 2026", "BÁO CÁO", "/BC-CAP",
                     "“đúng - đủ - sạch - sống” ngày 03/12/2026",
                     "Tổ dân phố Đồng Cổ", "Tổ 2 – Quảng Bá", "Toàn phường",
                     "Nhiều hộ vắng nhà ban ngày.", "Đề xuất: tổ chức vận động vào buổi tối.",
                     "Nơi nhận:", "Công an Thành phố Hà Nội (để báo cáo);",
                     "TRƯỞNG CÔNG AN PHƯỜNG", SIGNER, "So với báo cáo ngày 02/12/2026"):
        assert expected in text, expected
        assert expected in poppler, expected
    assert "BẢN NHÁP" not in text and "Bản điều chỉnh" not in text


def test_pdf_total_row_carries_the_wards_numbers(built):
    total = built["report"]["figures"]["total"]
    change = built["report"]["figures"]["change"]["total"]
    line = next(line for page in pdfcheck.page_lines(built["files"]["pdf"][0])
                for line in page if line.startswith("Toàn phường"))
    cells = line.split()[2:]
    assert cells == [str(total["target_adults"]), str(total["adults"]),
                     str(total["installed"]), str(total["activated"]),
                     f"{100 * total['activated'] / total['target_adults']:.1f}%".replace(".", ","),
                     f"+{change['activated']}", f"{total['visited']}/{total['households']}",
                     str(total["declarations"]), str(total["declarations_verified"])]
    assert change["activated"] == 1 and total["activated"] == 4  # three, then one more


def test_pdf_fonts_are_embedded_and_metadata_names_no_one(built):
    import pikepdf
    from fontTools.ttLib import TTFont

    data = built["files"]["pdf"][0]
    with pikepdf.open(io.BytesIO(data)) as pdf:
        box = [float(v) for v in pdf.pages[0].mediabox]
        assert box[2] == pytest.approx(595.28, abs=0.5)    # A4: 210 x 297 mm
        assert box[3] == pytest.approx(841.89, abs=0.5)
        fonts = {}
        for page in pdf.pages:
            for _key, font in page.resources.get("/Font", {}).items():
                descendant = font.get("/DescendantFonts")
                descriptor = (descendant[0] if descendant else font).get("/FontDescriptor")
                program = descriptor.get("/FontFile2")
                # The vendored 2.1.5, not a system Liberation Serif (Debian's
                # fonts-liberation is 1.07 and lacks Vietnamese letters).
                fonts[str(font.get("/BaseFont"))] = program is not None and TTFont(
                    io.BytesIO(program.read_bytes()))["name"].getDebugName(5)
        assert fonts and set(fonts.values()) == {"Version 2.1.5"}, fonts
        assert {name.split("+", 1)[-1] for name in fonts} == {
            "Liberation-Serif", "Liberation-Serif-Bold", "Liberation-Serif-Italic",
            "Liberation-Serif-Bold-Italic"}
        info = {str(k): str(v) for k, v in pdf.docinfo.items()}
        xmp = str(pdf.open_metadata())
    assert "CÔNG AN PHƯỜNG TÂY HỒ" in info["/Title"] and "03/12/2026" in info["/Title"]
    for personal in [SIGNER, "Nhiều hộ"] + built["names"]:
        assert personal not in " ".join(info.values()) and personal not in xmp


def test_pdf_sizes_follow_the_form(built):
    runs = dict((text, size) for size, text in pdfcheck.text_runs(built["files"]["pdf"][0]))
    assert 12 <= runs["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"] <= 13
    assert 13 <= runs["Độc lập - Tự do - Hạnh phúc"] <= 14
    assert 13 <= runs["Tây Hồ, ngày 03 tháng 12 năm 2026"] <= 14
    assert runs["BÁO CÁO"] == 14
    assert runs["Nơi nhận:"] == 12


def test_draft_revision_is_marked_and_says_why(built):
    data, name = built["files"]["draft"]
    assert name == f"bao-cao-{WARD_A}-{DAY2}-r2.pdf"
    pdfcheck.assert_valid_pdf(data)
    text = "\n".join(line for page in pdfcheck.page_lines(data) for line in page)
    assert "BẢN NHÁP – CHƯA CHỐT" in text
    assert "Bản điều chỉnh lần 1 — lý do: Bổ sung số liệu tổ Đồng Cổ" in text
    assert SIGNER not in text   # a draft is not signed yet
    assert "TRƯỞNG CÔNG AN PHƯỜNG" in text


def test_the_serif_covers_every_vietnamese_letter():
    import unicodedata

    from fontTools.ttLib import TTFont

    letters = {unicodedata.normalize("NFC", base + mark)
               for base in "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY"
               for mark in ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")} | set("đĐ")
    assert len(letters) == 146
    for style in ("Regular", "Bold", "Italic", "BoldItalic"):
        cmap = TTFont(ROOT / "static" / "fonts" / f"LiberationSerif-{style}.ttf").getBestCmap()
        assert not [c for c in letters if ord(c) not in cmap], style
    assert (ROOT / "static" / "fonts" / "LiberationSerif-OFL.txt").exists()


def test_date_line_and_unit_names():
    assert date_line("Tây Hồ", date(2026, 12, 7)) == "Tây Hồ, ngày 07 tháng 12 năm 2026"
    assert date_line("Tây Hồ", date(2027, 2, 5)) == "Tây Hồ, ngày 05 tháng 02 năm 2027"
    assert date_line("Sóc Sơn", date(2027, 3, 15)) == "Sóc Sơn, ngày 15 tháng 3 năm 2027"
    assert proper_name("CÔNG AN THÀNH PHỐ HÀ NỘI") == "Công an Thành phố Hà Nội"
    assert proper_name("CÔNG AN THỊ XÃ SƠN TÂY") == "Công an Thị xã Sơn Tây"
    assert proper_name("BAN CHỈ ĐẠO 375") == "BAN CHỈ ĐẠO 375"


# --- the XLSX ------------------------------------------------------------------------------

def test_xlsx_numbers_are_numbers_with_a_frozen_header_and_the_total(built):
    from openpyxl import load_workbook

    data, name = built["files"]["xlsx"]
    assert name == f"bao-cao-{WARD_A}-{DAY2}-r1.xlsx"
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Báo cáo", "Theo ngày"]
    sheet = book["Báo cáo"]
    assert sheet.freeze_panes == "C5"
    header = [cell.value for cell in sheet[4]]
    assert header[:3] == ["STT", "Tổ dân phố", "Cụm"]
    assert header[3:3 + len(COUNTS)] == [COUNT_LABELS[k] for k in COUNTS]
    rows = [row for row in sheet.iter_rows(min_row=5) if row[1].value]
    names = [row[1].value for row in rows]
    total = next(row for row in rows if row[1].value == "Toàn phường")
    groups = rows[:names.index("Toàn phường")]
    assert sorted(r[1].value for r in groups) == sorted(
        ["Tổ dân phố Đồng Cổ", "Tổ 2 – Quảng Bá", "'=HYPERLINK(\"x\")"])   # neutralised
    for column, key in enumerate(COUNTS, 3):
        for row in groups + [total]:
            assert row[column].data_type == "n" and type(row[column].value) is int, key
        assert total[column].value == sum(row[column].value for row in groups), key
        assert total[column].value == built["report"]["figures"]["total"][key], key
    assert total[1].font.b
    share = total[3 + len(COUNTS)]
    assert share.number_format == "0.0%" and share.data_type == "n"
    assert share.value == pytest.approx(4 / 10)
    assert [r[2].value for r in groups if r[1].value == "Tổ 2 – Quảng Bá"] == [None]
    note_row = next(row for row in sheet.iter_rows() if row[1].value
                    and str(row[1].value).startswith("Khó khăn"))
    assert note_row[2].value == NOTE


def test_xlsx_day_series_has_one_row_per_report_day(built):
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(built["files"]["xlsx"][0]))["Theo ngày"]
    rows = list(sheet.iter_rows(min_row=2))
    assert [row[0].value.date() for row in rows] == [date(2026, 12, 2), date(2026, 12, 3)]
    assert all(row[0].is_date for row in rows)
    activated = [cell.value for cell in sheet[1]].index("Toàn phường: Đã kích hoạt iHanoi")
    assert [row[activated].value for row in rows] == [3, 4]
    header = [cell.value for cell in sheet[1]]
    assert "Đã kích hoạt: Tổ dân phố Đồng Cổ" in header
    assert sheet.freeze_panes == "B2"


# --- the city's JSON -----------------------------------------------------------------------

def test_json_validates_hashes_and_names_no_resident_field(built):
    from jsonschema.validators import validator_for

    data, name = built["files"]["json"]
    document = json.loads(data)
    schema = json.loads((ROOT / "wardkit" / "reports" / "city-report.schema.json").read_text())
    assert list(validator_for(schema)(schema).iter_errors(document)) == []
    digest = hashlib.sha256(json.dumps(document["report"], ensure_ascii=False, sort_keys=True,
                                       separators=(",", ":")).encode()).hexdigest()
    assert document["sha256"] == digest
    assert name == f"bao-cao-{WARD_A}-{DAY2}-r1-{digest[:12]}.json"

    keys, stack = set(), [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            keys.update(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    assert keys & built["resident_columns"] == set()
    text = data.decode()
    assert not [n for n in built["names"] if n in text]
    assert NOTE.splitlines()[0] not in text and SIGNER not in text
    assert cityfile.read(data, {WARD_A})["total"]["activated"] == 4


# --- downloads and the command -------------------------------------------------------------

@pytest.fixture
def ward_report(app, db):
    """A one-group ward with today's (3 December) report taken."""
    group = make_group(db, name="Tổ dân phố Võng Thị", target_adults=2)
    make_resident(db, make_household(db, group=group), ihanoi_status="activated")
    with app.app_context():
        report, _taken = snapshots.take_snapshot(db, WARD_A, date(2026, 12, 3))
    return report


def test_viewer_downloads_each_file_and_each_is_audited(client, db, auth, ward_report):
    viewer = make_user(db, username="xem.files", role="viewer")
    auth.login("xem.files")
    for fmt, kind in (("pdf", "application/pdf"), ("json", "application/json"),
                      ("xlsx", "application/vnd.openxmlformats-officedocument"
                               ".spreadsheetml.sheet")):
        resp = client.get(f"/reports/{DAY2}.{fmt}")
        assert resp.status_code == 200, fmt
        assert resp.mimetype == kind
        disposition = resp.headers["Content-Disposition"]
        assert disposition.startswith(f'attachment; filename="bao-cao-{WARD_A}-{DAY2}-r1')
    assert client.get(f"/reports/{DAY2}.pdf?revision=1").data.startswith(b"%PDF")
    rows = db.execute("""SELECT user_id, ward_code, entity_id, detail FROM audit_log
                         WHERE action = 'report_exported' ORDER BY rowid""").fetchall()
    assert [json.loads(r[3])["format"] for r in rows] == ["pdf", "json", "xlsx", "pdf"]
    assert {(r[0], r[1], r[2]) for r in rows} == {(viewer["id"], WARD_A, ward_report["id"])}
    assert json.loads(rows[0][3]) == {"format": "pdf", "day": DAY2, "revision": 1}


@pytest.mark.parametrize("path", [
    "/reports/2026-12-04.pdf",            # tomorrow
    "/reports/2026-12-01.xlsx",           # no report that day
    f"/reports/{DAY2}.json?revision=2",   # no such revision
    "/reports/3-12-2026.pdf",             # not a date
])
def test_missing_or_future_report_is_404_and_not_audited(client, db, auth, ward_report, path):
    make_user(db, username="lanh.dao.404", role="leader")
    auth.login("lanh.dao.404")
    assert client.get(path).status_code == 404
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'report_exported'"
                      ).fetchone()[0] == 0


def test_kiosk_may_not_download(client, db, auth, ward_report):
    make_user(db, username="kiosk.files", role="kiosk")
    auth.login("kiosk.files")
    assert client.get(f"/reports/{DAY2}.json").status_code == 404


def test_cli_export_writes_the_file_and_fails_for_a_missing_report(runner, db, ward_report,
                                                                   tmp_path):
    out = tmp_path / "city.json"
    result = runner.invoke(args=["reports", "export", DAY2, "--format", "json",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert cityfile.read(out.read_bytes(), {WARD_A})["report_date"] == DAY2
    xlsx = tmp_path / "report.xlsx"
    result = runner.invoke(args=["reports", "export", DAY2, "--format", "xlsx",
                                 "--out", str(xlsx), "--ward", "103", "--revision", "1"])
    assert result.exit_code == 0 and xlsx.read_bytes().startswith(b"PK"), result.output
    assert db.execute("""SELECT count(*) FROM audit_log WHERE action = 'report_exported'
                         AND user_id IS NULL AND ward_code = ?""", [WARD_A]).fetchone()[0] == 2

    missing = tmp_path / "missing.pdf"
    result = runner.invoke(args=["reports", "export", "2026-12-01", "--format", "pdf",
                                 "--out", str(missing)])
    assert result.exit_code == 1
    assert "no report for 00103 on 2026-12-01" in result.output
    assert not missing.exists()
    result = runner.invoke(args=["reports", "export", "2026-13-01", "--format", "pdf",
                                 "--out", str(missing)])
    assert result.exit_code == 2 and "is not a date" in result.output


def test_a_draft_downloaded_again_after_its_note_changed_shows_the_new_note(
        app, client, db, auth, ward_report):
    """Downloads keep the last PDFs rendered, keyed by their whole document: a changed
    note is a new document."""
    leader = make_user(db, username="lanh.dao.note", role="leader")
    auth.login("lanh.dao.note")
    first = client.get(f"/reports/{DAY2}.pdf").data
    assert client.get(f"/reports/{DAY2}.pdf").data == first
    with app.app_context():
        snapshots.save_note(db, WARD_A, DAY2, "Đã họp tổ dân phố Võng Thị.", by=leader["id"])
    text = "\n".join(line for page in pdfcheck.page_lines(
        client.get(f"/reports/{DAY2}.pdf").data) for line in page)
    assert "Đã họp tổ dân phố Võng Thị." in text
