"""The SQL of the daily reports: reading and storing report rows (docs/ARCHITECTURE.md#reports).
Writes here run inside the caller's `write()` transaction (wardkit/reports/snapshots.py)."""
import json


def _decoded(row) -> dict | None:
    if row is None:
        return None
    report = dict(row)
    report["figures"] = json.loads(report["figures"])
    return report


def get_report(db, ward_code: str, report_date: str, revision: int | None = None) -> dict | None:
    """Return the ward's report for the day (the newest revision unless `revision` is
    given), its `figures` decoded, or None."""
    rows = db.query(
        """SELECT * FROM reports WHERE ward_code = :ward AND report_date = :day
             AND (:revision IS NULL OR revision = :revision)
           ORDER BY revision DESC LIMIT 1""",
        {"ward": ward_code, "day": report_date, "revision": revision})
    return _decoded(next(iter(rows), None))


def revisions(db, ward_code: str, report_date: str) -> list[dict]:
    """Return every revision of the ward's report for the day, oldest first, with the
    names of who took and locked each (figures not decoded)."""
    return list(db.query(
        """SELECT r.id, r.revision, r.taken_at, r.taken_by, r.locked_at, r.reason,
                  r.signer_name, r.note, tb.display_name AS taken_by_name,
                  lb.display_name AS locked_by_name
           FROM reports r
           LEFT JOIN users tb ON tb.id = r.taken_by
           LEFT JOIN users lb ON lb.id = r.locked_by
           WHERE r.ward_code = ? AND r.report_date = ?
           ORDER BY r.revision""", [ward_code, report_date]))


def previous_report(db, ward_code: str, report_date: str) -> dict | None:
    """Return the newest revision of the ward's latest report before `report_date`, its
    figures decoded, or None."""
    rows = db.query(
        """SELECT * FROM reports WHERE ward_code = ? AND report_date < ?
           ORDER BY report_date DESC, revision DESC LIMIT 1""", [ward_code, report_date])
    return _decoded(next(iter(rows), None))


def history(db, ward_code: str, *, limit: int = 60) -> list[dict]:
    """Return the ward's report days, newest first: for each day its newest revision's
    `report_date`, `revision`, `taken_at`, `locked_at`, `taken_by` and the ward totals of
    adults, activated and target (from the stored figures)."""
    return list(db.query(
        """SELECT r.report_date, r.revision, r.taken_at, r.taken_by, r.locked_at,
                  json_extract(r.figures, '$.total.adults') AS adults,
                  json_extract(r.figures, '$.total.activated') AS activated,
                  json_extract(r.figures, '$.total.target_adults') AS target_adults,
                  json_extract(r.figures, '$.total.declarations') AS declarations
           FROM reports r
           WHERE r.ward_code = :ward AND r.revision = (
               SELECT max(revision) FROM reports
               WHERE ward_code = r.ward_code AND report_date = r.report_date)
           ORDER BY r.report_date DESC LIMIT :limit""", {"ward": ward_code, "limit": limit}))


def series(db, ward_code: str, until: str, *, days: int = 60) -> list[dict]:
    """Return the newest revision of each report up to `until`, oldest first, at most
    `days` of them: `report_date` and the decoded `figures`."""
    rows = db.execute(
        """SELECT r.report_date, r.figures FROM reports r
           WHERE r.ward_code = :ward AND r.report_date <= :until AND r.revision = (
               SELECT max(revision) FROM reports
               WHERE ward_code = r.ward_code AND report_date = r.report_date)
           ORDER BY r.report_date DESC LIMIT :days""",
        {"ward": ward_code, "until": until, "days": days}).fetchall()
    return [{"report_date": d, "figures": json.loads(f)} for d, f in reversed(rows)]


def insert_report(db, row: dict) -> bool:
    """Insert a report row unless that ward, day and revision exist already (another
    process took it first); return True when this call inserted it."""
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    cursor = db.execute(f"INSERT OR IGNORE INTO reports ({columns}) VALUES ({marks})",
                        list(row.values()))
    return cursor.rowcount == 1


def set_note(db, report_id: str, note: str | None, *, by: str, now: str) -> None:
    """Store the note of an unlocked report (the schema refuses a locked one)."""
    db.execute("UPDATE reports SET note = ?, updated_at = ?, updated_by = ? WHERE id = ?",
               [note, now, by, report_id])


def lock(db, report_id: str, *, note: str | None, by: str, signer_name: str,
         signer_title: str, now: str) -> None:
    """Lock a report with its final note and signature block (the schema refuses any
    change after this)."""
    db.execute(
        """UPDATE reports SET note = ?, locked_at = ?, locked_by = ?, signer_name = ?,
                  signer_title = ?, updated_at = ?, updated_by = ?
           WHERE id = ? AND locked_at IS NULL""",
        [note, now, by, signer_name, signer_title, now, by, report_id])


def ward(db, ward_code: str) -> dict | None:
    """Return the ward's reference row (code, name, kind, code_2025_10, data_version) and
    the police unit's name from the ward settings (`police_name`, may be None)."""
    row = db.execute(
        """SELECT w.code, w.name, w.kind, w.code_2025_10, w.data_version, s.police_name
           FROM wards w LEFT JOIN sheet_settings s
             ON s.ward_code = w.code AND s.deleted_at IS NULL
           WHERE w.code = ?""", [ward_code]).fetchone()
    if row is None:
        return None
    return dict(zip(("code", "name", "kind", "code_2025_10", "data_version", "police_name"),
                    row))


def wards_with_data(db) -> list[str]:
    """Return the codes of the wards this database holds residential groups for (whose
    daily report is taken automatically)."""
    return [r[0] for r in db.execute(
        """SELECT DISTINCT ward_code FROM residential_groups WHERE deleted_at IS NULL
           ORDER BY ward_code""")]
