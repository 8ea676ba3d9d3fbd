"""wardkit.text: search folding, clean lines, name splitting and the Vietnamese sort key."""
import random
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wardkit.text import clean_line, fold, sort_key, split_name

FAST = settings(max_examples=200, deadline=None)

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
TONES = ("", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323")
VOWELS = "aăâeêioôơuưy"
CONSONANTS = "bcdđghklmnpqrstvxfjwz"
LETTERS = sorted(
    {unicodedata.normalize("NFC", v + t) for v in VOWELS for t in TONES} | set(CONSONANTS))
LETTERS += [ch.upper() for ch in LETTERS]
# What pastes in from chat apps, spreadsheets and OCR: odd spaces, zero-width and control
# characters.
NOISE = [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\x00", "\x07", "\x1b", "\x7f",
         "\u00ad", *ZERO_WIDTH]

words = st.text(alphabet=LETTERS, min_size=1, max_size=7)
names = st.lists(words, min_size=1, max_size=5).map(" ".join)


@st.composite
def pasted(draw):
    """Vietnamese text with noise between characters, in NFC or NFD (noise never sits
    between a letter and its combining marks: see the two regression tests below)."""
    pieces = draw(st.lists(st.sampled_from(LETTERS) | st.sampled_from(NOISE), max_size=40))
    form = draw(st.sampled_from(["NFC", "NFD"]))
    return unicodedata.normalize(form, "".join(pieces))


def has_mark(text):
    return any(unicodedata.category(ch).startswith("M") for ch in text)


# --------------------------------------------------------------------------------------------
# fold

@FAST
@given(st.text())
def test_fold_ignores_normal_form_and_drops_all_marks(text):
    folded = fold(text)
    assert fold(unicodedata.normalize("NFD", text)) == folded
    assert fold(unicodedata.normalize("NFC", text)) == folded
    assert not any(unicodedata.category(ch) == "Mn" for ch in folded)
    assert "đ" not in folded and "Đ" not in folded


@FAST
@given(pasted())
def test_fold_of_pasted_text_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@pytest.mark.parametrize("a, b", [("Hoà", "Hòa"), ("Thuý", "Thúy"), ("Khoẻ", "Khỏe"),
                                  ("NGUYỄN", "nguyen"), ("Đoàn", "Doãn")])
def test_fold_merges_variants(a, b):
    assert fold(a) == fold(b)


def test_fold_examples():
    assert fold("Đoàn") == "doan"
    assert fold("Nguyễn Thị Hồng Đào") == "nguyen thi hong dao"
    assert fold(unicodedata.normalize("NFD", "Nguyễn Thị Hồng Đào")) == "nguyen thi hong dao"
    assert fold(None) == ""


def test_fold_is_idempotent_with_a_stray_combining_mark():
    assert fold(fold("An \u0300")) == fold("An \u0300")


# --------------------------------------------------------------------------------------------
# clean_line

@FAST
@given(st.text())
def test_clean_line_leaves_no_invisible_characters_or_double_spaces(text):
    line = clean_line(text)
    assert not any(ch in ZERO_WIDTH or unicodedata.category(ch)[0] == "C" for ch in line)
    assert all(ch == " " or not ch.isspace() for ch in line)
    assert "  " not in line and line == line.strip()


@FAST
@given(pasted())
def test_clean_line_is_idempotent_and_nfc(text):
    line = clean_line(text)
    assert clean_line(line) == line
    assert unicodedata.is_normalized("NFC", line)
    assert clean_line(unicodedata.normalize("NFD", text)) == line


def test_clean_line_examples():
    assert clean_line("  Nguyễn\u200b  Văn\t\nAn\ufeff ") == "Nguyễn Văn An"
    assert clean_line(unicodedata.normalize("NFD", "Hồng Đào")) == "Hồng Đào"
    assert clean_line(None) == ""


def test_clean_line_is_nfc_when_an_invisible_character_splits_a_letter_from_its_mark():
    assert clean_line("e\u200b\u0301") == "é"


@pytest.mark.parametrize("raw, clean", [
    ("\u00d0ặng Thị \u00d0ào", "Đặng Thị Đào"),      # Đ of Windows-1258 read as Windows-1252
    ("Ph\u00f0\u00f0", "Phđđ"), ("\u0189ỗ \u0256ức", "Đỗ đức"),
    ("Số 5, \u00d0ội Cấn", "Số 5, Đội Cấn"),
])
def test_clean_line_reads_d_lookalikes_as_d_stroke(raw, clean):
    assert clean_line(raw) == clean


@pytest.mark.parametrize("lookalike", ["\u00d0", "\u00f0", "\u0189", "\u0256"])
def test_fold_of_a_d_lookalike_is_d(lookalike):
    """A name stored before the mapping, or a query typed with it, still meets "d"."""
    assert fold(f"{lookalike}ặng Văn An") == "dang van an" == fold("Đặng Văn An")


@FAST
@given(st.text())
def test_clean_line_never_leaves_a_d_lookalike(text):
    assert not set(clean_line(text)) & set("\u00d0\u00f0\u0189\u0256")


# --------------------------------------------------------------------------------------------
# split_name

@pytest.mark.parametrize("full, parts", [
    ("Nguyễn Trãi", ("Nguyễn", "", "Trãi")),
    ("Phạm Bình Minh", ("Phạm", "Bình", "Minh")),        # given name "Bình Minh": heuristic
    ("Hoàng Phủ Ngọc Tường", ("Hoàng", "Phủ Ngọc", "Tường")),   # family "Hoàng Phủ"
    ("Nguyễn Văn Quyết", ("Nguyễn", "Văn", "Quyết")),
    ("  NGUYỄN\u200b  VĂN   A ", ("NGUYỄN", "VĂN", "A")),
    ("Sơn", ("", "", "Sơn")),
    ("", ("", "", "")),
    (None, ("", "", "")),
])
def test_split_name(full, parts):
    assert split_name(full) == parts


@FAST
@given(names)
def test_split_name_keeps_every_word(name):
    family, middle, given_name = split_name(name)
    assert " ".join(p for p in (family, middle, given_name) if p) == clean_line(name)


# --------------------------------------------------------------------------------------------
# sort_key

WARD_LIST = ["Lê Thị An", "Nguyễn Thị An", "Nguyễn Văn An", "Trần Thị Ánh", "Ngô Thị Ăn",
             "Hoàng Văn Ân", "Đặng Thị Bình", "Phạm Văn Dũng", "Lê Văn Đức", "Bùi Thị Zung"]


@FAST
@given(st.permutations(WARD_LIST))
def test_sort_key_orders_the_domain_example(shuffled):
    assert sorted(shuffled, key=sort_key) == WARD_LIST


def test_plain_sorting_gets_the_domain_example_wrong():
    """The reason sort_key exists (docs/DOMAIN-RULES.md#sorting-and-search)."""
    assert sorted(["Zung", "Ánh", "Đặng", "Trần"]) == ["Trần", "Zung", "Ánh", "Đặng"]
    assert sorted(["Zung", "Ánh", "Đặng", "Trần"], key=sort_key) == [
        "Ánh", "Đặng", "Trần", "Zung"]


def test_sort_key_letter_order():
    alphabet = "a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y".split()
    shuffled = alphabet[:]
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled, key=sort_key) == alphabet
    assert sorted(["Zan", "Wan", "Van", "Xan", "Yan", "Jan", "Ian", "Kan", "Fan", "Êan",
                   "Ean", "Gan"], key=sort_key) == [
        "Ean", "Êan", "Fan", "Gan", "Ian", "Jan", "Kan", "Van", "Wan", "Xan", "Yan", "Zan"]


def test_sort_key_d_stroke_sorts_between_d_and_e():
    given_names = ["Em", "Đặng", "Dũng", "Dương", "Duy", "Đào", "Dao"]
    assert sorted(given_names, key=sort_key) == [
        "Dao", "Dũng", "Duy", "Dương", "Đào", "Đặng", "Em"]
    families = ["Trần", "Lê", "Đặng", "Bùi", "Hoàng", "Dương", "Đỗ", "Em"]
    assert [n.split()[0] for n in sorted((f + " Văn An" for f in families), key=sort_key)] == [
        "Bùi", "Dương", "Đặng", "Đỗ", "Em", "Hoàng", "Lê", "Trần"]


def test_sort_key_accented_a_is_not_after_z():
    assert sorted(["Bùi Thị Zung", "Hoàng Văn Ân", "Ngô Thị Ăn", "Trần Thị Ánh"],
                  key=sort_key)[-1] == "Bùi Thị Zung"


def test_sort_key_tones_are_secondary_in_icu_order():
    tones = ["Ma", "Mà", "Mả", "Mã", "Má", "Mạ"]
    assert sorted(reversed(tones), key=sort_key) == tones
    # A tone decides only when every letter is equal: "Má" < "Mai", "Mạ" < "Mai".
    assert sorted(["Mai", "Mạ", "Má"], key=sort_key) == ["Má", "Mạ", "Mai"]
    # Given name first, then tones: "Lê Văn An" < "Lê Văn Án" < "Lê Văn Ăn".
    assert sorted(["Lê Văn Ăn", "Lê Văn Án", "Lê Văn An"], key=sort_key) == [
        "Lê Văn An", "Lê Văn Án", "Lê Văn Ăn"]


def test_sort_key_shorter_sorts_first():
    assert sorted(["Anh", "An"], key=sort_key) == ["An", "Anh"]
    assert sorted(["Lê Văn Anh An", "Lê Văn An"], key=sort_key) == ["Lê Văn An",
                                                                    "Lê Văn Anh An"]
    assert sorted(["Nguyễn Văn Phúc An", "Nguyễn Văn An"], key=sort_key) == [
        "Nguyễn Văn An", "Nguyễn Văn Phúc An"]


@FAST
@given(names)
def test_sort_key_is_the_same_for_nfc_nfd_and_any_case(name):
    key = sort_key(name)
    assert sort_key(unicodedata.normalize("NFD", name)) == key
    assert sort_key(name.upper()) == key
    assert sort_key(name.lower()) == key
    assert sort_key(" \u200b" + name.replace(" ", "  ") + "\t") == key


@FAST
@given(st.text())
def test_sort_key_is_printable_ascii_for_any_text(text):
    key = sort_key(text)
    assert key.isascii() and key.isprintable()
    assert sort_key(unicodedata.normalize("NFD", text)) == key


def test_sort_key_orders_given_name_before_middle_before_family():
    assert sorted(["Trần Văn Bình", "Vũ Văn An"], key=sort_key) == ["Vũ Văn An",
                                                                    "Trần Văn Bình"]
    assert sorted(["Bùi Văn An", "Vũ Thị An"], key=sort_key) == ["Vũ Thị An", "Bùi Văn An"]
    assert sorted(["Vũ Thị An", "Bùi Thị An"], key=sort_key) == ["Bùi Thị An", "Vũ Thị An"]


@FAST
@given(words, words, words, words)
def test_sort_key_compares_given_name_first(family_a, given_a, family_b, given_b):
    a, b = f"{family_a} {given_a}", f"{family_b} {given_b}"
    if sort_key(given_a).split("!")[0] < sort_key(given_b).split("!")[0]:
        assert sort_key(a) < sort_key(b)

