"""Fictitious household members for the demo data (fake.py): weighted word lists, the
names of each sex and birth cohort, and the make-up of a household (who lives with whom, at
what ages). Standard library only; the same `random.Random` state gives the same people.
"""
from __future__ import annotations

import unicodedata
from bisect import bisect
from itertools import accumulate


def nfc(items):
    """Return the strings in NFC (precomposed), as everything WardKit stores."""
    return [unicodedata.normalize("NFC", s) for s in items]


def weighted(pairs):
    """Return (items, cumulative weights, total) for `pick`."""
    items = nfc([p[0] for p in pairs]) if isinstance(pairs[0][0], str) else [p[0] for p in pairs]
    cum = list(accumulate(p[1] for p in pairs))
    return items, cum, cum[-1]


def pick(rng, table):
    """Return an item of a `weighted` table, drawn by its weight."""
    items, cum, total = table
    return items[bisect(cum, rng.random() * total)]


# --- Family names (docs/DOMAIN-RULES.md#names; Hoàng/Vũ are the northern forms of Huỳnh/Võ) ---
_FAMILY = weighted([
    ("Nguyễn", 38.0), ("Trần", 11.0), ("Lê", 9.5), ("Phạm", 7.1), ("Hoàng", 5.1),
    ("Phan", 4.5), ("Vũ", 3.9), ("Đặng", 2.1), ("Bùi", 2.0), ("Đỗ", 1.4), ("Hồ", 1.3),
    ("Ngô", 1.3), ("Dương", 1.0), ("Lý", 0.5),
    # The remaining ~11.3 %, spread over less common (mostly northern) names.
    ("Đinh", 1.0), ("Trịnh", 0.9), ("Đào", 0.8), ("Mai", 0.6), ("Cao", 0.6), ("Hà", 0.6),
    ("Đoàn", 0.6), ("Lương", 0.5), ("Tạ", 0.5), ("Chu", 0.5), ("Phùng", 0.5), ("Lưu", 0.5),
    ("Kiều", 0.4), ("Tô", 0.4), ("Lại", 0.3), ("Nghiêm", 0.3), ("Vương", 0.3),
    ("Triệu", 0.3), ("Khúc", 0.2), ("Quách", 0.2), ("Doãn", 0.2), ("Thái", 0.2),
    ("Văn", 0.15), ("Nông", 0.1), ("Bạch", 0.1), ("Tăng", 0.1),
    # Compound family names: rare, inherited whole.
    ("Hoàng Phủ", 0.03), ("Tôn Thất", 0.02), ("Âu Dương", 0.02),
])

# --- Middle names: by sex and cohort ------------------------------------------------------
_MIDDLE_MALE_OLD = weighted([
    ("Văn", 10), ("Đức", 3), ("Quang", 2), ("Hữu", 2), ("Xuân", 2), ("Đình", 2), ("Công", 2),
    ("Minh", 2), ("Ngọc", 1), ("Mạnh", 1), ("Thành", 1), ("Trọng", 1), ("Huy", 1),
    ("Tiến", 1), ("Duy", 1), ("Kim", 1), ("Bá", 1), ("Quốc", 1), ("Thế", 1),
])
_MIDDLE_MALE_YOUNG = weighted([
    ("Văn", 3), ("Đức", 4), ("Minh", 5), ("Quang", 3), ("Hữu", 2), ("Xuân", 1), ("Thành", 2),
    ("Tuấn", 2), ("Gia", 3), ("Anh", 2), ("Hoàng", 2), ("Quốc", 2), ("Trung", 1), ("Việt", 2),
    ("Đăng", 1), ("Bảo", 1), ("Nhật", 1), ("Hải", 1), ("Khánh", 1), ("Tiến", 1),
    ("Mạnh", 1), ("Công", 1), ("Duy", 2), ("Ngọc", 1),
])
_MIDDLE_FEMALE_OLD = weighted([
    ("Thị", 22), ("Thu", 1), ("Ngọc", 1), ("Thanh", 1), ("Minh", 1), ("Hồng", 1), ("Kim", 1),
    ("Bích", 1), ("Thúy", 1), ("Phương", 1),
])
_MIDDLE_FEMALE_YOUNG = weighted([
    ("Thị", 5), ("Thu", 3), ("Ngọc", 3), ("Thanh", 2), ("Minh", 2), ("Phương", 2),
    ("Hồng", 1), ("Kim", 1), ("Bảo", 2), ("Khánh", 2), ("Diệu", 1), ("Thùy", 2), ("Mai", 1),
    ("Hà", 1), ("Quỳnh", 1), ("Hải", 1), ("Tuệ", 1), ("Gia", 1), ("Lan", 1), ("Huyền", 1),
])

# --- Given names --------------------------------------------------------------------------
_GIVEN_MALE_OLD = nfc([
    "Hùng", "Hùng", "Dũng", "Dũng", "Thắng", "Lợi", "Chiến", "Bình", "Hòa", "Tân", "Thịnh",
    "Vượng", "Hưng", "Sơn", "Hải", "Long", "Tuấn", "Thành", "Cường", "Quý", "Thanh",
    "Hiển", "Nghĩa", "Toàn", "Tiến", "Phúc", "Minh", "Đức", "Kiên", "Trung", "Lâm", "Hậu",
    "Tâm", "Vinh", "Khoa", "Quang", "Mạnh", "Nam", "Công", "Định", "An", "Tùng",
    "Bảo", "Chính", "Cương", "Doanh", "Giang", "Hà", "Hiệp", "Hoan", "Huấn", "Khải", "Khanh",
    "Lạc", "Luân", "Lực", "Nghị", "Ngọc", "Nhân", "Phương", "Quyết", "Sáng", "Sinh", "Tài",
    "Thạch", "Thiện", "Thuận", "Thụy", "Tình", "Trí", "Trường", "Tuyên", "Tường", "Uy",
    "Vĩnh", "Xuân", "Đông", "Điệp", "Độ", "Bằng", "Chương", "Hợp", "Kỳ", "Lương", "Toản",
])
_GIVEN_MALE_YOUNG = nfc([
    "Minh", "Minh", "Nam", "Đức", "Long", "Quân", "Quân", "Sơn", "An", "Huy", "Huy",
    "Khôi", "Bảo", "Phúc", "Khang", "Đăng", "Lâm", "Kiên", "Tuấn", "Dũng", "Hiếu",
    "Hoàng", "Hải", "Trung", "Việt", "Tùng", "Duy", "Đạt", "Thắng", "Nhật", "Khánh",
    "Phong", "Vinh", "Thành", "Hưng", "Toàn", "Quang", "Anh", "Hùng", "Tú", "Thái", "Khoa",
    "Bình", "Bách", "Cường", "Danh", "Dương", "Đông", "Giang", "Hào", "Hậu", "Hiển", "Hòa",
    "Khải", "Khiêm", "Kiệt", "Lộc", "Luân", "Mạnh", "Nghĩa", "Nguyên", "Nhân", "Phát", "Quý",
    "Sang", "Tâm", "Thiện", "Thịnh", "Thông", "Tiến", "Trí", "Trọng", "Vũ", "Vương", "Tài",
    "Tín", "Toản", "Thuận", "Chiến", "Công", "Định", "Hoàn", "Khương",
])
_GIVEN_FEMALE_OLD = nfc([
    "Lan", "Hoa", "Mai", "Cúc", "Đào", "Nga", "Hạnh", "Tuyết", "Nhàn", "Thoa", "Liên",
    "Loan", "Hằng", "Hương", "Hương", "Dung", "Thủy", "Yến", "Vân", "Hiền", "Hồng",
    "Nhung", "Oanh", "Lý", "Huệ", "Hòa", "Bình", "Tâm", "Thu", "Minh", "Xuân", "Sen",
    "Lựu", "Thanh", "Ngọc", "Bích", "Chung", "Diệu", "Điệp", "Gấm", "Hải", "Hậu", "Hiên",
    "Hợi", "Huyền", "Khánh", "Kim", "Lài", "Lệ", "Luyến", "Mận", "Mơ", "Nguyệt", "Nhài",
    "Nhạn", "Phượng", "Quế", "Quyên", "Sâm", "Thắm", "Thơm", "Thục", "Thư", "Thúy",
    "Tính", "Trinh", "Tươi", "Uyên", "Xoan", "Yên", "Hà", "Giang", "Châu", "Duyên", "Hoài",
])
_GIVEN_FEMALE_YOUNG = nfc([
    "Linh", "Linh", "Trang", "Trang", "Hằng", "Thảo", "Ngọc", "Anh", "Anh", "Ánh", "Ân",
    "Hà", "Huyền", "Hương", "Lan", "Mai", "Nhi", "Vy", "Chi", "My", "Thư", "Uyên", "Hân",
    "Giang", "Quyên", "Diệp", "Phương", "Châu", "Trâm", "Vân", "Yến", "Nhung", "Tâm",
    "Hiền", "Hạnh", "Dung", "Thủy", "Nga", "Loan", "Hoa", "An", "Ngân", "Quỳnh", "Bích",
    "Diệu", "Dương", "Duyên", "Hậu", "Hoài", "Hồng", "Khanh", "Khánh", "Lam", "Ly", "Mỹ",
    "Nguyệt", "Nhàn", "Như", "Oanh", "Phượng", "Tiên", "Thanh", "Thoa", "Thơ", "Thúy",
    "Trà", "Trinh", "Tú", "Vi", "Xuân", "Yên", "Hoàn", "Khuê", "Mơ", "Nhiên",
])
_GIVEN2_MALE = nfc([
    "Trường Sơn", "Bình Minh", "Hải Đăng", "Gia Bảo", "Minh Khôi", "Đức Anh", "Tuấn Anh",
    "Quang Huy", "Nhật Minh", "Bảo Long", "Anh Tuấn", "Hoàng Nam", "Quốc Toàn", "Thành Long",
])
_GIVEN2_FEMALE = nfc([
    "Bảo Ngọc", "Minh Anh", "Khánh Linh", "Phương Anh", "Thu Hà", "Ngọc Ánh", "Hà Vy",
    "Diệu Linh", "Bảo Anh", "Thảo Vy", "Minh Châu", "Ngọc Hân", "Thanh Tâm", "Thu Trang",
])


# --- People -------------------------------------------------------------------------------
class Member:
    """A household member before it becomes a resident dict."""
    __slots__ = ("sex", "age", "family", "relation", "mother_family", "support", "name")

    def __init__(self, sex, age, family, relation="other", mother_family=None):
        self.sex, self.age, self.family = sex, age, family
        self.relation, self.mother_family = relation, mother_family
        self.support = None
        self.name = None


def _family(rng):
    return pick(rng, _FAMILY)


def _wife_age(rng, husband_age, lo=18):
    """A wife's age: usually 0–6 years younger than her husband, sometimes older."""
    r = rng.random()
    gap = (rng.randint(0, 6) if r < 0.75 else rng.randint(7, 10) if r < 0.88
           else rng.randint(-4, -1))
    return max(lo, min(98, husband_age - gap))


def _child_ages(rng, n, parents):
    """Ages of `n` children, each 20–40 years younger than every parent in `parents`."""
    lo = max(0, max(parents) - 40)
    hi = min(parents) - 20
    if hi < lo:
        return []
    ages = []
    for _ in range(n):
        a = rng.randint(lo, hi)
        if a > 28 and rng.random() < 0.6:  # adult children often live elsewhere: re-draw once
            a = rng.randint(lo, hi)
        ages.append(a)
    ages.sort(reverse=True)
    return ages


def _n_children(rng):
    r = rng.random()
    return 1 if r < 0.40 else 2 if r < 0.90 else 3


def _adult_age(rng, lo, hi):
    """An adult age in [lo, hi], a little denser in the middle (sum of two uniforms)."""
    return (rng.randint(lo, hi) + rng.randint(lo, hi)) // 2


def _elder_age(rng, lo=70, hi=96):
    a = lo + int(abs(rng.gauss(0, 8)))
    return a if a <= hi else rng.randint(lo, hi)


def _couple(rng, head_lo, head_hi):
    """A husband and wife; returns (husband, wife)."""
    h = Member("male", _adult_age(rng, head_lo, head_hi), _family(rng))
    w = Member("female", _wife_age(rng, h.age), _family(rng))
    return h, w


def _kids(rng, n, parents, family, mother_family, relation):
    return [Member("male" if rng.random() < 0.52 else "female", a, family, relation, mother_family)
            for a in _child_ages(rng, n, [p.age for p in parents])]


def compose_household(rng) -> list[Member]:
    """Return the members of one household, head first, relations to the head set."""
    r = rng.random()
    if r < 0.06:  # elderly person (70+) living alone
        sex = "female" if rng.random() < 0.72 else "male"
        p = Member(sex, _elder_age(rng), _family(rng), "head")
        p.support = "elderly_alone"
        return [p]
    if r < 0.13:  # one younger adult (worker, student, divorced)
        members = [Member("male" if rng.random() < 0.5 else "female", _adult_age(rng, 19, 52),
                      _family(rng), "head")]
    elif r < 0.22:  # couple without children: newly-weds, or the children moved out
        h, w = _couple(rng, 22, 35) if rng.random() < 0.45 else _couple(rng, 50, 68)
        h.relation, w.relation = "head", "spouse"
        members = [h, w]
        if rng.random() < 0.18:
            members = [w, h]
            w.relation, h.relation = "head", "spouse"
    elif r < 0.60:  # couple with children
        h, w = _couple(rng, 24, 60)
        kids = _kids(rng, _n_children(rng), [h, w], h.family, w.family, "child")
        if rng.random() < 0.2:
            w.relation, h.relation = "head", "spouse"
            members = [w, h] + kids
        else:
            h.relation, w.relation = "head", "spouse"
            members = [h, w] + kids
    elif r < 0.65:  # single parent with children
        sex = "female" if rng.random() < 0.8 else "male"
        parent = Member(sex, _adult_age(rng, 24, 55), _family(rng), "head")
        if sex == "female" and rng.random() < 0.85:
            kid_family = _family(rng)  # the (absent) father's family name
        else:
            kid_family = parent.family
        mother_family = parent.family if sex == "female" else None
        members = [parent] + _kids(rng, 1 + (rng.random() < 0.45), [parent], kid_family,
                                   mother_family, "child")
        if rng.random() < 0.12:
            parent.support = "hardship"
    elif r < 0.85:  # three generations
        members = _three_generations(rng)
    elif r < 0.91:  # elderly couple (60+)
        h = Member("male", _adult_age(rng, 62, 88), _family(rng), "head")
        w = Member("female", _wife_age(rng, h.age, lo=58), _family(rng), "spouse")
        members = [h, w]
    elif r < 0.97:  # older parents with grown unmarried children
        h, w = _couple(rng, 48, 70)
        h.relation, w.relation = "head", "spouse"
        members = [h, w] + _kids(rng, 1 + (rng.random() < 0.35), [h, w], h.family, w.family,
                                 "child")
    elif r < 0.99:  # adult siblings sharing a house
        fam = _family(rng)
        eldest = _adult_age(rng, 20, 40)
        members = [Member("male" if rng.random() < 0.5 else "female", eldest, fam, "head")]
        for _ in range(1 + (rng.random() < 0.3)):
            members.append(Member("male" if rng.random() < 0.5 else "female",
                              max(18, eldest - rng.randint(0, 8)), fam, "sibling"))
    else:  # a young adult looking after a grandparent
        head = Member("male" if rng.random() < 0.5 else "female", _adult_age(rng, 22, 38),
                  _family(rng), "head")
        g_age = min(98, head.age + rng.randint(45, 62))
        if rng.random() < 0.7:
            g = Member("female", g_age, _family(rng), "grandparent")
        else:
            g = Member("male", g_age, head.family if head.sex == "male" or rng.random() < 0.5
                   else _family(rng), "grandparent")
        members = [head, g]
        if rng.random() < 0.4:
            sp = Member("female" if head.sex == "male" else "male",
                    max(20, head.age + rng.randint(-5, 5)), _family(rng), "spouse")
            members.append(sp)
            if rng.random() < 0.5:
                father, mother = (head, sp) if head.sex == "male" else (sp, head)
                members += _kids(rng, 1, [head, sp], father.family, mother.family, "child")
    _extras(rng, members)
    return members


def _three_generations(rng) -> list[Member]:
    father, mother = _couple(rng, 25, 55)
    middle = [father, mother]
    if rng.random() < 0.1:  # widowed or divorced middle generation
        middle = [father] if rng.random() < 0.3 else [mother]
    # `side` is the grandparents' own child; `other` (if any) is their child-in-law.
    side = middle[0] if len(middle) == 1 else (father if rng.random() < 0.8 else mother)
    other = next((p for p in middle if p is not side), None)
    # Grandparents: each 20–40 years older than `side` (at most 98).
    top = min(side.age + 40, 98)
    if rng.random() < 0.4:
        gf = Member("male", min(top, side.age + rng.randint(22, 38)), side.family, "grandparent")
        gm = Member("female", max(side.age + 20, min(top, _wife_age(rng, gf.age))), _family(rng),
                "grandparent")
        grand = [gf, gm]
    elif rng.random() < 0.72:  # widowed grandmother
        gm = Member("female", min(top, side.age + rng.randint(20, 40)), _family(rng), "grandparent")
        grand = [gm]
    else:
        gf = Member("male", min(top, side.age + rng.randint(20, 40)), side.family, "grandparent")
        grand, gm = [gf], None
    if gm is not None:
        side.mother_family = gm.family
    kid_family = father.family if father in middle else _family(rng)
    kids = _kids(rng, _n_children(rng), middle, kid_family,
                 mother.family if mother in middle else None, "grandchild")
    eldest = max(p.age for p in grand)
    if rng.random() < 0.3 or (eldest >= 72 and rng.random() < 0.5):
        # A grandparent heads the household (the house is usually theirs).
        head = grand[0]
        head.relation = "head"
        if len(grand) == 2:
            grand[1].relation = "spouse"
        side.relation = "child"
        if other is not None:
            other.relation = "relative"  # son- or daughter-in-law
        return grand + middle + kids
    # The middle generation heads it: usually the husband.
    if other is None:
        head, spouse = side, None
    else:
        husband_heads = rng.random() < 0.8
        head = father if husband_heads else mother
        spouse = mother if husband_heads else father
    head.relation = "head"
    if spouse is not None:
        spouse.relation = "spouse"
    for g in grand:
        g.relation = "parent" if head is side else "relative"  # own parents / parents-in-law
    for k in kids:
        k.relation = "child"
    return [head] + ([spouse] if spouse is not None else []) + grand + kids


def _extras(rng, members):
    """Occasionally add a sibling, a relative or an unrelated person (helper, lodger)."""
    head = members[0]
    if len(members) < 7 and rng.random() < 0.03:
        members.append(Member("male" if rng.random() < 0.5 else "female",
                          max(18, min(80, head.age + rng.randint(-10, 10))), head.family,
                          "sibling"))
    if len(members) < 7 and rng.random() < 0.03:  # nephew or niece studying in Hà Nội
        members.append(Member("male" if rng.random() < 0.5 else "female", rng.randint(16, 24),
                          head.family if rng.random() < 0.5 else _family(rng), "relative"))
    if len(members) < 7 and rng.random() < 0.04:
        if rng.random() < 0.5:  # live-in domestic helper
            members.append(Member("female", _adult_age(rng, 35, 62), _family(rng), "other"))
        else:  # lodger
            members.append(Member("male" if rng.random() < 0.5 else "female",
                              _adult_age(rng, 18, 35), _family(rng), "other"))


def full_name(rng, p: Member, birth_year: int) -> str:
    """Return a name for `p` born in `birth_year`: family, middle and given names."""
    male = p.sex == "male"
    young = birth_year >= 1995 or (birth_year >= 1975 and rng.random() < 0.5)
    if rng.random() < (0.06 if young else 0.02):  # two-syllable given name
        given = rng.choice(_GIVEN2_MALE if male else _GIVEN2_FEMALE)
        with_middle = rng.random() < 0.6  # Nguyễn Ngọc Trường Sơn / Phạm Bình Minh
    else:
        pool = ((_GIVEN_MALE_YOUNG if young else _GIVEN_MALE_OLD) if male
                else (_GIVEN_FEMALE_YOUNG if young else _GIVEN_FEMALE_OLD))
        given = rng.choice(pool)
        if given == p.family:  # "Hoàng … Hoàng" is possible but rare: draw again
            given = rng.choice(pool)
        with_middle = rng.random() >= 0.015  # rarely no middle name at all (Nguyễn Trãi)
    parts = [p.family]
    mf = p.mother_family
    if (mf and birth_year >= 1980 and mf != p.family and " " not in mf
            and rng.random() < 0.03):
        parts.append(mf)  # the mother's family name as a middle name (Trần Lê Quốc Toàn)
    if with_middle:
        table = ((_MIDDLE_MALE_YOUNG if young else _MIDDLE_MALE_OLD) if male
                 else (_MIDDLE_FEMALE_YOUNG if young else _MIDDLE_FEMALE_OLD))
        for _ in range(4):  # avoid "Minh Minh", "Ngọc Bảo Ngọc"
            middle = pick(rng, table)
            if middle not in given.split() and middle not in parts:
                parts.append(middle)
                break
    parts.append(given)
    return " ".join(parts)
