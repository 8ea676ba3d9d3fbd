"""The synthetic ward generator: deterministic, structurally valid, realistic enough."""
import datetime
import re
import time
import unicodedata
from collections import Counter

import pytest

from wardkit.residents.fake import generate_households, generate_ward

TODAY = datetime.date(2025, 11, 20)
GROUPS = [
    {"id": "g1", "name": "Tổ dân phố số 1", "cluster": "Cụm 1"},
    {"id": "g2", "name": "Tổ dân phố số 2", "cluster": "Cụm 1"},
    {"id": "g7", "name": "Tổ dân phố số 7", "cluster": "Cụm 1"},
    {"id": "g12", "name": "Tổ dân phố số 12", "cluster": "Cụm 2"},
    {"id": "g15", "name": "Tổ dân phố số 15", "cluster": None},
]

# Circular 07/2016/TT-BCA Appendix 1 (DOMAIN §1.2): the 63 birth-registration prefixes.
PROVINCES = {
    "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019",
    "020", "022", "024", "025", "026", "027", "030", "031", "033", "034", "035", "036",
    "037", "038", "040", "042", "044", "045", "046", "048", "049", "051", "052", "054",
    "056", "058", "060", "062", "064", "066", "067", "068", "070", "072", "074", "075",
    "077", "079", "080", "082", "083", "084", "086", "087", "089", "091", "092", "093",
    "094", "095", "096",
}
PHONE = re.compile(r"^0(3[2-9]|5[68]|7[06-9]|8[1-689]|9[0-46-8])\d{7}$")
HOUSEHOLD_KEYS = {"group_id", "house_number", "lane", "street", "cluster", "notes"}
RESIDENT_KEYS = {"full_name", "dob", "gender", "cccd", "is_born_abroad", "phone", "relation",
                 "needs_home_support", "support_reason", "ihanoi_status", "lawful_basis"}
# The CHECK constraints of migration 0004_residents.
RELATIONS = {"head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling",
             "relative", "other"}
GENDERS = {"male", "female"}
SUPPORT = {None, "elderly_alone", "bedridden", "disability", "hardship"}
IHANOI = {"unknown", "not_installed", "installed", "activated"}
LAWFUL = {"consent_verbal", "consent_written", "official_duty"}


def age(dob, today=TODAY):
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


@pytest.fixture(scope="module")
def ward():
    """5,000 households, generated once for the module."""
    return list(generate_ward(2025, GROUPS, 5000, today=TODAY))


def residents_of(ward):
    return [r for _, rs in ward for r in rs]


def test_same_seed_same_output_and_different_seed_differs():
    a = list(generate_ward(42, GROUPS, 300, today=TODAY))
    b = list(generate_households(__import__("random").Random(42), GROUPS, 300, today=TODAY))
    c = list(generate_ward(43, GROUPS, 300, today=TODAY))
    assert a == b
    assert a != c
    assert len(a) == len(c) == 300


def test_is_a_lazy_generator():
    gen = generate_ward(1, GROUPS, 10**9, today=TODAY)
    first = next(gen)
    assert isinstance(first, tuple) and len(first) == 2


def test_no_groups_is_an_error():
    with pytest.raises(ValueError):
        list(generate_ward(1, [], 5, today=TODAY))


def test_keys_and_types(ward):
    for household, residents in ward:
        assert set(household) == HOUSEHOLD_KEYS
        assert 1 <= len(residents) <= 7
        for r in residents:
            assert set(r) == RESIDENT_KEYS
            assert type(r["dob"]) is datetime.date
            assert isinstance(r["full_name"], str) and 1 <= len(r["full_name"]) <= 100
            assert r["is_born_abroad"] in (0, 1)
            assert r["needs_home_support"] in (0, 1)


def test_values_allowed_by_the_schema(ward):
    for _, residents in ward:
        for r in residents:
            assert r["relation"] in RELATIONS
            assert r["gender"] in GENDERS
            assert r["support_reason"] in SUPPORT
            assert r["ihanoi_status"] in IHANOI
            assert r["lawful_basis"] in LAWFUL
            assert r["needs_home_support"] == (r["support_reason"] is not None)


def test_every_value_of_each_enum_occurs(ward):
    residents = residents_of(ward)
    assert {r["relation"] for r in residents} == RELATIONS
    assert {r["support_reason"] for r in residents} == SUPPORT
    assert {r["ihanoi_status"] for r in residents} == IHANOI
    assert {r["lawful_basis"] for r in residents} == LAWFUL


def test_exactly_one_adult_head_first(ward):
    for _, residents in ward:
        assert [r["relation"] for r in residents].count("head") == 1
        assert residents[0]["relation"] == "head"
        assert age(residents[0]["dob"]) >= 18


def test_ages_and_parent_child_gaps(ward):
    for _, residents in ward:
        head = residents[0]
        spouses = [r for r in residents if r["relation"] == "spouse"]
        assert len(spouses) <= 1
        for r in residents:
            assert 0 <= age(r["dob"]) <= 98
            assert r["dob"] <= TODAY
            if r["relation"] == "child":
                for parent in [head] + spouses:
                    assert 20 <= age(parent["dob"]) - age(r["dob"]) <= 41
            if r["relation"] == "parent":
                assert age(r["dob"]) - age(head["dob"]) >= 19
            if r["relation"] == "grandchild":
                assert age(head["dob"]) - age(r["dob"]) >= 38


def test_children_take_the_fathers_family_name(ward):
    checked = 0
    for _, residents in ward:
        head = residents[0]
        spouses = [r for r in residents if r["relation"] == "spouse"]
        if not spouses:
            continue
        father = next(p for p in (head, spouses[0]) if p["gender"] == "male")
        family = father["full_name"].split()[0]
        for r in residents:
            if r["relation"] == "child":
                checked += 1
                assert r["full_name"].split()[0] == family, (father, r)
    assert checked > 1000


def test_cccd_structure_unique_and_consistent(ward):
    residents = residents_of(ward)
    numbers = [r["cccd"] for r in residents if r["cccd"] is not None]
    assert len(numbers) == len(set(numbers))
    assert len(numbers) > 0.7 * len(residents)
    prefixes = Counter()
    for r in residents:
        n = r["cccd"]
        if n is None:
            continue
        assert re.fullmatch(r"\d{12}", n)
        assert n[:3] in PROVINCES
        prefixes[n[:3]] += 1
        g = int(n[3])
        year = r["dob"].year
        assert g // 2 + 20 == year // 100 + 1  # century
        assert g % 2 == (0 if r["gender"] == "male" else 1)  # sex parity
        assert (g // 2 + 19) * 100 + int(n[4:6]) == year  # DOMAIN §1.3 step 3
    assert prefixes.most_common(1)[0][0] == "001"
    assert 0.6 < prefixes["001"] / sum(prefixes.values()) < 0.9
    assert len(prefixes) > 20


def test_cccd_presence_by_age(ward):
    residents = residents_of(ward)
    kids = [r for r in residents if age(r["dob"]) < 14]
    adults = [r for r in residents if 18 <= age(r["dob"]) < 70]
    elderly = [r for r in residents if age(r["dob"]) >= 70]
    assert 0.75 < sum(r["cccd"] is None for r in kids) / len(kids) < 0.95
    assert sum(r["cccd"] is not None for r in adults) / len(adults) > 0.93
    assert 0.01 < sum(r["cccd"] is None for r in elderly) / len(elderly) < 0.12


def test_born_abroad_is_rare(ward):
    residents = residents_of(ward)
    share = sum(r["is_born_abroad"] for r in residents) / len(residents)
    assert 0 < share < 0.01


def test_phones(ward):
    residents = residents_of(ward)
    adults = [r for r in residents if age(r["dob"]) >= 18]
    for r in residents:
        if r["phone"] is not None:
            assert PHONE.match(r["phone"]), r["phone"]
        if age(r["dob"]) < 14:
            assert r["phone"] is None
    assert 0.6 < sum(r["phone"] is not None for r in adults) / len(adults) < 0.8
    # Elderly people sometimes give a child's number: shared numbers inside a household.
    shared = sum(1 for _, rs in ward
                 if len({r["phone"] for r in rs if r["phone"]})
                 < len([r for r in rs if r["phone"]]))
    assert shared > 50


def test_names_are_nfc_and_realistic(ward):
    residents = residents_of(ward)
    for r in residents:
        name = r["full_name"]
        assert unicodedata.is_normalized("NFC", name)
        assert name == name.strip() and "  " not in name
        assert 2 <= len(name.split()) <= 6
        assert all(part[0].isupper() for part in name.split())
    families = Counter(r["full_name"].split()[0] for r in residents)
    share = families["Nguyễn"] / len(residents)
    assert 0.33 <= share <= 0.43
    assert families["Hoàng"] > families["Huỳnh"] and families["Vũ"] > families["Võ"]
    top = [f for f, _ in families.most_common(4)]
    assert top[:2] == ["Nguyễn", "Trần"]
    older_women = [r for r in residents
                   if r["gender"] == "female" and r["dob"].year < 1970]
    thi = sum(" Thị " in r["full_name"] for r in older_women) / len(older_women)
    assert thi > 0.5
    assert not any(" Thị " in r["full_name"] for r in residents if r["gender"] == "male")
    lengths = Counter(len(r["full_name"].split()) for r in residents)
    assert lengths[2] and lengths[4] and lengths[3] > 0.8 * len(residents)
    # Namesakes are common in a Vietnamese ward.
    names = Counter(r["full_name"] for r in residents)
    assert any(n > 1 for n in names.values())


def test_elderly_living_alone_flagged(ward):
    alone = [rs[0] for _, rs in ward if len(rs) == 1 and age(rs[0]["dob"]) >= 70]
    assert 0.04 < len(alone) / len(ward) < 0.09
    flagged = [r for r in alone if r["needs_home_support"]]
    assert flagged and all(r["support_reason"] == "elderly_alone" for r in flagged)
    for _, residents in ward:
        for r in residents:
            if r["support_reason"] == "elderly_alone":
                assert len(residents) == 1 and age(r["dob"]) >= 70


def test_household_size_and_age_pyramid(ward):
    residents = residents_of(ward)
    assert 2.8 < len(residents) / len(ward) < 3.8
    ages = [age(r["dob"]) for r in residents]
    assert 0.15 < sum(a < 15 for a in ages) / len(ages) < 0.30
    assert 0.08 < sum(a >= 65 for a in ages) / len(ages) < 0.20
    assert max(ages) <= 98 and min(ages) == 0


def test_addresses_unique_per_group_and_groups_even(ward):
    seen = set()
    per_group = Counter()
    cluster = {g["id"]: g["cluster"] for g in GROUPS}
    for household, _ in ward:
        key = (household["group_id"], household["house_number"], household["lane"],
               household["street"])
        assert key not in seen
        seen.add(key)
        per_group[household["group_id"]] += 1
        assert household["cluster"] == cluster[household["group_id"]]
        assert re.fullmatch(r"[1-9]\d*[A-D]?", household["house_number"])
        assert household["lane"] is None or re.fullmatch(
            r"Ngõ \d+(, ngách \d+)?", household["lane"])
        assert 1 <= len(household["street"]) <= 100
        assert unicodedata.is_normalized("NFC", household["street"])
    assert set(per_group) == {g["id"] for g in GROUPS}
    assert max(per_group.values()) - min(per_group.values()) <= 1
    lanes = sum(h["lane"] is not None for h, _ in ward) / len(ward)
    assert 0.4 < lanes < 0.6
    notes = sum(h["notes"] is not None for h, _ in ward) / len(ward)
    assert 0 < notes < 0.2


def test_many_households_in_one_group_still_unique():
    seen = set()
    for household, _ in generate_ward(5, GROUPS[:1], 8000, today=TODAY):
        key = (household["house_number"], household["lane"], household["street"])
        assert key not in seen
        seen.add(key)


def test_today_moves_the_dates():
    later = datetime.date(2030, 2, 28)
    a = list(generate_ward(9, GROUPS, 200, today=later))
    for _, residents in a:
        for r in residents:
            assert 0 <= age(r["dob"], later) <= 98


def test_speed_20000_households():
    start = time.perf_counter()
    households = residents = 0
    for _, rs in generate_ward(7, GROUPS, 20000, today=TODAY):
        households += 1
        residents += len(rs)
    elapsed = time.perf_counter() - start
    assert households == 20000 and residents > 55000
    assert elapsed < 6, f"{elapsed:.2f}s"
