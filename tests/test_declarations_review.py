"""Declarations, the leader's side (issue 4): the list with counts and filters, bulk verify
(all or nothing), one review, and the export for the traffic police (CSV and XLSX), per
role and per ward."""
import csv
import io
import json
from datetime import date

import pytest
from openpyxl import load_workbook

from wardkit import audit
from wardkit.declarations import queries as q
from tests.factories import (LICENCE_FIELDS, VEHICLE_FIELDS, WARD_A, WARD_B, make_declaration,
                             make_group, make_household, make_resident, make_user)

EVIL = "=cmd|' /C calc'!A0"


@pytest.fixture
def ward(db):
    group = make_group(db, name="Tổ dân phố số 3")
    group2 = make_group(db, name="Tổ dân phố số 7")
    household = make_household(db, group=group)
    household2 = make_household(db, group=group2)
    hh_b = make_household(db, ward_code=WARD_B)
    return {
        "group": group, "group2": group2,
        "mai": make_resident(db, household, full_name="Phạm Thị Mai", cccd="001185000123",
                             phone="0912345678"),
        "hung": make_resident(db, household2, full_name="Nguyễn Văn Hùng", gender="male",
                              dob=date(1950, 3, 4)),
        "officer": make_user(db, role="officer", username="an"),
        "officer2": make_user(db, role="officer", username="binh"),
        "leader": make_user(db, role="leader", username="lan"),
        "admin": make_user(db, role="admin", username="quan"),
        "kiosk": make_user(db, role="kiosk", username="kiosk1"),
        "viewer": make_user(db, role="viewer", username="xem"),
        "leader_b": make_user(db, role="leader", ward_code=WARD_B, username="leaderb"),
        "officer_b": make_user(db, role="officer", ward_code=WARD_B, username="officerb"),
        "resident_b": make_resident(db, hh_b, full_name="Lê Văn Bình"),
    }


def declare(db, ward, *, resident="mai", kind="vehicle", fields=None, to="draft",
            officer="officer"):
    """Return a new complete declaration of `ward[resident]` (even as a draft) by
    `ward[officer]`, moved to status `to`."""
    fields = fields if fields is not None else (
        VEHICLE_FIELDS if kind == "vehicle" else LICENCE_FIELDS)
    return make_declaration(db, ward[resident], kind=kind, status=to,
                            by=ward[officer]["id"], **fields)


def status_of(db, row):
    return q.get_declaration(db, row["ward_code"], row["id"])["status"]


# --- access --------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["kiosk", "viewer"])
def test_kiosk_and_viewer_refused_everywhere(db, ward, client, auth, who):
    row = declare(db, ward, to="submitted")
    auth.login(ward[who]["username"])
    token = auth.token("/")
    refused = 404 if who in ("viewer", "kiosk") else 403  # a viewer (and a kiosk device) learns nothing: 404
    for path in ("/declarations", "/declarations/export.csv", "/declarations/export.xlsx"):
        assert client.get(path).status_code == refused, path
    assert client.post("/declarations/verify", data={
        "csrf_token": token, "ids": [row["id"]]}).status_code == refused
    assert client.post(f"/declarations/{row['id']}/review", data={
        "csrf_token": token, "decision": "verified"}).status_code == refused
    assert status_of(db, row) == "submitted"


def test_officer_cannot_bulk_verify_review_or_export(db, ward, client, auth):
    row = declare(db, ward, to="submitted")
    auth.login("an")
    token = auth.token("/declarations")
    assert client.post("/declarations/verify", data={
        "csrf_token": token, "ids": [row["id"]]}).status_code == 403
    assert client.post(f"/declarations/{row['id']}/review", data={
        "csrf_token": token, "decision": "verified"}).status_code == 403
    assert client.get("/declarations/export.csv").status_code == 403
    assert client.get("/declarations/export.xlsx").status_code == 403
    assert status_of(db, row) == "submitted"
    assert not audit.entries(db, action="declarations_exported")


def test_anonymous_sent_to_login(client):
    r = client.get("/declarations")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


# --- the list ------------------------------------------------------------------------

def test_list_shows_only_the_wards_rows_and_counts(db, ward, client, auth):
    declare(db, ward, to="submitted")
    declare(db, ward, resident="hung", kind="licence", to="verified")
    declare(db, ward, resident="hung", to="draft")
    declare(db, ward, resident="resident_b", officer="officer_b", to="submitted")
    auth.login("lan")
    r = client.get("/declarations")
    assert r.status_code == 200
    assert "Phạm Thị Mai" in r.text and "Nguyễn Văn Hùng" in r.text
    assert "Lê Văn Bình" not in r.text
    assert r.text.count('name="ids"') == 1  # checkboxes on submitted rows only
    counts = q.counts_by_status(db, WARD_A)
    assert counts == {"draft": 1, "recorded": 0, "submitted": 1, "verified": 1,
                      "needs_fix": 0}
    assert "001185000123" not in r.text  # no CCCD in lists
    assert r.headers["Cache-Control"] == "no-store"


def test_filters(db, ward, client, auth):
    sub = declare(db, ward, to="submitted")
    lic = declare(db, ward, resident="hung", kind="licence", to="verified")
    auth.login("lan")

    def ids(**params):
        text = client.get("/declarations", query_string=params).text
        return {d["id"] for d in (sub, lic) if f'id="declaration-{d["id"]}"' in text}

    assert ids() == {sub["id"], lic["id"]}
    assert ids(status="submitted") == {sub["id"]}
    assert ids(kind="licence") == {lic["id"]}
    assert ids(group=ward["group2"]["id"]) == {lic["id"]}
    assert ids(flagged="1") == set()
    assert ids(flagged="0") == {sub["id"], lic["id"]}
    # Unknown values are ignored, not errors.
    assert ids(status="approved", kind="boat", group="nope", flagged="x",
               page="-3") == {sub["id"], lic["id"]}


def test_htmx_filter_answers_the_fragment(db, ward, client, auth):
    declare(db, ward, to="submitted")
    auth.login("lan")
    r = client.get("/declarations", query_string={"status": "submitted"},
                   headers={"HX-Request": "true", "HX-Target": "declarations-list"})
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<section id="declarations-list"')
    assert "<html" not in r.text


def test_officer_sees_own_drafts_and_needs_fix_first(db, ward, client, auth):
    own = declare(db, ward, to="draft")
    declare(db, ward, resident="hung", officer="officer2", to="submitted")
    auth.login("an")
    text = client.get("/declarations").text
    assert 'name="ids"' not in text and "/review" not in text
    assert text.index(own["id"]) < text.index("Nguyễn Văn Hùng")


# --- bulk verify and review ------------------------------------------------------------

def test_leader_bulk_verify(db, ward, client, auth):
    a = declare(db, ward, to="submitted")
    b = declare(db, ward, resident="hung", kind="licence", to="submitted")
    auth.login("lan")
    r = auth.post("/declarations/verify", {"ids": [a["id"], b["id"]], "status": "submitted"})
    assert r.status_code == 303
    assert r.headers["Location"].endswith("/declarations?status=submitted")
    assert status_of(db, a) == status_of(db, b) == "verified"


def test_bulk_verify_is_all_or_nothing(db, ward, client, auth):
    a = declare(db, ward, to="submitted")
    draft = declare(db, ward, resident="hung", to="draft")
    other_ward = declare(db, ward, resident="resident_b", officer="officer_b", to="submitted")
    auth.login("lan")
    for bad in (draft, other_ward):
        r = auth.post("/declarations/verify", {"ids": [a["id"], bad["id"]]})
        assert r.status_code == 422
        assert 'id="declarations-error"' in r.text
        assert status_of(db, a) == "submitted"
    assert status_of(db, other_ward) == "submitted"
    assert auth.post("/declarations/verify", {}).status_code == 422


def test_review_needs_fix_requires_a_reason(db, ward, client, auth):
    row = declare(db, ward, to="submitted")
    auth.login("lan")
    r = auth.post(f"/declarations/{row['id']}/review", {"decision": "needs_fix", "reason": " "})
    assert r.status_code == 422
    assert status_of(db, row) == "submitted"
    r = auth.post(f"/declarations/{row['id']}/review",
                  {"decision": "needs_fix", "reason": "Biển số sai"})
    assert r.status_code == 303
    got = q.get_declaration(db, WARD_A, row["id"])
    assert got["status"] == "needs_fix" and got["review_reason"] == "Biển số sai"
    assert got["reviewed_by"] == ward["leader"]["id"]


def test_review_verify_and_bad_decision(db, ward, client, auth):
    row = declare(db, ward, to="submitted")
    recorded = declare(db, ward, resident="hung", to="recorded")
    auth.login("quan")  # an admin
    assert auth.post(f"/declarations/{row['id']}/review",
                     {"decision": "approved"}).status_code == 422
    assert auth.post(f"/declarations/{recorded['id']}/review",
                     {"decision": "verified"}).status_code == 422  # not submitted yet
    assert auth.post(f"/declarations/{row['id']}/review",
                     {"decision": "verified"}).status_code == 303
    assert status_of(db, row) == "verified" and status_of(db, recorded) == "recorded"


def test_review_of_another_wards_declaration_is_404(db, ward, client, auth):
    other = declare(db, ward, resident="resident_b", officer="officer_b", to="submitted")
    auth.login("lan")
    r = auth.post(f"/declarations/{other['id']}/review", {"decision": "verified"})
    assert r.status_code == 404
    assert auth.post("/declarations/nope/review", {"decision": "verified"}).status_code == 404
    assert status_of(db, other) == "submitted"


# --- export --------------------------------------------------------------------------

@pytest.fixture
def exportable(db, ward):
    """Ward A: a verified vehicle with formula-looking owner and brand, a verified licence,
    a submitted vehicle; ward B: a verified vehicle."""
    evil = dict(VEHICLE_FIELDS, owner_name=EVIL, brand="+Honda", model="@Wave", colour="-đỏ")
    return {
        "vehicle": declare(db, ward, fields=evil, to="verified"),
        "licence": declare(db, ward, resident="hung", kind="licence", to="verified"),
        "submitted": declare(db, ward, resident="hung", to="submitted"),
        "other_ward": declare(db, ward, resident="resident_b", officer="officer_b",
                              to="verified"),
    }


def _check_export_rows(header, rows, ward, exportable):
    assert header[:4] == ["STT", "Họ và tên", "Ngày sinh", "Số CCCD"]
    for name in ("Loại khai báo", "Số GPLX", "Hạng", "Biển số", "Số khung", "Số máy",
                 "Tên chủ xe", "Nhãn hiệu"):
        assert name in header
    col = {name: header.index(name) for name in header}
    ids = {r[col["Mã khai báo"]] for r in rows}
    assert ids == {exportable["vehicle"]["id"], exportable["licence"]["id"]}
    vehicle = next(r for r in rows if r[col["Mã khai báo"]] == exportable["vehicle"]["id"])
    assert vehicle[col["Họ và tên"]] == "Phạm Thị Mai"
    assert vehicle[col["Số CCCD"]] == "001185000123"
    assert vehicle[col["Số điện thoại"]] == "0912345678"
    assert vehicle[col["Ngày sinh"]] == "01/06/1985"
    assert vehicle[col["Tổ dân phố"]] == "Tổ dân phố số 3"
    assert vehicle[col["Biển số"]] == "29-HA 002.33"
    assert vehicle[col["Tên chủ xe"]] == "'" + EVIL
    assert vehicle[col["Nhãn hiệu"]] == "'+Honda"
    assert vehicle[col["Số loại"]] == "'@Wave"
    assert vehicle[col["Màu sơn"]] == "'-đỏ"
    assert vehicle[col["Loại khai báo"]] == "Phương tiện"
    licence = next(r for r in rows if r[col["Mã khai báo"]] == exportable["licence"]["id"])
    assert licence[col["Số GPLX"]] == "001234567890"  # leading zeros kept
    assert licence[col["Hạng"]] == "B2"
    for row in rows:
        for cell in row:
            assert not (cell or "").startswith(("=", "+", "-", "@", "\t", "\r"))


def _audited(db, fmt):
    rows = audit.entries(db, action="declarations_exported")
    assert len(rows) == 1
    assert json.loads(rows[0]["detail"]) == {"count": 2, "format": fmt}
    assert rows[0]["ward_code"] == WARD_A and "Mai" not in rows[0]["detail"]


def test_export_csv(db, ward, client, auth, exportable):
    auth.login("lan")
    r = client.get("/declarations/export.csv")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="khai-bao-{WARD_A}-')
    assert disposition.endswith('.csv"')
    assert r.data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    _check_export_rows(table[0], table[1:], ward, exportable)
    _audited(db, "csv")


def test_export_xlsx(db, ward, client, auth, exportable):
    auth.login("quan")  # admins export too
    r = client.get("/declarations/export.xlsx")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Content-Disposition"].endswith('.xlsx"')
    wb = load_workbook(io.BytesIO(r.data))
    ws = wb.active
    cells = [list(row) for row in ws.iter_rows()]
    for row in cells:
        for cell in row:
            assert cell.data_type == "s" or cell.value is None  # text, never a formula
    values = [[c.value for c in row] for row in cells]
    _check_export_rows(values[0], values[1:], ward, exportable)
    _audited(db, "xlsx")


def test_export_of_an_empty_ward(db, ward, client, auth):
    auth.login("leaderb")
    r = client.get("/declarations/export.csv")
    table = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert len(table) == 1 and table[0][1] == "Họ và tên"
