"""`flask serve`: run WardKit under waitress after checking the database file."""
import click
from flask.cli import with_appcontext
from flask import current_app

from .db import get_db


def quick_check(db) -> str:
    """Return SQLite's `PRAGMA quick_check` verdict ("ok" when the file is sound)."""
    return db.execute("PRAGMA quick_check").fetchone()[0]


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default WARDKIT_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default WARDKIT_PORT or 5000).")
@with_appcontext
def serve_command(host, port):
    """Serve WardKit with waitress (the portable server; also runs on Windows)."""
    import waitress

    app = current_app._get_current_object()
    verdict = quick_check(get_db())
    if verdict != "ok":
        raise click.ClickException(f"database check failed: {verdict}. Restore from a backup.")
    host = host or app.config["HOST"]
    port = port or int(app.config["PORT"])
    click.echo(f"WardKit on http://{host}:{port}/  (Ctrl+C to stop)")
    waitress.serve(app, host=host, port=port, threads=int(app.config["THREADS"]),
                   ident="WardKit")


def init_app(app) -> None:
    """Register `flask serve`."""
    app.cli.add_command(serve_command)
