"""The progress bar of many jobs on a terminal: how many are done, running and failed."""

from __future__ import annotations

import shutil
import sys

WIDTH = 24


class Progress:
    """One line on stderr, redrawn in place; draws nothing unless `enabled`."""

    def __init__(self, total: int, *, label: str, enabled: bool, stream=None):
        self.total, self.label, self.enabled = total, label, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.done = self.failed = self.running = 0
        self.drawn = False
        self.last = ""

    def show(self, *, running: int) -> None:
        self.running = running
        self._draw()

    def advance(self, *, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        self.running = max(0, self.running - 1)
        self._draw()

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r\033[K")  # the line goes: what follows starts on a clean one
            self.stream.flush()
            self.drawn = False

    def line(self) -> str:
        filled = round(WIDTH * self.done / self.total) if self.total else WIDTH
        bar = "#" * filled + "-" * (WIDTH - filled)
        failed = f", {self.failed} failed" if self.failed else ""
        return (
            f"{self.label} [{bar}] {self.done - self.failed}/{self.total} done, "
            f"{self.running} running{failed}"
        )

    def _draw(self) -> None:
        if not self.enabled:
            return
        columns = shutil.get_terminal_size((80, 24)).columns
        line = self.line()[: columns - 1]
        if self.drawn and line == self.last:
            return  # polled with nothing new: no redraw, no flicker
        self.stream.write("\r\033[K" + line)
        self.stream.flush()
        self.drawn, self.last = True, line
