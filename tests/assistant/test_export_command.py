"""`benchmark-agent export DIR`: a finished build's files written again, in every format or in some."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.cli import main
from tests.tools.test_harness_exports import SAMPLES, _report
from tools.export.bundle import export_benchmark


def test_export_rewrites_every_format_and_the_zip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export_benchmark(SAMPLES, _report(), tmp_path, formats=["jsonl"])
    assert not (tmp_path / "benchmark.zip").exists()
    assert main(["export", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "benchmark.zip")
    for path in ("benchmark.zip", "data/test-00000-of-00001.parquet", "lm_eval/loader.py", "inspect/benchmark_task.py",
                 "pydantic_evals/dataset.yaml"):
        assert (tmp_path / path).is_file(), path


def test_export_of_some_formats_writes_only_those(tmp_path: Path) -> None:
    export_benchmark(SAMPLES, _report(), tmp_path, formats=["jsonl"])
    assert main(["export", str(tmp_path), "--format", "lm-eval, hf"]) == 0
    assert (tmp_path / "lm_eval").is_dir() and (tmp_path / "data").is_dir() and not (tmp_path / "inspect").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "excel"], "Unknown --format excel"),
    ([], "holds no finished build"),
])
def test_export_refuses_what_it_cannot_do_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         args: list[str], message: str) -> None:
    if args:
        export_benchmark(SAMPLES, _report(), tmp_path, formats=["jsonl"])
    assert main(["export", str(tmp_path / ("" if args else "missing")), *args]) == 2
    assert message in capsys.readouterr().err
