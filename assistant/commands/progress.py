"""Build progress on the terminal: one bar redrawn in place on a TTY, a few plain lines otherwise."""

from __future__ import annotations

import sys
from typing import TextIO

from tools.models import BuildEvent

WIDTH = 30


class ProgressPrinter:
    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = self.stream.isatty()
        self.accepted = self.rejected = self.total = 0
        self.last_tenth = -1
        self.wave = ""

    def __call__(self, event: BuildEvent) -> None:
        if self.quiet:
            return
        if event.stage == "build" and event.kind == "started":
            self.total = event.total or 0
            self.accepted = event.done or 0
        if event.kind == "accepted":
            self.accepted += 1
        elif event.kind == "rejected":
            self.rejected += 1
        elif event.stage == "generate":
            self.wave = event.message.split(":")[0]
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
                    f"{self.rejected} dropped  {self.wave}")
            self.stream.write(text.ljust(100)[:100])
            self.stream.flush()
            return
        tenth = 10 * self.accepted // self.total
        if tenth != self.last_tenth:
            self.last_tenth = tenth
            print(f"progress: {self.accepted}/{self.total} accepted, {self.rejected} dropped", file=self.stream, flush=True)

    def _line(self, event: BuildEvent) -> None:
        if self.tty:
            self.stream.write("\r" + " " * 100 + "\r")
        counter = f" [{event.done}/{event.total}]" if event.total and event.done is not None else ""
        print(f"{event.stage:>8} {event.kind:<12}{counter} {event.message}", file=self.stream, flush=True)
