"""`flask seed-demo`: a demo ward for a first look, created only in an empty database."""
import math
import secrets
from collections import Counter

import click
from flask import current_app
from flask.cli import with_appcontext

from . import audit, clock
from .auth import queries as auth_queries
from .auth.accounts import create_user_account
from .db import get_db, write
from .groups import queries as group_queries
from .residents import fake
from .residents import queries as resident_queries
from .visits.demo import seed_visits
from .sheets import queries as sheet_queries

DEMO_WARD = "00103"  # Phường Tây Hồ, which went household by household in Nov 2025

HOUSEHOLDS_PER_GROUP = 400  # a tổ dân phố in the inner wards holds a few hundred homes
DEFAULT_HOUSEHOLDS = 2000
DEFAULT_SEED = 2025

# The demo's kiosk is a device (docs/ARCHITECTURE.md#kiosk): `seed-demo` prints its
# one-time enrolment link.
DEMO_KIOSK = "Ki-ốt nhà văn hoá (DEMO)"

DEMO_USERS = [  # (username, role, display name)
    ("demo.admin", "admin", "Quản trị (DEMO)"),
    ("demo.leader", "leader", "Lãnh đạo phường (DEMO)"),
    ("demo.officer", "officer", "Cán bộ Nguyễn Văn An (DEMO)"),
    ("demo.viewer", "viewer", "Theo dõi (DEMO)"),
]


def seed_demo(db, ward_code: str = DEMO_WARD, *, households: int = DEFAULT_HOUSEHOLDS,
              seed: int = DEFAULT_SEED) -> list[tuple[str, str, str]] | None:
    """Create a realistic synthetic ward: residential groups, `households` households with
    their residents (deterministic for a given `seed`), and one DEMO user per role.

    Return (username, role, password) triples, or None when the database already has
    users (nothing is touched then).
    """
    if auth_queries.count_users(db):
        return None
    ward_code = auth_queries.normalise_ward_code(ward_code)
    if auth_queries.get_ward(db, ward_code) is None:
        raise click.ClickException(f"no ward with code {ward_code}")
    today = clock.today()
    n_groups = max(5, math.ceil(households / HOUSEHOLDS_PER_GROUP))
    # Random passwords: a demo must never ship a guessable default login.
    credentials = [(username, role, display, "demo-" + secrets.token_urlsafe(9))
                   for username, role, display in DEMO_USERS]
    with write(db):
        groups = [
            group_queries.insert_group(db, ward_code=ward_code, name=f"Tổ dân phố số {k}",
                                       cluster=f"Cụm {(k - 1) // 5 + 1}", target_adults=0,
                                       by=None)
            for k in range(1, n_groups + 1)
        ]
        adults = Counter()

        def counted(items):
            for household, people in items:
                adults[household["group_id"]] += sum(
                    1 for p in people if _age(p["dob"], today) >= 15)
                yield household, people

        resident_queries.bulk_create(
            db, ward_code=ward_code, by=None,
            items=counted(fake.generate_ward(seed, groups, households, today=today)))
        for group in groups:
            # The target is the group's population aged 15+, as the city sets it.
            group_queries.update_group_row(db, ward_code, group["id"], name=group["name"],
                                           cluster=group["cluster"],
                                           target_adults=adults[group["id"]], by=None)
            audit.record(db, "group_created", user_id=None, ward_code=ward_code,
                         entity="residential_groups", entity_id=group["id"],
                         detail={"demo": True})
        # Obvious sample links (.example), kept as samples: the sheets print "MẪU / SAMPLE"
        # until an admin enters the official ones on the Settings page.
        sheet_queries.save_settings(
            db, ward_code, {**sheet_queries.SAMPLE_SETTINGS,
                            "police_name": "Công an phường (DEMO)"},
            by=None, is_sample=True)
        accounts = {username: create_user_account(
            db, username=username, role=role, ward_code=ward_code, password=password,
            display_name=display, is_demo=True, by=None, via="cli")
            for username, role, display, password in credentials}
        seed_visits(db, ward_code, groups, officer_id=accounts["demo.officer"]["id"],
                    leader_id=accounts["demo.leader"]["id"], seed=seed)
    return [(username, role, password) for username, role, _, password in credentials]


def _age(born, today) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@click.command("seed-demo")
@click.option("--ward", "ward_code", default=DEMO_WARD, show_default=True,
              help="Ward code for the demo (103 = Phường Tây Hồ).")
@click.option("--households", default=DEFAULT_HOUSEHOLDS, show_default=True,
              type=click.IntRange(0, 50_000), help="How many synthetic households.")
@click.option("--seed", default=DEFAULT_SEED, show_default=True, type=int,
              help="Random seed: the same seed gives the same ward.")
@with_appcontext
def seed_demo_command(ward_code, households, seed):
    """Seed a realistic demo ward (groups, households, residents, one DEMO user per role)
    when the database has no users yet."""
    credentials = seed_demo(get_db(), ward_code, households=households, seed=seed)
    if credentials is None:
        click.echo("The database already has users: no demo data added. Lost a password? "
                   "Set a new one with: .venv/bin/flask set-password USERNAME")
        return
    click.echo("")
    click.echo("=" * 64)
    click.echo(" DEMO accounts (shown once; for trying WardKit, not for real work)")
    click.echo("=" * 64)
    for username, role, password in credentials:
        click.echo(f"  {role:<8} {username:<14} {password}")
    click.echo("=" * 64)
    from .kiosk import devices
    _device, token = devices.enrol(get_db(), name=DEMO_KIOSK, ward_code=ward_code, by=None,
                                   via="cli")
    minutes = current_app.config["KIOSK_ENROL_MINUTES"]
    click.echo(f" DEMO kiosk: within {minutes} minutes, open on the kiosk device")
    click.echo(f"   /kiosk/enrol/{token}")
    click.echo("   (after WardKit's address; later: .venv/bin/flask kiosk enrol NAME --ward CODE)")
    click.echo("=" * 64)
    click.echo("")


def init_app(app) -> None:
    """Register `flask seed-demo`."""
    app.cli.add_command(seed_demo_command)
