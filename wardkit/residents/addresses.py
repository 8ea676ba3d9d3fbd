"""Reading the values of an import row: coded cells ("Nữ", "Chủ hộ"), one-column or
split addresses, and residential groups named by a sheet's words or number.
"""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from ..text import clean_line, fold
from .import_files import header_key

# --- values ----------------------------------------------------------------------------

def _lookup(pairs: dict) -> dict:
    return {header_key(word): code for words, code in pairs.items() for word in
            (words if isinstance(words, tuple) else (words,))}


GENDERS = _lookup({("Nam", "male", "m", "trai", "Male"): "male",
                   ("Nữ", "female", "f", "gái", "Female"): "female"})

RELATIONS = _lookup({
    ("Chủ hộ", "head", "CH", "Head of household"): "head",
    ("Vợ", "Chồng", "spouse", "wife", "husband", "Spouse"): "spouse",
    ("Con", "Con trai", "Con gái", "Con đẻ", "Con nuôi", "child", "Child"): "child",
    ("Bố", "Mẹ", "Cha", "Má", "Bố đẻ", "Mẹ đẻ", "parent", "Parent"): "parent",
    ("Cháu", "Cháu nội", "Cháu ngoại", "grandchild", "Grandchild"): "grandchild",
    ("Ông", "Bà", "Ông nội", "Bà nội", "Ông ngoại", "Bà ngoại", "grandparent",
     "Grandparent"): "grandparent",
    ("Anh", "Chị", "Em", "Anh trai", "Chị gái", "Em trai", "Em gái", "Anh ruột",
     "Chị ruột", "Em ruột", "sibling", "Sibling"): "sibling",
    ("Con dâu", "Con rể", "Bố vợ", "Mẹ vợ", "Bố chồng", "Mẹ chồng", "Cô", "Dì", "Chú",
     "Bác", "Cậu", "Thím", "Mợ", "Dượng", "Chắt", "Họ hàng", "relative",
     "Other relative"): "relative",
    ("Khác", "Người ở nhờ", "Ở nhờ", "Người thuê nhà", "Thuê nhà", "Người giúp việc",
     "other", "Other (lives here)"): "other",
})

LAWFUL_BASES = _lookup({
    ("official_duty", "Công vụ", "Nhiệm vụ", "Thực hiện nhiệm vụ", "official duty",
     "Official duty (Plan 375, data cleaning)"): "official_duty",
    ("consent_verbal", "Đồng ý bằng lời", "Đồng ý miệng", "Đồng ý", "consent",
     "The resident agreed, verbally"): "consent_verbal",
    ("consent_written", "Đồng ý bằng văn bản", "The resident agreed, in writing"):
        "consent_written",
})

SUPPORT_REASONS = _lookup({
    ("elderly_alone", "Người già neo đơn", "Cao tuổi neo đơn", "Neo đơn",
     "Người cao tuổi sống một mình", "Elderly, living alone"): "elderly_alone",
    ("bedridden", "Nằm liệt giường", "Liệt giường", "Bedridden"): "bedridden",
    ("disability", "Khuyết tật", "Người khuyết tật", "Disability"): "disability",
    ("hardship", "Hoàn cảnh khó khăn", "Khó khăn", "Difficult circumstances"): "hardship",
})

_FORMULA_START = ("=", "+", "-", "@")


def formula_like(text: str) -> bool:
    """Return True when a cell starts like a spreadsheet formula (= + - @), once cleaned."""
    start = text.lstrip()[:1]
    if start.isalpha() and text.isprintable():
        return False   # the usual case, decided without cleaning
    return clean_line(text).startswith(_FORMULA_START)


# --- addresses -----------------------------------------------------------------------

_NUMBER = re.compile(r"\d+[A-Za-z]?(?:[/\-]\d+[A-Za-z]?)*")
# Words before a house number ("Số 12", "Số nhà 12", "SN 12", "Nhà số 12"), as typed.
_HOUSE_PREFIXES = {"số", "so", "sô", "sỗ", "sn", "nhà", "nha", "căn", "can", "số:", "sn:"}
# Lane words as typed (with their accents), and folded: folded ones count only before a
# number, so "Ngô Quyền" stays a street while "ngo 34" is a lane.
_LANE_EXACT = {"ngõ": "Ngõ", "ngỏ": "Ngõ", "ngách": "ngách", "hẻm": "hẻm", "kiệt": "kiệt"}
_LANE_FOLDED = {"ngo": "Ngõ", "ngach": "ngách", "hem": "hẻm", "kiet": "kiệt"}
# Accents matter: "Phó Đức Chính" is a street name, "Phố Huế" keeps its one-word name.
_STREET_PREFIXES = {"phố", "đường", "p.", "đ."}
_ADMIN_PREFIXES = ("phường ", "p.", "quận ", "q.", "huyện ", "xã ", "thị xã ", "thành phố ",
                   "tp.", "tp ", "tổ dân phố", "tdp ", "cụm ", "thôn ")
_ADMIN_NAMES = {"hà nội", "ha noi", "hn", "tp hà nội", "việt nam"}
_GROUP_IN_ADDRESS = re.compile(r"tổ\s*(?:dân phố\s*)?(?:số\s*)?\d+\w*")


class AddressError(ValueError):
    """An address that cannot be split; `message` says why (lazy), `field` which column."""

    def __init__(self, message, field: str = "address"):
        super().__init__(str(message))
        self.message = message
        self.field = field


def _lane_keyword(token: str, *, exact: bool = False) -> str | None:
    low = token.lower().rstrip(".")
    word = _LANE_EXACT.get(low)
    if word is None and not exact:
        word = _LANE_FOLDED.get(fold(low))
    return word


def _is_admin(segment: str) -> bool:
    low = segment.lower()
    return (low.startswith(_ADMIN_PREFIXES) or low in _ADMIN_NAMES
            or _GROUP_IN_ADDRESS.fullmatch(low) is not None)


def _strip_street_prefix(words: list[str]) -> list[str]:
    # "Phố Âu Cơ" → "Âu Cơ"; but "Phố Huế", "Đường Láng" keep their one-word names whole.
    if len(words) >= 3 and words[0].lower() in _STREET_PREFIXES:
        return words[1:]
    return words


def _canonical_lane(parts: list[tuple[str, str]]) -> str:
    """Return lane parts [("Ngõ", "34"), ("ngách", "5")] as "Ngõ 34, ngách 5"."""
    out = []
    for i, (word, number) in enumerate(parts):
        word = word[:1].upper() + word[1:] if i == 0 else word.lower()
        out.append(f"{word} {number}".strip())
    return ", ".join(out)


_FORMULA_ADDRESS = _l("The address cannot start with “=”, “+”, “-” or “@”: the cell looks "
                      "like a spreadsheet formula.")


_SEGMENT_SPLIT = re.compile(r"[,;]")


def parse_address(text: str) -> tuple[str, str | None, str]:
    """Split a one-column address into (house_number, lane, street).

    "Số 12, ngõ 34, Âu Cơ", "12 ngõ 34 Âu Cơ" → ("12", "Ngõ 34", "Âu Cơ");
    "12A Ngõ 34 Ngách 5 Xuân Diệu" → ("12A", "Ngõ 34, ngách 5", "Xuân Diệu");
    "Số 7, ngõ Huyện, Hàng Trống" → ("7", "Ngõ Huyện", "Hàng Trống"); "Số 5, Ngõ Gạch" →
    ("5", None, "Ngõ Gạch"). A trailing ward, district or city ("P. Tây Hồ", "Hà Nội")
    is dropped. Lanes are written the way the household form stores them ("Ngõ 34, ngách
    5"), so the same address written either way finds the same household.

    :raises AddressError: no house number at the start, no street, or a street that
        spans several comma-separated parts ("12 Âu Cơ, Tây Hồ").
    """
    text = clean_line(text)
    if not text:
        raise AddressError(_l("The address is empty. Write it as “Số 12, ngõ 34, Âu Cơ”."))
    if text.startswith(_FORMULA_START):
        raise AddressError(_FORMULA_ADDRESS)
    segments = [s.strip() for s in _SEGMENT_SPLIT.split(text) if s.strip()]
    while len(segments) > 2 and _is_admin(segments[-1]) and \
            _lane_keyword(segments[-2].split()[0]) is None:
        segments.pop()
    tokens = [(tok, i) for i, seg in enumerate(segments) for tok in seg.split()]
    n, i = len(tokens), 0
    while i < n - 1 and tokens[i][0].lower().rstrip(".") in _HOUSE_PREFIXES:
        i += 1
    if i >= n or not _NUMBER.fullmatch(tokens[i][0].rstrip(".")):
        raise AddressError(_l("No house number found at the start of the address. Write "
                              "it as “Số 12, ngõ 34, Âu Cơ” or use the columns Số nhà, "
                              "Ngõ, Đường."))
    house = tokens[i][0].rstrip(".")
    i += 1
    last_segment = tokens[-1][1]
    lane_parts: list[tuple[str, str]] = []
    while i < n:
        token, segment = tokens[i]
        word = _lane_keyword(token)
        if word and i + 1 < n and tokens[i + 1][1] == segment \
                and _NUMBER.fullmatch(tokens[i + 1][0]):
            lane_parts.append((word, tokens[i + 1][0]))       # "ngõ 34", "ngách 5"
            i += 2
            continue
        word = _lane_keyword(token, exact=True)
        if word and tokens[i - 1][1] != segment and segment != last_segment:
            name = [t for t, s in tokens[i + 1:] if s == segment]
            if name:                                           # ", ngõ Huyện, "
                lane_parts.append((word, " ".join(name)))
                i += 1 + len(name)
                continue
        if word and len([s for _, s in tokens[i + 1:] if s == segment]) >= 3:
            # "12 ngõ Huyện Hàng Trống": where the lane's name ends is anyone's guess.
            raise AddressError(_l("The lane and the street cannot be told apart. Separate "
                                  "them with commas: “Số 12, ngõ Huyện, Hàng Trống”."))
        break
    rest = tokens[i:]
    if not rest:
        raise AddressError(_l("No street found in the address. Write it as “Số 12, ngõ 34, "
                              "Âu Cơ”."))
    if len({s for _, s in rest}) > 1:
        raise AddressError(_l("The street cannot be told apart from the rest of the "
                              "address. Write it as “Số 12, ngõ 34, Âu Cơ”, or use the "
                              "columns Số nhà, Ngõ, Đường."))
    street = " ".join(_strip_street_prefix([t for t, _ in rest]))
    lane = _canonical_lane(lane_parts) if lane_parts else None
    return _check_address_parts(house, lane, street)


def _check_address_parts(house: str, lane: str | None, street: str, *,
                         split: bool = False):
    if len(house) > 30:
        raise AddressError(_l("A house number has at most 30 characters."),
                           "house_number" if split else "address")
    if lane and len(lane) > 60:
        raise AddressError(_l("At most 60 characters."), "lane" if split else "address")
    if len(street) > 100:
        raise AddressError(_l("At most 100 characters."), "street" if split else "address")
    return house, lane, street


def split_columns_address(house: str, lane: str, street: str) -> tuple[str, str | None, str]:
    """Return (house_number, lane, street) from separate columns: "Số 12" → "12", a bare
    lane number "34" → "Ngõ 34", "ngõ 34 ngách 5" → "Ngõ 34, ngách 5".

    :raises AddressError: (with `.field`) a missing house number or street, a formula.
    """
    house, lane, street = clean_line(house), clean_line(lane), clean_line(street)
    for name, value in (("house_number", house), ("lane", lane), ("street", street)):
        if value.startswith(_FORMULA_START):
            raise AddressError(_FORMULA_ADDRESS, name)
    words = house.split()
    while len(words) > 1 and words[0].lower().rstrip(".") in _HOUSE_PREFIXES:
        words = words[1:]
    house = " ".join(words)
    if not house:
        raise AddressError(_l("Enter the house number, e.g. 12 or 12A."), "house_number")
    if not street:
        raise AddressError(_l("Enter the street, e.g. Âu Cơ."), "street")
    if lane:
        if _NUMBER.fullmatch(lane):
            lane = f"Ngõ {lane}"
        else:
            words = lane.replace(",", " ").split()
            pairs = list(zip(words[::2], words[1::2]))
            if len(words) % 2 == 0 and all(_lane_keyword(w) and _NUMBER.fullmatch(num)
                                           for w, num in pairs):
                lane = _canonical_lane([(_lane_keyword(w), num) for w, num in pairs])
    street = " ".join(_strip_street_prefix(street.split()))
    return _check_address_parts(house, lane or None, street, split=True)


# --- groups --------------------------------------------------------------------------

class GroupMatcher:
    """Find a ward's residential group from what a sheet says: its name in any case or
    accents ("tổ dân phố số 7"), or only its number ("7", "Tổ 7", "TDP 07")."""

    _NUMBERED = re.compile(r"(?:(?:to dan pho|to dp|tdp|to|thon)\s*(?:so\s*)?)?0*(\d+)")

    def __init__(self, groups: list[dict]):
        self.groups = groups
        self.by_id = {g["id"]: g for g in groups}
        self.by_name = {header_key(g["name"]): g for g in groups}
        self.by_number: dict[str, dict | None] = {}
        for g in groups:
            m = re.search(r"0*(\d+)$", header_key(g["name"]))
            if m:  # two groups ending in the same number: the number alone is ambiguous
                key = m.group(1)
                self.by_number[key] = None if key in self.by_number else g
        self._cache: dict[str, dict | None] = {}

    def match(self, text: str) -> dict | None:
        """Return the group `text` names, or None."""
        if text in self._cache:
            return self._cache[text]
        key = header_key(text)
        group = self.by_name.get(key)
        if group is None and (m := self._NUMBERED.fullmatch(key)):
            group = self.by_number.get(m.group(1))
        self._cache[text] = group
        return group
