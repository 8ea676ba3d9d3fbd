"""Flask-Babel as WardKit uses it: the reader's language, lazy translations escaped like
any text, and each request's catalogue looked up once (docs/ARCHITECTURE.md#i18n)."""
import flask_babel
from flask import current_app, g, has_request_context, session
from flask_babel.speaklater import LazyString
from markupsafe import Markup, escape

babel = flask_babel.Babel()


def select_locale() -> str:
    """Return the user's chosen language, Vietnamese unless they switched."""
    if not has_request_context():  # CLI messages: the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    lang = session.get("lang")
    return lang if lang in current_app.config["LANGUAGES"] else "vi"


def _lazy_html(self) -> Markup:
    """Return a lazy translation as escaped HTML."""
    return escape(str(self))


# Flask-Babel's lazy strings declare themselves HTML (`__html__` returns the text as is), so
# Jinja printed them unescaped, `|join` included: a value formatted into one (a stored name
# quoted in "This CCCD already belongs to %(name)s") reached the page as markup. Our
# messages hold no markup of their own, so every lazy string is escaped like any text.
LazyString.__html__ = _lazy_html

_lookup_translations = flask_babel.Domain.get_translations


def _translations_once(self):
    """Return the catalogue for the context's locale, looked up once per locale.

    Flask-Babel finds the context three times and formats the locale's name for every
    string it translates: ~15 µs a string, and a household page translates ~290 (labels,
    buttons, lazy messages). The answer is kept on the context next to the locale it was
    for, so `force_locale` (batch jobs render in their user's language) still switches.
    """
    try:
        ctx = g._flask_babel
    except (AttributeError, RuntimeError):  # no lookup yet, or no app context (CLI)
        return _lookup_translations(self)
    locale = getattr(ctx, "babel_locale", None)
    kept = getattr(ctx, "wardkit_translations", None)
    if locale is not None and kept is not None and kept[0] is locale and kept[1] is self:
        return kept[2]
    translations = _lookup_translations(self)
    ctx.wardkit_translations = (ctx.babel_locale, self, translations)
    return translations


flask_babel.Domain.get_translations = _translations_once


def init_app(app) -> None:
    """Set up Flask-Babel on `app`: Vietnamese by default, the catalogues in the package."""
    import pathlib
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(
                       pathlib.Path(__file__).resolve().parent / "translations"))

    @app.context_processor
    def inject_locale():
        return {"current_locale": str(flask_babel.get_locale() or "vi")}
