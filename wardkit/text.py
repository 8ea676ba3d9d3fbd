"""Vietnamese text: NFC storage form and diacritic folding for search."""
import functools
import re
import unicodedata


# Letters that look like Đ/đ but are not (docs/DOMAIN-RULES.md, "Names"): byte 0xD0/0xF0 is
# Đ/đ in Windows-1258 but Ð/ð (eth) in Windows-1252, so a Vietnamese file opened with the
# wrong code page turns every Đ into Ð; Ɖ/ɖ (African D) look the same. Vietnamese has no
# eth, so they are read as Đ/đ everywhere: stored text, search folding and the duplicate
# checks then see one letter.
D_LOOKALIKES = {"\u00d0": "\u0110", "\u00f0": "\u0111", "\u0189": "\u0110", "\u0256": "\u0111"}
_D_LOOKALIKE = re.compile("[" + "".join(D_LOOKALIKES) + "]")
_D_TABLE = str.maketrans(D_LOOKALIKES)


def clean_line(text: str | None) -> str:
    """Return `text` as one clean line: NFC, zero-width and control characters removed,
    runs of whitespace collapsed, ends stripped, and the look-alikes Ð ð Ɖ ɖ read as Đ/đ."""
    text = text or ""
    if not text.isascii() and _D_LOOKALIKE.search(text):
        text = text.translate(_D_TABLE)
    # Zero-width spaces, soft hyphens and control characters paste in from chat apps and
    # break matching. isprintable() (in C) clears ordinary text at once, so the slow
    # per-character filter runs only when there is something to remove. Filter first,
    # normalise after: an invisible character between a letter and its combining mark
    # would otherwise keep the pair from composing.
    if not text.isprintable():
        text = "".join(ch for ch in text
                       if ch.isspace() or unicodedata.category(ch)[0] != "C")
    return unicodedata.normalize("NFC", " ".join(text.split()))


_COMBINING_MARKS = re.compile("[\u0300-\u036f]")


@functools.lru_cache(maxsize=65536)  # names and streets repeat a lot in a ward
def fold(text: str | None) -> str:
    """Return `text` folded for search: no diacritics, đ→d, case-folded, one line."""
    decomposed = unicodedata.normalize("NFD", clean_line(text))
    # Vietnamese marks are all in U+0300-U+036F: a regex drops them at C speed; any other
    # nonspacing mark left goes through the slow per-character filter.
    bare = _COMBINING_MARKS.sub("", decomposed).replace("đ", "d").replace("Đ", "D")
    if not bare.isascii():
        bare = "".join(ch for ch in bare if unicodedata.category(ch) != "Mn")
    # A stray mark after a space leaves a double space behind: collapse again.
    return " ".join(bare.casefold().split())


def split_name(full_name: str | None) -> tuple[str, str, str]:
    """Return `(family, middle, given)` of a Vietnamese full name (cleaned with `clean_line`).

    The family name is the first word, the given name the last word and the middle name
    everything in between ('' if nothing). One word gives `('', '', word)`; an empty name
    gives `('', '', '')`. This is only the usual pattern (docs/DOMAIN-RULES.md#names): two-syllable given
    names ("Phạm Bình Minh") and double family names ("Hoàng Phủ Ngọc Tường") are split
    wrongly, so keep the full name as printed and let officers edit the parts.
    """
    words = clean_line(full_name).split()
    if not words:
        return "", "", ""
    if len(words) == 1:
        return "", "", words[0]
    return words[0], " ".join(words[1:-1]), words[-1]


# Sort key ----------------------------------------------------------------------------------
# Each letter becomes a two-character code: its Latin base letter and a digit for the
# Vietnamese letter modifiers, so that a < ă < â < b < … < d < đ < e < ê < f < … < o < ô < ơ
# < … < u < ư < v < w < x < y < z ("a0" "a1" "a2" "b0" … "d0" "d1" …). Plain ASCII order of
# those codes is the Vietnamese alphabet, with f, j, w and z where the Latin alphabet has
# them. Digits ("00"–"09") sort before letters; other letters ("~" + 6 hex digits of the code
# point) sort after z. The separators sort below every code, so a shorter word or name
# sorts first ("An" < "Anh", "Văn" < "Văn Anh"):
_END = "!"        # ends the letters; the tone string follows
_PART_SEP = ","   # given | middle | family
_WORD_SEP = "."   # between words of one part
_LETTER_MODIFIERS = {
    "a": {"\u0306": 1, "\u0302": 2},  # ă, â
    "e": {"\u0302": 1},               # ê
    "o": {"\u0302": 1, "\u031b": 2},  # ô, ơ
    "u": {"\u031b": 1},               # ư
}
# Tones are secondary, in the ICU/CLDR `vi` order: none, huyền, hỏi, ngã, sắc, nặng.
_TONES = {"\u0300": "1", "\u0309": "2", "\u0303": "3", "\u0301": "4", "\u0323": "5"}
_LATIN_LIGATURES = {"AE": "ae", "OE": "oe", "IJ": "ij"}


def _base_letters(ch: str) -> str | None:
    """Return the Latin letter(s) `ch` is a form of (ø → o, æ → ae, ı → i), or None."""
    name = unicodedata.name(ch, "")
    for prefix in ("LATIN SMALL LETTER ", "LATIN SMALL LIGATURE "):
        if name.startswith(prefix):
            rest = name[len(prefix):]
            if rest == "DOTLESS I":
                return "i"
            if rest in _LATIN_LIGATURES:
                return _LATIN_LIGATURES[rest]
            letter = rest.split(" WITH ")[0]
            if len(letter) == 1 and "A" <= letter <= "Z":
                return letter.lower()
    return None


def _word_codes(word: str) -> list[list]:
    """Return the [code, tone] pairs of one casefolded NFD word (punctuation dropped)."""
    tokens: list[list] = []
    for ch in word:
        if unicodedata.combining(ch) or unicodedata.category(ch).startswith("M"):
            if tokens:
                token = tokens[-1]
                if ch in _TONES:
                    token[1] = _TONES[ch]
                else:
                    modifier = _LETTER_MODIFIERS.get(token[0][0], {}).get(ch)
                    if modifier is not None and token[0][1] == "0":
                        token[0] = token[0][0] + str(modifier)
            continue  # a mark with no letter before it, or one Vietnamese does not use
        if ch == "đ":
            tokens.append(["d1", "0"])
        elif "a" <= ch <= "z":
            tokens.append([ch + "0", "0"])
        elif unicodedata.decimal(ch, None) is not None:
            tokens.append(["0" + str(unicodedata.decimal(ch)), "0"])
        elif (letters := _base_letters(ch)) is not None:
            tokens.extend([letter + "0", "0"] for letter in letters)
        elif unicodedata.category(ch)[0] in "LN":
            tokens.append([f"~{ord(ch):06X}", "0"])
        # punctuation and symbols (hyphens, apostrophes, dots) do not count
    return tokens


@functools.lru_cache(maxsize=16384)  # a few thousand distinct syllables cover a ward
def _word_key(word: str) -> tuple[str, str]:
    """Return the (letter codes, tone digits) of one casefolded NFD word."""
    tokens = _word_codes(word)
    return "".join(code for code, _ in tokens), "".join(tone for _, tone in tokens)


@functools.lru_cache(maxsize=65536)
def sort_key(full_name: str | None) -> str:
    """Return an ASCII text key that sorts names the Vietnamese way with plain binary
    comparison (Python `<`, SQLite's BINARY collation).

    Names sort by given name, then middle name, then family name (`split_name`), letter by
    letter in the order a ă â b c d đ e ê (f) g h i (j) k l m n o ô ơ p q r s t u ư v (w) x
    y (z); case does not matter. Tones only decide between names whose letters are equal
    everywhere, in the ICU `vi` order none, huyền, hỏi, ngã, sắc, nặng. NFC and NFD input
    give the same key. Example: "Nguyễn Văn An" → "a0n0,v0a1n0,n0g0u0y0e1n0!00000000030".
    """
    family, middle, given = split_name(full_name)
    primary, tones = [], []
    for part in (given, middle, family):
        words = []
        # NFD, casefold, NFD again: a canonical caseless match (Unicode §3.13), so NFC and
        # NFD input give the same key.
        folded = unicodedata.normalize("NFD", unicodedata.normalize("NFD", part).casefold())
        for word in folded.split():
            codes, word_tones = _word_key(word)
            if codes:
                words.append(codes)
                tones.append(word_tones)
        primary.append(_WORD_SEP.join(words))
    return _PART_SEP.join(primary) + _END + "".join(tones)
