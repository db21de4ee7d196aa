from __future__ import annotations

import io

from assistant.commands.progress import ProgressPrinter
from tools.contracts import BuildEvent, Spend


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _events(total: int) -> list[BuildEvent]:
    events = [BuildEvent(stage="build", kind="started", total=total, done=0, message="Building"),
              BuildEvent(stage="generate", kind="started", message="Wave 1: 4 samples in 1 batches")]
    events += [BuildEvent(stage="verify", kind="accepted", message="ok")] * total
    events += [BuildEvent(stage="verify", kind="rejected", message="judge: wrong")]
    return [*events, BuildEvent(stage="build", kind="finished", message=f"{total}/{total} samples accepted")]


def test_a_terminal_gets_one_bar_redrawn_in_place() -> None:
    out = _Tty()
    printer = ProgressPrinter(out)
    for event in _events(20):
        printer(event)
    text = out.getvalue()
    assert "[" + "#" * 30 + "] 20/20 accepted, 1 dropped" in text
    assert text.count("\n") == 3, "only the stage lines end a line"


def test_a_log_gets_a_line_per_tenth_not_per_sample() -> None:
    out = io.StringIO()
    printer = ProgressPrinter(out)
    for event in _events(200):
        printer(event)
    lines = out.getvalue().splitlines()
    assert sum(line.startswith("progress:") for line in lines) == 11
    assert lines[-1].endswith("200/200 samples accepted")


def test_the_spend_so_far_is_shown_live_and_at_the_end() -> None:
    out = io.StringIO()
    printer = ProgressPrinter(out)
    for event in _events(10):
        printer(event.model_copy(update={"spend": Spend(tokens={"generator": 1200, "judge": 800}, cost=0.0125)}))
    lines = out.getvalue().splitlines()
    progress = [line for line in lines if line.startswith("progress:")]
    assert progress and all(line.endswith("; spent generation 1,200 · checks 800 tokens · $0.0125") for line in progress)
    assert lines[-1].endswith("10/10 samples accepted; spent generation 1,200 · checks 800 tokens · $0.0125")
