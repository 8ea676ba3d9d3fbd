"""Fixtures: a fresh migrated SQLite file per test, the app, clients and a fake clock."""
import re
import shutil
from datetime import datetime, timedelta, timezone

import pytest

from wardkit import clock, create_app
from wardkit.db import apply_migrations, connect

TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    # A cheaper scrypt cost keeps the suite fast; the algorithm is the same.
    "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
}


JOB_FOLDERS = {"IMPORT_DIR": "imports", "SHEETS_DIR": "sheets", "SYNC_JOBS_DIR": "sync-jobs"}


@pytest.fixture(autouse=True)
def job_folders(tmp_path, monkeypatch):
    """Put every app's background-job folders (imports, sheets, sync) under this test's
    tmp_path instead of the repository's shared instance/: tests running side by side
    (`make test` runs 2 pytest-xdist workers) never read, sweep or leave each other's job
    files. Through the environment (WARDKIT_*), so apps built by a test itself and the
    `flask` processes it starts get them too; a test's own config still wins."""
    for setting, folder in JOB_FOLDERS.items():
        monkeypatch.setenv(f"WARDKIT_{setting}", str(tmp_path / "jobs" / folder))


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory):
    """Return the path of a database migrated once; tests copy it."""
    path = tmp_path_factory.mktemp("template") / "wardkit.db"
    db = connect(str(path))
    apply_migrations(db)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


@pytest.fixture(scope="session")
def latest_schema(migrated_template):
    """Return the name of the newest migration (what /healthz and init-db report)."""
    from wardkit.db import latest_migration
    db = connect(str(migrated_template))
    try:
        return latest_migration(db)
    finally:
        db.close()


@pytest.fixture
def db_path(tmp_path, migrated_template):
    """Return the path of this test's own freshly migrated database file."""
    path = tmp_path / "wardkit.db"
    shutil.copy(migrated_template, path)
    return path


@pytest.fixture
def app(db_path):
    """Return an app on this test's database."""
    return create_app({**TEST_CONFIG, "DATABASE": str(db_path)})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db(app, db_path):
    """Yield a connection of its own to the test's database (the app's settings).

    Not the app's `get_db()`: an app context held open by a fixture would be reused by
    every test-client request, sharing `g` (and flask-login's cached user) between them.
    """
    conn = connect(str(db_path))
    yield conn
    conn.close()


# Every test runs at this instant (Thursday 3 December 2026, 10:00 in Hanoi), whatever the
# machine's date: the clock is pinned before anything reads it (logins, sessions, "today").
# `make test` runs the suite a second time with the system date a year ahead to prove it.
PINNED_NOW = datetime(2026, 12, 3, 3, 0, tzinfo=timezone.utc)


class FakeClock:
    """A clock tests can move: `fake_clock.advance(minutes=31)`."""

    def __init__(self, start: datetime = PINNED_NOW):
        self.current = start

    def __call__(self):
        return self.current

    def advance(self, **kwargs):
        self.current += timedelta(**kwargs)


@pytest.fixture(autouse=True)
def fake_clock(monkeypatch):
    """Pin `wardkit.clock.now` for every test (autouse); tests that move time ask for it."""
    fake = FakeClock()
    monkeypatch.setattr(clock, "now", fake)
    return fake


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"'
                     r'|type="hidden" name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """Return the CSRF token of the first form in `html`."""
    m = CSRF_RE.search(html)
    assert m, "no csrf_token in page"
    return m.group(1) or m.group(2)


class Auth:
    """Log users in and out through the real login form."""

    def __init__(self, client):
        self.client = client
        self.is_kiosk = False

    def login(self, username, password="correct horse battery", follow=False):
        from tests.factories import KIOSK_NAMES
        if username in KIOSK_NAMES:
            return self.enrol_kiosk(username, KIOSK_NAMES[username], follow=follow)
        page = self.client.get("/login")
        return self.client.post("/login", data={
            "username": username, "password": password, "csrf_token": csrf_from(page.text),
        }, follow_redirects=follow)

    def enrol_kiosk(self, name, ward_code, follow=False):
        """Make this client an enrolled kiosk device called `name` through the real
        one-time enrolment link; return the link's POST response (303 to /kiosk)."""
        from wardkit.db import get_db
        from wardkit.kiosk import devices
        with self.client.application.test_request_context():
            _device, token = devices.enrol(get_db(), name=name, ward_code=ward_code, by=None)
        self.is_kiosk = True
        page = self.client.get(f"/kiosk/enrol/{token}")
        return self.client.post(f"/kiosk/enrol/{token}", data={
            "csrf_token": csrf_from(page.text)}, follow_redirects=follow)

    def token(self, path=None):
        """Return a CSRF token valid for this client's session (read from `path`, by
        default the home page, or a kiosk's start screen)."""
        path = path or ("/kiosk" if self.is_kiosk else "/")
        return csrf_from(self.client.get(path, follow_redirects=True).text)

    def post(self, path, data=None, **kwargs):
        """POST with this session's CSRF token added."""
        data = dict(data or {})
        data.setdefault("csrf_token", self.token())
        return self.client.post(path, data=data, **kwargs)

    def logout(self):
        return self.post("/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def officer(db, auth):
    """An officer of ward A (00103), signed in on `client`."""
    from tests.factories import make_user
    user = make_user(db, username="an", role="officer")
    auth.login("an")
    return user
