"""Builds against an endpoint that misbehaves in every way the fake knows: each build completes, or stops with a
message naming the model and what it did; no accepted sample is lost or written twice, in the ledger or the exports."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pydantic_ai.models
import pytest

from assistant.deps import build_options
from assistant.model_registry import stage_models
from assistant.settings import Settings
from memory.embeddings import HashEmbedder
from memory.store import SampleStore
from tests.fake_llm import FakeLLMServer
from tests.fake_llm_faults import PASSING
from tools.contracts import BenchmarkSpec, Subtask, SubtaskPlan
from tools.pipeline import BuildResult, build_and_export, resume_build

pytestmark = pytest.mark.slow
DOMAINS = ("arithmetic word problems", "unit conversions", "percentages")


def _job(domain: str, size: int) -> tuple[BenchmarkSpec, SubtaskPlan]:
    spec = BenchmarkSpec(goal=domain, capability="multi-step arithmetic", domain=domain,
                         answer_format="multiple_choice", size=size)
    half = size // 2
    plan = SubtaskPlan(subtasks=[
        Subtask(id="first", name=f"{domain}: addition and subtraction", description="d",
                answer_format="multiple_choice", quota=half),
        Subtask(id="second", name=f"{domain}: multiplication and division", description="d",
                answer_format="multiple_choice", quota=size - half),
    ])
    return spec, plan


@pytest.fixture(autouse=True)
def _allow_local_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)  # only 127.0.0.1 is reached


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SampleStore]:
    with SampleStore(tmp_path / "chroma", embedder=HashEmbedder(dims=1024)) as opened:
        yield opened


def _settings(server: FakeLLMServer, **overrides: object) -> Settings:
    base = dict(model="openai:fake-model", openai_base_url=server.base_url, openai_api_key="test", data_dir=Path("data"),
                request_timeout_s=1.0, endpoint_down_timeout_s=20.0, concurrency=6, dedup_threshold=0.97,
                quality_sample_size=0)
    return Settings(**{**base, **overrides})  # type: ignore[arg-type]


async def _build(settings: Settings, store: SampleStore, directory: Path, domain: str, size: int) -> BuildResult:
    spec, plan = _job(domain, size)
    # Each build gets its own models, as each chat session's build does (its own slots, retries and call cache).
    return await build_and_export(spec, plan, models=stage_models(settings), store=store, directory=directory,
                                  options=build_options(settings))


def _ledger_ids(directory: Path) -> list[str]:
    lines = (directory / "checkpoints" / "accepted.jsonl").read_text().splitlines()
    return [json.loads(line)["id"] for line in lines if line.strip()]


def _exported_ids(directory: Path) -> list[str]:
    return [json.loads(line)["id"] for line in (directory / "benchmark.jsonl").read_text().splitlines()]


def _assert_nothing_lost_or_doubled(result: BuildResult, directory: Path) -> None:
    ledger = _ledger_ids(directory)
    assert len(ledger) == len(set(ledger)), "an accepted sample is in the ledger twice"
    if result.report.status == "stopped":
        assert result.report.stop_reason and "fake-model" in result.report.stop_reason, result.report.stop_reason
        return
    exported = _exported_ids(directory)
    assert len(exported) == len(set(exported)) == result.report.accepted
    assert set(exported) == set(ledger), "every accepted sample is exported, and only those"
    csv_rows = (directory / "benchmark.csv").read_text().count("\n")
    assert csv_rows >= len(exported) + 1


async def test_three_concurrent_builds_under_every_kind_of_fault_complete_with_nothing_lost_or_doubled(
        tmp_path: Path, store: SampleStore) -> None:
    with FakeLLMServer(port=0, seed=5, fault_rate=0.2, fault_kinds=PASSING, hang_s=2.5) as server:
        settings = _settings(server)
        results = await asyncio.gather(*(
            _build(settings, store, tmp_path / f"out-{n}", domain, 10) for n, domain in enumerate(DOMAINS)))
        faults = server.stats.faults
    assert set(faults) == set(PASSING), f"every kind was injected at least once: {dict(faults)}"
    for n, result in enumerate(results):
        assert result.report.status == "complete", (result.report.status, result.report.stop_reason)
        assert result.report.accepted == 10
        _assert_nothing_lost_or_doubled(result, tmp_path / f"out-{n}")
    assert sum(r.report.retries for r in results) >= faults["rate_limit"] + faults["server_error"]


@pytest.mark.parametrize("kind", ["dropped", "stall", "garbage", "truncated_body", "wrong_schema"])
async def test_a_build_under_one_kind_of_body_fault_completes(tmp_path: Path, store: SampleStore, kind: str) -> None:
    with FakeLLMServer(port=0, seed=7, fault_rate=0.3, fault_kinds=(kind,), hang_s=2.0) as server:
        result = await _build(_settings(server), store, tmp_path / "out", "arithmetic word problems", 6)
        assert server.stats.faults[kind] > 0
    assert result.report.status == "complete", result.report.stop_reason
    _assert_nothing_lost_or_doubled(result, tmp_path / "out")


async def test_an_endpoint_that_only_sends_garbage_stops_the_build_with_a_message_and_resume_finishes_it(
        tmp_path: Path, store: SampleStore) -> None:
    out = tmp_path / "out"
    with FakeLLMServer(port=0, seed=9, latency_ms=30) as server:
        settings = _settings(server, endpoint_down_timeout_s=2.0)
        accepted: list[int] = []

        def break_after_some(event) -> None:  # type: ignore[no-untyped-def]
            if event.kind == "accepted":
                accepted.append(1)
                if len(accepted) == 3:
                    server.set_faults(1.0, ("garbage", "dropped", "wrong_schema"))

        spec, plan = _job("arithmetic word problems", 12)
        stopped = await build_and_export(spec, plan, models=stage_models(settings), store=store, directory=out,
                                         options=build_options(settings), on_event=break_after_some)
        assert stopped.report.status in ("stopped", "short"), stopped.report.status
        kept = _ledger_ids(out)
        assert len(kept) >= 3 and len(kept) == len(set(kept))
        server.set_faults(0.0)
        resumed = await resume_build(out, models=stage_models(settings), store=store, options=build_options(settings))
    assert resumed.report.status == "complete" and resumed.report.accepted == 12
    assert set(kept) <= set(_exported_ids(out)), "what the stopped build accepted is kept"
    _assert_nothing_lost_or_doubled(resumed, out)
