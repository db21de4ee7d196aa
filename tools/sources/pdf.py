"""PDF pages read with pypdf; pages without a text layer read by OCR (tesseract) from their images."""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.sources.chunking import Section, normalise
from tools.sources.limits import SETTING_MAX_PAGES, SourceError

_OCR_TIMEOUT_S = 60
_PROGRESS_EVERY = 25


def page_list(pages: list[int]) -> str:
    """'page 3', 'pages 3-5', 'pages 3-5, 9'."""
    runs: list[list[int]] = []
    for page in sorted(pages):
        if runs and page == runs[-1][-1] + 1:
            runs[-1].append(page)
        else:
            runs.append([page])
    text = ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)
    return f"page {text}" if len(pages) == 1 else f"pages {text}"


def page_text(extracted: str) -> str:
    """A page's text: a PDF's line breaks are layout, so lines are joined; blank lines still part paragraphs."""
    paragraphs = re.split(r"\n\s*\n", normalise(extracted))
    return "\n\n".join(re.sub(r"\s*\n\s*", " ", p) for p in paragraphs if p.strip())


def _have(pages: list[int]) -> str:
    return "has" if len(pages) == 1 else "have"


def ocr_available() -> bool:
    return shutil.which("tesseract") is not None


def ocr_image(image: Any) -> str:
    import pytesseract

    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    return str(pytesseract.image_to_string(image, timeout=_OCR_TIMEOUT_S))


def _open(path: Path, name: str) -> Any:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about damaged objects are noise here
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SourceError(f"{name} is password-protected: remove the password and attach it again.")
        pages = len(reader.pages)
    except SourceError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        if "decrypt" in str(exc).lower() or "password" in str(exc).lower():
            raise SourceError(f"{name} is password-protected: remove the password and attach it again.") from exc
        raise SourceError(f"{name} is not a readable PDF ({exc}): open it in a PDF viewer, save or print it "
                          "to a new PDF, and attach that.") from exc
    if pages == 0:
        raise SourceError(f"{name} has no pages.")
    return reader


def read_pdf(path: Path, name: str, max_pages: int,
             progress: Callable[[str], None]) -> tuple[list[Section], int, list[str]]:
    """The pages read (as sections anchored 'page N'), how many pages were read, and notes for the user."""
    reader = _open(path, name)
    total = len(reader.pages)
    count = min(total, max_pages)
    sections: list[Section] = []
    without_text: list[int] = []
    for number in range(1, count + 1):
        if number % _PROGRESS_EVERY == 0 or number == count:
            progress(f"{name}: page {number} of {count}")
        try:
            text = page_text(reader.pages[number - 1].extract_text() or "")
        except Exception:  # one damaged page does not lose the others
            text = ""
        if text:
            sections.append(Section(f"page {number}", text, kind="page"))
        else:
            without_text.append(number)
    notes: list[str] = []
    if without_text:
        sections, ocr_notes = _ocr_pages(reader, name, without_text, sections, progress)
        notes += ocr_notes
    if total > count:
        notes.append(f"{name} has {total:,} pages; the first {count:,} were read "
                     f"(set {SETTING_MAX_PAGES} to read more)")
    return sections, count, notes


def _ocr_pages(reader: Any, name: str, pages: list[int], sections: list[Section],
               progress: Callable[[str], None]) -> tuple[list[Section], list[str]]:
    with_images = [n for n in pages if _has_images(reader.pages[n - 1])]
    notes: list[str] = []
    if not with_images:
        return sections, notes  # blank pages: nothing to read
    if not ocr_available():
        return sections, [f"{page_list(with_images)} {_have(with_images)} no text layer and OCR is not installed "
                          f"(apt-get install tesseract-ocr): {'it was' if len(with_images) == 1 else 'they were'} not read"]
    read: list[int] = []
    unreadable: list[int] = []
    for done, number in enumerate(with_images, start=1):
        progress(f"{name}: OCR of page {number} ({done} of {len(with_images)})")
        text = ""
        try:
            text = page_text("\n\n".join(ocr_image(image.image) for image in reader.pages[number - 1].images))
        except Exception:  # an image pypdf cannot decode, or tesseract failing on it
            text = ""
        if text:
            sections.append(Section(f"page {number}", text, kind="page"))
            read.append(number)
        else:
            unreadable.append(number)
    sections.sort(key=lambda s: int(s.anchor.removeprefix("page ")))
    if read:
        one = len(read) == 1
        notes.append(f"{page_list(read)} {_have(read)} no text layer and {'was' if one else 'were'} read by OCR: "
                     f"check quotes from {'it' if one else 'them'} against the page")
    if unreadable:
        notes.append(f"{page_list(unreadable)} {_have(unreadable)} no text layer and OCR found no text: "
                     f"{'it was' if len(unreadable) == 1 else 'they were'} not read")
    return sections, notes


def _has_images(page: Any) -> bool:
    try:
        return len(page.images) > 0
    except Exception:
        return False
