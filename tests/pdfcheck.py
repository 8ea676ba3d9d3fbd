"""Strict checks for every PDF the app produces, for any test to reuse.

Poppler (pdftoppm, pdftotext) forgives broken files that other readers refuse: a page whose
`/Contents` array held a direct stream printed fine with poppler while pdfium (Chrome's
PDF viewer) drew it blank and qpdf dropped it from the page tree. So a PDF under test goes
through qpdf's structure check (pikepdf) and is rendered with pdfium, and its QR codes are
decoded from pdfium's pixels:

    images = assert_valid_pdf(data)          # bytes or a path; one PIL image per page
    assert qr_codes(images)[0] == [...]      # decoded payloads of each page, sorted
    for run in text_runs(data): ...          # (size in pt as printed, text) per text run
    lines = page_lines(data)                 # each page's text, line by line (pdfium)
"""
import io
import math
import os
import pathlib

# A page with less ink than this (dark pixels / all pixels) counts as blank. A page pdfium
# cannot draw has none at all; the sparsest real page (the end of a big household's
# sheet: a step and the contacts) has about 1 %.
MIN_INK = 0.002


def _bytes(pdf) -> bytes:
    if isinstance(pdf, (bytes, bytearray)):
        return bytes(pdf)
    return pathlib.Path(os.fspath(pdf)).read_bytes()


def structure_problems(data: bytes) -> list[str]:
    """Return what qpdf finds wrong with the PDF's structure (empty when it is sound),
    plus every stream that is not an indirect object (PDF 32000-1, 7.3.8: a stream is
    always indirect; qpdf only says "Pages tree includes non-dictionary object")."""
    import pikepdf

    problems = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        check = getattr(pdf, "check_pdf_syntax", None) or pdf.check
        problems.extend(str(p) for p in check())
        for number, page in enumerate(pdf.pages, 1):
            contents = page.obj.get("/Contents")
            if contents is None:
                problems.append(f"page {number}: no /Contents")
                continue
            items = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
            for item in items:
                if not item.is_indirect:
                    problems.append(f"page {number}: a /Contents stream is direct")
        for obj in pdf.objects:
            _direct_streams(obj, problems, depth=0)
    return problems


def _direct_streams(obj, problems: list[str], depth: int) -> None:
    import pikepdf

    if depth > 20:
        return
    if isinstance(obj, pikepdf.Stream):
        children = obj.stream_dict.items()
    elif isinstance(obj, pikepdf.Dictionary):
        children = obj.items()
    elif isinstance(obj, pikepdf.Array):
        children = enumerate(obj)
    else:
        return
    for key, child in children:
        if getattr(child, "is_indirect", False):
            continue  # checked on its own as one of pdf.objects
        if isinstance(child, pikepdf.Stream):
            problems.append(f"a direct stream under {key}")
        else:
            _direct_streams(child, problems, depth + 1)


def render_pages(data: bytes, dpi: int = 150):
    """Return every page rendered by pdfium as a greyscale PIL image."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        return [document[i].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
                for i in range(len(document))]
    finally:
        document.close()


def ink(image) -> float:
    """Return the share of dark pixels in a greyscale image."""
    histogram = image.histogram()
    return sum(histogram[:128]) / (image.width * image.height)


def assert_valid_pdf(pdf, *, dpi: int = 150) -> list:
    """Assert that `pdf` (bytes or a path) is a sound PDF that pdfium draws with ink on
    every page and poppler reads with the same page count; return pdfium's page images
    (greyscale PIL, at `dpi`)."""
    import subprocess
    import tempfile

    data = _bytes(pdf)
    assert data.startswith(b"%PDF"), data[:20]
    problems = structure_problems(data)
    assert problems == [], problems
    images = render_pages(data, dpi)
    assert images, "no pages"
    blank = [n for n, image in enumerate(images, 1) if ink(image) < MIN_INK]
    assert not blank, f"pdfium draws page(s) {blank} blank"
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        info = subprocess.run(["pdfinfo", f.name], check=True,
                              capture_output=True).stdout.decode()
    poppler_pages = int(next(line.split()[-1] for line in info.splitlines()
                             if line.startswith("Pages:")))
    assert poppler_pages == len(images), (poppler_pages, len(images))
    return images


def qr_codes(images) -> list[list[str]]:
    """Return the decoded QR payloads of each page image, sorted."""
    import zxingcpp

    return [sorted(code.text for code in
                   zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode))
            for image in images]


def _char_runs(data: bytes):
    """Yield, page by page, the list of (char, size in pt) of the page's text (pdfium)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    document = pdfium.PdfDocument(data)
    try:
        for i in range(len(document)):
            textpage = document[i].get_textpage()
            text = textpage.get_text_range()
            matrix = raw.FS_MATRIX()
            chars = []
            for n in range(textpage.count_chars()):
                size = raw.FPDFText_GetFontSize(textpage.raw, n)
                # The font size is in text space; the character's matrix scales it to
                # the page (WeasyPrint draws in CSS px, 0.75 pt each).
                if raw.FPDFText_GetMatrix(textpage.raw, n, matrix):
                    size *= math.hypot(matrix.c, matrix.d)
                chars.append((text[n] if n < len(text) else "", round(size, 1)))
            yield chars
    finally:
        document.close()


def text_runs(pdf) -> list[tuple[float, str]]:
    """Return (font size in pt as printed, text) of every run of text: consecutive
    characters of one size on one line; blank runs left out."""
    runs = []
    for chars in _char_runs(_bytes(pdf)):
        current, size = "", None
        for char, char_size in chars:
            if char in "\r\n" or char_size != size:
                if current.strip():
                    runs.append((size, current.strip()))
                current, size = ("", None) if char in "\r\n" else ("", char_size)
            if char not in "\r\n":
                current += char
        if current.strip():
            runs.append((size, current.strip()))
    return runs


def page_lines(pdf) -> list[list[str]]:
    """Return each page's text as pdfium lays it out, one string per printed line (a
    line that ends in a hyphen pdfium marks as a word break ends in "\ufffe")."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(_bytes(pdf))
    try:
        return [[line.strip() for line in
                 document[i].get_textpage().get_text_range().replace("\r", "").split("\n")
                 if line.strip()]
                for i in range(len(document))]
    finally:
        document.close()


def widest_blank_band(image, dpi: int = 150) -> float:
    """Return the height in mm of the tallest band of blank pixel rows across the whole
    page image between its first and last ink (0 for a page without ink)."""
    width, height = image.size
    pixels = image.load()
    inked = [any(pixels[x, y] < 128 for x in range(0, width, 2)) for y in range(height)]
    if not any(inked):
        return 0.0
    first, last = inked.index(True), height - 1 - inked[::-1].index(True)
    widest = run = 0
    for y in range(first, last + 1):
        run = 0 if inked[y] else run + 1
        widest = max(widest, run)
    return widest * 25.4 / dpi
