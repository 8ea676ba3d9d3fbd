"""Every page in both languages: a Vietnamese page shows no English sentence of the
catalogue and no stray English word ("or" in the read-back once), and no page in either
language shows a raw code ("sheets_printed" in the household history once)."""
import re
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po

from tests.conftest import Auth
from tests.crawl import seed_ward, urls
from tests.factories import WARD_A, make_user
from tests.test_i18n import po_path

# Pages a person reads (not the PDFs, CSV/XLSX files or the static files).
SKIP_ENDPOINTS = {"static", "home.healthz", "sheets.household_sheet", "sheets.group_sheets",
                  "sheets.job_pdf", "visits.progress_csv", "declaration_review.export_csv",
                  "declaration_review.export_xlsx"}
# English words that are never a Vietnamese syllable: standing alone in a Vietnamese page
# they are an untranslated string.
ENGLISH_WORDS = {"the", "and", "or", "of", "with", "for", "from", "this", "that", "your",
                 "you", "is", "are", "was", "were", "not", "please", "none", "yes", "save",
                 "cancel", "edit", "delete", "print", "search", "back", "next", "add",
                 "new", "never", "today", "visit", "household", "resident", "group"}
# Words of proper names and formats that are the same in both languages.
SAME_IN_BOTH = re.compile(r"iHanoi|VNeID|Zalo|OA|CCCD|GPLX|PDF|CSV|XLSX|QR|WardKit|Android|"
                          r"iPhone|App Store|Google Play|A4|OK|Email|Wi-Fi|URL|http\S*")
OLD_LICENCE = {"licence_no": "001234567891", "licence_class": "B2", "issued_on": "20/05/2019",
               "issuing_authority": "Sở GTVT Hà Nội", "lawful_basis": "official_duty",
               "channel": "home_visit"}
RAW_CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")


# Not checked: scripts and styles, and <code> — literal text such as the column names an
# import accepts, which are the same in every language.
LITERAL = ("script", "style", "template", "code")


class VisibleText(HTMLParser):
    """Collect what a person reads as the interface's words: text nodes and the readable
    attributes, not literal <code>."""

    def __init__(self):
        super().__init__()
        self.parts, self._hidden = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in LITERAL:
            self._hidden += 1
        for name, value in attrs:
            if name in ATTRIBUTES and value:
                self.parts.append(value)
            if tag == "input" and name == "value" and ("type", "submit") in attrs:
                self.parts.append(value or "")

    def handle_endtag(self, tag):
        if tag in LITERAL and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return "\n".join(parser.parts)


@pytest.fixture(scope="module")
def english_phrases():
    """Return the English msgids whose Vietnamese differs, cut at their placeholders into
    phrases of at least two words (single words are ENGLISH_WORDS' job)."""
    with po_path("vi").open("rb") as f:
        catalog = read_po(f, locale="vi")
    phrases = set()
    for message in catalog:
        if not message.id or isinstance(message.id, (list, tuple)):
            continue
        if message.string == message.id:
            continue
        for part in re.split(r"%\(\w+\)[sd]|%[sd]|<[^>]+>", message.id):
            part = SAME_IN_BOTH.sub(" ", part).strip(" .,:;!?()-—/\n")
            if len(re.findall(r"[A-Za-z]{2,}", part)) >= 2:
                phrases.add(part)
    return phrases


def crawl(app, db, lang):
    """Yield (role, url, visible text) of every page, in `lang`, as each field role."""
    users = {role: make_user(db, role=role, username=f"i18n.{role}.{lang}")
             for role in ("admin", "leader", "officer", "viewer")}
    ids = seed_ward(db, WARD_A, users["officer"]["id"], app)
    ids["token"] = "0" * 32
    for role, user in users.items():
        client = app.test_client()
        auth = Auth(client)
        assert auth.login(user["username"]).status_code == 303
        auth.post("/language", {"lang": lang})
        # What a household's history can show: a printed sheet, a new QR code.
        client.get(f"/households/{ids['household_id']}/sheet.pdf")
        auth.post(f"/households/{ids['household_id']}/reference", {"confirm": "1"})
        ids["reference"] = db.execute("SELECT reference FROM households WHERE id = ?",
                                      [ids["household_id"]]).fetchone()[0]
        for endpoint, url in urls(app, ids):
            if endpoint in SKIP_ENDPOINTS:
                continue
            resp = client.get(url)
            if resp.status_code != 200 or not resp.mimetype == "text/html":
                continue
            yield role, url, visible_text(resp.text)
        if role == "officer":
            # The read-back of an old B2 licence, with its restriction note.
            started = auth.post(f"/residents/{ids['resident_id']}/declarations/new",
                                {"kind": "licence"})
            readback = auth.post(started.headers["Location"] + "/record", OLD_LICENCE)
            assert readback.status_code == 200
            yield role, "read-back", visible_text(readback.text)


def test_vietnamese_pages_have_no_english(app, db, english_phrases):
    problems = []
    pages = 0
    for role, url, text in crawl(app, db, "vi"):
        pages += 1
        plain = SAME_IN_BOTH.sub(" ", text)
        for phrase in english_phrases:
            if phrase in plain:
                problems.append(f"{role} {url}: «{phrase}»")
        for word in re.findall(r"(?<![\w-])[a-z]+(?![\w-])", plain):
            if word in ENGLISH_WORDS:
                problems.append(f"{role} {url}: the word «{word}» in «"
                                + next(line for line in plain.splitlines()
                                       if re.search(rf"(?<![\w-]){word}(?![\w-])", line))
                                + "»")
        for code in RAW_CODE.findall(text):
            problems.append(f"{role} {url}: raw code «{code}»")
    assert pages > 40
    assert not problems, "\n".join(sorted(set(problems)))


def test_english_pages_show_no_raw_codes(app, db):
    problems = []
    for role, url, text in crawl(app, db, "en"):
        for code in RAW_CODE.findall(text):
            problems.append(f"{role} {url}: raw code «{code}»")
    assert not problems, "\n".join(sorted(set(problems)))
