"""The SQL of the city's roll-up (docs/ARCHITECTURE.md#reports): the wards' report files
the city received (`city_reports`, one row per ward and day: the newest revision). Writes
here run inside the caller's `write()` transaction (wardkit/reports/city.py)."""
import json


def wards(db) -> list[dict]:
    """Return every ward of Hanoi in the wards table (code, name, kind, code_2025_10), in
    code order."""
    return [dict(zip(("code", "name", "kind", "code_2025_10"), row)) for row in db.execute(
        "SELECT code, name, kind, code_2025_10 FROM wards ORDER BY code")]


def ward_codes(db) -> set[str]:
    """Return the set of every ward code in the wards table."""
    return {row[0] for row in db.execute("SELECT code FROM wards")}


def stored(db, ward_code: str, report_date: str) -> dict | None:
    """Return the received report of the ward for the day (`id`, `revision`, `sha256`,
    `locked_at`, `received_at`), or None."""
    row = db.execute(
        """SELECT id, revision, sha256, locked_at, received_at FROM city_reports
           WHERE ward_code = ? AND report_date = ?""", [ward_code, report_date]).fetchone()
    return dict(zip(("id", "revision", "sha256", "locked_at", "received_at"), row)) \
        if row else None


def insert(db, row: dict) -> None:
    """Store a ward's report for a day the city had none of (`row`: every column)."""
    db.execute(
        """INSERT INTO city_reports (id, ward_code, report_date, revision, cutoff_at,
               locked_at, sha256, payload, received_at, received_by, replaced_revision)
           VALUES (:id, :ward_code, :report_date, :revision, :cutoff_at, :locked_at,
               :sha256, :payload, :received_at, :received_by, :replaced_revision)""", row)


def replace(db, report_id: str, row: dict) -> None:
    """Put a newer file of the same ward and day in place of the stored one, noting which
    revision it replaced. `received_at` and `received_by` keep the first receipt: a later
    correction does not make a ward late."""
    db.execute(
        """UPDATE city_reports SET revision = :revision, cutoff_at = :cutoff_at,
               locked_at = :locked_at, sha256 = :sha256, payload = :payload,
               replaced_revision = :replaced_revision
           WHERE id = :id""", {**row, "id": report_id})


def received(db, report_date: str) -> dict[str, dict]:
    """Return the reports received for the day by ward code: `revision`, `locked_at`,
    `received_at`, `replaced_revision` and `total` (the ward's counts, decoded)."""
    out = {}
    for code, revision, locked_at, received_at, replaced, total in db.execute(
            """SELECT ward_code, revision, locked_at, received_at, replaced_revision,
                      json_extract(payload, '$.total')
               FROM city_reports WHERE report_date = ?""", [report_date]):
        out[code] = {"revision": revision, "locked_at": locked_at, "received_at": received_at,
                     "replaced_revision": replaced, "total": json.loads(total)}
    return out

