"""The sheet settings form (admin): official links, hotlines, the ward police contact."""
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError

from ..text import clean_line

MAX_URL = 500


def _link_problem(value: str, schemes: tuple[str, ...]) -> bool:
    """Return True when `value` is not a plain absolute link with one of `schemes` and a
    real host name (no spaces, no user name or password in it)."""
    if len(value) > MAX_URL or any(ch.isspace() for ch in value):
        return True
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return True
    return (parts.scheme not in schemes or not host or "." not in host
            or parts.username is not None or parts.password is not None
            or host.startswith(".") or host.endswith("."))


def https_url(form, field):
    """An https link (what a resident's phone opens): https://, a host, nothing odd."""
    if field.data and _link_problem(field.data, ("https",)):
        raise ValidationError(_l("Enter a full link that starts with https://, for "
                                 "example https://zalo.me/1234567890."))


def public_url(form, field):
    """WardKit's own address on the ward network: http or https (a LAN address has no
    certificate), no query."""
    if not field.data:
        return
    if _link_problem(field.data, ("http", "https")) or urlsplit(field.data).query \
            or urlsplit(field.data).fragment:
        raise ValidationError(_l("Enter the address the tablets open, for example "
                                 "http://192.168.1.20:5000."))


def phone_like(form, field):
    """A hotline or phone as printed: at least 3 digits; dots, spaces and a note allowed."""
    if field.data and sum(ch.isdigit() for ch in field.data) < 3:
        raise ValidationError(_l("Enter a phone number, for example 024.3942.4451."))


def _clean(value):
    return clean_line(value) if value else ""


class SettingsForm(FlaskForm):
    ihanoi_android_url = StringField(_l("iHanoi on Google Play (Android)"), filters=[_clean],
                                     validators=[DataRequired(_l("Enter the link.")),
                                                 https_url])
    ihanoi_ios_url = StringField(_l("iHanoi on the App Store (iPhone)"), filters=[_clean],
                                 validators=[DataRequired(_l("Enter the link.")), https_url])
    vneid_url = StringField(_l("VNeID app"), filters=[_clean],
                            validators=[DataRequired(_l("Enter the link.")), https_url])
    declare_guide_url = StringField(_l("Guide to declaring licences and vehicles (optional)"),
                                    filters=[_clean], validators=[https_url])
    zalo_oa_url = StringField(_l("Zalo OA of the Hanoi traffic police"), filters=[_clean],
                              validators=[DataRequired(_l("Enter the link.")), https_url])
    ihanoi_hotline = StringField(_l("iHanoi support hotline"), filters=[_clean], validators=[
        Length(max=40, message=_l("At most 40 characters.")), phone_like])
    traffic_hotline = StringField(_l("Traffic police hotline"), filters=[_clean], validators=[
        Length(max=40, message=_l("At most 40 characters.")), phone_like])
    police_name = StringField(_l("Ward police (as printed)"), filters=[_clean], validators=[
        DataRequired(_l("Enter the name printed on the sheets, e.g. Công an phường Tây Hồ.")),
        Length(max=80, message=_l("At most 80 characters."))])
    police_phone = StringField(_l("Ward police phone"), filters=[_clean], validators=[
        DataRequired(_l("Enter the phone number residents can call.")),
        Length(max=40, message=_l("At most 40 characters.")), phone_like])
    police_address = StringField(_l("Ward police address (optional)"), filters=[_clean],
                                 validators=[Length(max=120,
                                                    message=_l("At most 120 characters."))])
    public_url = StringField(_l("WardKit's address on the ward network (optional)"),
                             filters=[_clean], validators=[public_url])
