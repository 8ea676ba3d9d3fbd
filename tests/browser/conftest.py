"""Browser fixtures: the app served on a real socket, Debian's Chromium driven by Playwright,
and a page that records console messages, page errors, CSP violations and failed requests.

Chromium is not downloaded (`playwright install` has no network here): the system one at
/usr/bin/chromium (or $WARDKIT_CHROMIUM) is used. Without it the browser tests are skipped
locally, but fail in CI (CI=true), where a missing browser must never pass silently.
"""
import os
import pathlib
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from werkzeug.serving import make_server

from tests.conftest import TEST_CONFIG
from tests.factories import WARD_A, make_group, make_user
from wardkit import create_app

# WARDKIT_CHROMIUM points elsewhere on machines whose Chromium lives elsewhere.
CHROMIUM = pathlib.Path(os.environ.get("WARDKIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
# A 10-inch tablet held upright: the device the ward officers use.
TABLET_PORTRAIT = {"width": 800, "height": 1280}
# Playwright waits at most this long (ms) for anything, so a broken page fails fast.
TIMEOUT_MS = 5000


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str):
    """Skip on a developer machine; fail in CI, where the browser must be there."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: browser tests must run in CI)", pytrace=False)
    pytest.skip(reason)


@dataclass
class Seed:
    """What the `live_server` fixture put in the database (rows as inserted)."""

    officer: dict
    leader: dict
    group7: dict
    group12: dict


@pytest.fixture
def live_app(db_path):
    """The app on this test's database (the `app` fixture's recipe)."""
    return create_app({**TEST_CONFIG, "DATABASE": str(db_path)})


@pytest.fixture
def seed(live_app):
    """Seed ward 00103 (Phường Tây Hồ): officer1, leader1 and two residential groups."""
    from wardkit.db import get_db
    with live_app.app_context():
        db = get_db()
        return Seed(
            officer=make_user(db, role="officer", ward_code=WARD_A, username="officer1",
                              display_name="Nguyễn Văn An"),
            leader=make_user(db, role="leader", ward_code=WARD_A, username="leader1",
                             display_name="Trần Thị Bình"),
            group7=make_group(db, ward_code=WARD_A, name="Tổ dân phố số 7", target_adults=720),
            group12=make_group(db, ward_code=WARD_A, name="Tổ dân phố số 12"),
        )


@contextmanager
def serving(app, name: str = "live-server"):
    """Serve `app` on 127.0.0.1 (a free port) from a daemon thread; yield the base URL,
    e.g. "http://127.0.0.1:41234" (no trailing slash); shut down after."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"wardkit-{name}",
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture
def live_server(live_app, seed):
    """The seeded app served on a real socket (`serving`); yields its base URL."""
    with serving(live_app) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Launch Debian's headless Chromium once for the session."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as pw:
        # Playwright turns the back/forward cache off by default; a ward tablet's Chrome has
        # it on, and it decides what the Back button shows after signing out.
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS,
                                     ignore_default_args=["--disable-back-forward-cache"])
        try:
            yield browser
        finally:
            browser.close()


def _record_failure(page_log, req) -> None:
    # A navigation (a click, Back, a redirect) cancels the previous page's pending
    # static fetches — the favicon, or htmx still streaming from the cache — and Chromium
    # reports them as net::ERR_ABORTED. Browser behaviour, not the app's; a static file
    # that is really missing still shows up as a 404 in error_responses().
    if "/static/" in req.url and "ABORTED" in (req.failure or ""):
        return
    page_log.failed_requests.append((req.method, req.url, req.failure))


@dataclass
class PageLog:
    """Everything the page said or did wrong while a test ran."""

    console: list = field(default_factory=list)          # (type, text)
    page_errors: list = field(default_factory=list)      # uncaught exceptions
    csp_events: list = field(default_factory=list)       # securitypolicyviolation events
    failed_requests: list = field(default_factory=list)  # (method, url, failure)
    responses: list = field(default_factory=list)        # (status, method, url)

    def csp_violations(self) -> list:
        """Console messages about the Content Security Policy, plus the DOM
        `securitypolicyviolation` events reported by the init script."""
        console = [text for _, text in self.console if "Content Security Policy" in text]
        return console + self.csp_events

    def error_responses(self, allow=()) -> list:
        """Responses with a 4xx/5xx status, except the (status, path-suffix) pairs allowed."""
        return [(status, method, url) for status, method, url in self.responses
                if status >= 400 and not any(status == s and url.endswith(p) for s, p in allow)
                and not url.endswith("/favicon.ico")]

    def summary(self) -> str:
        return (f"console={self.console!r}\npage_errors={self.page_errors!r}\n"
                f"csp_events={self.csp_events!r}\nfailed_requests={self.failed_requests!r}")


# Runs in every document before the page's own scripts. It reports CSP violations through
# a Playwright binding (CDP, so not itself subject to the CSP and kept across navigations).
_CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (e) => {
  window.__wardkitCspViolation(
    `${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def page_log():
    return PageLog()


def open_page(browser, page_log):
    """Return (context, page): a fresh context (no cookies) at tablet-portrait size in
    Hanoi time, whose console, errors, CSP violations, failed requests and responses
    are recorded into `page_log`. The caller closes the context."""
    context = browser.new_context(viewport=TABLET_PORTRAIT, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh")
    context.set_default_timeout(TIMEOUT_MS)
    context.expose_binding("__wardkitCspViolation",
                           lambda source, text: page_log.csp_events.append(text))
    context.add_init_script(_CSP_LISTENER)
    page = context.new_page()
    page.on("console", lambda msg: page_log.console.append((msg.type, msg.text)))
    page.on("pageerror", lambda exc: page_log.page_errors.append(str(exc)))
    page.on("requestfailed", lambda req: _record_failure(page_log, req))
    page.on("response", lambda resp: page_log.responses.append(
        (resp.status, resp.request.method, resp.url)))
    return context, page


@pytest.fixture
def page(browser, page_log):
    """A fresh page for the test (see `open_page`)."""
    context, page = open_page(browser, page_log)
    try:
        yield page
    finally:
        context.close()
