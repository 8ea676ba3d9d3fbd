"""The registry: households and residents, duplicates, search, inline editing, scoping."""
import unicodedata
from datetime import date

import pytest

from wardkit import audit
from wardkit.residents import queries
from wardkit.residents.search import search
from tests.factories import (WARD_A, WARD_B, make_group, make_household, make_resident,
                             make_user)

HX = {"HX-Request": "true"}


@pytest.fixture
def home(db):
    """A household in ward A with one resident."""
    group = make_group(db, name="Tổ dân phố số 7")
    household = make_household(db, group=group)
    head = make_resident(db, household, full_name="Nguyễn Văn Hùng", dob=date(1958, 4, 2),
                         gender="male", cccd="001058123456", relation="head")
    return {"group": group, "household": household, "head": head}


def resident_data(**overrides):
    data = {"full_name": "Trần Thị Lan", "dob": "15/08/1990", "gender": "female",
            "cccd": "001190654321", "phone": "0912 345 678", "relation": "spouse",
            "lawful_basis": "official_duty", "support_reason": ""}
    data.update(overrides)
    return data


def count_residents(db):
    return db.execute("SELECT count(*) FROM residents").fetchone()[0]


# --- household page and inline add ---------------------------------------------------

def test_household_page_lists_residents_and_history(client, db, officer, home):
    r = client.get(f"/households/{home['household']['id']}")
    assert r.status_code == 200
    assert "Nguyễn Văn Hùng" in r.text and "Tổ dân phố số 7" in r.text
    assert 'id="resident-new"' in r.text and 'id="household-history"' in r.text
    assert audit.entries(db, action="household_viewed")[0]["entity_id"] == home["household"]["id"]


def test_inline_add_returns_row_and_fresh_form(client, db, auth, officer, home):
    hid = home["household"]["id"]
    r = auth.post(f"/households/{hid}/residents", resident_data(),
                  headers={"HX-Target": "resident-new", **HX})
    assert r.status_code == 200, r.text
    assert "<html" not in r.text
    assert r.text.index('class="resident') < r.text.index('id="resident-new"')
    assert "Trần Thị Lan" in r.text
    assert r.headers["HX-Trigger"] == "household-changed"
    [lan] = [p for p in queries.list_residents(db, hid) if p["full_name"] == "Trần Thị Lan"]
    assert lan["phone"] == "0912345678" and lan["cccd"] == "001190654321"
    assert lan["dob"] == "1990-08-15" and lan["ihanoi_status"] == "unknown"
    assert lan["ward_code"] == WARD_A
    entry = audit.entries(db, action="resident_created")[0]
    assert entry["entity_id"] == lan["id"]
    assert "Lan" not in (entry["detail"] or "")  # no personal values in the log


@pytest.mark.parametrize("field, value", [
    ("full_name", ""),
    ("full_name", "\u200b\u200b"),
    ("full_name", "A" * 101),
    ("dob", "31/02/1990"),
    ("dob", "01/01/2999"),
    ("dob", ""),
    ("cccd", "00119065432"),
    ("cccd", "00119065432a"),
    ("cccd", "003190654321"),
    ("phone", "12345"),
    ("gender", "x"),
    ("relation", "boss"),
    ("lawful_basis", ""),
])
def test_bad_input_names_the_field_and_saves_nothing(client, db, auth, officer, home,
                                                     field, value):
    before = count_residents(db)
    r = auth.post(f"/households/{home['household']['id']}/residents",
                  resident_data(**{field: value}), headers={"HX-Target": "resident-new", **HX})
    assert r.status_code == 422
    assert f'id="new-{field}-error"' in r.text, r.text
    assert count_residents(db) == before


@pytest.mark.parametrize("name, shown", [
    ("Trần Thị Lan 2", "Họ tên không được có chữ số: hãy bỏ “2”"),
    ("Trần Thị Lan 😀", "hãy bỏ “😀”"),
    ("<script>Lan</script> Trần", "hãy bỏ “&lt;”"),
    ("Trần Thị L\u0430n", "Ký tự “\u0430” (chữ Kirin) trong “L\u0430n” không phải chữ cái "
                          "tiếng Việt — hãy gõ lại bằng bàn phím tiếng Việt"),
])
def test_name_with_digits_symbols_or_foreign_letters_is_refused_next_to_the_field(
        client, db, auth, officer, home, name, shown):
    before = count_residents(db)
    r = auth.post(f"/households/{home['household']['id']}/residents",
                  resident_data(full_name=name, confirm_warnings="y"),
                  headers={"HX-Target": "resident-new", **HX})
    assert r.status_code == 422
    error = r.text.split('id="new-full_name-error"', 1)[1][:500]
    assert shown in error, error
    assert "<script>" not in r.text            # quoted in the message, never run
    assert count_residents(db) == before


@pytest.mark.parametrize("name, shown", [
    ("Lan", "Họ tên chỉ có một từ"),
    ("Trần Thị Hòá", "“Hòá” có hai dấu thanh"),
])
def test_one_word_or_two_tones_warns_then_saves_when_confirmed(client, db, auth, officer,
                                                              home, name, shown):
    hid = home["household"]["id"]
    data = resident_data(full_name=name)
    r = auth.post(f"/households/{hid}/residents", data,
                  headers={"HX-Target": "resident-new", **HX})
    assert r.status_code == 422 and "alert-warn" in r.text and shown in r.text
    assert count_residents(db) == 1
    r = auth.post(f"/households/{hid}/residents", {**data, "confirm_warnings": "y"},
                  headers={"HX-Target": "resident-new", **HX})
    assert r.status_code == 200
    assert name in [p["full_name"] for p in queries.list_residents(db, hid)]


def test_name_typed_with_eth_is_stored_with_d_stroke_and_found(client, db, auth, officer,
                                                              home):
    hid = home["household"]["id"]
    r = auth.post(f"/households/{hid}/residents",
                  resident_data(full_name="\u00d0ỗ Thị \u00d0ào"),
                  headers={"HX-Target": "resident-new", **HX})
    assert r.status_code == 200, r.text
    for q in ("đỗ đào", "do dao", "\u00d0ỗ"):
        assert [p["full_name"] for p in search(db, WARD_A, q)[0]] == ["Đỗ Thị Đào"]


def test_same_cccd_is_blocked_and_links_to_the_person(client, db, auth, officer, home):
    r = auth.post(f"/households/{home['household']['id']}/residents",
                  resident_data(full_name="Người Khác", cccd="001 058 123 456", gender="male",
                                dob="02/04/1958"),
                  headers={"HX-Target": "resident-new", **HX})
    assert r.status_code == 422
    assert 'id="new-cccd-error"' in r.text
    assert f"#resident-{home['head']['id']}" in r.text
    assert count_residents(db) == 1


def test_a_stored_name_quoted_in_a_message_is_text_not_markup(client, db, auth, officer,
                                                             home):
    """A record saved before the name rules (or imported raw) may hold markup; quoted in
    a translated message it must show as text, never run as HTML."""
    db.execute("UPDATE residents SET full_name = ? WHERE id = ?",
               ["<img src=x onerror=alert(1)>", home["head"]["id"]])
    r = auth.post(f"/households/{home['household']['id']}/residents",
                  resident_data(full_name="Người Khác", cccd="001 058 123 456", gender="male",
                                dob="02/04/1958"),
                  headers={"HX-Target": "resident-new", **HX})
    assert r.status_code == 422
    assert "<img src=x" not in r.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in r.text


def test_same_cccd_blocked_even_when_confirmed(client, db, auth, officer, home):
    r = auth.post(f"/households/{home['household']['id']}/residents",
                  resident_data(cccd="001058123456", confirm_warnings="y"),
                  headers={"HX-Target": "resident-new", **HX})
    assert r.status_code == 422
    assert count_residents(db) == 1


def test_same_name_and_dob_warns_then_saves_when_confirmed(client, db, auth, officer, home):
    # The same person typed in NFD (an iPad keyboard), without a CCCD this time.
    nfd = unicodedata.normalize("NFD", "Nguyễn Văn Hùng")
    data = resident_data(full_name=nfd, dob="02/04/1958", gender="male", cccd="",
                         relation="other")
    hid = home["household"]["id"]
    r = auth.post(f"/households/{hid}/residents", data,
                  headers={"HX-Target": "resident-new", **HX})
    assert r.status_code == 422
    assert "alert-warn" in r.text and 'name="confirm_warnings"' in r.text
    assert count_residents(db) == 1
    r = auth.post(f"/households/{hid}/residents", {**data, "confirm_warnings": "y"},
                  headers={"HX-Target": "resident-new", **HX})
    assert r.status_code == 200
    names = [p["full_name"] for p in queries.list_residents(db, hid)]
    assert names.count("Nguyễn Văn Hùng") == 2  # stored NFC, identical to the first


def test_cccd_century_mismatch_is_a_warning_not_a_block(client, db, auth, officer, home):
    # 4th digit 0 = born in the 1900s, but the date of birth says 2003.
    data = resident_data(full_name="Lê Minh", gender="male", dob="01/01/2003",
                         cccd="001003123456", relation="child")
    hid = home["household"]["id"]
    r = auth.post(f"/households/{hid}/residents", data, headers={"HX-Target": "resident-new", **HX})
    assert r.status_code == 422 and "alert-warn" in r.text
    r = auth.post(f"/households/{hid}/residents", {**data, "confirm_warnings": "y"},
                  headers={"HX-Target": "resident-new", **HX})
    assert r.status_code == 200
    assert queries.find_by_cccd(db, WARD_A, "001003123456") is not None


def test_born_abroad_override(client, db, auth, officer, home):
    data = resident_data(cccd="840190123456", gender="female", dob="01/01/1990")
    hid = home["household"]["id"]
    r = auth.post(f"/households/{hid}/residents", data, headers={"HX-Target": "resident-new", **HX})
    assert r.status_code == 422 and 'id="new-cccd-error"' in r.text
    r = auth.post(f"/households/{hid}/residents", {**data, "is_born_abroad": "y"},
                  headers={"HX-Target": "resident-new", **HX})
    assert r.status_code == 200


def test_household_page_masks_cccd_and_phone_but_edit_form_shows_them(client, db, officer,
                                                                         home):
    rid = home["head"]["id"]
    queries.update_resident(db, WARD_A, rid, {"phone": "0912345678"}, by=None)
    page = client.get(f"/households/{home['household']['id']}").text
    assert "001058123456" not in page and "0912345678" not in page
    assert "••••••••3456" in page and "•••••••678" in page
    # After an inline edit the row comes back masked too.
    row = client.get(f"/residents/{rid}", headers={"HX-Target": f"resident-{rid}", **HX}).text
    assert "001058123456" not in row and "••••••••3456" in row
    # Only the edit form (inline or its own page) shows the numbers in full.
    for headers in ({"HX-Target": f"resident-{rid}", **HX}, {}):
        form = client.get(f"/residents/{rid}/edit", headers=headers).text
        assert 'value="001058123456"' in form and 'value="0912345678"' in form


def test_inline_edit_and_history(client, db, auth, officer, home):
    rid = home["head"]["id"]
    target = {"HX-Target": f"resident-{rid}", **HX}
    r = client.get(f"/residents/{rid}/edit", headers=target)
    assert r.status_code == 200 and "<html" not in r.text
    assert 'value="02/04/1958"' in r.text
    data = resident_data(full_name="Nguyễn Văn Hùng", gender="male", dob="02/04/1958",
                         cccd="001058123456", relation="head", phone="+84 98 123 4567")
    r = auth.post(f"/residents/{rid}/edit", data, headers=target)
    assert r.status_code == 200 and r.text.lstrip().startswith(f'<article id="resident-{rid}"')
    saved = queries.get_resident(db, WARD_A, rid)
    assert saved["phone"] == "0981234567"
    entry = audit.entries(db, action="resident_updated")[0]
    assert "phone" in entry["detail"] and "0981234567" not in entry["detail"]
    history = client.get(f"/households/{home['household']['id']}/history").text
    assert "Nguyễn Văn Hùng" in history


def test_soft_delete_with_undo(client, db, auth, officer, home):
    rid = home["head"]["id"]
    target = {"HX-Target": f"resident-{rid}", **HX}
    r = auth.post(f"/residents/{rid}/delete", headers=target)
    assert r.status_code == 200 and "/restore" in r.text
    assert queries.get_resident(db, WARD_A, rid) is None
    assert db.execute("SELECT deleted_at FROM residents WHERE id = ?", [rid]).fetchone()[0]
    assert search(db, WARD_A, "hung")[0] == []
    r = auth.post(f"/residents/{rid}/restore", headers=target)
    assert r.status_code == 200 and "Nguyễn Văn Hùng" in r.text
    assert [row["id"] for row in search(db, WARD_A, "hung")[0]] == [rid]


def test_restore_refused_when_the_cccd_was_taken_meanwhile(client, db, auth, officer, home):
    rid = home["head"]["id"]
    auth.post(f"/residents/{rid}/delete")
    make_resident(db, home["household"], full_name="Nguyễn Văn Hưng", cccd="001058123456",
                  dob=date(1958, 4, 2), gender="male")
    r = auth.post(f"/residents/{rid}/restore", headers={"HX-Target": f"resident-{rid}", **HX})
    assert r.status_code == 409
    assert queries.get_resident(db, WARD_A, rid) is None
    assert audit.entries(db, action="resident_restored") == []


# --- new household -------------------------------------------------------------------

def test_new_household_with_first_resident(client, db, auth, officer, home):
    group = home["group"]
    data = {**resident_data(relation="head"), "group_id": group["id"], "house_number": "12A",
            "lane": "Ngõ 34", "street": "Âu Cơ", "notes": ""}
    r = auth.post("/households/new", data)
    assert r.status_code == 303
    household = queries.find_household_at(db, WARD_A, group["id"], "Số 12A, Ngõ 34, Âu Cơ")
    assert r.headers["Location"] == f"/households/{household['id']}"
    assert len(household["reference"]) >= 22
    [lan] = queries.list_residents(db, household["id"])
    assert lan["full_name"] == "Trần Thị Lan" and lan["relation"] == "head"


def test_new_household_bad_input_saves_nothing(client, db, auth, officer, home):
    data = {**resident_data(dob="32/13/1990"), "group_id": home["group"]["id"],
            "house_number": "", "street": "Âu Cơ"}
    r = auth.post("/households/new", data)
    assert r.status_code == 422
    assert 'id="house_number-error"' in r.text and 'id="dob-error"' in r.text
    assert db.execute("SELECT count(*) FROM households").fetchone()[0] == 1


def test_new_household_other_ward_group_refused(client, db, auth, officer, home):
    other = make_group(db, ward_code=WARD_B)
    data = {**resident_data(), "group_id": other["id"], "house_number": "1", "street": "X"}
    r = auth.post("/households/new", data)
    assert r.status_code == 422 and 'id="group_id-error"' in r.text


def test_reissue_reference_asks_first(client, db, auth, officer, home):
    hid = home["household"]["id"]
    old = home["household"]["reference"]
    page = client.get(f"/households/{hid}").text
    # The household page's button only opens the warning; the posting button is inside it.
    assert "<summary" in page and 'name="confirm" value="1"' in page
    assert "Mọi tờ hướng dẫn đã in cho hộ này sẽ không dùng được nữa" in page
    for data in ({}, {"confirm": "0"}, {"confirm": "yes"}):
        r = auth.post(f"/households/{hid}/reference", data)
        assert r.status_code == 200
        assert "Mọi tờ hướng dẫn đã in cho hộ này sẽ không dùng được nữa" in r.text
        assert 'name="confirm" value="1"' in r.text
    assert queries.get_household(db, WARD_A, hid)["reference"] == old
    assert audit.entries(db, action="reference_reissued") == []


def test_reissue_reference_confirmed(client, db, auth, officer, home):
    hid = home["household"]["id"]
    old = home["household"]["reference"]
    r = auth.post(f"/households/{hid}/reference", {"confirm": "1"})
    assert r.status_code == 303 and r.headers["Location"] == f"/households/{hid}"
    new = queries.get_household(db, WARD_A, hid)["reference"]
    assert new != old and len(new) >= 22
    assert queries.get_household_by_reference(db, WARD_A, old) is None
    entry = audit.entries(db, action="reference_reissued")[0]
    assert entry["user_id"] == officer["id"] and entry["entity_id"] == hid
    assert old not in (entry["detail"] or "") and new not in (entry["detail"] or "")
    history = client.get(f"/households/{hid}/history").text
    assert "Đã cấp mã QR mới" in history and officer["display_name"] in history
    r = client.get(f"/r/{old}")
    assert r.status_code == 404 and "không còn hiệu lực" in r.text


def test_reissue_reference_other_ward_is_404(client, db, auth, officer):
    other = make_household(db, ward_code=WARD_B)
    r = auth.post(f"/households/{other['id']}/reference", {"confirm": "1"})
    assert r.status_code == 404
    assert queries.get_household(db, WARD_B, other["id"])["reference"] == other["reference"]


# --- search --------------------------------------------------------------------------

@pytest.mark.parametrize("q", ["nguyen van hung", "Nguyễn Văn Hùng", "nguyen v h",
                               "ng van hun", "NGUYEN VAN HUNG", "hung"])
def test_search_is_diacritic_blind(db, home, q):
    rows, _ = search(db, WARD_A, q)
    assert [r["full_name"] for r in rows] == ["Nguyễn Văn Hùng"]


def test_search_d_stroke(db, home):
    make_resident(db, home["household"], full_name="Đặng Thị Đào", cccd=None)
    assert [r["full_name"] for r in search(db, WARD_A, "dang dao")[0]] == ["Đặng Thị Đào"]


def test_search_nfd_query_finds_nfc_name(db, home):
    q = unicodedata.normalize("NFD", "Hùng")
    assert search(db, WARD_A, q)[0][0]["id"] == home["head"]["id"]


def test_search_by_cccd_tail_phone_address_reference(db, home):
    make_resident(db, home["household"], full_name="Trần Thị Lan", phone="0912345678",
                  cccd=None, gender="female", dob=date(1990, 1, 1))
    assert search(db, WARD_A, "3456")[0][0]["full_name"] == "Nguyễn Văn Hùng"
    assert search(db, WARD_A, "001058")[0][0]["full_name"] == "Nguyễn Văn Hùng"
    assert search(db, WARD_A, "5678")[0][0]["full_name"] == "Trần Thị Lan"
    assert search(db, WARD_A, "0912")[0][0]["full_name"] == "Trần Thị Lan"
    by_street = {r["full_name"] for r in search(db, WARD_A, "au co")[0]}
    assert by_street == {"Nguyễn Văn Hùng", "Trần Thị Lan"}
    ref = home["household"]["reference"]
    assert len(search(db, WARD_A, ref)[0]) == 2


def test_search_never_crosses_wards(db, home):
    other_group = make_group(db, ward_code=WARD_B)
    other = make_household(db, group=other_group, ward_code=WARD_B)
    make_resident(db, other, full_name="Nguyễn Văn Hùng", cccd=None, ward_code=WARD_B)
    rows, _ = search(db, WARD_A, "hung")
    assert [r["id"] for r in rows] == [home["head"]["id"]]
    assert search(db, WARD_A, other["reference"])[0] == []


def test_search_sorts_the_vietnamese_way_and_pages(db, home):
    names = ["Bùi Thị Zung", "Lê Văn Đức", "Phạm Văn Dũng", "Đặng Thị Bình", "Hoàng Văn Ân",
             "Ngô Thị Ăn", "Trần Thị Ánh", "Nguyễn Văn An", "Nguyễn Thị An", "Lê Thị An"]
    for n, name in enumerate(names):
        make_resident(db, home["household"], full_name=name, cccd=None,
                      dob=date(1980, 1, 1 + n))
    rows, more = search(db, WARD_A, "thi van", per_page=50)
    assert rows == []  # every word must match
    rows = [r["full_name"] for r in search(db, WARD_A, "", per_page=50)[0]]
    rows.remove("Nguyễn Văn Hùng")
    assert rows == list(reversed(names))
    first, more = search(db, WARD_A, "", per_page=4)
    second, _ = search(db, WARD_A, "", page=1, per_page=4)
    assert more and len(first) == 4 and not set(r["id"] for r in first) & set(r["id"] for r in second)


def test_search_fragment_vs_page(client, db, auth, officer, home):
    r = auth.post("/residents/search", {"q": "nguyen van hung"},
                  headers={"HX-Target": "residents-results", **HX})
    assert r.status_code == 200
    assert "<html" not in r.text and "Nguyễn Văn Hùng" in r.text
    assert r.text.lstrip().startswith('<section id="residents-results"')
    r = auth.post("/residents/search", {"q": "nguyen van hung"})
    assert r.status_code == 200 and "<html" in r.text and "Nguyễn Văn Hùng" in r.text


def test_search_lists_mask_cccd(client, db, auth, officer, home):
    r = auth.post("/residents/search", {"q": "hung"}, headers={"HX-Target": "residents-results", **HX})
    assert "001058123456" not in r.text and "3456" in r.text


def test_search_term_never_in_url(client, db, officer, home):
    html = client.get("/residents").text
    assert 'method="post" action="/residents/search"' in html
    assert 'hx-post="/residents/search"' in html and "hx-get" not in html.split("<main")[1]
    assert 'delay:250ms' in html and 'hx-sync="this:replace"' in html


def test_search_show_more_appends_rows(client, db, auth, officer, home):
    for n in range(55):
        make_resident(db, home["household"], full_name=f"Lê Văn Tèo {n}", cccd=None)
    r = auth.post("/residents/search", {"q": "teo", "page": "1"},
                  headers={"HX-Target": "residents-more", **HX})
    assert r.status_code == 200 and r.text.count('class="result"') == 5
    assert 'id="residents-more"' not in r.text


# --- scoping and roles ---------------------------------------------------------------

def test_other_ward_ids_are_404_on_every_route(client, db, auth, officer):
    group = make_group(db, ward_code=WARD_B)
    household = make_household(db, group=group, ward_code=WARD_B)
    person = make_resident(db, household, ward_code=WARD_B, cccd=None)
    hid, rid = household["id"], person["id"]
    for path in (f"/households/{hid}", f"/households/{hid}/history", f"/residents/{rid}",
                 f"/residents/{rid}/edit"):
        assert client.get(path).status_code == 404, path
    for path, data in ((f"/households/{hid}/residents", resident_data()),
                       (f"/households/{hid}/reference", {}),
                       (f"/residents/{rid}/edit", resident_data()),
                       (f"/residents/{rid}/delete", {}),
                       (f"/residents/{rid}/restore", {})):
        assert auth.post(path, data).status_code == 404, path
    assert queries.get_resident(db, WARD_B, rid)["full_name"] == person["full_name"]
    assert count_residents(db) == 1


@pytest.mark.parametrize("role", ["kiosk", "viewer"])
def test_kiosk_and_viewer_see_no_personal_data(client, db, auth, role, home):
    make_user(db, username="u", role=role)
    auth.login("u")
    refused = 404 if role in ("viewer", "kiosk") else 403  # a viewer (and a kiosk device) learns nothing: 404
    assert client.get("/residents").status_code == refused
    assert client.get(f"/households/{home['household']['id']}").status_code == refused
    assert auth.post("/residents/search", {"q": "hung"}).status_code == refused
