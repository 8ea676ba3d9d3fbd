"""Which tables sync, in which direction, and in which order (docs/ARCHITECTURE.md#sync).

Every table of the schema is in exactly one list below; tests/test_sync_capture.py fails
when a new table is in none. A synced table gets its capture triggers from
`sync_triggers` in migrations/migrations.py.
"""

# Both ways, in the order a pull applies them (parents before the rows that refer to them).
BOTH = ("residential_groups", "households", "residents", "visits", "follow_ups",
        "onboarding_changes", "declarations", "declaration_flags", "assignments")
# Kits to the hub only: the audit log (inserts only; the hub keeps the ward's whole log).
KIT_TO_HUB = ("audit_log",)
# The hub to kits only: a kit never creates users, changes passwords or ward settings.
HUB_TO_KIT = ("users", "sheet_settings")

SYNCED = BOTH + KIT_TO_HUB + HUB_TO_KIT
# What a kit may push, and what a pull carries, each in apply order.
PUSHABLE = BOTH + KIT_TO_HUB
PULLED = HUB_TO_KIT + BOTH

# Never synced: reference data every node ships with, sessions and throttling, the hub's
# daily reports and account lists and the city's received reports, the kiosk's devices,
# queue and help sessions (served on the computer the kiosk talks to), what each
# node rebuilds for itself (search index, progress cache), and sync's own bookkeeping.
LOCAL_ONLY = ("wards", "user_sessions", "login_attempts", "residents_fts",
              "reports", "ihanoi_lists", "ihanoi_list_matches", "city_reports",
              "kiosk_devices", "kiosk_turns", "help_sessions", "help_session_officers",
              "queue_tickets", "kiosk_requests",
              "progress_cache", "data_generations", "_sqlite_migrations",
              "sync_state", "sync_log", "sync_versions", "sync_kit", "sync_devices",
              "sync_backlog", "sync_quarantine", "sync_conflicts")

# Columns of synced tables that stay on their node: filled when a row is applied.
LOCAL_COLUMNS = {"residents": frozenset({"fts_rowid"})}

# Columns every change touches; they never make two edits "the same field".
BOOKKEEPING = frozenset({"updated_at", "updated_by"})

# Columns computed from another: a conflict on the source settles them too.
DERIVED = {
    "residents": {"name_folded": "full_name", "sort_key": "full_name"},
    "households": {"address_folded": "address"},
}


def is_local_table(name: str) -> bool:
    """Return True for a table that never syncs (FTS5's shadow tables included)."""
    return name in LOCAL_ONLY or name.startswith("residents_fts_")
