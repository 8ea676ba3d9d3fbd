"""The official iHanoi account list: read it, map its columns, match it to the registry,
import the matches, and list where it disagrees with what officers marked.

The city's service centre sends a ward its iHanoi accounts (CSV or XLSX; the columns
vary). For the pages (account_views.py) and `flask import-ihanoi-accounts` alike:
`read_list` decodes it with the resident import's readers (import_files.py) and finds its
columns; `plan_list` matches its rows (docs/DOMAIN-RULES.md#ihanoi-account-list), writing
nothing; `import_list`, the action, stores the list's counts and matches with its audit
row. Only the matches are kept, never the file's rows; `residents.ihanoi_status` (what
officers marked at the door) is never touched.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable, Iterator

from flask_babel import lazy_gettext as _l

from .. import audit, clock, validators
from ..db import write
from ..ids import new_id
from ..residents import import_files
from ..residents.import_files import ImportRefused, header_key
from ..text import clean_line
from . import account_queries as queries

FIELDS = ("cccd", "phone", "status", "activated_on")
HEADER_ALIASES = {
    "cccd": [*import_files.HEADER_ALIASES["cccd"], "ID number", "personal id"],
    "phone": [*import_files.HEADER_ALIASES["phone"], "Số điện thoại đăng ký",
              "SĐT đăng ký", "mobile"],
    "status": ["Trạng thái", "Trạng thái tài khoản", "Tình trạng", "Tình trạng tài khoản",
               "Trạng thái kích hoạt", "status", "account status", "account_status"],
    "activated_on": ["Ngày kích hoạt", "Ngày kích hoạt tài khoản", "Thời gian kích hoạt",
                     "activation date", "activated on", "activated_on", "activated at"],
}
_HEADER_FIELDS = {header_key(a): name for name, aliases in HEADER_ALIASES.items()
                  for a in aliases}
FIELD_LABELS = {
    "cccd": _l("CCCD / personal ID number"), "phone": _l("Phone number"),
    "status": _l("Account status"), "activated_on": _l("Activation date"),
}
# Status words as the service centre (or a ward clerk) writes them, folded.
_STATUS_WORDS = {
    "activated": ["Đã kích hoạt", "Kích hoạt", "Đã kích hoạt tài khoản", "Đã xác thực",
                  "Hoạt động", "Đang hoạt động", "activated", "active"],
    "registered": ["Chưa kích hoạt", "Đã đăng ký", "Đăng ký", "Chờ kích hoạt",
                   "Chưa xác thực", "registered", "not activated", "inactive", "pending"],
}
STATUSES = {header_key(w): status for status, words in _STATUS_WORDS.items() for w in words}
_EXTENSIONS = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
SAMPLE_ROWS = 5                      # rows shown on the preview, as read
_LONG_DIGITS = re.compile(r"\d[\d .\-]{5,}\d")


class NoMatches(ImportRefused):
    """The list matched nobody in the ward: refused, nothing written (wrong ward or wrong
    columns, far likelier than a ward where nobody has an account)."""


# --- reading -------------------------------------------------------------------------

@dataclass
class AccountTable:
    """A decoded list: its header row, the columns used (field -> index) and its rows."""

    kind: str                        # "csv" or "xlsx"
    header: list[str]
    header_row: int
    columns: dict[str, int]
    _records: Callable[[], Iterator[tuple[int, list]]] = field(repr=False)

    def rows(self) -> Iterator[tuple[int, dict]]:
        """Yield (row number as in the spreadsheet, {field: text}) of non-blank rows.

        :raises ImportRefused: more than import_files.MAX_ROWS rows (413)."""
        seen = 0
        for number, cells in self._records():
            if not any(_text(c).strip() for c in cells):
                continue
            seen += 1
            if seen > import_files.MAX_ROWS:
                raise import_files._too_many_rows()
            cells = list(cells)
            get = lambda i: cells[i] if i < len(cells) else None  # noqa: E731
            values = {name: _text(get(index)) for name, index in self.columns.items()}
            if "cccd" in self.columns:
                values["cccd"] = import_files._cccd_text(get(self.columns["cccd"]), [])
            if "phone" in self.columns:
                values["phone"] = import_files._phone_text(get(self.columns["phone"]))
            yield number, values

    def sample(self) -> list[list[str]]:
        """Return the first SAMPLE_ROWS rows as read, each cell as text, long digit runs
        (CCCDs, phones) masked to their last 4 digits: enough to check the mapping."""
        out = []
        for _, cells in self._records():
            texts = [_mask(_text(c)) for c in cells][:len(self.header)]
            if any(texts):
                out.append(texts + [""] * (len(self.header) - len(texts)))
            if len(out) >= SAMPLE_ROWS:
                break
        return out

    @property
    def unused(self) -> list[str]:
        """Return the headers of columns no field uses."""
        used = set(self.columns.values())
        return [h for i, h in enumerate(self.header) if h and i not in used]


def _text(value) -> str:
    return import_files._cell_text(value)


def _mask(text: str) -> str:
    def hide(match):
        digits = re.sub(r"\D", "", match.group())
        return "••••" + digits[-4:] if len(digits) >= 9 else match.group()
    return _LONG_DIGITS.sub(hide, text)


def read_list(data: bytes, filename: str, mapping: dict | None = None) -> AccountTable:
    """Decode an account list and return its AccountTable, its columns detected from
    the headers, then overridden by `mapping` ({field: column}, the column as its index
    (int) or its header text; "" or None: not in the file).

    :raises ImportRefused: not a CSV/XLSX file, unreadable, too large (413), empty.
    :raises ColumnProblem: a mapping naming a column the file does not have, one column
        for two fields; no CCCD or phone column, or no status column (`check_columns`).
    """
    kind, records = _sheet(data, filename)
    head = []
    for number, cells in records():
        head.append((number, [clean_line(_text(c)) for c in cells]))
        if len(head) >= import_files.HEADER_SCAN_ROWS:
            break
    if not any(any(cells) for _, cells in head):
        raise ImportRefused(_l("The file is empty."))
    # The header is the first row naming a known column; without one, the first row
    # that has anything (the officer maps its columns on the preview).
    header_row, header = next(
        ((n, cells) for n, cells in head if any(header_key(c) in _HEADER_FIELDS for c in cells)),
        next((n, cells) for n, cells in head if any(cells)))
    detected = {}
    for index, text in enumerate(header):
        name = _HEADER_FIELDS.get(header_key(text))
        if name and name not in detected:
            detected[name] = index

    def data_records():
        return ((n, cells) for n, cells in records() if n > header_row)

    table = AccountTable(kind=kind, header=header, header_row=header_row,
                         columns=dict(detected), _records=data_records)
    columns = dict(detected)
    try:
        for name, column in (mapping or {}).items():
            if name not in FIELDS:
                raise ImportRefused(_l("“%(field)s” is not a field of the account list. "
                                       "The fields are: %(fields)s.", field=name,
                                       fields=", ".join(FIELDS)))
            index = _column_index(header, column)
            if index is None:
                columns.pop(name, None)
            else:
                columns[name] = index
        if len(set(columns.values())) < len(columns):
            raise ImportRefused(_l("One column is chosen for two fields. Choose a "
                                   "different column for each field."))
    except ImportRefused as exc:   # the preview still offers the detected columns
        raise ColumnProblem(exc.message, table) from None
    table.columns = columns
    check_columns(table)
    return table


def _column_index(header: list[str], column) -> int | None:
    """Return the index `column` names in `header` (None for "not in the file").

    :raises ImportRefused: a column the file does not have."""
    if column is None or (isinstance(column, str) and not column.strip()):
        return None
    if isinstance(column, int):
        if 0 <= column < len(header):
            return column
    else:
        keys = [header_key(h) for h in header]
        if header_key(column) in keys:
            return keys.index(header_key(column))
    raise ImportRefused(_l("The file has no column “%(column)s”. Its columns are: "
                           "%(found)s.", column=str(column)[:60],
                           found=", ".join(h for h in header if h) or "—"))


class ColumnProblem(ImportRefused):
    """The columns cannot be used as detected or mapped (a needed one missing, an
    unknown one named); `table` still lets the preview offer the mapping by hand."""

    def __init__(self, message, table: AccountTable):
        super().__init__(message)
        self.table = table


def check_columns(table: AccountTable) -> None:
    """Check that the columns used include a CCCD or phone column and a status column.

    :raises ColumnProblem: with the file's unrecognised columns named in the message.
    """
    unknown = ", ".join(table.unused) or "—"
    if "cccd" not in table.columns and "phone" not in table.columns:
        raise ColumnProblem(_l(
            "No CCCD or phone column was recognised (Số CCCD, Số định danh, Điện thoại, "
            "SĐT). Columns not recognised: %(unknown)s. Choose which column is which.",
            unknown=unknown), table)
    if "status" not in table.columns:
        raise ColumnProblem(_l(
            "No account status column was recognised (Trạng thái). Columns not "
            "recognised: %(unknown)s. Choose which column is which.",
            unknown=unknown), table)


def _sheet(data: bytes, filename: str):
    """Return ("csv" | "xlsx", a function yielding (row number, cells) afresh)."""
    if len(data) > import_files.MAX_BYTES:
        raise import_files.too_large()
    name = (filename or "").lower()
    is_zip = data[:4] == b"PK\x03\x04"
    if name.endswith(".xls") or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ImportRefused(_l("Old Excel .xls files cannot be read. Open the file in "
                               "Excel and save it as Excel Workbook (.xlsx) or as CSV "
                               "UTF-8."))
    if not (is_zip or name.endswith(_EXTENSIONS)) or (is_zip and not name.endswith(
            (".xlsx", ".xlsm"))) or data[:5] == b"%PDF-":
        raise _not_a_list()
    return ("xlsx", _xlsx_records(data)) if is_zip else ("csv", _csv_records(data))


def _not_a_list() -> ImportRefused:
    return ImportRefused(_l("This is not a CSV or Excel (.xlsx) file. Save the list as "
                            "CSV UTF-8 or Excel .xlsx and upload that file."))


def _csv_records(data: bytes):
    text, _ = import_files._decode(data)
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:      # a binary file renamed .csv
        raise _not_a_list()
    if "\n" not in text and "\r" in text:   # "CSV (Macintosh)" ends lines with CR only
        text = text.replace("\r", "\n")
    first_line, _, rest = text.partition("\n")
    delimiter = None
    if re.fullmatch(r"sep=(.)\r?", first_line):  # Excel's "sep=;" hint line
        delimiter, text = first_line[4], rest
    delimiter = delimiter or import_files._sniff_delimiter(text)

    def records():
        import csv
        try:
            yield from enumerate(csv.reader(import_files._lines(text), delimiter=delimiter),
                                 start=1)
        except csv.Error:
            raise _not_a_list() from None
    return records


def _xlsx_records(data: bytes):
    import openpyxl  # imported here: the web app starts faster without it

    def open_book():
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if sum(i.file_size for i in archive.infolist()) > \
                        import_files.MAX_XLSX_UNCOMPRESSED:
                    raise import_files.too_large()
            return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except ImportRefused:
            raise
        except Exception:  # BadZipFile, InvalidFileException, KeyError on a broken part…
            raise ImportRefused(_l("This Excel file could not be read. %(how)s",
                                   how=import_files._SAVE_AS)) from None

    open_book().close()   # refuse a broken file at once, not on the first row read

    def records():
        book = open_book()
        try:
            yield from enumerate(book.worksheets[0].iter_rows(values_only=True), start=1)
        finally:
            book.close()
    return records


# --- matching ------------------------------------------------------------------------

@dataclass
class ListPlan:
    """What importing a list would do: counts per row, and the matches to keep."""

    ward_code: str
    list_date: date
    rows: int = 0
    matched_cccd: int = 0
    matched_phone: int = 0
    ambiguous_phone: int = 0
    not_in_registry: int = 0
    unreadable: int = 0
    unknown_statuses: list = field(default_factory=list)   # a few, to show
    # resident id -> (matched_by, account_status, activated_on ISO or None)
    matches: dict = field(default_factory=dict, repr=False)

    def counts(self) -> dict:
        """Return the counts (no personal data): for the audit row, pages and CLI."""
        names = ("rows", "matched_cccd", "matched_phone", "ambiguous_phone",
                 "not_in_registry", "unreadable")
        return {**{name: getattr(self, name) for name in names},
                "activated": sum(m[1] == "activated" for m in self.matches.values())}


def check_list_date(list_date: date, today: date) -> None:
    """:raises ImportRefused: a list date after `today`."""
    if list_date > today:
        raise ImportRefused(_l("The list date cannot be in the future."))


def plan_list(db, ward_code: str, table: AccountTable, *, list_date: date,
              today: date) -> ListPlan:
    """Match every row of `table` against the ward's live residents and return the
    ListPlan (docs/DOMAIN-RULES.md#ihanoi-account-list). Writes nothing.

    A row is unreadable when its status is not a known word or it has neither a
    readable CCCD nor a readable phone. A CCCD matches exactly; otherwise the phone
    matches when it belongs to exactly one live resident (two or more: ambiguous, not
    matched), never one whose recorded CCCD differs from the row's.

    :raises ImportRefused: a list date in the future.
    """
    check_list_date(list_date, today)
    by_cccd, by_phone, with_cccd = queries.ward_identifiers(db, ward_code)
    plan = ListPlan(ward_code=ward_code, list_date=list_date)
    for _, values in table.rows():
        plan.rows += 1
        status_text = values.get("status", "")
        status = STATUSES.get(header_key(status_text))
        cccd = _checked(validators.check_cccd(values.get("cccd"), born_abroad=True,
                                              today=today))
        phone = _checked(validators.check_phone(values.get("phone")))
        if status is None:
            shown = clean_line(status_text)[:40]
            if shown and shown not in plan.unknown_statuses and len(plan.unknown_statuses) < 5:
                plan.unknown_statuses.append(shown)
        if status is None or not (cccd or phone):
            plan.unreadable += 1
            continue
        activated_on = _date(values.get("activated_on"), list_date) \
            if status == "activated" else None
        if cccd and cccd in by_cccd:
            _keep(plan.matches, by_cccd[cccd], ("cccd", status, activated_on))
            plan.matched_cccd += 1
            continue
        # Someone whose recorded CCCD is not the row's is someone else sharing the phone.
        candidates = [r for r in by_phone.get(phone, ()) if not (cccd and r in with_cccd)]
        if len(candidates) == 1:
            _keep(plan.matches, candidates[0], ("phone", status, activated_on))
            plan.matched_phone += 1
        elif candidates:
            plan.ambiguous_phone += 1
        else:
            plan.not_in_registry += 1
    return plan


def _checked(checked) -> str | None:
    return checked.value if checked.ok else None


def _keep(matches: dict, resident_id: str, match: tuple) -> None:
    # A person named on two rows is kept once: a CCCD match over a phone match, then
    # activated over registered (an account only moves forward).
    old = matches.get(resident_id)
    if old is None or (match[0] == "cccd", match[1] == "activated") > \
            (old[0] == "cccd", old[1] == "activated"):
        matches[resident_id] = match


_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%Y/%m/%d")


def _date(text: str | None, latest: date) -> str | None:
    """Return an activation date cell as ISO text, or None when it is blank, unreadable
    or after the list's date (a time after the date is ignored)."""
    text = clean_line(text or "").split(" ")[0].split("T")[0]
    for fmt in _DATE_FORMATS:
        try:
            day = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        return day.isoformat() if date(1990, 1, 1) <= day <= latest else None
    return None


# --- the action ----------------------------------------------------------------------

def no_matches() -> NoMatches:
    """Return the refusal of a list that matched nobody."""
    return NoMatches(_l("No resident could be matched: nobody on the list has the CCCD "
                        "of a resident of this ward, or a phone number only one resident "
                        "has. Check that the list is this ward’s and that the columns "
                        "are chosen right. Nothing was imported."))


def import_list(db, ward_code: str, plan: ListPlan, *, by: str | None,
                via: str = "web") -> dict:
    """Store the list: its ihanoi_lists row (counts) and its matches, with one
    `ihanoi_list_imported` audit row (counts only), in ONE `write()` transaction.
    Return {"list_id": id, **counts}. residents.ihanoi_status is never touched.

    :raises NoMatches: the plan matched nobody (nothing is written).
    """
    if not plan.matches:
        raise no_matches()
    list_id = new_id()
    counts = plan.counts()
    with write(db):
        queries.insert_list(db, {
            "id": list_id, "ward_code": ward_code, "list_date": plan.list_date.isoformat(),
            "imported_at": clock.now_iso(), "imported_by": by,
            **{name: value for name, value in counts.items() if name != "activated"}})
        queries.insert_matches(db, list_id, plan.matches)
        audit.record(db, "ihanoi_list_imported", user_id=by, ward_code=ward_code,
                     entity="ihanoi_lists", entity_id=list_id,
                     detail={**counts, "list_date": plan.list_date.isoformat(),
                             "residents_matched": len(plan.matches), "via": via})
    return {"list_id": list_id, **counts}


# --- discrepancies ---------------------------------------------------------------------

SHOWN_PEOPLE = 500


def discrepancies(db, ward_code: str, *, limit: int = SHOWN_PEOPLE) -> dict:
    """Return where the ward's latest list and the officers' marks disagree:
    {"list": the latest ihanoi_lists row or None,
     "marked_not_listed": people officers marked activated whom the list does not name
        as activated, "marked_not_listed_count",
     "listed_not_installed": people the list names as activated whom officers marked
        not installed, "listed_not_installed_count",
     "not_in_registry": the list's rows that matched nobody (a count: nothing else is
        kept about them)}.
    People (the first `limit` of each list) are dicts: id, full_name, household_id,
    address, group_name, ihanoi_status. Residents marked "not asked yet" are no
    discrepancy: the list answers for them (docs/DOMAIN-RULES.md#ihanoi-account-list).
    With no list yet, both lists are empty and the counts 0.
    """
    latest = queries.latest_list(db, ward_code)
    found = {"list": latest, "not_in_registry": latest["not_in_registry"] if latest else 0}
    for name, read in (("marked_not_listed", queries.marked_not_listed),
                       ("listed_not_installed", queries.listed_not_installed)):
        people, total = read(db, ward_code, latest["id"], limit) if latest else ([], 0)
        found[name], found[f"{name}_count"] = people, total
    return found


def view_discrepancies(db, ward_code: str, *, by: str | None) -> dict:
    """Return `discrepancies(db, ward_code)` and audit the read of these people's data
    as `ihanoi_discrepancies_viewed` (counts only)."""
    found = discrepancies(db, ward_code)
    with write(db):
        audit.record(db, "ihanoi_discrepancies_viewed", user_id=by, ward_code=ward_code,
                     entity="ihanoi_lists",
                     entity_id=found["list"]["id"] if found["list"] else None,
                     detail={"marked_not_listed": found["marked_not_listed_count"],
                             "listed_not_installed": found["listed_not_installed_count"],
                             "not_in_registry": found["not_in_registry"]})
    return found
