"""Documents are read into chunks that keep their page or section, stay within the token limit, overlap their
neighbours and are copied verbatim from the source's text."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.tools.sources import fixtures as fx
from tools.sources import MaterialView, SourceLimits, ingest
from tools.sources.chunking import Section, chunk_sections, count_tokens, normalise, tokenizer_name

LIMITS = SourceLimits(chunk_tokens=120, overlap_tokens=24)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_the_packaged_word_piece_tokenizer_counts_the_tokens() -> None:
    assert tokenizer_name() == "all-MiniLM-L6-v2 word pieces"
    assert count_tokens("Antidisestablishmentarianism!") == 9  # anti ##dis ##est ##ab ##lish ##ment ##arian ##ism !


def test_pdf_pages_become_chunks_anchored_by_their_page(src: Path, material_dir: Path) -> None:
    pages = [fx.prose(n, 25) for n in range(3)]
    pdf = fx.write_text_pdf(src / "report.pdf", pages)
    material = ingest([("report.pdf", pdf)], material_dir, LIMITS)
    assert not material.problems
    source = material.sources[0]
    assert (source.kind, source.pages, source.media_type) == ("document", 3, "application/pdf")
    assert source.chunks == len(material.chunks) > 3
    assert {c.anchor for c in material.chunks} == {"page 1", "page 2", "page 3"}
    for chunk in material.chunks:
        page = int(chunk.anchor.removeprefix("page "))
        assert _squash(chunk.text) in _squash(pages[page - 1])  # verbatim from its own page


def test_chunks_are_bounded_overlapping_and_cover_the_section() -> None:
    text = normalise(fx.prose(11, 60))
    chunks = list(chunk_sections([Section("section Long", text)], 100, 20))
    assert len(chunks) > 5
    for (_, first), (_, second) in zip(chunks, chunks[1:], strict=False):
        assert count_tokens(first) <= 100
        assert first in text and second in text
        start_first, start_second = text.index(first), text.index(second)
        overlap = text[start_second : start_first + len(first)]
        assert start_second > start_first and count_tokens(overlap) >= 20, "neighbours overlap by the overlap tokens"
    assert text.startswith(chunks[0][1]) and text.endswith(chunks[-1][1])


def test_a_chunk_never_crosses_a_section_unless_the_section_is_tiny() -> None:
    sections = [Section("section A", normalise(fx.prose(1, 12))), Section("section B", "Tiny heading."),
                Section("section C", normalise(fx.prose(2, 12)))]
    anchors = [anchor for anchor, _ in chunk_sections(sections, 100, 20)]
    assert "section A" in anchors
    assert any(a == "sections A; B" or a == "sections B; C" for a in anchors), anchors
    for anchor, text in chunk_sections(sections, 100, 20):
        if anchor == "section A":
            assert text in sections[0].text


def test_a_scanned_page_is_read_by_ocr(src: Path, material_dir: Path) -> None:
    if shutil.which("tesseract") is None:
        pytest.skip("tesseract is not installed")
    pdf = fx.write_mixed_pdf(src / "scan.pdf", [fx.prose(3, 10)], ["The harbour opened in 1887", "with twelve berths"])
    material = ingest([("scan.pdf", pdf)], material_dir, LIMITS)
    found = [c for c in material.chunks if "harbour opened in 1887" in c.text]
    assert found and found[-1].anchor in ("page 2", "pages 1-2"), "a short scanned page may join the page before"
    assert any("page 2 has no text layer and was read by OCR" in n for n in material.sources[0].notes)


def test_a_scanned_page_without_ocr_installed_is_named_in_a_note(src: Path, material_dir: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    pdf = fx.write_mixed_pdf(src / "scan.pdf", [fx.prose(3, 10)], ["The harbour opened in 1887"])
    material = ingest([("scan.pdf", pdf)], material_dir, LIMITS)
    assert material.sources[0].notes == [
        "page 2 has no text layer and OCR is not installed (apt-get install tesseract-ocr): it was not read"]
    assert {c.anchor for c in material.chunks} == {"page 1"}


def test_a_pdf_that_is_only_scans_without_ocr_is_a_problem(src: Path, material_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    pdf = fx.write_scanned_pdf(src / "scan.pdf", ["Nothing but pixels"])
    material = ingest([("scan.pdf", pdf)], material_dir, LIMITS)
    assert not material.sources
    assert "Nothing could be read from scan.pdf" in material.problems[0].message
    assert "apt-get install tesseract-ocr" in material.problems[0].message


def test_pages_over_the_page_limit_are_left_unread_with_a_note(src: Path, material_dir: Path) -> None:
    pdf = fx.write_text_pdf(src / "long.pdf", [fx.prose(n, 3) for n in range(6)])
    material = ingest([("long.pdf", pdf)], material_dir, SourceLimits(max_pages=4))
    assert material.sources[0].pages == 4
    assert material.sources[0].notes == [
        "long.pdf has 6 pages; the first 4 were read (set BENCHMARK_AGENT_MAX_SOURCE_PAGES to read more)"]
    assert all(int(a.split("-")[-1].split()[-1]) <= 4 for a in {c.anchor for c in material.chunks})


def test_a_password_protected_pdf_says_to_remove_the_password(src: Path, material_dir: Path) -> None:
    material = ingest([("secret.pdf", fx.write_encrypted_pdf(src / "secret.pdf"))], material_dir)
    assert [p.message for p in material.problems] == [
        "secret.pdf is password-protected: remove the password and attach it again."]
    assert not list((material_dir / "files").iterdir()), "the copy of a file that was not read is removed"


def test_a_corrupt_pdf_is_a_problem_naming_the_file(src: Path, material_dir: Path) -> None:
    (src / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage\n%%EOF")
    material = ingest([("broken.pdf", src / "broken.pdf")], material_dir)
    assert material.problems[0].message.startswith("broken.pdf is not a readable PDF")
    assert "save or print it to a new PDF" in material.problems[0].message


def test_word_documents_are_read_by_heading_with_their_tables(src: Path, material_dir: Path) -> None:
    material = ingest([("report.docx", fx.write_docx(src / "report.docx"))], material_dir, LIMITS)
    anchors = [c.anchor for c in material.chunks]
    assert "section Cargo" in anchors and "section Conclusions" in anchors
    cargo = " ".join(c.text for c in material.chunks if c.anchor == "section Cargo")
    assert "Aurora | 1200" in cargo and "Northern Star | 850" in cargo
    assert material.sources[0].pages == 4


def test_html_is_read_by_heading_without_scripts_styles_or_navigation(src: Path, material_dir: Path) -> None:
    material = ingest([("quarry.html", fx.write_html(src / "quarry.html"))], material_dir, LIMITS)
    text = "\n".join(c.text for c in material.chunks)
    assert "do not read me" not in text and "color: red" not in text and "site menu" not in text
    workers = next(c for c in material.chunks if "Workers" in c.anchor)
    assert "The quarry employed forty workers in 1901." in workers.text
    assert "Stone cutters" in workers.text
    assert any(c.anchor == "section Closure" and "1910" in c.text for c in material.chunks)


def test_markdown_is_read_by_heading_and_ignores_hashes_in_code(src: Path, material_dir: Path) -> None:
    material = ingest([("rail.md", fx.write_markdown(src / "rail.md"))], material_dir, LIMITS)
    anchors = {c.anchor for c in material.chunks}
    assert {"section Stations", "section Timetables"} <= anchors
    assert not any("not a heading" in a for a in anchors)
    assert MaterialView(material_dir).describe()[0].startswith("rail.md: 3 sections, ")


def test_plain_text_is_anchored_by_paragraphs(src: Path, material_dir: Path) -> None:
    paragraphs = [fx.prose(n, 4) for n in range(8)]
    (src / "notes.txt").write_text("\n\n".join(paragraphs), encoding="utf-8")
    material = ingest([("notes.txt", src / "notes.txt")], material_dir, LIMITS)
    assert material.chunks[0].anchor.startswith("paragraph")
    assert re.fullmatch(r"paragraphs? \d+(-\d+)?", material.chunks[-1].anchor)
    assert material.chunks[-1].anchor.endswith("8")
    assert MaterialView(material_dir).describe() == [f"notes.txt: 8 paragraphs, {len(material.chunks)} passages"]


def test_a_binary_file_named_txt_is_not_a_text_file(src: Path, material_dir: Path) -> None:
    (src / "photo.txt").write_bytes(bytes(range(256)) * 8)
    material = ingest([("photo.txt", src / "photo.txt")], material_dir)
    assert material.problems[0].message.startswith("photo.txt is not a text file")


def test_text_that_is_not_utf8_is_read_as_windows_1252_with_a_note(src: Path, material_dir: Path) -> None:
    (src / "old.txt").write_bytes("Café au lait — naïve résumé.".encode("cp1252"))
    material = ingest([("old.txt", src / "old.txt")], material_dir)
    assert material.chunks[0].text == "Café au lait — naïve résumé."
    assert "read as Windows-1252" in material.sources[0].notes[0]
