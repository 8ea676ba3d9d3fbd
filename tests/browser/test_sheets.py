"""Printing a residential group's QR sheets in a real browser (Chromium, tablet portrait):
from the home page's group row to the print page, the HTML preview (print CSS, QR images
under the strict CSP), the direct PDF download, then the background PDF with its progress
block polled by htmx — and every QR code in both PDFs scans.

Selectors use ids and classes, not translated text.
"""
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.browser.test_shell import assert_clean, log_in
from tests.factories import make_household, make_resident
from tests.test_sheets import LINKS, _require_tools, configure, qr_payloads
from wardkit.db import connect


@pytest.fixture
def households(live_app, seed, db_path):
    """Three households in group 7, the links configured."""
    _require_tools()
    db = connect(str(db_path))
    try:
        configure(db)
        made = []
        for number, name in (("5", "Nguyễn Văn Hùng"), ("12", "Trần Thị Lan"),
                             ("7", "Lê Văn Nam")):
            household = make_household(db, group=seed.group7, house_number=number,
                                       lane="Ngõ 34", street="Âu Cơ")
            make_resident(db, household, full_name=name, relation="head",
                          dob=date(1960, 1, 1))
            made.append(household)
        return made
    finally:
        db.close()


def _steps() -> list[str]:
    return [LINKS[k] for k in ("ihanoi_android_url", "ihanoi_ios_url", "vneid_url",
                               "declare_guide_url", "zalo_oa_url")]


def _check_pdf(path, base_url, households, tmp_path):
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    pages = qr_payloads(data, tmp_path)
    by_number = {h["house_number"]: h for h in households}
    order = [by_number[n] for n in ("5", "7", "12")]  # by house number, by value
    assert pages == [sorted(_steps() + [f"{base_url}/r/{h['reference']}"]) for h in order]


def test_print_a_group_preview_then_download(live_server, seed, households, page, page_log,
                                             tmp_path):
    log_in(page, live_server, "officer1")
    page.click(f"#group-{seed.group7['id']} a.sheets-print")
    expect(page).to_have_url(f"{live_server}/groups/{seed.group7['id']}/sheets")

    # The HTML preview: the same sheets, one per household, with their QR images.
    page.click("#sheets-form button[name=format][value=html]")
    expect(page.locator("article.sheet-page")).to_have_count(3)
    expect(page.locator("article.sheet-page").first.locator(".sheet-address")) \
        .to_have_text("Số 5, Ngõ 34, Âu Cơ")
    images = page.locator("article.sheet-page img")
    expect(images).to_have_count(3 * 6)
    assert all(images.nth(i).evaluate("img => img.naturalWidth > 0") for i in range(6))
    expect(page.locator(".watermark")).to_have_count(0)

    # The PDF straight from the preview bar.
    with page.expect_download() as download:
        page.click(".preview-bar a.preview-button")
    direct = tmp_path / "direct.pdf"
    download.value.save_as(direct)
    _check_pdf(direct, live_server, households, tmp_path)

    # Back on the print page: the PDF made in the background, with progress.
    page.click(".preview-bar a[href$='/sheets?layout=page']")
    expect(page.locator("#sheets-make")).to_be_visible()
    page.click("#sheets-make")
    expect(page.locator("#sheets-download")).to_be_visible(timeout=60_000)
    with page.expect_download() as download:
        page.click("#sheets-download")
    made = tmp_path / "job.pdf"
    download.value.save_as(made)
    _check_pdf(made, live_server, households, tmp_path)
    assert_clean(page_log)
