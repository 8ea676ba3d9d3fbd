"""Small factories: each inserts one row with sensible defaults and returns it."""
import itertools

from werkzeug.security import generate_password_hash

from wardkit.auth import queries as auth_queries
from wardkit.groups import queries as group_queries

WARD_A = "00103"  # Phường Tây Hồ
WARD_B = "00070"  # Phường Hoàn Kiếm
PASSWORD = "correct horse battery"

_counter = itertools.count(1)
_HASH = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")


def make_user(db, *, role="officer", ward_code=WARD_A, username=None, password=None,
              display_name=None, is_active=True) -> dict:
    """Insert a user (password PASSWORD unless given) and return the row."""
    n = next(_counter)
    username = username or f"{role}{n}"
    pw_hash = _HASH if password is None else generate_password_hash(
        password, method="scrypt:1024:8:1")
    row = auth_queries.create_user(
        db, username=username, password_hash=pw_hash,
        display_name=display_name or f"Người dùng {n}", role=role, ward_code=ward_code)
    if not is_active:
        auth_queries.set_active(db, row["id"], False, by=None)
        row["is_active"] = 0
    return row


def make_group(db, *, ward_code=WARD_A, name=None, cluster=None, target_adults=500) -> dict:
    """Insert a residential group and return the row."""
    n = next(_counter)
    return group_queries.create_group(db, ward_code=ward_code, name=name or f"Tổ dân phố số {n}",
                                      cluster=cluster, target_adults=target_adults, by=None)
