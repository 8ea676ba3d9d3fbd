"""`flask sync now|export|import`, `flask kit add|join|revoke` and `flask restore`
(README.md, "Field kits"). Each prints what it did and exits non-zero when a bundle is
refused."""
import pathlib
import sys

import click
import qrcode
from flask import current_app
from flask.cli import with_appcontext

from ..db import get_db
from . import client, enrol, queries, rounds
from . import restore as restore_mod
from .apply import Refused


def _say_result(prefix: str, counts: dict) -> None:
    parts = [f"{k.replace('_', ' ')} {v}" for k, v in counts.items()
             if k in ("sent", "applied", "duplicates", "conflicts", "possible_duplicates",
                      "merged", "held_back", "clock_flagged") and v is not None]
    click.echo(f"{prefix}: " + ", ".join(parts))
    if counts.get("missing_from"):
        click.echo(f"  held back: changes from #{counts['missing_from']} have not arrived "
                   "yet; the held bundle applies when they do")


def _fail(message: str):
    click.echo(f"Refused: {message}", err=True)
    sys.exit(1)


@click.group("sync")
def sync_group():
    """Exchange changes between a field kit and the ward hub."""


@sync_group.command("now")
@with_appcontext
def sync_now():
    """On a kit: push waiting changes to the hub over the LAN, then pull."""
    db = get_db()
    try:
        done = client.sync_now(db, progress=lambda step: click.echo(f"... {step}"))
    except (Refused, client.HubUnreachable) as exc:
        _fail(str(exc))
    _say_result("Pushed", done["push"])
    _say_result("Pulled", done["pull"])


@sync_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--kit", "kit_name", help="On the hub: write this kit's pull bundle.")
@with_appcontext
def sync_export(file, kit_name):
    """Write a sealed bundle to FILE (a USB stick): a kit's push, or with --kit on the
    hub, that kit's pull."""
    db = get_db()
    if queries.is_kit(db):
        if kit_name:
            _fail("--kit is for the hub; on a kit, export writes its push")
        data, count = rounds.push_bundle(db)
        what = f"push bundle with {count} change(s)"
    else:
        if not kit_name:
            _fail("on the hub, say which kit: flask sync export FILE --kit NAME")
        device = queries.get_device(db, name=kit_name)
        if device is None or device["status"] == "revoked":
            _fail(f"no active kit named {kit_name!r}")
        data = rounds.pull_bundle(db, device, device["pulled_seq"])
        what = f"pull bundle for {device['name']} (rows after #{device['pulled_seq']})"
    pathlib.Path(file).write_bytes(data)
    click.echo(f"Wrote {what} to {file} ({len(data):,} bytes, sealed).")


@sync_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def sync_import(file):
    """Apply a sealed bundle from FILE: a kit's push on the hub, the hub's pull on a kit."""
    db = get_db()
    data = pathlib.Path(file).read_bytes()
    try:
        if queries.is_kit(db):
            result = rounds.receive_pull(db, data)
            _say_result("Pulled", result.counts())
        else:
            device, result = rounds.receive_push(db, data)
            _say_result(f"Applied from {device['name']}", result.counts())
            click.echo(f"  acknowledged up to #{device['acked_seq']}; write the kit's pull "
                       f"with: flask sync export FILE --kit {device['name']!r}")
    except Refused as exc:
        _fail(exc.reason)


@click.group("kit")
def kit_group():
    """Enrol, join and revoke field kits."""


def _print_code(code: str) -> None:
    click.echo(f"One-time code: {code}  (valid {enrol.CODE_HOURS} hours)")
    qr = qrcode.QRCode(border=1)
    qr.add_data(code)
    qr.print_ascii(out=sys.stdout)


@kit_group.command("add")
@click.argument("name")
@click.option("--ward", "ward_code", help="The kit's ward (default: the hub's only ward).")
@click.option("--file", "file", type=click.Path(dir_okay=False),
              help="Also write an enrolment bundle (the ward's data, sealed under the code).")
@with_appcontext
def kit_add(name, ward_code, file):
    """At the hub: enrol a field kit NAME and print its one-time code."""
    db = get_db()
    if not ward_code:
        wards = [r[0] for r in db.execute("SELECT DISTINCT ward_code FROM users")]
        if len(wards) != 1:
            _fail("say which ward: --ward CODE")
        ward_code = wards[0]
    try:
        device, code = enrol.add_kit(db, name=name, ward_code=ward_code, group_id=None, by=None)
    except enrol.EnrolError as exc:
        _fail(str(exc))
    click.echo(f"Kit {device['name']} enrolled for ward {ward_code}.")
    _print_code(code)
    if file:
        pathlib.Path(file).write_bytes(enrol.enrolment_file(db, device, code, by=None))
        click.echo(f"Wrote the enrolment bundle to {file}: on the kit, "
                   f"flask kit join --file {file} {code}")
    else:
        click.echo(f"On the kit: flask kit join {current_app.config.get('PUBLIC_URL') or 'HUB_URL'} "
                   f"{code}")


@kit_group.command("join")
@click.argument("hub_url", required=False)
@click.argument("code", required=False)
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False),
              help="Join from an enrolment bundle instead of over the LAN.")
@with_appcontext
def kit_join(hub_url, code, file):
    """On a fresh kit: join the hub (HUB_URL CODE, or --file FILE CODE) and pull the ward."""
    db = get_db()
    try:
        if file:
            code = code or hub_url or click.prompt("One-time code")
            welcome = enrol.open_welcome(pathlib.Path(file).read_bytes(), code)
            kit = enrol.become_kit(db, welcome, None)
            click.echo(f"Joined as kit {kit['name']} of ward {kit['ward_code']}: "
                       f"{len(welcome.get('pull', []))} row(s) applied from the file.")
            return
        if not hub_url or not code:
            _fail("give the hub's address and the code: flask kit join HUB_URL CODE")
        done = client.join(db, hub_url, code)
    except (enrol.EnrolError, Refused, client.HubUnreachable) as exc:
        _fail(str(exc))
    _say_result(f"Joined as kit {done['kit']['name']} of ward {done['kit']['ward_code']}; pulled",
                done["pull"])


@kit_group.command("revoke")
@click.argument("name")
@with_appcontext
def kit_revoke(name):
    """At the hub: revoke kit NAME; its later bundles are refused."""
    try:
        device = enrol.revoke_kit(get_db(), name, by=None)
    except enrol.EnrolError as exc:
        _fail(str(exc))
    click.echo(f"Kit {device['name']} revoked: its bundles are refused from now on.")


@click.command("restore")
@click.argument("backup", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore(backup, yes):
    """Replace this database with the copy BACKUP (checked first). Stop the server first.
    The restored hub gets a new epoch, so kits re-send what it lost."""
    problem = restore_mod.check_copy(backup)
    if problem:
        _fail(f"{backup}: {problem}")
    db = get_db()
    if queries.is_kit(db):
        _fail("a kit is not restored: revoke it at the hub and enrol a fresh one")
    if not yes:
        click.confirm(f"Replace {current_app.config['DATABASE']} with {backup}?", abort=True)
    epoch = restore_mod.restore(db, backup)
    click.echo(f"Restored from {backup} (integrity ok); new epoch {epoch[:8]}: kits will "
               "re-send what the copy lacks at their next sync.")


def init_app(app) -> None:
    app.cli.add_command(sync_group)
    app.cli.add_command(kit_group)
    app.cli.add_command(restore)
