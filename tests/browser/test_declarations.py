"""A vehicle declaration in a real browser (Chromium, tablet portrait), end to end: the
officer starts it from the household page, the form autosaves as it is filled (a reload
keeps the half-filled draft), the read-back, recording, the iHanoi submission, then a
leader verifies it with the bulk-verify form, all under the strict CSP.

Selectors use ids, names and values, not translated text (except the plate, which is data).
"""
import re
from dataclasses import dataclass
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import open_page
from tests.browser.test_shell import assert_clean, log_in
from tests.factories import make_household, make_resident
from wardkit.db import connect

# caret="initial": see the note in test_registry.py (Playwright's caret hiding leaves a
# style="" behind that htmx's settle step copies, which the strict CSP reports).
VEHICLE_SCREENSHOT = "/tmp/wardkit-vehicle.png"

PLATE = "29-HA 002.33"
CHASSIS = "RLHJC1234KY000001"
ENGINE = "JC12E1234567"
BRAND = "Honda"

FORM = "#declaration form"
SAVE_STATUS = "#save-status"
ADD_VEHICLE = "a[href*='/declarations/new'][href*='kind=vehicle']"


@dataclass
class Home:
    household: dict
    mai: dict


@pytest.fixture
def home(live_app, seed):
    """Mai's household in group 7 of ward 00103."""
    from wardkit.db import get_db
    with live_app.app_context():
        db = get_db()
        household = make_household(db, group=seed.group7, house_number="8", lane="Ngõ 52",
                                   street="Tô Ngọc Vân")
        mai = make_resident(db, household, full_name="Phạm Thị Mai", dob=date(1985, 6, 1),
                            gender="female", relation="head")
        return Home(household=household, mai=mai)


def _declaration(db_path, declaration_id) -> dict:
    db = connect(str(db_path))
    try:
        return list(db.query("SELECT * FROM declarations WHERE id = ?", [declaration_id]))[0]
    finally:
        db.close()


def _saved(page, action):
    """Do `action` and wait until the autosave answered and swapped #save-status."""
    with page.expect_response(lambda r: r.request.method == "POST"
                              and r.url.endswith("/draft")) as info:
        action()
    assert info.value.status == 200
    expect(page.locator(SAVE_STATUS)).to_have_count(1)


def _leader_page(browser, page_log):
    """A second, fresh context (the leader's tablet) recording into the same log."""
    return open_page(browser, page_log)


def test_vehicle_declaration_from_household_to_verified(live_server, db_path, browser, page,
                                                        page_log, home):
    base = live_server
    household_url = f"{base}/households/{home.household['id']}"
    log_in(page, base, "officer1")
    page.goto(household_url)

    # Add vehicle: a draft exists at once, and its form opens.
    page.locator(f"#resident-{home.mai['id']} {ADD_VEHICLE}").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/declarations/[^/?#]+$"))
    declaration_id = page.url.rsplit("/", 1)[-1]
    assert _declaration(db_path, declaration_id)["status"] == "draft"
    status = page.locator(SAVE_STATUS)
    before = status.inner_text()

    # Half the form, each change autosaved.
    _saved(page, lambda: page.select_option("#decl-vehicle_type", "motorcycle"))
    expect(status).not_to_have_text(before)
    page.fill("#decl-plate", PLATE)
    _saved(page, lambda: page.fill("#decl-chassis_no", CHASSIS))  # plate's change on blur
    _saved(page, lambda: page.locator("#decl-chassis_no").blur())
    stored = _declaration(db_path, declaration_id)
    assert (stored["vehicle_type"], stored["plate"], stored["chassis_no"]) == (
        "motorcycle", PLATE, CHASSIS)

    # A reload (the tablet slept, the tab was reopened): the half-filled draft is still there.
    page.reload()
    expect(page.locator("#decl-vehicle_type")).to_have_value("motorcycle")
    expect(page.locator("#decl-plate")).to_have_value(PLATE)
    expect(page.locator("#decl-chassis_no")).to_have_value(CHASSIS)

    # The rest.
    page.fill("#decl-engine_no", ENGINE)
    _saved(page, lambda: page.fill("#decl-brand", BRAND))
    _saved(page, lambda: page.check(f"{FORM} input[name=situation][value=in_use]"))
    _saved(page, lambda: page.check(f"{FORM} input[name=lawful_basis][value=official_duty]"))
    _saved(page, lambda: page.check(f"{FORM} input[name=channel][value=office]"))
    page.screenshot(path=VEHICLE_SCREENSHOT, full_page=True, caret="initial")
    # Two changes can share one wait (brand's blur and the radio), so poll for the last save.
    rest = ("engine_no", "brand", "situation", "lawful_basis", "channel")
    want = (ENGINE, BRAND, "in_use", "official_duty", "office")
    for _ in range(50):
        stored = _declaration(db_path, declaration_id)
        if tuple(stored[k] for k in rest) == want:
            break
        page.wait_for_timeout(100)
    assert tuple(stored[k] for k in rest) == want

    # Check and read back (swapped in by htmx), then the resident confirms.
    page.click(f"{FORM} button[type=submit]")
    readback = page.locator("#declaration.declaration-readback")
    expect(readback).to_be_visible()
    expect(readback.locator("dl.readback")).to_contain_text(PLATE)
    assert _declaration(db_path, declaration_id)["status"] == "draft"
    readback.locator("form:has(input[name=confirm][value='1']) button[type=submit]").click()
    expect(page).to_have_url(household_url)
    stored = _declaration(db_path, declaration_id)
    assert stored["status"] == "recorded"
    assert stored["plate_compact"] == "29HA00233"

    # Opened again: the resident submitted it on iHanoi just now.
    page.goto(f"{base}/declarations/{declaration_id}")
    page.click("#declaration button[name=on_ihanoi][value='1']")
    expect(page).to_have_url(f"{base}/declarations/{declaration_id}")
    expect(page.locator("button[name=on_ihanoi]")).to_have_count(0)
    stored = _declaration(db_path, declaration_id)
    assert stored["status"] == "submitted" and stored["submitted_at"]

    # The leader, on another tablet, verifies it from the list.
    context, leader = _leader_page(browser, page_log)
    try:
        log_in(leader, base, "leader1")
        leader.goto(f"{base}/declarations")
        leader.select_option("#filter-status", "submitted")  # htmx swaps the list
        expect(leader).to_have_url(re.compile(r"/declarations\?status=submitted(&|$)"))
        expect(leader.locator("#filter-status")).to_have_value("submitted")
        row = leader.locator(f"#declaration-{declaration_id}")
        expect(row).to_contain_text(PLATE)
        row.locator(f"#select-{declaration_id}").check()
        leader.click("#bulk-verify button[type=submit]")
        # 303 back to the same filtered list, where it is no longer waiting.
        expect(leader).to_have_url(re.compile(r"/declarations\?status=submitted(&|$)"))
        expect(leader.locator(f"#declaration-{declaration_id}")).to_have_count(0)
    finally:
        context.close()
    assert _declaration(db_path, declaration_id)["status"] == "verified"

    assert_clean(page_log)  # (aborted favicon fetches are dropped by the conftest)
