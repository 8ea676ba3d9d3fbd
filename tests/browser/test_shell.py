"""The app shell in a real browser (Chromium): Vietnamese by default, the language switch,
htmx working under the strict CSP, inline group editing, and what Back shows after
signing out on a shared tablet."""
import re

from playwright.sync_api import expect

from tests.factories import PASSWORD
from wardkit.db import connect

WARD_NAME = "Phường Tây Hồ"
GROUP_7 = "Tổ dân phố số 7"
HOME_SCREENSHOT = "/tmp/wardkit-home.png"
# The login page, with or without a ?next= back to where the user was.
TO_LOGIN = re.compile(r"^http://127\.0\.0\.1:\d+/login(\?next=[^&]*)?$")

# Selectors that do not depend on the interface language.
SUBMIT = "main form button[type=submit]"
SIGN_OUT = "header form[action$='/logout'] button[type=submit]"
SWITCH_TO_EN = "header button[name=lang][value=en]"
SWITCH_TO_VI = "header button[name=lang][value=vi]"


def log_in(page, base_url, username):
    """Sign in through the login form and wait for the home page."""
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click(SUBMIT)
    expect(page).to_have_url(f"{base_url}/")


def assert_clean(page_log, allow=()):
    """No CSP violation, no uncaught script error, no failed request, no unexpected 4xx/5xx."""
    assert page_log.csp_violations() == [], page_log.summary()
    assert page_log.page_errors == [], page_log.summary()
    assert page_log.failed_requests == [], page_log.summary()
    assert page_log.error_responses(allow) == [], page_log.summary()


def test_login_in_vietnamese_then_switch_to_english(live_server, page, page_log):
    page.goto(f"{live_server}/login")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator(SUBMIT)).to_have_text("Đăng nhập")

    page.fill("#username", "officer1")
    page.fill("#password", PASSWORD)
    page.click(SUBMIT)
    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator("header .ward-name")).to_have_text(WARD_NAME)
    expect(page.locator("main h1")).to_have_text(WARD_NAME)
    expect(page.locator("#groups-table")).to_contain_text(GROUP_7)
    expect(page.locator(SIGN_OUT)).to_have_text("Đăng xuất")
    expect(page.locator("#groups-summary")).to_contain_text("người từ 15 tuổi trở lên")

    # htmx loaded from /static and took its settings from <meta name="htmx-config">.
    # (evaluate goes through CDP, so the CSP does not stand in its way.)
    assert page.evaluate("typeof htmx") == "object"
    assert page.evaluate("htmx.config.allowEval") is False
    assert page.evaluate("htmx.config.allowScriptTags") is False
    assert page.evaluate("htmx.config.selfRequestsOnly") is True
    assert page.evaluate(
        "htmx.config.responseHandling.some(r => r.code === '422' && r.swap === true)") is True

    page.click(SWITCH_TO_EN)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator(SIGN_OUT)).to_have_text("Sign out")
    expect(page.locator(SWITCH_TO_VI)).to_have_text("Tiếng Việt")
    expect(page.locator("#groups-table")).to_contain_text(GROUP_7)

    assert_clean(page_log)


def test_leader_edits_group_target_inline(live_server, page, page_log, seed, db_path):
    group_id = seed.group7["id"]
    log_in(page, live_server, "leader1")
    page.screenshot(path=HOME_SCREENSHOT, full_page=True)

    row = page.locator(f"#group-{group_id}")
    target = page.locator(f"#target-{group_id}")
    editing = re.compile(r"\bediting\b")
    # Survives only if no full page load happens: htmx swaps the row in place.
    page.evaluate("window.__sameDocument = true")

    row.locator("a[hx-get]").click()
    expect(row).to_have_class(editing)
    expect(target).to_have_value("720")
    target.fill("800")
    row.locator("button.primary").click()  # Save
    expect(row).not_to_have_class(editing)
    expect(row.locator("td.num")).to_have_text("800")
    expect(row.locator("th .group-name")).to_have_text(GROUP_7)
    # The ward total follows the edit (HX-Trigger refreshes the summary line): 800 + 500.
    expect(page.locator("#groups-summary")).to_contain_text("1.300")

    # A target that is not a number: 422, swapped in (responseHandling), row stays open.
    row.locator("a[hx-get]").click()
    expect(row).to_have_class(editing)
    target.fill("abc")
    row.locator("button.primary").click()
    error = row.locator("td.num .field-error")
    expect(error).to_be_visible()
    expect(error).not_to_have_text("")
    # The officer's eyes and cursor go to the field that needs correcting.
    expect(target).to_be_focused()
    expect(target).to_have_attribute("aria-invalid", "true")
    expect(row).to_have_class(editing)
    expect(target).to_have_value("abc")

    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
    assert_clean(page_log, allow=[(422, f"/groups/{group_id}")])
    assert [r for r in page_log.responses if r[0] == 422] == [
        (422, "POST", f"{live_server}/groups/{group_id}")]

    db = connect(str(db_path))
    try:
        saved = db.execute("SELECT target_adults FROM residential_groups WHERE id = ?",
                           [group_id]).fetchone()[0]
    finally:
        db.close()
    assert saved == 800


def test_back_after_sign_out_shows_no_ward_data(live_server, page, page_log, browser):
    log_in(page, live_server, "officer1")
    expect(page.locator("#groups-table")).to_contain_text(GROUP_7)
    home = page.request.get(f"{live_server}/")
    assert home.headers["cache-control"] == "no-store"
    old_cookies = page.context.cookies()

    page.click(SIGN_OUT)
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("#username")).to_be_visible()

    # "commit", not "load": a page restored from the back/forward cache fires no load
    # event, and that is exactly the failure this test must report clearly.
    page.go_back(wait_until="commit")
    # Whatever Back lands on, it is not the ward's data (no bfcache or HTTP-cache copy).
    expect(page).to_have_url(TO_LOGIN)
    body = page.locator("body")
    expect(body).not_to_contain_text(GROUP_7)
    expect(body).not_to_contain_text(WARD_NAME)
    expect(page.locator("#groups-table")).to_have_count(0)

    page.goto(f"{live_server}/")
    expect(page).to_have_url(TO_LOGIN)
    expect(page.locator("#username")).to_be_visible()

    # The cookie from before sign-out, replayed in a fresh browser, is anonymous: the
    # server-side session was revoked.
    replay = browser.new_context()
    try:
        replay.add_cookies(old_cookies)
        other = replay.new_page()
        other.goto(f"{live_server}/")
        expect(other).to_have_url(TO_LOGIN)
        expect(other.locator("body")).not_to_contain_text(GROUP_7)
    finally:
        replay.close()

    assert_clean(page_log)
