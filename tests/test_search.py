"""Resident search by address and the ranking of whole-word matches (issue 9, item 8)."""
import importlib.util
from datetime import date

import pytest

from wardkit.db import MIGRATIONS_FILE, write
from wardkit.residents import queries
from wardkit.residents.search import search
from tests.factories import WARD_A, WARD_B, make_group, make_household, make_resident

HX = {"HX-Request": "true", "HX-Target": "residents-results"}


def at(db, group, house_number, street, *names, lane=None, ward_code=WARD_A, **fields):
    """Insert a household at this address with residents of these names; return it."""
    household = make_household(db, group=group, house_number=house_number, lane=lane,
                               street=street, ward_code=ward_code)
    for n, name in enumerate(names):
        make_resident(db, household, full_name=name, dob=date(1970, 1, 1 + n),
                      ward_code=ward_code, **fields)
    return household


def addresses(rows):
    return [r["address"] for r in rows]


@pytest.fixture
def group(db):
    return make_group(db, name="Tổ dân phố số 3")


@pytest.fixture
def hong_ha(db, group):
    """Households at 81, 810 and 181 Hồng Hà and at 81 Hồng Mai; in plain name order the
    people of the others come before the one at 81 Hồng Hà."""
    return {
        "81": at(db, group, "81", "Hồng Hà", "Phạm Thị Mai"),
        "810": at(db, group, "810", "Hồng Hà", "Lê Văn An"),
        "181": at(db, group, "181", "Hồng Hà", "Ngô Thị Bình"),
        # "ha" begins the name Hải: found, but only as a prefix match.
        "81 Hồng Mai": at(db, group, "81", "Hồng Mai", "Trần Văn Hải"),
    }


def test_house_number_and_street_find_that_household_first(db, hong_ha):
    rows, _ = search(db, WARD_A, "81 hong ha")
    assert addresses(rows) == ["Số 81, Hồng Hà", "Số 81, Hồng Mai"]
    assert rows[0]["household_id"] == hong_ha["81"]["id"]


def test_a_number_is_matched_whole(db, hong_ha):
    found = set(addresses(search(db, WARD_A, "81")[0]))
    assert found == {"Số 81, Hồng Hà", "Số 81, Hồng Mai"}  # not 810, not 181
    assert addresses(search(db, WARD_A, "810")[0]) == ["Số 810, Hồng Hà"]


@pytest.mark.parametrize("q", ["Số 96, Đặng Thai Mai", "so 96 dang thai mai",
                               "số nhà 96 đặng thai mai", "96 phố Đặng Thai Mai",
                               "96, Đặng Thai Mai", "96 dang thai mai"])
def test_number_labels_and_punctuation_typed_or_not(db, group, q):
    at(db, group, "960", "Đặng Thai Mai", "Bùi Văn An")
    at(db, group, "196", "Đặng Thai Mai", "Bùi Thị Anh")
    at(db, group, "96", "Nguyễn Đình Thi", "Bùi Thị Ánh")
    at(db, group, "96", "Đặng Thai Mai", "Vũ Thị Yến")
    assert addresses(search(db, WARD_A, q)[0]) == ["Số 96, Đặng Thai Mai"]


@pytest.mark.parametrize("q", ["ngõ 155 ngách 20", "155 20", "ngo 155, ngach 20 nhat tan",
                               "Số 4, Ngõ 155, ngách 20, Nhật Tân"])
def test_lane_numbers_are_searched_with_the_street(db, group, q):
    at(db, group, "4", "Nhật Tân", "Đỗ Văn Nam", lane="Ngõ 155, ngách 20")
    at(db, group, "4", "Nhật Tân", "Đỗ Văn Bắc", lane="Ngõ 155, ngách 2")
    at(db, group, "20", "Nhật Tân", "Đỗ Văn Tây", lane="Ngõ 1550")
    assert [r["full_name"] for r in search(db, WARD_A, q)[0]] == ["Đỗ Văn Nam"]


def test_number_with_a_letter(db, group):
    at(db, group, "6B", "Yên Phụ", "Hà Văn Sáu")
    at(db, group, "60", "Yên Phụ", "Hà Văn Sáu Mươi")
    assert addresses(search(db, WARD_A, "6b yen phu")[0]) == ["Số 6B, Yên Phụ"]
    assert addresses(search(db, WARD_A, "so 6 yen phu")[0]) == ["Số 6B, Yên Phụ"]


def test_label_words_alone_still_find_names(db, group):
    """Without a number, "số"/"ngõ" are ordinary words: Sơn and Ngô are names."""
    at(db, group, "12", "Âu Cơ", "Ngô Văn Sơn", lane="Ngõ 34")
    at(db, group, "14", "Âu Cơ", "Lê Thị Hoa", lane="Ngõ 34")
    assert [r["full_name"] for r in search(db, WARD_A, "ngo")[0]] == ["Ngô Văn Sơn"]
    assert [r["full_name"] for r in search(db, WARD_A, "so")[0]] == ["Ngô Văn Sơn"]
    assert len(search(db, WARD_A, "ngo 34")[0]) == 2


def test_whole_name_first_then_whole_words_then_prefixes(db, group):
    at(db, group, "1", "Âu Cơ", "Hồ Kim Thương", "Hoàng Kim Thư", "Hồ Kim Thư")
    # Every word whole, "hồ" from the street: after the person named so, before prefixes.
    at(db, group, "2", "Tây Hồ", "Đỗ Kim Thư")
    names = [r["full_name"] for r in search(db, WARD_A, "hồ kim thư")[0]]
    assert names == ["Hồ Kim Thư", "Đỗ Kim Thư", "Hoàng Kim Thư", "Hồ Kim Thương"]


def test_short_numbers_are_addresses_not_id_tails(db, group):
    at(db, group, "5", "Âu Cơ", "Lê Văn Tám", cccd="001070000081")
    at(db, group, "81", "Âu Cơ", "Lê Văn Chín")
    assert [r["full_name"] for r in search(db, WARD_A, "81")[0]] == ["Lê Văn Chín"]
    # From three digits on, a number also finds the end or start of a CCCD, after the
    # households at that number.
    at(db, group, "081", "Âu Cơ", "Lê Văn Mười")
    names = [r["full_name"] for r in search(db, WARD_A, "081")[0]]
    assert names == ["Lê Văn Mười", "Lê Văn Tám"]


def test_other_wards_never_appear(db, hong_ha):
    other = make_group(db, ward_code=WARD_B)
    at(db, other, "81", "Hồng Hà", "Phạm Thị Mai", ward_code=WARD_B)
    at(db, other, "96", "Đặng Thai Mai", "Hồ Kim Thư", ward_code=WARD_B)
    rows, _ = search(db, WARD_A, "81 hong ha")
    assert [r["household_id"] for r in rows][:1] == [hong_ha["81"]["id"]]
    assert all(r["household_id"] != hong_ha["81"]["id"] for r in rows[1:])
    assert search(db, WARD_A, "96 dang thai mai")[0] == []
    assert search(db, WARD_A, "ho kim thu")[0] == []


def test_paging_runs_across_the_tiers(db, group):
    at(db, group, "7", "Âu Cơ", *[f"Lê Văn Tư {n:02d}" for n in range(5)])
    at(db, group, "8", "Âu Cơ", *[f"Lê Văn Tường {n:02d}" for n in range(5)])
    pages = [search(db, WARD_A, "le van tu", page=p, per_page=3) for p in range(4)]
    names = [r["full_name"] for rows, _ in pages for r in rows]
    assert names[:5] == [f"Lê Văn Tư {n:02d}" for n in range(5)]
    assert names[5:] == [f"Lê Văn Tường {n:02d}" for n in range(5)]
    assert [more for _, more in pages] == [True, True, True, False]


def test_index_follows_edits_deletes_and_restores(db, group):
    household = at(db, group, "81", "Hồng Hà")
    person = make_resident(db, household, full_name="Phạm Thị Mai")
    queries.update_resident(db, WARD_A, person["id"], {"full_name": "Phạm Thị Hồng"}, by=None)
    assert [r["full_name"] for r in search(db, WARD_A, "81 hong")[0]] == ["Phạm Thị Hồng"]
    queries.soft_delete_resident(db, WARD_A, person["id"], by=None)
    assert search(db, WARD_A, "81 hong ha")[0] == []
    queries.restore_resident(db, WARD_A, person["id"], by=None)
    assert len(search(db, WARD_A, "81 hong ha")[0]) == 1


def test_imports_and_the_demo_index_addresses(db, group):
    """Imports and the demo seed write through bulk_create: new and existing households."""
    existing = at(db, group, "81", "Hồng Hà")
    person = {"full_name": "Phạm Thị Mai", "dob": date(1970, 1, 1), "gender": "female",
              "relation": "head", "lawful_basis": "official_duty"}
    with write(db):
        queries.bulk_create(db, ward_code=WARD_A, by=None, items=[
            ({"group_id": group["id"], "house_number": "96", "lane": None,
              "street": "Đặng Thai Mai"}, [person]),
            ({"id": existing["id"], "address": existing["address"]},
             [{**person, "full_name": "Trần Văn Hải"}]),
        ])
    assert [r["full_name"] for r in search(db, WARD_A, "Số 96 Đặng Thai Mai")[0]] \
        == ["Phạm Thị Mai"]
    assert [r["full_name"] for r in search(db, WARD_A, "81 hong ha")[0]] \
        == ["Trần Văn Hải"]


def test_migration_rebuilds_the_index_of_existing_rows(db, group):
    """0011 rewrites entries written before it (the address as folded text) and leaves
    soft-deleted residents out."""
    household = at(db, group, "81", "Hồng Hà", "Phạm Thị Mai", "Trần Văn Hải")
    gone = make_resident(db, household, full_name="Lê Văn An")
    with write(db):
        queries.soft_delete_resident(db, WARD_A, gone["id"], by=None)
        db.execute("INSERT INTO residents_fts (residents_fts) VALUES ('delete-all')")
        for r in db.execute("SELECT fts_rowid, name_folded FROM residents").fetchall():
            db.execute("INSERT INTO residents_fts (rowid, name, address) VALUES (?, ?, ?)",
                       [r[0], r[1], "so 81, hong ha"])
    # The old entries: "Số" indexed, so "so" found every household (and a deleted person).
    assert len(search(db, WARD_A, "so")[0]) == 3
    spec = importlib.util.spec_from_file_location("migrations_under_test", MIGRATIONS_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with write(db):
        module.m0011_search_addresses(db)
    names = [r["full_name"] for r in search(db, WARD_A, "81 hong ha")[0]]
    assert names == ["Trần Văn Hải", "Phạm Thị Mai"]  # name order: Hải before Mai
    assert search(db, WARD_A, "so")[0] == []  # "Số" is no longer indexed


def test_results_show_the_household_address(client, db, auth, officer, hong_ha):
    r = auth.post("/residents/search", {"q": "Số 81, Hồng Hà"}, headers=HX)
    assert r.status_code == 200
    assert r.text.index("Số 81, Hồng Hà") < r.text.index("Số 81, Hồng Mai")
    assert "Số 810" not in r.text and "Số 181" not in r.text


def test_migration_maps_stored_eth_to_d_stroke_and_finds_the_person(db, group):
    """0012: a name and an address stored with Ð (a Windows-1258 file read as 1252)
    before the rule become Đ, and search finds them by "đ…" and by "d…"."""
    household = at(db, group, "12", "Đội Cấn", "Đặng Văn Hùng")
    with write(db):  # as they were stored before issue 9: look-alikes, folded to "ð"
        db.execute("""UPDATE residents SET full_name = 'Ðặng Văn Hùng',
                      name_folded = 'ðang van hung' WHERE household_id = ?""",
                   [household["id"]])
        db.execute("""UPDATE households SET street = 'Ðội Cấn', address = 'Số 12, Ðội Cấn',
                      address_folded = 'so 12, ðoi can' WHERE id = ?""", [household["id"]])
    spec = importlib.util.spec_from_file_location("migrations_under_test", MIGRATIONS_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with write(db):
        module.m0011_search_addresses(db)  # the index as it was, from those values
    assert search(db, WARD_A, "dang van hung")[0] == []
    with write(db):
        module.m0012_eth_is_d_stroke(db)
    row = db.execute("""SELECT r.full_name, r.name_folded, h.street, h.address, h.address_folded
                        FROM residents r JOIN households h ON h.id = r.household_id
                        WHERE h.id = ?""", [household["id"]]).fetchone()
    assert tuple(row) == ("Đặng Văn Hùng", "dang van hung", "Đội Cấn", "Số 12, Đội Cấn",
                          "so 12, doi can")
    for q in ("đặng văn hùng", "dang van hung", "12 doi can"):
        assert [r["full_name"] for r in search(db, WARD_A, q)[0]] == ["Đặng Văn Hùng"]
