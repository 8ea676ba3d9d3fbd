"""Background jobs' private files: the sweep (wardkit/files.py) deletes whatever a killed
server left that is old and never fails the request that runs it; a job (wardkit/jobs.py)
whose owner died reads as failed at once."""
import os
import pathlib
import tempfile

import pytest

from wardkit.files import file_clock, sweep_tokens

TTL = 30 * 60


def _age(path, seconds):
    # The clock is read outside the swept folder: its probe file would freshen a folder.
    then = file_clock(pathlib.Path(tempfile.gettempdir())) - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def test_old_parts_folder_left_by_a_killed_batch_is_removed(tmp_path):
    """The `wardkit-sheets-*` folder of a killed batch (with parts in it) goes, with the
    job's own files; a fresh job is kept."""
    parts = tmp_path / "wardkit-sheets-abc123"
    (parts / "nested").mkdir(parents=True)
    (parts / "part-00000.pdf").write_bytes(b"%PDF names and addresses")
    (parts / "nested" / "x").write_bytes(b"x")
    for name in ("old.json", "old.status", "old.lock", "old.pdf.part"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "new.status").write_text("{}")
    for path in [parts, parts / "nested", *parts.rglob("*"), *tmp_path.glob("old.*")]:
        _age(path, TTL + 60)
    assert sweep_tokens(tmp_path, TTL) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.status"]


def test_a_fresh_parts_folder_is_kept(tmp_path):
    parts = tmp_path / "wardkit-sheets-running"
    parts.mkdir()
    (parts / "base.pdf").write_bytes(b"%PDF")
    assert sweep_tokens(tmp_path, TTL) == 0
    assert (parts / "base.pdf").exists()


def test_missing_folder_or_vanished_entry_never_raises(tmp_path, monkeypatch):
    assert sweep_tokens(tmp_path / "nope", TTL) == 0
    gone = tmp_path / "gone.status"
    gone.write_text("{}")
    kept = tmp_path / "old.status"
    kept.write_text("{}")
    _age(kept, TTL + 60)
    real_lstat = type(gone).lstat

    def lstat(self):
        if self.name == "gone.status":   # deleted by another process meanwhile
            raise FileNotFoundError(self)
        return real_lstat(self)

    monkeypatch.setattr(type(gone), "lstat", lstat)
    assert sweep_tokens(tmp_path, TTL) == 1
    assert not kept.exists()


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root can read and delete anything")
def test_undeletable_entries_are_logged_and_the_rest_still_goes(tmp_path, caplog):
    locked = tmp_path / "wardkit-sheets-locked"
    locked.mkdir()
    (locked / "part.pdf").write_bytes(b"%PDF")
    old = tmp_path / "old.pdf"
    old.write_bytes(b"%PDF")
    for path in (locked / "part.pdf", locked, old):
        _age(path, TTL + 60)
    locked.chmod(0o500)   # its part cannot be deleted
    try:
        sweep_tokens(tmp_path, TTL)
    finally:
        locked.chmod(0o700)
    assert not old.exists()
    assert "cannot delete" in caplog.text


def test_unreadable_or_undeletable_entries_never_raise(tmp_path, monkeypatch, caplog):
    """Whatever the file system answers (permission refused), the sweep logs and goes on:
    the entries it can delete still go."""
    import pathlib
    import shutil
    for name in ("a.status", "b.status", "c.status"):
        (tmp_path / name).write_text("{}")
        _age(tmp_path / name, TTL + 60)
    parts = tmp_path / "wardkit-sheets-x"
    parts.mkdir()
    _age(parts, TTL + 60)
    real_lstat, real_unlink = pathlib.Path.lstat, pathlib.Path.unlink

    def lstat(self):
        if self.name == "a.status":
            raise PermissionError(13, "Permission denied", str(self))
        return real_lstat(self)

    def unlink(self, missing_ok=False):
        if self.name == "b.status":
            raise PermissionError(13, "Permission denied", str(self))
        return real_unlink(self, missing_ok=missing_ok)

    def rmtree(path, onerror=None, **kwargs):
        onerror(os.rmdir, str(path), (PermissionError, PermissionError(13, "no"), None))

    monkeypatch.setattr(pathlib.Path, "lstat", lstat)
    monkeypatch.setattr(pathlib.Path, "unlink", unlink)
    monkeypatch.setattr(shutil, "rmtree", rmtree)
    assert sweep_tokens(tmp_path, TTL) == 1   # c.status
    assert not (tmp_path / "c.status").exists()
    assert (tmp_path / "a.status").exists() and (tmp_path / "b.status").exists()
    assert caplog.text.count("cannot") >= 3


# --- wardkit/jobs.py ------------------------------------------------------------------------

def _kind(tmp_path, app):
    from wardkit.jobs import Jobs
    app.config["TEST_JOBS_DIR"] = str(tmp_path / "jobs")
    return Jobs(name="test", setting="TEST_JOBS_DIR", folder="test-jobs", ttl=TTL,
                running=("queued", "working"))


@pytest.mark.skipif(os.name != "posix", reason="needs flock")
def test_a_job_whose_owner_died_is_failed_at_once_and_a_finished_one_is_not(tmp_path, app):
    """The owner's lock is the proof of life: a job still "working" without it failed (no
    ten-minute wait); one that wrote its last status before letting go is as it says."""
    import threading
    from werkzeug.exceptions import NotFound

    with app.app_context():
        jobs = _kind(tmp_path, app)
        token = jobs.create({"user_id": "u1", "ward_code": "00103"})
        assert jobs.own(token, "u1", "00103")["user_id"] == "u1"
        with pytest.raises(NotFound):
            jobs.own(token, "u2", "00103")
        with pytest.raises(NotFound):
            jobs.own("../../etc/passwd", "u1", "00103")
        release, seen = threading.Event(), {}

        def work(app, token, final):
            jobs.set_status(token, "working", done=1, total=2)
            seen["running"] = jobs.status(token)   # its own lock: alive
            release.wait(10)
            if final:
                jobs.set_status(token, "done", done=2, total=2)

        assert jobs.start(token, work, True, locale="en", total=2)
        assert not jobs.start(token, work, True, locale="en")   # a second click
        release.set()
        for thread in threading.enumerate():
            if thread.name.startswith("wardkit-test-"):
                thread.join(10)
        assert seen["running"]["state"] == "working"
        assert jobs.status(token)["state"] == "done"

        # An owner gone without its last status (its process died: the lock is free).
        dead = jobs.create({"user_id": "u1", "ward_code": "00103"})
        release.clear()
        assert jobs.start(dead, work, False, locale="en")
        release.set()
        for thread in threading.enumerate():
            if thread.name.startswith("wardkit-test-"):
                thread.join(10)
        assert jobs.status(dead) == {"state": "failed"}
        assert jobs.status("gone" * 10 + "abc") == {"state": "missing"}
        assert jobs.sweep(file_clock(jobs.directory()) + TTL + 60) >= 6
        assert jobs.own(token, "u1", "00103") is None
