"""HTML sheets to PDF with WeasyPrint (imported lazily: only printing needs it and its
system libraries), and batches that stay fast and small.

A batch is cut into chunks of households. The caller renders each chunk's HTML (Jinja,
in the app); worker processes turn the chunks into PDF parts in parallel (WeasyPrint is
single-threaded and CPU-bound; the ward machine has 2 cores); the parts are joined in
order with pypdf into one file, which the view streams. Peak memory is a chunk per
worker plus the joined page tree, whatever the group's size (docs/PERFORMANCE.md).

Every resource a sheet may load is local: `static/sheets.css`, the vendored Be Vietnam
Pro fonts and `data:` images. Anything else (http, other files) is refused, so a value
typed into a setting can never make the server fetch a URL.
"""
import functools
import os
import pathlib
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
STATIC = ROOT / "static"
STYLESHEET = STATIC / "sheets.css"

# What the PDF says about itself: the same for every sheet, never a name or an address.
METADATA = {
    "title": "Hướng dẫn cài đặt iHanoi / iHanoi onboarding sheet",
    "authors": ["WardKit"],
    "subject": "iHanoi, VNeID, Zalo OA CSGT Hà Nội",
}


def _fetcher_class():
    from weasyprint.urls import URLFetcher

    static_prefix = STATIC.as_uri() + "/"

    class LocalOnlyFetcher(URLFetcher):
        """Fetch `data:` URIs and files under static/ only."""

        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if url.startswith(static_prefix) and ".." not in url:
                return super().fetch(url, headers)
            raise ValueError(f"sheets load only local static files, not {url[:80]}")

    return LocalOnlyFetcher


@functools.cache
def _engine():
    """Return (weasyprint module, font configuration, sheet stylesheet, fetcher, image
    cache), built once per process: parsing the stylesheet and loading the fonts cost
    more than a page."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    fetcher = _fetcher_class()(allowed_protocols={"data", "file"})
    css = weasyprint.CSS(filename=str(STYLESHEET), font_config=font_config,
                         url_fetcher=fetcher)
    return weasyprint, font_config, css, fetcher, {}


# WeasyPrint shares its font configuration and caches; one render at a time per process
# (the server's threads queue here; batches run in worker processes).
_RENDER_LOCK = threading.Lock()


def render(html: str, target) -> int:
    """Write the PDF of one sheet document (`html` from the sheets templates with
    `for_pdf=True`) to `target` (a path or a binary file); return its page count."""
    with _RENDER_LOCK:
        return _render(html, target)


def _render(html: str, target) -> int:
    weasyprint, font_config, css, fetcher, image_cache = _engine()
    document = weasyprint.HTML(string=html, base_url=STATIC.as_uri() + "/",
                               url_fetcher=fetcher).render(
        stylesheets=[css], font_config=font_config, cache=image_cache)
    document.metadata.title = METADATA["title"]
    document.metadata.authors = list(METADATA["authors"])
    document.metadata.description = METADATA["subject"]
    document.metadata.keywords = []
    document.write_pdf(target)
    return len(document.pages)


def _render_part(html: str, path: str) -> tuple[str, int]:
    """Worker process: render one chunk to `path`; return (path, pages)."""
    return path, render(html, path)


def _pool_initializer() -> None:
    # Workers load WeasyPrint and the fonts before the first chunk arrives.
    _engine()


def join(parts: list[str], target, *, repeat: int = 1) -> int:
    """Join PDF files `parts` in order into `target` (each part `repeat` times: a page
    repeated shares one content stream); return the page count."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for path in parts:
        reader = PdfReader(path)
        for _ in range(repeat):
            for page in reader.pages:
                writer.add_page(page)
    writer.add_metadata({"/Title": METADATA["title"], "/Author": METADATA["authors"][0],
                         "/Subject": METADATA["subject"], "/Producer": "WardKit"})
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    writer.write(target)
    return len(writer.pages)


def default_workers() -> int:
    """Return how many processes render in parallel: one per core, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def render_batch(chunks, target, *, workers: int | None = None, progress=None,
                 tmp_dir: str | None = None) -> int:
    """Render an iterable of chunk documents (HTML strings, produced lazily) to one PDF
    in `target`; return the page count.

    With one chunk, or `workers` = 1, everything happens in this process. Otherwise the
    chunks go to a pool of worker processes, at most two chunks per worker in flight
    (so the HTML of a 2,000-household group is never all in memory), and the parts are
    joined in order. `progress(chunks_done)` is called as parts finish. Temporary parts
    live in `tmp_dir` and are deleted whatever happens.
    """
    workers = workers or default_workers()
    chunks = iter(chunks)
    first = next(chunks, None)
    if first is None:
        raise ValueError("nothing to print")
    second = next(chunks, None)
    with tempfile.TemporaryDirectory(dir=tmp_dir, prefix="wardkit-sheets-") as tmp:
        if second is None:
            pages = render(first, target)
            if progress:
                progress(1)
            return pages
        parts = []

        def numbered():
            yield first
            yield second
            yield from chunks

        if workers == 1:
            for n, html in enumerate(numbered()):
                path = os.path.join(tmp, f"part-{n:05d}.pdf")
                render(html, path)
                parts.append(path)
                if progress:
                    progress(n + 1)
        else:
            # spawn, not fork: the server process has threads and open SQLite handles.
            context = get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                     initializer=_pool_initializer) as pool:
                pending = []
                source = enumerate(numbered())
                done = 0
                exhausted = False
                while True:
                    while not exhausted and len(pending) < 2 * workers:
                        item = next(source, None)
                        if item is None:
                            exhausted = True
                            break
                        n, html = item
                        path = os.path.join(tmp, f"part-{n:05d}.pdf")
                        pending.append(pool.submit(_render_part, html, path))
                        del html
                    if not pending:
                        break
                    path, _pages = pending.pop(0).result()  # in order
                    parts.append(path)
                    done += 1
                    if progress:
                        progress(done)
        return join(parts, target)
