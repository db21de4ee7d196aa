"""Files of every supported kind, written by the tests themselves (no binary fixtures in the repository)."""

from __future__ import annotations

import csv
import json
import textwrap
from pathlib import Path

WORDS = ["harbour", "lighthouse", "keeper", "ledger", "winter", "storm", "cargo", "vessel", "timber", "granite", "quarry", "railway", "station", "council", "budget", "bridge", "river", "flood", "survey", "census", "school", "teacher", "library", "archive", "letter", "merchant"]


def prose(seed: int, sentences: int) -> str:
    """Deterministic sentences that differ from seed to seed (numbers and word order)."""
    out = []
    for n in range(sentences):
        w = [WORDS[(seed * 7 + n * 3 + k * 5) % len(WORDS)] for k in range(9)]
        out.append(f"In {1850 + (seed * 13 + n) % 150} the {w[0]} near the {w[1]} recorded {seed * 31 + n} "
                   f"{w[2]}s, and the {w[3]} {w[4]} noted that the {w[5]} of the {w[6]} was {w[7]} {w[8]}.")
    return " ".join(out)


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_text_pdf(path: Path, pages: list[str]) -> Path:
    """A PDF with a real text layer: each page's text set in Helvetica by a raw content stream."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"), NameObject("/Encoding"): NameObject("/WinAnsiEncoding")}))
    for text in pages:
        page = writer.add_blank_page(612, 792)
        ops = ["BT", "/F1 10 Tf", "12 TL", "50 750 Td"]
        for paragraph in text.split("\n\n"):
            for line in textwrap.wrap(paragraph, 100) or [""]:
                ops.append(f"({_pdf_escape(line)}) Tj T*")
            ops.append("T*")
        ops.append("ET")
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("cp1252"))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def write_scanned_pdf(path: Path, lines: list[str]) -> Path:
    """A PDF whose only page is a picture of text (no text layer), as a scanner makes it."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (1700, 2200), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=48)
    for n, line in enumerate(lines):
        draw.text((120, 150 + n * 90), line, fill="black", font=font)
    image.save(path, "PDF", resolution=200.0)
    return path


def write_mixed_pdf(path: Path, text_pages: list[str], scanned_lines: list[str]) -> Path:
    """Text pages followed by one scanned page."""
    from pypdf import PdfReader, PdfWriter

    text = write_text_pdf(path.with_suffix(".text.pdf"), text_pages)
    scan = write_scanned_pdf(path.with_suffix(".scan.pdf"), scanned_lines)
    writer = PdfWriter()
    for part in (text, scan):
        for page in PdfReader(str(part)).pages:
            writer.add_page(page)
    with path.open("wb") as handle:
        writer.write(handle)
    text.unlink()
    scan.unlink()
    return path


def write_encrypted_pdf(path: Path) -> Path:
    from pypdf import PdfReader, PdfWriter

    plain = write_text_pdf(path.with_suffix(".plain.pdf"), ["Confidential figures for the harbour board."])
    writer = PdfWriter()
    for page in PdfReader(str(plain)).pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    with path.open("wb") as handle:
        writer.write(handle)
    plain.unlink()
    return path


def write_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("Harbour Report", 0)
    document.add_heading("Introduction", 1)
    document.add_paragraph(prose(1, 4))
    document.add_heading("Cargo", 1)
    document.add_paragraph(prose(2, 3))
    table = document.add_table(rows=3, cols=2)
    for r, (cell_a, cell_b) in enumerate((("Vessel", "Tonnage"), ("Aurora", "1200"), ("Northern Star", "850"))):
        table.cell(r, 0).text, table.cell(r, 1).text = cell_a, cell_b
    document.add_heading("Conclusions", 1)
    document.add_paragraph(prose(3, 3))
    document.save(str(path))
    return path


def write_html(path: Path) -> Path:
    path.write_text(f"""<!doctype html><html><head><title>Quarry</title><style>p {{ color: red; }}</style>
<script>var hidden = "do not read me";</script></head><body>
<nav><a href="/">Home</a> <a href="/about">About the site menu</a></nav>
<h1>The Granite Quarry</h1><p>{prose(4, 2)}</p>
<h2>Workers</h2><p>The quarry employed <b>forty</b> workers
in 1901.</p><ul><li>Stone cutters</li><li>Carters</li></ul>
<h2>Closure</h2><p>{prose(5, 3)}</p><table><tr><td>Year</td><td>Output</td></tr><tr><td>1910</td><td>3000 t</td></tr></table>
</body></html>""", encoding="utf-8")
    return path


def write_markdown(path: Path) -> Path:
    path.write_text(f"# Railway History\n\n{prose(6, 2)}\n\n## Stations\n\n{prose(7, 4)}\n\n```\n# not a heading\n```\n\n"
                    f"## Timetables\n\n{prose(8, 3)}\n", encoding="utf-8")
    return path


def write_csv(path: Path, rows: int, delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(["id", "question", "answer", "topic"])
        for n in range(1, rows + 1):
            writer.writerow([f"q{n:06d}", f"How many {WORDS[n % len(WORDS)]}s were counted in survey {n}?", str(n * 3),
                             ("history", "geography", "economics")[n % 3]])
    return path


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_parquet(path: Path, rows: int) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"prompt": [f"Name the vessel of voyage {n}." for n in range(rows)],
                      "target": [f"Vessel {n}" for n in range(rows)],
                      "meta": [{"difficulty": ("easy", "hard")[n % 2], "year": 1900 + n % 50} for n in range(rows)]})
    pq.write_table(table, str(path), row_group_size=max(1, rows // 4))
    return path


def write_image(path: Path, fmt: str, text: str | None = None) -> Path:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (900, 300), "white")
    if text:
        ImageDraw.Draw(image).text((40, 110), text, fill="black", font=ImageFont.load_default(size=56))
    else:
        ImageDraw.Draw(image).rectangle((100, 50, 400, 250), fill="steelblue")
    image.save(path, fmt)
    return path
