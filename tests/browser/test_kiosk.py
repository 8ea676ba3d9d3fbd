"""The community-centre kiosk in a real browser (Chromium on a 1280×800 touchscreen), issue
13: a resident declares a vehicle in big one-question screens and gets a number; after two
minutes idle the next resident finds nothing of theirs, not even by pressing Back; an
officer on a tablet calls the number (the hall's display shows it), serves it, finds the
resident and records the declaration. Zero CSP violations, console errors and page errors
on every device throughout.

The kiosks are enrolled through the real one-time link, tapped open on the device.
Selectors use ids, names and values, not translated text (except the plate, which is data).
"""
import re
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (_CSP_LISTENER, TIMEOUT_MS, _record_failure, open_page)
from tests.browser.test_shell import assert_clean, log_in
from tests.factories import WARD_A, make_household, make_resident
from tests.test_kiosk import VEHICLE_ANSWERS
from wardkit.db import connect

# The community house's touchscreen PC (or a big tablet on a stand), landscape.
KIOSK_SCREEN = {"width": 1280, "height": 800}
KIOSK_SCREENSHOT = "/tmp/wardkit-kiosk-plate.png"
MIN_TEXT_PX = 24
MIN_BUTTON_PX = 64
# The hall's display reloads itself every 5 s; one reload and a slow machine fit in this.
DISPLAY_WAIT_MS = 15_000

PLATE_SHOWN = "29-X1 234.56"      # how the kiosk reads the plate back
PLATE_STORED = "29X1 234.56"      # how the declaration keeps it (tests/test_kiosk.py)
RESIDENT = "Nguyễn Thị Lan"
# What a resident types, in every form it could come back in (as typed, normalised,
# compact): none of it may survive the end of their turn in the browser.
TYPED = ("29x1", "29X1", "29-X1", "234.56", "23456", RESIDENT, "Nguyễn Văn Hùng",
         "Văn Hùng", "Thị Lan", "0912", "345 678", "345678", "RLHJC", "JC12E", "Wave Alpha")

EXPECTED_FIELDS = {
    "vehicle_type": "motorcycle", "plate": PLATE_STORED, "plate_compact": "29X123456",
    "plate_colour": "white", "situation": "in_use", "owner_is_resident": 0,
    "owner_name": "Nguyễn Văn Hùng", "chassis_no": "RLHJC1234KY000001",
    "engine_no": "JC12E1234567", "brand": "Honda", "model": "Wave Alpha", "colour": "Đỏ",
    "reg_cert_no": "012345", "registered_on": "2019-04-15"}


def console_errors(page_log) -> list:
    """Return the console messages of type error (assert_clean does not look at them)."""
    return [text for kind, text in page_log.console if kind == "error"]


def assert_all_clean(page_log) -> None:
    """assert_clean (no CSP violation, page error, failed request or error response), and
    no console error either."""
    assert_clean(page_log)
    assert console_errors(page_log) == [], page_log.summary()


def open_device(browser, page_log, *, viewport=None, has_touch=True, clock=False):
    """Return (context, page): a fresh context like conftest's `open_page` (recording into
    `page_log`), but at `viewport` (default the kiosk's 1280×800) with touch, and with
    Playwright's fake clock installed before anything loads when `clock` is true. The
    caller closes the context."""
    context = browser.new_context(viewport=viewport or KIOSK_SCREEN, has_touch=has_touch,
                                  locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    context.set_default_timeout(TIMEOUT_MS)
    context.expose_binding("__wardkitCspViolation",
                           lambda source, text: page_log.csp_events.append(text))
    context.add_init_script(_CSP_LISTENER)
    page = context.new_page()
    if clock:
        page.clock.install()
    page.on("console", lambda msg: page_log.console.append((msg.type, msg.text)))
    page.on("pageerror", lambda exc: page_log.page_errors.append(str(exc)))
    page.on("requestfailed", lambda req: _record_failure(page_log, req))
    page.on("response", lambda resp: page_log.responses.append(
        (resp.status, resp.request.method, resp.url)))
    return context, page


def enrolment_link(live_app, base: str, name: str) -> str:
    """Return a fresh one-time enrolment link for the kiosk `name` of ward 00103, made as
    `flask kiosk enrol` makes it, on the live server's database."""
    from wardkit.db import get_db
    from wardkit.kiosk import devices
    with live_app.test_request_context():
        _device, token = devices.enrol(get_db(), name=name, ward_code=WARD_A, by=None)
    return f"{base}/kiosk/enrol/{token}"


def enrol(page, link: str, base: str) -> None:
    """Open the enrolment link on the device and tap "Enrol"; wait for the start screen."""
    page.goto(link)
    page.locator("#kiosk-enrol").tap()
    expect(page).to_have_url(f"{base}/kiosk")
    expect(page.locator("#kiosk-vehicle")).to_be_visible()


# Every visible element with text of its own: (tag.class, font size in px, its text).
_TEXT_SIZES = """() => [...document.querySelectorAll('body *')]
    .filter(e => [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())
                 && e.getBoundingClientRect().height > 0)
    .map(e => [e.tagName + '.' + e.className, parseFloat(getComputedStyle(e).fontSize),
               e.textContent.trim().slice(0, 40)])"""


def assert_big(page) -> None:
    """The screen's question, and every other text on it, is at least 24 px; every
    visible button (or button-like link) is at least 64 px high."""
    question = page.locator("h1.kiosk-title")
    size = question.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= MIN_TEXT_PX, (page.url, size)
    small_text = [t for t in page.evaluate(_TEXT_SIZES) if t[1] < MIN_TEXT_PX]
    assert small_text == [], (page.url, small_text)
    buttons = page.evaluate("""() => [...document.querySelectorAll(
        'button, a.kiosk-button, input[type=submit]')]
        .map(e => ({text: e.textContent.trim(), h: e.getBoundingClientRect().height}))
        .filter(b => b.h > 0)""")
    assert buttons, page.url
    small = [b for b in buttons if b["h"] < MIN_BUTTON_PX]
    assert small == [], (page.url, small)


def answer(page, data: dict, *, typed=None) -> None:
    """Answer the screen as `data` says (the way tests/test_kiosk.py posts it) by touch:
    Skip, a choice button, or text typed in the field and Next."""
    if "skip" in data:
        page.locator("button[name=skip]").tap()
    elif page.locator("input#value").count():
        field = page.locator("input#value")
        if typed:  # key by key, as a resident on the on-screen keyboard
            field.fill("")
            field.press_sequentially(data["value"])
        else:
            field.fill(data["value"])
        page.locator("#kiosk-next").tap()
    else:
        page.locator(f"button[name=value][value='{data['value']}']").tap()


def declare_vehicle(page, base: str, *, check_sizes=False) -> int:
    """From the start screen, declare the vehicle of VEHICLE_ANSWERS by touch, checking the
    plate read back in large type; send; return the ticket number shown."""
    page.locator("#kiosk-vehicle").tap()
    for step, data in VEHICLE_ANSWERS:
        expect(page).to_have_url(f"{base}/kiosk/vehicle/{step}")
        if check_sizes:
            assert_big(page)
        if step == "plate-check":
            plate = page.locator("#plate-readback")
            expect(plate).to_have_text(PLATE_SHOWN)
            plate_px = plate.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
            question_px = page.locator("#question").evaluate(
                "e => parseFloat(getComputedStyle(e).fontSize)")
            assert plate_px > question_px >= MIN_TEXT_PX, (plate_px, question_px)
            if check_sizes:
                page.screenshot(path=KIOSK_SCREENSHOT, caret="initial")
        answer(page, data, typed=step == "plate")
    expect(page).to_have_url(f"{base}/kiosk/vehicle/review")
    if check_sizes:
        assert_big(page)
    expect(page.locator(".kiosk-plate")).to_have_text(PLATE_SHOWN)
    page.locator("#kiosk-send").tap()
    expect(page).to_have_url(f"{base}/kiosk/ticket")
    number = page.locator("#ticket-number")
    expect(number).to_have_text(re.compile(r"^\d+$"))
    return int(number.inner_text())


def query(db_path, sql: str, params=()) -> list:
    """Return the rows of `sql` on the test's database, read on a connection of its own."""
    db = connect(str(db_path))
    try:
        return list(db.query(sql, list(params)))
    finally:
        db.close()


@pytest.fixture
def kiosk(browser, page_log):
    """The community house's kiosk: a 1280×800 touchscreen context (not yet enrolled)."""
    context, page = open_device(browser, page_log)
    try:
        yield page
    finally:
        context.close()


def test_a_resident_declares_a_vehicle_and_gets_a_number(live_server, live_app, db_path,
                                                        kiosk, page_log):
    base = live_server
    enrol(kiosk, enrolment_link(live_app, base, "Nhà văn hoá TDP 3"), base)
    assert_big(kiosk)
    number = declare_vehicle(kiosk, base, check_sizes=True)
    assert number == 1
    # The screen answers with the number only: nothing the resident typed is on it.
    ticket_html = kiosk.content()
    for typed in TYPED:
        assert typed not in ticket_html, typed
    number_px = kiosk.locator("#ticket-number").evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)")
    assert number_px >= 96, number_px
    assert_big(kiosk)
    rows = query(db_path, "SELECT t.number, t.status, t.name, r.kind FROM queue_tickets t "
                          "JOIN kiosk_requests r ON r.ticket_id = t.id")
    assert [(r["number"], r["status"], r["name"], r["kind"]) for r in rows] == [
        (1, "waiting", RESIDENT, "vehicle")]

    # "Finish": back to the start screen for the next resident, still enrolled.
    kiosk.locator("#kiosk-finish").tap()
    expect(kiosk).to_have_url(f"{base}/kiosk")
    expect(kiosk.locator("#kiosk-vehicle")).to_be_visible()
    assert query(db_path, "SELECT count(*) AS n FROM kiosk_turns")[0]["n"] == 0
    assert_all_clean(page_log)


def browser_keeps(page) -> dict:
    """Return what the page's origin keeps for a script: the DOM as HTML, localStorage,
    sessionStorage and the Cache API's cached requests (URLs and bodies)."""
    kept = page.evaluate("""async () => {
        const entries = (s) => Object.keys(s).map(k => [k, s.getItem(k)]);
        const cached = [];
        for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const req of await cache.keys()) {
                const resp = await cache.match(req);
                cached.push([name, req.url, resp ? await resp.text() : '']);
            }
            cached.push([name]);
        }
        return {local: entries(localStorage), session: entries(sessionStorage),
                cache: cached};
    }""")
    kept["dom"] = page.content()
    return kept


def assert_nothing_typed(page, where: str) -> None:
    """Nothing the resident typed is in the DOM, localStorage, sessionStorage or the
    Cache API (and the storages are empty: the kiosk never writes to them)."""
    kept = browser_keeps(page)
    assert kept["local"] == [] and kept["session"] == [] and kept["cache"] == [], (where, kept)
    for typed in TYPED:
        assert typed not in kept["dom"], (where, page.url, typed)
    # A field's typed value is a property, not markup: read every input's value as well.
    values = page.evaluate("() => [...document.querySelectorAll('input, textarea')]"
                           ".map(e => e.value)")
    for typed in TYPED:
        assert not any(typed in v for v in values), (where, page.url, typed, values)


# Half a declaration, then the phone typed but never sent (steps of VEHICLE_ANSWERS, with
# no papers so that the name comes sooner).
HALF_TURN = [
    ("agree", {"value": "yes"}), ("type", {"value": "motorcycle"}),
    ("plate", {"value": "29x1 234.56"}), ("plate-check", {"value": "yes"}),
    ("colour", {"value": "white"}), ("situation", {"value": "in_use"}),
    ("owner", {"value": "no"}), ("owner-name", {"value": "Nguyễn Văn Hùng"}),
    ("papers", {"value": "no"}), ("name", {"value": RESIDENT}),
]


def test_two_minutes_idle_then_back_five_times_shows_nothing_typed(
        live_server, live_app, db_path, browser, page_log):
    base = live_server
    context, kiosk = open_device(browser, page_log, clock=True)
    try:
        enrol(kiosk, enrolment_link(live_app, base, "Nhà văn hoá TDP 5"), base)
        kiosk.locator("#kiosk-vehicle").tap()
        for step, data in HALF_TURN:
            expect(kiosk).to_have_url(f"{base}/kiosk/vehicle/{step}")
            answer(kiosk, data, typed=step == "plate")
        # The phone is typed, not sent; then the resident walks away.
        expect(kiosk).to_have_url(f"{base}/kiosk/vehicle/phone")
        kiosk.locator("input#value").press_sequentially("0912 345 678")
        expect(kiosk.locator("input#value")).to_have_value("0912 345 678")
        kiosk.wait_for_load_state("load")  # kiosk.js (deferred) has armed its timer
        with pytest.raises(AssertionError):  # the check sees a typed value while it is there
            assert_nothing_typed(kiosk, "while typing")
        stored = query(db_path, "SELECT answers FROM kiosk_turns")
        assert len(stored) == 1 and PLATE_STORED in stored[0]["answers"]

        # Not yet: 1 min 59 s after the last key the screen is still the resident's.
        kiosk.clock.fast_forward("01:59")
        kiosk.wait_for_timeout(300)
        expect(kiosk).to_have_url(f"{base}/kiosk/vehicle/phone")
        with kiosk.expect_response(lambda r: r.url.endswith("/kiosk/reset")) as reset:
            kiosk.clock.fast_forward("00:02")
        assert reset.value.status == 303
        assert reset.value.request.method == "POST"
        assert reset.value.all_headers()["clear-site-data"] == '"cache", "storage"'
        assert reset.value.all_headers()["cache-control"] == "no-store"
        expect(kiosk).to_have_url(f"{base}/kiosk")
        expect(kiosk.locator("#kiosk-vehicle")).to_be_visible()  # still enrolled
        # The server forgot the turn; the phone was never sent anywhere.
        assert query(db_path, "SELECT count(*) AS n FROM kiosk_turns")[0]["n"] == 0
        assert query(db_path, "SELECT count(*) AS n FROM queue_tickets")[0]["n"] == 0
        assert_nothing_typed(kiosk, "after the reset")

        # The next resident presses Back five times.
        for press in range(1, 6):
            kiosk.go_back()  # None when Back leaves no new document to wait for
            kiosk.wait_for_load_state("load")
            assert_nothing_typed(kiosk, f"after Back ×{press}")
        assert_nothing_typed(kiosk, "at the end")
        assert not re.search(r"/kiosk/vehicle/(phone|name|plate)", kiosk.url), kiosk.url
    finally:
        context.close()
    assert_all_clean(page_log)


@pytest.fixture
def lan(live_app, seed):
    """Nguyễn Thị Lan, in the registry of group 7 (whom the officer will find)."""
    from wardkit.db import get_db
    with live_app.app_context():
        db = get_db()
        household = make_household(db, group=seed.group7, house_number="21", lane="Ngõ 52",
                                   street="Tô Ngọc Vân")
        return make_resident(db, household, full_name=RESIDENT, dob=date(1979, 2, 14),
                             phone="0912345678", relation="head")


def _wait_saved(page, action) -> None:
    """Do `action` and wait until the draft's autosave answered (200)."""
    with page.expect_response(lambda r: r.request.method == "POST"
                              and r.url.endswith("/draft")) as info:
        action()
    assert info.value.status == 200


def test_officer_calls_serves_and_records_the_kiosk_declaration(
        live_server, live_app, db_path, browser, kiosk, page_log, lan):
    base = live_server
    enrol(kiosk, enrolment_link(live_app, base, "Nhà văn hoá TDP 3"), base)
    assert declare_vehicle(kiosk, base) == 1

    display_context, display = open_device(browser, page_log)
    officer_context, officer = open_page(browser, page_log)  # the officer's tablet
    try:
        # The hall's TV, a kiosk device of its own: nobody called yet, one waiting.
        enrol(display, enrolment_link(live_app, base, "Màn hình hội trường"), base)
        display.goto(f"{base}/queue/display")
        expect(display.locator("#display-called .display-number")).to_have_count(0)
        expect(display.locator("#display-waiting")).to_contain_text("1")

        log_in(officer, base, "officer1")
        officer.goto(f"{base}/queue")
        row = officer.locator("#ticket-1")
        expect(row).to_be_visible()
        officer.click("#call-next")
        expect(officer).to_have_url(f"{base}/queue")
        assert query(db_path, "SELECT status FROM queue_tickets")[0]["status"] == "called"

        # The display reloads itself (every 5 s) and shows 1, big, and no name.
        latest = display.locator("#display-called .display-number.latest")
        expect(latest).to_have_text("1", timeout=DISPLAY_WAIT_MS)
        assert latest.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 96
        display_html = display.content()
        for typed in TYPED:
            assert typed not in display_html, typed

        # Serve: the ticket shows what was typed at the kiosk and the search, prefilled.
        row.locator("form[action$='/serve'] button[type=submit]").click()
        expect(officer).to_have_url(re.compile(rf"^{re.escape(base)}/queue/[^/?#]+$"))
        ticket_id = officer.url.rsplit("/", 1)[-1]
        expect(officer.locator("#queue-q")).to_have_value(RESIDENT)
        expect(officer.locator("#kiosk-request")).to_contain_text(PLATE_STORED)
        found = officer.locator(
            f"#queue-results form:has(input[name=resident_id][value='{lan['id']}'])")
        expect(found).to_have_count(1)
        found.locator("button[type=submit]").click()

        # The draft, channel kiosk, with every field the resident typed.
        expect(officer).to_have_url(re.compile(rf"^{re.escape(base)}/declarations/[^/?#]+$"))
        declaration_id = officer.url.rsplit("/", 1)[-1]
        expect(officer.locator("#decl-plate")).to_have_value(PLATE_STORED)
        expect(officer.locator("#decl-chassis_no")).to_have_value("RLHJC1234KY000001")
        expect(officer.locator("#decl-vehicle_type")).to_have_value("motorcycle")
        form = officer.locator("#declaration form.form")
        expect(form.locator("input[name=channel][value=kiosk]")).to_be_checked()
        # What the officer must complete: the resident agreed, by word, at the desk.
        _wait_saved(officer, lambda: form.locator(
            "input[name=lawful_basis][value=consent]").check())
        _wait_saved(officer, lambda: form.locator(
            "input[name=consent_method][value=verbal]").check())
        form.locator("button[type=submit]").click()
        readback = officer.locator("#declaration.declaration-readback")
        expect(readback).to_be_visible()
        expect(readback.locator("dl.readback")).to_contain_text(PLATE_STORED)
        readback.locator(
            "form:has(input[name=confirm][value='1']) button[type=submit]").click()
        expect(officer).not_to_have_url(re.compile(rf"/declarations/{declaration_id}$"))

        stored = query(db_path, "SELECT * FROM declarations WHERE id = ?",
                       [declaration_id])[0]
        assert stored["status"] == "recorded"
        assert (stored["resident_id"], stored["channel"], stored["kind"]) == (
            lan["id"], "kiosk", "vehicle")
        assert (stored["lawful_basis"], stored["consent_method"]) == ("consent", "verbal")
        assert {k: stored[k] for k in EXPECTED_FIELDS} == EXPECTED_FIELDS

        # Done: the ticket closes and forgets the name and phone typed at the kiosk.
        officer.goto(f"{base}/queue/{ticket_id}")
        officer.click("#ticket-done")
        expect(officer).to_have_url(f"{base}/queue")
        assert [tuple(r.values()) for r in query(
            db_path, "SELECT status, name, phone FROM queue_tickets")] == [
            ("done", None, None)]
    finally:
        officer_context.close()
        display_context.close()
    assert_all_clean(page_log)
