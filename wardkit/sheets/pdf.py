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


def _pool_initializer(parent_pid: int) -> None:
    # A worker ends with the server process that started it (a killed server must not
    # leave renderers behind: see lifeline.py), then loads WeasyPrint and the fonts
    # before the first chunk arrives.
    from .lifeline import die_with_parent
    die_with_parent(parent_pid)
    _engine()


def _form_xobject(writer, page):
    """Return an indirect Form XObject in `writer` that draws `page` (a page already
    added to `writer`): its content and resources, in the same coordinates."""
    from pypdf.generic import ArrayObject, FloatObject, NameObject, StreamObject

    form = StreamObject()
    form.set_data(page.get_contents().get_data())
    form[NameObject("/Type")] = NameObject("/XObject")
    form[NameObject("/Subtype")] = NameObject("/Form")
    form[NameObject("/BBox")] = ArrayObject(FloatObject(v) for v in page.mediabox)
    form[NameObject("/Resources")] = page["/Resources"]
    return writer._add_object(form)


class Joiner:
    """Join PDF parts in order into one document, as they arrive.

    Every page of a stamped part gets the first page of `base` drawn under it, as one
    shared Form XObject (the PDF holds the base once, and joining touches no content
    stream). Each part can be added `repeat` times (cards: one rendered page repeated
    shares its content stream).
    """

    def __init__(self, base: str | None = None):
        from pypdf import PdfReader, PdfWriter
        from pypdf.generic import StreamObject

        self._reader = PdfReader
        self.writer = PdfWriter()
        self._base_form = self._draw_base = None
        if base is not None:
            base_page = self.writer.add_page(PdfReader(base).pages[0])
            self._base_form = _form_xobject(self.writer, base_page)
            self.writer.remove_page(base_page)
            call = StreamObject()
            call.set_data(b"q /WardKitBase Do Q\n")
            self._draw_base = self.writer._add_object(call)

    def add(self, path: str, stamped: bool = False, repeat: int = 1) -> None:
        """Append the pages of the PDF at `path` (`repeat` times)."""
        from pypdf.generic import ArrayObject, DictionaryObject, NameObject

        reader = self._reader(path)
        for _ in range(repeat):
            for source in reader.pages:
                page = self.writer.add_page(source)
                if not (stamped and self._base_form is not None):
                    continue
                resources = page["/Resources"].get_object()
                xobjects = resources.get("/XObject")
                if xobjects is None:
                    xobjects = DictionaryObject()
                    resources[NameObject("/XObject")] = xobjects
                xobjects.get_object()[NameObject("/WardKitBase")] = self._base_form
                page[NameObject("/Contents")] = ArrayObject(
                    [self._draw_base, *self._own_contents(page)])

    def _own_contents(self, page) -> list:
        """Return the page's content streams as indirect references, in order.

        A stream inside an array must be an indirect object (PDF 32000-1, 7.3.8):
        pdfium draws a page blank and qpdf drops it from the page tree otherwise. pypdf's
        `page[key]` resolves references, hence `raw_get`, and any stream that is not yet
        an object of its own becomes one."""
        from pypdf.generic import ArrayObject, IndirectObject

        contents = page.raw_get("/Contents")
        resolved = contents.get_object()
        items = list(resolved) if isinstance(resolved, ArrayObject) else [contents]
        return [item if isinstance(item, IndirectObject) else self.writer._add_object(item)
                for item in items]

    def finish(self, target) -> int:
        """Write the joined document to `target`; return its page count."""
        self.writer.add_metadata({"/Title": METADATA["title"],
                                  "/Author": METADATA["authors"][0],
                                  "/Subject": METADATA["subject"], "/Producer": "WardKit"})
        self.writer.write(target)
        return len(self.writer.pages)


def join(parts: list[tuple[str, bool]], target, *, base: str | None = None,
         repeat: int = 1) -> int:
    """Join PDF files `parts`, `(path, stamped)`, in order into `target` (see Joiner);
    return the page count."""
    joiner = Joiner(base)
    for path, stamped in parts:
        joiner.add(path, stamped, repeat)
    return joiner.finish(target)


def default_workers() -> int:
    """Return how many processes render in parallel: one per core, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def render_batch(chunks, target, *, base_html: str | None = None, workers: int | None = None,
                 progress=None, tmp_dir: str | None = None) -> int:
    """Render an iterable of chunk documents, `(html, stamped)` produced lazily, into one
    PDF in `target`; return the page count.

    `base_html` is the layer stamped under every page of a stamped chunk (rendered once).
    With `workers` = 1 everything happens in this process. Otherwise the chunks go to a
    pool of worker processes, at most two chunks per worker in flight (so the HTML of a
    2,000-household group is never all in memory), and the parts are joined in order.
    `progress(chunks_done)` is called as parts finish. Temporary parts live in `tmp_dir`
    and are deleted whatever happens.
    """
    workers = workers or default_workers()
    with tempfile.TemporaryDirectory(dir=tmp_dir, prefix="wardkit-sheets-") as tmp:
        base = os.path.join(tmp, "base.pdf") if base_html is not None else None
        done = 0
        if workers == 1:
            if base:
                render(base_html, base)
            joiner = Joiner(base)
            for n, (html, stamped) in enumerate(chunks):
                path = os.path.join(tmp, f"part-{n:05d}.pdf")
                render(html, path)
                joiner.add(path, stamped)
                os.unlink(path)
                done += 1
                if progress:
                    progress(done)
        else:
            # spawn, not fork: the server process has threads and open SQLite handles.
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                     initializer=_pool_initializer,
                                     initargs=(os.getpid(),)) as pool:
                # The base goes first, so the workers start up while this process
                # prepares the chunks; parts are joined here as they come back, in order,
                # while the workers render the next ones.
                base_job = pool.submit(_render_part, base_html, base) if base else None
                pending = []
                source = enumerate(chunks)
                exhausted = False
                joiner = None
                while True:
                    while not exhausted and len(pending) < 2 * workers:
                        item = next(source, None)
                        if item is None:
                            exhausted = True
                            break
                        n, (html, stamped) = item
                        path = os.path.join(tmp, f"part-{n:05d}.pdf")
                        pending.append((pool.submit(_render_part, html, path), stamped))
                        del html
                    if joiner is None:
                        if base_job is not None:
                            base_job.result()
                        joiner = Joiner(base)
                    if not pending:
                        break
                    future, stamped = pending.pop(0)   # in order
                    path, _pages = future.result()
                    joiner.add(path, stamped)
                    os.unlink(path)
                    done += 1
                    if progress:
                        progress(done)
        if not done:
            raise ValueError("nothing to print")
        return joiner.finish(target)
