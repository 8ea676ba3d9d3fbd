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


# --- sync (issue 11, docs/ARCHITECTURE.md#sync) -------------------------------------------
# The tables as of step 0013, by direction. The app's own list is wardkit/sync/tables.py;
# a step that adds a synced table or a column to one calls `sync_triggers` again.
SYNC_BOTH_0013 = ("residential_groups", "households", "residents", "visits", "follow_ups",
                  "onboarding_changes", "declarations", "declaration_flags", "assignments")
SYNC_KIT_TO_HUB_0013 = ("audit_log",)
SYNC_HUB_TO_KIT_0013 = ("users", "sheet_settings")
# Columns that never travel: the row's place in this database's search index.
SYNC_LOCAL_COLUMNS = {"residents": ("fts_rowid",)}
# Which column says when a row was written, for a change's `made_at` (the app's clock, not
# SQLite's: the rows carry it already).
SYNC_TIME_COLUMNS = ("updated_at", "at", "changed_at", "created_at")


def sync_triggers(db, table, direction):
    """(Re)create `table`'s change-capture triggers from its current columns.

    direction: "both" (captured on every node), "kit_to_hub" (captured on kits only: the
    audit log), "hub_to_kit" (captured on the hub; on a kit only a sync apply may write).
    Every insert and update outside an apply gets the node's next origin_seq and one
    sync_log row in the writer's transaction; a hard delete is refused everywhere.
    """
    local = set(SYNC_LOCAL_COLUMNS.get(table, ()))
    columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})") if r[1] not in local]
    time_column = next(c for c in SYNC_TIME_COLUMNS if c in columns)
    q = "'" + table + "'"
    row = "json_object(" + ", ".join(f"'{c}', NEW.\"{c}\"" for c in columns) + ")"
    all_columns = "'[" + ",".join(f'"{c}"' for c in columns) + "]'"
    changed = " UNION ALL ".join(
        f"SELECT '{c}' AS c WHERE OLD.\"{c}\" IS NOT NEW.\"{c}\"" for c in columns)
    any_changed = " OR ".join(f"OLD.\"{c}\" IS NOT NEW.\"{c}\"" for c in columns)
    applying = "(SELECT applying FROM sync_state WHERE id = 1) = 0"
    when = {
        "both": applying,
        "kit_to_hub": f"{applying} AND (SELECT is_hub FROM sync_state WHERE id = 1) = 0",
        "hub_to_kit": f"{applying} AND (SELECT is_hub FROM sync_state WHERE id = 1) = 1",
    }[direction]

    def log(op, columns_expr):
        # The hub's own entries keep no row image: kits pull current rows, and only the
        # columns matter for conflicts. A kit's entries carry the whole row.
        return f"""
            UPDATE sync_state SET origin_seq = origin_seq + 1 WHERE id = 1;
            INSERT INTO sync_log (origin_device, origin_seq, table_name, row_id, op,
                                  base_version, columns, row, made_at)
            SELECT device_id, origin_seq, {q}, NEW.id, '{op}',
                   coalesce((SELECT version FROM sync_versions
                             WHERE table_name = {q} AND row_id = NEW.id), 0),
                   {columns_expr},
                   CASE WHEN is_hub THEN NULL ELSE {row} END,
                   NEW."{time_column}"
            FROM sync_state WHERE id = 1;
            INSERT INTO sync_versions (table_name, row_id, version)
            SELECT {q}, NEW.id, last_insert_rowid() FROM sync_state WHERE id = 1 AND is_hub
            ON CONFLICT (table_name, row_id) DO UPDATE SET version = excluded.version;"""

    db.executescript(f"""
        DROP TRIGGER IF EXISTS {table}_sync_insert;
        DROP TRIGGER IF EXISTS {table}_sync_update;
        DROP TRIGGER IF EXISTS {table}_sync_no_delete;
        DROP TRIGGER IF EXISTS {table}_sync_kit_refuses;
        DROP TRIGGER IF EXISTS {table}_sync_kit_refuses_update;
        CREATE TRIGGER {table}_sync_insert AFTER INSERT ON {table}
            WHEN {when}
            BEGIN {log("insert", all_columns)} END;
        CREATE TRIGGER {table}_sync_update AFTER UPDATE ON {table}
            WHEN {when} AND ({any_changed})
            BEGIN {log("update", f"(SELECT json_group_array(c) FROM ({changed}))")} END;
    """)
    if direction != "kit_to_hub":  # the audit log refuses deletes already (append-only)
        db.execute(f"""CREATE TRIGGER {table}_sync_no_delete BEFORE DELETE ON {table}
            BEGIN SELECT RAISE(ABORT, 'synced rows are never deleted: soft delete'); END""")
    if direction == "hub_to_kit":
        refuse = ("SELECT RAISE(ABORT, 'users and ward settings are changed at the hub');")
        on_kit = f"{applying} AND (SELECT is_hub FROM sync_state WHERE id = 1) = 0"
        db.executescript(f"""
            CREATE TRIGGER {table}_sync_kit_refuses BEFORE INSERT ON {table}
                WHEN {on_kit}
                BEGIN {refuse} END;
            CREATE TRIGGER {table}_sync_kit_refuses_update BEFORE UPDATE ON {table}
                WHEN {on_kit}
                BEGIN {refuse} END;
        """)


@migrations(name="0013_sync")
def m0013_sync(db):
    # Every node is a hub until `flask kit join` makes it a kit (a standalone ward is a
    # hub with no kits). device_id and epoch are random per database.
    db.executescript("""
        CREATE TABLE sync_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            device_id TEXT NOT NULL,
            is_hub INTEGER NOT NULL DEFAULT 1 CHECK (is_hub IN (0, 1)),
            -- 1 only inside a sync apply's transaction: the capture triggers skip it.
            applying INTEGER NOT NULL DEFAULT 0 CHECK (applying IN (0, 1)),
            -- The last origin_seq this node gave one of its own changes (gap-free).
            origin_seq INTEGER NOT NULL DEFAULT 0,
            -- The hub's epoch: a new one when the database is restored from a backup.
            epoch TEXT NOT NULL
        );
        INSERT INTO sync_state (id, device_id, epoch)
            VALUES (1, lower(hex(randomblob(16))), lower(hex(randomblob(16))));

        -- Every captured or applied change. On the hub, seq is the hub sequence
        -- (hub_seq), which becomes the changed row's version.
        CREATE TABLE sync_log (
            seq INTEGER PRIMARY KEY,
            origin_device TEXT NOT NULL,
            origin_seq INTEGER NOT NULL,
            table_name TEXT NOT NULL,
            row_id TEXT NOT NULL,
            op TEXT NOT NULL CHECK (op IN ('insert', 'update')),
            base_version INTEGER NOT NULL,
            columns TEXT NOT NULL,
            row TEXT,
            -- At the hub, for a kit's change: the SHA-256 of the change as sent (a replay
            -- must match it); the hub keeps no copy of the kit's row image.
            digest TEXT,
            made_at TEXT,
            received_at TEXT,
            UNIQUE (origin_device, origin_seq)
        );
        CREATE INDEX sync_log_row ON sync_log (table_name, row_id, seq);

        -- A row's version: the hub_seq of the last change the hub applied to it.
        CREATE TABLE sync_versions (
            table_name TEXT NOT NULL,
            row_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            PRIMARY KEY (table_name, row_id)
        ) WITHOUT ROWID;
        CREATE INDEX sync_versions_version ON sync_versions (version);

        -- On a kit: its enrolment, the hub it syncs with and how far both sides got.
        CREATE TABLE sync_kit (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            kit_id TEXT NOT NULL,
            name TEXT NOT NULL,
            ward_code TEXT NOT NULL REFERENCES wards(code),
            key TEXT NOT NULL,
            hub_url TEXT,
            hub_device_id TEXT NOT NULL,
            hub_epoch TEXT NOT NULL,
            -- The hub's acknowledged mark for this kit's origin_seq.
            acked_seq INTEGER NOT NULL DEFAULT 0,
            -- The last hub_seq this kit applied from a pull.
            pulled_seq INTEGER NOT NULL DEFAULT 0,
            last_push_at TEXT,
            last_pull_at TEXT,
            -- Seconds this kit's clock was off the hub's at the last LAN round.
            clock_offset_seconds REAL,
            joined_at TEXT NOT NULL
        );

        -- On the hub: the kits enrolled, their keys and marks.
        CREATE TABLE sync_devices (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL COLLATE NOCASE UNIQUE,
            ward_code TEXT NOT NULL REFERENCES wards(code),
            group_id TEXT REFERENCES residential_groups(id),
            key TEXT NOT NULL,
            code_hash TEXT,
            code_expires_at TEXT,
            device_id TEXT UNIQUE,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'active', 'revoked')),
            acked_seq INTEGER NOT NULL DEFAULT 0,
            pulled_seq INTEGER NOT NULL DEFAULT 0,
            last_seen_at TEXT,
            clock_offset_seconds REAL,
            revoked_at TEXT,
            created_at TEXT NOT NULL,
            created_by TEXT
        );

        -- Bundles that arrived with a gap before them: applied once the gap is filled.
        CREATE TABLE sync_backlog (
            id TEXT PRIMARY KEY,
            device_id TEXT NOT NULL,
            first_seq INTEGER NOT NULL,
            last_seq INTEGER NOT NULL,
            bundle BLOB NOT NULL,
            received_at TEXT NOT NULL
        );

        -- Bundles refused whole, kept (still sealed) with the reason.
        CREATE TABLE sync_quarantine (
            id TEXT PRIMARY KEY,
            received_at TEXT NOT NULL,
            reason TEXT NOT NULL,
            header TEXT,
            device_name TEXT,
            bundle BLOB
        );

        -- Conflicts for a leader: two edits of the same fields, or a possible duplicate.
        CREATE TABLE sync_conflicts (
            id TEXT PRIMARY KEY,
            ward_code TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('overlap', 'duplicate')),
            table_name TEXT NOT NULL,
            row_id TEXT NOT NULL,
            other_row_id TEXT,
            columns TEXT NOT NULL,
            kept_values TEXT NOT NULL,
            incoming_values TEXT NOT NULL,
            kept_by TEXT,
            kept_at TEXT,
            incoming_by TEXT,
            incoming_at TEXT,
            origin_device TEXT,
            created_at TEXT NOT NULL,
            settled_at TEXT,
            settled_by TEXT,
            settlement TEXT
        );
        CREATE INDEX sync_conflicts_open ON sync_conflicts (ward_code, settled_at);
    """)
    for table in SYNC_BOTH_0013:
        sync_triggers(db, table, "both")
    for table in SYNC_KIT_TO_HUB_0013:
        sync_triggers(db, table, "kit_to_hub")
    for table in SYNC_HUB_TO_KIT_0013:
        sync_triggers(db, table, "hub_to_kit")


# --- daily reports (issue 12, docs/ARCHITECTURE.md#reports) -------------------------------

@migrations(name="0014_reports")
def m0014_reports(db):
    # The ward's daily report: the figures counted at a cut-off, stored (never recounted)
    # as JSON, with the leader's note. A locked report refuses every change, like the
    # audit log; a correction is a new revision with its reason, and both stay. Reports,
    # the iHanoi account lists and the wards' files received by the city are the hub's
    # own records: never synced (wardkit/sync/tables.py).
    db.executescript("""
        CREATE TABLE reports (
            id TEXT PRIMARY KEY,
            ward_code TEXT NOT NULL REFERENCES wards(code),
            report_date TEXT NOT NULL CHECK (date(report_date) IS report_date),
            revision INTEGER NOT NULL CHECK (revision >= 1),
            cutoff_at TEXT NOT NULL,
            taken_at TEXT NOT NULL,
            -- NULL: taken automatically at the cut-off.
            taken_by TEXT REFERENCES users(id),
            figures TEXT NOT NULL CHECK (json_valid(figures)),
            note TEXT CHECK (note IS NULL OR length(note) <= 2000),
            reason TEXT CHECK (reason IS NULL OR length(reason) <= 500),
            locked_at TEXT,
            locked_by TEXT REFERENCES users(id),
            signer_name TEXT,
            signer_title TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by TEXT,
            CHECK (revision = 1 OR reason IS NOT NULL),
            CHECK ((locked_at IS NULL) = (locked_by IS NULL))
        );
        CREATE UNIQUE INDEX reports_ward_date_revision
            ON reports (ward_code, report_date, revision);
        CREATE TRIGGER reports_locked_no_update BEFORE UPDATE ON reports
            WHEN OLD.locked_at IS NOT NULL
        BEGIN
            SELECT RAISE(ABORT, 'a locked report is immutable: make a revision');
        END;
        CREATE TRIGGER reports_figures_no_update
            BEFORE UPDATE OF id, ward_code, report_date, revision, cutoff_at, taken_at,
                             taken_by, figures, reason ON reports
        BEGIN
            SELECT RAISE(ABORT, 'a report''s figures are stored once');
        END;
        CREATE TRIGGER reports_no_delete BEFORE DELETE ON reports
        BEGIN
            SELECT RAISE(ABORT, 'reports are never deleted');
        END;

        -- The city service centre's list of iHanoi accounts in the ward: one row per
        -- import with its counts; the file itself is deleted once imported.
        CREATE TABLE ihanoi_lists (
            id TEXT PRIMARY KEY,
            ward_code TEXT NOT NULL REFERENCES wards(code),
            list_date TEXT NOT NULL CHECK (date(list_date) IS list_date),
            imported_at TEXT NOT NULL,
            imported_by TEXT REFERENCES users(id),
            rows INTEGER NOT NULL,
            matched_cccd INTEGER NOT NULL,
            matched_phone INTEGER NOT NULL,
            ambiguous_phone INTEGER NOT NULL,
            not_in_registry INTEGER NOT NULL,
            unreadable INTEGER NOT NULL
        );
        CREATE INDEX ihanoi_lists_ward_date ON ihanoi_lists (ward_code, list_date, imported_at);

        -- Who a list confirmed: only the match, never the list's own row. Separate from
        -- residents.ihanoi_status, which is what officers marked at the door.
        CREATE TABLE ihanoi_list_matches (
            list_id TEXT NOT NULL REFERENCES ihanoi_lists(id),
            resident_id TEXT NOT NULL REFERENCES residents(id),
            matched_by TEXT NOT NULL CHECK (matched_by IN ('cccd', 'phone')),
            account_status TEXT NOT NULL CHECK (account_status IN ('activated', 'registered')),
            activated_on TEXT CHECK (activated_on IS NULL OR date(activated_on) IS activated_on),
            PRIMARY KEY (list_id, resident_id)
        ) WITHOUT ROWID;
        CREATE INDEX ihanoi_list_matches_resident ON ihanoi_list_matches (resident_id);

        -- At the city: the ward report files received, the newest revision per ward and
        -- day (counts only, as the ward sent them).
        CREATE TABLE city_reports (
            id TEXT PRIMARY KEY,
            ward_code TEXT NOT NULL REFERENCES wards(code),
            report_date TEXT NOT NULL CHECK (date(report_date) IS report_date),
            revision INTEGER NOT NULL,
            cutoff_at TEXT NOT NULL,
            locked_at TEXT,
            sha256 TEXT NOT NULL,
            payload TEXT NOT NULL CHECK (json_valid(payload)),
            received_at TEXT NOT NULL,
            received_by TEXT REFERENCES users(id),
            replaced_revision INTEGER
        );
        CREATE UNIQUE INDEX city_reports_ward_date ON city_reports (ward_code, report_date);

        -- The report counts declarations by kind and status without reading the table.
        DROP INDEX declarations_ward_progress;
        CREATE INDEX declarations_ward_report
            ON declarations (ward_code, status, deleted_at, resident_id, kind);
        -- The report counts residents needing support at home: a change of that flag (or
        -- of a declaration's kind) must make the cached figures count again.
        DROP TRIGGER residents_progress_update;
        CREATE TRIGGER residents_progress_update
            AFTER UPDATE OF dob, ihanoi_status, deleted_at, household_id, ward_code,
                            needs_home_support
            ON residents
            BEGIN UPDATE data_generations SET n = n + 1 WHERE name = 'progress'; END;
        DROP TRIGGER declarations_progress_update;
        CREATE TRIGGER declarations_progress_update
            AFTER UPDATE OF status, deleted_at, resident_id, ward_code, kind ON declarations
            BEGIN UPDATE data_generations SET n = n + 1 WHERE name = 'progress'; END;
    """)


@migrations(name="0015_city_viewers", transactional=False)
def m0015_city_viewers(db):
    # A viewer may be scoped to the whole city (issue 12): such a user belongs to no ward
    # and sees only the wards' reports. users.ward_code becomes nullable, which SQLite can
    # only do by rebuilding the table, in one transaction of its own. Other tables refer
    # to users, so foreign keys are off during the rebuild (dropping the old table would
    # count every reference as broken, even deferred) and checked before the commit.
    if "scope" not in {r[1] for r in db.execute("PRAGMA table_info(users)")}:
        columns = ", ".join(r[1] for r in db.execute("PRAGMA table_info(users)"))
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("""
                CREATE TABLE users_0015 (
                    id TEXT PRIMARY KEY,
                    username TEXT NOT NULL COLLATE NOCASE UNIQUE,
                    password_hash TEXT NOT NULL,
                    display_name TEXT NOT NULL,
                    role TEXT NOT NULL CHECK (role IN ('admin', 'leader', 'officer', 'kiosk',
                                                      'viewer')),
                    ward_code TEXT REFERENCES wards(code),
                    scope TEXT NOT NULL DEFAULT 'ward' CHECK (scope IN ('ward', 'city')),
                    is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
                    is_demo INTEGER NOT NULL DEFAULT 0 CHECK (is_demo IN (0, 1)),
                    password_changed_at TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL,
                    updated_by TEXT,
                    deleted_at TEXT,
                    CHECK ((scope = 'city') = (ward_code IS NULL)),
                    CHECK (scope = 'ward' OR role = 'viewer')
                )""")
            db.execute(f"INSERT INTO users_0015 ({columns}) SELECT {columns} FROM users")
            db.execute("DROP TABLE users")
            db.execute("ALTER TABLE users_0015 RENAME TO users")
            db.execute("CREATE INDEX users_ward ON users (ward_code)")
            problems = db.execute("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise RuntimeError(f"0015: foreign keys broken by the rebuild: {problems}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        finally:
            db.execute("PRAGMA foreign_keys = ON")
    # Dropping the old table dropped its capture triggers: recreate them (idempotent, so a
    # step interrupted after the commit completes here when run again).
    sync_triggers(db, "users", "hub_to_kit")


@migrations(name="0016_kiosk")
def m0016_kiosk(db):
    # The community-centre kiosk and the queue it feeds (issue 13; docs/ARCHITECTURE.md#kiosk).
    # A kiosk is an enrolled device, not a user: its credential is a random token stored
    # hashed, set through a one-time enrolment link, revocable. A device serves one
    # resident at a time: their turn (the answers typed so far) is one row, forgotten on
    # reset. What a resident enters becomes a ticket in the ward's queue, and a declaration
    # typed at the kiosk a kiosk request attached to its ticket, linked to no resident
    # until an officer serves it. Help sessions are the evenings and weekends officers
    # spend at a community house. All of it stays on the computer that serves the kiosk
    # (wardkit/sync/tables.py); what officers record from it syncs as usual.
    db.executescript("""
        CREATE TABLE kiosk_devices (
            id TEXT PRIMARY KEY,
            ward_code TEXT NOT NULL REFERENCES wards(code),
            name TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (length(name) BETWEEN 1 AND 60),
            credential_hash TEXT UNIQUE,
            enrol_hash TEXT UNIQUE,
            enrol_expires_at TEXT,
            enrolled_at TEXT,
            expires_at TEXT,
            revoked_at TEXT,
            last_seen_at TEXT,
            created_at TEXT NOT NULL,
            created_by TEXT,
            updated_at TEXT NOT NULL,
            updated_by TEXT
        );

        CREATE TABLE kiosk_turns (
            device_id TEXT PRIMARY KEY REFERENCES kiosk_devices(id),
            flow TEXT NOT NULL,
            answers TEXT NOT NULL DEFAULT '{}',
            ticket_number INTEGER,
            started_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL
        );

        CREATE TABLE help_sessions (
            id TEXT PRIMARY KEY,
            ward_code TEXT NOT NULL REFERENCES wards(code),
            day TEXT NOT NULL CHECK (date(day) IS day),
            starts_at TEXT NOT NULL CHECK (time(starts_at) IS starts_at || ':00'),
            ends_at TEXT NOT NULL CHECK (time(ends_at) IS ends_at || ':00'),
            place TEXT NOT NULL CHECK (length(place) BETWEEN 1 AND 200),
            created_at TEXT NOT NULL,
            created_by TEXT,
            updated_at TEXT NOT NULL,
            updated_by TEXT,
            deleted_at TEXT,
            CHECK (ends_at > starts_at)
        );
        CREATE INDEX help_sessions_ward_day ON help_sessions (ward_code, day);
        CREATE TABLE help_session_officers (
            session_id TEXT NOT NULL REFERENCES help_sessions(id),
            officer_id TEXT NOT NULL REFERENCES users(id),
            PRIMARY KEY (session_id, officer_id)
        );

        CREATE TABLE queue_tickets (
            id TEXT PRIMARY KEY,
            ward_code TEXT NOT NULL REFERENCES wards(code),
            day TEXT NOT NULL CHECK (date(day) IS day),
            number INTEGER NOT NULL CHECK (number > 0),
            reason TEXT NOT NULL CHECK (reason IN ('ihanoi', 'declaration', 'other')),
            name TEXT CHECK (name IS NULL OR length(name) <= 100),
            phone TEXT CHECK (phone IS NULL OR length(phone) <= 20),
            device_id TEXT REFERENCES kiosk_devices(id),
            help_session_id TEXT REFERENCES help_sessions(id),
            status TEXT NOT NULL DEFAULT 'waiting' CHECK (status IN
                ('waiting', 'called', 'serving', 'done', 'no_show')),
            resident_id TEXT REFERENCES residents(id),
            created_at TEXT NOT NULL,
            called_at TEXT,
            called_by TEXT,
            served_at TEXT,
            served_by TEXT,
            closed_at TEXT,
            closed_by TEXT,
            UNIQUE (ward_code, day, number)
        );
        CREATE INDEX queue_tickets_ward_status ON queue_tickets (ward_code, status, created_at);
        CREATE INDEX queue_tickets_device_at ON queue_tickets (device_id, created_at);
        CREATE INDEX queue_tickets_session ON queue_tickets (help_session_id);

        CREATE TABLE kiosk_requests (
            id TEXT PRIMARY KEY,
            ward_code TEXT NOT NULL REFERENCES wards(code),
            ticket_id TEXT NOT NULL UNIQUE REFERENCES queue_tickets(id),
            kind TEXT NOT NULL CHECK (kind IN ('licence', 'vehicle')),
            -- What the resident typed, as JSON; emptied once it became a declaration.
            fields TEXT,
            declaration_id TEXT REFERENCES declarations(id),
            created_at TEXT NOT NULL,
            converted_at TEXT,
            converted_by TEXT
        );
        CREATE INDEX kiosk_requests_declaration ON kiosk_requests (declaration_id);
    """)
