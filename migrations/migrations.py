"""WardKit's schema, one numbered step at a time.

Self-contained (standard library and sqlite_utils only) so that both `flask init-db` and
`sqlite-utils migrate instance/wardkit.db migrations/` can run it. Never edit a step that
has been applied somewhere: append a new one.
"""
import csv
import pathlib

from sqlite_utils import Migrations

migrations = Migrations("wardkit")

# Which data line the ward codes come from (docs/DOMAIN-RULES.md#wards: codes changed between lines).
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


@migrations(name="0005_declarations")
def m0005_declarations(db):
    # Assisted licence and vehicle declarations (issue 4; docs/ARCHITECTURE.md#data-model).
    # A draft may be half-filled (saved as the officer types), so the kind-specific fields
    # are nullable; what must be filled before leaving draft is checked by
    # wardkit/declarations/workflow.py, and the schema backs the lawful-basis rule:
    # only drafts (and needs_fix items being corrected) may lack a lawful basis or, under
    # consent, the way consent was given (docs/DOMAIN-RULES.md#lawful-basis-and-consent: silence is not consent).
    # vehicle_type mirrors wardkit.declarations.plates.VEHICLE_TYPES; licence_class is free
    # text (as printed, old or new table), licence_class_new one of the 15 classes of 2024.
    db.executescript(
        """
        CREATE TABLE declarations (
            id TEXT PRIMARY KEY,
            ward_code TEXT NOT NULL REFERENCES wards(code),
            resident_id TEXT NOT NULL REFERENCES residents(id),
            kind TEXT NOT NULL CHECK (kind IN ('licence', 'vehicle')),
            status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN
                ('draft', 'recorded', 'submitted', 'verified', 'needs_fix')),
            lawful_basis TEXT CHECK (lawful_basis IS NULL OR lawful_basis IN
                ('consent', 'official_duty')),
            consent_method TEXT CHECK (consent_method IS NULL OR consent_method IN
                ('verbal', 'written')),
            recorded_by TEXT NOT NULL,
            channel TEXT NOT NULL CHECK (channel IN ('home_visit', 'kiosk', 'office')),
            -- licence
            licence_no TEXT,
            licence_class TEXT,
            licence_class_new TEXT CHECK (licence_class_new IS NULL OR licence_class_new IN
                ('A1', 'A', 'B1', 'B', 'C1', 'C', 'D1', 'D2', 'D',
                 'BE', 'C1E', 'CE', 'D1E', 'D2E', 'DE')),
            issued_on TEXT CHECK (issued_on IS NULL OR date(issued_on) IS issued_on),
            expires_on TEXT CHECK (expires_on IS NULL OR date(expires_on) IS expires_on),
            issuing_authority TEXT,
            is_paper_licence INTEGER NOT NULL DEFAULT 0 CHECK (is_paper_licence IN (0, 1)),
            needs_exchange INTEGER NOT NULL DEFAULT 0 CHECK (needs_exchange IN (0, 1)),
            -- vehicle
            vehicle_type TEXT CHECK (vehicle_type IS NULL OR vehicle_type IN
                ('car', 'motorcycle', 'moped', 'electric_motorcycle', 'electric_moped',
                 'truck', 'other')),
            plate TEXT,
            plate_compact TEXT,
            plate_colour TEXT CHECK (plate_colour IS NULL OR plate_colour IN
                ('white', 'yellow', 'blue')),
            chassis_no TEXT,
            engine_no TEXT,
            brand TEXT,
            model TEXT,
            colour TEXT,
            reg_cert_no TEXT,
            registered_on TEXT CHECK (registered_on IS NULL
                OR date(registered_on) IS registered_on),
            owner_name TEXT,
            owner_is_resident INTEGER CHECK (owner_is_resident IS NULL
                OR owner_is_resident IN (0, 1)),
            situation TEXT CHECK (situation IS NULL OR situation IN
                ('in_use', 'sold_not_transferred', 'bought_not_transferred',
                 'lost_stolen', 'scrapped')),
            -- submission on iHanoi (or why not) and the leader's review
            submitted_at TEXT,
            not_submitted_reason TEXT,
            reviewed_by TEXT,
            reviewed_at TEXT,
            review_reason TEXT,
            is_flagged INTEGER NOT NULL DEFAULT 0 CHECK (is_flagged IN (0, 1)),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by TEXT,
            deleted_at TEXT,
            CHECK (status IN ('draft', 'needs_fix') OR lawful_basis IS NOT NULL),
            CHECK (status IN ('draft', 'needs_fix') OR lawful_basis IS NOT 'consent'
                   OR consent_method IS NOT NULL)
        );
        CREATE INDEX declarations_ward_status ON declarations (ward_code, status);
        CREATE INDEX declarations_resident ON declarations (resident_id);
        CREATE INDEX declarations_ward_plate ON declarations (ward_code, plate_compact);
        CREATE INDEX declarations_ward_chassis_engine
            ON declarations (ward_code, chassis_no, engine_no);
        CREATE INDEX declarations_ward_licence ON declarations (ward_code, licence_no);
        CREATE INDEX declarations_recorded_by_status ON declarations (recorded_by, status);

        -- A conflict surfaced for the leader: one row per direction, so each declaration
        -- lists its own flags. At most one open flag per pair and reason.
        CREATE TABLE declaration_flags (
            id TEXT PRIMARY KEY,
            ward_code TEXT NOT NULL REFERENCES wards(code),
            declaration_id TEXT NOT NULL REFERENCES declarations(id),
            other_declaration_id TEXT NOT NULL REFERENCES declarations(id),
            reason TEXT NOT NULL CHECK (reason IN ('same_plate', 'same_vehicle', 'same_licence')),
            created_at TEXT NOT NULL,
            resolved_at TEXT
        );
        CREATE UNIQUE INDEX declaration_flags_open
            ON declaration_flags (declaration_id, other_declaration_id, reason)
            WHERE resolved_at IS NULL;
        CREATE INDEX declaration_flags_other ON declaration_flags (other_declaration_id);
        """
    )


@migrations(name="0007_visits")
def m0007_visits(db):
    # Home visits (issue 6): which officers cover which residential groups, each knock at a
    # door and its outcome, the follow-ups a "come back" creates, and each per-resident
    # onboarding change (iHanoi status, Zalo OA followed) made at the door, so the
    # household timeline and the daily progress can say who changed what, and when.
    db.executescript(
        """
        CREATE TABLE assignments (
            id TEXT PRIMARY KEY,
            ward_code TEXT NOT NULL REFERENCES wards(code),
            group_id TEXT NOT NULL REFERENCES residential_groups(id),
            officer_id TEXT NOT NULL REFERENCES users(id),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by TEXT,
            deleted_at TEXT
        );
        CREATE UNIQUE INDEX assignments_live ON assignments (group_id, officer_id)
            WHERE deleted_at IS NULL;
        CREATE INDEX assignments_officer ON assignments (officer_id, ward_code);

        CREATE TABLE visits (
            id TEXT PRIMARY KEY,
            ward_code TEXT NOT NULL REFERENCES wards(code),
            household_id TEXT NOT NULL REFERENCES households(id),
            officer_id TEXT NOT NULL REFERENCES users(id),
            visited_at TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN
                ('done', 'nobody_home', 'come_back', 'declined')),
            notes TEXT CHECK (notes IS NULL OR length(notes) <= 1000),
            -- When to come back (UTC, like every *_at): set exactly for 'come_back'.
            follow_up_on TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by TEXT,
            deleted_at TEXT,
            CHECK ((outcome = 'come_back') = (follow_up_on IS NOT NULL))
        );
        -- The latest visit of a household (Today, the timeline) and "visited at least once".
        CREATE INDEX visits_household_at
            ON visits (household_id, visited_at, outcome, deleted_at);
        CREATE INDEX visits_ward_at ON visits (ward_code, visited_at);

        CREATE TABLE follow_ups (
            id TEXT PRIMARY KEY,
            ward_code TEXT NOT NULL REFERENCES wards(code),
            household_id TEXT NOT NULL REFERENCES households(id),
            visit_id TEXT NOT NULL REFERENCES visits(id),
            due_at TEXT NOT NULL,
            closed_at TEXT,
            closed_by_visit_id TEXT REFERENCES visits(id),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by TEXT,
            deleted_at TEXT
        );
        CREATE INDEX follow_ups_open_household ON follow_ups (household_id, due_at)
            WHERE closed_at IS NULL AND deleted_at IS NULL;
        CREATE INDEX follow_ups_visit ON follow_ups (visit_id);

        CREATE TABLE onboarding_changes (
            id TEXT PRIMARY KEY,
            ward_code TEXT NOT NULL REFERENCES wards(code),
            resident_id TEXT NOT NULL REFERENCES residents(id),
            household_id TEXT NOT NULL REFERENCES households(id),
            visit_id TEXT REFERENCES visits(id),
            field TEXT NOT NULL CHECK (field IN ('ihanoi_status', 'is_zalo_followed')),
            old_value TEXT,
            new_value TEXT NOT NULL,
            changed_at TEXT NOT NULL,
            changed_by TEXT REFERENCES users(id)
        );
        CREATE INDEX onboarding_changes_household ON onboarding_changes (household_id, changed_at);
        CREATE INDEX onboarding_changes_ward_at ON onboarding_changes (ward_code, changed_at);

        ALTER TABLE residents ADD COLUMN is_zalo_followed INTEGER NOT NULL DEFAULT 0
            CHECK (is_zalo_followed IN (0, 1));
        -- Today highlights households with someone who needs support at home.
        CREATE INDEX residents_household_support ON residents (household_id)
            WHERE needs_home_support = 1 AND deleted_at IS NULL;
        -- The progress table counts adults per household without touching the table.
        CREATE INDEX residents_household_progress
            ON residents (household_id, deleted_at, dob, ihanoi_status);
        """
    )


@migrations(name="0006_sheet_settings")
def m0006_sheet_settings(db):
    # What the printed QR sheets link to and whom they name (issue 5): set by the ward's
    # admin, never guessed (docs/DOMAIN-RULES.md#onboarding-links: the official store links and the Zalo OA id are
    # not published). Until the links are set, or while they are the demo's sample links
    # (is_sample), every sheet carries a "MẪU / SAMPLE" watermark.
    db.executescript(
        """
        CREATE TABLE sheet_settings (
            id TEXT PRIMARY KEY,
            ward_code TEXT NOT NULL UNIQUE REFERENCES wards(code),
            ihanoi_android_url TEXT,
            ihanoi_ios_url TEXT,
            vneid_url TEXT,
            declare_guide_url TEXT,
            zalo_oa_url TEXT,
            ihanoi_hotline TEXT NOT NULL DEFAULT '1022',
            traffic_hotline TEXT NOT NULL DEFAULT '0243.942.4451',
            police_name TEXT,
            police_phone TEXT,
            police_address TEXT,
            public_url TEXT,
            is_sample INTEGER NOT NULL DEFAULT 0 CHECK (is_sample IN (0, 1)),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by TEXT,
            deleted_at TEXT
        );
        """
    )


@migrations(name="0008_progress_cache")
def m0008_progress_cache(db):
    # Group progress (issue 6) counts every adult of the ward, which takes ~100 ms on a
    # 60,000-resident ward on a 2-core machine. The result is kept per ward in
    # progress_cache under a key of the report date and a generation number that triggers
    # bump on every write to the tables it counts, so a cached table is never stale (even
    # for rows that arrive later with older timestamps, as a sync will bring). Local,
    # derived data: never synced.
    # households_ward_live and declarations_ward_progress cover the recount.
    tables = {
        "residential_groups": ("INSERT", "UPDATE", "DELETE"),
        "households": ("INSERT", "UPDATE", "DELETE"),
        "residents": ("INSERT", "UPDATE", "DELETE"),
        "visits": ("INSERT", "UPDATE", "DELETE"),
        "follow_ups": ("INSERT", "UPDATE", "DELETE"),
        "onboarding_changes": ("INSERT", "UPDATE", "DELETE"),
        "declarations": ("INSERT", "UPDATE", "DELETE"),
    }
    triggers = "\n".join(
        f"""CREATE TRIGGER {table}_progress_{event.lower()} AFTER {event} ON {table}
            BEGIN
                UPDATE data_generations SET n = n + 1 WHERE name = 'progress';
            END;"""
        for table, events in tables.items() for event in events)
    db.executescript(
        """
        CREATE TABLE data_generations (
            name TEXT PRIMARY KEY,
            n INTEGER NOT NULL
        );
        INSERT INTO data_generations (name, n) VALUES ('progress', 0);

        CREATE TABLE progress_cache (
            ward_code TEXT PRIMARY KEY REFERENCES wards(code),
            cache_key TEXT NOT NULL,
            payload TEXT NOT NULL,
            computed_at TEXT NOT NULL
        );

        CREATE INDEX households_ward_live ON households (ward_code, group_id, id)
            WHERE deleted_at IS NULL;
        CREATE INDEX declarations_ward_progress
            ON declarations (ward_code, status, deleted_at, resident_id);
        """ + triggers
    )


@migrations(name="0009_progress_triggers")
def m0009_progress_triggers(db):
    # Narrower progress triggers than 0008's: only writes that can change a count bump
    # the generation, so a declaration draft autosaving or a name being corrected does
    # not make the leaders' next read recount the ward.
    bump = "UPDATE data_generations SET n = n + 1 WHERE name = 'progress';"
    db.executescript(f"""
        DROP TRIGGER residents_progress_update;
        CREATE TRIGGER residents_progress_update
            AFTER UPDATE OF dob, ihanoi_status, deleted_at, household_id, ward_code
            ON residents
            BEGIN {bump} END;
        DROP TRIGGER households_progress_update;
        CREATE TRIGGER households_progress_update
            AFTER UPDATE OF group_id, deleted_at, ward_code ON households
            BEGIN {bump} END;
        DROP TRIGGER declarations_progress_insert;
        CREATE TRIGGER declarations_progress_insert AFTER INSERT ON declarations
            WHEN NEW.status != 'draft'
            BEGIN {bump} END;
        DROP TRIGGER declarations_progress_update;
        CREATE TRIGGER declarations_progress_update
            AFTER UPDATE OF status, deleted_at, resident_id, ward_code ON declarations
            BEGIN {bump} END;
    """)


@migrations(name="0010_progress_inserts_untriggered")
def m0010_progress_inserts_untriggered(db):
    # A trigger per inserted row cost a 100,000-row import ~17% of its write stage (one
    # UPDATE of data_generations per resident and per household). Rows are never hard
    # deleted, so an insert always raises its table's max(rowid): the progress cache key
    # now includes those maxima (wardkit/visits/progress.py), and only updates and
    # deletes bump the generation. Group inserts stay triggered (rare, and the cache key
    # does not look at residential_groups).
    db.executescript("""
        DROP TRIGGER households_progress_insert;
        DROP TRIGGER residents_progress_insert;
        DROP TRIGGER visits_progress_insert;
        DROP TRIGGER follow_ups_progress_insert;
        DROP TRIGGER onboarding_changes_progress_insert;
        DROP TRIGGER declarations_progress_insert;
    """)


@migrations(name="0011_search_addresses")
def m0011_search_addresses(db):
    # Search by address (issue 9): the index's `address` column now holds the household's
    # address as bare words and whole numbers ("Số 4, Ngõ 155, ngách 20, Phố Nhật Tân" is
    # "4 155 20 nhat tan"): no "số"/"nhà"/"ngõ"/"ngách"/"hẻm"/"kiệt" before a number, no
    # "phố"/"đường" starting a street, numbers split from letters ("6B" is "6 b"), so a
    # searched number can be matched whole. Same table, new contents: every live
    # resident's entry is rebuilt from the stored folded name and address. The rules are
    # a copy of wardkit/residents/queries.py `address_terms` as of this step (a step must
    # not change when the app's code does); later changes to them need a step of their own.
    import re

    token = re.compile(r"\d+|[^\W\d_]+")
    number_labels = {"so", "nha", "ngo", "ngach", "hem", "kiet"}
    street_labels = {"pho", "duong"}

    def address_terms(address_folded):
        tokens = []
        for part in address_folded.split(","):
            words = token.findall(part)
            if len(words) > 1 and words[0] in street_labels:
                words = words[1:]
            tokens += words
        kept = []
        for word in reversed(tokens):
            if word in number_labels and kept and kept[-1][0].isdigit():
                continue
            kept.append(word)
        return " ".join(kept[::-1])

    def entries():
        terms = {}
        for rowid, name, cccd, phone, address in db.execute(
                """SELECT r.fts_rowid, r.name_folded, r.cccd, r.phone, h.address_folded
                   FROM residents r JOIN households h ON h.id = r.household_id
                   WHERE r.deleted_at IS NULL"""):
            numbers = [n for n in (cccd, phone) if n]
            if address not in terms:
                terms[address] = address_terms(address)
            yield (rowid, name, " ".join(numbers), " ".join(n[::-1] for n in numbers),
                   terms[address])

    db.execute("INSERT INTO residents_fts (residents_fts) VALUES ('delete-all')")
    db.conn.executemany(
        """INSERT INTO residents_fts (rowid, name, digits, digits_rev, address)
           VALUES (?, ?, ?, ?, ?)""", entries())


@migrations(name="0012_eth_is_d_stroke")
def m0012_eth_is_d_stroke(db):
    # Names and addresses typed or imported before issue 9 may hold look-alikes of Đ: "Ð"
    # (U+00D0, what Đ becomes when a Windows-1258 file is read as Windows-1252) or "Ɖ"
    # (U+0189), and their lower-case forms. Folded, they stayed "ð"/"ɖ", so neither search
    # nor the duplicate check found the person. Today's rule maps them to Đ/đ on entry
    # (docs/DOMAIN-RULES.md#names); this step applies it to what is stored, and rebuilds
    # the search index as 0011 does when anything changed.
    def mapped(column):
        return (f"replace(replace(replace(replace({column}, 'Ð', 'Đ'), 'ð', 'đ'), "
                f"'Ɖ', 'Đ'), 'ɖ', 'đ')")

    def folded(column):
        return f"replace(replace({column}, 'ð', 'd'), 'ɖ', 'd')"

    now = ("strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.' || "
           "substr(strftime('%f', 'now'), 4) || '000Z'")
    changed = db.execute(
        f"""UPDATE residents SET full_name = {mapped('full_name')},
                   name_folded = {folded('name_folded')}, updated_at = {now}
            WHERE full_name GLOB '*[ÐðƉɖ]*'""").rowcount
    changed += db.execute(
        f"""UPDATE households SET lane = {mapped('lane')}, street = {mapped('street')},
                   address = {mapped('address')},
                   address_folded = {folded('address_folded')}, updated_at = {now}
            WHERE address GLOB '*[ÐðƉɖ]*'""").rowcount
    if changed:
        m0011_search_addresses(db)
