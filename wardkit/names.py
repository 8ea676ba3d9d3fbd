"""Name checks: the one set of rules for a person's full name, for the resident forms,
the import and the declarations' vehicle owner (docs/DOMAIN-RULES.md#names).

`check_name` returns a `Checked`, like the other field checks in `wardkit.validators`.
"""
import functools
import re
import unicodedata

from flask_babel import lazy_gettext as _l

from .text import clean_line
from .validators import Checked
from .validators import failed as _failed


# The Civil Code (2015, art. 26): a name is a family name and a given name, in Vietnamese or
# another ethnic language of Vietnam, and is not made of digits or characters that are not
# letters. The letters allowed are the Latin letters whose canonical decomposition is an
# ASCII letter plus combining accents (every Vietnamese letter, the ĕ ŏ ŭ ĭ of the Ê Đê,
# Bahnar or M'Nông orthographies, é ü ç of foreign-born residents) and Đ/đ, plus combining
# accents U+0300-U+036F left over after NFC (ô̆ ơ̆ ư̆ have no precomposed form). That is
# exactly the set `fold` turns into a-z: a name made of them is always found by a search
# typed without accents, and a look-alike (Cyrillic А, Greek Ο, IPA ɑ, ø) never slips past
# search and the duplicate check. Between words: a space; inside a word: a hyphen or an
# apostrophe between two letters (K'Long, H'Hen Niê, Y-Moan).

def _name_letters() -> frozenset:
    letters = set("ĐđABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    for code in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00)):
        ch = chr(code)
        base, *marks = unicodedata.normalize("NFD", ch)
        if (ch.isalpha() and base.isascii() and base.isalpha() and marks
                and all("\u0300" <= m <= "\u036f" for m in marks)):
            letters.add(ch)
    return frozenset(letters)


NAME_LETTERS = _name_letters()
_NAME_MARKS = "\u0300-\u036f"
_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"    # huyền, sắc, ngã, hỏi, nặng
_TONED_LETTERS = "".join(sorted(ch for ch in NAME_LETTERS
                                if set(unicodedata.normalize("NFD", ch)) & set(_TONE_MARKS)))
_PLAIN_LETTERS = "".join(sorted(NAME_LETTERS))
# The usual word of a name: letters only (the fast path for a 100,000-row import).
_PLAIN_WORD = re.compile(f"[{_PLAIN_LETTERS}]+")
# A whole name that is well formed: words of letters (each with up to two leftover marks),
# joined inside a word by one hyphen or apostrophe, between words by one space.
_LETTER = f"[{_PLAIN_LETTERS}][{_NAME_MARKS}]{{0,2}}"
_WORD = f"(?:{_LETTER})+(?:['-](?:{_LETTER})+)*"
_WELL_FORMED = re.compile(f"{_WORD}(?: {_WORD})*")
_TONE = re.compile(f"[{_TONED_LETTERS}{_TONE_MARKS}]")
_SYLLABLES = re.compile(r"[ '\-]")
_MISPLACED_JOINER = re.compile(r"^['-]|['-]$|['-]{2}")
# Typed for ' and - by phones with "smart punctuation" (iOS) and some IMEs.
_NAME_PUNCTUATION = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'",
                                   "\u02bb": "'", "\u2010": "-", "\u2011": "-"})
# What a registered vehicle owner that is an organisation starts with (lower case).
ORGANISATION_WORDS = ("công ty", "tổng công ty", "cty", "tnhh", "doanh nghiệp", "dntn",
                      "hợp tác xã", "htx", "chi nhánh", "ngân hàng", "ubnd", "ủy ban",
                      "uỷ ban", "cơ quan", "trường", "bệnh viện", "văn phòng", "trung tâm",
                      "công an")
_ORGANISATION_EXTRA = set("0123456789 .,&()/-'\"“”")

# The script a look-alike letter comes from, by the first word of its Unicode name.
_SCRIPTS = {
    "CYRILLIC": _l("Cyrillic letter"),
    "GREEK": _l("Greek letter"),
    "CJK": _l("Chinese character"),
    "HANGUL": _l("Korean letter"),
    "HIRAGANA": _l("Japanese letter"),
    "KATAKANA": _l("Japanese letter"),
    "FULLWIDTH": _l("full-width letter"),
    "LATIN": _l("Latin letter not used in Vietnamese"),
}
_OTHER_SCRIPT = _l("letter of another alphabet")


def _shown(ch: str) -> str:
    """Return `ch` as it can be shown in a message (a lone combining mark on a ◌)."""
    return "\u25cc" + ch if unicodedata.combining(ch) else ch


def _word_at(name: str, index: int) -> str:
    """Return the space-separated word of `name` around `index`, at most 30 characters."""
    start = name.rfind(" ", 0, index) + 1
    end = name.find(" ", index)
    word = name[start:end if end >= 0 else len(name)]
    return word if len(word) <= 30 else word[:29] + "…"


def _bad_name_character(name: str, extra: set = frozenset()):
    """Return the lazy error for the first character of `name` that no name may contain
    (a digit, a symbol or emoji, a letter of another script), or None."""
    for index, ch in enumerate(name):
        if ch in NAME_LETTERS or ch in " '-" or ch in extra or "\u0300" <= ch <= "\u036f":
            continue
        char, word = _shown(ch), _word_at(name, index)
        category = unicodedata.category(ch)
        if category[0] == "N":
            return _l("A name cannot contain digits: remove “%(char)s” from "
                      "“%(word)s”. Type the name exactly as printed on the ID card.",
                      char=char, word=word)
        if category[0] == "L":
            script = unicodedata.name(ch, "").split(" ")[0]
            return _l("The character “%(char)s” (%(kind)s) in “%(word)s” is not a "
                      "Vietnamese letter. Type it again with a Vietnamese keyboard.",
                      char=char, kind=_SCRIPTS.get(script, _OTHER_SCRIPT), word=word)
        return _l("A name cannot contain symbols, emoji or punctuation: remove "
                  "“%(char)s” from “%(word)s”. Only letters, spaces, hyphens and "
                  "apostrophes are allowed.", char=char, word=word)
    return None


def _two_tones(word: str) -> str | None:
    """Return the first syllable of `word` with two tone marks, or None."""
    return next((s for s in _SYLLABLES.split(word) if len(_TONE.findall(s)) > 1), None)


# Names repeat their words a lot (a few thousand cover a ward): one cached look-up per word
# is the whole check of a usual name in a 100,000-row import.
@functools.lru_cache(maxsize=16384)
def _plain_word(word: str) -> str | None:
    """Return "" for a word of letters only, its syllable with two tone marks if it has
    one, or None when the word needs the full check (anything but letters)."""
    if _PLAIN_WORD.fullmatch(word) is None:
        return None
    return _two_tones(word) or ""


def _is_organisation(name: str) -> bool:
    low = name.lower()
    return any(low == w or low.startswith(w + " ") for w in ORGANISATION_WORDS)


def check_name(raw: str | None, *, max_length: int = 100, required: bool = True,
               organisation_ok: bool = False) -> Checked:
    """Check a person's full name: the one set of name rules for the resident forms, the
    import and the declarations' vehicle owner.

    Returns the name NFC-normalised, without zero-width or control characters, with
    whitespace collapsed, Ð ð Ɖ ɖ read as Đ đ and curly apostrophes and Unicode hyphens
    made ASCII, in the case it was typed (ID cards print capitals). An empty optional name
    gives `Checked(value=None)`.

    Errors: empty (when `required`); longer than `max_length` characters (in NFC); a digit;
    a symbol, emoji or punctuation mark; a letter of another script (Cyrillic А, Greek Ο;
    the message names the character and the script); a hyphen or apostrophe that is not
    between two letters, or an accent that belongs to no letter. Warnings: a one-word
    name, a syllable with two tone marks.

    With `organisation_ok`, a name starting with an organisation word ("Công ty", "HTX",
    …; a vehicle may be registered to one) may also hold digits and . , & ( ) / " and gets
    no warnings; letters of other scripts and emoji are still refused.
    """
    name = clean_line(raw)  # NFC, invisible characters removed, Ð → Đ
    if not name:
        if required:
            return _failed(_l("Enter the full name as printed on the ID card."))
        return Checked()
    if len(name) > max_length:
        return _failed(_l("A name has at most %(max)s characters; this one has %(count)s.",
                        max=max_length, count=len(name)))
    flags = list(map(_plain_word, name.split(" ")))
    if None in flags:
        name = name.translate(_NAME_PUNCTUATION)
        if organisation_ok and _is_organisation(name):
            error = _bad_name_character(name, _ORGANISATION_EXTRA)
            return _failed(error) if error is not None else Checked(value=name)
        error = _bad_name_character(name)
        if error is not None:
            return _failed(error)
        if _WELL_FORMED.fullmatch(name) is None:
            word = next((w for w in name.split(" ") if _WELL_FORMED.fullmatch(w) is None),
                        name)
            if not _MISPLACED_JOINER.search(word):
                return _failed(_l("“%(word)s” has an accent mark that belongs to no "
                                "letter, or too many marks on one letter. Delete the "
                                "word and type it again.",
                                word=_shown(word[0]) + word[1:]))
            return _failed(_l("A hyphen or apostrophe in a name goes between two "
                            "letters, as in K'Long or Y-Moan: check “%(word)s”.",
                            word=word))
    elif organisation_ok and _is_organisation(name):
        return Checked(value=name)
    warnings = []
    if " " not in name:
        warnings.append(_l("The name has only one word. A full name has a family name and "
                           "a given name (e.g. Nguyễn Văn An): check it was typed in full."))
    if None in flags:                 # not checked word by word yet
        flags = list(map(_two_tones, name.split(" ")))
    if (syllable := next(filter(None, flags), None)):
        warnings.append(_l("“%(word)s” has two tone marks, but a Vietnamese "
                           "syllable has only one. Check the spelling against the ID "
                           "card.", word=syllable))
    return Checked(value=name, warnings=warnings)
