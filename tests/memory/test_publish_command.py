"""`benchmark-agent publish|unpublish BUILD_DIR`, and what `dedup`, `check` and `prior --built` see of other users."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from memory.catalog import PriorCatalog
from memory.dedup import DedupItem, Deduplicator
from memory.minilm_onnx import OnnxMiniLMEmbedder
from memory.store import SampleStore

ROW = {"id": "n1", "question": "The novel '1984' was written by whom?", "answer": "Orwell"}


@pytest.fixture
def build_dir(tmp_path: Path, int8: OnnxMiniLMEmbedder, shipped_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Alice's finished build b7 in memory (one sample, one catalog entry) and its folder; the CLI then runs as bob."""
    data = tmp_path / "data"
    monkeypatch.setenv("BENCHMARK_AGENT_DATA_DIR", str(data))
    monkeypatch.setenv("BENCHMARK_AGENT_LOCAL_USER", "bob")
    with SampleStore(data / "chroma", embedder=int8, collection=f"samples-{int8.name}", owner="alice") as store, \
            PriorCatalog(data / "chroma", embedder=int8, collection=f"prior-benchmarks-{int8.name}",
                         owner="alice") as catalog:
        Deduplicator(int8).remember(DedupItem(id="kept-1", question="Who wrote '1984'?", answer="George Orwell"),
                                    store, build_id="b7", subtask_id="lit")
        catalog.add_built(build_id="b7", name="Novelists (literature)", measures="who wrote famous novels",
                          format="short answer", size="1 samples")
    out = tmp_path / "b7"
    out.mkdir()
    (out / "report.json").write_text(json.dumps({"build_id": "b7", "status": "complete"}), encoding="utf-8")
    (tmp_path / "rows.jsonl").write_text(json.dumps(ROW) + "\n", encoding="utf-8")
    return out


def _as(user: str, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    monkeypatch.setenv("BENCHMARK_AGENT_LOCAL_USER", user)
    return main(list(argv))


def _memory_duplicates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    assert main(["dedup", str(tmp_path / "rows.jsonl"), "--against-memory"]) == 0
    return json.loads(capsys.readouterr().out)["duplicates"]  # type: ignore[no-any-return]


def test_another_users_build_is_unseen_until_its_owner_publishes_it_and_unseen_again_after(
        tmp_path: Path, build_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert _memory_duplicates(tmp_path, capsys) == []
    assert main(["prior", "--built"]) == 0 and json.loads(capsys.readouterr().out) == []
    assert main(["check", str(tmp_path / "rows.jsonl"), "--out", str(tmp_path), "--quiet"]) == 0
    assert "b7" not in capsys.readouterr().out and "b7" not in (tmp_path / "check.json").read_text()

    assert _as("bob", monkeypatch, "publish", str(build_dir)) == 2
    assert "Build b7 belongs to another user: only the user who built it can publish it." in capsys.readouterr().err

    assert _as("alice", monkeypatch, "publish", str(build_dir)) == 0
    said = capsys.readouterr().out
    assert "Published Novelists (literature) (b7) to the shared catalog: its 1 samples now take part" in said

    monkeypatch.setenv("BENCHMARK_AGENT_LOCAL_USER", "bob")
    [found] = _memory_duplicates(tmp_path, capsys)
    assert (found["a"], found["b"], found["build_id"]) == ("kept-1", "n1", "b7")
    assert main(["prior", "--built"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"build_id": "b7", "name": "Novelists (literature)",
                                                    "size": "1 samples", "published": True, "yours": False}]
    assert main(["check", str(tmp_path / "rows.jsonl"), "--out", str(tmp_path), "--quiet"]) == 1
    assert "repeats kept-1 from build b7" in (tmp_path / "check.json").read_text()

    assert _as("alice", monkeypatch, "unpublish", str(build_dir)) == 0
    assert "Unpublished Novelists (literature) (b7)" in capsys.readouterr().out
    monkeypatch.setenv("BENCHMARK_AGENT_LOCAL_USER", "bob")
    assert _memory_duplicates(tmp_path, capsys) == []
    assert main(["prior", "--built"]) == 0 and json.loads(capsys.readouterr().out) == []


def test_the_owner_sees_their_own_build_without_publishing_it(
        tmp_path: Path, build_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCHMARK_AGENT_LOCAL_USER", "alice")
    [found] = _memory_duplicates(tmp_path, capsys)
    assert found["build_id"] == "b7"
    assert main(["prior", "--built"]) == 0
    assert json.loads(capsys.readouterr().out)[0] | {} == {"build_id": "b7", "name": "Novelists (literature)",
                                                          "size": "1 samples", "published": False, "yours": True}


@pytest.mark.parametrize(("report", "message"), [
    (None, "holds no finished build (no report.json)"),
    ("not json", "is not a build report"),
    ({"status": "complete"}, "names no build_id"),
    ({"build_id": "b9", "status": "stopped"}, "stopped before it finished: finish it first (benchmark-agent resume"),
    ({"build_id": "b9", "status": "complete"}, "No benchmark b9 is in memory"),
])
def test_publishing_what_is_not_a_finished_build_here_exits_2_and_says_why(
        tmp_path: Path, build_dir: Path, capsys: pytest.CaptureFixture[str], report: object, message: str) -> None:
    folder = tmp_path / "other"
    folder.mkdir()
    if report is not None:
        (folder / "report.json").write_text(report if isinstance(report, str) else json.dumps(report), encoding="utf-8")
    assert main(["publish", str(folder)]) == 2
    assert message in capsys.readouterr().err
