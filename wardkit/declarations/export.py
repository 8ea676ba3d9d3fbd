"""The traffic police export: the ward's verified declarations with the resident's identity,
as CSV (UTF-8 with BOM, for Excel) or XLSX (openpyxl, write-only). No request;
`export_verified` is the action: it reads the rows and audits the export.

Headers and value labels are Vietnamese whatever the interface language: the file goes to
the traffic police. Every text cell that a spreadsheet could read as a formula (starting
with = + - @, a tab or a carriage return) gets a leading apostrophe (docs/ARCHITECTURE.md#bad-input), and
XLSX cells are written as text, never as formulas or numbers (CCCD and licence numbers
keep their leading zeros).
"""
import csv
import io

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from .. import audit, clock
from ..db import write

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

KIND = {"licence": "Giấy phép lái xe", "vehicle": "Phương tiện"}
STATUS = {"draft": "Nháp", "recorded": "Đã ghi nhận", "submitted": "Đã gửi",
          "verified": "Đã xác minh", "needs_fix": "Cần sửa"}
LAWFUL_BASIS = {"consent": "Công dân đồng ý", "official_duty": "Thực hiện nhiệm vụ"}
CONSENT_METHOD = {"verbal": "Bằng lời nói", "written": "Bằng văn bản"}
CHANNEL = {"home_visit": "Tại nhà", "kiosk": "Tại ki-ốt", "office": "Tại trụ sở"}
VEHICLE_TYPE = {"car": "Ô tô", "motorcycle": "Mô tô", "moped": "Xe gắn máy",
                "electric_motorcycle": "Mô tô điện", "electric_moped": "Xe gắn máy điện",
                "truck": "Xe tải", "other": "Khác"}
PLATE_COLOUR = {"white": "Trắng", "yellow": "Vàng", "blue": "Xanh"}
SITUATION = {"in_use": "Chủ sở hữu đang sử dụng",
             "sold_not_transferred": "Đã bán, chưa sang tên",
             "bought_not_transferred": "Đã mua, chưa sang tên",
             "lost_stolen": "Bị mất, bị trộm", "scrapped": "Đã thanh lý, hủy"}


def _dmy(iso: str | None) -> str:
    if not iso:
        return ""
    year, month, day = str(iso)[:10].split("-")
    return f"{day}/{month}/{year}"


def _local(stored: str | None) -> str:
    """Return a stored UTC `*_at` value as Hanoi time dd/mm/yyyy HH:MM."""
    if not stored:
        return ""
    return clock.parse(stored).astimezone(clock.HANOI).strftime("%d/%m/%Y %H:%M")


def _yes_no(value) -> str:
    if value is None:
        return ""
    return "Có" if value else "Không"


def _label(labels: dict):
    return lambda value: labels.get(value, value or "")


def _text(value) -> str:
    return "" if value is None else str(value)


# (Vietnamese header, column of the query below, formatter)
COLUMNS = (
    ("STT", None, None),
    ("Họ và tên", "full_name", _text),
    ("Ngày sinh", "dob", _dmy),
    ("Số CCCD", "cccd", _text),
    ("Số điện thoại", "phone", _text),
    ("Địa chỉ", "address", _text),
    ("Tổ dân phố", "group_name", _text),
    ("Loại khai báo", "kind", _label(KIND)),
    ("Trạng thái", "status", _label(STATUS)),
    ("Cơ sở pháp lý", "lawful_basis", _label(LAWFUL_BASIS)),
    ("Hình thức đồng ý", "consent_method", _label(CONSENT_METHOD)),
    ("Hình thức thu thập", "channel", _label(CHANNEL)),
    ("Số GPLX", "licence_no", _text),
    ("Hạng", "licence_class", _text),
    ("Hạng tương đương (Luật 2024)", "licence_class_new", _text),
    ("Ngày cấp", "issued_on", _dmy),
    ("Ngày hết hạn", "expires_on", _dmy),
    ("Nơi cấp", "issuing_authority", _text),
    ("GPLX giấy cũ", "is_paper_licence", _yes_no),
    ("Cần đổi GPLX", "needs_exchange", _yes_no),
    ("Loại phương tiện", "vehicle_type", _label(VEHICLE_TYPE)),
    ("Biển số", "plate", _text),
    ("Biển số (viết liền)", "plate_compact", _text),
    ("Màu biển", "plate_colour", _label(PLATE_COLOUR)),
    ("Số khung", "chassis_no", _text),
    ("Số máy", "engine_no", _text),
    ("Nhãn hiệu", "brand", _text),
    ("Số loại", "model", _text),
    ("Màu sơn", "colour", _text),
    ("Số giấy đăng ký xe", "reg_cert_no", _text),
    ("Ngày đăng ký lần đầu", "registered_on", _dmy),
    ("Tên chủ xe", "owner_name", _text),
    ("Chủ xe là người khai báo", "owner_is_resident", _yes_no),
    ("Tình trạng", "situation", _label(SITUATION)),
    ("Thời điểm gửi iHanoi", "submitted_at", _local),
    ("Lý do chưa gửi", "not_submitted_reason", _text),
    ("Thời điểm xác minh", "reviewed_at", _local),
    ("Ghi chú xác minh", "review_reason", _text),
    ("Có cảnh báo trùng", "is_flagged", _yes_no),
    ("Mã khai báo", "id", _text),
)
HEADERS = tuple(header for header, _, _ in COLUMNS)


def neutralise(value: str) -> str:
    """Return `value` with a leading apostrophe when a spreadsheet would read it as a
    formula (it starts with = + - @, a tab or a carriage return); unchanged otherwise."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def verified_rows(db, ward_code: str) -> list[dict]:
    """Return the ward's live verified declarations with the resident's identity, by
    group, resident name, kind."""
    return list(db.query(
        """
        SELECT d.*, r.full_name, r.dob, r.cccd, r.phone, h.address, g.name AS group_name
        FROM declarations d
        JOIN residents r ON r.id = d.resident_id
        JOIN households h ON h.id = r.household_id
        JOIN residential_groups g ON g.id = h.group_id
        WHERE d.ward_code = :ward AND d.status = 'verified' AND d.deleted_at IS NULL
        ORDER BY g.name, r.full_name, r.id, d.kind, d.reviewed_at, d.id
        """, {"ward": ward_code}))


MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_verified(db, ward_code: str, fmt: str, *, by: str | None) -> bytes:
    """Return the ward's verified declarations as a `fmt` ("csv" or "xlsx") file, and
    audit the export (`declarations_exported`, with the row count and format)."""
    with write(db):  # the count audited is the count of the rows exported
        rows = verified_rows(db, ward_code)
        audit.record(db, "declarations_exported", entity="declarations",
                     detail={"count": len(rows), "format": fmt},
                     user_id=by, ward_code=ward_code)
    # The file is built after the commit: the write lock is not held while it is.
    return to_csv(rows) if fmt == "csv" else to_xlsx(rows)


def table(rows: list[dict]):
    """Yield the header row, then one row of neutralised text cells per declaration."""
    yield list(HEADERS)
    for n, row in enumerate(rows, 1):
        cells = []
        for _header, column, fmt in COLUMNS:
            value = str(n) if column is None else fmt(row.get(column))
            cells.append(neutralise(value))
        yield cells


def to_csv(rows: list[dict]) -> bytes:
    """Return the rows as CSV, UTF-8 with a byte-order mark so Excel reads the accents."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(table(rows))
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(rows: list[dict]) -> bytes:
    """Return the rows as an XLSX workbook, every cell a text cell."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Khai báo")
    for values in table(rows):
        cells = []
        for value in values:
            cell = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", value))
            cell.data_type = "s"  # text, never a formula
            cells.append(cell)
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
