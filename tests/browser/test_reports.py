"""The morning report in a real browser (Chromium): the report clock took today's figures
at 07:00; the leader opens today's report from /reports, writes two lines of note, locks
it and downloads the PDF, which reads back with the note and the motto; zero CSP
violations.

Selectors use ids, not translated text.
"""
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.browser.test_shell import assert_clean, log_in
from tests.factories import make_household, make_resident
from tests.pdfcheck import assert_valid_pdf, page_lines

NOTE = "Khó khăn: nhiều cụ cao tuổi chưa có điện thoại thông minh.\nĐề xuất: mở thêm buổi hỗ trợ tối thứ Bảy."


@pytest.fixture
def morning(live_app, seed):
    """Group 7 has two adults, one activated; the report clock has run (10:00 Hanoi)."""
    from wardkit.db import get_db
    from wardkit.reports import schedule
    with live_app.app_context():
        db = get_db()
        household = make_household(db, group=seed.group7, house_number="12", street="Âu Cơ")
        make_resident(db, household, full_name="Phạm Thị Mai", dob=date(1956, 3, 8),
                      ihanoi_status="activated")
        make_resident(db, household, full_name="Phạm Văn Hùng", dob=date(1980, 1, 1))
    assert schedule.tick(live_app) == ["00103"]


def test_leader_locks_todays_report_and_downloads_the_pdf(live_server, page, page_log,
                                                          seed, morning):
    log_in(page, live_server, "leader1")
    page.click("#nav-reports")
    expect(page.locator("#report-today")).to_be_visible()
    page.click("#open-today")
    expect(page.locator("#report-draft")).to_be_visible()
    group7 = f"#report-{seed.group7['id']}"
    expect(page.locator(f"{group7} [data-col=adults]")).to_have_text("2")
    expect(page.locator(f"{group7} [data-col=activated]")).to_contain_text("1")

    page.fill("#note", NOTE)
    page.click("#save-note")
    expect(page.locator("#note")).to_have_value(NOTE)
    expect(page.locator("#signer_name")).to_have_value("Trần Thị Bình")
    page.click("#lock-report")
    expect(page.locator("#report-locked")).to_be_visible()
    expect(page.locator("#report-note-text")).to_contain_text("buổi hỗ trợ tối thứ Bảy")
    expect(page.locator("#lock-form")).to_have_count(0)  # nothing left to edit

    with page.expect_download(timeout=30_000) as download_info:  # a PDF render, on a busy CI machine
        page.click("#download-pdf")
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    data = open(download.path(), "rb").read()
    assert_valid_pdf(data)
    text = "\n".join(line for page_text in page_lines(data) for line in page_text)
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert "buổi hỗ trợ tối thứ Bảy" in text
    assert "Trần Thị Bình" in text
    assert_clean(page_log)
