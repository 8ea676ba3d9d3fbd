"""The flask-login User: built from a `users` row joined with its live session."""
from dataclasses import dataclass

from flask_login import UserMixin

ROLES = ("admin", "leader", "officer", "kiosk", "viewer")


@dataclass(frozen=True)
class User(UserMixin):
    """A signed-in user. `session_token` is what flask-login keeps in the cookie."""

    id: str
    username: str
    display_name: str
    role: str
    ward_code: str
    ward_name: str
    session_token: str

    def get_id(self) -> str:
        # flask-login's "alternative token" pattern: the cookie carries the opaque session
        # token, not the user id, so revoking the server-side session ends the login.
        return self.session_token

    @property
    def can_manage_groups(self) -> bool:
        """Return True for roles that may create and edit residential groups."""
        return self.role in ("admin", "leader")  # security.MANAGER_ROLES, which imports us
