"""Ingest checks each file, stores a copy under a safe name, reads the same content once, turns every bad file into
one problem saying what to do, and keeps everything else; MaterialView reads the result back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.tools.sources import fixtures as fx
from tools.errors import InvalidRequest
from tools.sources import SUPPORTED, MaterialView, SourceLimits, expand_paths, ingest, load_material
from tools.sources.names import safe_name, source_id


def test_a_name_with_path_parts_and_control_characters_is_stored_inside_the_folder(src: Path,
                                                                                   material_dir: Path) -> None:
    (src / "plain.txt").write_text("The lighthouse keeper kept a ledger.", encoding="utf-8")
    material = ingest([("../evil\x07name.txt", src / "plain.txt")], material_dir)
    source = material.sources[0]
    assert source.name == "evilname.txt" and source.path == "files/evilname.txt"
    assert (material_dir / "files" / "evilname.txt").resolve().is_relative_to(material_dir.resolve())
    assert not (material_dir.parent / "evilname.txt").exists()


@pytest.mark.parametrize(("given", "stored"), [
    ("../../etc/passwd.txt", "etc_passwd.txt"), ("C:\\Users\\me\\notes.md", "C_Users_me_notes.md"),
    (".hidden.csv", "hidden.csv"), ("a|b;c$.txt", "a_b_c_.txt"), ("..", "file"), ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
])
def test_safe_names_have_no_directories_or_special_characters(given: str, stored: str) -> None:
    assert safe_name(given, set()) == stored


def test_two_files_of_the_same_name_get_distinct_names(src: Path, material_dir: Path) -> None:
    (src / "a.txt").write_text("First ledger entry.", encoding="utf-8")
    (src / "b.txt").write_text("Second ledger entry.", encoding="utf-8")
    material = ingest([("notes.txt", src / "a.txt"), ("notes.txt", src / "b.txt")], material_dir)
    assert [s.name for s in material.sources] == ["notes.txt", "notes-2.txt"]


def test_the_same_content_twice_is_read_once_across_calls(src: Path, material_dir: Path) -> None:
    path = fx.write_csv(src / "data.csv", 10)
    ingest([("data.csv", path)], material_dir)
    again = ingest([("copy of data.csv", path)], material_dir)
    assert len(again.sources) == 1 and not again.problems
    assert len((material_dir / "records.jsonl").read_text().splitlines()) == 10


def test_more_material_is_added_to_what_the_folder_has(src: Path, material_dir: Path) -> None:
    ingest([("data.csv", fx.write_csv(src / "data.csv", 10))], material_dir)
    material = ingest([("rail.md", fx.write_markdown(src / "rail.md"))], material_dir)
    assert [s.kind for s in material.sources] == ["records", "document"]
    assert load_material(material_dir) == material


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.txt", b"", "empty.txt is empty: attach a file with content."),
    ("tool.exe", b"MZ\x90\x00", "tool.exe is not a supported type (.exe); the supported types are documents .txt .md "
                                ".html .htm .pdf .docx; data .csv .jsonl .json .parquet; images .png .jpg .jpeg .webp."),
    ("README", b"hello", "README is not a supported type (no extension)"),
    ("broken.docx", b"PK\x03\x04 not a zip", "broken.docx is not a readable Word document (.docx)"),
    ("broken.png", b"\x89PNG\r\n\x1a\n not really", "broken.png is not a readable image"),
    ("broken.parquet", b"PAR1 nothing PAR1", "broken.parquet is not a readable Parquet file"),
])
def test_each_bad_file_is_one_problem_and_the_good_ones_are_kept(src: Path, material_dir: Path, name: str,
                                                                  content: bytes, message: str) -> None:
    (src / "bad").write_bytes(content)
    good = fx.write_markdown(src / "rail.md")
    material = ingest([(name, src / "bad"), ("rail.md", good)], material_dir)
    assert [s.name for s in material.sources] == ["rail.md"]
    assert len(material.problems) == 1 and material.problems[0].name == name
    assert material.problems[0].message.startswith(message)
    assert sorted(p.name for p in (material_dir / "files").iterdir()) == ["rail.md"]


def test_a_file_over_the_size_limit_names_the_setting(src: Path, material_dir: Path) -> None:
    (src / "big.txt").write_text("word " * 300_000, encoding="utf-8")
    material = ingest([("big.txt", src / "big.txt")], material_dir, SourceLimits(max_file_mb=1))
    assert material.problems[0].message == ("big.txt is 1.4 MB, over the 1 MB limit (BENCHMARK_AGENT_MAX_UPLOAD_MB): "
                                            "split it into smaller files, or raise the limit.")


def test_files_beyond_the_file_limit_are_problems_naming_the_setting(src: Path, material_dir: Path) -> None:
    paths = []
    for n in range(4):
        (src / f"n{n}.txt").write_text(f"Entry {n} of the ledger.", encoding="utf-8")
        paths.append((f"n{n}.txt", src / f"n{n}.txt"))
    material = ingest(paths, material_dir, SourceLimits(max_files=3))
    assert [s.name for s in material.sources] == ["n0.txt", "n1.txt", "n2.txt"]
    assert material.problems[0].message == ("n3.txt was not read: at most 3 files are read at a time "
                                            "(BENCHMARK_AGENT_MAX_UPLOADS). Attach it again on its own, or raise the limit.")


def test_a_problem_is_replaced_when_the_file_is_read_later(src: Path, material_dir: Path) -> None:
    (src / "notes.txt").write_bytes(b"")
    assert ingest([("notes.txt", src / "notes.txt")], material_dir).problems
    (src / "notes.txt").write_text("Now it has text.", encoding="utf-8")
    material = ingest([("notes.txt", src / "notes.txt")], material_dir)
    assert not material.problems and material.sources[0].name == "notes.txt"


def test_progress_lines_name_the_file_and_the_page(src: Path, material_dir: Path) -> None:
    lines: list[str] = []
    ingest([("report.pdf", fx.write_text_pdf(src / "r.pdf", [fx.prose(n, 2) for n in range(30)]))], material_dir,
           on_progress=lines.append)
    assert "report.pdf: page 25 of 30" in lines and "report.pdf: page 30 of 30" in lines


@pytest.mark.parametrize(("suffix", "fmt", "media_type"), [(".png", "PNG", "image/png"), (".jpg", "JPEG", "image/jpeg"),
                                                            (".webp", "WEBP", "image/webp")])
def test_images_are_one_unit_each_with_their_file(src: Path, material_dir: Path, suffix: str, fmt: str,
                                                  media_type: str) -> None:
    path = fx.write_image(src / f"chart{suffix}", fmt)
    material = ingest([(f"chart{suffix}", path)], material_dir)
    source = material.sources[0]
    assert (source.kind, source.media_type) == ("image", media_type)
    view = MaterialView(material_dir)
    assert view.units("image") == [f"{source.id}:img"]
    assert view.image_path(f"{source.id}:img").read_bytes() == path.read_bytes()
    assert view.anchor(f"{source.id}:img") == "image"
    assert view.describe() == [f"chart{suffix}: image; 900x300 pixels"]


def test_an_image_named_with_the_wrong_suffix_is_used_as_what_it_is(src: Path, material_dir: Path) -> None:
    path = fx.write_image(src / "photo.jpg", "PNG")
    material = ingest([("photo.jpg", path)], material_dir)
    assert material.sources[0].media_type == "image/png"
    assert "photo.jpg is a PNG image despite its .jpg name; it is used as PNG" in material.sources[0].notes


def test_text_in_an_image_is_read_by_ocr_into_a_note_and_its_text(src: Path, material_dir: Path) -> None:
    if shutil.which("tesseract") is None:
        pytest.skip("tesseract is not installed")
    material = ingest([("sign.png", fx.write_image(src / "sign.png", "PNG", "Harbour closed on Sunday"))], material_dir)
    source = material.sources[0]
    assert any(n.startswith('text in the image (OCR): "Harbour closed on Sunday') for n in source.notes), source.notes
    assert "Harbour closed on Sunday" in MaterialView(material_dir).text(f"{source.id}:img")


def test_the_view_lists_units_in_source_order_and_refuses_unknown_ids(src: Path, material_dir: Path) -> None:
    ingest([("rail.md", fx.write_markdown(src / "rail.md")), ("data.csv", fx.write_csv(src / "data.csv", 3)),
            ("chart.png", fx.write_image(src / "chart.png", "PNG"))], material_dir)
    view = MaterialView(material_dir)
    doc, data, image = view.material.sources
    units = view.units()
    assert units[: doc.chunks] == [f"{doc.id}:c{n}" for n in range(1, doc.chunks + 1)]
    assert units[doc.chunks :] == [f"{data.id}:r1", f"{data.id}:r2", f"{data.id}:r3", f"{image.id}:img"]
    assert view.units("records") == [f"{data.id}:r1", f"{data.id}:r2", f"{data.id}:r3"]
    assert [r.id for r in view.records(data.id)] == view.units("records")
    assert view.text(f"{doc.id}:c1") == view.material.chunks[0].text
    for unknown in (f"{doc.id}:c999", f"{data.id}:r4", "nothing-12345678:c1", f"{doc.id}:img", "garbage"):
        with pytest.raises(KeyError):
            view.text(unknown)
    with pytest.raises(KeyError):
        view.image_path(f"{doc.id}:c1")


def test_a_source_id_is_a_slug_of_the_name_and_the_hash() -> None:
    assert source_id("Annual Report (Final) 2023.pdf", "ab" * 32) == "annual-report-final-2023-abababab"
    assert source_id("Ünïcödé_名前.csv", "0" * 64) == "unicode-00000000"
    assert len(source_id("x" * 80 + ".txt", "1" * 64)) == 32 + 9


def test_expand_paths_takes_files_and_the_supported_files_of_folders(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    for name in ("b.pdf", "a.md", "sub/c.csv", "skip.exe", ".hidden.txt"):
        (folder / name).write_text("x", encoding="utf-8")
    single = tmp_path / "one.txt"
    single.write_text("x", encoding="utf-8")
    assert expand_paths([single, folder]) == [("one.txt", single), ("a.md", folder / "a.md"), ("b.pdf", folder / "b.pdf"),
                                              ("sub/c.csv", folder / "sub" / "c.csv")]


def test_expand_paths_names_a_missing_path_and_a_folder_without_supported_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match=r"nowhere.pdf does not exist"):
        expand_paths([tmp_path / "nowhere.pdf"])
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "tool.exe").write_text("x", encoding="utf-8")
    with pytest.raises(InvalidRequest, match=r"has no file of a supported type \(documents .txt"):
        expand_paths([tmp_path / "bin"])


def test_every_supported_type_is_listed_with_its_kind() -> None:
    assert {k for k in SUPPORTED.values()} == {"document", "records", "image"}
    assert SUPPORTED[".parquet"] == "records" and SUPPORTED[".webp"] == "image" and SUPPORTED[".htm"] == "document"
