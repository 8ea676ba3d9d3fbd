"""CSRF, same-origin, headers, deny-by-default routes, error pages, request limits."""
import pytest

from wardkit.security import CSP, KIOSK_PUBLIC, PUBLIC_ENDPOINTS
from tests.conftest import csrf_from
from tests.factories import make_group, make_user


def groups_count(db):
    return db.execute("SELECT count(*) FROM residential_groups").fetchone()[0]


def test_post_without_csrf_token_is_refused_and_nothing_written(client, db, auth):
    make_user(db, username="lead", role="leader")
    auth.login("lead")
    r = client.post("/groups/", data={"name": "Tổ 99", "target_adults": "10"})
    assert r.status_code == 400
    assert groups_count(db) == 0
    r = client.post("/groups/", data={"name": "Tổ 99", "target_adults": "10",
                                      "csrf_token": "forged"})
    assert r.status_code == 400
    assert groups_count(db) == 0


def test_login_without_csrf_token_is_refused(client, db):
    make_user(db, username="an")
    r = client.post("/login", data={"username": "an", "password": "correct horse battery"})
    assert r.status_code == 400
    assert db.execute("SELECT count(*) FROM user_sessions").fetchone()[0] == 0


def test_htmx_csrf_header_is_accepted(client, db, auth):
    make_user(db, username="lead", role="leader")
    auth.login("lead")
    token = auth.token()
    r = client.post("/groups/", data={"name": "Tổ 5", "target_adults": "10"},
                    headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert r.status_code == 303
    assert groups_count(db) == 1


def test_cross_site_post_refused(client, db, auth):
    make_user(db, username="lead", role="leader")
    auth.login("lead")
    token = auth.token()
    r = client.post("/groups/", data={"name": "Tổ 5", "csrf_token": token},
                    headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    r = client.post("/groups/", data={"name": "Tổ 5", "csrf_token": token},
                    headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    assert groups_count(db) == 0


def test_token_in_body_of_every_page_for_htmx(client, db, auth):
    make_user(db, username="an")
    auth.login("an")
    html = client.get("/").text
    assert 'hx-headers="{&#34;X-CSRFToken&#34;: &#34;' in html


EXPECTED_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def test_csp_is_strict():
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'",
                      "img-src 'self' data:", "object-src 'none'", "base-uri 'none'",
                      "frame-ancestors 'none'", "form-action 'self'"):
        assert directive in CSP


def _pages(client, db, auth):
    make_user(db, username="boss", role="admin")
    group = make_group(db)
    yield "/login", client.get("/login")
    yield "/healthz", client.get("/healthz")
    yield "/static/app.css", client.get("/static/app.css")
    yield "/nowhere", client.get("/nowhere")
    auth.login("boss")
    for path in ("/", "/admin/users", "/password", f"/groups/{group['id']}/edit",
                 f"/groups/{group['id']}", "/groups/unknown-id/edit"):
        yield path, client.get(path)


def test_security_headers_on_every_response(client, db, auth):
    for path, r in _pages(client, db, auth):
        for name, value in EXPECTED_HEADERS.items():
            assert r.headers.get(name) == value, (path, name)
        if path.startswith("/static"):
            assert r.headers.get("Cache-Control") != "no-store"
        else:
            assert r.headers.get("Cache-Control") == "no-store", path


def test_templates_obey_the_csp():
    """No inline script, inline style, hx-on or js: in any template (they'd be blocked)."""
    import pathlib
    import re
    bad = re.compile(r"hx-on|<script>|<script[^>]*>[^<]|style=\"|\|\s*safe\b|js:")
    for path in pathlib.Path("templates").rglob("*.html"):
        assert not bad.search(path.read_text()), path


def test_htmx_configured_for_the_csp(client):
    html = client.get("/login").text
    for setting in ("&#34;allowEval&#34;: false", "&#34;allowScriptTags&#34;: false",
                    "&#34;includeIndicatorStyles&#34;: false", "&#34;historyCacheSize&#34;: 0",
                    "&#34;selfRequestsOnly&#34;: true", "&#34;code&#34;: &#34;422&#34;, &#34;swap&#34;: true"):
        assert setting in html, setting
    import re
    # Served from static/ only (no CDN), by its content fingerprint.
    assert re.search(r'<script src="/static/htmx-2\.0\.11\.min\.js\?v=[0-9a-f]{10}" defer>'
                     r'</script>', html)


def test_every_route_requires_login_or_is_public(app):
    """Deny by default: each endpoint is on the public list or declares its roles."""
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint in PUBLIC_ENDPOINTS | KIOSK_PUBLIC:
            continue
        assert getattr(view, "wardkit_roles", None), f"{rule.rule} declares no roles"
    # The two sync device routes authenticate the kit's key themselves (tests/test_sync.py).
    assert PUBLIC_ENDPOINTS == {"static", "auth.login", "home.healthz", "home.set_language",
                                "sync.push", "sync.pull"}
    # The kiosk's one-time enrolment link (tests/test_kiosk.py).
    assert KIOSK_PUBLIC == {"kiosk_devices.enrol"}


def test_every_protected_route_redirects_anonymous(app, client, db):
    group = make_group(db)
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS | KIOSK_PUBLIC:
            continue
        path = rule.rule.replace("<group_id>", group["id"]).replace("<user_id>", "x")
        method = "GET" if "GET" in rule.methods else "POST"
        r = client.open(path, method=method)
        if app.view_functions[rule.endpoint].wardkit_roles == {"kiosk"}:
            # The kiosk's screens say "this kiosk is not active" rather than ask a
            # resident to log in (POSTs: the CSRF check answers first).
            assert r.status_code == (400 if method == "POST" else 403), path
            continue
        if method == "POST":
            assert r.status_code in (302, 400), path  # CSRF refuses before anything
        else:
            assert r.status_code == 302 and "/login" in r.headers["Location"], path


def test_undeclared_route_is_refused(app, client, db, auth):
    @app.route("/forgotten")
    def forgotten():
        return "should never be served"
    make_user(db, username="boss", role="admin")
    auth.login("boss")
    r = client.get("/forgotten")
    assert r.status_code == 403
    assert "should never be served" not in r.text


@pytest.mark.parametrize("code", [400, 403, 404, 413, 422, 429, 500])
def test_error_pages_are_vietnamese_without_stack_traces(app, client, code):
    from flask import abort

    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the handler answers

    @app.route(f"/boom{code}")
    def boom():
        if code == 500:
            raise ZeroDivisionError("secret internals")
        abort(code)
    boom.wardkit_roles = None
    from wardkit import security
    security.PUBLIC_ENDPOINTS.add("boom")
    try:
        r = client.get(f"/boom{code}")
    finally:
        security.PUBLIC_ENDPOINTS.discard("boom")
    assert r.status_code == code
    assert '<html lang="vi">' in r.text
    assert "Traceback" not in r.text and "secret internals" not in r.text
    assert "Về trang chủ" in r.text


def test_404_page_in_vietnamese(client):
    r = client.get("/khong-co")
    assert r.status_code == 404
    assert "Không tìm thấy" in r.text


def test_request_too_large_is_413(client):
    r = client.post("/login", data={"username": "x" * (21 * 1024 * 1024)})
    assert r.status_code == 413


def test_too_many_form_parts_is_413(client):
    data = {f"f{n}": "1" for n in range(1100)}
    r = client.post("/login", data=data, content_type="multipart/form-data")
    assert r.status_code == 413


def test_healthz(client, latest_schema):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok"
    assert body["schema"] == latest_schema
    major, minor, patch = (int(p) for p in body["sqlite"].split(".")[:3])
    assert (major, minor, patch) >= (3, 51, 3)


def test_healthz_reports_broken_database(tmp_path):
    from wardkit import create_app
    from tests.conftest import TEST_CONFIG
    bad = tmp_path / "not-a-db"
    bad.write_bytes(b"this is not sqlite" * 100)
    r = create_app({**TEST_CONFIG, "DATABASE": str(bad)}).test_client().get("/healthz")
    assert r.status_code == 503
    assert r.get_json() == {"status": "error"}
