"""Worker processes that end with the process that started them.

A batch's render workers (wardkit/sheets/pdf.py) are spawned children of a server
process. If that process is killed (kill -9, out of memory), nothing tells them: each
worker holds both ends of its task queue, so it would wait for work forever, or finish a
chunk nobody will join. `die_with_parent` makes a worker leave as soon as its parent is
gone: on Linux the kernel sends it SIGKILL (PR_SET_PDEATHSIG), and everywhere a daemon
thread notices that `os.getppid()` changed (the orphan was re-parented) within
POLL_SECONDS.
"""
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

POLL_SECONDS = 0.5
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _linux_parent_death_signal() -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies; return True when it
    agreed. (The signal follows the parent *thread*; the batch's pool lives inside one
    call on one thread, so the two end together.)"""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_SECONDS)
    os._exit(1)  # no cleanup: the parts folder is swept with the job's files


def die_with_parent(parent_pid: int) -> None:
    """Make this process end when `parent_pid` (the process that spawned it) ends. Call
    first thing in the child; returns at once."""
    _linux_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before we asked
        os._exit(1)
    threading.Thread(target=_watch, args=(parent_pid,), name="wardkit-lifeline",
                     daemon=True).start()
