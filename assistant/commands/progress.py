"""Build progress on the terminal: one bar redrawn in place on a TTY, a few plain lines otherwise."""

from __future__ import annotations

import sys
from typing import TextIO

from tools.contracts import BuildEvent, Spend

WIDTH = 30
LINE = 140  # the bar's line, padded so that a shorter redraw leaves nothing behind


class ProgressPrinter:
    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = self.stream.isatty()
        self.accepted = self.rejected = self.total = 0
        self.last_tenth = -1
        self.spend: Spend | None = None

    def __call__(self, event: BuildEvent) -> None:
        if self.quiet:
            return
        self.spend = event.spend or self.spend
        if event.stage == "build" and event.kind == "started":
            self.total = event.total or 0
            self.accepted = event.done or 0
        if event.kind == "accepted":
            self.accepted += 1
        elif event.kind == "rejected":
            self.rejected += 1
        if event.kind in ("accepted", "rejected"):
            self._bar()
        else:
            self._line(event)

    def _bar(self) -> None:
        if not self.total:
            return
        if self.tty:
            filled = int(WIDTH * min(self.accepted, self.total) / self.total)
            text = (f"\r[{'#' * filled}{'.' * (WIDTH - filled)}] {self.accepted}/{self.total} accepted, "
                    f"{self.rejected} dropped{self._spent()}")
            self.stream.write(text.ljust(LINE)[:LINE])
            self.stream.flush()
            return
        tenth = 10 * self.accepted // self.total
        if tenth != self.last_tenth:
            self.last_tenth = tenth
            print(f"progress: {self.accepted}/{self.total} accepted, {self.rejected} dropped{self._spent()}",
                  file=self.stream, flush=True)

    def _spent(self) -> str:
        return f"; spent {self.spend.describe()}" if self.spend is not None else ""

    def _line(self, event: BuildEvent) -> None:
        if self.tty:
            self.stream.write("\r" + " " * LINE + "\r")
        counter = f" [{event.done}/{event.total}]" if event.total and event.done is not None else ""
        spent = self._spent() if event.stage == "build" and event.kind == "finished" else ""
        print(f"{event.stage:>8} {event.kind:<12}{counter} {event.message}{spent}", file=self.stream, flush=True)
