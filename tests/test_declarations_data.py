"""Declarations, data layer: schema, drafts, the review workflow per role, conflict flags,
ward scoping and the audit trail (issue 4). No views here."""
from datetime import date

import pytest

from wardkit import audit
from wardkit.db import sqlite3
from wardkit.declarations import queries as q
from wardkit.declarations.workflow import (TRANSITIONS, DeclarationError, NotEditable,
                                           TransitionRefused, can_transition,
                                           missing_for_record)
from tests.factories import (LICENCE_FIELDS as LICENCE, VEHICLE_FIELDS as VEHICLE, WARD_A,
                             WARD_B, make_declaration, make_group, make_household,
                             make_resident, make_user)


@pytest.fixture
def ward(db):
    """Ward A: a group, a household, two residents, an officer and a leader; plus ward B's
    leader and resident."""
    group = make_group(db, name="Tổ dân phố số 3")
    household = make_household(db, group=group)
    hh_b = make_household(db, ward_code=WARD_B)
    return {
        "group": group,
        "mai": make_resident(db, household, full_name="Phạm Thị Mai"),
        "hung": make_resident(db, household, full_name="Nguyễn Văn Hùng", gender="male",
                              dob=date(1950, 3, 4)),
        "officer": make_user(db, role="officer"),
        "officer2": make_user(db, role="officer"),
        "leader": make_user(db, role="leader"),
        "leader_b": make_user(db, role="leader", ward_code=WARD_B),
        "resident_b": make_resident(db, hh_b, full_name="Lê Văn Bình"),
    }


def draft(db, ward, resident="mai", kind="vehicle", fields=None, by=None):
    """Return a new draft of `ward[resident]` holding `fields`, by the officer unless `by`."""
    return make_declaration(db, ward[resident], kind=kind, by=by or ward["officer"]["id"],
                            **(fields or {}))


def move(db, ward, row, to, *, who="officer", **kwargs):
    user = ward[who]
    return q.transition(db, user["ward_code"], row["id"], to, role=user["role"],
                        by=user["id"], **kwargs)


def submitted(db, ward, resident="mai", kind="vehicle"):
    """Return a new complete declaration of `ward[resident]`, submitted by the officer."""
    return make_declaration(db, ward[resident], kind=kind, status="submitted",
                            by=ward["officer"]["id"])


# --- schema --------------------------------------------------------------------------

def test_migration_applies(db):
    from wardkit.db import load_migrations
    assert "0005_declarations" in {m.name for m in load_migrations().applied(db)}
    tables = set(db.table_names())
    assert {"declarations", "declaration_flags"} <= tables
    indexes = {i.name for i in db.table("declarations").indexes}
    assert {"declarations_ward_status", "declarations_resident", "declarations_ward_plate",
            "declarations_ward_chassis_engine", "declarations_ward_licence",
            "declarations_recorded_by_status"} <= indexes


@pytest.mark.parametrize("column, value", [
    ("kind", "boat"), ("status", "approved"), ("channel", "phone"),
    ("lawful_basis", "silence"), ("consent_method", "nod"), ("situation", "borrowed"),
    ("plate_colour", "red"), ("vehicle_type", "tank"), ("licence_class_new", "B2"),
    ("is_flagged", 2), ("issued_on", "20/05/2019"),
])
def test_check_constraints_refuse_bad_enumerations(db, ward, column, value):
    row = draft(db, ward)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        db.execute(f"UPDATE declarations SET {column} = ? WHERE id = ?", [value, row["id"]])


def test_schema_refuses_recorded_without_lawful_basis(db, ward):
    row = draft(db, ward)
    with pytest.raises(Exception, match="CHECK"):
        db.execute("UPDATE declarations SET status = 'recorded' WHERE id = ?", [row["id"]])
    db.execute("UPDATE declarations SET lawful_basis = 'consent' WHERE id = ?", [row["id"]])
    with pytest.raises(Exception, match="CHECK"):
        db.execute("UPDATE declarations SET status = 'recorded' WHERE id = ?", [row["id"]])


# --- drafts --------------------------------------------------------------------------

def test_create_save_get_draft(db, ward):
    row = draft(db, ward, kind="licence")
    assert row["status"] == "draft" and row["kind"] == "licence"
    assert row["recorded_by"] == ward["officer"]["id"] and row["channel"] == "home_visit"
    assert row["resident_name"] == "Phạm Thị Mai" and row["group_id"] == ward["group"]["id"]
    saved = q.save_draft(db, WARD_A, row["id"], LICENCE, by=ward["officer"]["id"])
    got = q.get_declaration(db, WARD_A, row["id"])
    assert got == saved
    assert {k: got[k] for k in LICENCE} == LICENCE


def test_half_filled_draft_survives(db, ward):
    row = draft(db, ward)
    by = ward["officer"]["id"]
    # The htmx form saves one field at a time.
    q.save_draft(db, WARD_A, row["id"], {"vehicle_type": "motorcycle"}, by=by)
    q.save_draft(db, WARD_A, row["id"], {"plate": "29-HA 002.33", "brand": ""}, by=by)
    # The Wi-Fi drops; later the form is reloaded.
    got = q.get_declaration(db, WARD_A, row["id"])
    assert got["vehicle_type"] == "motorcycle" and got["plate"] == "29-HA 002.33"
    assert got["brand"] is None and got["status"] == "draft"
    assert set(missing_for_record(got)) == {"lawful_basis", "situation"}


def test_save_draft_writes_allowed_fields_only(db, ward):
    row = draft(db, ward)
    got = q.save_draft(db, WARD_A, row["id"],
                       {"status": "verified", "ward_code": WARD_B, "is_flagged": 1,
                        "reviewed_by": "x", "csrf_token": "t", "model": "Vision",
                        "owner_is_resident": "on"},
                       by=ward["officer"]["id"])
    assert got["status"] == "draft" and got["ward_code"] == WARD_A
    assert got["is_flagged"] == 0 and got["reviewed_by"] is None
    assert got["model"] == "Vision" and got["owner_is_resident"] == 1


def test_create_draft_refuses_bad_input(db, ward):
    by = ward["officer"]["id"]
    with pytest.raises(DeclarationError) as e:
        q.create_draft(db, ward_code=WARD_A, resident_id=ward["mai"]["id"], kind="boat",
                       channel="office", by=by)
    assert e.value.code == "bad_kind"
    with pytest.raises(DeclarationError) as e:
        q.create_draft(db, ward_code=WARD_A, resident_id=ward["resident_b"]["id"],
                       kind="licence", channel="office", by=by)
    assert e.value.code == "not_found"


def test_save_refused_after_recorded(db, ward):
    row = draft(db, ward, fields=VEHICLE)
    move(db, ward, row, "recorded")
    with pytest.raises(NotEditable) as e:
        q.save_draft(db, WARD_A, row["id"], {"model": "Lead"}, by=ward["officer"]["id"])
    assert e.value.code == "not_editable"
    assert q.get_declaration(db, WARD_A, row["id"])["model"] == "Wave"


# --- workflow ------------------------------------------------------------------------

def test_transition_table():
    assert can_transition("officer", "draft", "recorded")
    assert can_transition("officer", "recorded", "submitted")
    assert not can_transition("officer", "submitted", "verified")
    assert not can_transition("officer", "submitted", "needs_fix")
    assert can_transition("leader", "submitted", "verified")
    assert can_transition("admin", "submitted", "needs_fix")
    assert can_transition("officer", "needs_fix", "draft")
    assert not can_transition("leader", "recorded", "verified")
    for role in ("kiosk", "viewer", None):
        assert not can_transition(role, "draft", "recorded")
    assert not any(frm == "verified" for frm, _ in TRANSITIONS)  # verified is final


def test_officer_records_submits_leader_verifies(db, ward):
    row = draft(db, ward, fields=VEHICLE)
    assert move(db, ward, row, "recorded")["status"] == "recorded"
    sub = move(db, ward, row, "submitted", submitted_at="2026-11-23T09:00:00.000000Z")
    assert sub["status"] == "submitted" and sub["submitted_at"] == "2026-11-23T09:00:00.000000Z"
    with pytest.raises(TransitionRefused) as e:
        move(db, ward, row, "verified")  # an officer cannot verify
    assert e.value.code == "not_allowed"
    got = move(db, ward, row, "verified", who="leader")
    assert got["status"] == "verified" and got["reviewed_by"] == ward["leader"]["id"]
    assert got["reviewed_at"]
    for to in ("needs_fix", "draft", "recorded", "submitted"):  # verified is final
        with pytest.raises(TransitionRefused) as e:
            move(db, ward, row, to, who="leader", reason="x")
        assert e.value.code == "not_allowed"


def test_submitted_without_time_needs_a_reason(db, ward):
    row = draft(db, ward, fields=VEHICLE)
    move(db, ward, row, "recorded")
    with pytest.raises(TransitionRefused) as e:
        move(db, ward, row, "submitted")
    assert e.value.code == "submission_missing"
    got = move(db, ward, row, "submitted", reason="no_smartphone")
    assert got["submitted_at"] is None and got["not_submitted_reason"] == "no_smartphone"


def test_needs_fix_goes_back_to_the_officer(db, ward):
    row = submitted(db, ward)
    with pytest.raises(TransitionRefused) as e:
        move(db, ward, row, "needs_fix", who="leader")
    assert e.value.code == "reason_required"
    got = move(db, ward, row, "needs_fix", who="leader", reason="plate_unreadable")
    assert got["status"] == "needs_fix" and got["review_reason"] == "plate_unreadable"
    # Back on the officer's list, first.
    other = draft(db, ward, resident="hung", by=ward["officer2"]["id"])
    listed = q.list_declarations(db, WARD_A, officer_id=ward["officer"]["id"])
    assert listed[0]["id"] == row["id"]
    assert q.list_declarations(db, WARD_A, officer_id=ward["officer2"]["id"])[0]["id"] == \
        other["id"]
    # Editable again, then recorded again.
    q.save_draft(db, WARD_A, row["id"], {"plate": "29-HA 002.34",
                                         "plate_compact": "29HA00234"},
                 by=ward["officer"]["id"])
    assert move(db, ward, row, "recorded")["status"] == "recorded"


def test_needs_fix_can_be_reopened_as_draft(db, ward):
    row = draft(db, ward, fields=LICENCE, kind="licence")
    move(db, ward, row, "recorded")
    move(db, ward, row, "needs_fix", who="leader", reason="wrong_class")
    assert move(db, ward, row, "draft")["status"] == "draft"


def test_recording_refused_without_lawful_basis(db, ward):
    fields = {k: v for k, v in VEHICLE.items() if k not in ("lawful_basis", "consent_method")}
    row = draft(db, ward, fields=fields)
    with pytest.raises(TransitionRefused) as e:
        move(db, ward, row, "recorded")
    assert e.value.code == "incomplete" and e.value.fields == ["lawful_basis"]
    # Consent without how it was given is not enough either.
    q.save_draft(db, WARD_A, row["id"], {"lawful_basis": "consent"},
                 by=ward["officer"]["id"])
    with pytest.raises(TransitionRefused) as e:
        move(db, ward, row, "recorded")
    assert e.value.fields == ["consent_method"]
    assert q.get_declaration(db, WARD_A, row["id"])["status"] == "draft"


def test_recording_refused_with_missing_fields(db, ward):
    row = draft(db, ward, kind="licence", fields={"lawful_basis": "official_duty",
                                                   "licence_no": "001234567890"})
    with pytest.raises(TransitionRefused) as e:
        move(db, ward, row, "recorded")
    assert e.value.code == "incomplete"
    assert e.value.fields == ["licence_class", "issued_on"]
    vehicle = draft(db, ward, fields={"lawful_basis": "official_duty"})
    with pytest.raises(TransitionRefused) as e:
        move(db, ward, vehicle, "recorded")
    assert e.value.fields == ["vehicle_type", "plate", "chassis_no", "situation"]


def test_missing_for_record_vehicle_known_by_chassis_alone():
    d = {"kind": "vehicle", "lawful_basis": "official_duty", "vehicle_type": "car",
         "chassis_no": "RLHJC1234KY000001", "situation": "lost_stolen", "plate": None}
    assert missing_for_record(d) == []
    assert missing_for_record({**d, "lawful_basis": "  "}) == ["lawful_basis"]


def test_cross_ward(db, ward):
    row = submitted(db, ward)
    assert q.get_declaration(db, WARD_B, row["id"]) is None
    with pytest.raises(TransitionRefused) as e:
        move(db, ward, row, "verified", who="leader_b")
    assert e.value.code == "not_found"
    with pytest.raises(NotEditable) as e:
        q.save_draft(db, WARD_B, row["id"], {"model": "x"}, by=ward["leader_b"]["id"])
    assert e.value.code == "not_found"
    assert q.refresh_flags(db, WARD_B, row["id"]) == []
    assert q.list_declarations(db, WARD_B) == []
    assert q.get_declaration(db, WARD_A, row["id"])["status"] == "submitted"


def test_transitions_are_audited_without_personal_values(db, ward):
    row = submitted(db, ward)
    move(db, ward, row, "needs_fix", who="leader", reason="Biển số của Phạm Thị Mai sai")
    entries = audit.entries(db, entity="declarations", entity_id=row["id"])
    actions = [e["action"] for e in reversed(entries)]
    assert actions == ["declaration_created", "declaration_saved", "declaration_recorded",
                       "declaration_submitted", "declaration_needs_fix"]
    fix = entries[0]
    assert fix["user_id"] == ward["leader"]["id"] and fix["ward_code"] == WARD_A
    assert '"from": "submitted"' in fix["detail"] and '"to": "needs_fix"' in fix["detail"]
    text = " ".join(str(e["detail"]) for e in entries)
    for value in ("29HA00233", "29-HA 002.33", "RLHJC1234KY000001", "JC12E1234567",
                  "Phạm", "Honda"):
        assert value not in text
    assert '"plate"' in text  # field names only


# --- conflicts -----------------------------------------------------------------------

def test_duplicate_plate_across_residents_flags_both(db, ward):
    a = draft(db, ward, fields=VEHICLE)
    b = draft(db, ward, resident="hung",
              fields={**VEHICLE, "chassis_no": "OTHERFRAME1", "engine_no": "OTHERENGINE"})
    flags = q.refresh_flags(db, WARD_A, b["id"])
    assert [(f["other_declaration_id"], f["reason"]) for f in flags] == \
        [(a["id"], "same_plate")]
    assert [f["reason"] for f in q.list_flags(db, WARD_A, a["id"])] == ["same_plate"]
    assert q.get_declaration(db, WARD_A, a["id"])["is_flagged"] == 1
    assert q.get_declaration(db, WARD_A, b["id"])["is_flagged"] == 1
    # Refreshing again adds nothing.
    q.refresh_flags(db, WARD_A, a["id"])
    assert db.execute("SELECT count(*) FROM declaration_flags").fetchone()[0] == 2
    assert [r["id"] for r in q.list_declarations(db, WARD_A, flagged=True)] != []
    # Correcting the plate resolves the flag on both sides.
    q.save_draft(db, WARD_A, b["id"], {"plate_compact": "29HA00299"},
                 by=ward["officer"]["id"])
    assert q.refresh_flags(db, WARD_A, b["id"]) == []
    assert q.get_declaration(db, WARD_A, a["id"])["is_flagged"] == 0
    assert q.list_flags(db, WARD_A, a["id"]) == []


def test_same_resident_twice_is_a_conflict_too(db, ward):
    first = draft(db, ward, fields=VEHICLE)
    again = draft(db, ward, fields=VEHICLE)
    flags = q.refresh_flags(db, WARD_A, again["id"])
    assert sorted((f["other_declaration_id"], f["reason"], f["same_person"]) for f in flags) \
        == [(first["id"], "same_plate", 1), (first["id"], "same_vehicle", 1)]
    assert flags[0]["other_resident_name"] == ward["mai"]["full_name"]
    assert q.get_declaration(db, WARD_A, first["id"])["is_flagged"] == 1
    assert q.get_declaration(db, WARD_A, again["id"])["is_flagged"] == 1
    # Discarding the second one (a draft opened twice) clears the flag on the first.
    q.discard_draft(db, WARD_A, again["id"], by=ward["officer"]["id"])
    assert q.refresh_flags(db, WARD_A, first["id"]) == []
    assert q.get_declaration(db, WARD_A, first["id"])["is_flagged"] == 0


def test_by_resident_gives_their_declarations_with_flags(db, ward):
    first = draft(db, ward, kind="licence", fields=LICENCE)
    again = draft(db, ward, kind="licence", fields=LICENCE)
    hung = draft(db, ward, resident="hung", fields=VEHICLE)
    q.refresh_flags(db, WARD_A, again["id"])
    mai_id, hung_id = ward["mai"]["id"], ward["hung"]["id"]
    found = q.by_resident(db, WARD_A, [mai_id, hung_id])
    rows = found[mai_id]
    assert [r["id"] for r in rows] == [first["id"], again["id"]]
    assert [f["other_declaration_id"] for f in rows[0]["flags"]] == [again["id"]]
    assert [f["other_declaration_id"] for f in rows[1]["flags"]] == [first["id"]]
    assert [r["id"] for r in found[hung_id]] == [hung["id"]]
    assert q.by_resident(db, WARD_B, [mai_id]) == {mai_id: []}
    assert q.by_resident(db, WARD_A, []) == {}


def test_same_chassis_and_engine_flags(db, ward):
    a = draft(db, ward, fields=VEHICLE)
    b = draft(db, ward, resident="hung", fields={**VEHICLE, "plate": None,
                                                  "plate_compact": None})
    flags = q.refresh_flags(db, WARD_A, b["id"])
    assert [f["reason"] for f in flags] == ["same_vehicle"]
    assert flags[0]["other_resident_id"] == ward["mai"]["id"]
    assert q.get_declaration(db, WARD_A, a["id"])["is_flagged"] == 1


def test_same_chassis_with_engine_missing_is_not_flagged(db, ward):
    draft(db, ward, fields={**VEHICLE, "plate_compact": None, "engine_no": None})
    b = draft(db, ward, resident="hung",
              fields={**VEHICLE, "plate_compact": None, "engine_no": None})
    assert q.refresh_flags(db, WARD_A, b["id"]) == []


def test_same_licence_on_another_person_flags(db, ward):
    a = draft(db, ward, kind="licence", fields=LICENCE)
    b = draft(db, ward, resident="hung", kind="licence", fields=LICENCE)
    other_ward = draft(db, ward, resident="resident_b", kind="licence", fields=LICENCE,
                       by=ward["leader_b"]["id"])
    flags = q.refresh_flags(db, WARD_A, a["id"])
    assert [(f["other_declaration_id"], f["reason"]) for f in flags] == \
        [(b["id"], "same_licence")]  # ward B's row is not compared
    assert q.get_declaration(db, WARD_B, other_ward["id"])["is_flagged"] == 0


# --- lists, counts, bulk verify ------------------------------------------------------

def test_list_filters_and_counts(db, ward):
    other_group = make_group(db)
    far = make_resident(db, make_household(db, group=other_group), full_name="Đỗ Văn Tâm")
    ward["far"] = far
    lic = make_declaration(db, ward["mai"], status="recorded", by=ward["officer"]["id"])
    veh = submitted(db, ward)
    far_draft = draft(db, ward, resident="far", kind="licence")
    draft(db, ward, resident="resident_b", by=ward["leader_b"]["id"])

    assert q.counts_by_status(db, WARD_A) == {"draft": 1, "recorded": 1, "submitted": 1,
                                              "verified": 0, "needs_fix": 0}
    assert q.counts_by_status(db, WARD_B)["draft"] == 1
    ids = lambda rows: {r["id"] for r in rows}  # noqa: E731
    assert ids(q.list_declarations(db, WARD_A)) == {lic["id"], veh["id"], far_draft["id"]}
    assert ids(q.list_declarations(db, WARD_A, status="submitted")) == {veh["id"]}
    assert ids(q.list_declarations(db, WARD_A, kind="licence")) == {lic["id"], far_draft["id"]}
    assert ids(q.list_declarations(db, WARD_A, group_id=other_group["id"])) == \
        {far_draft["id"]}
    assert ids(q.list_declarations(db, WARD_A, flagged=True)) == set()
    assert len(q.list_declarations(db, WARD_A, flagged=False)) == 3
    assert len(q.list_declarations(db, WARD_A, limit=2)) == 2
    assert len(q.list_declarations(db, WARD_A, limit=2, offset=2)) == 1
    row = q.list_declarations(db, WARD_A, status="submitted")[0]
    assert row["resident_name"] == "Phạm Thị Mai" and row["group_name"] == "Tổ dân phố số 3"


def test_verify_many(db, ward):
    a = submitted(db, ward)
    b = submitted(db, ward, resident="hung", kind="licence")
    leader = ward["leader"]
    n = q.verify_many(db, WARD_A, [a["id"], b["id"], a["id"]], role="leader",
                      by=leader["id"])
    assert n == 2
    assert q.counts_by_status(db, WARD_A)["verified"] == 2


def test_verify_many_is_all_or_nothing(db, ward):
    a = submitted(db, ward)
    b = draft(db, ward, resident="hung", kind="licence", fields=LICENCE)
    move(db, ward, b, "recorded")  # not submitted: cannot be verified
    with pytest.raises(TransitionRefused) as e:
        q.verify_many(db, WARD_A, [a["id"], b["id"]], role="leader",
                      by=ward["leader"]["id"])
    assert e.value.code == "not_allowed"
    assert q.get_declaration(db, WARD_A, a["id"])["status"] == "submitted"
    assert audit.entries(db, action="declaration_verified") == []
    with pytest.raises(TransitionRefused):
        q.verify_many(db, WARD_A, [a["id"]], role="officer",
                      by=ward["officer"]["id"])
