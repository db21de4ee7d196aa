"""bench/qc_catch.py: honest planted-defect figures, each said apart (deterministic, audit, gate with its model)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pydantic_ai.models
import pytest

from bench.qc_calibration import CALIBRATION, HELDOUT, HELDOUT_SECOND, calibration_items, read_items
from bench.qc_catch import PLUMBING, main, planted_jsonl, subset
from bench.qc_planted import DEFECTS, planted_items
from tests.fake_llm import FakeLLMServer
from tools.qc.leakage import _REVEAL, _norm

PLANTED = Counter(item.kind for item in planted_items())
ALWAYS_CAUGHT = ("wrong_gold_with_program", "code_fails_tests", "weak_tests", "duplicate_reworded")


def summary_of(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_the_figures_are_said_apart_and_the_oracle_run_is_labelled_a_plumbing_check(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    summary = summary_of(capsys)
    assert set(summary) == {"deterministic", "gate", "audit", "false_rejection", "model_checks", "leakage",
                            "items"}
    assert summary["items"] >= 100
    assert summary["gate"]["label"] == PLUMBING == "plumbing check only (oracle knows the answers)"
    assert summary["false_rejection"] == {"deterministic": 0.0, "gate": 0.0, "audit": 0.0}
    for kind in ALWAYS_CAUGHT:  # a program, tests or the embedder decides these: no model needed
        assert summary["deterministic"][kind] == [PLANTED[kind], PLANTED[kind]]
        assert summary["audit"][kind] == [PLANTED[kind], PLANTED[kind]]
    for section in (summary["deterministic"], summary["audit"], summary["gate"]["catch"]):
        for kind, (caught, planted) in section.items():
            assert kind in DEFECTS and 0 <= caught <= planted
            assert planted == PLANTED.get(kind, 1)  # position_imbalance is one slice
    leakage, calibration = summary["leakage"], Counter(kind for kind, _, _ in calibration_items())
    heldout = Counter(kind for kind, _, _ in read_items(HELDOUT))
    second = Counter(kind for kind, _, _ in read_items(HELDOUT_SECOND))
    assert leakage["calibration"]["false_rejection"] == [0, calibration["clean"]]  # the half the rules were tuned on
    assert leakage["test"]["false_rejection"] == [0, PLANTED["clean"]]  # the planted set: never tuned on
    assert leakage["heldout"]["false_rejection"] == [0, heldout["clean"]]  # written before any figure was seen
    assert leakage["heldout_second"]["false_rejection"] == [0, second["clean"]]
    for half, counts in (("calibration", calibration), ("test", PLANTED), ("heldout", heldout),
                         ("heldout_second", second)):
        for kind, (caught, planted) in leakage[half]["leakage"].items():
            assert planted == counts[kind] and 0 <= caught <= planted


def test_the_planted_hints_avoid_the_phrases_the_leakage_check_looks_for() -> None:
    hinted = [i for i in planted_items() if i.kind in ("hint_in_new_words", "answer_restated")]
    assert len(hinted) >= 12
    for item in hinted:
        assert not re.search(_REVEAL, _norm(item.draft.question)), item.draft.question


def test_the_file_the_audit_reads_carries_no_label_of_the_defects(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in planted_jsonl(planted_items(), tmp_path / "p.jsonl").read_text().splitlines()]
    assert {key for row in rows for key in row} <= {"question", "options", "answer", "solution", "tests"}
    assert len(rows) == sum(PLANTED.values())


def test_with_a_model_the_model_run_checks_go_to_its_openai_compatible_endpoint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)  # a fake server on 127.0.0.1 only
    with FakeLLMServer(port=0, seed=5) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("BENCHMARK_AGENT_DATA_DIR", str(tmp_path / "data"))
        assert main(["--model", "openai:fake-a", "--concurrency", "8"]) == 0
        asked = server.stats.by_tool
    summary = summary_of(capsys)
    assert summary["gate"]["label"] == "measured with openai:fake-a"
    assert set(summary["model_checks"]) == {"gate", "audit", "gate_sound_rejected", "audit_sound_rejected"}
    assert asked["submit_inspection"] > 0 and asked["submit_answer"] > 0


def test_the_calibration_set_shares_no_question_with_the_planted_or_the_held_out_set() -> None:
    planted = {i.draft.question.casefold() for i in planted_items()}
    rows = [json.loads(line) for line in CALIBRATION.read_text(encoding="utf-8").splitlines()]
    held = [json.loads(line) for path in (HELDOUT, HELDOUT_SECOND) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows and not {r["question"].casefold() for r in rows} & (planted | {r["question"].casefold() for r in held})
    assert not {r["question"].casefold() for r in held} & planted
    assert {r["kind"] for r in rows} == {"clean", "hint_in_new_words", "answer_restated", "synonym_option"}
    assert {r["kind"] for r in held} == {"clean", "answer_restated", "synonym_option"}


def test_a_limit_keeps_n_items_of_each_kind_and_what_its_duplicates_repeat() -> None:
    items = subset(planted_items(), 2)
    kinds = Counter(i.kind for i in items)
    assert all(count == 2 for kind, count in kinds.items() if kind != "clean") and kinds["clean"] <= 4
    for item in items:
        if item.repeats is not None:
            assert items[item.repeats].kind == "clean" and items[item.repeats].truth == item.truth
