"""Login, throttling, server-side sessions, timeouts, password rules, admin user pages."""
import re

import pytest

from wardkit import audit
from wardkit.auth import queries
from tests.conftest import csrf_from
from tests.factories import PASSWORD, WARD_B, make_user


def cookie_value(client):
    cookie = client.get_cookie("wardkit")
    return cookie.value if cookie else None


def is_logged_in(client) -> bool:
    r = client.get("/")
    return r.status_code == 200


def test_login_page_is_public_and_vietnamese_form(client):
    r = client.get("/login")
    assert r.status_code == 200
    assert 'name="username"' in r.text and 'name="password"' in r.text
    assert 'name="csrf_token"' in r.text


def test_login_success_redirects_home(client, db, auth):
    make_user(db, username="an")
    r = auth.login("an")
    assert r.status_code == 303 and r.headers["Location"] == "/"
    assert is_logged_in(client)


def test_username_is_case_insensitive(client, db, auth):
    make_user(db, username="Nguyen.An")
    assert auth.login("nguyen.an").status_code == 303


def test_login_failure_shows_message_and_stays_anonymous(client, db, auth):
    make_user(db, username="an")
    r = auth.login("an", "not the password")
    assert r.status_code == 422
    assert 'class="field-error"' in r.text
    assert not is_logged_in(client)
    r = auth.login("nobody", PASSWORD)
    assert r.status_code == 422


def test_login_redirects_to_safe_next_only(client, db, auth):
    make_user(db, username="an")
    page = client.get("/login?next=/password")
    r = client.post("/login?next=/password", data={
        "username": "an", "password": PASSWORD, "csrf_token": csrf_from(page.text)})
    assert r.headers["Location"] == "/password"
    auth.logout()
    page = client.get("/login")
    r = client.post("/login?next=//evil.example/x", data={
        "username": "an", "password": PASSWORD, "csrf_token": csrf_from(page.text)})
    assert r.headers["Location"] == "/"


def test_anonymous_is_sent_to_login(client):
    r = client.get("/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")


def test_anonymous_htmx_request_gets_hx_redirect(client, db):
    r = client.get("/", headers={"HX-Request": "true"})
    assert r.status_code == 401
    assert r.headers["HX-Redirect"].startswith("/login")


def test_eleventh_failure_is_throttled(client, db, auth, fake_clock):
    make_user(db, username="an")
    for _ in range(10):
        assert auth.login("an", "wrong password").status_code == 422
    r = auth.login("an", "wrong password")
    assert r.status_code == 429
    retry = int(r.headers["Retry-After"])
    assert 0 < retry <= 600
    # A locked account gets the same answer for the right password.
    r = auth.login("an", PASSWORD)
    assert r.status_code == 429
    assert not is_logged_in(client)
    assert [e["action"] for e in audit.entries(db, action="login_locked")] == [
        "login_locked", "login_locked"]
    # When the window has passed, the right password works again.
    fake_clock.advance(seconds=retry + 1)
    assert auth.login("an", PASSWORD).status_code == 303


def test_throttle_per_client_address_across_usernames(app, db, fake_clock):
    make_user(db, username="an")
    client = app.test_client()
    page = client.get("/login")
    token = csrf_from(page.text)
    for n in range(10):
        client.post("/login", data={"username": f"guess{n}", "password": "x" * 8,
                                    "csrf_token": token})
    r = client.post("/login", data={"username": "an", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429
    # Another address is not affected.
    other = app.test_client()
    page = other.get("/login", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    r = other.post("/login", data={"username": "an", "password": PASSWORD,
                                   "csrf_token": csrf_from(page.text)},
                   environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.status_code == 303


def test_throttle_holds_across_app_instances(app, db_path, db, fake_clock):
    """Failures are counted in SQLite, so another process (app) sees them."""
    from wardkit import create_app
    from tests.conftest import TEST_CONFIG
    make_user(db, username="an")
    for _ in range(10):
        c = app.test_client()
        c.post("/login", data={"username": "an", "password": "wrong password",
                               "csrf_token": csrf_from(c.get("/login").text)})
    second = create_app({**TEST_CONFIG, "DATABASE": str(db_path)}).test_client()
    r = second.post("/login", data={"username": "an", "password": PASSWORD,
                                    "csrf_token": csrf_from(second.get("/login").text)})
    assert r.status_code == 429


def test_logout_then_replayed_cookie_is_anonymous(client, db, auth):
    make_user(db, username="an")
    auth.login("an")
    stolen = cookie_value(client)
    assert is_logged_in(client)
    r = auth.logout()
    assert r.status_code == 303
    assert not is_logged_in(client)
    client.set_cookie("wardkit", stolen)
    assert not is_logged_in(client)


def test_logout_requires_post(client, db, auth):
    make_user(db, username="an")
    auth.login("an")
    assert client.get("/logout").status_code == 405
    assert is_logged_in(client)


def test_new_session_id_at_login(client, db, auth):
    make_user(db, username="an")
    client.get("/login")
    before = cookie_value(client)
    auth.login("an")
    after = cookie_value(client)
    assert before != after
    sessions = list(db.query("SELECT id_hash FROM user_sessions"))
    assert len(sessions) == 1
    assert len(sessions[0]["id_hash"]) == 64  # SHA-256 hex: the raw token is never stored


def test_session_cookie_carries_no_user_data(client, db, auth):
    import base64
    import zlib
    make_user(db, username="an", display_name="Nguyễn Văn An")
    auth.login("an")
    raw = cookie_value(client)
    payload = raw.lstrip(".").split(".")[0]
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if raw.startswith("."):
        data = zlib.decompress(data)
    text = data.decode()
    assert "an" not in text.replace("_fresh", "").replace("lang", "") or "Nguy" not in text
    user = queries.get_user_by_username(db, "an")
    assert user["id"] not in text  # only an opaque token, not even the user id


def test_idle_timeout_officer(client, db, auth, fake_clock):
    make_user(db, username="an")
    auth.login("an")
    fake_clock.advance(minutes=29)
    assert is_logged_in(client)
    fake_clock.advance(minutes=29)  # activity 29 minutes ago is still within 30
    assert is_logged_in(client)
    fake_clock.advance(minutes=31)
    assert not is_logged_in(client)
    row = db.execute("SELECT revoked_reason FROM user_sessions").fetchone()
    assert row[0] == "idle_timeout"


def test_an_old_kiosk_account_no_longer_signs_in(client, db):
    """A kiosk is an enrolled device now (tests/test_kiosk.py): an account with the kiosk
    role, left from before, is refused like a wrong password."""
    from tests.conftest import csrf_from
    make_user(db, username="kiosk1", role="kiosk")
    page = client.get("/login")
    r = client.post("/login", data={"username": "kiosk1", "password": "correct horse battery",
                                    "csrf_token": csrf_from(page.text)})
    assert r.status_code == 422
    assert not is_logged_in(client)


def test_absolute_timeout_twelve_hours(client, db, auth, fake_clock):
    make_user(db, username="an")
    auth.login("an")
    for _ in range(12 * 3):  # busy all day, never idle for long
        fake_clock.advance(minutes=20)
        if not is_logged_in(client):
            break
    assert not is_logged_in(client)
    row = db.execute("SELECT revoked_reason FROM user_sessions").fetchone()
    assert row[0] == "absolute_timeout"


def test_no_remember_me_and_cookie_flags(client, db, auth):
    make_user(db, username="an")
    r = auth.login("an")
    set_cookies = r.headers.getlist("Set-Cookie")
    assert not any("remember_token" in c for c in set_cookies)
    session_cookie = next(c for c in set_cookies if c.startswith("wardkit="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert "Expires" not in session_cookie  # ends with the browser; the server enforces limits
    assert "Secure" not in session_cookie  # plain http on the ward LAN unless WARDKIT_HTTPS=1


def test_https_mode_secure_host_cookie(db_path):
    from wardkit import create_app
    from tests.conftest import TEST_CONFIG
    app = create_app({**TEST_CONFIG, "DATABASE": str(db_path), "HTTPS": True})
    r = app.test_client().get("/login", base_url="https://localhost")
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("__Host-wardkit=") and "Secure" in cookie and "Path=/" in cookie


def test_deactivated_user_next_request_goes_to_login(app, client, db, auth):
    admin = make_user(db, username="boss", role="admin")
    officer = make_user(db, username="an")
    auth.login("an")
    assert is_logged_in(client)
    admin_client = app.test_client()
    from tests.conftest import Auth
    admin_auth = Auth(admin_client)
    admin_auth.login("boss")
    r = admin_auth.post(f"/admin/users/{officer['id']}/active", {"active": "0"})
    assert r.status_code == 303
    r = client.get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert auth.login("an").status_code == 422  # cannot sign in again either
    assert admin["id"]


def test_password_change_revokes_other_sessions(app, client, db, auth):
    make_user(db, username="an")
    tablet = app.test_client()
    from tests.conftest import Auth
    Auth(tablet).login("an")
    auth.login("an")
    old_cookie = cookie_value(client)
    r = auth.post("/password", {"current_password": PASSWORD,
                                "new_password": "mot cau dai de nho 2026",
                                "confirm_password": "mot cau dai de nho 2026"})
    assert r.status_code == 303
    assert is_logged_in(client)           # this device got a fresh session
    assert not is_logged_in(tablet)       # the other device is signed out
    client.set_cookie("wardkit", old_cookie)
    assert not is_logged_in(client)       # the pre-change cookie is dead too
    assert auth.login("an", "mot cau dai de nho 2026").status_code == 303


@pytest.mark.parametrize("new, field_error", [
    ("short", "8"),
    ("12345678", None),       # common password
    ("password123", None),
])
def test_password_rules(client, db, auth, new, field_error):
    make_user(db, username="an")
    auth.login("an")
    r = auth.post("/password", {"current_password": PASSWORD, "new_password": new,
                                "confirm_password": new})
    assert r.status_code == 422
    assert 'class="field-error"' in r.text
    if field_error:
        assert field_error in r.text
    assert auth.logout().status_code == 303
    assert auth.login("an", PASSWORD).status_code == 303  # unchanged


def test_long_passphrase_allowed(client, db, auth):
    make_user(db, username="an")
    auth.login("an")
    phrase = "Tổ dân phố số 7 cụm 1 phường Tây Hồ " * 5
    r = auth.post("/password", {"current_password": PASSWORD, "new_password": phrase,
                                "confirm_password": phrase})
    assert r.status_code == 303
    auth.logout()
    assert auth.login("an", phrase).status_code == 303


def test_password_stored_with_scrypt(db):
    make_user(db, username="an")
    assert queries.get_user_by_username(db, "an")["password_hash"].startswith("scrypt:")


# --- admin pages -------------------------------------------------------------------

def test_admin_creates_user_in_own_ward(client, db, auth):
    boss = make_user(db, username="boss", role="admin")
    auth.login("boss")
    r = auth.post("/admin/users", {"username": "le.binh", "display_name": "Lê Bình",
                                   "role": "officer", "password": "mat khau rat dai"})
    assert r.status_code == 303
    row = queries.get_user_by_username(db, "le.binh")
    assert row["ward_code"] == "00103" and row["role"] == "officer"
    assert row["updated_by"] == boss["id"]
    entry = audit.entries(db, action="user_created")[0]
    assert (entry["entity_id"], entry["user_id"], entry["ward_code"]) == (
        row["id"], boss["id"], "00103")


def _selected_role(html: str) -> list[str]:
    """Return the values of the selected options of the new-user form's role select."""
    select = re.search(r'<select[^>]*id="role".*?</select>', html, re.S).group(0)
    return re.findall(r'<option(?=[^>]*\bselected\b)[^>]*value="([a-z]+)"', select)


def test_new_user_role_starts_on_least_privileged(client, db, auth):
    make_user(db, username="boss", role="admin")
    auth.login("boss")
    r = client.get("/admin/users")
    assert r.status_code == 200
    assert _selected_role(r.text) == ["viewer"]
    # A rejected form keeps what the admin chose instead of falling back.
    r = auth.post("/admin/users", {"username": "", "display_name": "A", "role": "officer",
                                   "password": "mat khau rat dai"})
    assert r.status_code == 422 and _selected_role(r.text) == ["officer"]


@pytest.mark.parametrize("data, field", [
    ({"username": "", "display_name": "A", "role": "officer", "password": "mat khau dai"}, "username"),
    ({"username": "bad name!", "display_name": "A", "role": "officer", "password": "mat khau dai"}, "username"),
    ({"username": "ok.name", "display_name": "A", "role": "superuser", "password": "mat khau dai"}, "role"),
    ({"username": "ok.name", "display_name": "A", "role": "officer", "password": "short"}, "password"),
    ({"username": "boss", "display_name": "A", "role": "officer", "password": "mat khau dai"}, "username"),
])
def test_admin_create_user_bad_input(client, db, auth, data, field):
    make_user(db, username="boss", role="admin")
    auth.login("boss")
    before = db.execute("SELECT count(*) FROM users").fetchone()[0]
    r = auth.post("/admin/users", data)
    assert r.status_code == 422
    assert f'id="{field}-error"' in r.text
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == before


def test_admin_reset_password_revokes_sessions(app, client, db, auth):
    make_user(db, username="boss", role="admin")
    officer = make_user(db, username="an")
    tablet = app.test_client()
    from tests.conftest import Auth
    Auth(tablet).login("an")
    auth.login("boss")
    r = auth.post(f"/admin/users/{officer['id']}/password", {"password": "mat khau moi dai"})
    assert r.status_code == 303
    assert not is_logged_in(tablet)
    assert Auth(tablet).login("an", "mat khau moi dai").status_code == 303


def test_admin_cannot_touch_other_ward_users(client, db, auth):
    make_user(db, username="boss", role="admin")
    stranger = make_user(db, username="hk", ward_code=WARD_B)
    auth.login("boss")
    assert auth.post(f"/admin/users/{stranger['id']}/active", {"active": "0"}).status_code == 404
    assert client.get(f"/admin/users/{stranger['id']}/password").status_code == 404
    assert "<td>hk</td>" not in client.get("/admin/users").text.split("<tbody>")[1]
    assert queries.get_user(db, stranger["id"])["is_active"] == 1


@pytest.mark.parametrize("role", ["leader", "officer", "kiosk", "viewer"])
def test_only_admin_reaches_user_admin(client, db, auth, role):
    make_user(db, username="u", role=role)
    auth.login("u")
    assert client.get("/admin/users").status_code == (404 if role in ("viewer", "kiosk") else 403)


# --- command line --------------------------------------------------------------------

def test_create_user_command(runner, db):
    r = runner.invoke(args=["create-user", "chi.huy", "--role", "admin", "--ward", "103",
                            "--password", "mot mat khau dai"])
    assert r.exit_code == 0, r.output
    row = queries.get_user_by_username(db, "chi.huy")
    assert row["role"] == "admin" and row["ward_code"] == "00103"


def test_create_user_command_prompts_for_password(runner, db):
    r = runner.invoke(args=["create-user", "an", "--role", "officer", "--ward", "00103"],
                      input="mot mat khau dai\nmot mat khau dai\n")
    assert r.exit_code == 0, r.output
    assert queries.get_user_by_username(db, "an") is not None


@pytest.mark.parametrize("args, message", [
    (["--role", "officer", "--ward", "99999", "--password", "mot mat khau dai"], "no ward"),
    (["--role", "officer", "--ward", "103", "--password", "short"], "8"),
    (["--role", "god", "--ward", "103", "--password", "mot mat khau dai"], "god"),
])
def test_create_user_command_errors(runner, db, args, message):
    r = runner.invoke(args=["create-user", "an", *args])
    assert r.exit_code != 0
    assert message in r.output
    assert queries.get_user_by_username(db, "an") is None


def test_head_requests_are_reads(client, db, auth):
    """HEAD must never run the POST branch (a tablet's link preview or a proxy check)."""
    make_user(db, username="an")
    assert client.head("/login").status_code == 200
    auth.login("an")
    assert client.head("/password").status_code == 200
    assert db.execute("SELECT count(*) FROM login_attempts WHERE outcome = 'failure'"
                      ).fetchone()[0] == 0
