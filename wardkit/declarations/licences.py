"""Driver's-licence checks for declarations: licence numbers, classes old and new, and
validity (docs/DOMAIN-RULES.md#licences, #licence-numbers, #licence-classes).

No database, no request. Like `wardkit.validators`, each `check_*` function returns a
`Checked`: the normalised value to store, a hard `error` (nothing may be saved) or
`warnings` the officer must confirm. Messages are lazy (`lazy_gettext`). No `check_*`
function raises for any string argument. Plates, chassis and engine numbers are in
`plates.py`.
"""
import re
import unicodedata
from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from .. import clock
from ..text import clean_line, fold
from ..validators import NOT_TEXT as _NOT_TEXT
from ..validators import Checked, normalize_digits
from ..validators import failed as _fail
from ..validators import is_blank as _is_blank


def _dmy(d: date) -> str:
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


# --------------------------------------------------------------------------------------------
# Driver's licence number (docs/DOMAIN-RULES.md#licence-numbers)

LICENCE_NUMBER_LENGTH = 12
PAPER_MIN, PAPER_MAX = 6, 20


def check_licence_number(raw: str | None, *, paper: bool = False) -> Checked:
    """Check a driver's-licence number (optional field).

    Returns `Checked(value=None)` for empty input; otherwise `value` is a dict
    `{"number": str, "paper": bool, "needs_exchange": bool}`.
    PET card (default): exactly 12 digits after removing spaces, dots and dashes, kept as a
    string with its leading zeros; anything else is an error. Old paper licence
    (`paper=True`): 6–20 letters (A–Z, Đ) and digits, upper-cased, separators removed;
    `needs_exchange` is True and a warning asks the officer to advise a PET exchange.
    """
    if not isinstance(raw, str) or _is_blank(raw):
        return Checked() if _is_blank(raw) else _fail(_NOT_TEXT)
    if paper:
        number = normalize_digits(clean_line(raw)).upper().replace("/", "")
        number = number.replace("\u00d0", "Đ")
        bad = next((ch for ch in number
                    if not ("A" <= ch <= "Z" or "0" <= ch <= "9" or ch == "Đ")), None)
        if bad is not None:
            return _fail(_l("A licence number has only letters and digits. Remove "
                            "“%(char)s”.", char=bad))
        if not PAPER_MIN <= len(number) <= PAPER_MAX:
            return _fail(_l("An old paper licence number has %(min)s to %(max)s letters and "
                            "digits; this one has %(count)s. Read it again from the licence.",
                            min=PAPER_MIN, max=PAPER_MAX, count=len(number)))
        warnings = [_l("This is an old paper licence. Advise the resident to exchange it for "
                       "a PET card: paper licences cannot be linked to VNeID.")]
        if number.isdigit() and len(number) == LICENCE_NUMBER_LENGTH:
            warnings.append(_l("A 12-digit number is what a PET card shows. If the licence "
                               "is a plastic card, untick “paper licence”."))
        return Checked(value={"number": number, "paper": True, "needs_exchange": True},
                       warnings=warnings)
    number = normalize_digits(clean_line(raw))
    if not number.isascii() or not number.isdigit():
        return _fail(_l("A PET licence number has only digits. Check for a letter O or I "
                        "typed instead of 0 or 1. If it is an old paper licence, tick "
                        "“paper licence”."))
    if len(number) != LICENCE_NUMBER_LENGTH:
        return _fail(_l("A PET licence number has 12 digits; this one has %(count)s. Read it "
                        "again from the card, keeping any zeros at the start.",
                        count=len(number)))
    return Checked(value={"number": number, "paper": False, "needs_exchange": False})


# --------------------------------------------------------------------------------------------
# Licence classes (docs/DOMAIN-RULES.md#licence-classes)

# Law 36/2024/QH15: classes printed on licences issued from this date (earlier: old table).
LAW_2024_EFFECTIVE = date(2025, 1, 1)
NEW_CLASSES = ("A1", "A", "B1", "B", "C1", "C", "D1", "D2", "D",
               "BE", "C1E", "CE", "D1E", "D2E", "DE")
OLD_CLASSES = ("A1", "A2", "A3", "A4", "B1", "B2", "C", "D", "E", "FB2", "FC", "FD", "FE")
OLD_B1_AUTOMATIC = "B1 số tự động"   # the old B1 for automatic cars (printed label)

# Old class (docs/DOMAIN-RULES.md#licence-classes) -> (new class or None, restriction note or None).
OLD_TO_NEW = {
    "A1": ("A", _l("A (<175 cm³ or <14 kW)")),
    "A2": ("A", None),
    "A3": ("B1", None),
    "A4": (None, _l("no longer a driving licence: special-purpose-machinery certificate "
                    "(tractors ≤1,000 kg) plus a traffic-law certificate")),
    OLD_B1_AUTOMATIC: ("B", _l("B (automatic only)")),
    "B1": ("B", _l("B, or C1 plus a machinery certificate (tractors ≤3,500 kg)")),
    "B2": ("B", _l("B, or C1 plus a machinery certificate (tractors ≤3,500 kg)")),
    "C": ("C", _l("C plus a machinery certificate (>3,500 kg)")),
    "D": ("D2", _l("D2 plus a certificate")),
    "E": ("D", _l("D plus a certificate")),
    # The F classes map to E-suffixed classes; the exact rows are inferred from the
    # base classes (B2→B, C→C, D→D2, E→D); check the exchanged card.
    "FB2": ("BE", _l("BE (F-class mapping unconfirmed)")),
    "FC": ("CE", _l("CE (F-class mapping unconfirmed)")),
    "FD": ("D2E", _l("D2E (F-class mapping unconfirmed)")),
    "FE": ("DE", _l("DE (F-class mapping unconfirmed)")),
}
# Art. 57(5): validity from the date of issue, in years (None: no expiry).
NEW_VALIDITY_YEARS = {"A1": None, "A": None, "B1": None, "B": 10, "C1": 10,
                      **{c: 5 for c in ("C", "D1", "D2", "D", "BE", "C1E", "CE", "D1E",
                                        "D2E", "DE")}}
# Art. 59: minimum age at issue. Old licences use their mapped new class (the old law's ages
# for A1–A3, B1, B2, C, D, E, F* are the same); A4 has none here.
MIN_AGE = {**dict.fromkeys(("A1", "A", "B1", "B", "C1"), 18), **dict.fromkeys(("C", "BE"), 21),
           **dict.fromkeys(("D1", "D2", "C1E", "CE"), 24),
           **dict.fromkeys(("D", "D1E", "D2E", "DE"), 27)}
# Old validity in years (None: no expiry); old B1 is special (until age 55/60).
OLD_VALIDITY_YEARS = {"A1": None, "A2": None, "A3": None, "A4": 10, "B2": 10,
                      **{c: 5 for c in ("C", "D", "E", "FB2", "FC", "FD", "FE")}}

_AUTOMATIC = re.compile(r"(?:SO\s*)?TU\s*DONG|AUTOMATIC|AUTO|AT")


def _canonical_class(printed: str) -> tuple[str, bool]:
    """Return (class code, automatic) for a class as typed: "b 2" -> ("B2", False),
    "B1 số tự động" -> ("B1", True). Unknown text comes back upper-cased and compacted."""
    text = fold(unicodedata.normalize("NFKC", printed)).upper()
    text = re.sub(r"^(?:HANG|CLASS)\b\s*", "", text)
    text = re.sub(r"[()\[\],:;]", " ", text).strip()
    automatic = False
    if m := re.fullmatch(r"([A-Z0-9 .\-]*?)[\s.\-]*\b(" + _AUTOMATIC.pattern + r")", text):
        text, automatic = m[1], True
    code = re.sub(r"[\s.\-]", "", text)
    if code == "B11":   # the common name of the old automatic B1
        code, automatic = "B1", True
    return code, automatic


class _ClassError(Exception):
    def __init__(self, reason, code):
        super().__init__(reason, code)
        self.reason, self.code = reason, code


def _classify(printed: str, issued_on: date) -> dict:
    """Return {licence_class, new_class, note, old_table}; raise _ClassError."""
    code, automatic = _canonical_class(printed)
    if not code:
        raise _ClassError("empty", code)
    if issued_on < LAW_2024_EFFECTIVE:
        if code not in OLD_CLASSES or (automatic and code != "B1"):
            raise _ClassError("new_before" if code in NEW_CLASSES else "unknown", code)
        label = OLD_B1_AUTOMATIC if automatic else code
        new_class, note = OLD_TO_NEW[label]
        return {"licence_class": label, "new_class": new_class, "note": note,
                "old_table": True}
    if automatic and code != "B":
        raise _ClassError("unknown", code)
    if code not in NEW_CLASSES:
        raise _ClassError("old_after" if code in OLD_CLASSES else "unknown", code)
    # WardKit's choice (docs/DOMAIN-RULES.md#licence-classes): a new B printed "automatic" keeps that restriction as a note.
    return {"licence_class": code + (" automatic" if automatic else ""), "new_class": code,
            "note": _l("B (automatic only)") if automatic else None, "old_table": False}


def map_licence_class(printed: str, issued_on: date) -> dict:
    """Return `{"new_class": ..., "note": ...}` for a class as printed on a licence.

    The issue date decides which table applies (docs/DOMAIN-RULES.md#licence-classes): before 1 Jan 2025 the
    printed class must be an old one (OLD_CLASSES, or B1 "số tự động"/automatic) and is
    mapped to its new equivalent with a restriction note (old B2 -> B, old A1 -> A
    "A (<175 cm³ or <14 kW)", old A4 -> new_class None). From 1 Jan 2025 it must be one of
    NEW_CLASSES and maps to itself (note None). Raise ValueError otherwise.
    """
    if isinstance(issued_on, datetime):
        issued_on = issued_on.date()
    try:
        result = _classify(printed, issued_on)
    except _ClassError as exc:
        raise ValueError(f"{printed!r} is not a licence class issued on {issued_on} "
                         f"({exc.reason})") from None
    return {"new_class": result["new_class"], "note": result["note"]}


def _add_years(d: date, years: int) -> date:
    if d.year + years > date.max.year:
        return date.max
    try:
        return d.replace(year=d.year + years)
    except ValueError:   # 29 February
        return d.replace(year=d.year + years, day=28)


def licence_expiry(new_class: str, issued_on: date) -> date | None:
    """Return the expiry date of a licence of a 2024-law class (Art. 57(5)): None for A1, A
    and B1 (no expiry), issue date + 10 years for B and C1, + 5 years for the others.
    Raise ValueError for a class not in NEW_CLASSES."""
    if new_class not in NEW_VALIDITY_YEARS:
        raise ValueError(f"not a 2024-law licence class: {new_class!r}")
    years = NEW_VALIDITY_YEARS[new_class]
    return None if years is None else _add_years(issued_on, years)


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _old_expiry(label: str, issued_on: date, dob, gender) -> tuple[date | None, bool]:
    """Return (expiry, known) under the old rules."""
    if label in ("B1", OLD_B1_AUTOMATIC):
        if dob is None or gender not in ("male", "female"):
            return None, False
        # Until age 55 (women) / 60 (men); 10 years if issued over 45 / 50. The two rules
        # meet exactly at 45 / 50, so the expiry is whichever date is later.
        until = 55 if gender == "female" else 60
        return max(_add_years(dob, until), _add_years(issued_on, 10)), True
    years = OLD_VALIDITY_YEARS[label]
    return (None if years is None else _add_years(issued_on, years)), True


_DATE_DMY = re.compile(r"(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})")
_DATE_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def parse_date(value) -> tuple[date | None, bool]:
    """Return (date or None when blank, ok). Accepts a date, dd/mm/yyyy (also - or .) or
    ISO yyyy-mm-dd."""
    if isinstance(value, datetime):
        return value.date(), True
    if isinstance(value, date):
        return value, True
    if _is_blank(value):
        return None, True
    if not isinstance(value, str):
        return None, False
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))
    if m := _DATE_ISO.fullmatch(text):
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    elif m := _DATE_DMY.fullmatch(text):
        d, mo, y = int(m[1]), int(m[3]), int(m[4])
    else:
        return None, False
    try:
        return date(y, mo, d), True
    except ValueError:
        return None, False


def check_licence(printed_class: str | None, issued_on: date | str | None,
                  expires_on: date | str | None = None, *, dob: date | None = None,
                  gender: str | None = None, today: date | None = None) -> Checked:
    """Check a driver's licence's class and dates (docs/DOMAIN-RULES.md#licences).

    Dates are `date`s or strings (dd/mm/yyyy or yyyy-mm-dd). Returns a dict value:
    `licence_class` (as printed, normalised: "B2", "B1 số tự động"), `licence_class_new`
    (2024-law equivalent, None for old A4), `note` (restriction note or None),
    `expires_on` (the date given, else the one computed; None if it never expires or is
    unknown), `never_expires` (bool), `expired` (bool) and `old_table` (True when the issue
    date is before 1 Jan 2025, so the class was read from the old table).

    Errors: no class, no or unreadable issue date, issued in the future, issued before the
    date of birth, a class that does not exist on the issue date, expiry before issue.
    Warnings: expired (recorded, but flagged), a given expiry that disagrees with the rules
    (old licences keep their old terms: B1 until age 55/60, so `dob` and `gender` — "male"
    or "female", anything else counts as unknown — are needed to compute it), a holder
    younger than the class's minimum age on the issue date.
    """
    today = parse_date(today)[0] or clock.today()
    if _is_blank(printed_class) or not isinstance(printed_class, str):
        return _fail(_l("Enter the licence class as printed on the card, e.g. B or A1."))
    issued, ok = parse_date(issued_on)
    if issued is None:
        return _fail(_l("Enter the date of issue as printed on the licence (day/month/year). "
                        "Class codes changed on 1 January 2025, so the date decides what "
                        "the class means."))
    expires, expires_ok = parse_date(expires_on)
    if not expires_ok:
        return _fail(_l("Enter the expiry date as day/month/year, e.g. 25/03/2030, or leave "
                        "it empty."))
    born, born_ok = parse_date(dob)
    if not born_ok:
        born = None   # the resident's record is checked elsewhere
    if issued > today:
        return _fail(_l("The date of issue (%(date)s) is in the future. Check the year.",
                        date=_dmy(issued)))
    if born is not None and issued < born:
        return _fail(_l("The licence would have been issued (%(issued)s) before the holder "
                        "was born. Check the date of issue and the date of birth.",
                        issued=_dmy(issued)))
    try:
        result = _classify(printed_class, issued)
    except _ClassError as exc:
        return _fail(_class_error_message(exc, printed_class, issued))
    new_class = result["new_class"]
    if result["old_table"]:
        computed, known = _old_expiry(result["licence_class"], issued, born, gender)
    else:
        computed, known = licence_expiry(new_class, issued), True
    never = known and computed is None
    warnings = []
    if expires is not None:
        if expires < issued:
            return _fail(_l("The expiry date (%(expires)s) is before the date of issue "
                            "(%(issued)s). Check both dates.",
                            expires=_dmy(expires), issued=_dmy(issued)))
        if never:
            warnings.append(_l("A class %(cls)s licence has no expiry date, but %(date)s was "
                               "entered. Check what is printed on the card.",
                               cls=result["licence_class"], date=_dmy(expires)))
        elif known and expires != computed:
            warnings.append(_l("By the rules, a class %(cls)s licence issued on %(issued)s "
                               "expires on %(computed)s, but %(date)s was entered. Check the "
                               "date on the card.", cls=result["licence_class"],
                               issued=_dmy(issued), computed=_dmy(computed),
                               date=_dmy(expires)))
        never = False   # the date printed on the card is what counts
    elif not known:
        warnings.append(_l("An old B1 licence lasts until the holder is 55 (women) or 60 "
                           "(men), or 10 years if issued after 45 or 50. Enter the expiry "
                           "date printed on the card so the app can tell whether it is still "
                           "valid."))
    final = expires if expires is not None else computed
    expired = final is not None and final < today
    if expired:
        warnings.append(_l("This licence expired on %(date)s. Record it as it is, and advise "
                           "the resident to renew it.", date=_dmy(final)))
    min_age = MIN_AGE.get(new_class) if new_class else None
    if born is not None and min_age is not None and _age(born, issued) < min_age:
        warnings.append(_l("The holder was %(age)s when this licence was issued, but class "
                           "%(cls)s needs at least %(min)s. Check the date of birth, the date "
                           "of issue and the class.", age=_age(born, issued),
                           cls=result["licence_class"], min=min_age))
    return Checked(value={
        "licence_class": result["licence_class"],
        "licence_class_new": new_class,
        "note": result["note"],
        "expires_on": final,
        "never_expires": never,
        "expired": expired,
        "old_table": result["old_table"],
    }, warnings=warnings)


def _class_error_message(exc: _ClassError, printed: str, issued: date):
    if exc.reason == "empty":
        return _l("Enter the licence class as printed on the card, e.g. B or A1.")
    if exc.reason == "new_before":
        return _l("%(cls)s is a class of the 2024 law, printed only on licences issued from 1 "
                  "January 2025. A licence issued on %(date)s shows an old class (A1–A4, B1, "
                  "B2, C, D, E, FB2, FC, FD, FE). Check the class and the date of issue.",
                  cls=exc.code, date=_dmy(issued))
    if exc.reason == "old_after":
        return _l("%(cls)s is an old class. A licence issued on or after 1 January 2025 shows "
                  "a new class (A1, A, B1, B, C1, C, D1, D2, D, BE, C1E, CE, D1E, D2E, DE). "
                  "Check the class and the date of issue.", cls=exc.code)
    return _l("“%(cls)s” is not a licence class. Type the class as printed on the card, e.g. "
              "B or A1.", cls=clean_line(printed)[:20])
