"""The flask-login User: built from a `users` row joined with its live session."""
from dataclasses import dataclass

from flask_login import UserMixin

ROLES = ("admin", "leader", "officer", "kiosk", "viewer")


@dataclass(frozen=True)
class User(UserMixin):
    """A signed-in user. `session_token` is what flask-login keeps in the cookie.

    `scope` is "ward" (the user belongs to `ward_code` and sees only that ward) or "city"
    (a viewer of the whole city: no ward, `ward_code` and `ward_name` are None, and only
    the city's pages are open to them; docs/ARCHITECTURE.md#access-control)."""

    id: str
    username: str
    display_name: str
    role: str
    ward_code: str | None
    ward_name: str | None
    session_token: str
    scope: str = "ward"

    def get_id(self) -> str:
        # flask-login's "alternative token" pattern: the cookie carries the opaque session
        # token, not the user id, so revoking the server-side session ends the login.
        return self.session_token

    @property
    def is_city(self) -> bool:
        """Return True for a viewer scoped to the whole city (no ward)."""
        return self.scope == "city"

    @property
    def can_manage_groups(self) -> bool:
        """Return True for roles that may create and edit residential groups."""
        return self.role in ("admin", "leader")  # security.MANAGER_ROLES, which imports us
