"""The demo ward's round (called by `flask seed-demo`): assignments and a week of visits
with outcomes, iHanoi and Zalo OA changes and follow-ups, so Today and the progress table
show something on a first look."""
import json
import random
from datetime import datetime, time, timedelta

from .. import clock
from . import queries
from .days import local_today

MAX_VISITED = 160  # households visited in the demo history (keeps seeding quick)


def seed_visits(db, ward_code: str, groups: list[dict], *, officer_id: str,
                leader_id: str, seed: int) -> int:
    """Assign the officer to the first two groups and the leader to the third (the rest
    stay unassigned, which the leaders' pages flag), then record a week of visits in the
    officer's groups. Return the number of visits. The caller holds the transaction."""
    rng = random.Random(seed)
    for group in groups[:2]:
        queries.assign(db, ward_code, group["id"], officer_id, by=None)
    if len(groups) > 2:
        queries.assign(db, ward_code, groups[2]["id"], leader_id, by=None)
    households = [row[0] for row in db.execute(
        """SELECT id FROM households WHERE deleted_at IS NULL
           AND group_id IN (SELECT value FROM json_each(?)) ORDER BY address_folded, id""",
        [json.dumps([g["id"] for g in groups[:2]])])]
    now = clock.now()
    today = local_today(now)
    visited = rng.sample(households, min(MAX_VISITED, len(households) * 45 // 100))
    count = 0
    for n, household_id in enumerate(visited):
        day = today - timedelta(days=rng.randint(0, 6))
        at = datetime.combine(day, time(rng.randint(8, 19), rng.randint(0, 59)), clock.HANOI)
        if at > now:
            at = now - timedelta(minutes=rng.randint(5, 120))
        if n % 25 == 0:  # nobody ever home: three tries flag an evening round
            for k in range(3):
                queries.record_visit(db, ward_code=ward_code, household_id=household_id,
                                     by=officer_id, outcome="nobody_home",
                                     at=at - timedelta(days=2 * (2 - k)))
                count += 1
            continue
        outcome = rng.choices(("done", "nobody_home", "come_back", "declined"),
                              weights=(60, 20, 12, 8))[0]
        follow_up_at = None
        if outcome == "come_back":
            # Some due today, some overdue, some later this week.
            due_day = today + timedelta(days=rng.choice((-1, 0, 0, 1, 2)))
            follow_up_at = datetime.combine(due_day, time(rng.choice((17, 19)), 30),
                                            clock.HANOI)
            if follow_up_at <= at:
                follow_up_at = at + timedelta(hours=6)
        onboarding = None
        if outcome == "done":
            adults = queries.adult_residents(db, household_id, today)
            onboarding = {r["id"]: {
                "ihanoi_status": rng.choices(("activated", "installed", "not_installed"),
                                             weights=(55, 25, 20))[0],
                "is_zalo_followed": int(rng.random() < 0.4)} for r in adults}
        queries.record_visit(db, ward_code=ward_code, household_id=household_id,
                             by=officer_id, outcome=outcome, at=at,
                             follow_up_at=follow_up_at, onboarding=onboarding)
        count += 1
    return count
