"""WardKit's schema, one numbered step at a time.

Self-contained (standard library and sqlite_utils only) so that both `flask init-db` and
`sqlite-utils migrate instance/wardkit.db migrations/` can run it. Never edit a step that
has been applied somewhere: append a new one.
"""
import csv
import pathlib

from sqlite_utils import Migrations

migrations = Migrations("wardkit")

# Which data line the ward codes come from (DOMAIN.md §6.2: codes changed between lines).
WARDS_DATA_VERSION = "vietnam-provinces 2026.9.0 (2026-09-20)"
WARDS_CSV = pathlib.Path(__file__).resolve().parent.parent / "wardkit" / "data" / "hanoi_wards.csv"


@migrations(name="0001_wal", transactional=False)
def m0001_wal(db):
    # The journal mode persists in the file; it cannot change inside a transaction.
    mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    assert mode.lower() == "wal", mode


@migrations(name="0002_core")
def m0002_core(db):
    db.executescript(
        """
        CREATE TABLE wards (
            code TEXT PRIMARY KEY CHECK (length(code) = 5),
            name TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('phuong', 'xa')),
            codename TEXT NOT NULL,
            code_2025_10 TEXT NOT NULL,
            data_version TEXT NOT NULL
        );

        CREATE TABLE residential_groups (
            id TEXT PRIMARY KEY,
            ward_code TEXT NOT NULL REFERENCES wards(code),
            name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
            cluster TEXT,
            target_adults INTEGER NOT NULL DEFAULT 0 CHECK (target_adults >= 0),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by TEXT,
            deleted_at TEXT
        );
        CREATE UNIQUE INDEX residential_groups_ward_name
            ON residential_groups (ward_code, name) WHERE deleted_at IS NULL;

        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            username TEXT NOT NULL COLLATE NOCASE UNIQUE,
            password_hash TEXT NOT NULL,
            display_name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('admin', 'leader', 'officer', 'kiosk', 'viewer')),
            ward_code TEXT NOT NULL REFERENCES wards(code),
            is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
            is_demo INTEGER NOT NULL DEFAULT 0 CHECK (is_demo IN (0, 1)),
            password_changed_at TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by TEXT,
            deleted_at TEXT
        );
        CREATE INDEX users_ward ON users (ward_code);

        CREATE TABLE user_sessions (
            id_hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            revoked_at TEXT,
            revoked_reason TEXT,
            client_addr TEXT
        );
        CREATE INDEX user_sessions_user ON user_sessions (user_id);

        CREATE TABLE login_attempts (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            username TEXT NOT NULL,
            client_addr TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'locked'))
        );
        CREATE INDEX login_attempts_username ON login_attempts (username, at);
        CREATE INDEX login_attempts_addr ON login_attempts (client_addr, at);

        CREATE TABLE audit_log (
            id TEXT PRIMARY KEY,
            at TEXT NOT NULL,
            user_id TEXT,
            ward_code TEXT,
            action TEXT NOT NULL,
            entity TEXT,
            entity_id TEXT,
            detail TEXT,
            client_addr TEXT
        );
        CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);
        CREATE INDEX audit_log_at ON audit_log (at);
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN
            SELECT RAISE(ABORT, 'audit_log is append-only');
        END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN
            SELECT RAISE(ABORT, 'audit_log is append-only');
        END;
        """
    )


@migrations(name="0003_hanoi_wards")
def m0003_hanoi_wards(db):
    with WARDS_CSV.open(encoding="utf-8", newline="") as f:
        rows = [dict(row, data_version=WARDS_DATA_VERSION) for row in csv.DictReader(f)]
    db.table("wards").insert_all(rows)


@migrations(name="0004_residents")
def m0004_residents(db):
    db.executescript(
        """
        CREATE TABLE households (
            id TEXT PRIMARY KEY,
            ward_code TEXT NOT NULL REFERENCES wards(code),
            group_id TEXT NOT NULL REFERENCES residential_groups(id),
            house_number TEXT NOT NULL CHECK (length(house_number) BETWEEN 1 AND 30),
            lane TEXT,
            street TEXT NOT NULL CHECK (length(street) BETWEEN 1 AND 100),
            cluster TEXT,
            address TEXT NOT NULL,
            address_folded TEXT NOT NULL,
            reference TEXT NOT NULL UNIQUE CHECK (length(reference) >= 22),
            notes TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by TEXT,
            deleted_at TEXT
        );
        CREATE INDEX households_group ON households (group_id);
        CREATE INDEX households_ward_address ON households (ward_code, address_folded);

        CREATE TABLE residents (
            id TEXT PRIMARY KEY,
            ward_code TEXT NOT NULL REFERENCES wards(code),
            household_id TEXT NOT NULL REFERENCES households(id),
            full_name TEXT NOT NULL CHECK (length(full_name) BETWEEN 1 AND 100),
            name_folded TEXT NOT NULL,
            sort_key TEXT NOT NULL,
            dob TEXT NOT NULL,
            gender TEXT NOT NULL CHECK (gender IN ('male', 'female')),
            cccd TEXT CHECK (cccd IS NULL OR (length(cccd) = 12 AND cccd NOT GLOB '*[^0-9]*')),
            is_born_abroad INTEGER NOT NULL DEFAULT 0 CHECK (is_born_abroad IN (0, 1)),
            phone TEXT,
            relation TEXT NOT NULL CHECK (relation IN ('head', 'spouse', 'child', 'parent',
                'grandchild', 'grandparent', 'sibling', 'relative', 'other')),
            needs_home_support INTEGER NOT NULL DEFAULT 0 CHECK (needs_home_support IN (0, 1)),
            support_reason TEXT CHECK (support_reason IS NULL OR support_reason IN
                ('elderly_alone', 'bedridden', 'disability', 'hardship')),
            ihanoi_status TEXT NOT NULL DEFAULT 'unknown' CHECK (ihanoi_status IN
                ('unknown', 'not_installed', 'installed', 'activated')),
            lawful_basis TEXT NOT NULL CHECK (lawful_basis IN
                ('consent_verbal', 'consent_written', 'official_duty')),
            consent_at TEXT,
            -- This row's entry in residents_fts (local to this database, never synced).
            fts_rowid INTEGER NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by TEXT,
            deleted_at TEXT
        );
        CREATE INDEX residents_household ON residents (household_id);
        -- Name order within a ward, covering the search walk and the live count.
        CREATE INDEX residents_ward_sort
            ON residents (ward_code, sort_key, id, fts_rowid, deleted_at);
        CREATE INDEX residents_ward_name_dob ON residents (ward_code, name_folded, dob);
        -- One live person per CCCD in a ward: the duplicate check, enforced by the schema too.
        CREATE UNIQUE INDEX residents_ward_cccd ON residents (ward_code, cccd)
            WHERE cccd IS NOT NULL AND deleted_at IS NULL;

        -- Search index over folded text (no diacritics, đ→d, casefolded), kept in step by
        -- wardkit/residents/queries.py; its rowid is residents.fts_rowid. `digits` holds
        -- the CCCD and phone, `digits_rev` the same reversed, so "the last 4 digits" is a
        -- prefix query too. Contentless: only rowids are ever read back. Prefix indexes
        -- for 1-3 characters make the first letters typed ("ng", "t") cheap.
        CREATE VIRTUAL TABLE residents_fts USING fts5(
            name, digits, digits_rev, address,
            content = '', contentless_delete = 1, prefix = '1 2 3',
            tokenize = 'unicode61 remove_diacritics 0'
        );
        """
    )
