"""Sync in a real browser (Chromium, tablet portrait), end to end over real sockets: a kit
joins a hub served on 127.0.0.1 through the hub's /sync/push and /sync/pull (no monkeypatch),
the officer signs in on the kit (the hub's users came down with their password hashes),
records a visit and a licence, presses "Sync now" on the kit's /sync page, and the leader,
signed in on the hub, sees the visit in /progress and the licence in /declarations; all
under the strict CSP.

Selectors use ids and data attributes; the text asserted is data, or the Vietnamese
status the leader reads.
"""
import re
from datetime import date

from playwright.sync_api import expect

from tests.browser.conftest import open_page, serving
from tests.browser.test_declarations import LICENCE_NO, record_licence
from tests.browser.test_shell import assert_clean, log_in
from tests.factories import WARD_A, make_group, make_household, make_resident, make_user
from tests.sync_nodes import Node
from wardkit.sync import client, enrol
from wardkit.visits import queries as visit_queries

RECORDED = "Đã ghi nhận"   # the leader's list: status "recorded"
SYNC_MS = 15000            # the sync job runs in the kit's server and is polled every second


def test_kit_records_in_the_browser_syncs_and_the_leader_sees_it_on_the_hub(
        tmp_path, migrated_template, browser, page, page_log):
    # The hub: an admin, a leader and an officer, group 7 assigned to the officer, and one
    # household with Mai in it.
    hub = Node(tmp_path, "hub", migrated_template)
    kit = Node(tmp_path, "kit", migrated_template)
    kit.app.config["SYNC_JOBS_DIR"] = str(tmp_path / "sync-jobs")
    try:
        admin = make_user(hub.db, role="admin", username="admin1")
        make_user(hub.db, role="leader", username="leader1", display_name="Trần Thị Bình")
        officer = make_user(hub.db, role="officer", username="officer1",
                            display_name="Nguyễn Văn An")
        group7 = make_group(hub.db, name="Tổ dân phố số 7", target_adults=720)
        visit_queries.assign(hub.db, WARD_A, group7["id"], officer["id"], by=None)
        household = make_household(hub.db, group=group7, house_number="8", lane="Ngõ 52",
                                   street="Tô Ngọc Vân")
        mai = make_resident(hub.db, household, full_name="Phạm Thị Mai",
                            dob=date(1985, 6, 1), gender="female", relation="head")

        with serving(hub.app, "hub") as hub_url, serving(kit.app, "kit") as kit_url:
            # The kit joins over the LAN: the real /sync/push (join) and /sync/pull.
            _, code = enrol.add_kit(hub.db, name="Tổ công tác 1", ward_code=WARD_A,
                                    group_id=None, by=admin["id"])
            joined = client.join(kit.db, hub_url, code)
            assert joined["kit"]["hub_url"] == hub_url
            assert kit.count("users") == 3 and kit.count("residents") == 1

            # The officer, on the kit, with the hub's password: Today lists the household.
            household_url = f"{kit_url}/households/{household['id']}"
            log_in(page, kit_url, "officer1")
            item = page.locator(f"#today-{household['id']}")
            expect(item).to_have_attribute("data-state", "to_visit")
            item.locator("a").click()
            expect(page).to_have_url(f"{household_url}/visits")

            # A visit: done.
            page.click("label.outcome-done")
            page.click("#visit-save")
            expect(page.locator("#visit-form")).to_have_attribute("data-saved-outcome", "done")
            expect(page.locator("#household-timeline [data-kind=visit][data-outcome=done]")
                   ).to_have_count(1)

            # A licence for Mai: filled in, read back, recorded.
            page.goto(household_url)
            page.locator(f"#resident-{mai['id']} button[data-add=licence]").click()
            expect(page).to_have_url(re.compile(rf"^{re.escape(kit_url)}/declarations/[^/?#]+$"))
            declaration_id = page.url.rsplit("/", 1)[-1]
            record_licence(page)
            expect(page).to_have_url(household_url)
            expect(page.locator(f"#person-declaration-{declaration_id}")).to_have_attribute(
                "data-status", "recorded")

            # Nothing reached the hub yet.
            assert hub.count("visits") == 0 and hub.count("declarations") == 0

            # Sync now, from the kit's /sync page; wait for the finished state.
            page.goto(f"{kit_url}/sync")
            expect(page.locator("#sync-waiting")).not_to_have_text("0")
            page.click("#sync-now")
            expect(page.locator("#sync-done")).to_be_visible(timeout=SYNC_MS)
            expect(page.locator("#sync-error")).to_have_count(0)
            assert hub.count("visits") == 1 and hub.count("declarations") == 1

            # The leader, on the hub: the visit counts in the progress table, and the
            # licence is in the declarations list, recorded.
            leader_context, leader = open_page(browser, page_log)
            try:
                log_in(leader, hub_url, "leader1")
                leader.goto(f"{hub_url}/progress")
                expect(leader.locator(f"#progress-{group7['id']} [data-col=visited]")
                       ).to_contain_text("1 / 1")
                leader.goto(f"{hub_url}/households/{household['id']}")
                expect(leader.locator("#household-timeline [data-outcome=done]")
                       ).to_have_count(1)
                expect(leader.locator("#household-timeline")).to_contain_text("Nguyễn Văn An")
                leader.goto(f"{hub_url}/declarations")
                row = leader.locator(f"#declaration-{declaration_id}")
                expect(row).to_contain_text("Phạm Thị Mai")
                expect(row).to_contain_text(LICENCE_NO)
                expect(row).to_contain_text(RECORDED)
            finally:
                leader_context.close()
    finally:
        hub.db.close()
        kit.db.close()
    assert_clean(page_log)
