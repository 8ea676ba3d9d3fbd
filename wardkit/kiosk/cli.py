"""`flask kiosk enrol|revoke|purge` (docs/ARCHITECTURE.md#kiosk)."""
import click
from flask import current_app
from flask.cli import AppGroup

from ..db import get_db
from ..sheets.documents import qr_base
from ..sheets.queries import get_settings
from . import devices, queries, queue

kiosk_cli = AppGroup("kiosk", help="Enrol and revoke kiosk devices; purge the queue.")


@kiosk_cli.command("enrol")
@click.argument("name")
@click.option("--ward", "ward_code", required=True, help="Ward code (see `flask wards`).")
def enrol_command(name, ward_code):
    """Enrol (or renew) the kiosk NAME and print its one-time enrolment link."""
    db = get_db()
    try:
        device, token = devices.enrol(db, name=name, ward_code=ward_code, by=None, via="cli")
    except devices.EnrolRefused as refused:
        raise click.ClickException(str(refused))
    settings = get_settings(db, device["ward_code"]) or {}
    cfg = current_app.config
    base, warn = qr_base(settings.get("public_url"), cfg.get("PUBLIC_URL"),
                         f"http://{cfg['HOST']}:{cfg['PORT']}")
    with current_app.test_request_context(base_url=base):
        from .device_views import enrol_url
        link = enrol_url(token, base)
    minutes = cfg["KIOSK_ENROL_MINUTES"]
    click.echo(f"Kiosk {device['name']!r} of {device['ward_name']}: open this link on the "
               f"device within {minutes} minutes (it works once):\n{link}")
    if warn:
        click.echo("Note: WardKit's address on the ward network is not set (settings page or "
                   "WARDKIT_PUBLIC_URL); replace the address above with the one the device "
                   "reaches.", err=True)


@kiosk_cli.command("revoke")
@click.argument("name")
def revoke_command(name):
    """Revoke the kiosk NAME at once."""
    db = get_db()
    device = queries.device_by(db, "name", name)
    if device is None:
        raise click.ClickException(f"no kiosk named {name!r}")
    devices.revoke(db, device, by=None, via="cli")
    click.echo(f"Kiosk {device['name']!r} revoked.")


@kiosk_cli.command("purge")
def purge_command():
    """Delete tickets and kiosk requests never processed within KIOSK_PURGE_DAYS."""
    purged = queue.purge(get_db())
    for ward, counts in purged.items():
        click.echo(f"{ward}: {counts['tickets']} ticket(s), {counts['requests']} request(s)")
    if not purged:
        click.echo("Nothing to purge.")


def init_app(app) -> None:
    """Register `flask kiosk`."""
    app.cli.add_command(kiosk_cli)
