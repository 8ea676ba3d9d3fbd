"""`flask serve`: check the database file, then serve WardKit with a standard server.

On Linux (anywhere with fork()) gunicorn serves: its master process keeps PROCESSES
workers of THREADS threads each on one listening socket, replaces a worker that dies and
kills one that hangs. On Windows, waitress serves in this one process. Either way
`flask serve` stays the one command, with the same options and WARDKIT_* settings.
"""
import os
import socket
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from .db import connect

# A Python process runs one thread of Python at a time, so one worker uses about one
# core however many threads it has. On a 2-core mini-PC two processes nearly double the
# requests served (docs/PERFORMANCE.md, declaration saves). More than four only add
# memory for a ward's load.
MAX_AUTO_PROCESSES = 4

# gunicorn kills a worker whose main loop has not checked in for this long. With
# threaded workers the main loop checks in every second whatever the request threads
# are doing, so this only fires when the whole process is stuck (a C call holding the
# GIL, a deadlock). Nothing legitimate comes near it: a household's sheet PDF renders in
# about a second and batch sheets render in background processes. 90 s leaves a slow
# mini-PC under swap plenty of room before a working process is killed.
WORKER_TIMEOUT = 90
# On stop, requests in progress get this long to finish; pages answer in milliseconds.
GRACEFUL_TIMEOUT = 10


def quick_check(db) -> str:
    """Return SQLite's `PRAGMA quick_check` verdict ("ok" when the file is sound)."""
    return db.execute("PRAGMA quick_check").fetchone()[0]


def check_file(path: str) -> str:
    """Return the quick_check verdict for the database at `path`, or the error that kept
    SQLite from reading it. The connection is closed before returning: the server's
    workers open their own."""
    try:
        db = connect(path)
    except Exception as exc:  # noqa: BLE001 - a file SQLite cannot open is the verdict
        return str(exc)
    try:
        return quick_check(db)
    except Exception as exc:  # noqa: BLE001 - "database disk image is malformed"
        return str(exc)
    finally:
        db.close()


def worker_count(setting) -> int:
    """Return how many server processes to run for the PROCESSES `setting`.

    0 (the default) means one per CPU core, at most MAX_AUTO_PROCESSES; where fork() is
    missing (Windows) it is always 1.
    """
    if not hasattr(os, "fork"):
        return 1
    wanted = int(setting or 0)
    if wanted <= 0:
        wanted = min(os.cpu_count() or 1, MAX_AUTO_PROCESSES)
    return max(1, wanted)


def listen(host: str, port: int) -> socket.socket:
    """Return a listening TCP socket on host:port.

    Binding here, not in gunicorn, lets the start line name the real port (port 0 picks
    a free one) and makes a taken port fail before anything starts.
    """
    return socket.create_server((host, port), backlog=1024)


def _leave_at_once(arbiter, worker) -> None:
    """gunicorn's worker_exit hook: end a worker that has served, without Python's
    shutdown. That shutdown would wait for a running sheet batch's render pool (minutes);
    like after a power cut, the next server reports such a job failed."""
    if worker.booted:  # a worker that failed to load the app keeps its exit code
        os._exit(0)


def gunicorn_options(sock: socket.socket, processes: int, threads: int) -> dict:
    """Return gunicorn's settings for serving on `sock` (which gunicorn takes over)."""
    return {
        "bind": [f"fd://{sock.detach()}"],
        "worker_class": "gthread",
        "workers": processes,
        "threads": threads,
        "timeout": WORKER_TIMEOUT,
        "graceful_timeout": GRACEFUL_TIMEOUT,
        # Each worker builds the app itself, so every SQLite connection is opened after
        # fork() (gunicorn's default; spelled out because it matters).
        "preload_app": False,
        "worker_exit": _leave_at_once,
        # WardKit is managed through its one command and signals, not gunicornc.
        "control_socket_disable": True,
    }


def run_gunicorn(options: dict) -> None:
    """Run gunicorn's master with `options` until it is stopped (SIGTERM, Ctrl+C)."""
    from gunicorn.app.base import BaseApplication

    class WardKit(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            # In the worker, after fork(): the same environment and instance/config.py
            # as `flask serve` read, so the same settings.
            from . import create_app
            from .reports import schedule
            app = create_app()
            schedule.start(app)  # the daily report at the cut-off, in every worker
            return app

    WardKit().run()


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default WARDKIT_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default WARDKIT_PORT or 5000).")
@click.option("--processes", default=None, type=int,
              help="Worker processes (default WARDKIT_PROCESSES; 0 = one per core, up to 4).")
@with_appcontext
def serve_command(host, port, processes):
    """Serve WardKit: gunicorn on Linux, waitress on Windows."""
    app = current_app._get_current_object()
    verdict = check_file(app.config["DATABASE"])
    if verdict != "ok":
        raise click.ClickException(f"database check failed: {verdict}. Restore from a backup.")
    host = host or app.config["HOST"]
    port = port if port is not None else int(app.config["PORT"])
    count = worker_count(processes if processes is not None else app.config["PROCESSES"])
    threads = int(app.config["THREADS"])
    sock = listen(host, port)
    server = "gunicorn" if hasattr(os, "fork") else "waitress"
    click.echo(f"WardKit on http://{host}:{sock.getsockname()[1]}/  ({server}, {count} "
               f"process(es) x {threads} threads; Ctrl+C to stop)")
    sys.stdout.flush()
    if server == "gunicorn":
        run_gunicorn(gunicorn_options(sock, count, threads))
        return
    import waitress
    from .reports import schedule
    schedule.start(app)  # the daily report at the cut-off
    waitress.serve(app, sockets=[sock], threads=threads, ident="WardKit")


def init_app(app) -> None:
    """Register `flask serve`."""
    app.cli.add_command(serve_command)
