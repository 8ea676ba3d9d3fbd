"""Reading an import file: decode a CSV or XLSX upload, find its header row and columns,
and yield its rows as text, within the size and row limits.

CSV encodings are tried in order: UTF-8 with BOM, UTF-16 with BOM (Excel's "Unicode
text", tab separated), UTF-8, Windows-1258 (whose tones are combining marks: everything is
stored NFC). Text garbled by the old TCVN3 (ABC) or VNI font encodings is refused, never
stored. XLSX is read with openpyxl in read-only, data-only mode: a formula is never
evaluated (its cached value, if any, is read as plain text).
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

from .. import validators
from ..text import clean_line, fold

MAX_BYTES = 20 * 1024 * 1024        # same as MAX_CONTENT_LENGTH (docs/ARCHITECTURE.md#bad-input)
MAX_ROWS = 200_000                  # data rows per file
MAX_XLSX_UNCOMPRESSED = 400 * 1024 * 1024   # a zip bomb is refused before parsing
HEADER_SCAN_ROWS = 10               # title rows allowed above the header row


class ImportRefused(Exception):
    """The whole file is refused before any row is imported. `status` is the HTTP code
    the web answers with (413 for too large, 422 otherwise)."""

    def __init__(self, message, status: int = 422):
        super().__init__(str(message))
        self.message = message
        self.status = status


# --- columns -------------------------------------------------------------------------

def header_key(text) -> str:
    """Return a header cell folded for matching: no diacritics, case, brackets, stars.
    (Coded cell values and group names are matched on the same key.)"""
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
HEADER_FIELDS = {header_key(alias): name
                 for name, aliases in HEADER_ALIASES.items() for alias in aliases}
# Recognised and deliberately ignored (not listed as unknown).
_IGNORED_HEADERS = {header_key(h) for h in ("STT", "TT", "Số thứ tự", "No", "#")}

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


def too_large() -> ImportRefused:
    """Return the refusal of a file over MAX_BYTES (413)."""
    return ImportRefused(_l("Send a file smaller than 20 MB, or split it into several "
                            "files."), status=413)


def read_table(data: bytes, filename: str) -> Table:
    """Decode an uploaded CSV or XLSX file and find its columns.

    :raises ImportRefused: too large (413), too many rows (413), an unreadable file, an
        old .xls, garbled TCVN3/VNI text, no header row or missing required columns (422).
    """
    if len(data) > MAX_BYTES:
        raise too_large()
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
            key = header_key(text)
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
                raise too_large()
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
