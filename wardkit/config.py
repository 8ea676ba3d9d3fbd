"""Every WardKit setting with its default and why.

Order of precedence in `create_app`: these defaults, then `instance/config.py`, then
`WARDKIT_*` environment variables (`WARDKIT_DATABASE` sets `DATABASE`), then the
`test_config` passed by the tests.
"""

# SQLite file; relative paths are resolved against the instance folder.
DATABASE = "wardkit.db"

# Signing key for the session cookie. When unset, one is generated once into
# instance/secret_key (mode 0600) so restarts keep sessions valid.
SECRET_KEY = None

# Set WARDKIT_HTTPS=1 when served behind TLS: cookies become Secure and take the
# __Host- prefix, which browsers refuse over plain http.
HTTPS = False

# `flask serve` / `make run` listens here (gunicorn on Linux, waitress on Windows). Use
# 0.0.0.0 to serve the ward Wi-Fi (see README).
HOST = "127.0.0.1"
PORT = 5000
# Threads per server process (gunicorn's gthread workers; waitress's threads).
THREADS = 8
# gunicorn worker processes sharing the socket: 0 = one per CPU core, up to 4. A worker
# that dies is replaced. Always 1 on Windows, which has no fork().
PROCESSES = 0

# Compression (Flask-Compress, wardkit/assets.py): pages and text assets go to the
# tablets gzip'd (brotli when the browser offers it, which browsers do only over https).
# PDFs, spreadsheets, CSV downloads and images are sent as they are: they are already
# compressed or are downloads. Responses under COMPRESS_MIN_SIZE bytes are not worth it.
# Pages: br when the browser offers it (8% smaller than gzip on the Today page for about
# the same CPU, docs/PERFORMANCE.md). Static files go out as streams, where br came out
# larger than gzip, so gzip first there.
COMPRESS_ALGORITHM = ["br", "gzip"]
COMPRESS_ALGORITHM_STREAMING = ["gzip", "br"]
COMPRESS_MIMETYPES = ["text/html", "text/css", "text/javascript", "application/javascript",
                      "image/svg+xml", "application/json"]
COMPRESS_MIN_SIZE = 500
COMPRESS_LEVEL = 6  # gzip: most of the gain of 9 at a fraction of the CPU
COMPRESS_BR_LEVEL = 4

# Sessions (docs/ARCHITECTURE.md#sessions): idle and absolute limits, in seconds.
SESSION_IDLE_SECONDS = 30 * 60
SESSION_ABSOLUTE_SECONDS = 12 * 60 * 60
# last_seen_at is rewritten at most this often, so reading pages is not a write per click.
SESSION_TOUCH_SECONDS = 15

# Login throttling: this many failures within the window, per username and per client
# address, answer 429 until the oldest failure leaves the window.
LOGIN_MAX_FAILURES = 10
LOGIN_WINDOW_SECONDS = 10 * 60

# werkzeug's scrypt: n=2^15, r=8, p=1 (~32 MiB, ~60 ms a hash on the ward laptop).
PASSWORD_HASH_METHOD = "scrypt:32768:8:1"
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 256

# Request limits (docs/ARCHITECTURE.md#bad-input): uploads up to 20 MB; oversized answers 413.
MAX_CONTENT_LENGTH = 20 * 1024 * 1024
MAX_FORM_PARTS = 1000

# Where uploaded spreadsheets wait between preview and confirm (mode 0700, each file
# deleted when imported or after an hour). None means instance/imports/.
IMPORT_DIR = None

# QR onboarding sheets: where batch jobs keep their parts and progress (None means
# instance/sheets/), how many processes render a batch, and
# how many household QR lookups (/r/<reference>) a user may make per minute.
SHEETS_DIR = None
# Field kits: where a kit's "Sync now" jobs keep their progress (None means
# instance/sync-jobs/).
SYNC_JOBS_DIR = None
SHEETS_WORKERS = None  # falls back to one per core, at most 4
# WardKit's address on the ward network, e.g. "http://192.168.1.20:5000": what every
# household QR code opens (<address>/r/<reference>). The settings page's field, when
# filled, wins. With neither (or a loopback address such as 127.0.0.1), the codes hold
# the address the page was opened with and every sheet prints marked TEST COPY.
PUBLIC_URL = None
SCAN_MAX_PER_MINUTE = 30

# Vietnamese first; English is the second catalogue.
BABEL_DEFAULT_LOCALE = "vi"
BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
LANGUAGES = ("vi", "en")

# Flask-WTF: the CSRF token lives as long as the session (the session has its own limits).
WTF_CSRF_TIME_LIMIT = None

# Flask's cookie only carries an opaque session token, never personal data; it ends
# with the browser session, and the server-side record enforces the real limits.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# The daily report (docs/ARCHITECTURE.md#reports): each day's report counts the ward as
# it stands at this Hanoi time; it is taken then by itself (the server's report clock, or
# the first request after it) unless someone took it first.
REPORT_CUTOFF = "07:00"
# The city expects every ward's report by this Hanoi time; /city lists the late ones.
CITY_REPORT_DEADLINE = "10:00"
# The body above the ward police on the report's letterhead.
REPORT_PARENT_UNIT = "CÔNG AN THÀNH PHỐ HÀ NỘI"

# The community-centre kiosk (docs/ARCHITECTURE.md#kiosk). An enrolled device's credential
# lasts this many days (then it is enrolled again); the one-time enrolment link this many
# minutes. A resident's turn ends after this many seconds without a touch.
KIOSK_CREDENTIAL_DAYS = 30
KIOSK_ENROL_MINUTES = 15
KIOSK_IDLE_SECONDS = 2 * 60
# At most this many tickets per kiosk per minute; more get "please ask an officer".
KIOSK_MAX_REQUESTS_PER_MINUTE = 4
# Tickets and kiosk requests nobody processed are deleted after this many days.
KIOSK_PURGE_DAYS = 7
