"""What makes pages light on the ward Wi-Fi: responses compressed (Flask-Compress), and
static files fingerprinted so a tablet keeps them for a year and asks again only when
one changes (docs/ARCHITECTURE.md#compression-and-caching).

Every `url_for('static', filename=...)` gets `?v=<first 10 hex digits of the file's
SHA-256>` added; a static response whose `v` matches the file on disk is sent with
`Cache-Control: public, max-age=31536000, immutable`. Any other static request (no `v`,
or a `v` from an older page) keeps Flask's revalidating default, so a stale URL never
pins an old file in a browser's cache.
"""
import functools
import hashlib
import os

from flask import Flask, current_app, request
from flask_compress import Compress
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
FINGERPRINT_LENGTH = 10

compress = Compress()


@functools.lru_cache(maxsize=256)
def _file_hash(path: str, mtime_ns: int, size: int) -> str:
    # Keyed by mtime and size too, so an edited file gets a new fingerprint without a
    # restart; the hash itself is computed once per version of the file.
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()[:FINGERPRINT_LENGTH]


def fingerprint(filename: str | None) -> str | None:
    """Return the fingerprint of static/`filename` (10 hex digits of its SHA-256), or
    None when it is not a file inside the static folder."""
    if not filename:
        return None
    path = safe_join(current_app.static_folder, filename)
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not os.path.isfile(path):
        return None
    return _file_hash(path, st.st_mtime_ns, st.st_size)


def add_fingerprint(endpoint: str, values: dict) -> None:
    """url_defaults: give every static URL its `v` fingerprint (unless one is given)."""
    if endpoint == "static" and "v" not in values:
        v = fingerprint(values.get("filename"))
        if v:
            values["v"] = v


def cache_static(response):
    """after_request: a year-long, immutable cache for a static file asked for by its
    current fingerprint; every other response is left as it is."""
    if request.endpoint != "static" or response.status_code not in (200, 304):
        return response
    asked = request.args.get("v")
    if asked and asked == fingerprint((request.view_args or {}).get("filename")):
        response.headers["Cache-Control"] = IMMUTABLE
    return response


def compress_response(response):
    """after_request: compress complete (200) responses of the configured types.

    Partial content (206, a Range request) is never compressed: the compressed bytes
    would not match the range the browser asked for.
    """
    if response.status_code != 200 or "Content-Range" in response.headers:
        return response
    return compress.after_request(response)


def init_app(app: Flask) -> None:
    """Register fingerprinting, the static cache header and compression on `app`."""
    app.config["COMPRESS_REGISTER"] = False  # registered below, behind compress_response
    compress.init_app(app)
    app.url_defaults(add_fingerprint)
    # after_request hooks run last-registered first: compression is registered first so
    # it runs after every hook that sets headers.
    app.after_request(compress_response)
    app.after_request(cache_static)
