"""Vietnamese text: NFC storage form and diacritic folding for search."""
import unicodedata

# Zero-width characters that paste in from chat apps and break matching.
_ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"}


def clean_line(text: str | None) -> str:
    """Return `text` as one clean line: NFC, zero-width and control characters removed,
    runs of whitespace collapsed, ends stripped."""
    text = unicodedata.normalize("NFC", text or "")
    text = "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch not in _ZERO_WIDTH and (ch.isspace() or unicodedata.category(ch)[0] != "C")
    )
    return " ".join(text.split())


def fold(text: str | None) -> str:
    """Return `text` folded for search: no diacritics, đ→d, case-folded, one line."""
    decomposed = unicodedata.normalize("NFD", clean_line(text))
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return bare.replace("đ", "d").replace("Đ", "D").casefold()
