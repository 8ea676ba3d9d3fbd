"""Page-or-fragment decisions for htmx requests, kept here so views don't repeat header
strings."""
from flask import make_response, render_template, request


def wants_fragment(target: str) -> bool:
    """Return True when this is an htmx request aimed at element id `target`.

    Keyed on HX-Target, not bare HX-Request: boosted navigations are htmx requests too,
    and a history-restore request needs the whole page.
    """
    htmx = request.htmx
    return bool(htmx) and not htmx.history_restore_request and htmx.target == target


def page_or_fragment(page: str, fragment: str, target: str, status: int = 200, **context):
    """Render `fragment` for an htmx request targeting `target`, else the full `page`.

    Returns a response with `Vary: HX-Target` so no cache mixes the two.
    """
    template = fragment if wants_fragment(target) else page
    resp = make_response(render_template(template, **context), status)
    resp.vary.add("HX-Target")
    resp.vary.add("HX-Request")
    return resp
