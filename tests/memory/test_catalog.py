"""The prior-benchmark catalog: shipped entries, retrieval from paraphrased descriptions, built benchmarks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.cli import main
from memory.catalog import PriorCatalog, shipped_benchmarks
from memory.minilm_onnx import OnnxMiniLMEmbedder

# How a user might describe a benchmark without naming it, and the benchmark that is meant.
PARAPHRASES = [
    ("word problems for primary school kids that need a few steps of arithmetic", "GSM8K"),
    ("competition mathematics problems like the AMC with LaTeX solutions", "MATH"),
    ("write a Python function from its docstring and run unit tests on it", "HumanEval"),
    ("fix real bugs reported as GitHub issues in open source Python projects", "SWE-bench"),
    ("multiple-choice exam questions across dozens of academic subjects like law, medicine and history", "MMLU"),
    ("science questions written by PhD experts that you cannot answer by searching the web", "GPQA"),
    ("pick the most sensible ending for a short everyday scene", "HellaSwag"),
    ("does the model repeat popular misconceptions instead of telling the truth", "TruthfulQA"),
    ("questions about pictures from college courses in many disciplines, with diagrams and charts", "MMMU"),
    ("answer questions about the contents of scanned forms and letters", "DocVQA"),
    ("an agent that navigates realistic websites such as a shop, a forum and a code host to finish tasks", "WebArena"),
    ("customer service agent using tools for an airline and a retail store, following policy", "tau-bench"),
    ("refusing prompts that only look dangerous but are actually safe: over-refusal", "XSTest"),
    ("stereotype and social bias in question answering about ambiguous contexts", "BBQ"),
    ("hazardous knowledge about bioweapons and cyberattacks measured with multiple choice", "WMDP"),
    ("natural language inference translated into fifteen languages", "XNLI"),
    ("reading comprehension with the same passages in over a hundred languages", "Belebele"),
    ("US medical licensing exam style clinical questions", "MedQA"),
    ("numerical reasoning over tables and text in company financial reports", "FinQA"),
    ("translate English questions into SQL queries over many databases", "Spider"),
    ("follow instructions that can be checked automatically, like word limits and formatting", "IFEval"),
    ("find one fact hidden deep inside a very long document", "Needle in a Haystack"),
    ("yes/no questions about biomedical research abstracts", "PubMedQA"),
    ("predict what a small Python function returns for a given input", "CRUXEval"),
    ("math word problems from grade school translated into several languages", "MGSM"),
    ("toxic continuations of sentence prompts taken from the web", "RealToxicityPrompts"),
]


@pytest.fixture
def catalog(tmp_path: Path, int8: OnnxMiniLMEmbedder) -> Iterator[PriorCatalog]:
    with PriorCatalog(tmp_path / "chroma", embedder=int8) as opened:
        yield opened


def test_the_shipped_catalog_covers_every_area() -> None:
    shipped = shipped_benchmarks()
    assert len(shipped) >= 80
    areas = {b.area for b in shipped}
    assert {"text", "code", "math", "multimodal", "agents", "safety", "multilingual", "domain"} <= areas
    assert all(b.measures and b.format and b.size and b.year for b in shipped)
    assert len({b.name for b in shipped}) == len(shipped)


def test_paraphrased_descriptions_find_the_benchmark_meant(catalog: PriorCatalog) -> None:
    assert catalog.count() == len(shipped_benchmarks())
    misses = []
    for description, expected in PARAPHRASES:
        names = [m.benchmark.name for m in catalog.search(description, k=3)]
        if expected not in names:
            misses.append(f"{description!r}: wanted {expected}, got {names}")
    assert len(PARAPHRASES) - len(misses) >= 20, "\n".join(misses)
    assert len(misses) <= 2, "\n".join(misses)


def test_a_benchmark_named_in_the_request_comes_first(catalog: PriorCatalog) -> None:
    [first, *_] = catalog.search("arithmetic word problems harder than GSM8K", k=3)
    assert first.benchmark.name == "GSM8K" and first.score >= 0.9 and first.why.startswith("named in the request")
    # An ordinary word is not a name: "math" does not force the MATH benchmark.
    assert all(not m.why.startswith("named") for m in catalog.search("simple math for children", k=5))


def test_built_benchmarks_join_the_catalog_and_survive_a_restart(tmp_path: Path, int8: OnnxMiniLMEmbedder) -> None:
    path = tmp_path / "chroma"
    with PriorCatalog(path, embedder=int8) as first:
        first.add_built(build_id="b42", name="Tide tables (coastal navigation)",
                        measures="Reading tide tables to compute high and low water times for sailors",
                        format="numeric", size="30 samples", year=2025)
    with PriorCatalog(path, embedder=int8) as reopened:
        assert reopened.count() == len(shipped_benchmarks()) + 1
        assert reopened.seed() == 0  # nothing shipped is written twice
        [hit] = reopened.search("when is high water according to the tide table", k=1, source="built")
        assert hit.benchmark.build_id == "b42" and "built here (b42)" in hit.why


def test_prior_command_prints_a_json_list(tmp_path: Path, shipped_cache: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prior", "python coding problems checked with unit tests", "-k", "3",
                 "--data-dir", str(tmp_path / "data")]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 3 and set(listed[0]) == {"name", "score", "why"}
    assert {"HumanEval", "MBPP"} & {row["name"] for row in listed}
    assert listed[0]["score"] >= listed[-1]["score"]


async def test_design_notes_the_known_benchmark_each_subtask_is_close_to(catalog: PriorCatalog) -> None:
    from tests.scripted import Script, stage_models
    from tools.contracts import BenchmarkSpec
    from tools.stages.design import OVERLAP_SCORE, design_subtasks, overlap_summary

    proposal = {"subtasks": [
        {"name": "Multi-step word problems", "description": "Grade-school arithmetic stories needing several steps.",
         "weight": 2},
        {"name": "Tide tables", "description": "Reading invented tide tables for a fictional harbour.", "weight": 1},
    ]}
    spec = BenchmarkSpec(goal="harder grade-school math word problems", capability="multi-step arithmetic",
                         domain="grade-school word problems", answer_format="numeric", size=6, difficulty="hard")
    plan = await design_subtasks(spec, models=stage_models(Script(submit_subtasks=[proposal])), catalog=catalog)
    words, tides = plan.subtasks
    assert words.overlaps and words.overlaps[0].name == "GSM8K" and words.overlaps[0].score >= OVERLAP_SCORE
    assert "not against GSM8K's own items" in words.overlaps[0].how_we_differ  # only what is checked is claimed
    assert "training data" not in words.overlaps[0].how_we_differ
    assert "hard difficulty" in words.overlaps[0].how_we_differ
    assert tides.overlaps == []
    assert "Multi-step word problems is close to GSM8K" in overlap_summary(plan)


async def test_a_finished_build_joins_the_catalog(tmp_path: Path) -> None:
    from memory.embeddings import HashEmbedder
    from memory.store import SampleStore
    from tests.scripted import Script, stage_models
    from tests.tools.samples import ACCEPT, batch_for
    from tools.contracts import BenchmarkSpec, Subtask, SubtaskPlan
    from tools.engine.batches import BuildOptions
    from tools.finish.run import FinishOptions
    from tools.pipeline import build_and_export

    spec = BenchmarkSpec(goal="Arithmetic word problems about marbles.", capability="arithmetic",
                         domain="word problems", answer_format="multiple_choice", size=3)
    plan = SubtaskPlan(subtasks=[Subtask(id="adding", name="Adding", description="Adding marbles.",
                                         answer_format="multiple_choice", quota=3)])
    embedder = HashEmbedder()
    with SampleStore(tmp_path / "chroma", embedder=embedder) as store, \
            PriorCatalog(tmp_path / "chroma", embedder=embedder) as catalog:
        result = await build_and_export(spec, plan, models=stage_models(Script(submit_samples=[batch_for],
                                                                                submit_verdict=[ACCEPT])),
                                        store=store, directory=tmp_path / "out", options=BuildOptions(),
                                        finishing=FinishOptions(quality_sample_size=0), catalog=catalog)
        [built] = catalog.search("arithmetic word problems marbles", k=1, source="built")
    assert built.benchmark.build_id == result.report.build_id
    assert built.benchmark.name == "arithmetic (word problems)" and built.benchmark.size == "3 samples"
