"""Resident search: the full-text index of names, ID digits and household addresses, and
the ranked query over it that the search box answers from.

The index is kept by the residents' actions in queries.py (`index_resident`,
`unindex_resident`) and by bulk inserts (`FTS_INSERT`, `fts_values`).
"""
import json
import re

from ..text import fold

PAGE_SIZE = 50

# How addresses are searched (README.md, "Find anyone"):
# the index holds the household's address as bare words and numbers, "Số 4, Ngõ 155,
# ngách 20, Phố Nhật Tân" as "4 155 20 nhat tan". A number is matched whole (81 is not
# 810 or 181); the words that only label a number (số, nhà, ngõ, ngách, hẻm, kiệt) are
# left out, and so is phố/đường at the start of a street, in the index and in the query
# alike, so typing them or not changes nothing. Numbers and letters written together are
# split ("6B" is "6 b"), so "6" finds number 6B as well.

_TOKEN = re.compile(r"\d+|[^\W\d_]+")
NUMBER_LABELS = frozenset({"so", "nha", "ngo", "ngach", "hem", "kiet"})
STREET_LABELS = frozenset({"pho", "duong"})
# Numbers this long are also looked for at the start and end of a CCCD or phone; shorter
# ones are only house and lane numbers (two digits would match 1% of every CCCD tail).
MIN_ID_DIGITS = 3


def _drop_number_labels(tokens: list[str]) -> list[str]:
    """Return the tokens without the label words that stand right before a number
    ("so 96" -> "96", "so nha 96" -> "96"; "ngo van chuong", a named lane, is kept)."""
    kept: list[str] = []
    for token in reversed(tokens):
        if token in NUMBER_LABELS and kept and kept[-1][0].isdigit():
            continue
        kept.append(token)
    return kept[::-1]


def address_terms(address_folded: str) -> str:
    """Return the text the search index holds for a folded household address: its words
    and whole numbers, without number labels or a street's leading phố/đường."""
    tokens = []
    for part in address_folded.split(","):
        words = _TOKEN.findall(part)
        if len(words) > 1 and words[0] in STREET_LABELS:
            words = words[1:]
        tokens += words
    return " ".join(_drop_number_labels(tokens))


def query_tokens(q: str) -> list[str]:
    """Return the search words of a search box term: folded, numbers split from letters,
    without number labels, and without phố/đường when a number makes it an address."""
    tokens = _drop_number_labels(_TOKEN.findall(fold(q)))
    if any(t.isdigit() for t in tokens):
        tokens = [t for t in tokens if t not in STREET_LABELS] or tokens
    return tokens


def _digit_tokens(*numbers: str | None) -> tuple[str, str]:
    """Return the numbers as search tokens, forwards and reversed: a prefix query on the
    reversed text finds "the last digits"."""
    present = [n for n in numbers if n]
    return " ".join(present), " ".join(n[::-1] for n in present)


FTS_INSERT = """INSERT INTO residents_fts (rowid, name, digits, digits_rev, address)
    VALUES (?, ?, ?, ?, ?)"""


def fts_values(row: dict, address_text: str) -> tuple:
    """Return the index row of a resident whose household's `address_terms` are
    `address_text`."""
    digits, digits_rev = _digit_tokens(row.get("cccd"), row.get("phone"))
    return (row["fts_rowid"], row["name_folded"], digits, digits_rev, address_text)


def index_resident(db, row: dict) -> None:
    """Add a resident row (with `address`, or its household's is looked up) to the index."""
    address = row.get("address")
    if address is None:
        address = db.execute("SELECT address FROM households WHERE id = ?",
                             [row["household_id"]]).fetchone()[0]
    db.execute(FTS_INSERT, fts_values(row, address_terms(fold(address))))


def unindex_resident(db, fts_rowid: int) -> None:
    """Drop the index entry `fts_rowid` (a resident removed or about to be re-indexed)."""
    db.execute("DELETE FROM residents_fts WHERE rowid = ?", [fts_rowid])


def match_expressions(q: str) -> tuple[str, str] | None:
    """Return the FTS5 MATCH expressions (exact, prefix) for a search box term, or None
    when it has no words.

    All words must match. `prefix` is what matches at all: a word is a prefix of a word
    of the name or address; a number is a whole house or lane number, or (3 digits or
    more) the start or end of the CCCD or phone. `exact` matches the rows where every
    word is whole (a whole name word, or the whole CCCD or phone); they are listed first.
    """
    exact, prefix = [], []
    for token in query_tokens(q):
        if token.isdigit():
            if len(token) >= MIN_ID_DIGITS:
                exact.append(f'(address : "{token}" OR digits : "{token}")')
                prefix.append(f'(address : "{token}" OR digits : "{token}"* '
                              f'OR digits_rev : "{token[::-1]}"*)')
            else:
                exact.append(f'address : "{token}"')
                prefix.append(exact[-1])
        else:
            exact.append(f'{{name address}} : "{token}"')
            prefix.append(f'{{name address}} : "{token}"*')
    if not prefix:
        return None
    return " AND ".join(exact), " AND ".join(prefix)


# Above this many index matches, walking the ward in name order beats sorting the matches.
DENSE_MATCHES = 2000

REFERENCE_RE = re.compile(r"^[A-Za-z0-9_-]{22,}$")

_RESULT_COLUMNS = """
    r.id, r.full_name, r.dob, r.gender, r.cccd, r.phone, r.relation, r.household_id,
    r.needs_home_support, h.address, g.name AS group_name
"""


def _capped_count(db, match: str) -> int:
    """Return how many index rows `match` finds, counting no further than DENSE_MATCHES."""
    return db.execute(
        "SELECT count(*) FROM (SELECT rowid FROM residents_fts WHERE residents_fts "
        "MATCH :match LIMIT :cap)", {"match": match, "cap": DENSE_MATCHES}).fetchone()[0]


def _matching_ids(db, params: dict, match: str, *, dense: bool, unless: str = "") -> list[str]:
    """Return the ids of the ward's residents in the index match set `params[match]`
    (and meeting `unless`), in name order, at most `params["n"]`. Soft-deleted residents
    are not in the index, so no deleted_at test is needed."""
    if dense:
        # Many matches ("ng", "thi"): walk the ward in name order on the covering index
        # and keep rows in the match set; a page fills after a few hundred rows.
        sql = f"""
            SELECT r.id FROM residents r
            WHERE r.ward_code = :ward AND r.fts_rowid IN
                (SELECT rowid FROM residents_fts WHERE residents_fts MATCH :{match}) {unless}
            ORDER BY r.sort_key, r.id LIMIT :n"""
    else:
        # Few matches: start from them (CROSS JOIN fixes the join order) and sort.
        sql = f"""
            SELECT r.id
            FROM (SELECT rowid AS fts_rowid FROM residents_fts
                  WHERE residents_fts MATCH :{match}) AS hits
            CROSS JOIN residents r ON r.fts_rowid = hits.fts_rowid
            WHERE r.ward_code = :ward {unless}
            ORDER BY r.sort_key, r.id LIMIT :n"""
    return [row[0] for row in db.execute(sql, params)]


def _ranked_ids(db, ward_code: str, q: str, want: int) -> list[str]:
    """Return the ids of the first `want` residents of the ward that `q` finds, best
    first: (1) the whole name is `q` (folded), (2) every word of `q` is whole, (3) the
    rest (a word only begins a word of the name or address, a number begins or ends a
    CCCD or phone); each tier in Vietnamese name order."""
    if REFERENCE_RE.match(q):
        return [row[0] for row in db.execute(
            """SELECT r.id FROM households h JOIN residents r ON r.household_id = h.id
               WHERE h.reference = :ref AND h.ward_code = :ward AND h.deleted_at IS NULL
                 AND r.deleted_at IS NULL
               ORDER BY r.sort_key, r.id LIMIT :n""",
            {"ref": q, "ward": ward_code, "n": want})]
    expressions = match_expressions(q)
    if expressions is None:
        return [row[0] for row in db.execute(
            """SELECT r.id FROM residents r WHERE r.ward_code = :ward AND r.deleted_at IS NULL
               ORDER BY r.sort_key, r.id LIMIT :n""", {"ward": ward_code, "n": want})]
    exact, prefix = expressions
    params = {"ward": ward_code, "exact": exact, "prefix": prefix,
              "whole": " ".join(query_tokens(q)), "n": want}
    # Each tier is asked only for what the page still needs: a page that the exact
    # matches fill never builds the (larger) prefix match set.
    # INDEXED BY: left alone, the planner walks the whole ward in name order instead.
    ids = [row[0] for row in db.execute(
        """SELECT id FROM residents INDEXED BY residents_ward_name_dob
           WHERE ward_code = :ward AND name_folded = :whole AND deleted_at IS NULL
           ORDER BY sort_key, id LIMIT :n""", params)]
    exact_count = _capped_count(db, exact)
    if len(ids) < want and exact_count:
        params["n"], params["taken"] = want - len(ids), json.dumps(ids)
        ids += _matching_ids(db, params, "exact", dense=exact_count >= DENSE_MATCHES,
                             unless="AND r.id NOT IN (SELECT value FROM json_each(:taken))")
    if len(ids) < want and prefix != exact:
        params["n"] = want - len(ids)
        unless = ("AND r.fts_rowid NOT IN (SELECT rowid FROM residents_fts "
                  "WHERE residents_fts MATCH :exact)" if exact_count else "")
        ids += _matching_ids(db, params, "prefix", unless=unless,
                             dense=_capped_count(db, prefix) >= DENSE_MATCHES)
    return ids


def search(db, ward_code: str, q: str, *, page: int = 0,
           per_page: int = PAGE_SIZE) -> tuple[list[dict], bool]:
    """Return one page of the ward's residents matching `q`, and whether more pages
    follow: first those whose whole name is `q`, then those every word of `q` matches
    whole ("hồ kim thư" finds Hồ Kim Thư before Hồ Kim Thương, "81 hong ha" the people
    at number 81), then those it matches by prefix, each in Vietnamese name order. An
    empty `q` lists everyone in name order; a household QR token finds that household's
    residents."""
    offset = page * per_page
    ids = _ranked_ids(db, ward_code, (q or "").strip(), offset + per_page + 1)[offset:]
    # The page is chosen on residents alone; details are joined for its rows only.
    rows = list(db.query(
        f"""SELECT {_RESULT_COLUMNS}
            FROM json_each(:ids) AS page
            CROSS JOIN residents r ON r.id = page.value
            JOIN households h ON h.id = r.household_id
            JOIN residential_groups g ON g.id = h.group_id
            ORDER BY page.key""", {"ids": json.dumps(ids)}))
    return rows[:per_page], len(rows) > per_page
