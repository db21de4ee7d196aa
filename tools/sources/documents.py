"""Documents other than PDF, read into sections: plain text by paragraphs, Markdown and HTML by their h1-h3
headings, Word (.docx) by its Heading 1-3 (and Title) styles, with tables' text included."""

from __future__ import annotations

import re
from pathlib import Path

from tools.sources.chunking import Section, normalise, paragraph_starts
from tools.sources.limits import SourceError
from tools.sources.text import read_text

_HEADING_LEVELS = 3
_ANCHOR_CHARS = 80
START = "start of the document"


def heading_anchor(heading: str) -> str:
    text = re.sub(r"\s+", " ", heading).strip()
    return "section " + (text[:_ANCHOR_CHARS].rstrip() + "…" if len(text) > _ANCHOR_CHARS else text)


def by_paragraphs(text: str) -> list[Section]:
    """One section holding the whole text, whose chunks are anchored by paragraph numbers."""
    text = normalise(text)
    return [Section("paragraphs", text, paragraph_starts(text))] if text else []


def from_headed(parts: list[tuple[str | None, str]]) -> list[Section]:
    """Sections from (heading or None for the text before the first heading, text with the heading line).
    A document without headings is anchored by paragraphs instead."""
    if not any(heading for heading, _ in parts):
        return by_paragraphs("\n\n".join(text for _, text in parts))
    sections = []
    for heading, text in parts:
        body = normalise(text)
        if body:
            sections.append(Section(heading_anchor(heading) if heading else START, body))
    return sections


def read_txt(path: Path, name: str) -> tuple[list[Section], list[str]]:
    text, notes = read_text(path, name)
    return by_paragraphs(text), notes


_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def read_markdown(path: Path, name: str) -> tuple[list[Section], list[str]]:
    text, notes = read_text(path, name)
    parts: list[tuple[str | None, str]] = [(None, "")]
    fenced = False
    lines: list[str] = []
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _ATX.match(line)
        if heading and len(heading.group(1)) <= _HEADING_LEVELS and heading.group(2).strip():
            parts[-1] = (parts[-1][0], "\n".join(lines))
            parts.append((heading.group(2).strip(), ""))
            lines = []
        lines.append(line)
    parts[-1] = (parts[-1][0], "\n".join(lines))
    return from_headed(parts), notes


_BLOCKS = ("p", "div", "li", "ul", "ol", "tr", "table", "section", "article", "main", "aside", "header", "footer",
           "blockquote", "pre", "dl", "dt", "dd", "figure", "figcaption", "form", "h1", "h2", "h3", "h4", "h5", "h6",
           "hr", "address", "caption")
_DROP = ("script", "style", "nav", "noscript", "template", "svg", "head", "iframe", "object")
_MARK = "\ue000"


def read_html(path: Path, name: str) -> tuple[list[Section], list[str]]:
    from bs4 import BeautifulSoup

    text, notes = read_text(path, name)
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(list(_DROP)):
        tag.decompose()
    headings: list[str] = []
    for tag in soup.find_all([f"h{n}" for n in range(1, _HEADING_LEVELS + 1)]):
        heading = re.sub(r"\s+", " ", tag.get_text(" ")).strip()
        if heading:
            tag.insert_before(f"{_MARK}{len(headings)}{_MARK}")
            headings.append(heading)
    for tag in soup.find_all("br"):
        tag.replace_with("\n")
    for tag in soup.find_all(["td", "th"]):
        tag.insert_after(" \t")
    for tag in soup.find_all(list(_BLOCKS)):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    body = soup.get_text()
    pieces = body.split(_MARK)
    parts: list[tuple[str | None, str]] = [(None, pieces[0])]
    for number, chunk in zip(pieces[1::2], pieces[2::2], strict=True):
        parts.append((headings[int(number)], chunk))
    sections = from_headed([(h, _html_text(t)) for h, t in parts])
    if not sections:
        raise SourceError(f"{name} has no readable text once scripts, styles and navigation are left out.")
    return sections, notes


def _html_text(text: str) -> str:
    # Inside a block, HTML's line breaks are spaces; the blank lines put around blocks separate paragraphs.
    paragraphs = [re.sub(r"[ \t\r\f\v]*\n[ \t\r\f\v]*(?!\n)", " ", p) for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p.strip() for p in paragraphs if p.strip())


def read_docx(path: Path, name: str) -> tuple[list[Section], list[str]]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise SourceError(f"{name} is not a readable Word document (.docx): {exc}. Open it in Word or "
                          "LibreOffice, save it as .docx and attach it again.") from exc
    parts: list[tuple[str | None, str]] = [(None, "")]
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            level = _heading_level(block)
            text = block.text.strip()
            if level is not None and level <= _HEADING_LEVELS and text:
                parts[-1] = (parts[-1][0], "\n\n".join(lines))
                parts.append((text, ""))
                lines = []
            if text:
                lines.append(text)
        elif isinstance(block, Table):
            lines += _table_lines(block)
    parts[-1] = (parts[-1][0], "\n\n".join(lines))
    return from_headed(parts), []


def _heading_level(paragraph: object) -> int | None:
    style = getattr(getattr(paragraph, "style", None), "name", "") or ""
    if style == "Title":
        return 1
    match = re.fullmatch(r"Heading (\d)", style)
    return int(match.group(1)) if match else None


def _table_lines(table: object) -> list[str]:
    rows: list[str] = []
    for row in getattr(table, "rows", []):
        cells: list[str] = []
        for cell in row.cells:
            text = re.sub(r"\s+", " ", cell.text).strip()
            if not cells or cells[-1] != text:  # a merged cell repeats across the columns it spans
                cells.append(text)
        if any(cells):
            rows.append(" | ".join(cells))
    return ["\n".join(rows)] if rows else []
