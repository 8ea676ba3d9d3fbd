"""Forms for login, password change and user administration (messages via Flask-Babel)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length, Regexp

from ..vocabulary import ROLE_LABELS
from .users import ROLES

# The role that may see and do the least while still being a person at a desk: the
# new-user form starts on it.
LEAST_PRIVILEGED_ROLE = "viewer"
# The roles a person's account may have. A kiosk is an enrolled device, not an account
# (wardkit/kiosk/devices.py).
PERSON_ROLES = tuple(r for r in ROLES if r != "kiosk")

PASSWORD_MESSAGES = {
    "too_short": _l("The password must have at least 8 characters."),
    "too_long": _l("The password is too long (256 characters at most)."),
    "common": _l("This password is too common and easy to guess. Choose another."),
}


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[
        DataRequired(_l("Enter your username.")), Length(max=64, message=_l("The username is too long."))])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Enter your password.")),
        Length(max=256, message=_l("The password is too long (256 characters at most)."))])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Enter your current password."))])
    new_password = PasswordField(_l("New password"), validators=[
        DataRequired(_l("Enter a new password."))])
    confirm_password = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(_l("Repeat the new password.")),
        EqualTo("new_password", _l("The two passwords do not match."))])


class UserCreateForm(FlaskForm):
    username = StringField(_l("Username"), validators=[
        DataRequired(_l("Enter a username.")),
        Length(min=3, max=32, message=_l("A username has 3 to 32 characters.")),
        Regexp(r"^[A-Za-z0-9._-]+$",
               message=_l("Use only letters without accents, digits, dot, dash or underscore."))])
    display_name = StringField(_l("Full name"), validators=[
        DataRequired(_l("Enter the person's name.")),
        Length(max=80, message=_l("A name has at most 80 characters."))])
    # A new account starts with the least it may do (aggregates only); the admin raises it
    # on purpose rather than handing out "admin" by leaving the first choice selected.
    role = SelectField(_l("Role"), choices=[SelectChoice(r, ROLE_LABELS[r])
                                            for r in PERSON_ROLES],
                       default=LEAST_PRIVILEGED_ROLE, validate_choice=False, validators=[
                           AnyOf(PERSON_ROLES, message=_l("Choose a role from the list."))])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Enter a password."))])


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[
        DataRequired(_l("Enter a new password."))])
