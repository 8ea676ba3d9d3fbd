"""A GET never writes: every GET route of the app, with real ids of this ward and of
another, as every role and signed out, leaves every table as it was — except the audit
log (reads of personal data are audited) and the session bookkeeping (last seen, login
attempts, the progress counts cache). A crawler, a link in a message or a prefetching
browser changes nothing."""
import hashlib

from tests.conftest import Auth
from tests.crawl import ROLES, seed_ward, urls
from tests.factories import WARD_A, WARD_B, make_user

# What a GET may write: the audit log of reads, the session bookkeeping, and the progress
# cache (counts only, rebuilt from the tables above whenever their generation moves: it
# holds no record of its own, so dropping it loses nothing).
MAY_CHANGE = {"audit_log", "user_sessions", "login_attempts", "progress_cache"}

def snapshot(db) -> dict:
    """Return {table: digest of all its rows} for every table a GET must not change."""
    tables = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    digests = {}
    for table in tables:
        if table in MAY_CHANGE:
            continue
        rows = db.execute(f'SELECT * FROM "{table}"').fetchall()
        digests[table] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
    return digests


def test_every_get_route_as_every_role_writes_nothing(app, db):
    users = {role: make_user(db, role=role, username=f"crawl.{role}") for role in ROLES}
    other_officer = make_user(db, role="officer", ward_code=WARD_B, username="other.officer")
    own = seed_ward(db, WARD_A, users["officer"]["id"], app)
    other = seed_ward(db, WARD_B, other_officer["id"], app)
    own["token"] = other["token"] = "0" * 32  # a sheet job that does not exist
    other["user_id"] = other_officer["id"]

    clients = {None: app.test_client()}
    for role in ROLES:
        clients[role] = app.test_client()
        assert Auth(clients[role]).login(f"crawl.{role}").status_code == 303

    before = snapshot(db)
    crawled = 0
    for role, client in clients.items():
        for ids in (own, other):
            for endpoint, url in urls(app, ids):
                resp = client.get(url)
                crawled += 1
                assert resp.status_code < 500, (role, url, resp.status_code)
                after = snapshot(db)
                changed = sorted(t for t in after if after[t] != before[t])
                assert not changed, f"GET {url} as {role or 'anonymous'} changed {changed}"
    assert crawled > 6 * 2 * 30


def test_get_on_new_declaration_is_refused(app, db, client, auth):
    """The route that once made a draft on GET answers 405 and writes nothing."""
    officer = make_user(db, role="officer", username="can.bo")
    ids = seed_ward(db, WARD_A, officer["id"])
    auth.login("can.bo")
    before = snapshot(db)
    for kind in ("licence", "vehicle"):
        resp = client.get(f"/residents/{ids['resident_id']}/declarations/new?kind={kind}")
        assert resp.status_code == 405
    assert snapshot(db) == before
