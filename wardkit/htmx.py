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


def page_or_fragment(page_template: str, fragment_template: str, target: str,
                     status: int = 200, **context):
    """Render `fragment_template` for an htmx request aimed at `target`, else the whole
    `page_template`.

    Returns a response with `Vary: HX-Target` so no cache mixes the two.
    """
    template = fragment_template if wants_fragment(target) else page_template
    resp = make_response(render_template(template, **context), status)
    resp.vary.add("HX-Target")
    resp.vary.add("HX-Request")
    return resp
