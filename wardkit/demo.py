"""`flask seed-demo`: a demo ward for a first look, created only in an empty database."""
import secrets

import click
from flask.cli import with_appcontext

from . import audit
from .auth import queries as auth_queries
from .auth.views import create_user_account, normalise_ward_code
from .db import get_db, write
from .groups import queries as group_queries

DEMO_WARD = "00103"  # Phường Tây Hồ, which went household by household in Nov 2025

DEMO_GROUPS = [  # (name, cluster, adults aged 15+ to reach)
    ("Tổ dân phố số 1", "Cụm 1", 640),
    ("Tổ dân phố số 2", "Cụm 1", 585),
    ("Tổ dân phố số 7", "Cụm 1", 720),
    ("Tổ dân phố số 12", "Cụm 2", 498),
    ("Tổ dân phố số 15", "Cụm 3", 812),
]

DEMO_USERS = [  # (username, role, display name)
    ("demo.admin", "admin", "Quản trị (DEMO)"),
    ("demo.leader", "leader", "Lãnh đạo phường (DEMO)"),
    ("demo.officer", "officer", "Cán bộ Nguyễn Văn An (DEMO)"),
    ("demo.kiosk", "kiosk", "Ki-ốt nhà văn hoá (DEMO)"),
    ("demo.viewer", "viewer", "Theo dõi (DEMO)"),
]


def seed_demo(db, ward_code: str = DEMO_WARD) -> list[tuple[str, str, str]] | None:
    """Create the demo groups and one user per role; return (username, role, password)
    triples, or None when the database already has users (nothing is touched then)."""
    if auth_queries.count_users(db):
        return None
    ward_code = normalise_ward_code(ward_code)
    if auth_queries.get_ward(db, ward_code) is None:
        raise click.ClickException(f"no ward with code {ward_code}")
    with write(db):
        for name, cluster, target in DEMO_GROUPS:
            group = group_queries.create_group(db, ward_code=ward_code, name=name,
                                               cluster=cluster, target_adults=target, by=None)
            audit.record(db, "group_created", entity="residential_groups",
                         entity_id=group["id"], ward_code=ward_code, detail={"demo": True})
        credentials = []
        for username, role, display in DEMO_USERS:
            # Random passwords: a demo must never ship a guessable default login.
            password = "demo-" + secrets.token_urlsafe(9)
            create_user_account(db, username=username, role=role, ward_code=ward_code,
                                password=password, display_name=display, is_demo=True)
            credentials.append((username, role, password))
    return credentials


@click.command("seed-demo")
@click.option("--ward", "ward_code", default=DEMO_WARD, show_default=True,
              help="Ward code for the demo (103 = Phường Tây Hồ).")
@with_appcontext
def seed_demo_command(ward_code):
    """Seed a demo ward (groups and one DEMO user per role) when there are no users yet."""
    credentials = seed_demo(get_db(), ward_code)
    if credentials is None:
        click.echo("The database already has users: no demo data added.")
        return
    click.echo("")
    click.echo("=" * 64)
    click.echo(" DEMO accounts (shown once; for trying WardKit, not for real work)")
    click.echo("=" * 64)
    for username, role, password in credentials:
        click.echo(f"  {role:<8} {username:<14} {password}")
    click.echo("=" * 64)
    click.echo("")


def init_app(app) -> None:
    """Register `flask seed-demo`."""
    app.cli.add_command(seed_demo_command)
