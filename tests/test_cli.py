"""Command-line: every command has help; init-db, seed-demo and backup behave."""
import pytest

from wardkit.auth import queries as auth_queries
from wardkit.groups import queries as group_queries

COMMANDS = ["init-db", "create-user", "seed-demo", "backup", "serve", "import-residents",
            "set-password"]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help(runner, name):
    r = runner.invoke(args=[name, "--help"])
    assert r.exit_code == 0
    assert "Usage:" in r.output and len(r.output.splitlines()) > 3


def test_init_db_is_idempotent(tmp_path, latest_schema):
    from wardkit import create_app
    from tests.conftest import TEST_CONFIG
    app = create_app({**TEST_CONFIG, "DATABASE": str(tmp_path / "sub" / "new.db")})
    r1 = app.test_cli_runner().invoke(args=["init-db"])
    assert r1.exit_code == 0 and "Applied" in r1.output and "0001_wal" in r1.output
    r2 = app.test_cli_runner().invoke(args=["init-db"])
    assert r2.exit_code == 0 and "Applied" not in r2.output and latest_schema in r2.output


def test_seed_demo_only_on_empty_database(runner, db):
    r = runner.invoke(args=["seed-demo"])
    assert r.exit_code == 0, r.output
    assert "DEMO" in r.output
    users = {u["username"]: u for u in auth_queries.list_users(db, "00103")}
    assert set(u["role"] for u in users.values()) == {"admin", "leader", "officer",
                                                       "viewer"}
    assert all(u["is_demo"] for u in users.values())
    # Each printed password works and is random (not a shared default).
    passwords = [line.split()[-1] for line in r.output.splitlines() if "demo." in line]
    assert len(set(passwords)) == 4
    groups = group_queries.list_groups(db, "00103")
    assert len(groups) >= 3 and all(g["target_adults"] > 0 for g in groups)
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "already has users" in again.output
    assert "flask set-password USERNAME" in again.output  # says how to recover a password
    assert len(group_queries.list_groups(db, "00103")) == len(groups)


def test_demo_passwords_sign_in(app, runner):
    from tests.conftest import Auth
    r = runner.invoke(args=["seed-demo"])
    line = next(line for line in r.output.splitlines() if "demo.officer" in line)
    password = line.split()[-1]
    auth = Auth(app.test_client())
    assert auth.login("demo.officer", password).status_code == 303


def test_backup_command(runner, db, tmp_path):
    runner.invoke(args=["seed-demo"])
    dest = tmp_path / "copy.db"
    r = runner.invoke(args=["backup", str(dest)])
    assert r.exit_code == 0 and "integrity ok" in r.output
    from wardkit.db import connect
    copy = connect(str(dest))
    assert copy.execute("SELECT count(*) FROM users").fetchone()[0] == 4


# --- set-password -------------------------------------------------------------------

NEW_PW = "a long new passphrase"


def test_set_password_lets_the_user_sign_in_with_the_new_one_only(app, runner, db):
    from tests.conftest import Auth
    from tests.factories import make_user
    make_user(db, username="demo.officer", password="old passphrase here")
    r = runner.invoke(args=["set-password", "demo.officer", "--password", NEW_PW])
    assert r.exit_code == 0, r.output
    assert "demo.officer" in r.output
    auth = Auth(app.test_client())
    assert auth.login("demo.officer", "old passphrase here").status_code == 422
    assert auth.login("demo.officer", NEW_PW).status_code == 303


def test_set_password_ends_the_users_sessions_and_is_audited(app, runner, db):
    from tests.conftest import Auth
    from tests.factories import make_user
    from wardkit import audit
    user = make_user(db, username="an", password="old passphrase here")
    tablet = app.test_client()
    assert Auth(tablet).login("an", "old passphrase here").status_code == 303
    assert tablet.get("/").status_code == 200
    r = runner.invoke(args=["set-password", "an", "--password", NEW_PW])
    assert r.exit_code == 0, r.output
    # The tablet that was signed in is sent to the login page.
    after = tablet.get("/")
    assert after.status_code == 302 and "/login" in after.headers["Location"]
    rows = audit.entries(db, action="password_reset", entity_id=user["id"])
    assert len(rows) == 1 and '"via": "cli"' in rows[0]["detail"]
    assert NEW_PW not in (rows[0]["detail"] or "")


def test_set_password_prompts_twice_hidden(app, runner, db):
    from tests.conftest import Auth
    from tests.factories import make_user
    make_user(db, username="an")
    r = runner.invoke(args=["set-password", "an"], input=f"{NEW_PW}\n{NEW_PW}\n")
    assert r.exit_code == 0, r.output
    assert "Password:" in r.output and "Repeat for confirmation" in r.output
    assert NEW_PW not in r.output  # hidden input
    assert Auth(app.test_client()).login("an", NEW_PW).status_code == 303


def test_set_password_refuses_a_mismatched_confirmation(runner, db):
    from tests.factories import make_user
    make_user(db, username="an")
    r = runner.invoke(args=["set-password", "an"], input=f"{NEW_PW}\nsomething else\n")
    assert r.exit_code != 0


@pytest.mark.parametrize("password", ["short", "password123", "x" * 300])
def test_set_password_applies_the_apps_password_rules(app, runner, db, password):
    from tests.conftest import Auth
    from tests.factories import make_user
    from wardkit import audit
    make_user(db, username="an", password="old passphrase here")
    r = runner.invoke(args=["set-password", "an", "--password", password])
    assert r.exit_code != 0
    assert "Error" in r.output
    assert audit.entries(db, action="password_reset") == []
    assert Auth(app.test_client()).login("an", "old passphrase here").status_code == 303


def test_set_password_refuses_an_unknown_user(runner, db):
    r = runner.invoke(args=["set-password", "nobody", "--password", NEW_PW])
    assert r.exit_code != 0
    assert "no user named 'nobody'" in r.output
