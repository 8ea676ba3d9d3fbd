"""QR codes for the printed sheets: `qrcode` with error correction M and the standard
quiet zone of 4 modules, as a small 1-bit PNG data URI (what the sheets use) or as an SVG
path (kept for comparison in bench/bench_sheets.py).

Why PNG: WeasyPrint decodes an image once per document and the PDF holds it once however
often it is drawn, so the four step codes that every page repeats cost nothing after the
first page; an SVG is laid out and drawn again on every page. Measured on the 2-core
machine with the same 40 whole sheets: 7.4 pages/s with PNG codes, 3.9 with SVG.
The PNG holds PIXELS_PER_MODULE pixels per module so that rasterisers which smooth
upscaled images still print sharp module edges; the sheet's CSS sets the printed width
(at least 25 mm) and `image-rendering: pixelated`.

Codes are cached per payload: a batch of 2,000 households encodes each step link once.
"""
import base64
import functools
import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE = 4          # modules of white around the code (ISO/IEC 18004 minimum)
PIXELS_PER_MODULE = 4   # PNG pixels per module
CACHE_SIZE = 4096       # payloads kept: the step links plus a chunk of household links


# Trying all eight mask patterns for the lowest penalty is most of the encoding time
# (8.6 ms against 1.6 ms a code); any mask is valid QR and decoders read it. The step codes
# (cached, a handful per batch) get the best mask; each household's own code, unique per
# page, gets this fixed one.
FAST_MASK = 0


def matrix(payload: str, *, best_mask: bool = True) -> list[list[bool]]:
    """Return the QR code of `payload` (error correction M) as rows of modules, True for
    dark, including the quiet zone; with `best_mask` False, mask pattern FAST_MASK."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET_ZONE, box_size=1,
                         mask_pattern=None if best_mask else FAST_MASK)
    code.add_data(payload)
    code.make(fit=True)
    return code.get_matrix()


@functools.lru_cache(maxsize=CACHE_SIZE)
def png(payload: str, best_mask: bool = True) -> bytes:
    """Return the QR code of `payload` as a 1-bit PNG (cached per payload)."""
    from PIL import Image

    rows = matrix(payload, best_mask=best_mask)
    size = len(rows)
    scale = PIXELS_PER_MODULE
    image = Image.new("1", (size, size), 1)
    image.putdata([0 if dark else 1 for row in rows for dark in row])
    image = image.resize((size * scale, size * scale), Image.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@functools.lru_cache(maxsize=CACHE_SIZE)
def png_data_uri(payload: str, best_mask: bool = True) -> str:
    """Return the QR code of `payload` as a `data:image/png;base64,…` URI (cached)."""
    return "data:image/png;base64," + base64.b64encode(
        png(payload, best_mask)).decode("ascii")


@functools.lru_cache(maxsize=CACHE_SIZE)
def svg(payload: str) -> str:
    """Return the QR code of `payload` as an inline `<svg>` element: one path of unit
    squares in a viewBox of modules, sized by CSS (cached per payload)."""
    rows = matrix(payload)
    size = len(rows)
    parts = []
    for y, row in enumerate(rows):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                parts.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
            f'shape-rendering="crispEdges" class="qr-svg"><rect width="{size}" '
            f'height="{size}" fill="#fff"/><path d="{"".join(parts)}" fill="#000"/></svg>')


def display_link(url: str) -> str:
    """Return a link as printed under its QR code: without the `https://` a reader need
    not type, and without a trailing slash."""
    for prefix in ("https://", "http://"):
        if url.startswith(prefix):
            url = url[len(prefix):]
            break
    return url.rstrip("/")
