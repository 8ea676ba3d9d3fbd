"""Touch targets on every staff page (Chromium, tablet portrait): everything a finger can
tap — links, buttons, inputs, selects, summaries, labels that point at a control — is at
least 48 px high, with real data on the pages (a household of three, declarations in
several states, an assigned round, a second user).

A checkbox or radio counts by its label (that is what the finger hits); a control that
is visually hidden (the sr-only labels for screen readers, a closed <details>) is not a
target. A failure lists every offender as (page, text, height).
"""
from datetime import date

import pytest

from tests.browser.conftest import open_page
from tests.browser.test_shell import assert_clean, log_in
from tests.factories import WARD_A, make_declaration, make_household, make_resident, make_user

MIN_PX = 48

# Returns [tag, text, height, selector-ish hint] for every visible tappable element under
# MIN_PX. Checkboxes and radios are measured by their label (enclosing or label[for]).
_MEASURE = """
(minPx) => {
  const tappable = 'a[href], button, input:not([type=hidden]), select, textarea, summary, label[for]';
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width <= 2 || r.height <= 2) return false;  // sr-only, closed details
    const cs = getComputedStyle(el);
    return cs.visibility !== 'hidden' && cs.display !== 'none';
  };
  const height = (el) => {
    let h = el.getBoundingClientRect().height;
    if (el.matches('input[type=checkbox], input[type=radio]')) {
      const labels = [...(el.labels || [])].filter(visible);
      for (const label of labels) h = Math.max(h, label.getBoundingClientRect().height);
    }
    return h;
  };
  const out = [];
  for (const el of document.querySelectorAll(tappable)) {
    if (!visible(el)) continue;
    const h = height(el);
    if (h + 0.5 < minPx) {
      const text = (el.innerText || el.value || el.getAttribute('aria-label')
                    || el.name || el.id || '').trim().replace(/\\s+/g, ' ').slice(0, 50);
      const hint = el.id ? `#${el.id}` : (el.className ? `.${String(el.className).split(' ')[0]}` : '');
      out.push([el.tagName.toLowerCase() + hint, text, Math.round(h * 10) / 10]);
    }
  }
  return out;
}
"""


@pytest.fixture
def ward(live_app, seed):
    """Real data on every page: officer1 covers group 7, which has a household of three
    (CCCD, phone, someone needing support at home); declarations as a draft, recorded and
    submitted; an admin."""
    from wardkit.db import get_db
    from wardkit.visits import queries as vq
    with live_app.app_context():
        db = get_db()
        vq.assign(db, WARD_A, seed.group7["id"], seed.officer["id"], by=None)
        household = make_household(db, group=seed.group7, house_number="12", lane="Ngõ 5",
                                   street="Âu Cơ")
        mai = make_resident(db, household, full_name="Phạm Thị Mai", dob=date(1956, 3, 8),
                            relation="head", cccd="001156012345", phone="0912345678",
                            needs_home_support=True, support_reason="elderly_alone")
        hung = make_resident(db, household, full_name="Nguyễn Văn Hùng",
                             dob=date(1950, 3, 4), gender="male", relation="spouse")
        make_resident(db, household, full_name="Phạm Minh Khôi", dob=date(2016, 9, 1),
                      relation="grandchild", gender="male")
        admin = make_user(db, role="admin", ward_code=WARD_A, username="admin1",
                          display_name="Lê Văn Cường")
        by = seed.officer["id"]
        draft = make_declaration(db, hung, by=by)
        recorded = make_declaration(db, mai, kind="vehicle", status="recorded", by=by,
                                    lawful_basis="official_duty", consent_method=None)
        submitted = make_declaration(db, mai, status="submitted", by=by)
        return {"household": household, "mai": mai, "admin": admin, "draft": draft,
                "recorded": recorded, "submitted": submitted}


def _measure(page, name: str, offenders: list) -> None:
    page.wait_for_load_state("networkidle")
    offenders += [(name, *row) for row in page.evaluate(_MEASURE, MIN_PX)]


def _visit(page, base, paths: dict, offenders: list) -> None:
    for name, path in paths.items():
        response = page.goto(f"{base}{path}")
        assert response.status == 200, (name, path, response.status)
        _measure(page, name, offenders)


def test_every_tappable_thing_is_at_least_48px_high(live_server, browser, page, page_log,
                                                    seed, ward):
    hid, gid = ward["household"]["id"], seed.group7["id"]
    offenders: list = []

    log_in(page, live_server, "officer1")
    _visit(page, live_server, {
        "officer home": "/",
        "today": "/today",
        "residents": "/residents",
        "household": f"/households/{hid}",
    }, offenders)
    # The inline edit row and the opened "Issue a new QR code" warning.
    page.click("details.reissue > summary")
    page.locator(f"#resident-{ward['mai']['id']} a[hx-get$='/edit']").click()
    page.wait_for_selector(f"#resident-{ward['mai']['id']} form")
    _measure(page, "household (editing, QR warning open)", offenders)
    _visit(page, live_server, {
        "resident edit": f"/residents/{ward['mai']['id']}/edit",
        "visit": f"/households/{hid}/visits",
        "declarations": "/declarations",
        "declaration form": f"/declarations/{ward['draft']['id']}",
        "declaration read-back": f"/declarations/{ward['recorded']['id']}",
        "new household": "/households/new",
        "group sheets": f"/groups/{gid}/sheets",
        "import": "/import",
        "password": "/password",
    }, offenders)
    # A search result list.
    page.goto(f"{live_server}/residents")
    with page.expect_response(lambda r: r.url.endswith("/residents/search")):
        page.fill("#q", "pham")
    page.wait_for_selector(".result-link")
    _measure(page, "resident search results", offenders)

    leader_context, leader = open_page(browser, page_log)
    try:
        log_in(leader, live_server, "leader1")
        _visit(leader, live_server, {
            "leader home (groups)": "/",
            "progress": "/progress",
            "assignments": "/assignments",
            "leader declarations": "/declarations",
            "group edit": f"/groups/{gid}/edit",
            "leader group sheets": f"/groups/{gid}/sheets",
        }, offenders)
    finally:
        leader_context.close()

    admin_context, admin = open_page(browser, page_log)
    try:
        log_in(admin, live_server, "admin1")
        _visit(admin, live_server, {
            "users": "/admin/users",
            "set password": f"/admin/users/{seed.officer['id']}/password",
            "settings": "/settings",
        }, offenders)
    finally:
        admin_context.close()

    assert offenders == [], "under 48 px (page, element, text, height):\n" + "\n".join(
        map(repr, offenders))
    assert_clean(page_log)
