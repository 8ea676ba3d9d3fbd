"""Resident import from a spreadsheet (CSV or XLSX): read, check every row, plan, apply.

Three steps, used by the web views (`import_views.py`) and `flask import-residents` alike;
no Flask request code in here:

1. `read_table(data, filename)` decodes the file and finds its header row. CSV encodings
   are tried in order: UTF-8 with BOM, UTF-16 with BOM (Excel's "Unicode text", tab
   separated), UTF-8, Windows-1258 (whose tones are combining marks: everything is stored
   NFC). Text garbled by the old TCVN3 (ABC) or VNI font encodings is refused, never
   stored. XLSX is read with openpyxl in read-only, data-only mode: a formula is never
   evaluated (its cached value, if any, is read as plain text).
2. `plan_import(db, ward_code, table, today=...)` checks every row with
   `rules.check_resident` (the same rules as the forms), matches the group, splits the
   address, groups rows into households (reusing a household already registered at that
   address) and sorts rows into: to add, already registered (skipped, not an error) and
   errors (row number as in the spreadsheet, field, message). Nothing is written.
3. `apply_import(db, ward_code, plan, by=...)` inserts every row that is ready in ONE
   `write()` transaction with one `residents_imported` audit row (counts only) — all of
   them or, if anything fails midway, none.

Policy for rows with errors: they are reported and skipped; the officer sees them on the
preview and confirms the batch of valid rows. Warnings (e.g. CCCD digits that disagree
with the date of birth) are listed per row and do not block. Names starting with = + - @
(spreadsheet formula syntax) are refused with an error on the name, never stored.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Callable, Iterator

from flask_babel import lazy_gettext as _l

from .. import audit, validators
from ..db import write
from ..groups import queries as group_queries
from ..text import clean_line, fold
from . import queries, rules

MAX_BYTES = 20 * 1024 * 1024        # same as MAX_CONTENT_LENGTH (docs/ARCHITECTURE.md#bad-input)
MAX_ROWS = 200_000                  # data rows per file
MAX_XLSX_UNCOMPRESSED = 400 * 1024 * 1024   # a zip bomb is refused before parsing
HEADER_SCAN_ROWS = 10               # title rows allowed above the header row
MAX_WARNINGS_KEPT = 10_000          # all are counted; the first ones are kept
PROGRESS_EVERY = 1000


class RegisterChanged(Exception):
    """People were added to the ward between `plan_import` and `apply_import` (by hand
    or by another import): plan again, then apply."""


class ImportRefused(Exception):
    """The whole file is refused before any row is imported. `status` is the HTTP code
    the web answers with (413 for too large, 422 otherwise)."""

    def __init__(self, message, status: int = 422):
        super().__init__(str(message))
        self.message = message
        self.status = status


# --- columns -------------------------------------------------------------------------

def _header_key(text) -> str:
    """Return a header cell folded for matching: no diacritics, case, brackets, stars."""
    folded = fold(str(text or ""))
    folded = re.sub(r"\(.*?\)|\[.*?\]", " ", folded)
    folded = re.sub(r"[/_\-:*.]+", " ", folded)
    return " ".join(folded.split())


HEADER_ALIASES = {
    "full_name": ["Họ và tên", "Họ tên", "Họ và tên đầy đủ", "full_name", "name",
                  "full name"],
    "dob": ["Ngày sinh", "Ngày tháng năm sinh", "Ngày, tháng, năm sinh", "dob",
            "date of birth", "birth date", "birthday"],
    "gender": ["Giới tính", "Giới", "gender", "sex"],
    "cccd": ["Số CCCD", "CCCD", "Số định danh", "Số định danh cá nhân", "Mã định danh",
             "Số căn cước", "Căn cước", "Số CCCD/CMND", "CCCD/CMND", "cccd", "citizen id"],
    "phone": ["Số điện thoại", "SĐT", "SDT", "Điện thoại", "ĐT", "phone", "phone number"],
    "address": ["Địa chỉ", "Địa chỉ nơi ở", "Nơi ở hiện tại", "Nơi ở", "address"],
    "house_number": ["Số nhà", "house_number", "house number"],
    "lane": ["Ngõ", "Ngõ/ngách", "Ngõ ngách", "Ngách", "lane"],
    "street": ["Đường", "Phố", "Đường/phố", "Đường phố", "Tên đường", "street"],
    "group": ["Tổ dân phố", "Tổ", "TDP", "Tổ DP", "group", "residential group"],
    "relation": ["Quan hệ với chủ hộ", "Quan hệ", "Quan hệ chủ hộ", "QH với chủ hộ",
                 "relation", "relationship"],
    "needs_home_support": ["Cần hỗ trợ tại nhà", "Cần hỗ trợ", "needs_home_support",
                           "needs home support"],
    "support_reason": ["Lý do hỗ trợ", "Lý do cần hỗ trợ", "support_reason",
                       "support reason"],
    "lawful_basis": ["Cơ sở pháp lý", "lawful_basis", "lawful basis"],
    "is_born_abroad": ["Sinh ở nước ngoài", "Đăng ký khai sinh ở nước ngoài",
                       "is_born_abroad", "born abroad"],
}
HEADER_FIELDS = {_header_key(alias): name
                 for name, aliases in HEADER_ALIASES.items() for alias in aliases}
# Recognised and deliberately ignored (not listed as unknown).
_IGNORED_HEADERS = {_header_key(h) for h in ("STT", "TT", "Số thứ tự", "No", "#")}

# The names the preview and the errors use when the file has no such column.
FIELD_LABELS = {name: aliases[0] for name, aliases in HEADER_ALIASES.items()}
REQUIRED = ("full_name", "dob", "gender", "relation")


# --- reading -------------------------------------------------------------------------

class Row:
    """One data row: its spreadsheet row number, its cells by field name (text), and
    warnings found while reading (e.g. a CCCD whose leading zeros were restored)."""

    __slots__ = ("number", "values", "warnings")

    def __init__(self, number: int, values: dict, warnings: list | None = None):
        self.number, self.values, self.warnings = number, values, warnings or []

    def __repr__(self):  # pragma: no cover - debugging aid
        return f"Row({self.number}, {self.values!r})"


@dataclass
class Table:
    """A decoded sheet: header information plus its rows (iterate to get `Row`s, each
    time afresh, so a 100,000-row file is never held as dicts all at once)."""

    kind: str                       # "csv" or "xlsx"
    encoding: str | None            # CSV: "UTF-8 (BOM)", "UTF-16", "UTF-8", "Windows-1258"
    delimiter: str | None           # CSV: ",", ";" or "\t"
    header: list[str]               # the header row as written in the file
    header_row: int                 # its row number in the spreadsheet (1 normally)
    columns: dict[str, int]         # field name -> column index
    unknown: list[str]              # header cells not recognised (ignored)
    row_count: int                  # data rows, an upper bound (blank rows included)
    _records: Callable[[], Iterator[tuple[int, list]]] = field(repr=False)

    def __iter__(self) -> Iterator[Row]:
        columns = [(name, index) for name, index in self.columns.items()
                   if name not in ("cccd", "phone")]
        width = max(self.columns.values()) + 1
        cccd_col = self.columns.get("cccd")
        phone_col = self.columns.get("phone")
        convert = self.kind != "csv"   # CSV cells are text already
        seen = 0
        for number, cells in self._records():
            if len(cells) < width:
                cells = list(cells) + [None] * (width - len(cells))
            if convert:
                values = {name: _cell_text(cells[index]) for name, index in columns}
            else:
                values = {name: cells[index] or "" for name, index in columns}
            warnings = []
            if cccd_col is not None:
                values["cccd"] = _cccd_text(cells[cccd_col], warnings)
            if phone_col is not None:
                values["phone"] = _phone_text(cells[phone_col])
            if not any(values.values()):
                continue  # blank row
            seen += 1
            if seen > MAX_ROWS:
                raise _too_many_rows()
            yield Row(number, values, warnings)

    def __len__(self) -> int:
        return self.row_count

    def label(self, name: str) -> str:
        """Return the file's own header for field `name` (or its usual Vietnamese name)."""
        index = self.columns.get(name)
        if index is not None and self.header[index]:
            return self.header[index]
        if name in ("house_number", "lane", "street") and "address" in self.columns:
            return self.label("address")
        return FIELD_LABELS.get(name, name)


def _too_many_rows() -> ImportRefused:
    return ImportRefused(_l(
        "This file has more than %(max)s rows. Split it into several files (for example "
        "one per residential group) and import them one by one.", max=f"{MAX_ROWS:,}"),
        status=413)


def _too_large() -> ImportRefused:
    return ImportRefused(_l("Send a file smaller than 20 MB, or split it into several "
                            "files."), status=413)


def read_table(data: bytes, filename: str) -> Table:
    """Decode an uploaded CSV or XLSX file and find its columns.

    :raises ImportRefused: too large (413), too many rows (413), an unreadable file, an
        old .xls, garbled TCVN3/VNI text, no header row or missing required columns (422).
    """
    if len(data) > MAX_BYTES:
        raise _too_large()
    name = (filename or "").lower()
    if data[:4] == b"PK\x03\x04" or name.endswith((".xlsx", ".xlsm")):
        return _read_xlsx(data)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or name.endswith(".xls"):
        raise ImportRefused(_l("Old Excel .xls files cannot be read. Open the file in "
                               "Excel and save it as Excel Workbook (.xlsx) or as CSV "
                               "UTF-8."))
    return _read_csv(data)


# CSV ----------------------------------------------------------------------------------

_SAVE_AS = _l("Save the sheet as CSV UTF-8 or as Excel .xlsx and import that file.")


def _decode(data: bytes) -> tuple[str, str]:
    """Return (text in NFC, encoding name), trying the encodings in the documented order."""
    try:
        if data.startswith(codecs.BOM_UTF8):
            text, encoding = data[3:].decode("utf-8"), "UTF-8 (BOM)"
        elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text, encoding = data.decode("utf-16"), "UTF-16"
        elif _looks_utf16(data):
            le = data[1:200:2].count(0) > data[0:200:2].count(0)
            text, encoding = data.decode("utf-16-le" if le else "utf-16-be"), "UTF-16"
        else:
            try:
                text, encoding = data.decode("utf-8"), "UTF-8"
            except UnicodeDecodeError:
                text, encoding = data.decode("cp1258"), "Windows-1258"
    except UnicodeDecodeError:
        raise ImportRefused(_l("The file's text encoding is not recognised. %(how)s",
                               how=_SAVE_AS)) from None
    if not unicodedata.is_normalized("NFC", text):
        # Windows-1258 (and macOS) store tones as combining marks: compose them.
        text = unicodedata.normalize("NFC", text)
    if looks_garbled(text):
        raise ImportRefused(_l(
            "The Vietnamese letters in this file are garbled: it was probably typed with an "
            "old font encoding (TCVN3/ABC such as .VnTime, or VNI). Nothing was imported. "
            "Convert it to Unicode (for example with Unikey's converter), then %(how)s",
            how=_SAVE_AS))
    return text, encoding


def _looks_utf16(data: bytes) -> bool:
    head = data[:200]
    return len(head) >= 4 and head.count(0) >= len(head) // 4


# Every precomposed Vietnamese letter (NFC), upper and lower case.
_VIET_LOWER = ("àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ")
_VIET_LETTERS = frozenset(_VIET_LOWER + _VIET_LOWER.upper())
_VIET_UPPER = "".join(sorted(set(_VIET_LOWER.upper())))
# Punctuation that real Vietnamese sheets contain and that is not a sign of garbling.
_NEUTRAL = frozenset("\u00a0“”‘’–—…•€₫°№×·")
_MID_WORD_CAPITAL = re.compile(f"[a-z][{re.escape(_VIET_UPPER)}]")
_SUSPECT = re.compile("[^\x00-\x7f%s]" % re.escape("".join(sorted(_VIET_LETTERS | _NEUTRAL))))


def looks_garbled(text: str) -> bool:
    """Return True when `text` looks like Vietnamese typed in the TCVN3 (ABC) or VNI font
    encodings and read as Windows-125x or Unicode ("NguyÔn V¨n", "Nguyeãn Vaên").

    Counts non-ASCII characters that are neither Vietnamese letters nor common
    punctuation ("§", "¨", "ø", "ä", "ñ", stray combining marks…), plus Vietnamese capitals
    inside a lower-case word ("NguyÔn"), against the Vietnamese letters. Real sheets have
    almost none of the former; garbled ones have them on nearly every name.
    """
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    if not non_ascii:
        return False
    suspect = len(_SUSPECT.findall(text))
    mid_caps = len(_MID_WORD_CAPITAL.findall(text))
    bad = suspect + mid_caps
    good = non_ascii - bad          # Vietnamese letters (and a little punctuation)
    return bad >= 5 and bad * 5 >= bad + max(good, 0)


def _sniff_delimiter(text: str) -> str:
    lines = text[:20_000].splitlines()[:20]
    counts = {d: sum(line.count(d) for line in lines) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: (counts[d], d == ","))


def _read_csv(data: bytes) -> Table:
    text, encoding = _decode(data)
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\n" not in text and "\r" in text:   # "CSV (Macintosh)" ends lines with CR only
        text = text.replace("\r", "\n")
    delimiter = None
    first_line, _, rest = text.partition("\n")
    if re.fullmatch(r"sep=(.)\r?", first_line):  # Excel's "sep=;" hint line
        delimiter, text = first_line[4], rest
    delimiter = delimiter or _sniff_delimiter(text)

    def records():
        reader = csv.reader(_lines(text), delimiter=delimiter)
        try:
            yield from enumerate(reader, start=1)
        except csv.Error:
            raise ImportRefused(_l("The CSV file could not be read (a quotation mark is "
                                   "not closed?). %(how)s", how=_SAVE_AS)) from None

    head = []
    for number, cells in records():
        head.append((number, cells))
        if len(head) >= HEADER_SCAN_ROWS:
            break
    header_row, header, columns, unknown = _find_header(head)
    count = text.count("\n") + 1 - header_row   # an upper bound, and cheap
    if count > MAX_ROWS:   # maybe only because cells hold line breaks: count exactly
        count = sum(1 for number, cells in records()
                    if number > header_row and any(c.strip() for c in cells))
    if count > MAX_ROWS:
        raise _too_many_rows()

    def data_records():
        return ((n, cells) for n, cells in records() if n > header_row)

    return Table(kind="csv", encoding=encoding, delimiter=delimiter, header=header,
                 header_row=header_row, columns=columns, unknown=unknown, row_count=count,
                 _records=data_records)


def _lines(text: str) -> Iterator[str]:
    """Yield the lines of `text` with their endings, for csv.reader. (io.StringIO would
    copy a 20 MB sheet into a 4-bytes-per-character buffer: ~70 MB more at the peak.)"""
    start, end = 0, len(text)
    find = text.find
    while start < end:
        stop = find("\n", start) + 1 or end
        yield text[start:stop]
        start = stop


def _find_header(head: list[tuple[int, list]]) -> tuple[int, list, dict, list]:
    """Return (row number, header cells, field -> column, unknown headers) of the first
    row among `head` that names at least three known columns."""
    for number, cells in head:
        texts = [clean_line(_cell_text(c)) for c in cells]
        columns, unknown = {}, []
        for index, text in enumerate(texts):
            key = _header_key(text)
            name = HEADER_FIELDS.get(key)
            if name and name not in columns:
                columns[name] = index
            elif text and key not in _IGNORED_HEADERS:
                unknown.append(text)
        if len(columns) >= 3:
            _check_required(columns, texts)
            return number, texts, columns, unknown
    raise ImportRefused(_l(
        "No header row was found. The first row must name the columns, for example: "
        "Họ và tên, Ngày sinh, Giới tính, Số CCCD, Số điện thoại, Địa chỉ, Tổ dân phố, "
        "Quan hệ với chủ hộ."))


def _check_required(columns: dict, header: list) -> None:
    missing = [FIELD_LABELS[name] for name in REQUIRED if name not in columns]
    if "address" not in columns and not {"house_number", "street"} <= set(columns):
        missing.append(_l("Địa chỉ (or Số nhà and Đường/phố)"))
    if missing:
        raise ImportRefused(_l(
            "Required columns are missing: %(missing)s. The file's columns are: "
            "%(found)s. Rename the header cells and import the file again.",
            missing=", ".join(str(m) for m in missing),
            found=", ".join(h for h in header if h) or "—"))


# XLSX ---------------------------------------------------------------------------------

def _read_xlsx(data: bytes) -> Table:
    import openpyxl  # imported here: the web app starts faster without it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_XLSX_UNCOMPRESSED:
                raise _too_large()
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except ImportRefused:
        raise
    except Exception:  # BadZipFile, InvalidFileException, KeyError on a broken part…
        raise ImportRefused(_l("This Excel file could not be read. %(how)s",
                               how=_SAVE_AS)) from None
    sheet = workbook.worksheets[0]
    declared_rows = sheet.max_row or 0
    head = []
    for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
        head.append((number, list(cells)))
        if number >= HEADER_SCAN_ROWS:
            break
    workbook.close()
    header_row, header, columns, unknown = _find_header(head)
    count = max(0, declared_rows - header_row)
    if count > MAX_ROWS:
        raise _too_many_rows()

    def records():
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            rows = book.worksheets[0].iter_rows(min_row=header_row + 1, values_only=True)
            for number, cells in enumerate(rows, start=header_row + 1):
                yield number, cells
        finally:
            book.close()

    return Table(kind="xlsx", encoding=None, delimiter=None, header=header,
                 header_row=header_row, columns=columns, unknown=unknown, row_count=count,
                 _records=records)


# Cells --------------------------------------------------------------------------------

def _cell_text(value) -> str:
    """Return a cell as text: dates as dd/mm/yyyy, whole numbers without ".0"."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (datetime, date)):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, time):
        return value.isoformat()
    return str(value)


def _cccd_text(value, warnings: list) -> str:
    """Return a CCCD cell as text. A number that lost its leading zeros (001087123456
    stored as 1087123456, in XLSX or in a CSV Excel wrote) gets them back when the result
    is a plausible CCCD (a province code prefix), with a warning for the row."""
    text = value.strip() if isinstance(value, str) else _cell_text(value)
    if len(text) in (10, 11) and text.isdigit():
        padded = text.zfill(12)
        if validators.PROVINCE_CODES.get(padded[:3]):
            warnings.append(("cccd", _l(
                "The CCCD was stored as a number, which drops leading zeros; it was read "
                "as %(cccd)s. Check it against the card, and format the column as Text "
                "next time.", cccd=padded)))
            return padded
    return text


def _phone_text(value) -> str:
    """Return a phone cell as text; a number (912345678) gets its leading 0 back."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        digits = _cell_text(value)
        if digits.isdigit() and len(digits) in (9, 10) and digits[0] != "0" \
                and not digits.startswith("84"):
            return "0" + digits
        return digits
    return _cell_text(value)


# --- values ----------------------------------------------------------------------------

def _lookup(pairs: dict) -> dict:
    return {_header_key(word): code for words, code in pairs.items() for word in
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


def _formula_like(text: str) -> bool:
    start = text.lstrip()[:1]
    if start.isalpha() and text.isprintable():
        return False   # the usual case, decided without cleaning
    return clean_line(text).startswith(_FORMULA_START)


def _coded(table: dict, cache: dict, text: str):
    """Return `table`'s code for a cell value ("Nữ" → "female"), caching per raw text."""
    try:
        return cache[text]
    except KeyError:
        code = cache[text] = table.get(_header_key(text))
        return code


_SCIENTIFIC = re.compile(r"\d(?:[.,]\d+)?e\+?\d+", re.IGNORECASE)


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
        self.by_name = {_header_key(g["name"]): g for g in groups}
        self.by_number: dict[str, dict | None] = {}
        for g in groups:
            m = re.search(r"0*(\d+)$", _header_key(g["name"]))
            if m:  # two groups ending in the same number: the number alone is ambiguous
                key = m.group(1)
                self.by_number[key] = None if key in self.by_number else g
        self._cache: dict[str, dict | None] = {}

    def match(self, text: str) -> dict | None:
        """Return the group `text` names, or None."""
        if text in self._cache:
            return self._cache[text]
        key = _header_key(text)
        group = self.by_name.get(key)
        if group is None and (m := self._NUMBERED.fullmatch(key)):
            group = self.by_number.get(m.group(1))
        self._cache[text] = group
        return group


# --- planning --------------------------------------------------------------------------

@dataclass
class ImportPlan:
    """What an import would do. Row numbers are the spreadsheet's (header = row 1)."""

    ward_code: str
    labels: dict = field(default_factory=dict)       # field -> the file's column name
    unknown_columns: list = field(default_factory=list)
    rows: int = 0                 # data rows read (blank rows not counted)
    to_add: int = 0               # people who will be added
    already: int = 0              # already registered in the ward: skipped
    error_rows: int = 0           # rows with at least one error: skipped
    households_new: int = 0
    households_existing: int = 0  # existing households that get new people
    basis_defaulted: int = 0      # rows recorded as "official duty" for want of a basis
    errors: list = field(default_factory=list)       # (row, field, message)
    warnings: list = field(default_factory=list)     # (row, field, message), first ones
    warning_count: int = 0
    version: int = 0              # register_version() when the plan was made
    households: list = field(default_factory=list, repr=False)  # (household, [values])
    fields: tuple = ()            # the names of each person's values

    @property
    def items(self):
        """Yield (household fields, [resident fields]) for `queries.bulk_create`; the
        resident dicts are built as they are consumed (the plan keeps tuples)."""
        fields = self.fields
        for household, people in self.households:
            yield household, [dict(zip(fields, values)) for values in people]

    @property
    def valid(self) -> int:
        """Rows without errors: those to add plus those already registered."""
        return self.to_add + self.already

    def counts(self) -> dict:
        """Return the counts (no personal data): for the audit log and the CLI."""
        return {"rows": self.rows, "valid": self.valid, "to_add": self.to_add,
                "already_registered": self.already, "error_rows": self.error_rows,
                "households_new": self.households_new,
                "households_existing": self.households_existing}

    def label(self, name: str) -> str:
        return self.labels.get(name) or FIELD_LABELS.get(name, name)


def register_version(db) -> int:
    """Return the newest resident's search rowid: every resident added after this moment,
    by hand or by an import, gets a larger one (an index lookup, not a scan)."""
    return db.execute("SELECT coalesce(max(fts_rowid), 0) FROM residents").fetchone()[0]


def _added_since(db, ward_code: str, version: int) -> bool:
    """Return True when someone was added to the ward after `register_version`."""
    return db.execute("SELECT 1 FROM residents WHERE fts_rowid > ? AND ward_code = ? LIMIT 1",
                      [version, ward_code]).fetchone() is not None


def _ward_snapshot(db, ward_code: str):
    """Load, once, what the duplicate checks need: live households by (group, folded
    address), CCCDs, "household|folded name|dob" and "folded name|dob" of residents."""
    households = {
        (group_id, folded): {"id": hid, "address": address}
        for hid, group_id, address, folded in db.execute(
            """SELECT id, group_id, address, address_folded FROM households
               WHERE ward_code = ? AND deleted_at IS NULL""", [ward_code])}
    cccds, people, names, heads = {}, set(), set(), set()
    for household_id, cccd, name_folded, dob, relation in db.execute(
            """SELECT household_id, cccd, name_folded, dob, relation FROM residents
               WHERE ward_code = ? AND deleted_at IS NULL""", [ward_code]):
        if cccd:
            cccds[cccd] = household_id
        who = f"{name_folded}|{dob}"
        people.add(f"{household_id}|{who}")
        names.add(who)
        if relation == "head":
            heads.add(household_id)
    return households, cccds, people, names, heads


def plan_import(db, ward_code: str, table: Table, *, today: date,
                default_group_id: str | None = None,
                progress: Callable[[int, int], None] | None = None) -> ImportPlan:
    """Check every row of `table` for the ward and return the ImportPlan. Writes nothing
    (run it outside any transaction).

    `default_group_id` is the group for rows without one (and for files with no group
    column). `progress(done, total)` is called every 1,000 rows.

    :raises ImportRefused: no group column and no default group, a default group of
        another ward, or a ward without groups; too many rows.
    """
    groups = group_queries.list_groups(db, ward_code)
    if not groups:
        raise ImportRefused(_l("This ward has no residential groups yet. Create them on "
                               "the home page first."))
    matcher = GroupMatcher(groups)
    default_group = None
    if default_group_id:
        default_group = matcher.by_id.get(default_group_id)
        if default_group is None:
            raise ImportRefused(_l("Choose the residential group from the list."))
    elif "group" not in table.columns:
        raise ImportRefused(_l(
            "The file has no “Tổ dân phố” column. Add one, or choose the residential group "
            "all its rows belong to."))

    plan = ImportPlan(ward_code=ward_code, unknown_columns=list(table.unknown),
                      labels={name: table.label(name) for name in FIELD_LABELS},
                      version=register_version(db))
    households, ward_cccds, ward_people, ward_names, ward_heads = _ward_snapshot(db, ward_code)
    single_address = "address" in table.columns and "street" not in table.columns
    address_cache: dict = {}
    # (group id, folded address) -> [household fields or existing row, people, head,
    # {folded name|dob: (row, had a CCCD)}] where head is the row of the new head,
    # "registered" or None.
    new_households: dict[tuple, list] = {}
    seen_cccd: dict[str, int] = {}
    total = table.row_count
    gender_cache, relation_cache, basis_cache, reason_cache = {}, {}, {}, {}

    def error(number, name, message):
        plan.errors.append((number, name, message))

    def warn(number, name, message):
        plan.warning_count += 1
        if len(plan.warnings) < MAX_WARNINGS_KEPT:
            plan.warnings.append((number, name, message))

    for row in table:
        plan.rows += 1
        if progress and plan.rows % PROGRESS_EVERY == 0:
            progress(plan.rows, total)
        number, v = row.number, row.values
        problems: list[tuple[str, object]] = []

        # Group
        group_text = v.get("group", "")
        if group_text.strip():
            group = matcher.match(group_text)
            if group is None:
                problems.append(("group", _l(
                    "There is no residential group “%(name)s” in this ward. Write its name "
                    "as on the home page, e.g. “%(example)s”.", name=clean_line(group_text),
                    example=groups[0]["name"])))
        else:
            group = default_group
            if group is None:
                problems.append(("group", _l("Write the residential group, e.g. "
                                             "“%(example)s”.", example=groups[0]["name"])))

        # Address: (house, lane, street, folded address), parsed once per distinct text
        if single_address:
            raw_address = v.get("address", "")
        else:
            raw_address = (v.get("house_number", ""), v.get("lane", ""), v.get("street", ""))
        parsed = address_cache.get(raw_address)
        if parsed is None:
            try:
                parts = (parse_address(raw_address) if single_address
                         else split_columns_address(*raw_address))
                parsed = (*parts, fold(queries.format_address(*parts)))
            except AddressError as exc:
                parsed = exc.with_traceback(None)
            address_cache[raw_address] = parsed
        if isinstance(parsed, AddressError):
            problems.append((parsed.field, parsed.message))
            parsed = None

        # The person, through the one set of rules
        name_text = v.get("full_name", "")
        gender_text, relation_text = v.get("gender", ""), v.get("relation", "")
        basis_text = v.get("lawful_basis", "")
        reason_text = v.get("support_reason", "")
        reason = basis = None
        if reason_text and reason_text.strip():
            reason = _coded(SUPPORT_REASONS, reason_cache, reason_text) or reason_text
        if basis_text and basis_text.strip():
            basis = _coded(LAWFUL_BASES, basis_cache, basis_text) or basis_text
        raw = {
            "full_name": name_text, "dob": v.get("dob", ""),
            "gender": _coded(GENDERS, gender_cache, gender_text),
            "cccd": v.get("cccd", ""), "phone": v.get("phone", ""),
            "is_born_abroad": v.get("is_born_abroad", ""),
            "relation": _coded(RELATIONS, relation_cache, relation_text),
            "needs_home_support": v.get("needs_home_support", "") or
            ("1" if reason else ""),
            "support_reason": reason,
            "lawful_basis": basis or "official_duty",
        }
        check = rules.check_resident(raw, today=today)
        errors = check.errors
        if _formula_like(name_text):
            errors["full_name"] = [_l(
                "A name cannot start with “=”, “+”, “-” or “@”: the cell looks like a "
                "spreadsheet formula. Type the name as text.")]
        if "gender" in errors and gender_text.strip():
            errors["gender"] = [_l(
                "“%(value)s” is not a sex: write Nam or Nữ.", value=clean_line(gender_text))]
        if "relation" in errors:
            errors["relation"] = [_l(
                "“%(value)s” is not a known relation. Use Chủ hộ, Vợ, Chồng, Con, Bố, Mẹ, "
                "Cháu, Ông, Bà, Anh, Chị, Em or Khác.", value=clean_line(relation_text))
                if relation_text.strip() else _l("Write the relation to the head of "
                                                 "household, e.g. Chủ hộ, Vợ, Con.")]
        if "cccd" in errors and _SCIENTIFIC.fullmatch(v.get("cccd", "").strip()):
            errors["cccd"] = [_l(
                "The CCCD was saved as a number in scientific notation and has lost "
                "digits. Format the column as Text in Excel, type the numbers again and "
                "export the file again.")]
        for name, messages in errors.items():
            problems.extend((name, m) for m in messages)
        for name, message in row.warnings:
            warn(number, name, message)
        for name, message in check.warnings:
            warn(number, name, message)

        # The CCCD, even on a row with other errors, so a repeat further down is caught.
        if errors:
            cccd = None if "cccd" in errors else (
                validators.normalize_digits(v.get("cccd", "")) or None)
        else:
            cccd = check.cleaned["cccd"]
        if cccd and cccd in seen_cccd:
            problems.append(("cccd", _l("The same CCCD is on row %(row)s. Keep one of the "
                                        "two rows.", row=seen_cccd[cccd])))
        elif cccd:
            seen_cccd[cccd] = number

        if problems:
            plan.error_rows += 1
            for name, message in problems:
                error(number, name, message)
            continue

        cleaned = check.cleaned
        house, lane, street, address_folded = parsed
        key = (group["id"], address_folded)
        who = fold(cleaned["full_name"]) + "|" + cleaned["dob"].isoformat()
        existing = households.get(key)
        if cccd and cccd in ward_cccds:
            plan.already += 1
            if existing is None or ward_cccds[cccd] != existing["id"]:
                warn(number, "cccd", _l(
                    "Already registered in this ward at another address: skipped. If the "
                    "person moved, change it on their household page."))
            continue
        if existing is not None and f"{existing['id']}|{who}" in ward_people:
            plan.already += 1
            if cccd:
                warn(number, "cccd", _l(
                    "Already registered at this address without this CCCD (or with "
                    "another one): skipped. Check the number and correct the person's "
                    "record by hand."))
            continue

        entry = new_households.get(key)
        if entry is None:
            if existing is not None:
                entry = [existing, [], "registered" if existing["id"] in ward_heads else None,
                         {}]
                plan.households_existing += 1
            else:
                entry = [{"group_id": group["id"], "house_number": house, "lane": lane,
                          "street": street, "cluster": group.get("cluster"), "notes": None},
                         [], None, {}]
                plan.households_new += 1
            new_households[key] = entry
        # Same name and birthday at the same address is the same person, unless two
        # different CCCDs say otherwise.
        earlier = entry[3].get(who)
        if earlier is not None and not (cccd and earlier[1]):
            plan.error_rows += 1
            error(number, "full_name", _l(
                "The same person (name and date of birth) is on row %(row)s at the same "
                "address. Keep one of the two rows.", row=earlier[0]))
            continue
        entry[3].setdefault(who, (number, bool(cccd)))

        if who in ward_names:
            warn(number, "full_name", _l(
                "Someone with the same name and date of birth is already registered in "
                "this ward. Check it is not the same person."))
        if basis is None:
            plan.basis_defaulted += 1
        if cleaned["relation"] == "head":
            if entry[2] == "registered":
                warn(number, "relation", _l(
                    "This household already has a head of household in the register. "
                    "Check the relations."))
            elif entry[2] is not None:
                warn(number, "relation", _l(
                    "Row %(row)s is already the head of this household. Check the "
                    "relations.", row=entry[2]))
            else:
                entry[2] = number
        if not plan.fields:
            plan.fields = tuple(cleaned)
        entry[1].append(tuple(cleaned.values()))   # compact: 100,000s of them
        plan.to_add += 1

    plan.households = [(entry[0], entry[1]) for entry in new_households.values()]
    if progress:
        progress(plan.rows, plan.rows)
    return plan


def preview_import(db, ward_code: str, data: bytes, filename: str, *, today: date,
                   default_group_id: str | None, by: str | None) -> tuple[Table, ImportPlan]:
    """Read and plan an uploaded file (writing nothing but the audit row
    import_previewed, counts only) and return (table, plan).

    :raises ImportRefused: as `read_table` and `plan_import` do (nothing is audited).
    """
    table = read_table(data, filename)
    plan = plan_import(db, ward_code, table, today=today, default_group_id=default_group_id)
    with write(db):
        audit.record(db, "import_previewed", user_id=by, ward_code=ward_code,
                     entity="wards", entity_id=ward_code,
                     detail={**plan.counts(), "kind": table.kind})
    return table, plan


# --- applying --------------------------------------------------------------------------

def apply_import(db, ward_code: str, plan: ImportPlan, *, by: str | None, via: str = "web",
                 progress: Callable[[int, int], None] | None = None) -> dict:
    """Insert every person the plan adds, in ONE `write()` transaction with one
    `residents_imported` audit row (counts only, no personal data). Return the counts
    {"households": n, "residents": m, ...}.

    All or nothing: if anything fails midway (a full disk, a constraint), the transaction
    rolls back and the exception propagates.
    `progress(done, total)` follows the residents handed to the database.

    :raises RegisterChanged: someone was added to the ward since the plan was made
        (checked inside the transaction, so nothing slips in between): plan again. Without
        this, an import planned while someone else imported the same people would add
        those without a CCCD twice (CCCDs are also guarded by the unique index). Edits
        made in those seconds are not detected.
    """
    total = plan.to_add

    def counted():
        done = last = 0
        for household, people in plan.items:  # dicts built batch by batch
            yield household, people
            done += len(people)
            if progress and done - last >= PROGRESS_EVERY:
                progress(done, total)
                last = done

    with write(db):
        if _added_since(db, ward_code, plan.version):
            raise RegisterChanged()
        counts = queries.bulk_create(db, ward_code=ward_code, items=counted(), by=by)
        detail = {**plan.counts(), "households_created": counts["households"],
                  "residents_added": counts["residents"], "via": via}
        audit.record(db, "residents_imported", entity="wards", entity_id=ward_code,
                     detail=detail, user_id=by, ward_code=ward_code)
    if progress:
        progress(total, total)
    return {**plan.counts(), "households_created": counts["households"],
            "residents_added": counts["residents"]}


def plan_and_apply(db, ward_code: str, table: Table, *, today: date, by: str | None,
                   via: str, default_group_id: str | None = None, attempts: int = 3,
                   progress: Callable[[str, int, int], None] | None = None):
    """Plan `table` and apply it, planning again (up to `attempts` times) when the
    register changed in between. Return (plan, counts). `progress(stage, done, total)`
    with stage "checking" or "saving".

    :raises RegisterChanged: the register kept changing.
    """
    for attempt in range(attempts):
        plan = plan_import(db, ward_code, table, today=today,
                           default_group_id=default_group_id,
                           progress=progress and (lambda d, t: progress("checking", d, t)))
        try:
            counts = apply_import(db, ward_code, plan, by=by, via=via,
                                  progress=progress and (lambda d, t: progress("saving", d, t)))
            return plan, counts
        except RegisterChanged:
            if attempt == attempts - 1:
                raise
