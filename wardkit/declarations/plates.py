"""Vehicle identity checks for declarations: licence plates, chassis (VIN / frame) and
engine numbers (docs/DOMAIN-RULES.md#plates, #vehicle-fields).

No database, no request. Like `wardkit.validators`, each `check_*` function returns a
`Checked`: the normalised value to store, a hard `error` (nothing may be saved) or
`warnings` the officer must confirm. Messages are lazy (`lazy_gettext`). No `check_*`
function raises for any string argument. Licence numbers, classes and dates are in
`licences.py`.
"""
import re
import unicodedata
from collections import namedtuple
from datetime import date

from flask_babel import lazy_gettext as _l

from ..text import clean_line
from ..validators import NOT_TEXT as _NOT_TEXT
from ..validators import Checked
from ..validators import failed as _fail
from ..validators import is_blank as _is_blank


# Vehicle types offered by the declaration form. Cars and trucks carry car plates; the four
# two-wheeler types carry motorbike plates; "other" (trailers, tractors, …) may carry either.
VEHICLE_TYPES = ("car", "motorcycle", "moped", "electric_motorcycle", "electric_moped",
                 "truck", "other")
_CAR_TYPES = {"car", "truck"}
_BIKE_TYPES = {"motorcycle", "moped", "electric_motorcycle", "electric_moped"}

_VEHICLE_LABELS = {
    "car": _l("a car"), "truck": _l("a truck"), "motorcycle": _l("a motorbike"),
    "moped": _l("a moped"), "electric_motorcycle": _l("an electric motorbike"),
    "electric_moped": _l("an electric moped"), "other": _l("another kind of vehicle"),
}


def _refused_before_reading(raw, vehicle_type: str | None) -> Checked | None:
    """Return what a plate or chassis check answers before reading `raw` at all: an error
    for a vehicle type not in VEHICLE_TYPES ("" counts as none), an empty Checked for a
    blank value, an error for a value that is not text; None to go on reading it."""
    if vehicle_type not in (None, "") and vehicle_type not in VEHICLE_TYPES:
        return _fail(_l("Choose the type of vehicle from the list first."))
    if not isinstance(raw, str) or _is_blank(raw):
        return Checked() if _is_blank(raw) else _fail(_NOT_TEXT)
    return None


# --------------------------------------------------------------------------------------------
# Licence plates (docs/DOMAIN-RULES.md#plates)

HANOI_PLATE_CODES = frozenset({"29", "30", "31", "32", "33", "40"})   # docs/DOMAIN-RULES.md#plates
CENTRAL_PLATE_CODE = "80"   # registered centrally by the MPS Traffic Police Department
S20 = "ABCDEFGHKLMNPSTUVXYZ"   # civil series letters (24/2023 Art. 37(5)); S11 ⊂ S20
S11 = "ABCDEFGHKLM"            # blue (state) plates: same text, only the colour differs
NEVER_USED_LETTERS = "IJOQW"   # never civil series letters; R is for trailers only

# Plate kinds (the layout family read from the text, never the engine size):
# "car" (cars, trucks, special series), "motorcycle" (motorbikes, mopeds, electric),
# "trailer" (R, RM), "foreign" (foreign/diplomatic NG, QT, NN, CV).
PLATE_KINDS = ("car", "motorcycle", "trailer", "foreign")
_KINDS_FOR_TYPE = {
    "car": {"car", "foreign"},
    "truck": {"car", "trailer", "foreign"},
    **{t: {"motorcycle", "foreign"} for t in _BIKE_TYPES},
    "other": set(PLATE_KINDS),
}
_KIND_LABELS = {
    "car": _l("car plate"), "motorcycle": _l("motorbike plate"),
    "trailer": _l("trailer plate"), "foreign": _l("foreign or diplomatic plate"),
}

# The forms of docs/DOMAIN-RULES.md#plates, applied to the compact form after the
# two-digit local code. A reading is (kind, legacy, pattern); `s` = series, `n` = order
# number, `c` = foreign country code.
# Order numbers of all zeros are never issued (000.01–999.99; 0000 / 000 likewise).
_L = f"[{S20}]"
_N5 = r"(?!00000)\d{5}"
_N4 = r"(?!0000)\d{4}"
_N3 = r"(?!000)\d{3}"
_PLATE_FORMS = [
    # Car, white/yellow/blue (2010+): 29A-123.45
    ("car", False, rf"(?P<s>{_L})(?P<n>{_N5})"),
    # Car, legacy 4-digit (3-digit also exists): 29A-1234
    ("car", True, rf"(?P<s>{_L})(?P<n>{_N4}|{_N3})"),
    # Car, special series (LD, DA ✅; KT, MK, TĐ, HC, CD ⚠️): 29LD-123.45
    ("car", False, rf"(?P<s>LD|DA|KT|MK|TĐ|HC|CD)(?P<n>{_N5})"),
    # Trailers and semi-trailers: R (✅), RM (⚠️); older R plates may be 3/4-digit
    ("trailer", False, rf"(?P<s>R|RM)(?P<n>{_N5})"),
    ("trailer", True, rf"(?P<s>R)(?P<n>{_N4}|{_N3})"),
    # Motorcycle 2023+ two letters, and mopeds <50 cc before Aug 2023: 29-HA 002.33
    ("motorcycle", False, rf"(?P<s>{_L}{{2}})(?P<n>{_N5})"),
    ("motorcycle", True, rf"(?P<s>{_L}{{2}})(?P<n>{_N4})"),
    # Motorcycle letter + digit (blue state plates, and 50–175 cc before Aug 2023)
    ("motorcycle", False, rf"(?P<s>{_L}[1-9])(?P<n>{_N5})"),
    ("motorcycle", True, rf"(?P<s>{_L}[1-9])(?P<n>{_N4})"),
    # Electric motorbike, older rules: 29-MĐ1 013.53 (and 29-MĐ 123.45)
    ("motorcycle", False, rf"(?P<s>MĐ[1-9]?)(?P<n>{_N5})"),
    # Foreign / diplomatic: 80-011-NG-01
    ("foreign", False, r"(?P<c>\d{3})(?P<s>NG|QT|NN|CV)(?P<n>(?!0+$)\d{2,3})"),
]
_PLATE_RES = [(kind, legacy, re.compile(p)) for kind, legacy, p in _PLATE_FORMS]
# The same forms with all-zero order numbers allowed: only to explain a refusal.
_ZERO_RES = [(kind, legacy, re.compile(re.sub(r"\(\?!0\+?\$?\)|\(\?!0+\)", "", p)))
             for kind, legacy, p in _PLATE_FORMS]

_Reading = namedtuple("_Reading", "kind legacy series number country")

# Separators a plate may be typed with; everything else but letters and digits is refused.
_PLATE_SEPARATORS = set(" .,-·_\u2010\u2011\u2012\u2013\u2014\u2015\u2212")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_PLATE_LETTERS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZĐ")
_ASCII_DIGITS = set("0123456789")
_PLATE_EXAMPLES = "29A-123.45, 29-HA 002.33"


def _plate_text(raw: str) -> str:
    """Return `raw` as typed, normalised for display: NFKC, upper-case, one line, single
    spaces, dashes unified, Icelandic Ð (a look-alike) read as Đ."""
    text = unicodedata.normalize("NFKC", raw).translate(_ZERO_WIDTH)
    text = clean_line(text).upper().replace("\u00d0", "Đ")
    text = re.sub("[\u2010-\u2015\u2212]", "-", text)
    return unicodedata.normalize("NFC", text)


def _tokenise_plate(text: str):
    """Return (compact, separator positions in the compact string, first bad character)."""
    compact, seps = [], set()
    for ch in text:
        if ch in _PLATE_SEPARATORS:
            seps.add(len(compact))
        elif ch in _PLATE_LETTERS or ch in _ASCII_DIGITS:
            compact.append(ch)
        else:
            return "", set(), ch
    compact = "".join(compact)
    return compact, {p for p in seps if 0 < p < len(compact)}, None


def _readings(compact: str, res=_PLATE_RES) -> list:
    """Return every reading of `compact` (local code + rest) that the plate rules allow
    (docs/DOMAIN-RULES.md#plates)."""
    rest = compact[2:]
    if re.fullmatch(r"MD[1-9]\d{5}", rest):   # ASCII D for Đ (keyboards, OCR)
        rest = "MĐ" + rest[2:]
    found = []
    for kind, legacy, regex in res:
        if m := regex.fullmatch(rest):
            found.append(_Reading(kind, legacy, m["s"], m["n"],
                                  m["c"] if kind == "foreign" else None))
    return found


def _number_display(number: str) -> str:
    return f"{number[:3]}.{number[3:]}" if len(number) == 5 else number


def _display(loc: str, r: _Reading) -> str:
    """Return the canonical printed form: 29A-123.45, 29-HA 002.33, 80-011-NG-01."""
    if r.kind == "foreign":
        return f"{loc}-{r.country}-{r.series}-{r.number}"
    if r.kind == "motorcycle":
        return f"{loc}-{r.series} {_number_display(r.number)}"
    return f"{loc}{r.series}-{_number_display(r.number)}"


def _allowed_separators(r: _Reading) -> set:
    """Compact positions where typing a separator fits reading `r`."""
    if r.kind == "foreign":
        return {2, 5, 5 + len(r.series)}
    start = 2 + len(r.series)
    return {2, start} | ({start + 3} if len(r.number) == 5 else set())


def _canonical_separators(r: _Reading) -> set:
    """Compact positions of the separators in the canonical display of `r`."""
    if r.kind == "motorcycle":
        return _allowed_separators(r)
    return _allowed_separators(r) - ({2} if r.kind != "foreign" else set())


def check_plate(raw: str | None, *, vehicle_type: str | None = None,
                today: date | None = None) -> Checked:
    """Check a licence plate as typed (optional field).

    Returns `Checked(value=None)` for empty input. Otherwise `value` is a dict:
    `plate` (as typed, normalised for display: NFKC, upper-case, single spaces),
    `compact` (letters and digits only, e.g. "29HA00233"; Đ kept), `display` (canonical
    printed form, e.g. "29-HA 002.33"), `province_code` ("29"), `series` ("HA"),
    `number` (order digits, "00233"), `country_code` (foreign plates only, else None),
    `kind` ("car", "motorcycle", "trailer" or "foreign": the plate layout, never the engine
    size) and `legacy` (True for 3/4-digit plates, still legal).

    Accepts the forms of docs/DOMAIN-RULES.md#plates. Errors: characters other than
    letters, digits, spaces, dots and dashes; no two-digit local code or one below 11 (00 is never issued);
    letters never used on plates (I, J, O, Q, W); an all-zero order number (000.00); a
    plate whose layout does not fit `vehicle_type`; a compact form that reads as both a car
    and a motorbike plate (29B11234, 29LD12345) when neither `vehicle_type` nor the typed
    dashes and dots decide. Warnings: a local code outside Hanoi (29–33, 40; 80 has its
    own message), separators typed where the reading has none, an MĐ (electric) plate on a
    vehicle not recorded as electric.

    `vehicle_type` is one of VEHICLE_TYPES or None; another value gives an error. `today`
    is accepted for a stable signature; no current rule depends on the date.
    """
    if (refused := _refused_before_reading(raw, vehicle_type)) is not None:
        return refused
    vehicle_type = vehicle_type or None
    typed = _plate_text(raw)
    compact, seps, bad = _tokenise_plate(typed)
    if bad is not None:
        return _fail(_l("A plate has only letters, digits, dashes and dots. Remove "
                        "“%(char)s” and type the plate as printed, e.g. %(examples)s.",
                        char=bad, examples=_PLATE_EXAMPLES))
    if not re.fullmatch(r"\d\d\D.*|\d{5}.*", compact):
        return _fail(_l("A plate starts with the two-digit local code and then the series, "
                        "e.g. %(examples)s. Type it as printed.", examples=_PLATE_EXAMPLES))
    loc = compact[:2]
    if int(loc) < 11:
        return _fail(_l("%(code)s is not a local code: plate codes run from 11 to 99 "
                        "(Hanoi: 29–33 and 40). Check the first two digits.", code=loc))
    readings = _readings(compact)
    allowed = readings
    if vehicle_type is not None:
        allowed = [r for r in readings if r.kind in _KINDS_FOR_TYPE[vehicle_type]]
    if not allowed:
        if readings:
            r = readings[0]
            return _fail(_l("%(display)s is a %(kind)s, but the vehicle is recorded as "
                            "%(vehicle)s. Check the plate and the vehicle type.",
                            display=_display(loc, r), kind=_KIND_LABELS[r.kind],
                            vehicle=_VEHICLE_LABELS[vehicle_type]))
        return _fail(_explain_bad_plate(compact))
    if len(allowed) > 1:   # a car and a motorbike reading: let the typed layout decide
        fitting = [r for r in allowed if seps <= _allowed_separators(r)]
        if len(fitting) > 1:
            fitting = [r for r in fitting if seps == _canonical_separators(r)]
        elif not fitting and seps:   # none fits: the one most separators fit (warned below)
            best = max(len(seps & _allowed_separators(r)) for r in allowed)
            fitting = [r for r in allowed if len(seps & _allowed_separators(r)) == best]
        if len(fitting) != 1:
            first, second = allowed[0], allowed[1]
            return _fail(_l("%(plate)s can be read as a %(kind1)s (%(display1)s) or as a "
                            "%(kind2)s (%(display2)s). Choose the vehicle type, or type the "
                            "plate exactly as printed, with its dash and dot.",
                            plate=typed, kind1=_KIND_LABELS[first.kind],
                            display1=_display(loc, first), kind2=_KIND_LABELS[second.kind],
                            display2=_display(loc, second)))
        allowed = fitting
    reading = allowed[0]
    display = _display(loc, reading)
    warnings = []
    if not seps <= _allowed_separators(reading):
        warnings.append(_l("Read as the %(kind)s %(display)s, but it was typed as "
                           "%(plate)s. Check it against the plate.",
                           kind=_KIND_LABELS[reading.kind], display=display, plate=typed))
    if loc == CENTRAL_PLATE_CODE:
        warnings.append(_l("Code 80 means the vehicle was registered centrally by the "
                           "Traffic Police Department, not by Hanoi police. That is common "
                           "in Hanoi; check the registration certificate."))
    elif loc not in HANOI_PLATE_CODES:
        warnings.append(_l("The plate code %(code)s is not a Hanoi code (29–33, 40): the "
                           "vehicle was registered in another province. It can still be "
                           "recorded; check the registration certificate.", code=loc))
    if (reading.series.startswith("MĐ") and vehicle_type is not None
            and not vehicle_type.startswith("electric")):
        warnings.append(_l("MĐ plates were issued to electric motorbikes, but the vehicle is "
                           "recorded as %(vehicle)s. Check the vehicle type.",
                           vehicle=_VEHICLE_LABELS[vehicle_type]))
    value = {
        "plate": typed,
        "compact": loc + (reading.country or "") + reading.series + reading.number,
        "display": display,
        "province_code": loc,
        "series": reading.series,
        "number": reading.number,
        "country_code": reading.country,
        "kind": reading.kind,
        "legacy": reading.legacy,
    }
    return Checked(value=value, warnings=warnings)


def _explain_bad_plate(compact: str):
    """Return the most specific message for a compact string with no valid reading."""
    rest = compact[2:]
    letters = re.match(r"[A-ZĐ]*", rest)[0]
    for letter in letters:
        if letter in NEVER_USED_LETTERS:
            if letter in "OQ":
                return _l("Plates never use the letter %(letter)s. If it is a zero, type the "
                          "digit 0.", letter=letter)
            if letter == "I":
                return _l("Plates never use the letter I. If it is a one, type the digit 1.")
            return _l("Plates never use the letter %(letter)s. Check the letters against "
                      "the plate.", letter=letter)
    if re.search(r"[OQI]", rest[len(letters):]):
        return _l("The number on a plate has only digits. Type 0 (zero) for O and 1 (one) "
                  "for I.")
    if _readings(compact, _ZERO_RES):
        return _l("No plate has the number 000.00: numbers start at 000.01. Check the last "
                  "digits.")
    if re.fullmatch(r"[A-ZĐ]+\d+", rest):
        digits = rest[len(letters):]
        known_series = (letters in S20 + "R" if len(letters) == 1 else
                        len(letters) == 2 and (all(ch in S20 for ch in letters)
                                               or letters in ("MĐ", "TĐ", "RM")))
        if known_series:
            return _l("A plate ends with 5 digits (123.45), or 4 on older plates; this one "
                      "has %(count)s. Check the number.", count=len(digits))
        return _l("%(series)s is not a series used on plates. Check the letters against the "
                  "plate.", series=letters)
    return _l("%(plate)s is not a plate number. Type it as printed, e.g. %(examples)s.",
              plate=compact, examples=_PLATE_EXAMPLES)


# --------------------------------------------------------------------------------------------
# Chassis (VIN / frame) and engine numbers (docs/DOMAIN-RULES.md#vehicle-fields)

VIN_LENGTH = 17
FRAME_MIN, FRAME_MAX = 5, 25
_CODE_NOISE = re.compile(r"[\s.*\-\u2010-\u2015\u2212]+")   # spaces, dots, dashes, stamp stars
_VIN_LOOKALIKES = {"I": "1", "O": "0", "Q": "0"}


def _code_text(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw).translate(_ZERO_WIDTH)
    return _CODE_NOISE.sub("", clean_line(text).upper())


def _bad_code_char(code: str):
    return next((ch for ch in code if not ("A" <= ch <= "Z" or "0" <= ch <= "9")), None)


# ISO 3779 check digit as 49 CFR 565.15 computes it: letters transliterated to digits (I, O
# and Q never occur), each position weighted, the sum taken modulo 11 (10 is written X).
_VIN_VALUES = {**{str(d): d for d in range(10)},
               **dict(zip("ABCDEFGH", range(1, 9))), **dict(zip("JKLMN", range(1, 6))),
               "P": 7, "R": 9, **dict(zip("STUVWXYZ", range(2, 10)))}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
# A world manufacturer identifier starting with 1-5 means a vehicle made for North America,
# where position 9 must be the check digit. Others (Vietnamese-assembled RL…, Japanese,
# Korean) need not carry one, so they are never checked (docs/DOMAIN-RULES.md, "VIN").
_CHECKED_VIN_REGIONS = "12345"


def vin_check_digit(vin: str) -> str | None:
    """Return the check digit ("0"-"9" or "X") that position 9 of the 17-character `vin`
    should hold, or None when `vin` is not 17 characters of the VIN alphabet."""
    if len(vin) != VIN_LENGTH or any(ch not in _VIN_VALUES for ch in vin):
        return None
    remainder = sum(_VIN_VALUES[ch] * w for ch, w in zip(vin, _VIN_WEIGHTS)) % 11
    return "X" if remainder == 10 else str(remainder)


def _vin_check_warnings(code: str) -> list:
    """Return a warning when `code` is a North-American VIN whose check digit is wrong."""
    if code[:1] not in _CHECKED_VIN_REGIONS:
        return []
    expected = vin_check_digit(code)
    if expected is None or code[8] == expected:
        return []
    return [_l("This VIN of a vehicle made for North America fails its check digit: the "
               "9th character is %(found)s, but the other 16 give %(expected)s. One "
               "character is probably misread; compare each one with the registration "
               "certificate.", found=code[8], expected=expected)]


def check_vin(raw: str | None, *, vehicle_type: str | None = None) -> Checked:
    """Check a chassis number (số khung) (optional field).

    Returns `Checked(value=None)` for empty input; otherwise the number upper-cased with
    spaces, dots, dashes and stamp stars (*) removed. Only ASCII letters and digits are
    allowed. Cars and trucks carry a 17-character VIN without I, O or Q: another length, or
    one of those letters, is an error (the message offers the digit it probably is).
    Motorbike frame numbers (and those of "other" or unknown vehicles) are free strings of
    5–25 characters; a 17-character one containing I, O or Q only gets a warning.
    A 17-character number starting with 1–5 (made for North America) whose 9th character
    is not the ISO 3779 check digit gets a warning, never an error.
    `vehicle_type` is one of VEHICLE_TYPES or None; another value gives an error.
    """
    if (refused := _refused_before_reading(raw, vehicle_type)) is not None:
        return refused
    vehicle_type = vehicle_type or None
    code = _code_text(raw)
    if (bad := _bad_code_char(code)) is not None:
        return _fail(_l("A chassis number has only letters and digits. Remove “%(char)s” "
                        "and copy it again from the registration certificate.", char=bad))
    lookalikes = [ch for ch in code if ch in _VIN_LOOKALIKES]
    suggestion = "".join(_VIN_LOOKALIKES.get(ch, ch) for ch in code)
    if vehicle_type in _CAR_TYPES:
        if len(code) != VIN_LENGTH:
            return _fail(_l("A car's chassis number (VIN) has 17 characters; this one has "
                            "%(count)s. Copy it again from the registration certificate.",
                            count=len(code)))
        if lookalikes:
            letter = lookalikes[0]
            return _fail(_l("A VIN never uses the letter %(letter)s, so it is not mixed up "
                            "with the digit %(digit)s. It is almost certainly the digit: "
                            "%(suggestion)s. Check it against the certificate.",
                            letter=letter, digit=_VIN_LOOKALIKES[letter],
                            suggestion=suggestion))
        return Checked(value=code, warnings=_vin_check_warnings(code))
    if not FRAME_MIN <= len(code) <= FRAME_MAX:
        return _fail(_l("A frame number has %(min)s to %(max)s letters and digits; this one "
                        "has %(count)s. Copy it again from the registration certificate.",
                        min=FRAME_MIN, max=FRAME_MAX, count=len(code)))
    warnings = []
    if len(code) == VIN_LENGTH and lookalikes:
        warnings.append(_l("This looks like a 17-character VIN, which never uses the letters "
                           "I, O or Q. Check whether it should read %(suggestion)s.",
                           suggestion=suggestion))
    elif len(code) == VIN_LENGTH:
        warnings += _vin_check_warnings(code)   # e.g. a Harley-Davidson's 1HD… frame
    return Checked(value=code, warnings=warnings)


def check_engine_no(raw: str | None) -> Checked:
    """Check an engine number (số máy) (optional field).

    Returns `Checked(value=None)` for empty input; otherwise the number upper-cased with
    spaces, dots, dashes and stamp stars (*) removed: a free string of 5–25 ASCII letters
    and digits. Errors: other characters, or a length outside 5–25.
    """
    if not isinstance(raw, str) or _is_blank(raw):
        return Checked() if _is_blank(raw) else _fail(_NOT_TEXT)
    code = _code_text(raw)
    if (bad := _bad_code_char(code)) is not None:
        return _fail(_l("An engine number has only letters and digits. Remove “%(char)s” "
                        "and copy it again from the registration certificate.", char=bad))
    if not FRAME_MIN <= len(code) <= FRAME_MAX:
        return _fail(_l("An engine number has %(min)s to %(max)s letters and digits; this "
                        "one has %(count)s. Copy it again from the registration "
                        "certificate.", min=FRAME_MIN, max=FRAME_MAX, count=len(code)))
    return Checked(value=code)
