"""The city's roll-up (issue 12): ward files received at /city (new, the same again, a
newer or older revision, refused ones), the table of all 126 wards with rank, % of target
and late wards, /city.xlsx, `flask reports consolidate`, and the city-scoped viewer who
sees that and nothing of any ward."""
import io
import json

import pytest
from openpyxl import load_workbook

from tests.conftest import csrf_from
from werkzeug.security import generate_password_hash

from tests.factories import PASSWORD, WARD_A, WARD_B, make_household, make_user
from wardkit.auth import queries as auth_queries
from wardkit.reports import cityfile
from wardkit.reports import queries as report_queries
from wardkit.reports.figures import COUNTS

WARD_C = "00004"  # Phường Ba Đình
DAY = "2026-12-03"  # the pinned clock's day (10:00 in Hanoi: the city's deadline)
FAST = "scrypt:1024:8:1"


def ward_file(db, code, *, day=DAY, revision=1, locked=True, groups=((400, 300, 120),),
              **extra) -> bytes:
    """Return a ward's city file built by cityfile.build from a hand-made report: one
    group per (target, adults, activated), every other count 1."""
    rows = []
    for i, (target, adults, activated) in enumerate(groups):
        row = {name: 1 for name in COUNTS}
        row.update(target_adults=target, adults=adults, activated=activated, installed=activated,
                   households=10, visited=4, declarations=3, **extra)
        rows.append({"name": f"Tổ dân phố số {i + 1}", "cluster": None, **row})
    total = {name: sum(r[name] for r in rows) for name in COUNTS}
    report = {"report_date": day, "revision": revision,
              "cutoff_at": f"{day}T00:00:00.000000Z", "taken_at": f"{day}T00:00:00.000000Z",
              "locked_at": f"{day}T01:30:00.000000Z" if locked else None,
              "figures": {"groups": rows, "total": total}}
    document, _name = cityfile.build(report, report_queries.ward(db, code))
    return cityfile.dumps(document)


def tampered(data: bytes) -> bytes:
    """Return the file with a figure changed and its hash kept."""
    document = json.loads(data)
    document["report"]["groups"][0]["activated"] += 50
    document["report"]["total"]["activated"] += 50
    return cityfile.dumps(document)


def city_user(db, username="tp.xem"):
    """Insert a viewer of the whole city (password PASSWORD) and return the row."""
    return auth_queries.create_user(
        db, username=username, password_hash=generate_password_hash(PASSWORD, method=FAST),
        display_name="Cán bộ thành phố", role="viewer", ward_code=None, scope="city")


@pytest.fixture
def city(db, auth):
    """A viewer of the whole city, signed in."""
    user = city_user(db)
    assert auth.login(user["username"]).status_code == 303
    return user


def upload(client, auth, files, *, htmx=False, day=DAY):
    headers = {"HX-Request": "true", "HX-Target": "city-results"} if htmx else {}
    return client.post("/city", data={
        "csrf_token": auth.token("/city"), "date": day,
        "files": [(io.BytesIO(data), name) for name, data in files]},
        content_type="multipart/form-data", headers=headers)


def stored(db):
    return db.execute("SELECT ward_code, revision, replaced_revision, sha256 FROM city_reports "
                      "ORDER BY ward_code").fetchall()


def audits(db):
    return db.execute("SELECT detail, ward_code FROM audit_log "
                      "WHERE action = 'city_reports_received'").fetchall()


def row_of(html: str, code: str) -> str:
    return html.split(f'data-ward="{code}"')[1].split("</tr>")[0]


# --- receiving files ---------------------------------------------------------------------

def test_city_rollup_of_three_ward_files(db, client, auth, city):
    a, b = ward_file(db, WARD_A), ward_file(db, WARD_B, groups=((500, 400, 400),))
    bad = tampered(ward_file(db, WARD_C))
    resp = upload(client, auth, [("a.json", a), ("b.json", b), ("c.json", bad)])
    assert resp.status_code == 200
    html = resp.text
    assert html.count('data-status="stored"') == 2
    assert 'data-code="hash"' in html
    assert "không khớp với nội dung" in html  # the Vietnamese message
    assert [r[0] for r in stored(db)] == [WARD_B, WARD_A]
    # The table: two reported, the tampered ward among the missing ones.
    assert "Đã báo cáo: 2/126" in html
    missing = html.split('id="city-missing-list"')[1].split("</p>")[0]
    assert "Phường Ba Đình (00004)" in missing and "Phường Tây Hồ" not in missing
    assert len(audits(db)) == 1
    detail = json.loads(audits(db)[0][0])
    assert detail == {"stored": 2, "refused": 1, "refused_hash": 1}
    assert audits(db)[0][1] is None

    # The same file again changes nothing: no row, no audit row.
    before = stored(db)
    resp = upload(client, auth, [("a.json", a)])
    assert 'data-status="unchanged"' in resp.text
    assert "Tệp này đã nhận rồi" in resp.text
    assert stored(db) == before and len(audits(db)) == 1


def test_newer_revision_replaces_and_says_so_older_is_ignored(db, client, auth, city):
    first = ward_file(db, WARD_A)
    second = ward_file(db, WARD_A, revision=2, groups=((400, 300, 150),))
    upload(client, auth, [("r1.json", first)])
    resp = upload(client, auth, [("r2.json", second)])
    assert 'data-status="replaced"' in resp.text
    assert "thay bản điều chỉnh lần 1" in resp.text
    assert stored(db)[0][1:3] == (2, 1)
    assert "150" in row_of(resp.text, WARD_A)
    resp = upload(client, auth, [("r1.json", first)])
    assert 'data-status="older"' in resp.text
    assert "bỏ qua" in resp.text
    assert stored(db)[0][1] == 2
    assert len(audits(db)) == 2


def test_locked_file_replaces_the_same_revision_sent_before_the_lock(db, client, auth, city):
    upload(client, auth, [("draft.json", ward_file(db, WARD_A, locked=False))])
    resp = upload(client, auth, [("locked.json", ward_file(db, WARD_A))])
    assert 'data-status="locked"' in resp.text
    resp = upload(client, auth, [("draft.json", ward_file(db, WARD_A, locked=False))])
    assert 'data-status="older"' in resp.text


def test_refused_files_write_nothing(db, client, auth, city):
    good = json.loads(ward_file(db, WARD_A))
    with_cccd = json.loads(ward_file(db, WARD_B))
    with_cccd["report"]["groups"][0]["cccd"] = "001185012345"
    unknown = json.loads(ward_file(db, WARD_A))
    unknown["report"]["ward"]["code"] = "99999"
    unknown["sha256"] = __import__("hashlib").sha256(
        cityfile.canonical(unknown["report"])).hexdigest()
    wrong_schema = dict(good, version=2)
    future = ward_file(db, WARD_A, day="2026-12-04")
    files = [("cccd.json", cityfile.dumps(with_cccd)), ("unknown.json", cityfile.dumps(unknown)),
             ("schema.json", cityfile.dumps(wrong_schema)), ("future.json", future),
             ("not.json", b"Ho va ten,CCCD\n")]
    resp = upload(client, auth, files)
    assert resp.status_code == 422
    codes = [c.split('"')[0] for c in resp.text.split('data-code="')[1:]]
    assert codes == ["personal_data", "unknown_ward", "schema", "future", "not_json"]
    assert "dữ liệu cá nhân (cccd)" in resp.text
    assert "001185012345" not in resp.text
    assert stored(db) == [] and audits(db) == []


def test_htmx_upload_swaps_the_results_and_the_table(db, client, auth, city):
    resp = upload(client, auth, [("a.json", ward_file(db, WARD_A))], htmx=True)
    assert resp.status_code == 200
    assert resp.text.lstrip().startswith('<div id="city-results"')
    assert 'id="city-rollup" hx-swap-oob="true"' in resp.text
    assert "<html" not in resp.text
    resp = upload(client, auth, [], htmx=True)
    assert resp.status_code == 422 and 'id="city-problem"' in resp.text


def test_upload_larger_than_max_content_length_is_413(app, db, client, auth, city):
    app.config["MAX_CONTENT_LENGTH"] = 4096
    resp = upload(client, auth, [("big.json", b" " * 10_000)])
    assert resp.status_code == 413
    assert stored(db) == []


# --- the roll-up -----------------------------------------------------------------------------

def test_rank_and_percent_of_target(db, client, auth, city):
    upload(client, auth, [
        ("a.json", ward_file(db, WARD_A, groups=((400, 300, 200),))),   # 50 %
        ("b.json", ward_file(db, WARD_B, groups=((500, 450, 400),))),   # 80 %
        ("c.json", ward_file(db, WARD_C, groups=((250, 240, 200),))),   # 80 %
        ("d.json", ward_file(db, "00008", groups=((0, 10, 5),))),      # no target
    ])
    from wardkit.reports import city
    from datetime import date
    with client.application.app_context():
        from wardkit.db import get_db
        data = city.rollup(get_db(), date(2026, 12, 3))
    by_code = {r["code"]: r for r in data["rows"]}
    assert (by_code[WARD_B]["rank"], by_code[WARD_C]["rank"], by_code[WARD_A]["rank"]) == (1, 1, 3)
    assert by_code[WARD_A]["percent"] == 50.0
    assert by_code["00008"]["rank"] is None and by_code["00008"]["revision"] == 1
    assert [r["code"] for r in data["rows"][:4]] in ([WARD_C, WARD_B, WARD_A, "00008"],
                                                      [WARD_B, WARD_C, WARD_A, "00008"])
    assert len(data["rows"]) == 126 and data["reported"] == 4 and len(data["missing"]) == 122
    assert data["total"]["activated"] == 805 and data["total"]["target_adults"] == 1150
    assert data["total"]["percent"] == pytest.approx(70.0)
    html = client.get("/city").text
    assert html.count("data-ward=") == 126
    assert "50,0" in row_of(html, WARD_A) or "50.0" in row_of(html, WARD_A)


def test_late_wards_with_the_fake_clock(db, client, auth, city, fake_clock):
    upload(client, auth, [("a.json", ward_file(db, WARD_A))])  # 10:00 sharp: on time
    html = client.get("/city").text
    assert "Trễ (sau 10:00): 0" in html
    fake_clock.advance(minutes=1)
    upload(client, auth, [("b.json", ward_file(db, WARD_B))])  # 10:01: late
    html = client.get("/city").text
    assert "Trễ (sau 10:00): 125" in html  # 124 missing + B
    assert "Nhận trễ" in row_of(html, WARD_B)
    assert "Nhận trễ" not in row_of(html, WARD_A)
    # A day before: every ward without a report is late.
    assert "Trễ (sau 10:00): 126" in client.get("/city?date=2026-12-01").text
    assert client.get("/city?date=2026-12-04").status_code == 404
    assert client.get("/city?date=bogus").status_code == 404


def test_xlsx_numbers_frozen_header_and_city_total(db, client, auth, city):
    upload(client, auth, [("a.json", ward_file(db, WARD_A)),
                          ("b.json", ward_file(db, WARD_B, groups=((500, 450, 400),)))])
    resp = client.get(f"/city.xlsx?date={DAY}")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(resp.data))
    sheet = book.worksheets[0]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    assert len(rows) == 127  # 126 wards and the city total
    first = dict(zip(header, rows[0]))
    assert first["Mã phường, xã"] == WARD_B and first["Hạng"] == 1
    activated = first["Đã kích hoạt iHanoi"]
    assert activated == 400 and isinstance(activated, int)
    assert first["Tỷ lệ đạt chỉ tiêu"] == pytest.approx(0.8)
    total = dict(zip(header, rows[-1]))
    assert total["Đã kích hoạt iHanoi"] == 520 and "2/126" in total["Phường, xã"]
    missing = book.worksheets[1]
    assert missing.max_row == 1 + 124


# --- flask reports consolidate ----------------------------------------------------------------

def test_consolidate_a_folder_without_the_database(db, runner, tmp_path):
    folder = tmp_path / "nhan"
    folder.mkdir()
    (folder / "a.json").write_bytes(ward_file(db, WARD_A))
    (folder / "b.json").write_bytes(ward_file(db, WARD_B, groups=((500, 450, 400),)))
    (folder / "b-again.json").write_bytes(ward_file(db, WARD_B, groups=((500, 450, 400),)))
    (folder / "notes.txt").write_text("not read")
    out = tmp_path / "tong-hop.xlsx"
    result = runner.invoke(args=["reports", "consolidate", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.count("\nok") + result.output.startswith("ok") == 3
    assert "2 of 126 wards reported, 124 missing" in result.output
    sheet = load_workbook(out).worksheets[0]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, [c.value for c in r])) for r in sheet.iter_rows(min_row=2)]
    assert rows[0]["Mã phường, xã"] == WARD_B and rows[0]["Từ 15 tuổi trở lên"] == 450
    assert all(isinstance(rows[0][key], int)
               for key in ("Từ 15 tuổi trở lên", "Chỉ tiêu", "Hộ gia đình"))
    assert load_workbook(out).worksheets[1].max_row == 125
    assert db.execute("SELECT count(*) FROM city_reports").fetchone()[0] == 0

    (folder / "c.json").write_bytes(tampered(ward_file(db, WARD_C)))
    result = runner.invoke(args=["reports", "consolidate", str(folder), "--out", str(out),
                                 "--date", DAY])
    assert result.exit_code == 1
    assert "refused" in result.output and "c.json" in result.output
    assert load_workbook(out).worksheets[1].max_row == 125  # still written, C missing
    assert db.execute("SELECT count(*) FROM city_reports").fetchone()[0] == 0
    assert audits(db) == []


# --- the city-scoped viewer and who reaches /city ------------------------------------------------

def test_create_user_city(db, runner):
    result = runner.invoke(args=["create-user", "tp.xem", "--role", "viewer", "--city",
                                 "--password", "a long enough city password"])
    assert result.exit_code == 0, result.output
    row = auth_queries.get_user_by_username(db, "tp.xem")
    assert (row["scope"], row["ward_code"], row["role"]) == ("city", None, "viewer")
    result = runner.invoke(args=["create-user", "tp.lead", "--role", "leader", "--city",
                                 "--password", "a long enough city password"])
    assert result.exit_code != 0 and "--role viewer" in result.output
    result = runner.invoke(args=["create-user", "tp.two", "--role", "viewer", "--city",
                                 "--ward", "103", "--password", "a long enough city password"])
    assert result.exit_code != 0 and "not both" in result.output
    result = runner.invoke(args=["create-user", "nobody", "--role", "viewer",
                                 "--password", "a long enough city password"])
    assert result.exit_code != 0 and "--ward" in result.output
    assert auth_queries.get_user_by_username(db, "tp.lead") is None


def test_city_viewer_sees_the_city_and_nothing_of_any_ward(db, client, auth):
    household = make_household(db)
    user = city_user(db)
    resp = auth.login(user["username"], follow=True)
    assert resp.request.path == "/city"
    assert 'id="nav-city"' in resp.text and 'id="nav-progress"' not in resp.text
    assert "Hà Nội" in resp.text
    for path in (f"/households/{household['id']}", "/households/nope", "/residents", "/progress",
                 "/reports", f"/reports/{DAY}", "/declarations", "/today", "/admin/users",
                 "/sync", "/progress.csv"):
        assert client.get(path).status_code == 404, path
    token = auth.token("/city")
    assert client.post("/residents/search", data={"q": "a", "csrf_token": token}).status_code == 404
    assert client.get("/password").status_code == 200
    assert client.get("/city.xlsx").status_code == 200
    assert client.get("/").headers["Location"] == "/city"
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/city").status_code == 302  # signed out: to the login page


@pytest.mark.parametrize("role,status", [("viewer", 404), ("leader", 404), ("officer", 404),
                                         ("admin", 200)])
def test_only_city_viewers_and_admins_reach_city(db, client, auth, role, status):
    household = make_household(db)
    make_user(db, username="u", role=role)
    auth.login("u")
    assert client.get("/city").status_code == status
    assert client.get("/city.xlsx").status_code == status
    assert upload(client, auth, [("a.json", ward_file(db, WARD_A))]).status_code == status
    if role == "viewer":  # a ward viewer: no people's data, and it learns nothing
        assert client.get(f"/households/{household['id']}").status_code == 404
    assert bool(stored(db)) == (status == 200)


def test_ward_admin_never_sees_or_edits_city_users(db, client, auth):
    stranger = city_user(db, "tp.khac")
    make_user(db, username="quan", role="admin")
    auth.login("quan")
    assert "tp.khac" not in client.get("/admin/users").text
    page = client.get("/admin/users")
    assert client.post(f"/admin/users/{stranger['id']}/active", data={
        "csrf_token": csrf_from(page.text), "active": "0"}).status_code == 404
    assert client.get(f"/admin/users/{stranger['id']}/password").status_code == 404
    assert auth_queries.get_user(db, stranger["id"])["is_active"] == 1
