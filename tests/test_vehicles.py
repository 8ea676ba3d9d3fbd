"""wardkit.declarations.plates and .licences: plates, chassis/engine numbers, licence
numbers and licence classes (docs/DOMAIN-RULES.md#plates, #licences, #vehicle-fields)."""
import re
from datetime import date

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from wardkit.declarations import plates
from wardkit.declarations.licences import (NEW_CLASSES, OLD_CLASSES, check_licence,
                                           check_licence_number, licence_expiry,
                                           map_licence_class)
from wardkit.declarations.plates import (PLATE_KINDS, VEHICLE_TYPES, check_engine_no,
                                         check_plate, check_vin, vin_check_digit)
from wardkit.validators import Checked

FAST = settings(max_examples=200, deadline=None)
TODAY = date(2026, 6, 1)


@pytest.fixture(scope="module")
def render(tmp_path_factory):
    """Return a function that renders a lazy message in a request context."""
    from tests.conftest import TEST_CONFIG
    from wardkit import create_app
    app = create_app({**TEST_CONFIG,
                      "DATABASE": str(tmp_path_factory.mktemp("render") / "unused.db")})

    def render(message):
        with app.test_request_context():
            return str(message)
    return render


def texts(checked):
    """Return the error and warnings of a Checked as plain strings (formats every
    placeholder, so a broken one fails here)."""
    return [str(m) for m in ([checked.error] if checked.error else []) + checked.warnings]


def full_width(text):
    """Return `text` with ASCII letters and digits turned full-width (some IMEs, OCR)."""
    return "".join(chr(ord(ch) + 0xFEE0) if ch.isascii() and ch.isalnum() else ch
                   for ch in text)


def without_plate(value):
    return {k: v for k, v in value.items() if k != "plate"}


# --------------------------------------------------------------------------------------------
# Plates: the forms in docs/DOMAIN-RULES.md#plates

@pytest.mark.parametrize("raw, compact, display, series, number, kind, legacy", [
    ("29-HA 002.33", "29HA00233", "29-HA 002.33", "HA", "00233", "motorcycle", False),
    ("29A-123.45", "29A12345", "29A-123.45", "A", "12345", "car", False),
    ("29-B1 123.45", "29B112345", "29-B1 123.45", "B1", "12345", "motorcycle", False),
    ("29-B1 1234", "29B11234", "29-B1 1234", "B1", "1234", "motorcycle", True),
    ("29A-1234", "29A1234", "29A-1234", "A", "1234", "car", True),
    ("29A-123", "29A123", "29A-123", "A", "123", "car", True),
    ("29-AA 123.45", "29AA12345", "29-AA 123.45", "AA", "12345", "motorcycle", False),
    ("29-AA 1234", "29AA1234", "29-AA 1234", "AA", "1234", "motorcycle", True),
    ("29-AG 123.45", "29AG12345", "29-AG 123.45", "AG", "12345", "motorcycle", False),
    ("29-MĐ1 013.53", "29MĐ101353", "29-MĐ1 013.53", "MĐ1", "01353", "motorcycle", False),
    ("29-MĐ 123.45", "29MĐ12345", "29-MĐ 123.45", "MĐ", "12345", "motorcycle", False),
    ("29R-123.45", "29R12345", "29R-123.45", "R", "12345", "trailer", False),
    ("29TĐ-123.45", "29TĐ12345", "29TĐ-123.45", "TĐ", "12345", "car", False),
    ("29-A1 000.01", "29A100001", "29-A1 000.01", "A1", "00001", "motorcycle", False),
])
def test_valid_plates(raw, compact, display, series, number, kind, legacy):
    c = check_plate(raw)
    assert c.ok, texts(c)
    assert c.value == {"plate": raw, "compact": compact, "display": display,
                       "province_code": "29", "series": series, "number": number,
                       "country_code": None, "kind": kind, "legacy": legacy}
    assert c.warnings == []


def test_foreign_plate():
    c = check_plate("80-011-NG-01")
    assert c.ok and c.value["kind"] == "foreign" and c.value["country_code"] == "011"
    assert c.value["series"] == "NG" and c.value["number"] == "01"
    assert c.value["compact"] == "80011NG01"


def test_29_b1_1234_as_motorcycle_or_car():
    bike = check_plate("29-B1 1234", vehicle_type="motorcycle")
    assert bike.ok and bike.warnings == []
    assert (bike.value["display"], bike.value["kind"], bike.value["legacy"]) == (
        "29-B1 1234", "motorcycle", True)
    # The vehicle type decides; the typed layout (a motorbike's) then earns a warning.
    car = check_plate("29-B1 1234", vehicle_type="car")
    assert car.ok
    assert (car.value["display"], car.value["series"], car.value["number"],
            car.value["kind"], car.value["legacy"]) == ("29B-112.34", "B", "11234", "car", False)
    assert len(car.warnings) == 1 and "29B-112.34" in str(car.warnings[0])
    assert car.value["compact"] == bike.value["compact"] == "29B11234"


def test_ambiguous_compact_form_is_resolved_by_vehicle_type():
    assert check_plate("29B11234", vehicle_type="moped").value["display"] == "29-B1 1234"
    assert check_plate("29B11234", vehicle_type="truck").value["display"] == "29B-112.34"
    for t in (None, "other"):
        c = check_plate("29B11234", vehicle_type=t)
        assert not c.ok
        assert "29B-112.34" in str(c.error) and "29-B1 1234" in str(c.error)


def test_ld_and_da_series_car_or_motorbike():
    assert check_plate("29LD12345", vehicle_type="car").value["display"] == "29LD-123.45"
    assert check_plate("29DA12345", vehicle_type="motorcycle").value["display"] == \
        "29-DA 123.45"
    assert not check_plate("29LD12345").ok
    # The typed layout decides when there is no vehicle type.
    assert check_plate("29LD-123.45").value["kind"] == "car"
    assert check_plate("29-LD 123.45").value["kind"] == "motorcycle"


@pytest.mark.parametrize("raw, fragment", [
    ("29A-00000", "000.01"),
    ("29-AA 000.00", "000.01"),
    ("00A-12345", "00"),
    ("05A-12345", "11 to 99"),
    ("29-AR 123.45", "AR"),          # R is not among the 20 letters
    ("29-HO 123.45", "digit 0"),     # letter O
    ("29I-123.45", "digit 1"),
    ("29W-123.45", "W"),
    ("29A-123.O5", "0 (zero)"),
    ("29HA123", "5 digits"),
    ("29A-1234567", "5 digits"),
    ("29A_123/45", "/"),
    ("hello", "29A-123.45"),
    ("A29-123.45", "two-digit local code"),
    ("...", "two-digit local code"),
    ("29A", "29A-123.45"),
])
def test_refused_plates(raw, fragment):
    c = check_plate(raw)
    assert not c.ok and c.value is None
    assert fragment in str(c.error)


def test_plate_type_mismatch_is_an_error():
    c = check_plate("29-HA 002.33", vehicle_type="car")
    assert not c.ok and "motorbike plate" in str(c.error)
    c = check_plate("29A-012.34", vehicle_type="electric_moped")
    assert not c.ok and "car plate" in str(c.error)
    # 29A12345 is also a valid legacy motorbike plate (29-A1 2345): read so, and flagged.
    c = check_plate("29A-123.45", vehicle_type="electric_moped")
    assert c.ok and c.value["display"] == "29-A1 2345" and len(c.warnings) == 1
    assert not check_plate("29R-123.45", vehicle_type="car").ok
    assert check_plate("29R-123.45", vehicle_type="other").ok


def test_unknown_vehicle_type_is_an_error_not_an_exception():
    c = check_plate("29A-123.45", vehicle_type="plane")
    assert not c.ok and "type of vehicle" in str(c.error)
    assert check_plate("29A-123.45", vehicle_type="").ok   # an empty select means None


@pytest.mark.parametrize("code", ["29", "30", "31", "32", "33", "40"])
def test_hanoi_codes_have_no_warning(code):
    c = check_plate(f"{code}A-123.45")
    assert c.ok and c.warnings == []


@pytest.mark.parametrize("code", ["51", "99", "11", "34"])
def test_non_hanoi_code_is_valid_with_a_warning(code):
    c = check_plate(f"{code}-HA 123.45")
    assert c.ok and c.value["province_code"] == code
    assert len(c.warnings) == 1 and "not a Hanoi code" in str(c.warnings[0])


def test_code_80_has_its_own_warning():
    c = check_plate("80A-123.45")
    assert c.ok and len(c.warnings) == 1
    assert "registered centrally" in str(c.warnings[0])


@pytest.mark.parametrize("raw", [
    "29-ha 002.33", full_width("29-HA 002.33"), full_width("29-ha 002.33"),
    "  29 - HA   002.33 ", "29–HA 002.33", "29HA00233", "29 HA 002\u200b.33", "29.HA.002.33",
])
def test_plate_input_normalises(raw):
    c = check_plate(raw, vehicle_type="motorcycle")
    assert c.ok and c.warnings == [], texts(c)
    assert c.value["compact"] == "29HA00233" and c.value["display"] == "29-HA 002.33"
    assert c.value["plate"] == c.value["plate"].upper()
    assert "  " not in c.value["plate"] and c.value["plate"] == c.value["plate"].strip()


def test_plate_display_keeps_what_was_typed():
    assert check_plate(full_width("29a-123.45")).value["plate"] == "29A-123.45"
    assert check_plate("29 a  123 45").value["plate"] == "29 A 123 45"


def test_lowercase_d_stroke_and_ascii_d_for_electric_series():
    assert check_plate("29-mđ1 013.53").value["series"] == "MĐ1"
    c = check_plate("29MD112345", vehicle_type="electric_motorcycle")   # ASCII D for Đ
    assert c.ok and c.value["series"] == "MĐ1" and c.value["compact"] == "29MĐ112345"
    # MD + 5 digits is an ordinary 2023+ two-letter series: left alone.
    assert check_plate("29-MD 123.45").value["series"] == "MD"


def test_electric_series_on_a_non_electric_vehicle_warns():
    c = check_plate("29-MĐ1 013.53", vehicle_type="motorcycle")
    assert c.ok and len(c.warnings) == 1 and "electric" in str(c.warnings[0])


def test_misplaced_punctuation_warns():
    c = check_plate("29A-12.345")
    assert c.ok and c.value["display"] == "29A-123.45"
    assert len(c.warnings) == 1 and "29A-123.45" in str(c.warnings[0])
    # An invalid car string that is a valid blue motorbike plate is read, and flagged.
    c = check_plate("29A-123456")
    assert c.ok and c.value["display"] == "29-A1 234.56" and len(c.warnings) == 1
    assert not check_plate("29A-123456", vehicle_type="car").ok


def test_empty_plate_is_no_value():
    for raw in (None, "", "   ", "\u200b"):
        c = check_plate(raw)
        assert c.ok and c.value is None and c.warnings == []


def test_plate_messages_render_in_a_request(render):
    for raw in ("29B11234", "29A-00000", "51-HA 123.45", "29A_1"):
        c = check_plate(raw)
        assert all(render(m) for m in [c.error, *c.warnings] if m)


# --------------------------------------------------------------------------------------------
# Plates: properties

NATURAL_TYPE = {"car": "car", "motorcycle": "motorcycle", "trailer": "other",
                "foreign": "other"}
vehicle_types = st.sampled_from((None, *VEHICLE_TYPES))
separators = st.sampled_from(["", "", "-", " ", ".", " - ", "–"])


@st.composite
def plate_like(draw):
    """Strings close to plates: a local code, a series, an order number, separators."""
    if draw(st.integers(0, 9)) == 0:
        loc = draw(st.sampled_from(["80", "51", "29"]))
        return (f"{loc}{draw(separators)}{draw(st.from_regex(r'[0-9]{3}', fullmatch=True))}"
                f"{draw(separators)}{draw(st.sampled_from(['NG', 'QT', 'NN', 'CV', 'NX']))}"
                f"{draw(separators)}{draw(st.from_regex(r'[0-9]{1,4}', fullmatch=True))}")
    loc = draw(st.sampled_from(["29", "30", "33", "40", "51", "80", "00", "11"])
               | st.from_regex(r"[0-9]{2}", fullmatch=True))
    series = draw(st.text("ABCDEFGHKLMNPSTUVXYZRĐIO0123456789", min_size=0, max_size=3))
    digits = draw(st.from_regex(r"[0-9]{2,6}", fullmatch=True))
    cut = draw(st.integers(0, len(digits)))
    number = digits[:cut] + draw(separators) + digits[cut:]
    text = loc + draw(separators) + series + draw(separators) + number
    return text.lower() if draw(st.booleans()) else text


@FAST
@given(st.text(), vehicle_types)
def test_check_plate_never_raises(raw, vehicle_type):
    c = check_plate(raw, vehicle_type=vehicle_type)
    assert (c.value is None) or c.ok
    texts(c)


@FAST
@given(st.text(), st.text(max_size=12))
def test_check_plate_never_raises_on_any_vehicle_type(raw, vehicle_type):
    texts(check_plate(raw, vehicle_type=vehicle_type))


@FAST
@given(plate_like(), vehicle_types)
def test_accepted_plates_reparse_from_compact_and_display(raw, vehicle_type):
    c = check_plate(raw, vehicle_type=vehicle_type)
    texts(c)
    if not c.ok:
        assert c.value is None
        return
    value = c.value
    assert value["kind"] in PLATE_KINDS
    assert re.fullmatch(r"[0-9]{2}[A-ZĐ0-9]+", value["compact"])
    assert value["compact"].startswith(value["province_code"])
    assert int(value["province_code"]) >= 11
    assert int(value["number"]) > 0
    if value["kind"] != "foreign":
        assert value["legacy"] == (len(value["number"]) in (3, 4))
    # The compact form alone is ambiguous only without a deciding vehicle type (29B11234):
    # the kind's own type then decides.
    again_type = vehicle_type if vehicle_type not in (None, "other") else \
        NATURAL_TYPE[value["kind"]]
    again = check_plate(value["compact"], vehicle_type=again_type)
    assert again.ok, (raw, texts(again))
    assert without_plate(again.value) == without_plate(value)
    assert again.value["plate"] == value["compact"]
    shown = check_plate(value["display"], vehicle_type=again_type)
    assert shown.ok and without_plate(shown.value) == without_plate(value)
    assert len(shown.warnings) <= len(c.warnings)


# --------------------------------------------------------------------------------------------
# Chassis and engine numbers

def test_vin_for_cars():
    c = check_vin("1hgcm82633a004352", vehicle_type="car")
    assert c.ok and c.value == "1HGCM82633A004352"
    c = check_vin(" 1HG-CM826 33A004352 ", vehicle_type="truck")
    assert c.ok and c.value == "1HGCM82633A004352"


def test_vin_with_letter_o_is_refused_kindly():
    c = check_vin("1HGCM82633AOO4352", vehicle_type="car")
    assert not c.ok
    message = str(c.error)
    assert "letter O" in message and "digit 0" in message
    assert "1HGCM82633A004352" in message   # the probable VIN is offered
    for letter, digit in (("I", "1"), ("Q", "0")):
        c = check_vin(f"1HGCM82633A{letter}04352", vehicle_type="car")
        assert not c.ok and f"letter {letter}" in str(c.error) and digit in str(c.error)


@pytest.mark.parametrize("raw", ["1HGCM82633A00435", "1HGCM82633A0043521", "1HGCM8263*A0043#2"])
def test_vin_wrong_length_or_characters(raw):
    assert not check_vin(raw, vehicle_type="car").ok


def test_motorbike_frame_numbers_are_free():
    c = check_vin("rlhjf 4802-by*123456*", vehicle_type="motorcycle")
    assert c.ok and c.value == "RLHJF4802BY123456"
    assert check_vin("VDGPCG05 12345", vehicle_type="moped").value == "VDGPCG0512345"
    assert check_vin("OO123", vehicle_type="electric_moped").ok   # O is allowed on frames
    assert not check_vin("1234", vehicle_type="motorcycle").ok
    assert not check_vin("1" * 26, vehicle_type="motorcycle").ok
    assert check_vin("ABC12").ok and check_vin("ABC12", vehicle_type="other").ok


def test_vin_like_frame_with_o_only_warns():
    c = check_vin("RLHJF4802BYO23456", vehicle_type="motorcycle")
    assert c.ok and len(c.warnings) == 1 and "RLHJF4802BY023456" in str(c.warnings[0])


# ISO 3779 check digit (49 CFR 565): only for VINs made for North America (first character
# 1-5); a mismatch warns, never refuses.
GOOD_NA_VINS = ["1HGCM82633A004352", "1M8GDM9AXKP042788"]
_VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


@pytest.mark.parametrize("vin", GOOD_NA_VINS)
def test_known_good_north_american_vins_pass_without_warning(vin):
    assert vin_check_digit(vin) == vin[8]
    for vehicle_type in ("car", "truck", "motorcycle", None):
        assert check_vin(vin, vehicle_type=vehicle_type) == Checked(value=vin)


@pytest.mark.parametrize("vin", ["1HGCM82643A004352", "1HGCM82633A004353",
                                 "1M8GDM9A1KP042788", "2HGCM82633A004352"])
def test_mutated_north_american_vin_warns_but_is_kept(render, vin):
    for vehicle_type in ("car", "motorcycle"):
        c = check_vin(vin, vehicle_type=vehicle_type)
        assert c.ok and c.value == vin
        [warning] = c.warnings
        text = render(warning)
        assert vin[8] in text and vin_check_digit(vin) in text


@pytest.mark.parametrize("vin", ["RLHJC1235KY000001", "RL4FH2R54K5123456", "JHMCM56567C404453",
                                 "KMHDH4AE5CU123456", "WVWZZZ1JZXW000001", "6T1BF3EK0CU123456"])
def test_vins_not_made_for_north_america_are_never_checked(vin):
    assert vin[0] not in "12345"
    assert vin_check_digit(vin) != vin[8]         # it would fail, if it were checked
    assert check_vin(vin, vehicle_type="car") == Checked(value=vin)


@FAST
@given(st.text(_VIN_ALPHABET, min_size=16, max_size=16), st.sampled_from("12345"))
def test_a_vin_with_its_check_digit_never_warns(body, region):
    vin = region + body[:7] + "0" + body[7:15]
    vin = vin[:8] + vin_check_digit(vin) + vin[9:]
    assert check_vin(vin, vehicle_type="car") == Checked(value=vin)


@FAST
@given(st.sampled_from(GOOD_NA_VINS), st.integers(1, 16), st.sampled_from(_VIN_ALPHABET))
def test_any_single_misread_character_of_a_na_vin_warns(vin, position, new):
    """Weights 2-10 and the prime 11: every single substitution that changes the
    transliterated value is caught (A, J and 1 share a value; those cannot be)."""
    values = plates._VIN_VALUES
    assume(position == 8 and new != vin[8] or values[new] != values[vin[position]])
    mutated = vin[:position] + new + vin[position + 1:]
    assume(mutated[0] in "12345")
    c = check_vin(mutated, vehicle_type="car")
    assert c.ok and c.value == mutated and len(c.warnings) == 1


def test_engine_number():
    c = check_engine_no("jf39e-1234567")
    assert c.ok and c.value == "JF39E1234567"
    assert not check_engine_no("JF3").ok
    assert not check_engine_no("JF39E/12345").ok
    assert check_engine_no("  ").value is None


# --------------------------------------------------------------------------------------------
# Licence numbers

def test_pet_licence_number_keeps_leading_zeros():
    c = check_licence_number("001 234 567 890")
    assert c.ok and c.value == {"number": "001234567890", "paper": False,
                                "needs_exchange": False}
    assert check_licence_number(full_width("001234567890")).value["number"] == "001234567890"


@pytest.mark.parametrize("raw, fragment", [
    ("00123456789", "11"), ("0012345678901", "13"), ("0O1234567890", "letter O"),
    ("AB123456", "paper licence"),
])
def test_bad_pet_licence_numbers(raw, fragment):
    c = check_licence_number(raw)
    assert not c.ok and fragment in str(c.error)


def test_paper_licence_number_needs_exchange():
    c = check_licence_number("ab-123 456", paper=True)
    assert c.ok and c.value == {"number": "AB123456", "paper": True, "needs_exchange": True}
    assert len(c.warnings) == 1 and "PET card" in str(c.warnings[0])
    assert not check_licence_number("AB12", paper=True).ok
    assert not check_licence_number("A" * 21, paper=True).ok
    assert not check_licence_number("AB#12345", paper=True).ok
    assert len(check_licence_number("001234567890", paper=True).warnings) == 2


# --------------------------------------------------------------------------------------------
# Licence classes

def test_class_tables():
    assert len(NEW_CLASSES) == len(set(NEW_CLASSES)) == 15
    assert set(OLD_CLASSES) == {"A1", "A2", "A3", "A4", "B1", "B2", "C", "D", "E",
                                "FB2", "FC", "FD", "FE"}


@pytest.mark.parametrize("printed, issued, new_class, note_fragment", [
    ("B2", date(2019, 5, 1), "B", "C1"),
    ("A1", date(2019, 5, 1), "A", "<175 cm³"),
    ("A2", date(2010, 1, 1), "A", None),
    ("A3", date(2010, 1, 1), "B1", None),
    ("A4", date(2010, 1, 1), None, "machinery"),
    ("B1", date(2010, 1, 1), "B", "C1"),
    ("B1 số tự động", date(2020, 1, 1), "B", "automatic only"),
    ("b1 tu dong", date(2020, 1, 1), "B", "automatic only"),
    ("B11", date(2020, 1, 1), "B", "automatic only"),
    ("C", date(2020, 1, 1), "C", "machinery"),
    ("D", date(2020, 1, 1), "D2", "certificate"),
    ("E", date(2020, 1, 1), "D", "certificate"),
    ("FC", date(2020, 1, 1), "CE", "unconfirmed"),
    ("hạng b2", date(2024, 12, 31), "B", "C1"),
    # From 1 Jan 2025 the same codes are the new classes.
    ("A1", date(2025, 1, 1), "A1", None),
    ("B1", date(2025, 6, 1), "B1", None),
    ("D", date(2025, 6, 1), "D", None),
    ("c1e", date(2025, 6, 1), "C1E", None),
])
def test_map_licence_class(printed, issued, new_class, note_fragment):
    result = map_licence_class(printed, issued)
    assert result["new_class"] == new_class
    if note_fragment is None:
        assert result["note"] is None
    else:
        assert note_fragment in result["note"]


@pytest.mark.parametrize("printed, issued", [
    ("BE", date(2019, 1, 1)), ("A", date(2024, 12, 31)), ("B2", date(2025, 1, 1)),
    ("FC", date(2025, 6, 1)), ("X9", date(2020, 1, 1)), ("", date(2020, 1, 1)),
])
def test_map_licence_class_refuses(printed, issued):
    with pytest.raises(ValueError):
        map_licence_class(printed, issued)


def test_licence_expiry():
    assert licence_expiry("C", date(2025, 3, 10)) == date(2030, 3, 10)
    assert licence_expiry("B", date(2025, 3, 10)) == date(2035, 3, 10)
    assert licence_expiry("C1", date(2025, 3, 10)) == date(2035, 3, 10)
    assert licence_expiry("DE", date(2028, 2, 29)) == date(2033, 2, 28)
    for never in ("A1", "A", "B1"):
        assert licence_expiry(never, date(2025, 3, 10)) is None
    with pytest.raises(ValueError):
        licence_expiry("B2", date(2025, 3, 10))


def test_check_licence_old_b2_issued_2019():
    c = check_licence("B2", date(2019, 5, 1), today=TODAY)
    assert c.ok and c.warnings == []
    assert c.value == {"licence_class": "B2", "licence_class_new": "B",
                       "note": c.value["note"], "expires_on": date(2029, 5, 1),
                       "never_expires": False, "expired": False, "old_table": True}
    assert "C1" in c.value["note"]


def test_check_licence_class_c_issued_2025_expires_after_5_years():
    c = check_licence("C", "10/03/2025", today=TODAY)
    assert c.ok and c.value["expires_on"] == date(2030, 3, 10) and not c.value["expired"]
    assert c.value["licence_class_new"] == "C" and not c.value["old_table"]


def test_check_licence_a1_never_expires():
    c = check_licence("A1", date(2025, 3, 10), today=TODAY)
    assert c.ok and c.warnings == []
    assert c.value["expires_on"] is None and c.value["never_expires"]
    assert not c.value["expired"]
    old = check_licence("A1", date(1999, 3, 10), today=TODAY)   # old A1 -> A, no expiry
    assert old.value["never_expires"] and old.value["licence_class_new"] == "A"


def test_expired_licence_is_recorded_with_a_warning():
    c = check_licence("C", date(2015, 1, 1), today=TODAY)
    assert c.ok and c.value["expired"] and c.value["expires_on"] == date(2020, 1, 1)
    assert len(c.warnings) == 1 and "01/01/2020" in str(c.warnings[0])


def test_given_expiry_that_disagrees_warns():
    c = check_licence("B", date(2025, 3, 10), date(2030, 3, 10), today=TODAY)
    assert c.ok and c.value["expires_on"] == date(2030, 3, 10)
    assert len(c.warnings) == 1 and "10/03/2035" in str(c.warnings[0])
    c = check_licence("B", date(2025, 3, 10), "2035-03-10", today=TODAY)
    assert c.ok and c.warnings == []
    c = check_licence("A", date(2025, 3, 10), date(2030, 3, 10), today=TODAY)
    assert c.ok and len(c.warnings) == 1 and "no expiry" in str(c.warnings[0])


def test_old_b1_lasts_until_55_or_60():
    woman = check_licence("B1", date(2010, 2, 1), dob=date(1980, 1, 1), gender="female",
                          today=TODAY)
    assert woman.value["expires_on"] == date(2035, 1, 1)
    man = check_licence("B1", date(2010, 2, 1), dob=date(1980, 1, 1), gender="male",
                        today=TODAY)
    assert man.value["expires_on"] == date(2040, 1, 1)
    older = check_licence("B1", date(2010, 2, 1), dob=date(1955, 1, 1), gender="male",
                          today=TODAY)   # over 50 when issued: 10 years
    assert older.value["expires_on"] == date(2020, 2, 1) and older.value["expired"]
    unknown = check_licence("B1", date(2010, 2, 1), today=TODAY)
    assert unknown.ok and unknown.value["expires_on"] is None
    assert not unknown.value["never_expires"] and len(unknown.warnings) == 1


def test_minimum_age_at_issue_warns():
    c = check_licence("D", date(2025, 2, 1), dob=date(2005, 1, 1), today=TODAY)
    assert c.ok and len(c.warnings) == 1 and "27" in str(c.warnings[0])
    assert check_licence("D", date(2025, 2, 1), dob=date(1990, 1, 1),
                         today=TODAY).warnings == []
    # An old class uses its new equivalent's age: old D -> D2, 24.
    c = check_licence("D", date(2022, 2, 1), dob=date(1999, 1, 1), today=TODAY)
    assert len(c.warnings) == 1 and "24" in str(c.warnings[0])
    c = check_licence("A1", date(2025, 2, 1), dob=date(2007, 2, 2), today=TODAY)
    assert len(c.warnings) == 1 and "18" in str(c.warnings[0])


@pytest.mark.parametrize("args, kwargs, fragment", [
    (("B", date(2026, 6, 2)), {}, "future"),
    (("B", date(2020, 1, 1)), {"dob": date(2021, 1, 1)}, "born"),
    (("B", None), {}, "date of issue"),
    (("B", "31/02/2025"), {}, "date of issue"),
    (("", date(2025, 3, 1)), {}, "class"),
    (("BE", date(2019, 1, 1)), {}, "2024 law"),
    (("B2", date(2025, 3, 1)), {}, "old class"),
    (("Z", date(2025, 3, 1)), {}, "not a licence class"),
    (("B", date(2025, 3, 1), date(2024, 3, 1)), {}, "before the date of issue"),
    (("B", date(2025, 3, 1), "soon"), {}, "expiry date"),
])
def test_check_licence_errors(args, kwargs, fragment):
    c = check_licence(*args, **kwargs, today=TODAY)
    assert not c.ok and c.value is None and fragment in str(c.error)


def test_licence_messages_render_in_a_request(render):
    for c in (check_licence("D", date(2025, 2, 1), dob=date(2005, 1, 1), today=TODAY),
              check_licence("BE", date(2019, 1, 1), today=TODAY),
              check_licence_number("AB123456", paper=True)):
        assert all(render(m) for m in [c.error, *c.warnings] if m)


# --------------------------------------------------------------------------------------------
# No string input ever raises

@FAST
@given(st.text(), st.sampled_from((None, "car", "motorcycle", "other", "bogus")))
def test_check_vin_never_raises(raw, vehicle_type):
    c = check_vin(raw, vehicle_type=vehicle_type)
    assert c.value is None or (c.ok and isinstance(c.value, str))
    texts(c)


@FAST
@given(st.text())
def test_check_engine_no_never_raises(raw):
    texts(check_engine_no(raw))


@FAST
@given(st.text(), st.booleans())
def test_check_licence_number_never_raises(raw, paper):
    c = check_licence_number(raw, paper=paper)
    texts(c)
    if c.value is not None:
        assert isinstance(c.value["number"], str)


dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
class_texts = st.sampled_from(NEW_CLASSES + OLD_CLASSES + ("B1 số tự động", "B11")) | st.text()


@FAST
@given(class_texts, dates | st.text(max_size=12) | st.none(),
       st.none() | dates | st.text(max_size=12), st.none() | dates | st.text(max_size=12),
       st.sampled_from([None, "male", "female", "x"]))
def test_check_licence_never_raises(printed, issued, expires, dob, gender):
    c = check_licence(printed, issued, expires, dob=dob, gender=gender, today=TODAY)
    texts(c)
    if c.ok:
        assert c.value["licence_class_new"] in (*NEW_CLASSES, None)
        assert c.value["expired"] == (c.value["expires_on"] is not None
                                      and c.value["expires_on"] < TODAY)
