"""The build's ledger keeps accepted samples on disk and reads them back exactly as a build in memory would."""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from pathlib import Path

from tools.contracts import Provenance, Sample
from tools.engine.ledger import ACCEPTED, Ledger


def _sample(subtask: str, n: int, wave: int) -> Sample:
    return Sample(id=f"{subtask}-{n:012x}", subtask_id=subtask, answer_format="short_answer",
                  question=f"Question {n} of {subtask}?", answer=str(n),
                  provenance=Provenance(build_id="b", generator_model="g", attempt=wave + 1,
                                        created_at=datetime(2026, 1, 1, tzinfo=UTC)),
                  metadata={"batch": f"{subtask}/batch {wave + 1}", "wave": wave})


def _accept(ledger: Ledger, samples: list[Sample]) -> None:
    for sample in samples:
        ledger.accept(sample)
    ledger.journal.flush()


def test_accepted_samples_come_back_from_the_checkpoints_in_subtask_then_decision_order(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    accepted = [_sample("a", 1, 0), _sample("b", 2, 1), _sample("a", 3, 2)]
    _accept(ledger, accepted)
    assert ledger.samples(["b", "a"]) == [accepted[1], accepted[0], accepted[2]]
    assert (ledger.total(), ledger.count("a"), ledger.ids()) == (3, 2, {s.id for s in accepted})


def test_the_ledger_holds_no_accepted_sample_in_memory(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    _accept(ledger, [_sample("a", n, n) for n in range(20)])
    gc.collect()
    assert not [o for o in gc.get_objects() if isinstance(o, Sample) and o.subtask_id == "a"]
    assert len(ledger.samples(["a"])) == 20


def test_a_resumed_ledger_reads_back_earlier_decided_samples_then_its_own_past_a_torn_line(tmp_path: Path) -> None:
    first = Ledger(tmp_path)
    decided, undecided = [_sample("a", 1, 0), _sample("a", 2, 1)], _sample("a", 3, 2)
    _accept(first, [*decided, undecided])
    with (tmp_path / ACCEPTED).open("a", encoding="utf-8") as handle:
        handle.write('{"id": "a-0000000000')  # a crash mid-write
    resumed = Ledger(tmp_path)
    loaded = resumed.load({"a/batch 1", "a/batch 2"})
    assert loaded == decided and resumed.ids() == {s.id for s in decided}  # batch 3 was not done: redone
    again = _sample("a", 3, 2).model_copy(update={"rationale": "written again"})
    _accept(resumed, [again])
    assert resumed.samples(["a"]) == [*decided, again]


def test_questions_to_avoid_are_the_latest_from_batches_before_the_basis(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    _accept(ledger, [_sample("a", n, wave=n // 2) for n in range(30)])  # two samples per batch
    assert ledger.questions("a", before_batch=5, last=3) == [f"Question {n} of a?" for n in (7, 8, 9)]
    assert ledger.questions("a", before_batch=1, last=10) == ["Question 0 of a?", "Question 1 of a?"]
    assert ledger.questions("b", before_batch=5, last=3) == []
