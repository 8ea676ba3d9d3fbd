"""Deterministic synthetic Hanoi households and residents, for the demo ward and benchmarks.

Standard library only, no network and no data files: every word list is below. The same
`random.Random` state (and the same `groups` and `today`) always yields the same output.

Realism (see docs/DOMAIN-RULES.md#citizen-id, #phones, #names):

- family names follow the classic national frequencies, northern spellings (Hoàng, Vũ);
  children take the father's family name, spouses keep their own;
- middle and given names depend on sex and birth cohort (Thị for most older women), with
  occasional two-syllable given names, no middle name, the mother's family name used as a
  middle name, and rare compound family names (Hoàng Phủ);
- households of 1–7 people: elderly living alone (~6 %, flagged for home support), couples,
  children, three generations, siblings, helpers and lodgers; parents are 20–40 years older
  than their children;
- CCCD numbers are structurally valid (63 province prefixes, century/sex digit and year from
  the date of birth and sex), unique across the whole generated set, mostly prefix 001;
- phones are 10-digit mobiles on real prefixes; elderly people often give a child's number.

Generated people are fictitious; any resemblance to a real person's record is chance.
"""
from __future__ import annotations

import datetime
import random
from collections.abc import Iterator

from ..validators import PROVINCE_CODES as _VALIDATOR_PROVINCES
from .fake_people import compose_household, full_name, nfc, pick, weighted

__all__ = ["generate_households", "generate_ward", "PROVINCE_CODES", "STREETS"]


# --- CCCD province prefixes (Circular 07/2016 Appendix 1) ---------------------------------
PROVINCE_CODES = tuple(_VALIDATOR_PROVINCES)  # the 63 of Circular 07/2016
_PROVINCE_BOOST = {  # where Hanoi's in-migrants were born (northern delta and north-central)
    "034": 30, "036": 30, "038": 30, "040": 28, "030": 22, "033": 22, "035": 20,
    "037": 16, "031": 14, "027": 16, "024": 15, "025": 15, "026": 15, "019": 10,
    "042": 14, "022": 10, "017": 7, "014": 4, "015": 4, "008": 4, "020": 4, "010": 3,
    "044": 5, "045": 3, "046": 5, "048": 5, "079": 7, "002": 2, "004": 2, "006": 2,
    "011": 1.5, "012": 1.5,
}
# Born outside Hà Nội: weights over the other 62 provinces (every one possible).
_OTHER_PROVINCE = weighted([(c, _PROVINCE_BOOST.get(c, 0.8)) for c in PROVINCE_CODES
                             if c != "001"])

# --- Phones (docs/DOMAIN-RULES.md#phones): carrier prefixes, roughly by market share ------
_PHONE_PREFIX = weighted(
    [(p, 4.0) for p in ("032", "033", "034", "035", "036", "037", "038", "039")]   # Viettel
    + [(p, 7.0) for p in ("086", "096", "097", "098")]                             # Viettel
    + [(p, 4.0) for p in ("081", "082", "083", "084", "085", "088")]               # VinaPhone
    + [(p, 7.0) for p in ("091", "094")]                                           # VinaPhone
    + [(p, 3.0) for p in ("070", "076", "077", "078", "079", "089")]               # MobiFone
    + [(p, 7.0) for p in ("090", "093")]                                           # MobiFone
    + [(p, 1.5) for p in ("056", "058")]                                           # Vietnamobile
)

# --- Addresses ----------------------------------------------------------------------------
STREETS = tuple(nfc([  # Tây Hồ and nearby
    "Âu Cơ", "Lạc Long Quân", "Xuân Diệu", "Tô Ngọc Vân", "Đặng Thai Mai", "Nhật Chiêu",
    "Yên Phụ", "Thụy Khuê", "Quảng An", "Trích Sài", "Võng Thị", "Nghi Tàm", "Từ Hoa",
    "Quảng Khánh", "Quảng Bá", "Xuân La", "Xuân Đỉnh", "Phú Thượng", "Nhật Tân",
    "Tứ Liên", "An Dương", "An Dương Vương", "Văn Cao", "Hoàng Hoa Thám", "Thanh Niên",
    "Hồ Tây", "Trấn Vũ", "Mai Xuân Thưởng", "Dốc Tam Đa", "Vệ Hồ", "Hồng Hà",
    "Nguyễn Hoàng Tôn", "Võ Chí Công", "Tây Hồ", "Mạc Đĩnh Chi", "Phan Đình Phùng",
    "Nguyễn Đình Thi", "Lạc Chính", "Bưởi", "Đồng Cổ", "Phú Gia", "Đặng Thai Mai",
]))
STREETS = tuple(dict.fromkeys(STREETS))  # keep order, drop the accidental duplicate

_NOTES = weighted([
    ("Gọi trước khi đến", 6), ("Nhà có chó", 5), ("Chỉ có nhà buổi tối", 4),
    ("Cổng sau, đi vào từ ngõ", 2), ("Chủ hộ đi làm xa, liên hệ vợ", 2),
    ("Cụ nghe kém, nói to và chậm", 2), ("Tầng 1 cho thuê kinh doanh", 3),
    ("Liên hệ qua con gái", 2), ("Bấm chuông cổng xanh", 2),
    ("Thường vắng nhà cuối tuần", 2), ("Nhà trong cùng ngõ, không có số ở cổng", 1),
    ("Có người cho thuê trọ, kiểm tra tạm trú", 2), ("Đã hẹn lại lần sau", 1),
])

_IHANOI = weighted([("unknown", 72), ("not_installed", 10), ("installed", 8),
                     ("activated", 10)])
_IHANOI_ELDER = weighted([("unknown", 70), ("not_installed", 20), ("installed", 5),
                           ("activated", 5)])
_LAWFUL = weighted([("official_duty", 90), ("consent_verbal", 7), ("consent_written", 3)])


def _anniversary(today: datetime.date, year: int) -> int:
    try:
        return datetime.date(year, today.month, today.day).toordinal()
    except ValueError:  # 29 February in a common year
        return datetime.date(year, 2, 28).toordinal()


def _addresses(rng, groups, count):
    """Per-group street layout: a few streets, each with several ngõ and ngách. Big groups
    (benchmarks) get more streets and lanes so house numbers stay plausible."""
    per_group = -(-max(count, 1) // len(groups))
    layouts = []
    for _ in groups:
        n_streets = min(len(STREETS), rng.randint(2, 4) + min(8, per_group // 1000))
        streets = rng.sample(STREETS, n_streets)
        lanes = []
        for street in streets:
            n_ngo = rng.randint(3, 7) + min(60, per_group // 400)
            for ngo in sorted(rng.sample(range(2, 400), n_ngo)):
                lanes.append((street, f"Ngõ {ngo}"))
                for ngach in sorted(rng.sample(range(1, 80), rng.randint(0, 3))):
                    lanes.append((street, f"Ngõ {ngo}, ngách {ngach}"))
        # Number ranges that leave room for every household (grown on repeated collisions).
        street_top = max(120.0, per_group / 2 / n_streets * 1.5)
        lane_top = max(30.0, per_group / 2 / len(lanes) * 3)
        layouts.append({"streets": streets, "lanes": lanes, "tops": [street_top, lane_top]})
    return layouts


def _house_number(rng, top: int) -> str:
    n = 1 + int(rng.random() ** 1.3 * top)  # low numbers a little more common
    r = rng.random()
    if r < 0.10:
        return f"{n}A"
    if r < 0.14:
        return f"{n}B"
    if r < 0.155:
        return f"{n}C"
    return str(n)


def generate_households(rng: random.Random, groups: list[dict], count: int, *,
                        today: datetime.date) -> Iterator[tuple[dict, list[dict]]]:
    """Yield (household, residents) pairs. `groups` are residential_groups rows (need "id",
    "name", "cluster").

    Household keys: group_id, house_number, lane, street, cluster, notes. Resident keys:
    full_name, dob, gender, cccd, is_born_abroad, phone, relation, needs_home_support,
    support_reason, ihanoi_status, lawful_basis. The first resident is the head.
    """
    if not groups:
        raise ValueError("at least one residential group is needed")
    if isinstance(today, datetime.datetime):
        today = today.date()
    # Birth-date ordinals for each age 0..99: [lo, hi] are the days giving that age today.
    ages = [(_anniversary(today, today.year - a - 1) + 1, _anniversary(today, today.year - a))
            for a in range(100)]
    groups = list(groups)
    layouts = _addresses(rng, groups, count)
    used_addresses: set[tuple] = set()
    issued: set[str] = set()
    order: list[int] = []
    from_ordinal = datetime.date.fromordinal
    rand, randrange = rng.random, rng.randrange

    for i in range(count):
        if not order:
            order = list(range(len(groups)))
            rng.shuffle(order)
        gi = order.pop()
        group, layout = groups[gi], layouts[gi]

        # Address, unique per group.
        misses = 0
        while True:
            tops = layout["tops"]
            in_lane = rand() < 0.5
            if in_lane:
                street, lane = rng.choice(layout["lanes"])
            else:
                street, lane = rng.choice(layout["streets"]), None
            number = _house_number(rng, int(tops[in_lane]))
            key = (gi, number, lane, street)
            if key not in used_addresses:
                used_addresses.add(key)
                break
            misses += 1
            if misses % 8 == 0:
                tops[in_lane] *= 1.3
        notes = pick(rng, _NOTES) if rand() < 0.07 else None
        household = {"group_id": group["id"], "house_number": number, "lane": lane,
                     "street": street, "cluster": group.get("cluster"), "notes": notes}

        members = compose_household(rng)
        residents = []
        member_ages = []
        for p in members:
            age = min(p.age, 98)
            lo, hi = ages[age]
            dob = from_ordinal(lo + randrange(hi - lo + 1))
            year = dob.year
            male = p.sex == "male"
            p.name = full_name(rng, p, year)

            born_abroad = 1 if rand() < 0.002 else 0
            # CCCD: most children under 14 have no card recorded; adults nearly all do.
            has = (rand() < 0.15 if age < 14 else rand() < 0.9 if age < 18
                   else rand() < 0.97 if age < 70 else rand() < 0.95)
            if born_abroad and rand() < 0.5:
                has = False  # birth registered abroad: country-code prefix, not recorded
            cccd = None
            if has:
                hanoi = 0.9 if age < 18 else 0.66 if age < 60 else 0.6
                prefix = "001" if rand() < hanoi else pick(rng, _OTHER_PROVINCE)
                head = f"{prefix}{(year // 100 - 19) * 2 + (0 if male else 1)}{year % 100:02d}"
                while True:
                    cccd = f"{head}{randrange(1000000):06d}"
                    if cccd not in issued:
                        issued.add(cccd)
                        break

            support = p.support
            if support is None:
                if age >= 80 and rand() < 0.10:
                    support = "bedridden"
                elif rand() < 0.007:
                    support = "disability"

            if age < 14:
                ihanoi = "unknown"
            else:
                ihanoi = pick(rng, _IHANOI_ELDER if age >= 65 else _IHANOI)

            residents.append({
                "full_name": p.name, "dob": dob, "gender": p.sex, "cccd": cccd,
                "is_born_abroad": born_abroad, "phone": None, "relation": p.relation,
                "needs_home_support": 1 if support else 0, "support_reason": support,
                "ihanoi_status": ihanoi, "lawful_basis": pick(rng, _LAWFUL),
            })
            member_ages.append(age)

        # Phones: working-age adults mostly their own; elderly often a child's number.
        own = []
        for res, age in zip(residents, member_ages):
            if age < 15:
                continue
            r = rand()
            chance = 0.35 if age < 18 else 0.74 if age < 60 else 0.50 if age < 75 else 0.25
            if r < chance:
                res["phone"] = pick(rng, _PHONE_PREFIX) + f"{randrange(10000000):07d}"
                if 18 <= age < 65:
                    own.append(res["phone"])
        if own:
            for res, age in zip(residents, member_ages):
                if age >= 60 and res["phone"] is None and rand() < 0.6:
                    res["phone"] = rng.choice(own)
        yield household, residents


def generate_ward(seed: int, groups: list[dict], count: int, *,
                  today: datetime.date) -> Iterator[tuple[dict, list[dict]]]:
    """`generate_households` with a fresh `random.Random(seed)`."""
    return generate_households(random.Random(seed), groups, count, today=today)
