"""Watching real processes from tests (Linux /proc): the server and render-worker tests."""
import time
from pathlib import Path

import pytest


def alive(pid: int) -> bool:
    """Return True while `pid` runs; a zombie has ended (only its exit status waits)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(predicate, timeout: float, what: str, every: float = 0.05):
    """Return `predicate()`'s first true value within `timeout` seconds, or fail the test
    saying what did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out waiting for {what}")
