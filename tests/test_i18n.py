"""Translations: every extracted string is translated in both catalogues, the committed
.mo files match their .po files, and the interface is Vietnamese until the user switches."""
import gettext
import io
import pathlib
import re
import subprocess
import sys

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tests.conftest import csrf_from
from tests.factories import make_group, make_user

ROOT = pathlib.Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "wardkit" / "translations"
LANGUAGES = ("vi", "en")
# Same placeholders in msgid and msgstr, or formatting raises (or silently drops a value).
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def po_path(lang: str) -> pathlib.Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


def mo_path(lang: str) -> pathlib.Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo"


def read_catalog(path: pathlib.Path, lang: str | None = None):
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def key(message):
    """Return a hashable msgid (plural entries have a tuple of ids)."""
    return tuple(message.id) if isinstance(message.id, (list, tuple)) else message.id


def pybabel() -> list[str]:
    """Return the command for the virtualenv's pybabel (next to this Python)."""
    exe = pathlib.Path(sys.executable).parent / "pybabel"
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "import sys; from babel.messages.frontend import main; "
                                  "sys.exit(main())"]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """Run the Makefile's extraction into a temporary .pot; return (catalog, scanned files)."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    result = subprocess.run(
        [*pybabel(), "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext",
         "-o", str(pot), "--no-location", "--sort-output", "."],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    scanned = re.findall(r"^extracting messages from (\S+)", result.stdout + result.stderr,
                         re.MULTILINE)
    return read_catalog(pot), scanned


def test_extraction_scans_only_the_app_and_templates(extracted):
    catalog, scanned = extracted
    assert scanned, "pybabel reported no files"
    outside = [p for p in scanned if not p.startswith(("wardkit/", "templates/"))]
    assert not outside, f"babel.cfg scans files outside wardkit/ and templates/: {outside}"
    assert any(p.startswith("templates/") for p in scanned)
    assert len([m for m in catalog if m.id]) > 50


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_extracted_string_is_translated(extracted, lang):
    """A new _() string without a translation fails here: run `make translations` and
    translate it in both .po files."""
    template, _ = extracted
    catalog = read_catalog(po_path(lang), lang)
    assert str(catalog.locale) == lang
    assert catalog.charset.lower() == "utf-8"
    assert not catalog.fuzzy, f"{lang}: the catalogue header is marked fuzzy"
    missing, untranslated, fuzzy = [], [], []
    for msg in template:
        if not msg.id:
            continue
        entry = catalog.get(msg.id)
        if entry is None:
            missing.append(key(msg))
        elif entry.fuzzy:
            fuzzy.append(key(msg))
        elif not entry.string or (isinstance(entry.string, tuple)
                                  and not all(entry.string)):
            untranslated.append(key(msg))
    assert not missing, f"{lang}: not in the .po (run `make translations`): {missing}"
    assert not fuzzy, f"{lang}: fuzzy entries: {fuzzy}"
    assert not untranslated, f"{lang}: untranslated entries: {untranslated}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_their_placeholders(lang):
    catalog = read_catalog(po_path(lang), lang)
    problems = []
    for msg in catalog:
        if not msg.id:
            continue
        ids = msg.id if isinstance(msg.id, tuple) else (msg.id,)
        strings = msg.string if isinstance(msg.string, tuple) else (msg.string,)
        expected = sorted(set(PLACEHOLDER.findall(ids[-1])))
        for s in strings:
            if sorted(set(PLACEHOLDER.findall(s))) != expected:
                problems.append((ids[0], s))
    assert not problems, f"{lang}: placeholders differ: {problems}"


def test_vietnamese_has_one_plural_form():
    catalog = read_catalog(po_path("vi"), "vi")
    assert catalog.num_plurals == 1
    assert "nplurals=1; plural=0;" in catalog.plural_forms


def test_english_repeats_the_msgid():
    catalog = read_catalog(po_path("en"), "en")
    for msg in catalog:
        if msg.id:
            assert msg.string == msg.id, msg.id


def _gnu_catalog(data: bytes) -> dict:
    """Return the msgid -> msgstr map of a compiled catalogue, without its header."""
    entries = dict(gettext.GNUTranslations(io.BytesIO(data))._catalog)
    entries.pop("", None)
    return entries


@pytest.mark.parametrize("lang", LANGUAGES)
def test_committed_mo_matches_its_po(lang):
    """The .mo files are committed so the app runs without compiling: they must hold
    exactly what the .po says. Fix with `make translations` (or `pybabel compile`)."""
    assert mo_path(lang).exists(), f"{mo_path(lang)} is missing: run `make translations`"
    buf = io.BytesIO()
    write_mo(buf, read_catalog(po_path(lang), lang))
    expected = _gnu_catalog(buf.getvalue())
    committed = _gnu_catalog(mo_path(lang).read_bytes())
    assert committed.keys() == expected.keys(), (
        f"{lang}: .mo is stale; only in .po: {sorted(map(str, expected.keys() - committed.keys()))}"
        f"; only in .mo: {sorted(map(str, committed.keys() - expected.keys()))}")
    changed = sorted(str(k) for k in expected if expected[k] != committed[k])
    assert not changed, f"{lang}: .mo is stale for {changed}"


def switch_language(client, lang: str, next_path: str = "/login"):
    page = client.get(next_path)
    return client.post("/language", data={
        "lang": lang, "next": next_path, "csrf_token": csrf_from(page.text)})


def test_login_page_is_vietnamese_by_default_and_switches_to_english(client):
    r = client.get("/login")
    assert r.status_code == 200
    assert '<html lang="vi">' in r.text
    assert "Đăng nhập" in r.text
    assert "Tên đăng nhập" in r.text and "Mật khẩu" in r.text
    assert "Sign in" not in r.text

    r = switch_language(client, "en")
    assert r.status_code == 303 and r.headers["Location"] == "/login"

    r = client.get("/login")
    assert '<html lang="en">' in r.text
    assert "Sign in" in r.text and "Username" in r.text
    assert "Đăng nhập" not in r.text

    switch_language(client, "vi")
    r = client.get("/login")
    assert '<html lang="vi">' in r.text and "Đăng nhập" in r.text


def test_unknown_language_is_ignored(client):
    switch_language(client, "fr")
    r = client.get("/login")
    assert '<html lang="vi">' in r.text and "Đăng nhập" in r.text


def test_form_errors_follow_the_language(client):
    page = client.get("/login")
    r = client.post("/login", data={"username": "", "password": "",
                                    "csrf_token": csrf_from(page.text)})
    assert r.status_code == 422
    assert "Vui lòng nhập tên đăng nhập." in r.text
    switch_language(client, "en")
    page = client.get("/login")
    r = client.post("/login", data={"username": "", "password": "",
                                    "csrf_token": csrf_from(page.text)})
    assert "Enter your username." in r.text


def test_home_page_in_vietnamese_with_plural_and_role(client, db, auth):
    make_user(db, username="an", role="officer")
    make_group(db, target_adults=600)
    make_group(db, target_adults=650)
    auth.login("an")
    r = client.get("/")
    assert r.status_code == 200
    assert '<html lang="vi">' in r.text
    assert "Đăng xuất" in r.text and "Cán bộ" in r.text
    assert "2 tổ dân phố" in r.text
    assert "1.250 người từ 15 tuổi trở lên cần tiếp cận" in r.text


def test_language_choice_survives_login(client, db, auth):
    make_user(db, username="an", role="officer")
    make_group(db, target_adults=1)
    switch_language(client, "en")
    auth.login("an")
    r = client.get("/")
    assert '<html lang="en">' in r.text
    assert "Sign out" in r.text and "Officer" in r.text
    assert "1 group" in r.text and "1 groups" not in r.text


def test_error_page_is_translated(client):
    r = client.get("/no-such-page")
    assert r.status_code == 404
    assert "Không tìm thấy" in r.text


def test_each_request_looks_its_catalogue_up_once_and_force_locale_still_switches(app):
    """wardkit.i18n keeps the request's catalogue; a batch job's force_locale (its user's
    language) and the next request's language must still win."""
    from flask import session
    from flask_babel import force_locale, gettext
    with app.test_request_context():
        assert gettext("Household registered.") == "Đã thêm hộ gia đình."
        with force_locale("en"):
            assert gettext("Household registered.") == "Household registered."
        assert gettext("Household registered.") == "Đã thêm hộ gia đình."
    with app.test_request_context():
        session["lang"] = "en"
        assert gettext("Household registered.") == "Household registered."
