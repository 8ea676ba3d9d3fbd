"""WardKit: the ward police working groups' offline app. `create_app` builds it."""
import os
import pathlib
import secrets

from flask import Flask
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

from . import assets
from . import config as default_config
from . import db as dbmod
from . import errors, i18n, security

ROOT = pathlib.Path(__file__).resolve().parent.parent
HTMX_FILE = "htmx-2.0.11.min.js"

# htmx settings that keep it inside the strict CSP (docs/ARCHITECTURE.md#csrf-and-csp) and let 422 responses
# (forms with errors) swap like 200s.
HTMX_CONFIG = {
    "allowEval": False,
    "allowScriptTags": False,
    "includeIndicatorStyles": False,
    "historyCacheSize": 0,
    "refreshOnHistoryMiss": True,
    "selfRequestsOnly": True,
    "responseHandling": [
        {"code": "204", "swap": False},
        {"code": "[23]..", "swap": True},
        {"code": "422", "swap": True},
        {"code": "[45]..", "swap": False, "error": True},
        {"code": "...", "swap": False},
    ],
}

csrf = CSRFProtect()
login_manager = LoginManager()


def _secret_key(instance_path: str) -> str:
    """Return the instance's secret key, generating it (mode 0600) on first run."""
    path = pathlib.Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def create_app(test_config: dict | None = None) -> Flask:
    """Build and return the WardKit app.

    :raises wardkit.db.SQLiteTooOld: when the SQLite library has the WAL corruption bug.
    """
    dbmod.check_sqlite_version()
    app = Flask(__name__, instance_path=str(ROOT / "instance"),
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.from_object(default_config)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("WARDKIT")
    if test_config:
        app.config.from_mapping(test_config)
    if not os.path.isabs(app.config["DATABASE"]):
        app.config["DATABASE"] = os.path.join(app.instance_path, app.config["DATABASE"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app.instance_path)
    if app.config["HTTPS"]:
        app.config.update(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_NAME="__Host-wardkit",
                          PREFERRED_URL_SCHEME="https")
    else:
        app.config["SESSION_COOKIE_NAME"] = "wardkit"

    dbmod.init_app(app)
    assets.init_app(app)  # first: its compression hook must run after the others
    Htmx(app)
    csrf.init_app(app)
    i18n.init_app(app)
    _init_login(app)
    security.init_app(app)
    _init_templates(app)
    errors.init_app(app)

    from .auth import views as auth_views
    from .declarations import views as declaration_views
    from .groups import views as group_views
    from .home import views as home_views
    from .residents import views as resident_views
    from .residents import import_views
    from .visits import views as visit_views
    from . import demo, serve
    app.register_blueprint(auth_views.bp)
    app.register_blueprint(home_views.bp)
    app.register_blueprint(group_views.bp)
    app.register_blueprint(resident_views.bp)
    app.register_blueprint(declaration_views.bp)
    app.register_blueprint(visit_views.bp)
    import_views.init_app(app)  # /import blueprint and `flask import-residents`
    from .declarations.review_views import review_bp
    app.register_blueprint(review_bp)  # /declarations list, review, export
    from .sheets.views import bp as sheets_bp
    app.register_blueprint(sheets_bp)  # QR sheets, /r/<reference>, /settings
    from .sync import cli as sync_cli, views as sync_views
    sync_views.init_app(app, csrf)  # /sync/push and /sync/pull: device-key auth
    from .sync.pages import bp as sync_pages_bp; app.register_blueprint(sync_pages_bp)  # /sync, /devices, /conflicts
    sync_cli.init_app(app)
    from .reports import account_views, city_views, downloads
    from .reports import cli as reports_cli, views as report_views
    app.register_blueprint(report_views.bp)  # /reports: the daily report
    app.register_blueprint(downloads.bp)  # /reports/<day>.pdf|.xlsx|.json
    account_views.init_app(app)  # /reports/accounts, flask import-ihanoi-accounts
    app.register_blueprint(city_views.bp)  # /city: the city's roll-up of the wards' reports
    reports_cli.init_app(app)  # flask reports snapshot|export|consolidate
    from .kiosk import cli as kiosk_cli, device_views, guide, queue_views, session_views
    from .kiosk import views as kiosk_views
    app.register_blueprint(kiosk_views.bp)  # /kiosk: the kiosk device's screens
    app.register_blueprint(guide.bp)  # /kiosk/ihanoi: installing and activating iHanoi
    app.register_blueprint(device_views.bp)  # /admin/kiosks, /kiosk/enrol/<token>
    app.register_blueprint(queue_views.bp)  # /queue, /queue/display
    app.register_blueprint(session_views.bp)  # /queue/sessions: help sessions
    kiosk_cli.init_app(app)  # flask kiosk enrol|revoke|purge
    auth_views.init_app(app)
    demo.init_app(app)
    serve.init_app(app)
    return app


def _init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page explains itself
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(token):
        # The cookie holds a session token; the server-side record decides (docs/ARCHITECTURE.md#sessions).
        return security.load_session(dbmod.get_db(), token)

    @login_manager.request_loader
    def load_kiosk(req):
        # No signed-in person: an enrolled kiosk device, by its own cookie (docs/ARCHITECTURE.md#kiosk).
        from .kiosk import devices
        token = req.cookies.get(devices.cookie_name())
        return devices.load_device(dbmod.get_db(), token) if token else None


def _init_templates(app: Flask) -> None:
    from flask_babel import format_number
    from . import vocabulary

    app.jinja_env.globals.update(htmx_config=HTMX_CONFIG, htmx_file=HTMX_FILE)
    vocabulary.init_app(app)
    app.jinja_env.filters["format_number"] = format_number

    @app.template_filter("localtime")
    def localtime(stored: str) -> str:
        """Return a stored UTC `*_at` value as Hanoi local time, dd/mm/yyyy HH:MM."""
        from . import clock
        return clock.parse(stored).astimezone(clock.HANOI).strftime("%d/%m/%Y %H:%M")
