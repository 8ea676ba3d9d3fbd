"""The daily report as a workbook (openpyxl), in Vietnamese whatever the interface
language, like the PDF.

Sheet "Báo cáo": two title rows, a blank row, the header (row 4, frozen with the group
columns), one row per residential group, then the ward total in bold; every count is a
number cell, the share of target a number with a percent format, then the change since
the previous report of the main counts (empty when there is nothing to compare), and the
note under the table.

Sheet "Theo ngày": one row per report day up to the report's (the newest revision of
each): the date as a date cell, the ward totals of the main counts and the share of
target, then one column per group of its activated adults (groups in the order they
first appear; a day before a group existed leaves its cell empty).

Every text cell a spreadsheet could read as a formula is neutralised (group names and
the note are typed by people).
"""
import io
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from ..declarations.export import neutralise
from .figures import COUNTS

# The column heading of every count, in COUNTS order (a test keeps the two in step).
COUNT_LABELS = {
    "target_adults": "Chỉ tiêu (người từ 15 tuổi)",
    "adults": "Người từ 15 tuổi trở lên",
    "installed": "Đã cài iHanoi",
    "activated": "Đã kích hoạt iHanoi",
    "activated_today": "Kích hoạt trong ngày",
    "confirmed": "Kích hoạt theo danh sách iHanoi",
    "households": "Tổng số hộ",
    "visited": "Hộ đã đến",
    "visited_today": "Hộ đến trong ngày",
    "visits_done": "Lượt đến: hoàn thành",
    "visits_nobody_home": "Lượt đến: vắng nhà",
    "visits_come_back": "Lượt đến: hẹn quay lại",
    "visits_declined": "Lượt đến: từ chối",
    "follow_ups_open": "Việc cần quay lại: chưa xong",
    "follow_ups_due": "Việc cần quay lại: đến hạn",
    "follow_ups_overdue": "Việc cần quay lại: quá hạn",
    "support_needed": "Người cần hỗ trợ tại nhà",
    "support_reached": "Người cần hỗ trợ đã được đến",
    "declarations": "Kê khai (tổng)",
    "declarations_today": "Kê khai trong ngày",
    "licences": "Kê khai giấy phép lái xe",
    "vehicles": "Kê khai phương tiện",
    "declarations_recorded": "Kê khai: đã ghi nhận",
    "declarations_submitted": "Kê khai: đã gửi trên iHanoi",
    "declarations_verified": "Kê khai: đã xác minh",
    "declarations_needs_fix": "Kê khai: cần sửa",
}
# The counts whose change since the previous report gets a column, and the ward totals
# the day sheet lists.
CHANGED = ("installed", "activated", "visited", "declarations", "declarations_verified")
SERIES = ("target_adults", "adults", "installed", "activated", "confirmed", "households",
          "visited", "declarations", "declarations_verified")
HEADER_ROW = 4
PERCENT_FORMAT = "0.0%"
DATE_FORMAT = "DD/MM/YYYY"
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")


def _text(value) -> str:
    return neutralise("" if value is None else str(value))


def render_report_xlsx(context: dict) -> bytes:
    """Return the XLSX of a report from its context (wardkit/reports/exports.py
    `report_context`)."""
    book = Workbook()
    _report_sheet(book.active, context)
    _series_sheet(book.create_sheet("Theo ngày"), context)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _report_sheet(sheet, context: dict) -> None:
    sheet.title = "Báo cáo"
    day = context["dates"]["day"].strftime("%d/%m/%Y")
    taken = context["dates"]["taken"].strftime("%H:%M ngày %d/%m/%Y")  # when it was counted
    sheet.append([_text(f"{context['units']['unit']} — BÁO CÁO KẾT QUẢ VẬN ĐỘNG CÀI ĐẶT, "
                        f"KÍCH HOẠT iHANOI VÀ KÊ KHAI DỮ LIỆU NGÀY {day}")])
    state = ("BẢN NHÁP – CHƯA CHỐT" if context["draft"] else
             f"đã chốt lúc {context['dates']['locked'].strftime('%H:%M ngày %d/%m/%Y')}")
    line = f"Số liệu tính đến {taken}; bản số {context['revision']}; {state}"
    if context["revision"] > 1:
        line += f"; bản điều chỉnh lần {context['revision'] - 1} — lý do: {context['reason']}"
    sheet.append([_text(line)])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([])
    headers = (["STT", "Tổ dân phố", "Cụm"] + [COUNT_LABELS[k] for k in COUNTS]
               + ["Tỷ lệ kích hoạt / chỉ tiêu"]
               + [f"Tăng so với báo cáo trước: {COUNT_LABELS[k]}" for k in CHANGED])
    sheet.append(headers)
    for cell in sheet[HEADER_ROW]:
        cell.font = BOLD
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    percent_column = 4 + len(COUNTS)
    for number, row in enumerate(context["rows"], 1):
        change = row["change"] or {}
        values = ([None if row["is_total"] else number, _text(row["name"]),
                   None if row["cluster"] is None else _text(row["cluster"])]
                  + [int(row[k]) for k in COUNTS]
                  + [None if row["percent"] is None else row["percent"] / 100]
                  + [change.get(k) for k in CHANGED])
        sheet.append(values)
        cells = sheet[sheet.max_row]
        cells[percent_column - 1].number_format = PERCENT_FORMAT
        if row["is_total"]:
            for cell in cells:
                cell.font = BOLD
    # Below the header, right of the group's number and name.
    sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=3).coordinate
    sheet.row_dimensions[HEADER_ROW].height = 60
    sheet.column_dimensions["A"].width = 5
    sheet.column_dimensions["B"].width = 24
    sheet.append([])
    sheet.append([None, "Khó khăn, vướng mắc và đề xuất:", _text(context["note"] or "Không có.")])
    sheet.cell(row=sheet.max_row, column=2).font = BOLD
    sheet.cell(row=sheet.max_row, column=3).alignment = WRAP
    if context["signer_name"]:
        sheet.append([None, "Người ký:", _text(f"{context['signer_title']} — "
                                               f"{context['signer_name']}")])
        sheet.cell(row=sheet.max_row, column=2).font = BOLD


def _series_sheet(sheet, context: dict) -> None:
    series = context["series"]
    names: dict[str, str] = {}
    for item in series:  # first appearance order; the newest name wins
        for group_id, name in item["names"].items():
            names[group_id] = name
    order = list(dict.fromkeys(g for item in series for g in item["names"]))
    whole = context["total"]["name"]  # "Toàn phường" or "Toàn xã"
    sheet.append(["Ngày"] + [f"{whole}: {COUNT_LABELS[k]}" for k in SERIES]
                 + ["Tỷ lệ kích hoạt / chỉ tiêu"]
                 + [_text(f"Đã kích hoạt: {names[g]}") for g in order])
    for cell in sheet[1]:
        cell.font = BOLD
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    for item in series:
        total = item["counts"]["total"]
        share = total["activated"] / total["target_adults"] if total["target_adults"] else None
        sheet.append([date.fromisoformat(item["report_date"])]
                     + [int(total[k]) for k in SERIES] + [share]
                     + [item["counts"][g]["activated"] if g in item["counts"] else None
                        for g in order])
        row = sheet[sheet.max_row]
        row[0].number_format = DATE_FORMAT
        row[1 + len(SERIES)].number_format = PERCENT_FORMAT
    sheet.freeze_panes = "B2"
    sheet.row_dimensions[1].height = 60
    sheet.column_dimensions["A"].width = 12
