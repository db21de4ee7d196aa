"""Property tests of the upload readers: any bytes under any supported name become a reading or one problem that
names the file and says what to do; nothing escapes `ingest`, and a file that could not be read leaves no copy."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.sources import ingest, load_material

# The generic message of ingest's last-resort catch: a reader library failing in a way no reader foresaw.
UNFORESEEN = "could not be read ("

SUFFIXES = (".pdf", ".csv", ".md", ".txt", ".png", ".jsonl", ".parquet", ".json", ".html", ".docx", ".jpg", ".webp")
# Bytes a real file of each kind starts (or ends) with, so the readers get past their first check now and then.
MAGIC = {
    ".pdf": (b"%PDF-1.4\n", b""), ".png": (b"\x89PNG\r\n\x1a\n", b""), ".parquet": (b"PAR1", b"PAR1"),
    ".jpg": (b"\xff\xd8\xff\xe0", b"\xff\xd9"), ".webp": (b"RIFF\x10\x00\x00\x00WEBPVP8 ", b""),
    ".docx": (b"PK\x03\x04", b""), ".csv": (b"question,answer\n", b""), ".jsonl": (b'{"q": 1}\n', b""),
    ".json": (b'{"data": [', b"]}"),
}
FUZZ = settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def uploads(draw: st.DrawFn) -> tuple[str, bytes]:
    suffix = draw(st.sampled_from(SUFFIXES))
    body = draw(st.one_of(
        st.binary(min_size=1, max_size=2048),
        st.text(min_size=1, max_size=800).map(lambda s: s.encode("utf-8", "surrogatepass")),
        st.lists(st.text(max_size=40), min_size=1, max_size=20).map(lambda rows: "\n".join(rows).encode("utf-8",
                                                                                                       "surrogatepass")),
    ))
    head, tail = MAGIC.get(suffix, (b"", b""))
    if draw(st.booleans()):
        body = head + body + tail
    stem = draw(st.text(min_size=0, max_size=30))
    return stem + suffix, body


def _ingest_once(name: str, body: bytes) -> tuple[Path, object]:
    work = Path(tempfile.mkdtemp(prefix="fuzz-upload-"))
    upload = work / "upload.bin"
    upload.write_bytes(body)
    return work, ingest([(name, upload)], work / "material")


@FUZZ
@given(uploads())
def test_any_bytes_under_a_supported_name_give_a_reading_or_a_problem_naming_the_file(upload: tuple[str, bytes]) -> None:
    name, body = upload
    work, material = _ingest_once(name, body)
    try:
        reopened = load_material(work / "material")
        assert reopened is not None and reopened == material, "what ingest returns is what it saved"
        read, problems = reopened.sources, reopened.problems
        assert len(read) + len(problems) == 1, (name, read, problems)
        files = sorted(p.name for p in (work / "material" / "files").iterdir()) if (work / "material" / "files").exists() else []
        if problems:
            problem = problems[0]
            assert problem.name and problem.name in problem.message, problem
            assert UNFORESEEN not in problem.message, f"a reader failed in a way no reader foresaw: {problem.message}"
            assert files == [], "a file that could not be read leaves no copy behind"
        else:
            assert files == [read[0].name]
            assert (work / "material" / read[0].path).resolve().is_relative_to((work / "material").resolve())
    finally:
        shutil.rmtree(work, ignore_errors=True)


@settings(max_examples=15, deadline=None, database=None)
@given(st.lists(uploads(), min_size=2, max_size=4))
def test_several_bad_and_good_files_at_once_each_get_their_own_word(files: list[tuple[str, bytes]]) -> None:
    work = Path(tempfile.mkdtemp(prefix="fuzz-uploads-"))
    try:
        given_files = []
        for n, (name, body) in enumerate(files):
            path = work / f"upload-{n}.bin"
            path.write_bytes(body)
            given_files.append((name, path))
        material = ingest(given_files, work / "material")
        distinct = {body for _, body in files}
        # Each distinct content is read once (the same bytes twice are one source), or named in a problem.
        assert len(material.sources) <= len(distinct)
        assert len(material.sources) + len(material.problems) >= 1
        assert all(problem.message for problem in material.problems)
    finally:
        shutil.rmtree(work, ignore_errors=True)
