"""`flask serve`: run WardKit under waitress after checking the database file, in one
process or in several forked worker processes sharing one listening socket."""
import os
import signal
import socket

import click
from flask.cli import with_appcontext
from flask import current_app

from .db import close_db, get_db

# A Python process runs one thread of Python at a time, so one waitress process uses
# about one core however many threads it has. On a 2-core mini-PC two processes nearly
# double the requests served (docs/PERFORMANCE.md, declaration saves). More than four
# only add memory for a ward's load.
MAX_AUTO_PROCESSES = 4


def quick_check(db) -> str:
    """Return SQLite's `PRAGMA quick_check` verdict ("ok" when the file is sound)."""
    return db.execute("PRAGMA quick_check").fetchone()[0]


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
    """Return a listening TCP socket on host:port, inheritable by forked workers."""
    sock = socket.create_server((host, port), backlog=1024)
    sock.set_inheritable(True)
    return sock


def run(app, sock: socket.socket, threads: int, processes: int) -> None:
    """Serve `app` on `sock` until interrupted; returns when every worker has stopped.

    With processes > 1 the parent only forks and waits: each child runs its own waitress
    with `threads` threads on the shared socket (the kernel hands each connection to one
    of them). SQLite coordinates the writers across processes (busy_timeout), and every
    piece of state a request needs (sessions, throttling, import progress) is in the
    database or on disk, never in one process's memory.
    """
    import waitress

    if processes <= 1:
        waitress.serve(app, sockets=[sock], threads=threads, ident="WardKit")
        return
    children = []
    for _ in range(processes):
        pid = os.fork()
        if pid == 0:  # a worker
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                waitress.serve(app, sockets=[sock], threads=threads, ident="WardKit")
            except KeyboardInterrupt:
                pass
            except BaseException:  # noqa: BLE001 - report, then leave without cleanup
                import traceback
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)  # never run the parent's atexit handlers twice
        children.append(pid)

    def stop(signum=None, frame=None):
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, lambda s, f: stop())
    try:
        while children:
            try:
                pid, _status = os.wait()
            except ChildProcessError:
                break
            if pid in children:
                children.remove(pid)
                stop()  # one worker gone (crash or signal): stop the service, not half of it
    except KeyboardInterrupt:
        stop()
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default WARDKIT_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default WARDKIT_PORT or 5000).")
@click.option("--processes", default=None, type=int,
              help="Worker processes (default WARDKIT_PROCESSES; 0 = one per core, up to 4).")
@with_appcontext
def serve_command(host, port, processes):
    """Serve WardKit with waitress (the portable server; also runs on Windows)."""
    app = current_app._get_current_object()
    verdict = quick_check(get_db())
    close_db()  # a connection must not cross fork()
    if verdict != "ok":
        raise click.ClickException(f"database check failed: {verdict}. Restore from a backup.")
    host = host or app.config["HOST"]
    port = port if port is not None else int(app.config["PORT"])
    count = worker_count(processes if processes is not None else app.config["PROCESSES"])
    threads = int(app.config["THREADS"])
    sock = listen(host, port)
    port = sock.getsockname()[1]
    click.echo(f"WardKit on http://{host}:{port}/  ({count} process(es) x {threads} threads;"
               " Ctrl+C to stop)")
    run(app, sock, threads, count)


def init_app(app) -> None:
    """Register `flask serve`."""
    app.cli.add_command(serve_command)
