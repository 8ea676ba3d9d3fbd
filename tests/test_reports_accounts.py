"""The official iHanoi account list: matching (CCCD exactly, a phone only when one
resident has it), the upload, preview, mapping and confirm pages, the CLI, refusals that
write nothing, the discrepancy list, roles, and the report's "confirmed" figure."""
import csv
import io
import json
import os
from datetime import date

import openpyxl
import pytest

from wardkit import audit, clock, create_app
from wardkit.reports import accounts, figures
from tests.conftest import TEST_CONFIG
from tests.factories import WARD_A, make_group, make_household, make_resident, make_user

HEADER = ["STT", "Họ và tên", "Số CCCD", "Số điện thoại", "Trạng thái", "Ngày kích hoạt"]
SHARED_PHONE = "0911111111"


@pytest.fixture
def app(db_path, tmp_path):
    """The app on this test's database, with uploads kept under the test's tmp dir."""
    return create_app({**TEST_CONFIG, "DATABASE": str(db_path),
                       "IMPORT_DIR": str(tmp_path / "imports")})


@pytest.fixture
def ward(db):
    """A small hand-made ward: who is who, by letter (see LIST for what the list says)."""
    group = make_group(db, name="Tổ dân phố số 3", target_adults=10)
    home = make_household(db, group=group, house_number="81", street="Hồng Hà")
    other = make_household(db, group=group, house_number="12", street="Âu Cơ")

    def person(letter, household=home, **fields):
        return make_resident(db, household, full_name=f"Nguyễn Văn {letter}",
                             gender="male", dob=fields.pop("dob", date(1980, 1, 1)),
                             **fields)

    people = {
        # on the list by CCCD, activated; officers agree
        "A": person("An", cccd="001080123456", phone="0912345678",
                    ihanoi_status="activated"),
        # on the list by CCCD, activated; officers marked not installed: a discrepancy
        "B": person("Bình", cccd="001080654321", ihanoi_status="not_installed"),
        # share a phone: the list's row with it matches neither
        "C": person("Cường", phone=SHARED_PHONE),
        "D": person("Dũng", household=other, phone=SHARED_PHONE),
        # a child with a phone of their own, activated on the list: matched, not an adult
        "E": person("Em", phone="0933333333", dob=date(2015, 5, 5)),
        # found by a phone only they have; not asked yet by officers
        "F": person("Phúc", household=other, phone="0944444444"),
        # officers marked activated; not on the list: a discrepancy
        "G": person("Giang", household=other, cccd="001080999888",
                    ihanoi_status="activated"),
        # on the list as registered only
        "H": person("Hải", cccd="001080111222", ihanoi_status="installed"),
    }
    return people


LIST = [
    ["Nguyễn Văn An", "001080123456", "", "Đã kích hoạt", "01/11/2026"],
    ["Nguyễn Văn Bình", "001080654321", "", "Đã kích hoạt", "2026-11-20"],
    ["Ai đó", "", "0911 111 111", "Đã kích hoạt", ""],            # ambiguous phone
    ["Nguyễn Văn Em", "", "+84 933 333 333", "Đã kích hoạt", ""],  # unique phone, child
    ["Nguyễn Văn Phúc", "", "0944444444", "activated", ""],        # unique phone
    ["Nguyễn Văn Hải", "001080111222", "", "Chưa kích hoạt", ""],   # registered
    ["Người lạ", "001090777777", "0955555555", "Đã kích hoạt", ""],  # not in the registry
    ["Không rõ", "001080123457", "", "???", ""],                   # unknown status
    ["Không số", "", "", "Đã kích hoạt", ""],                      # nothing to match on
]


def csv_bytes(rows=LIST, header=HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for i, row in enumerate(rows, start=1):
        writer.writerow([i, *row])
    return out.getvalue().encode("utf-8-sig")


def upload(auth, data, filename="ihanoi.csv", list_date="2026-12-02"):
    return auth.post("/reports/accounts", {"file": (io.BytesIO(data), filename),
                                           "list_date": list_date},
                     content_type="multipart/form-data")


def form_of(html: str) -> dict:
    """Return the confirm form's hidden fields (token, list date, mapping)."""
    start = html.index('action="/reports/accounts/confirm"')
    form = html[start:html.index("</form>", start)]
    fields = {}
    for part in form.split("<input")[1:]:
        name = part.split('name="')[1].split('"')[0]
        fields[name] = part.split('value="')[1].split('"')[0]
    fields.pop("csrf_token")
    return fields


def stored(app):
    directory = app.config["IMPORT_DIR"]
    return os.listdir(directory) if os.path.isdir(directory) else []


def lists(db):
    return db.execute("SELECT count(*) FROM ihanoi_lists").fetchone()[0]


def matches(db):
    return {r[0]: r[1:] for r in db.execute(
        "SELECT resident_id, matched_by, account_status, activated_on "
        "FROM ihanoi_list_matches")}


@pytest.fixture
def leader(db, auth):
    user = make_user(db, username="lanh.dao", role="leader")
    auth.login("lanh.dao")
    return user


# --- matching --------------------------------------------------------------------------

def test_matching_cccd_exact_phone_only_when_unique(app, db, ward):
    table = accounts.read_list(csv_bytes(), "ihanoi.csv")
    plan = accounts.plan_list(db, WARD_A, table, list_date=date(2026, 12, 2),
                              today=clock.today())
    assert plan.counts() == {"rows": 9, "matched_cccd": 3, "matched_phone": 2,
                             "ambiguous_phone": 1, "not_in_registry": 1, "unreadable": 2,
                             "activated": 4}
    assert plan.matches == {
        ward["A"]["id"]: ("cccd", "activated", "2026-11-01"),
        ward["B"]["id"]: ("cccd", "activated", "2026-11-20"),
        ward["E"]["id"]: ("phone", "activated", None),
        ward["F"]["id"]: ("phone", "activated", None),
        ward["H"]["id"]: ("cccd", "registered", None),
    }
    # Neither of the two who share a phone is matched.
    assert ward["C"]["id"] not in plan.matches and ward["D"]["id"] not in plan.matches
    assert plan.unknown_statuses == ["???"]


def test_a_phone_does_not_match_someone_whose_cccd_differs(app, db, ward):
    """A row with an unknown CCCD and A's phone is someone else using that phone."""
    table = accounts.read_list(csv_bytes([["X", "001099000001", "0912345678",
                                           "Đã kích hoạt", ""]]), "l.csv")
    plan = accounts.plan_list(db, WARD_A, table, list_date=date(2026, 12, 2),
                              today=clock.today())
    assert plan.matches == {} and plan.not_in_registry == 1


# --- the web flow ------------------------------------------------------------------------

def test_import_on_the_web(app, db, auth, leader, ward):
    before = {r[0]: r[1] for r in db.execute("SELECT id, ihanoi_status FROM residents")}
    preview = upload(auth, csv_bytes())
    assert preview.status_code == 200, preview.text
    assert 'id="count-cccd">3<' in preview.text and 'id="count-ambiguous">1<' in preview.text
    assert "001080123456" not in preview.text and "••••3456" in preview.text
    assert lists(db) == 0 and len(stored(app)) == 2      # the upload and whose it is
    result = auth.post("/reports/accounts/confirm", form_of(preview.text))
    assert result.status_code == 200, result.text
    assert 'id="count-phone">2<' in result.text
    # The upload is gone; only the matches are kept.
    assert stored(app) == []
    assert lists(db) == 1 and len(matches(db)) == 5
    [row] = db.query("SELECT * FROM ihanoi_lists")
    assert (row["list_date"], row["rows"], row["not_in_registry"], row["unreadable"],
            row["imported_by"]) == ("2026-12-02", 9, 1, 2, leader["id"])
    # What officers marked at the door is untouched.
    assert {r[0]: r[1] for r in db.execute("SELECT id, ihanoi_status FROM residents")} \
        == before
    # Audited with counts only.
    [entry] = audit.entries(db, action="ihanoi_list_imported")
    detail = json.loads(entry["detail"])
    assert entry["user_id"] == leader["id"] and entry["ward_code"] == WARD_A
    assert detail["matched_cccd"] == 3 and detail["ambiguous_phone"] == 1
    assert detail["via"] == "web"
    assert not any(s in entry["detail"] for s in ("001080", "0912", "Nguyễn", "0944"))
    # The report's "confirmed": adults matched as activated (A, B, F; not the child E,
    # not H who is only registered).
    with app.app_context():
        total = figures.ward_figures(db, WARD_A)["total"]
    assert total["confirmed"] == 3
    adult_activated = db.execute(
        """SELECT count(*) FROM ihanoi_list_matches m JOIN residents r
           ON r.id = m.resident_id WHERE m.account_status = 'activated'
           AND r.dob <= '2008-12-03'""").fetchone()[0]
    assert total["confirmed"] == adult_activated
    assert total["activated"] == 2     # still what officers marked (A and G)


def test_columns_chosen_on_the_preview(app, db, auth, leader, ward):
    data = csv_bytes(header=["STT", "Tên", "Mã", "Liên lạc", "TT", "Ngày"])
    preview = upload(auth, data)
    assert preview.status_code == 422
    assert "Không nhận ra cột CCCD" in preview.text
    assert 'id="mapping-error"' in preview.text and lists(db) == 0
    token = preview.text.split('name="token" value="')[1].split('"')[0]
    remapped = auth.post("/reports/accounts/preview", {
        "token": token, "list_date": "2026-12-02", "map_cccd": "2", "map_phone": "3",
        "map_status": "4", "map_activated_on": "5"})
    assert remapped.status_code == 200, remapped.text
    assert 'id="count-cccd">3<' in remapped.text
    result = auth.post("/reports/accounts/confirm", form_of(remapped.text))
    assert result.status_code == 200 and len(matches(db)) == 5 and stored(app) == []


def test_an_xlsx_list(app, db, auth, leader, ward):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["DANH SÁCH TÀI KHOẢN IHANOI"])
    sheet.append(["Số định danh", "SĐT", "Trạng thái tài khoản", "Ngày kích hoạt"])
    sheet.append([1080123456, None, "Đã kích hoạt", date(2026, 11, 1)])  # zeros lost
    sheet.append([None, 944444444, "Đã kích hoạt", None])
    out = io.BytesIO()
    book.save(out)
    table = accounts.read_list(out.getvalue(), "list.xlsx")
    assert table.header_row == 2
    plan = accounts.plan_list(db, WARD_A, table, list_date=date(2026, 12, 2),
                              today=clock.today())
    assert plan.matches == {ward["A"]["id"]: ("cccd", "activated", "2026-11-01"),
                            ward["F"]["id"]: ("phone", "activated", None)}


def test_cancel_deletes_the_upload(app, db, auth, leader, ward):
    preview = upload(auth, csv_bytes())
    assert len(stored(app)) == 2
    r = auth.post("/reports/accounts/cancel", {"token": form_of(preview.text)["token"]})
    assert r.status_code == 303 and stored(app) == [] and lists(db) == 0


# --- bad input: 422, nothing written -------------------------------------------------------

def test_unknown_columns_refused(app, db, auth, leader, ward, runner, tmp_path):
    data = csv_bytes(header=["STT", "Tên", "Mã", "Liên lạc", "TT", "Ngày"])
    r = upload(auth, data)
    assert r.status_code == 422 and "Tên, Mã, Liên lạc, TT, Ngày" in r.text
    assert 'action="/reports/accounts/confirm"' not in r.text
    token = r.text.split('name="token" value="')[1].split('"')[0]
    r = auth.post("/reports/accounts/confirm", {"token": token, "list_date": "2026-12-02"})
    assert r.status_code == 422 and lists(db) == 0 and len(stored(app)) == 2
    path = tmp_path / "list.csv"
    path.write_bytes(csv_bytes())
    r = runner.invoke(args=["import-ihanoi-accounts", str(path), "--ward", WARD_A,
                            "--map", "cccd=Số hộ chiếu"])
    assert r.exit_code == 1 and "Số hộ chiếu" in r.output
    path.write_bytes(data)
    r = runner.invoke(args=["import-ihanoi-accounts", str(path), "--ward", WARD_A])
    assert r.exit_code == 1 and "CCCD" in r.output
    assert lists(db) == 0 and audit.entries(db, action="ihanoi_list_imported") == []


def test_zero_matches_refused(app, db, auth, leader, ward, runner, tmp_path):
    data = csv_bytes([["Người lạ", "001090777777", "0955555555", "Đã kích hoạt", ""]])
    r = upload(auth, data)
    assert r.status_code == 422 and 'id="matches-error"' in r.text
    assert "Không khớp được cư dân nào" in r.text
    r = auth.post("/reports/accounts/confirm", {
        "token": r.text.split('name="token" value="')[1].split('"')[0],
        "list_date": "2026-12-02"})
    assert r.status_code == 422 and lists(db) == 0
    path = tmp_path / "list.csv"
    path.write_bytes(data)
    r = runner.invoke(args=["import-ihanoi-accounts", str(path), "--ward", WARD_A])
    assert r.exit_code == 1 and "No resident could be matched" in r.output
    assert lists(db) == 0 and audit.entries(db, action="ihanoi_list_imported") == []


def test_not_a_list_and_a_future_date(app, db, auth, leader, ward):
    r = upload(auth, b"%PDF-1.7 binary", "list.pdf")
    assert r.status_code == 422 and 'id="file-error"' in r.text
    assert "không phải tệp CSV" in r.text
    r = upload(auth, csv_bytes(), list_date="2026-12-04")
    assert r.status_code == 422 and 'id="list_date-error"' in r.text
    assert lists(db) == 0 and stored(app) == []


# --- the command line -----------------------------------------------------------------------

def test_cli_dry_run_then_import(app, db, ward, runner, tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes(csv_bytes())
    audited = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    r = runner.invoke(args=["import-ihanoi-accounts", str(path), "--ward", "103",
                            "--dry-run", "--list-date", "2026-12-01"])
    assert r.exit_code == 0, r.output
    assert "matched by CCCD 3" in r.output and "ambiguous phone 1" in r.output
    assert "Dry run" in r.output and lists(db) == 0 and len(matches(db)) == 0
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audited
    r = runner.invoke(args=["import-ihanoi-accounts", str(path), "--ward", WARD_A,
                            "--list-date", "2026-12-01", "--map", "activated_on="])
    assert r.exit_code == 0, r.output
    assert lists(db) == 1 and path.exists()          # the operator's file stays
    assert set(m[2] for m in matches(db).values()) == {None}   # no activation dates read
    [entry] = audit.entries(db, action="ihanoi_list_imported")
    assert entry["user_id"] is None and json.loads(entry["detail"])["via"] == "cli"
    r = runner.invoke(args=["import-ihanoi-accounts", str(path), "--ward", WARD_A,
                            "--list-date", "2026-12-04"])
    assert r.exit_code == 1 and lists(db) == 1


# --- discrepancies and roles ----------------------------------------------------------------

def test_discrepancies(app, db, auth, leader, ward):
    page = auth.client.get("/reports/accounts/discrepancies")
    assert page.status_code == 200 and 'id="no-list"' in page.text
    plan = accounts.plan_list(db, WARD_A, accounts.read_list(csv_bytes(), "l.csv"),
                              list_date=date(2026, 12, 2), today=clock.today())
    accounts.import_list(db, WARD_A, plan, by=leader["id"])
    found = accounts.discrepancies(db, WARD_A)
    assert [p["id"] for p in found["marked_not_listed"]] == [ward["G"]["id"]]
    assert [p["id"] for p in found["listed_not_installed"]] == [ward["B"]["id"]]
    assert (found["marked_not_listed_count"], found["listed_not_installed_count"],
            found["not_in_registry"]) == (1, 1, 1)
    person = found["marked_not_listed"][0]
    assert (person["full_name"], person["address"], person["group_name"]) == (
        "Nguyễn Văn Giang", "Số 12, Ngõ 34, Âu Cơ", "Tổ dân phố số 3")
    page = auth.client.get("/reports/accounts/discrepancies")
    assert page.status_code == 200
    assert "Nguyễn Văn Giang" in page.text and "Nguyễn Văn Bình" in page.text
    assert "Nguyễn Văn Phúc" not in page.text     # not asked yet: no discrepancy
    viewed = audit.entries(db, action="ihanoi_discrepancies_viewed")
    assert len(viewed) == 2 and viewed[0]["user_id"] == leader["id"]
    assert json.loads(viewed[0]["detail"]) == {"marked_not_listed": 1,
                                               "listed_not_installed": 1,
                                               "not_in_registry": 1}


# A viewer is answered 404 on any page of people's data (wardkit/security.py).
@pytest.mark.parametrize("role, status", [("officer", 403), ("viewer", 404)])
def test_only_leaders_and_admins(app, db, auth, ward, role, status):
    make_user(db, username="someone", role=role)
    auth.login("someone")
    assert auth.client.get("/reports/accounts").status_code == status
    assert auth.client.get("/reports/accounts/discrepancies").status_code == status
    assert upload(auth, csv_bytes()).status_code == status
    assert lists(db) == 0 and stored(app) == []
