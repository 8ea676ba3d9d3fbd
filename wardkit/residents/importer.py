"""Resident import from a spreadsheet (CSV or XLSX): read, check every row, plan, apply.

Three steps, used by the web views (`import_views.py`) and `flask import-residents` alike;
no Flask request code in here:

1. `import_files.read_table(data, filename)` decodes the file and finds its header row
   (encodings, XLSX, limits: import_files.py).
2. `plan_import(db, ward_code, table, today=...)` checks every row with
   `rules.check_resident` (the same rules as the forms), matches the group, splits the
   address (addresses.py), groups rows into households (reusing a household already registered at that
   address) and sorts rows into: to add, already registered (skipped, not an error) and
   errors (row number as in the spreadsheet, field, message). Nothing is written.
3. `apply_import(db, ward_code, plan, by=...)` inserts every row that is ready in ONE
   `write()` transaction with one `residents_imported` audit row (counts only) — all of
   them or, if anything fails midway, none.

`preview_import` (steps 1 and 2, audited as import_previewed) and `apply_import` /
`plan_and_apply` are the actions: each opens `write()` for its audit row.

Policy for rows with errors: they are reported and skipped; the officer sees them on the
preview and confirms the batch of valid rows. Warnings (e.g. CCCD digits that disagree
with the date of birth) are listed per row and do not block. Names starting with = + - @
(spreadsheet formula syntax) are refused with an error on the name, never stored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from flask_babel import lazy_gettext as _l

from .. import audit, validators
from ..db import write
from ..groups import queries as group_queries
from ..text import clean_line, fold
from . import queries, rules
from .addresses import (GENDERS, LAWFUL_BASES, RELATIONS, SUPPORT_REASONS, AddressError,
                        GroupMatcher, formula_like, parse_address, split_columns_address)
from .import_files import FIELD_LABELS, ImportRefused, Table, header_key, read_table

MAX_WARNINGS_KEPT = 10_000          # all are counted; the first ones are kept
PROGRESS_EVERY = 1000


class RegisterChanged(Exception):
    """People were added to the ward between `plan_import` and `apply_import` (by hand
    or by another import): plan again, then apply."""


def _coded(table: dict, cache: dict, text: str):
    """Return `table`'s code for a cell value ("Nữ" → "female"), caching per raw text."""
    try:
        return cache[text]
    except KeyError:
        code = cache[text] = table.get(header_key(text))
        return code


_SCIENTIFIC = re.compile(r"\d(?:[.,]\d+)?e\+?\d+", re.IGNORECASE)


# --- planning --------------------------------------------------------------------------

@dataclass
class ImportPlan:
    """What an import would do. Row numbers are the spreadsheet's (header = row 1)."""

    ward_code: str
    labels: dict = field(default_factory=dict)       # field -> the file's column name
    unknown_columns: list = field(default_factory=list)
    rows: int = 0                 # data rows read (blank rows not counted)
    to_add: int = 0               # people who will be added
    already: int = 0              # already registered in the ward: skipped
    error_rows: int = 0           # rows with at least one error: skipped
    households_new: int = 0
    households_existing: int = 0  # existing households that get new people
    basis_defaulted: int = 0      # rows recorded as "official duty" for want of a basis
    errors: list = field(default_factory=list)       # (row, field, message)
    warnings: list = field(default_factory=list)     # (row, field, message), first ones
    warning_count: int = 0
    version: int = 0              # register_version() when the plan was made
    households: list = field(default_factory=list, repr=False)  # (household, [values])
    fields: tuple = ()            # the names of each person's values

    @property
    def items(self):
        """Yield (household fields, [resident fields]) for `queries.bulk_create`; the
        resident dicts are built as they are consumed (the plan keeps tuples)."""
        fields = self.fields
        for household, people in self.households:
            yield household, [dict(zip(fields, values)) for values in people]

    @property
    def valid(self) -> int:
        """Rows without errors: those to add plus those already registered."""
        return self.to_add + self.already

    def counts(self) -> dict:
        """Return the counts (no personal data): for the audit log and the CLI."""
        return {"rows": self.rows, "valid": self.valid, "to_add": self.to_add,
                "already_registered": self.already, "error_rows": self.error_rows,
                "households_new": self.households_new,
                "households_existing": self.households_existing}

    def label(self, name: str) -> str:
        return self.labels.get(name) or FIELD_LABELS.get(name, name)


def register_version(db) -> int:
    """Return the newest resident's search rowid: every resident added after this moment,
    by hand or by an import, gets a larger one (an index lookup, not a scan)."""
    return db.execute("SELECT coalesce(max(fts_rowid), 0) FROM residents").fetchone()[0]


def _added_since(db, ward_code: str, version: int) -> bool:
    """Return True when someone was added to the ward after `register_version`."""
    return db.execute("SELECT 1 FROM residents WHERE fts_rowid > ? AND ward_code = ? LIMIT 1",
                      [version, ward_code]).fetchone() is not None


def _ward_snapshot(db, ward_code: str):
    """Load, once, what the duplicate checks need: live households by (group, folded
    address), CCCDs, "household|folded name|dob" and "folded name|dob" of residents."""
    households = {
        (group_id, folded): {"id": hid, "address": address}
        for hid, group_id, address, folded in db.execute(
            """SELECT id, group_id, address, address_folded FROM households
               WHERE ward_code = ? AND deleted_at IS NULL""", [ward_code])}
    cccds, people, names, heads = {}, set(), set(), set()
    for household_id, cccd, name_folded, dob, relation in db.execute(
            """SELECT household_id, cccd, name_folded, dob, relation FROM residents
               WHERE ward_code = ? AND deleted_at IS NULL""", [ward_code]):
        if cccd:
            cccds[cccd] = household_id
        who = f"{name_folded}|{dob}"
        people.add(f"{household_id}|{who}")
        names.add(who)
        if relation == "head":
            heads.add(household_id)
    return households, cccds, people, names, heads


def plan_import(db, ward_code: str, table: Table, *, today: date,
                default_group_id: str | None = None,
                progress: Callable[[int, int], None] | None = None) -> ImportPlan:
    """Check every row of `table` for the ward and return the ImportPlan. Writes nothing
    (run it outside any transaction).

    `default_group_id` is the group for rows without one (and for files with no group
    column). `progress(done, total)` is called every 1,000 rows.

    :raises ImportRefused: no group column and no default group, a default group of
        another ward, or a ward without groups; too many rows.
    """
    groups = group_queries.list_groups(db, ward_code)
    if not groups:
        raise ImportRefused(_l("This ward has no residential groups yet. Create them on "
                               "the home page first."))
    matcher = GroupMatcher(groups)
    default_group = None
    if default_group_id:
        default_group = matcher.by_id.get(default_group_id)
        if default_group is None:
            raise ImportRefused(_l("Choose the residential group from the list."))
    elif "group" not in table.columns:
        raise ImportRefused(_l(
            "The file has no “Tổ dân phố” column. Add one, or choose the residential group "
            "all its rows belong to."))

    plan = ImportPlan(ward_code=ward_code, unknown_columns=list(table.unknown),
                      labels={name: table.label(name) for name in FIELD_LABELS},
                      version=register_version(db))
    households, ward_cccds, ward_people, ward_names, ward_heads = _ward_snapshot(db, ward_code)
    single_address = "address" in table.columns and "street" not in table.columns
    address_cache: dict = {}
    # (group id, folded address) -> [household fields or existing row, people, head,
    # {folded name|dob: (row, had a CCCD)}] where head is the row of the new head,
    # "registered" or None.
    new_households: dict[tuple, list] = {}
    seen_cccd: dict[str, int] = {}
    total = table.row_count
    gender_cache, relation_cache, basis_cache, reason_cache = {}, {}, {}, {}

    def error(number, name, message):
        plan.errors.append((number, name, message))

    def warn(number, name, message):
        plan.warning_count += 1
        if len(plan.warnings) < MAX_WARNINGS_KEPT:
            plan.warnings.append((number, name, message))

    for row in table:
        plan.rows += 1
        if progress and plan.rows % PROGRESS_EVERY == 0:
            progress(plan.rows, total)
        number, v = row.number, row.values
        problems: list[tuple[str, object]] = []

        # Group
        group_text = v.get("group", "")
        if group_text.strip():
            group = matcher.match(group_text)
            if group is None:
                problems.append(("group", _l(
                    "There is no residential group “%(name)s” in this ward. Write its name "
                    "as on the home page, e.g. “%(example)s”.", name=clean_line(group_text),
                    example=groups[0]["name"])))
        else:
            group = default_group
            if group is None:
                problems.append(("group", _l("Write the residential group, e.g. "
                                             "“%(example)s”.", example=groups[0]["name"])))

        # Address: (house, lane, street, folded address), parsed once per distinct text
        if single_address:
            raw_address = v.get("address", "")
        else:
            raw_address = (v.get("house_number", ""), v.get("lane", ""), v.get("street", ""))
        parsed = address_cache.get(raw_address)
        if parsed is None:
            try:
                parts = (parse_address(raw_address) if single_address
                         else split_columns_address(*raw_address))
                parsed = (*parts, fold(queries.format_address(*parts)))
            except AddressError as exc:
                parsed = exc.with_traceback(None)
            address_cache[raw_address] = parsed
        if isinstance(parsed, AddressError):
            problems.append((parsed.field, parsed.message))
            parsed = None

        # The person, through the one set of rules
        name_text = v.get("full_name", "")
        gender_text, relation_text = v.get("gender", ""), v.get("relation", "")
        basis_text = v.get("lawful_basis", "")
        reason_text = v.get("support_reason", "")
        reason = basis = None
        if reason_text and reason_text.strip():
            reason = _coded(SUPPORT_REASONS, reason_cache, reason_text) or reason_text
        if basis_text and basis_text.strip():
            basis = _coded(LAWFUL_BASES, basis_cache, basis_text) or basis_text
        raw = {
            "full_name": name_text, "dob": v.get("dob", ""),
            "gender": _coded(GENDERS, gender_cache, gender_text),
            "cccd": v.get("cccd", ""), "phone": v.get("phone", ""),
            "is_born_abroad": v.get("is_born_abroad", ""),
            "relation": _coded(RELATIONS, relation_cache, relation_text),
            "needs_home_support": v.get("needs_home_support", "") or
            ("1" if reason else ""),
            "support_reason": reason,
            "lawful_basis": basis or "official_duty",
        }
        check = rules.check_resident(raw, today=today)
        errors = check.errors
        if formula_like(name_text):
            errors["full_name"] = [_l(
                "A name cannot start with “=”, “+”, “-” or “@”: the cell looks like a "
                "spreadsheet formula. Type the name as text.")]
        if "gender" in errors and gender_text.strip():
            errors["gender"] = [_l(
                "“%(value)s” is not a sex: write Nam or Nữ.", value=clean_line(gender_text))]
        if "relation" in errors:
            errors["relation"] = [_l(
                "“%(value)s” is not a known relation. Use Chủ hộ, Vợ, Chồng, Con, Bố, Mẹ, "
                "Cháu, Ông, Bà, Anh, Chị, Em or Khác.", value=clean_line(relation_text))
                if relation_text.strip() else _l("Write the relation to the head of "
                                                 "household, e.g. Chủ hộ, Vợ, Con.")]
        if "cccd" in errors and _SCIENTIFIC.fullmatch(v.get("cccd", "").strip()):
            errors["cccd"] = [_l(
                "The CCCD was saved as a number in scientific notation and has lost "
                "digits. Format the column as Text in Excel, type the numbers again and "
                "export the file again.")]
        for name, messages in errors.items():
            problems.extend((name, m) for m in messages)
        for name, message in row.warnings:
            warn(number, name, message)
        for name, message in check.warnings:
            warn(number, name, message)

        # The CCCD, even on a row with other errors, so a repeat further down is caught.
        if errors:
            cccd = None if "cccd" in errors else (
                validators.normalize_digits(v.get("cccd", "")) or None)
        else:
            cccd = check.cleaned["cccd"]
        if cccd and cccd in seen_cccd:
            problems.append(("cccd", _l("The same CCCD is on row %(row)s. Keep one of the "
                                        "two rows.", row=seen_cccd[cccd])))
        elif cccd:
            seen_cccd[cccd] = number

        if problems:
            plan.error_rows += 1
            for name, message in problems:
                error(number, name, message)
            continue

        cleaned = check.cleaned
        house, lane, street, address_folded = parsed
        key = (group["id"], address_folded)
        who = fold(cleaned["full_name"]) + "|" + cleaned["dob"].isoformat()
        existing = households.get(key)
        if cccd and cccd in ward_cccds:
            plan.already += 1
            if existing is None or ward_cccds[cccd] != existing["id"]:
                warn(number, "cccd", _l(
                    "Already registered in this ward at another address: skipped. If the "
                    "person moved, change it on their household page."))
            continue
        if existing is not None and f"{existing['id']}|{who}" in ward_people:
            plan.already += 1
            if cccd:
                warn(number, "cccd", _l(
                    "Already registered at this address without this CCCD (or with "
                    "another one): skipped. Check the number and correct the person's "
                    "record by hand."))
            continue

        entry = new_households.get(key)
        if entry is None:
            if existing is not None:
                entry = [existing, [], "registered" if existing["id"] in ward_heads else None,
                         {}]
                plan.households_existing += 1
            else:
                entry = [{"group_id": group["id"], "house_number": house, "lane": lane,
                          "street": street, "cluster": group.get("cluster"), "notes": None},
                         [], None, {}]
                plan.households_new += 1
            new_households[key] = entry
        # Same name and birthday at the same address is the same person, unless two
        # different CCCDs say otherwise.
        earlier = entry[3].get(who)
        if earlier is not None and not (cccd and earlier[1]):
            plan.error_rows += 1
            error(number, "full_name", _l(
                "The same person (name and date of birth) is on row %(row)s at the same "
                "address. Keep one of the two rows.", row=earlier[0]))
            continue
        entry[3].setdefault(who, (number, bool(cccd)))

        if who in ward_names:
            warn(number, "full_name", _l(
                "Someone with the same name and date of birth is already registered in "
                "this ward. Check it is not the same person."))
        if basis is None:
            plan.basis_defaulted += 1
        if cleaned["relation"] == "head":
            if entry[2] == "registered":
                warn(number, "relation", _l(
                    "This household already has a head of household in the register. "
                    "Check the relations."))
            elif entry[2] is not None:
                warn(number, "relation", _l(
                    "Row %(row)s is already the head of this household. Check the "
                    "relations.", row=entry[2]))
            else:
                entry[2] = number
        if not plan.fields:
            plan.fields = tuple(cleaned)
        entry[1].append(tuple(cleaned.values()))   # compact: 100,000s of them
        plan.to_add += 1

    plan.households = [(entry[0], entry[1]) for entry in new_households.values()]
    if progress:
        progress(plan.rows, plan.rows)
    return plan


def preview_import(db, ward_code: str, data: bytes, filename: str, *, today: date,
                   default_group_id: str | None, by: str | None) -> tuple[Table, ImportPlan]:
    """Read and plan an uploaded file (writing nothing but the audit row
    import_previewed, counts only) and return (table, plan).

    :raises ImportRefused: as `read_table` and `plan_import` do (nothing is audited).
    """
    table = read_table(data, filename)
    plan = plan_import(db, ward_code, table, today=today, default_group_id=default_group_id)
    with write(db):
        audit.record(db, "import_previewed", user_id=by, ward_code=ward_code,
                     entity="wards", entity_id=ward_code,
                     detail={**plan.counts(), "kind": table.kind})
    return table, plan


# --- applying --------------------------------------------------------------------------

def apply_import(db, ward_code: str, plan: ImportPlan, *, by: str | None, via: str = "web",
                 progress: Callable[[int, int], None] | None = None) -> dict:
    """Insert every person the plan adds, in ONE `write()` transaction with one
    `residents_imported` audit row (counts only, no personal data). Return the counts
    {"households": n, "residents": m, ...}.

    All or nothing: if anything fails midway (a full disk, a constraint), the transaction
    rolls back and the exception propagates.
    `progress(done, total)` follows the residents handed to the database.

    :raises RegisterChanged: someone was added to the ward since the plan was made
        (checked inside the transaction, so nothing slips in between): plan again. Without
        this, an import planned while someone else imported the same people would add
        those without a CCCD twice (CCCDs are also guarded by the unique index). Edits
        made in those seconds are not detected.
    """
    total = plan.to_add

    def counted():
        done = last = 0
        for household, people in plan.items:  # dicts built batch by batch
            yield household, people
            done += len(people)
            if progress and done - last >= PROGRESS_EVERY:
                progress(done, total)
                last = done

    with write(db):
        if _added_since(db, ward_code, plan.version):
            raise RegisterChanged()
        counts = queries.bulk_create(db, ward_code=ward_code, items=counted(), by=by)
        detail = {**plan.counts(), "households_created": counts["households"],
                  "residents_added": counts["residents"], "via": via}
        audit.record(db, "residents_imported", entity="wards", entity_id=ward_code,
                     detail=detail, user_id=by, ward_code=ward_code)
    if progress:
        progress(total, total)
    return {**plan.counts(), "households_created": counts["households"],
            "residents_added": counts["residents"]}


def plan_and_apply(db, ward_code: str, table: Table, *, today: date, by: str | None,
                   via: str, default_group_id: str | None = None, attempts: int = 3,
                   progress: Callable[[str, int, int], None] | None = None):
    """Plan `table` and apply it, planning again (up to `attempts` times) when the
    register changed in between. Return (plan, counts). `progress(stage, done, total)`
    with stage "checking" or "saving".

    :raises RegisterChanged: the register kept changing.
    """
    for attempt in range(attempts):
        plan = plan_import(db, ward_code, table, today=today,
                           default_group_id=default_group_id,
                           progress=progress and (lambda d, t: progress("checking", d, t)))
        try:
            counts = apply_import(db, ward_code, plan, by=by, via=via,
                                  progress=progress and (lambda d, t: progress("saving", d, t)))
            return plan, counts
        except RegisterChanged:
            if attempt == attempts - 1:
                raise
