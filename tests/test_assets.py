"""Light pages for the field Wi-Fi: compressed HTML and assets, fingerprinted static files
cached for a year, and nothing that must not be compressed or cached is."""
import gzip
import hashlib
import os
import pathlib
import re
from datetime import date

import pytest

from tests.factories import make_household, make_resident, make_user

STATIC = pathlib.Path(__file__).resolve().parent.parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"
GZIP = {"Accept-Encoding": "gzip, deflate"}
# Flask-WTF signs the CSRF token with the current time, so two fetches of the same page
# differ there and only there.
CSRF_VALUE = re.compile(r'(csrf_token" value="|"X-CSRFToken": &#34;|X-CSRFToken&#34;: &#34;)'
                        r'[^"&]+')


def _same_page(html: str) -> str:
    return CSRF_VALUE.sub(r"\1TOKEN", html)


@pytest.fixture
def household(db):
    household = make_household(db, house_number="12")
    make_resident(db, household, full_name="Nguyễn Thị Lành", dob=date(1950, 2, 3),
                  cccd="001150012345", phone="0912345678")
    return household


def test_page_is_gzipped_and_decompresses_to_the_same_html(client, officer, household):
    url = f"/households/{household['id']}"
    plain = client.get(url)
    packed = client.get(url, headers=GZIP)
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert len(packed.data) < len(plain.data) / 2
    html = gzip.decompress(packed.data).decode()
    assert "Nguyễn Thị Lành" in html
    assert _same_page(html) == _same_page(plain.text)


def test_compressed_pages_with_personal_data_stay_no_store_under_the_csp(client, officer,
                                                                         household):
    for url in (f"/households/{household['id']}", "/residents", "/today"):
        r = client.get(url, headers=GZIP)
        assert r.status_code == 200, url
        assert r.headers["Content-Encoding"] == "gzip", url
        assert r.headers["Cache-Control"] == "no-store", url
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in r.headers["Content-Security-Policy"]


def test_htmx_fragment_is_compressed_too(client, officer, auth, db):
    household = make_household(db, house_number="3")
    for k in range(20):
        make_resident(db, household, full_name=f"Trần Văn Bình {k}")
    r = auth.post("/residents/search", {"q": "tran van binh"},
                  headers={**GZIP, "HX-Request": "true", "HX-Target": "residents-results"})
    assert r.status_code == 200
    assert r.headers["Content-Encoding"] == "gzip"
    html = gzip.decompress(r.data).decode()
    assert "<html" not in html and "Trần Văn Bình 19" in html


def _fingerprint(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]


def test_base_links_css_and_js_by_content_fingerprint(client):
    html = client.get("/login").text
    for name in ("app.css", "htmx-2.0.11.min.js", "favicon.svg"):
        assert f"/static/{name}?v={_fingerprint(name)}" in html, name


@pytest.mark.parametrize("name", ["app.css", "htmx-2.0.11.min.js"])
def test_fingerprinted_static_is_cached_for_a_year_and_compressed(client, name):
    r = client.get(f"/static/{name}?v={_fingerprint(name)}", headers=GZIP)
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == IMMUTABLE
    assert r.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(r.data) == (STATIC / name).read_bytes()


@pytest.mark.parametrize("query", ["", "?v=0123456789"])
def test_static_without_the_current_fingerprint_is_revalidated(client, query):
    r = client.get(f"/static/app.css{query}")
    assert r.status_code == 200
    assert "immutable" not in r.headers.get("Cache-Control", "")
    assert "max-age=31536000" not in r.headers.get("Cache-Control", "")


def test_a_changed_file_gets_a_new_fingerprint(app, tmp_path):
    from flask import url_for
    (tmp_path / "app.css").write_text("body { color: black }")
    app.static_folder = str(tmp_path)
    with app.test_request_context():
        before = url_for("static", filename="app.css")
        (tmp_path / "app.css").write_text("body { color: navy; }")
        os.utime(tmp_path / "app.css", ns=(1, 1))  # a new mtime, whatever the clock
        after = url_for("static", filename="app.css")
    assert before != after
    expected = hashlib.sha256(b"body { color: navy; }").hexdigest()[:10]
    assert after == f"/static/app.css?v={expected}"
    r = app.test_client().get(before)  # an old page's link: the file, not cached for long
    assert r.data == b"body { color: navy; }"
    assert "immutable" not in r.headers.get("Cache-Control", "")


def test_range_request_on_static_is_not_compressed(client):
    r = client.get(f"/static/app.css?v={_fingerprint('app.css')}",
                   headers={**GZIP, "Range": "bytes=0-99"})
    assert r.status_code == 206
    assert "Content-Encoding" not in r.headers
    assert r.data == (STATIC / "app.css").read_bytes()[:100]


def test_small_responses_are_not_compressed(client):
    r = client.get("/healthz", headers=GZIP)
    assert r.status_code == 200
    assert "Content-Encoding" not in r.headers
    assert r.get_json()["status"] == "ok"


def test_csv_download_is_sent_as_it_is(client, db, auth):
    make_user(db, username="lan", role="leader")
    for k in range(40):
        make_household(db, house_number=str(k + 1))
    auth.login("lan")
    r = client.get("/progress.csv", headers=GZIP)
    assert r.status_code == 200
    assert "Content-Encoding" not in r.headers
    assert r.data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs, readable as is


def test_pdf_is_not_gzipped(client, officer, household):
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:  # Pango missing: `make test` installs it
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"WeasyPrint cannot load: {exc}")
        pytest.skip(f"WeasyPrint cannot load: {exc}")
    r = client.get(f"/households/{household['id']}/sheet.pdf", headers=GZIP)
    assert r.status_code == 200
    assert r.mimetype == "application/pdf"
    assert "Content-Encoding" not in r.headers
    assert r.data.startswith(b"%PDF-")
