"""Installing and activating iHanoi at the kiosk (docs/ARCHITECTURE.md#kiosk): the ward's
store links as QR codes on screen (as on the printed sheets, with the sample warning until
the admin sets them), then signing in with VNeID step by step, each step one short
sentence beside a plain drawing (static/kiosk/*.svg: a phone outline, a big button, a
finger; never a picture of another app), and last the traffic police's Zalo OA with the
hotlines. Nothing is written: these are pages to read, one thing per screen.

`/kiosk/ihanoi` is the first screen; `/kiosk/ihanoi/<n>` the others (2 to len(SCREENS)).
"""
from dataclasses import dataclass

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..db import get_db
from ..security import roles
from ..sheets.documents import step_codes
from ..sheets.queries import effective_settings
from .views import device_only

bp = Blueprint("kiosk_guide", __name__, url_prefix="/kiosk/ihanoi")

# The label of iHanoi's sign-in button, shown as the resident will see it on their phone
# (in Vietnamese whatever the kiosk's language).
VNEID_LOGIN_LABEL = "Đăng nhập bằng VNeID"
# The Zalo OA's own name, as Zalo shows it.
ZALO_OA_NAME = "Phòng Cảnh sát giao thông Hà Nội"


@dataclass(frozen=True)
class Screen:
    """One screen of the guide. `kind` picks what it shows beside the sentence:
    "install" (the Android and iPhone codes), "account" (the VNeID app's code),
    "drawing" (`drawing`, a file under static/), "zalo" (the OA's code and hotlines)."""
    kind: str
    title: str
    text: str
    drawing: str | None = None
    note: str | None = None


SCREENS = (
    Screen("install", _l("Install iHanoi on your phone"),
           _l("Point your phone’s camera at the code for your phone, then install the app.")),
    Screen("account", _l("You need a VNeID account"),
           _l("Level 2 where iHanoi asks for it: made at the police with your chip ID card.")),
    Screen("drawing", _l("Open iHanoi"),
           _l("Touch the iHanoi app on your phone’s screen."),
           drawing="kiosk/ihanoi-open.svg"),
    Screen("drawing", _l("Log in with VNeID"),
           _l("Press the button “%(label)s”.", label=VNEID_LOGIN_LABEL),
           drawing="kiosk/ihanoi-login.svg"),
    Screen("drawing", _l("Confirm in VNeID"),
           _l("The VNeID app opens: type your VNeID passcode."),
           drawing="kiosk/ihanoi-passcode.svg",
           note=_l("A VNeID account is logged in on one phone at a time: use your own phone.")),
    Screen("drawing", _l("Allow iHanoi"),
           _l("VNeID asks whether iHanoi may use your account: press to agree."),
           drawing="kiosk/ihanoi-allow.svg"),
    Screen("drawing", _l("You are logged in"),
           _l("iHanoi shows its home screen. You can use it now."),
           drawing="kiosk/ihanoi-done.svg"),
    Screen("zalo", _l("Follow the traffic police on Zalo"),
           _l("Open Zalo and scan this code.")),
)
# The screens that show the ward's links as codes (and the sample warning while unset).
WITH_CODES = ("install", "account", "zalo")


def _render(number: int):
    """Return the page of screen `number` (1-based) for this kiosk's ward."""
    screen = SCREENS[number - 1]
    settings = codes = None
    if screen.kind in WITH_CODES:
        settings = effective_settings(get_db(), current_user.ward_code)
        codes = step_codes(settings)
    return render_template(
        "kiosk/guide.html", screen=screen, number=number, count=len(SCREENS),
        settings=settings, codes=codes, oa_name=ZALO_OA_NAME,
        back=_url(number - 1) if number > 1 else None,
        next=_url(number + 1) if number < len(SCREENS) else None)


def _url(number: int) -> str:
    """Return the address of screen `number` (the first is the guide's own address)."""
    return url_for("kiosk_guide.index") if number == 1 else url_for("kiosk_guide.step",
                                                                     step=number)


@bp.route("")
@roles("kiosk")
@device_only
def index():
    """Return the first screen of the guide: the iHanoi app's QR codes for Android and
    iPhone."""
    return _render(1)


@bp.route("/<int:step>")
@roles("kiosk")
@device_only
def step(step):
    """Return screen `step` of the guide (404 when there is none; the first screen's
    number redirects to the guide's own address)."""
    if step == 1:
        return redirect(url_for("kiosk_guide.index"))
    if not 1 < step <= len(SCREENS):
        abort(404)
    return _render(step)
