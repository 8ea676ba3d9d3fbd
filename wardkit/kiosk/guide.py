"""Installing and activating iHanoi at the kiosk (docs/ARCHITECTURE.md#kiosk): the ward's
store links as QR codes on screen (as on the printed sheets, with the sample warning until
the admin sets them), then signing in with VNeID step by step, and the traffic police's
Zalo OA. Nothing is written: these are pages to read."""
from flask import Blueprint, render_template
from flask_login import current_user

from ..db import get_db
from ..security import roles
from ..sheets.documents import step_codes
from ..sheets.queries import effective_settings
from .views import device_only

bp = Blueprint("kiosk_guide", __name__, url_prefix="/kiosk/ihanoi")


@bp.route("")
@roles("kiosk")
@device_only
def index():
    """The first screen of the guide: the iHanoi app's QR codes for Android and iPhone."""
    settings = effective_settings(get_db(), current_user.ward_code)
    return render_template("kiosk/guide.html", codes=step_codes(settings),
                           settings=settings)
