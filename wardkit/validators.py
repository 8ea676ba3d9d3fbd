"""Field checks for resident data: CCCD number, phone and date of birth (a person's name:
`wardkit.names`).

Each `check_*` function returns a `Checked`: the normalised value to store, a hard `error`
(nothing may be saved) or a list of `warnings` the officer must confirm. Messages are lazy
(`lazy_gettext`), so they can be built without an app context and are translated when
rendered. Rules and sources: docs/DOMAIN-RULES.md (#citizen-id, #phones, #dates).
"""
import calendar
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

import phonenumbers
from flask_babel import lazy_gettext as _l

from . import clock
from .text import clean_line


@dataclass
class Checked:
    """The outcome of one field check."""

    value: object = None          # normalised value to store (None when empty/invalid)
    error: object = None          # lazy message: hard error, nothing may be saved
    warnings: list = field(default_factory=list)   # lazy messages the officer must confirm

    @property
    def ok(self) -> bool:
        """Return True when there is no hard error (warnings may remain)."""
        return self.error is None


def failed(message) -> Checked:
    """Return a Checked with the hard error `message` and nothing to store."""
    return Checked(value=None, error=message)


_fail = failed
# For a value that is not a string at all (a caller's mistake, never a typed value).
NOT_TEXT = _l("Type this as text, as printed on the document.")


# --------------------------------------------------------------------------------------------
# Shared normalisation

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
# Spaces, dots and every kind of dash a keyboard, OCR or a chat app may insert.
_DIGIT_NOISE = re.compile(r"[\s.\-\u2010-\u2015\u2212\u00b7" + _ZERO_WIDTH + "]+")


def normalize_digits(raw: str | None) -> str:
    """Return `raw` NFKC-normalised (full-width digits → ASCII) with spaces, dots, dashes
    and zero-width characters removed. Other characters (letters, +, parentheses) stay."""
    return _DIGIT_NOISE.sub("", unicodedata.normalize("NFKC", raw or ""))


def is_blank(raw) -> bool:
    """Return True for None or text with nothing but spaces and invisible characters."""
    return raw is None or (isinstance(raw, str) and not clean_line(raw))


_is_blank = is_blank


# --------------------------------------------------------------------------------------------
# CCCD / personal identification number (docs/DOMAIN-RULES.md#citizen-id)

# Appendix 1 of Circular 07/2016/TT-BCA: where the birth was registered (pre-2025 provinces;
# the 2025 merger did not renumber ID numbers).
PROVINCE_CODES: dict[str, str] = {
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn",
    "008": "Tuyên Quang", "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu",
    "014": "Sơn La", "015": "Yên Bái", "017": "Hòa Bình", "019": "Thái Nguyên",
    "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang", "025": "Phú Thọ",
    "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
    "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định",
    "037": "Ninh Bình", "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh",
    "044": "Quảng Bình", "045": "Quảng Trị", "046": "Thừa Thiên Huế", "048": "Đà Nẵng",
    "049": "Quảng Nam", "051": "Quảng Ngãi", "052": "Bình Định", "054": "Phú Yên",
    "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum",
    "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng",
    "070": "Bình Phước", "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu", "079": "Hồ Chí Minh", "080": "Long An", "082": "Tiền Giang",
    "083": "Bến Tre", "084": "Trà Vinh", "086": "Vĩnh Long", "087": "Đồng Tháp",
    "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ", "093": "Hậu Giang",
    "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}

_CCCD_RE = re.compile(r"[0-9]{12}")
_MAX_AGE = 120


def decode_cccd(value: str) -> dict:
    """Return what a 12-digit ID number encodes: `{"province": name or None (not one of the
    63 codes, e.g. a birth registered abroad), "year": birth year (int), "gender": "male" or
    "female"}`. Raise ValueError unless `value` normalises to 12 ASCII digits. Nothing is
    checked against the calendar: use `check_cccd` for that."""
    digits = normalize_digits(value)
    if not _CCCD_RE.fullmatch(digits):
        raise ValueError(f"not a 12-digit ID number: {value!r}")
    g = int(digits[3])
    return {
        "province": PROVINCE_CODES.get(digits[:3]),
        "year": (g // 2 + 19) * 100 + int(digits[4:6]),
        "gender": "female" if g % 2 else "male",
    }


def check_cccd(raw: str | None, *, dob: date | None = None, gender: str | None = None,
               born_abroad: bool = False, today: date | None = None) -> Checked:
    """Check a CCCD / personal ID number (optional field).

    Returns `Checked(value=None)` for empty input; otherwise the normalised 12-digit string,
    an error (wrong length, not digits, unknown province code unless `born_abroad`, a birth
    year in the future) or warnings (birth year or sex disagree with `dob` / `gender`).
    `gender` is "male", "female" or None (unknown); anything else raises ValueError.
    Mismatches are never corrected: the officer checks the card (docs/DOMAIN-RULES.md#citizen-id).
    """
    if gender not in (None, "", "male", "female"):
        raise ValueError(f"gender must be 'male', 'female' or None, not {gender!r}")
    if _is_blank(raw):
        return Checked()
    today = today or clock.today()
    digits = normalize_digits(raw)
    if not digits.isascii() or not digits.isdigit():
        return _fail(_l("A CCCD number has only digits. Check for a letter O or I typed "
                        "instead of 0 or 1."))
    if len(digits) == 9:
        return _fail(_l("This looks like an old 9-digit CMND number. Ask for the 12-digit "
                        "number on the CCCD card or in the VNeID app."))
    if len(digits) != 12:
        return _fail(_l("A CCCD number has 12 digits; this one has %(count)s. Read it again "
                        "from the card.", count=len(digits)))
    decoded = decode_cccd(digits)
    prefix = digits[:3]
    if decoded["province"] is None and not born_abroad:
        return _fail(_l("The first three digits (%(prefix)s) are not a province code. Check "
                        "the number; if the birth was registered abroad, tick “born "
                        "abroad”.", prefix=prefix))
    year = decoded["year"]
    if year > today.year:
        return _fail(_l("This number would mean a birth in %(year)s, which is impossible. "
                        "Check the 4th digit (0 or 1 for births in the 1900s, 2 or 3 for "
                        "the 2000s).", year=year))
    warnings = []
    if dob is not None and dob.year != year:
        warnings.append(_l("The CCCD number says the person was born in %(id_year)s, but "
                           "the date of birth is in %(dob_year)s. Check both against the "
                           "card; do not change the number to make them agree.",
                           id_year=year, dob_year=dob.year))
    elif dob is None and today.year - year > _MAX_AGE:
        warnings.append(_l("This number would mean a birth in %(year)s, more than 120 years "
                           "ago. Check the 4th to 6th digits.", year=year))
    if gender and gender != decoded["gender"]:
        if gender == "female":
            warnings.append(_l("The 4th digit of the CCCD number (%(digit)s, even) is a "
                               "man's, but the person is recorded as female. Check the "
                               "card.", digit=digits[3]))
        else:
            warnings.append(_l("The 4th digit of the CCCD number (%(digit)s, odd) is a "
                               "woman's, but the person is recorded as male. Check the "
                               "card.", digit=digits[3]))
    return Checked(value=digits, warnings=warnings)


# --------------------------------------------------------------------------------------------
# Phone numbers (docs/DOMAIN-RULES.md#phones)

# 11-digit mobile prefixes converted in 2018–2019 (the last 7 digits were kept).
OLD_MOBILE_PREFIXES: dict[str, str] = {
    **{f"016{d}": f"03{d}" for d in "23456789"},                    # Viettel
    "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078",  # MobiFone
    "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",  # VinaPhone
    "0186": "056", "0188": "058",                                    # Vietnamobile
    "0199": "059",                                                   # Gmobile
}
_PHONE_CHARS = re.compile(r"\+?[0-9]+")
_TOO_SHORT = _l("This phone number is too short. A mobile number has 10 digits, e.g. "
                "0912 345 678.")
_TOO_LONG = _l("This phone number is too long. Enter only one number, e.g. 0912 345 678.")
_SERVICE_TYPES = {phonenumbers.PhoneNumberType.TOLL_FREE,
                  phonenumbers.PhoneNumberType.PREMIUM_RATE,
                  phonenumbers.PhoneNumberType.SHARED_COST,
                  phonenumbers.PhoneNumberType.UAN}


def check_phone(raw: str | None) -> Checked:
    """Check a Vietnamese phone number (optional field).

    Returns `Checked(value=None)` for empty input; otherwise the national number with its
    leading 0, digits only ("0912345678", "02439424451"). Accepts spaces, dots, dashes,
    parentheses, full-width digits and the +84 / 84 / 0084 prefixes. Errors: not a possible
    Vietnamese number, a mobile or landline with the wrong number of digits, an old 11-digit
    mobile (the message names the converted number), a 1800/1900 hotline, a foreign number.
    A possible number that `phonenumbers` does not know as valid is only a warning: carrier
    tables lag behind (docs/DOMAIN-RULES.md#phones).
    """
    if _is_blank(raw):
        return Checked()
    compact = normalize_digits(raw).replace("(", "").replace(")", "")
    if _MOBILE.fullmatch(compact):
        # The common case, a 10-digit mobile typed with its 0: skip the full parse
        # (a third of a 100,000-row import's time). Validity depends only on the first
        # digits in phonenumbers' VN metadata, so it is cached per 5-digit prefix.
        if _mobile_prefix_valid(compact[:5]):
            return Checked(value=compact)
        return Checked(value=compact, warnings=[_unknown_number(compact)])
    if not _PHONE_CHARS.fullmatch(compact):
        return _fail(_l("Enter one phone number using digits only, e.g. 0912 345 678."))
    try:
        number = phonenumbers.parse(compact, "VN")
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.TOO_LONG:
            return _fail(_TOO_LONG)
        if exc.error_type in (phonenumbers.NumberParseException.TOO_SHORT_NSN,
                              phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD):
            return _fail(_TOO_SHORT)
        return _fail(_l("This is not a phone number. Enter it as 0912 345 678 or "
                        "+84 912 345 678."))
    if number.country_code != 84:
        return _fail(_l("Only Vietnamese phone numbers (+84 or starting with 0) can be "
                        "recorded."))
    national = phonenumbers.national_significant_number(number)
    value = "0" + national
    if len(national) > 10:   # no Vietnamese number is longer, with or without the 0
        return _fail(_TOO_LONG)
    if len(national) < 8:    # before the prefix checks: "12345" is just too short
        return _fail(_TOO_SHORT)
    if national[0] == "0":   # "0912" (too short) or a second trunk 0 ("+84 00…")
        if len(national) < 9:
            return _fail(_TOO_SHORT)
        return _fail(_l("This is not a Vietnamese phone number. A mobile number has 10 "
                        "digits, e.g. 0912 345 678."))
    if national[0] == "1":
        old_prefix = value[:4]
        if len(value) == 11 and old_prefix in OLD_MOBILE_PREFIXES:
            new = OLD_MOBILE_PREFIXES[old_prefix] + value[4:]
            return _fail(_l("This is an old 11-digit mobile number. In 2018–2019 the prefix "
                            "%(old)s became %(new)s, so the number is probably %(number)s "
                            "now. Ask the resident before entering it.",
                            old=old_prefix, new=OLD_MOBILE_PREFIXES[old_prefix], number=new))
        if phonenumbers.number_type(number) in _SERVICE_TYPES:
            return _fail(_l("1800 and 1900 numbers are hotlines. Ask for the resident's own "
                            "phone number."))
        return _fail(_l("No Vietnamese phone number starts with 01 any more: 11-digit "
                        "mobile numbers changed to 10 digits in 2018–2019. Ask the resident "
                        "for the current number."))
    if national[0] in "35789" and len(national) == 8 and compact[0] not in "0+":
        return _fail(_l("A landline number needs its area code: for Hanoi, write 024 before "
                        "the 8 digits, e.g. 024 3942 4451."))
    if national[0] in "35789" and len(value) != 10:
        return _fail(_l("A mobile number has 10 digits including the first 0; this one has "
                        "%(count)s.", count=len(value)))
    if national[0] == "2" and len(value) != 11:
        return _fail(_l("A landline number has 11 digits including 0 and the area code, "
                        "e.g. 024 3942 4451; this one has %(count)s.", count=len(value)))
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        if reason == phonenumbers.ValidationResult.TOO_SHORT:
            return _fail(_TOO_SHORT)
        if reason == phonenumbers.ValidationResult.TOO_LONG:
            return _fail(_TOO_LONG)
        return _fail(_l("This is not a Vietnamese phone number. A mobile number has 10 "
                        "digits, e.g. 0912 345 678."))
    warnings = []
    if not phonenumbers.is_valid_number(number):
        warnings.append(_unknown_number(value))
    return Checked(value=value, warnings=warnings)


_MOBILE = re.compile(r"0[35789]\d{8}")
# Compiled once: an import checks 100,000 dates.
_SPACES = re.compile(r"\s+")
_DDMMYYYY = re.compile(r"(\d{2})(\d{2})(\d{4})")
_YEAR_ONLY = re.compile(r"\d{4}")


@functools.lru_cache(maxsize=4096)
def _mobile_prefix_valid(prefix: str) -> bool:
    """Return whether phonenumbers knows 10-digit mobiles starting with `prefix` (5 digits,
    with the 0) as valid. VN mobile patterns fix at most the first 4 significant digits."""
    return phonenumbers.is_valid_number(phonenumbers.parse(prefix + "00000", "VN"))


def _unknown_number(value: str):
    return _l("%(number)s is not in the known list of Vietnamese numbers. Call it or read it "
              "back to the resident to make sure.", number=value)


# --------------------------------------------------------------------------------------------
# Date of birth

_DMY = re.compile(r"(\d{1,2})([/.\-])(\d{1,2})\2(\d+)")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_EXAMPLE = "25/03/1987"


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def check_dob(raw: str | date | None, *, today: date | None = None) -> Checked:
    """Check a date of birth (required field).

    Accepts dd/mm/yyyy, d/m/yyyy, dd-mm-yyyy, dd.mm.yyyy, ddmmyyyy (numeric keypads) and
    ISO yyyy-mm-dd (or a `date`).
    Returns the `datetime.date`, or an error: empty, two-digit year, not a real date
    (31/02/1990), in the future, or more than 120 years ago.
    """
    today = today or clock.today()
    if isinstance(raw, date):
        return _check_dob_range(raw.date() if isinstance(raw, datetime) else raw, today)
    if _is_blank(raw):
        return _fail(_l("Enter the date of birth as day/month/year, e.g. %(example)s.",
                        example=_EXAMPLE))
    text = _SPACES.sub("", unicodedata.normalize("NFKC", raw))
    if m := _ISO.fullmatch(text):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    elif m := _DDMMYYYY.fullmatch(text):
        # 8 digits: typed on a numeric keypad, which has no "/" (ddmmyyyy).
        day, month, year = int(m[1]), int(m[2]), int(m[3])
    elif _YEAR_ONLY.fullmatch(text):
        return _fail(_l("Only a year was entered. Enter the full date of birth as printed "
                        "on the ID card, e.g. %(example)s.", example=_EXAMPLE))
    elif m := _DMY.fullmatch(text):
        if len(m[4]) == 2:
            return _fail(_l("Write the year with four digits (e.g. 1987, not 87)."))
        if len(m[4]) != 4:
            return _fail(_l("The year must have four digits, e.g. %(example)s.",
                            example=_EXAMPLE))
        day, month, year = int(m[1]), int(m[3]), int(m[4])
    else:
        return _fail(_l("Enter the date of birth as day/month/year, e.g. %(example)s.",
                        example=_EXAMPLE))
    if not 1 <= month <= 12:
        return _fail(_l("There is no month %(month)s. Write day/month/year, e.g. "
                        "%(example)s.", month=month, example=_EXAMPLE))
    if year < today.year - _MAX_AGE - 1:   # (the exact age is checked below)
        return _fail(_l("That date makes the person %(age)s years old. Check the year.",
                        age=today.year - year))
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return _fail(_l("%(month)s/%(year)s has no day %(day)s. Check the date on the card.",
                        day=day, month=f"{month:02d}", year=year))
    return _check_dob_range(date(year, month, day), today)


def _check_dob_range(born: date, today: date) -> Checked:
    if born > today:
        return _fail(_l("The date of birth is in the future. Check the year."))
    if _age(born, today) > _MAX_AGE:
        return _fail(_l("That date makes the person %(age)s years old. Check the year.",
                        age=_age(born, today)))
    return Checked(value=born)
