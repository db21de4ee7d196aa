"""A request about the user's own files is recognised from its words; a request that only mentions a topic is not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.stages.file_words import files_named

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize(("text", "kind"), [
    ("12 short-answer questions on the attached document that cannot be answered without reading the document", "document"),
    ("8 multiple-choice questions about the attached images that cannot be answered without seeing the image", "image"),
    ("questions about images", "image"),
    ("a quiz on these photos of birds", "image"),
    ("20 items based on my lecture notes", "document"),
    ("a quiz on a PDF", "document"),
    ("6 short-answer questions on these notes", "document"),
    ("questions from the uploaded report", "document"),
    ("30 questions drawn from my spreadsheet", "records"),
    ("yes/no questions about the attached records", "records"),
])
def test_a_request_about_the_users_files_names_their_kind(text: str, kind: str) -> None:
    assert files_named(text) == kind


@pytest.mark.parametrize("text", [
    "60 arithmetic word problems harder than GSM8K",
    "questions on the multiplication table",
    "answers rounded to 2 significant figures",
    "30 questions about data structures",
    "questions about world records",
    "questions on the history of photography",
    "questions about the book of Genesis",
    "a benchmark about reading charts",
])
def test_a_request_that_only_names_a_topic_is_not_about_files(text: str) -> None:
    assert files_named(text) is None


def test_none_of_the_request_phrasings_without_files_is_taken_for_one_about_files() -> None:
    rows = [json.loads(line) for line in (DATA / "request_phrasings.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 40
    assert [r["text"] for r in rows if files_named(r["text"])] == []
