"""Home visits in a real browser (Chromium, tablet portrait): an officer starts on Today,
opens the first household of the round, records "done" with one resident activated on
iHanoi in a few taps, sees the timeline refresh by htmx, and the leader's progress table
changes; all under the strict CSP.

Selectors use ids and data attributes, not translated text.
"""
import re
from dataclasses import dataclass
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import open_page
from tests.browser.test_shell import assert_clean, log_in
from tests.factories import make_household, make_resident

SCREENSHOT = "/tmp/wardkit-visit.png"


@dataclass
class Round:
    household: dict
    mai: dict
    child: dict


@pytest.fixture
def round_(live_app, seed):
    """officer1 covers group 7, which has one household: Mai (an adult) and a child."""
    from wardkit.db import get_db
    from wardkit.visits import queries
    with live_app.app_context():
        db = get_db()
        queries.assign(db, "00103", seed.group7["id"], seed.officer["id"], by=None)
        household = make_household(db, group=seed.group7, house_number="12", lane="Ngõ 5",
                                   street="Âu Cơ")
        mai = make_resident(db, household, full_name="Phạm Thị Mai", dob=date(1956, 3, 8),
                            relation="head", needs_home_support=True,
                            support_reason="elderly_alone")
        child = make_resident(db, household, full_name="Phạm Minh Khôi",
                              dob=date(2016, 9, 1), relation="grandchild", gender="male")
        return Round(household, mai, child)


def test_officer_records_a_visit_and_the_leader_sees_progress(
        live_server, browser, page, page_log, seed, round_):
    group7 = seed.group7["id"]
    activated = f"#progress-{group7} [data-col=activated]"
    visited = f"#progress-{group7} [data-col=visited]"

    # The leader's table before the round.
    leader_context, leader = open_page(browser, page_log)
    try:
        log_in(leader, live_server, "leader1")
        leader.goto(f"{live_server}/progress")
        expect(leader.locator(activated)).to_have_text("0")
        expect(leader.locator(visited)).to_contain_text("0 / 1")

        # The officer lands on Today; the household is the first of the round, flagged
        # as needing support at home.
        log_in(page, live_server, "officer1")
        item = page.locator(f"#today-{round_.household['id']}")
        expect(item).to_have_attribute("data-state", "to_visit")
        expect(item).to_have_class(re.compile(r"\bneeds-support\b"))
        expect(page.locator("[data-count=to_visit] strong")).to_have_text("1")
        item.locator("a").click()
        expect(page).to_have_url(f"{live_server}/households/{round_.household['id']}/visits")

        # Only adults get iHanoi choices; the come-back times appear only for "come back".
        expect(page.locator(f"#onboarding-{round_.mai['id']}")).to_be_visible()
        expect(page.locator(f"#onboarding-{round_.child['id']}")).to_have_count(0)
        expect(page.locator("#come-back")).to_be_hidden()
        page.click("label.outcome-come_back")
        expect(page.locator("#come-back")).to_be_visible()

        page.click("label.outcome-done")
        expect(page.locator("#come-back")).to_be_hidden()
        page.click(f"label:has(#ihanoi-{round_.mai['id']}-activated)")
        page.click(f"label:has(#zalo-{round_.mai['id']})")
        page.screenshot(path=SCREENSHOT, full_page=True, caret="initial")
        page.click("#visit-save")

        # Saved in place by htmx, and the timeline refreshed itself.
        expect(page.locator("#visit-form")).to_have_attribute("data-saved-outcome", "done")
        expect(page).to_have_url(f"{live_server}/households/{round_.household['id']}/visits")
        timeline = page.locator("#household-timeline")
        expect(timeline.locator("[data-kind=visit][data-outcome=done]")).to_have_count(1)
        expect(timeline.locator("[data-kind=change]")).to_have_count(2)
        expect(timeline).to_contain_text("Nguyễn Văn An")

        # Back on Today the household is done.
        page.click("#nav-today")
        expect(page.locator(f"#today-{round_.household['id']}")).to_have_attribute(
            "data-state", "done")
        expect(page.locator("[data-count=done] strong")).to_have_text("1")

        # The leader's table has moved; the leader, opening the household, sees the visit.
        leader.reload()
        expect(leader.locator(activated)).to_contain_text(re.compile(r"^\s*1\s"))
        expect(leader.locator(f"#progress-{group7} [data-col=activated_today]")).to_contain_text("+1")
        expect(leader.locator(visited)).to_contain_text("1 / 1")
        leader.goto(f"{live_server}/households/{round_.household['id']}")
        expect(leader.locator("#household-timeline [data-outcome=done]")).to_have_count(1)
    finally:
        leader_context.close()
    assert_clean(page_log)
