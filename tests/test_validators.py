"""wardkit.validators and wardkit.names: CCCD, phone, date of birth and name checks
(docs/DOMAIN-RULES.md#citizen-id, #phones, #names)."""
import re
import unicodedata
from datetime import date, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from wardkit import clock
from wardkit.text import fold
from wardkit.names import check_name
from wardkit.validators import (
    OLD_MOBILE_PREFIXES, PROVINCE_CODES, Checked, check_cccd, check_dob, check_phone,
    decode_cccd, normalize_digits,
)

FAST = settings(max_examples=200, deadline=None)
TODAY = date(2026, 6, 1)
OLDEST = date(1905, 6, 2)        # 120 years old on TODAY; a day earlier is 121


@pytest.fixture(scope="module")
def render(tmp_path_factory):
    """Return a function that renders a lazy message in English (the msgids; the
    Vietnamese catalogue's completeness is tests/test_i18n.py's job)."""
    from tests.conftest import TEST_CONFIG
    from wardkit import create_app
    app = create_app({**TEST_CONFIG,
                      "DATABASE": str(tmp_path_factory.mktemp("render") / "unused.db")})

    def render(message):
        from flask_babel import force_locale
        with app.test_request_context(), force_locale("en"):
            return str(message)
    return render


def full_width(text):
    """Return `text` with ASCII digits turned into full-width digits (some IMEs, OCR)."""
    return "".join(chr(ord(ch) + 0xFEE0) if ch.isdigit() else ch for ch in text)


# --------------------------------------------------------------------------------------------
# Checked and normalize_digits

def test_checked_ok():
    assert Checked().ok and Checked(value=1, warnings=["w"]).ok
    assert not Checked(error="e").ok
    assert Checked().warnings == [] and Checked().warnings is not Checked().warnings


@pytest.mark.parametrize("raw, digits", [
    ("001 087 123 456", "001087123456"), ("001.087.123.456", "001087123456"),
    ("001-087–123—456", "001087123456"), (full_width("001087123456"), "001087123456"),
    ("0912\u00a0345\u200b678", "0912345678"), ("+84 (912)", "+84(912)"), (None, ""),
])
def test_normalize_digits(raw, digits):
    assert normalize_digits(raw) == digits


# --------------------------------------------------------------------------------------------
# CCCD

def test_province_codes_are_the_63_of_circular_07_2016():
    assert len(PROVINCE_CODES) == 63
    assert all(len(code) == 3 and code.isdigit() for code in PROVINCE_CODES)
    assert PROVINCE_CODES["001"] == "Hà Nội" and PROVINCE_CODES["079"] == "Hồ Chí Minh"
    assert PROVINCE_CODES["024"] == "Bắc Giang"   # legacy code, not the merged Bắc Ninh
    assert PROVINCE_CODES["046"] == "Thừa Thiên Huế" and PROVINCE_CODES["096"] == "Cà Mau"
    assert "003" not in PROVINCE_CODES and "005" not in PROVINCE_CODES


@pytest.mark.parametrize("number, gender, year", [
    ("001087123456", "male", 1987),
    ("001187123456", "female", 1987),
    ("001203012345", "male", 2003),
])
def test_domain_test_vectors_valid(number, gender, year):
    assert decode_cccd(number) == {"province": "Hà Nội", "year": year, "gender": gender}
    result = check_cccd(number, dob=date(year, 5, 1), gender=gender, today=TODAY)
    assert result == Checked(value=number)


@pytest.mark.parametrize("number", ["003087123456", "0010871234567", "00108712345a",
                                    "00108712345", "123456789", "0O1087123456"])
def test_domain_test_vectors_invalid(number):
    result = check_cccd(number, today=TODAY)
    assert not result.ok and result.value is None


@pytest.mark.parametrize("raw", [None, "", "   ", "\u200b"])
def test_cccd_is_optional(raw):
    assert check_cccd(raw) == Checked()


def test_cccd_decoded_birth_year_in_the_future_is_an_error():
    assert not check_cccd("001287123456", today=TODAY).ok      # 2087
    assert not check_cccd("001887123456", today=TODAY).ok      # 2387 (vn-ident accepts it)
    assert check_cccd("001226123456", today=TODAY).ok          # 2026: born this year
    assert not check_cccd("001227123456", today=TODAY).ok      # 2027


def test_cccd_more_than_120_years_ago_without_dob_is_a_warning():
    result = check_cccd("001005123456", today=TODAY)           # 1905
    assert result.ok and len(result.warnings) == 1


def test_cccd_sex_mismatch_is_a_warning():
    result = check_cccd("001087123456", gender="female", today=TODAY)
    assert result.ok and result.value == "001087123456" and len(result.warnings) == 1
    result = check_cccd("001187123456", gender="male", today=TODAY)
    assert result.ok and len(result.warnings) == 1


def test_cccd_rejects_unknown_gender_values():
    with pytest.raises(ValueError):
        check_cccd("001087123456", gender="M")


def test_decode_cccd_rejects_malformed_numbers():
    with pytest.raises(ValueError):
        decode_cccd("00108712345")
    assert decode_cccd("003087123456")["province"] is None


@st.composite
def people(draw):
    """Return (number, dob, gender) for a consistent, valid ID number."""
    dob = draw(st.dates(min_value=OLDEST, max_value=TODAY))
    gender = draw(st.sampled_from(["male", "female"]))
    province = draw(st.sampled_from(sorted(PROVINCE_CODES)))
    digit = (dob.year // 100 - 19) * 2 + (gender == "female")
    tail = draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    return f"{province}{digit}{dob.year % 100:02d}{tail}", dob, gender


@FAST
@given(people(), st.sampled_from([" ", ".", "-", "  ", "\u00a0"]), st.booleans())
def test_any_consistent_cccd_is_accepted_without_warnings(person, sep, wide):
    number, dob, gender = person
    assert check_cccd(number, dob=dob, gender=gender, today=TODAY) == Checked(value=number)
    typed = sep.join([number[:3], number[3:6], number[6:]])
    if wide:
        typed = full_width(typed)
    assert check_cccd(typed, dob=dob, gender=gender, today=TODAY).value == number
    assert decode_cccd(typed) == {"province": PROVINCE_CODES[number[:3]], "year": dob.year,
                                  "gender": gender}


@FAST
@given(people())
def test_cccd_whose_century_disagrees_with_the_dob_warns(render, person):
    number, dob, gender = person
    other_century = 1900 if dob.year >= 2000 else 2000
    assume(other_century + dob.year % 100 <= TODAY.year)
    flipped_digit = (other_century // 100 - 19) * 2 + (gender == "female")
    wrong = number[:3] + str(flipped_digit) + number[4:]
    result = check_cccd(wrong, dob=dob, gender=gender, today=TODAY)
    assert result.ok and result.value == wrong
    assert len(result.warnings) == 1
    text = render(result.warnings[0])
    assert str(other_century + dob.year % 100) in text and str(dob.year) in text


@FAST
@given(people(), st.integers(0, 999))
def test_unknown_prefix_is_an_error_unless_born_abroad(person, prefix):
    code = f"{prefix:03d}"
    assume(code not in PROVINCE_CODES)
    number, dob, gender = person
    abroad = code + number[3:]
    assert not check_cccd(abroad, dob=dob, gender=gender, today=TODAY).ok
    assert check_cccd(abroad, dob=dob, gender=gender, born_abroad=True,
                      today=TODAY) == Checked(value=abroad)


# --------------------------------------------------------------------------------------------
# Phones

@pytest.mark.parametrize("raw", [
    "0912345678", "0912 345 678", "0912.345.678", "0912-345-678", "+84912345678",
    "+84 912 345 678", "84 912 345 678", "84912345678", "0084 912 345 678",
    "+84 (0) 912 345 678", "(+84) 912-345-678", full_width("0912 345 678"), " 0912345678 ",
])
def test_phone_formats_store_the_same_number(raw):
    assert check_phone(raw) == Checked(value="0912345678")


def test_hanoi_landline():
    assert check_phone("0243.942.4451") == Checked(value="02439424451")
    assert check_phone("(024) 3942 4451") == Checked(value="02439424451")
    assert not check_phone("3942 4451").ok       # no area code
    assert not check_phone("0241234567").ok      # a landline has 11 digits


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_phone_is_optional(raw):
    assert check_phone(raw) == Checked()


@pytest.mark.parametrize("raw", [
    "abc", "0912 345 67a", "0912345678 / 0987654321", "0912", "0912 345 67",
    "0912 345 6789", "+84", "+1 202 555 0100", "1900 1234", "1800 1234", "0123456789",
    "12345678901234567890",
])
def test_bad_phones_are_errors(raw):
    result = check_phone(raw)
    assert not result.ok and result.value is None


def test_possible_but_unknown_phone_is_a_warning():
    result = check_phone("0521234567")      # 052: valid only in some sub-ranges
    assert result.ok and result.value == "0521234567" and len(result.warnings) == 1


@pytest.mark.parametrize("old, new", sorted(OLD_MOBILE_PREFIXES.items()))
def test_old_11_digit_mobile_names_the_new_number(app, old, new):
    result = check_phone(old + "1234567")
    assert not result.ok
    with app.test_request_context():
        message = str(result.error)
    assert old in message and new + "1234567" in message


def test_old_mobile_table_matches_the_domain():
    assert len(OLD_MOBILE_PREFIXES) == 21
    assert OLD_MOBILE_PREFIXES["0166"] == "036" and OLD_MOBILE_PREFIXES["0162"] == "032"
    assert OLD_MOBILE_PREFIXES["0120"] == "070" and OLD_MOBILE_PREFIXES["0199"] == "059"
    assert not check_phone("+84 166 123 4567").ok


@FAST
@given(st.sampled_from("35789"), st.text(alphabet="0123456789", min_size=8, max_size=8),
       st.sampled_from(["", " ", ".", "-"]), st.sampled_from(["0", "+84", "84", "0084"]),
       st.booleans())
def test_any_mobile_number_stores_ten_digits_or_fails_cleanly(first, rest, sep, prefix,
                                                               wide):
    digits = "0" + first + rest
    typed = prefix + sep.join([digits[1:3], digits[3:6], digits[6:]])
    if wide:
        typed = full_width(typed)
    result = check_phone(typed)
    if result.ok:
        assert result.value == digits
        assert len(result.value) == 10 and result.value.isascii()
    else:
        assert result.error and result.value is None


@FAST
@given(st.text(max_size=30))
def test_phone_never_raises(raw):
    result = check_phone(raw)
    assert result.ok or result.value is None
    if result.value is not None:
        assert result.value.isascii() and result.value.isdigit()
        assert result.value.startswith("0")


# --------------------------------------------------------------------------------------------
# Dates of birth

@pytest.mark.parametrize("raw", ["25/03/1987", "25/3/1987", "5/3/1987", "25-03-1987",
                                 "25.03.1987", "1987-03-25", " 25 / 03 / 1987 ",
                                 full_width("25/03/1987"), date(1987, 3, 25)])
def test_dob_formats(raw):
    expected = date(1987, 3, 5) if raw == "5/3/1987" else date(1987, 3, 25)
    assert check_dob(raw, today=TODAY) == Checked(value=expected)


@pytest.mark.parametrize("raw", [
    None, "", "  ", "30/02/1990", "31/02/1990", "29/02/2023", "31/04/2000", "0/1/2000",
    "1/13/1987", "25/03/87", "25/3/987", "25/03/19870", "1987", "25/03-1987",
    "hôm qua", "02/06/2026", "01/01/2099", "01/06/1905", "0000-01-01", "2026-02-30",
])
def test_bad_dob_is_an_error(raw):
    result = check_dob(raw, today=TODAY)
    assert not result.ok and result.value is None


def test_dob_edges():
    assert check_dob("29/02/2024", today=TODAY).value == date(2024, 2, 29)
    assert check_dob("01/06/2026", today=TODAY).value == TODAY            # born today
    assert check_dob("02/06/1905", today=TODAY).value == OLDEST            # 120 years old
    assert not check_dob("01/06/1905", today=TODAY).ok                     # 121 years old
    assert not check_dob("31/12/1904", today=TODAY).ok


def test_two_digit_year_asks_for_four_digits(render):
    assert "four digits" in render(check_dob("25/3/87", today=TODAY).error)


@FAST
@given(st.dates(min_value=OLDEST, max_value=TODAY),
       st.sampled_from(["{d:02d}/{m:02d}/{y}", "{d}/{m}/{y}", "{d:02d}-{m:02d}-{y}",
                        "{d:02d}.{m:02d}.{y}", "{y}-{m:02d}-{d:02d}"]))
def test_any_plausible_dob_round_trips(born, pattern):
    raw = pattern.format(d=born.day, m=born.month, y=born.year)
    assert check_dob(raw, today=TODAY) == Checked(value=born)


def test_dob_defaults_to_today():
    assert check_dob(clock.today().strftime("%d/%m/%Y")).ok
    assert not check_dob((clock.today() + timedelta(days=1)).strftime("%d/%m/%Y")).ok


# --------------------------------------------------------------------------------------------
# Names

@pytest.mark.parametrize("raw", [
    "Nguyễn Văn An", "  Nguyễn   Văn\tAn ", "Nguyễn\u200d Văn An", "\ufeffNguyễn Văn\u200b An",
    unicodedata.normalize("NFD", "Nguyễn Văn An"), "Nguyễn\x00 Văn\u00a0An",
    "Nguye\u200b\u0302\u0303n Văn An",
])
def test_names_come_out_nfc_and_clean(raw):
    assert check_name(raw) == Checked(value="Nguyễn Văn An")


def test_name_keeps_the_case_as_typed():
    assert check_name("NGUYỄN VĂN A").value == "NGUYỄN VĂN A"
    assert check_name("nguyễn văn a").value == "nguyễn văn a"


def test_name_length_is_counted_in_nfc():
    name = "Nguyễn Thị Hồng Đào"                     # 19 code points in NFC, 25 in NFD
    assert check_name(unicodedata.normalize("NFD", name), max_length=19).value == name
    assert not check_name("Ư" * 101).ok
    assert check_name("Ư" * 100).value == "Ư" * 100
    assert not check_name("a" * 21, max_length=20).ok


@pytest.mark.parametrize("raw", [None, "", "   ", "\u200b\u200d"])
def test_empty_name(raw):
    assert not check_name(raw).ok
    assert check_name(raw, required=False) == Checked()


# Civil Code 2015 art. 26: a name is not made of digits or of characters that are not
# letters, so these are errors (nothing saved), no longer warnings.
@pytest.mark.parametrize("raw, char", [
    ("Nguyễn Văn 2", "2"), ("Nguyễn Văn Hùng3", "3"), ("Lê Thị \uff12", "\uff12"),
    ("Trần Văn A²", "²"), ("Trần ① Lan", "①"),
])
def test_digits_in_a_name_are_an_error_naming_the_digit(render, raw, char):
    result = check_name(raw)
    assert not result.ok and result.value is None and result.warnings == []
    assert f"“{char}”" in render(result.error) and "digits" in render(result.error)


@pytest.mark.parametrize("raw, char", [
    ("Lan 😀 Trần", "😀"), ("Trần Thị Lan ❤️", "❤"), ("<b>Trần</b> Lan", "<"),
    ("Nguyễn Văn A.", "."), ("Trần (Lan) Thị", "("), ("Lê Văn Tám, Hùng", ","),
    ("Lê@Văn Tám", "@"), ("Phạm Thị Mai 🇻🇳", "\U0001f1fb"), ("Lê_Văn", "_"),
])
def test_symbols_emoji_and_markup_in_a_name_are_an_error(render, raw, char):
    result = check_name(raw)
    assert not result.ok and result.value is None
    text = render(result.error)
    assert f"“{char}”" in text and "symbols" in text


@pytest.mark.parametrize("raw, char, script", [
    ("\u0410nh Nguyễn", "\u0410", "Cyrillic"),           # Cyrillic А, looks like A
    ("Nguyễn V\u0430n An", "\u0430", "Cyrillic"),       # Cyrillic а
    ("\u039f\u0391NH Lê", "\u039f", "Greek"),            # Greek Ο
    ("Søren Kim", "ø", "Latin letter not used in Vietnamese"),
    ("Nguy\u0251n An", "\u0251", "Latin letter not used in Vietnamese"),   # IPA ɑ
    ("\uff2cê Văn", "\uff2c", "full-width"),
    ("阮 Văn An", "阮", "Chinese"),
])
def test_letters_of_other_scripts_are_refused_naming_the_character(render, raw, char, script):
    result = check_name(raw)
    assert not result.ok
    text = render(result.error)
    assert f"“{char}”" in text and script in text and "Vietnamese keyboard" in text


def test_typed_input_quoted_in_a_message_is_escaped_on_a_page_and_plain_elsewhere(app):
    from flask import render_template_string
    raw = '<svg/onload="alert(1)">Lan Trần'
    with app.test_request_context():
        error = check_name(raw).error
        html = render_template_string("<p>{{ e }}</p><p>{{ [e]|join(' ') }}</p>", e=error)
        text = str(error)
    assert "<svg" not in html
    assert html.count("“&lt;svg/onload=&#34;alert(1)&#34;&gt;Lan”") == 2
    assert '“<svg/onload="alert(1)">Lan”' in text


def test_the_other_script_message_in_vietnamese(app):
    from flask_babel import force_locale
    with app.test_request_context(), force_locale("vi"):
        text = str(check_name("\u0410nh Nguyễn").error)
    assert text == ("Ký tự “\u0410” (chữ Kirin) trong “\u0410nh” không phải chữ cái tiếng "
                    "Việt — hãy gõ lại bằng bàn phím tiếng Việt.")


@pytest.mark.parametrize("raw, stored", [
    ("\u00d0ẶNG THỊ \u00d0ÀO", "ĐẶNG THỊ ĐÀO"),    # Windows-1258 read as Windows-1252
    ("\u00d0ặng Thị \u00f0ào", "Đặng Thị đào"),
    ("\u0189ỗ Văn \u0256ức", "Đỗ Văn đức"),         # African D
])
def test_d_lookalikes_are_stored_as_d_stroke(raw, stored):
    result = check_name(raw)
    assert result == Checked(value=stored)
    assert fold(result.value).startswith("d")


@pytest.mark.parametrize("raw, stored", [
    ("H'Hen Niê", "H'Hen Niê"), ("K\u2019Long Ha", "K'Long Ha"),     # iOS curly apostrophe
    ("Ksor H\u02bcBia", "Ksor H'Bia"), ("Y-Moan Ênuôl", "Y-Moan Ênuôl"),
    ("Y\u2010Moan Ênuôl", "Y-Moan Ênuôl"), ("Niê Kđăm Y Ngông", "Niê Kđăm Y Ngông"),
    ("Byă Ŏ\u0302n", "Byă Ŏ\u0302n"),                  # ô̆ (Ê Đê) has no precomposed form
    ("Müller Hans", "Müller Hans"), ("José García", "José García"),
    ("Hoàng Phủ Ngọc Tường", "Hoàng Phủ Ngọc Tường"),
])
def test_names_of_ethnic_minorities_and_foreign_residents_pass(raw, stored):
    result = check_name(raw)
    assert result == Checked(value=unicodedata.normalize("NFC", stored))


@pytest.mark.parametrize("raw, word", [
    ("-Trần Văn", "-Trần"), ("Trần - Văn", "-"), ("Trần--Văn Lê", "Trần--Văn"),
    ("K' Long", "K'"), ("Lan' Trần", "Lan'"), ("Trần Văn Lan-", "Lan-"),
])
def test_hyphen_or_apostrophe_outside_a_word_is_an_error(render, raw, word):
    result = check_name(raw)
    assert not result.ok and f"“{word}”" in render(result.error)
    assert "hyphen" in render(result.error)


@pytest.mark.parametrize("raw", ["Nguyễn \u0301An", "Nguyễn A\u0301\u0300\u0303\u0309n"])
def test_accent_without_a_letter_or_piled_up_is_an_error(render, raw):
    result = check_name(raw)
    assert not result.ok and "accent mark" in render(result.error)


@pytest.mark.parametrize("raw", ["An", "Hùng", "NGUYỄN", "Y-Moan"])
def test_one_word_name_is_a_warning(render, raw):
    result = check_name(raw)
    assert result.ok and result.value == raw
    [warning] = result.warnings
    assert "only one word" in render(warning)


@pytest.mark.parametrize("raw, syllable", [
    ("Hoàá Trần", "Hoàá"), ("Nguyễn Bố\u0300 An", "Bố\u0300"),
    ("Lê Thi\u0323\u0300 Lan", "Thị\u0300"), ("Y-Móàn Ênuôl", "Móàn"),
])
def test_syllable_with_two_tone_marks_is_a_warning(render, raw, syllable):
    result = check_name(raw)
    assert result.ok and result.value == unicodedata.normalize("NFC", raw)
    [warning] = result.warnings
    assert f"“{unicodedata.normalize('NFC', syllable)}”" in render(warning)
    assert "two tone marks" in render(warning)


@pytest.mark.parametrize("raw", ["Nguyễn Thị Hồng Đào", "Hoà Bình Lê", "Hòa Lê", "Ngô Quyền",
                                 "Thuý Kiều", "Nguyễn Thị Ánh Tuyết"])
def test_one_tone_per_syllable_gives_no_warning(raw):
    assert check_name(raw) == Checked(value=raw)


def test_organisation_owner_may_hold_digits_only_when_allowed(render):
    owner = "Công ty TNHH Vận tải số 789 (Hà Nội)"
    assert check_name(owner, organisation_ok=True) == Checked(value=owner)
    assert check_name("HTX Vận tải 19/5", organisation_ok=True).ok
    assert not check_name(owner).ok                     # a resident is never a company
    assert not check_name("Nguyễn Văn 789", organisation_ok=True).ok
    assert not check_name("Công ty \u0410BC", organisation_ok=True).ok
    assert not check_name("Công ty 😀", organisation_ok=True).ok


# What any accepted name is made of: letters that fold to a-z, space, hyphen, apostrophe.
_FOLDED_NAME = re.compile(r"[a-z]+(?:['-][a-z]+)*(?: [a-z]+(?:['-][a-z]+)*)*")


@FAST
@given(st.text(max_size=60))
def test_every_accepted_name_folds_to_plain_latin_letters(raw):
    """Search and the duplicate check fold names; an accepted name always folds to a-z,
    so it is found by a search typed without accents."""
    result = check_name(raw)
    if result.ok and result.value is not None:
        assert _FOLDED_NAME.fullmatch(fold(result.value)), result.value


_SYLLABLE_LETTERS = st.sampled_from(sorted("aăâbcdđeêghiklmnoôơpqrstuưvxy"
                                            "ÀÁẢÃẠàáảãạẰẮẲẴẶằắẳẵặỀẾỂỄỆềếểễệọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"))
_VIET_WORD = st.text(_SYLLABLE_LETTERS, min_size=1, max_size=7)
_VIET_NAME = st.lists(_VIET_WORD, min_size=2, max_size=5).map(" ".join)
_BAD_CHARACTER = st.one_of(
    st.characters(categories=["Nd", "No"]),                    # digits of any script
    st.characters(min_codepoint=0x400, max_codepoint=0x4ff, categories=["Lu", "Ll"]),
    st.characters(min_codepoint=0x370, max_codepoint=0x3ff, categories=["Lu", "Ll"]),
    st.characters(categories=["So", "Sm", "Sc"]),              # emoji, symbols
    st.sampled_from("<>&\"!?.,;:()[]{}/\\|@#$%^*_=+~`"),
)


@FAST
@given(_VIET_NAME)
def test_vietnamese_letters_always_pass(name):
    assert check_name(name).ok


@FAST
@given(_VIET_NAME, _BAD_CHARACTER, st.integers(min_value=0))
def test_a_digit_symbol_or_foreign_letter_anywhere_is_refused(name, bad, at):
    at %= len(name) + 1
    result = check_name(name[:at] + bad + name[at:])
    assert not result.ok and result.value is None


@FAST
@given(st.text(max_size=120))
def test_name_value_is_always_clean_nfc(raw):
    result = check_name(raw)
    if result.value is not None:
        assert unicodedata.is_normalized("NFC", result.value)
        assert result.value == result.value.strip() and "  " not in result.value
        assert 0 < len(result.value) <= 100


# --------------------------------------------------------------------------------------------
# Messages

def all_messages():
    results = [
        check_cccd("00108712345a"), check_cccd("123456789"), check_cccd("00108712345"),
        check_cccd("003087123456"), check_cccd("001987123456", today=TODAY),
        check_cccd("001005123456", today=TODAY),
        check_cccd("001087123456", dob=date(1988, 1, 1), gender="female", today=TODAY),
        check_cccd("001187123456", gender="male", today=TODAY),
        check_phone("abc"), check_phone("+84"), check_phone("+1 202 555 0100"),
        check_phone("01661234567"), check_phone("1900 1234"), check_phone("0123456789"),
        check_phone("3942 4451"), check_phone("0912 345 67"), check_phone("0241234567"),
        check_phone("0912"), check_phone("12345678901234567890"), check_phone("0521234567"),
        check_dob(""), check_dob("25/3/87"), check_dob("25/3/987"), check_dob("1987"),
        check_dob("1/13/1987"), check_dob("31/02/1990"), check_dob("01/01/2099"),
        check_dob("01/01/1800"), check_dob("01/01/1901", today=TODAY),
        check_name(""), check_name("x" * 101), check_name("Văn 2"), check_name("Lan 😀"),
        check_name("\u0410nh Lê"), check_name("Lan' Lê"), check_name("Lê \u0301An"),
        check_name("An"), check_name("Hoàá Lê"),
    ]
    messages = []
    for result in results:
        assert result.error is not None or result.warnings, result
        messages += ([result.error] if result.error is not None else []) + result.warnings
    return messages


def test_messages_are_specific_non_empty_strings(app):
    messages = all_messages()
    with app.test_request_context():
        texts = [str(m) for m in messages]
    for text in texts:
        assert isinstance(text, str) and len(text) > 20, text
        assert "%(" not in text and "%s" not in text, text
    assert len(set(texts)) == len(texts), "two different problems share one message"


def test_dob_from_a_numeric_keypad():
    """Tablets show a numeric keypad for the date field; it has no "/"."""
    from datetime import date as _date
    from wardkit.validators import check_dob
    checked = check_dob("15081990", today=_date(2026, 11, 23))
    assert checked.ok and checked.value == _date(1990, 8, 15)
    assert check_dob("25 03 1987", today=_date(2026, 11, 23)).value == _date(1987, 3, 25)


@given(st.sampled_from("35789"), st.text(alphabet="0123456789", min_size=8, max_size=8))
@settings(max_examples=300)
def test_mobile_fast_path_agrees_with_phonenumbers(second, rest):
    """The cached per-prefix validity of 10-digit mobiles equals a full phonenumbers check."""
    import phonenumbers
    number = "0" + second + rest
    full = phonenumbers.is_valid_number(phonenumbers.parse(number, "VN"))
    checked = check_phone(number)
    assert checked.ok and checked.value == number
    assert (checked.warnings == []) is full
