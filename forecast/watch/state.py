"""What the live page shows, held in one place that the run thread writes and the server reads.

Every change bumps a version number; the page's event stream sends the state again whenever
the version moves, and `state.json` gives it on request. The state holds the last good run's
summary.json bytes, so that `GET /summary.json` answers from memory as soon as a run's numbers
are known: first without the `evidence` and `sensitivity` blocks, while they are computed, then
complete, while the run's folder is being written.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class GoodRun:
    """A run whose numbers the page shows."""

    number: int  # the how-manieth sampling of this watch
    summary: dict
    summary_json: bytes  # summary.json as `forecast run` writes it, or without `sensitivity`
    scenario_text: str
    finished: float  # time.time() when its numbers were known

    @property
    def complete(self) -> bool:
        """Whether the summary has its sensitivity block (it is computed after the numbers)."""
        return "sensitivity" in self.summary


class LiveState:
    """The page's data, safe to read and write from several threads."""

    def __init__(self, file: str) -> None:
        self._condition = threading.Condition()
        self._version = 0
        self._file = file
        self._activity: dict | None = None
        self._problems: list[str] = []
        self._problems_are: str | None = None  # "invalid" (the file) or "failed" (the run)
        self._run: GoodRun | None = None
        self._changes: dict | None = None
        self._report_run: int | None = None  # the run whose report.html is in the folder
        # The last complete run and its changes, shown again if the run whose numbers are shown
        # fails before it is complete.
        self._complete: tuple[GoodRun, dict] | None = None
        self._samplings = 0
        self._stopped = False

    # -- written by the run thread ---------------------------------------------------------

    def sampling(self, message: str) -> int:
        """A sampling starts; returns its number."""
        with self._condition:
            self._samplings += 1
            self._activity = {"step": "sampling", "message": message, "since": time.time()}
            self._bump()
            return self._samplings

    def compiling(self, message: str) -> None:
        """Between runs, a compile that a save would wait for (not a run: no number)."""
        with self._condition:
            self._activity = {"step": "compiling", "message": message, "since": time.time()}
            self._bump()

    def idle(self) -> None:
        with self._condition:
            self._activity = None
            self._bump()

    def invalid(self, problems: list[str], *, failed: bool = False) -> None:
        """The file as saved is invalid (or its run failed): the page shows why, and the last
        good run's numbers as stale. A run that fails after its numbers were shown, before it
        is complete, is no good run: the last complete one is shown again."""
        with self._condition:
            self._problems = list(problems)
            self._problems_are = "failed" if failed else "invalid"
            self._activity = None
            if self._run is not None and not self._run.complete:
                self._run, self._changes = self._complete or (None, None)
            self._bump()

    def valid(self) -> None:
        """The file is valid again: the problems go."""
        with self._condition:
            self._problems, self._problems_are = [], None
            self._bump()

    def numbers(self, run: GoodRun, changes: dict) -> None:
        """A run's numbers are known; its sensitivity analysis is being computed."""
        with self._condition:
            self._run, self._changes = run, changes
            self._problems, self._problems_are = [], None
            self._step("sensitivity", "Computing the sensitivity analysis")
            self._bump()

    def summarised(self, run: GoodRun, changes: dict) -> None:
        """A run is complete, its sensitivity analysis included (its folder is being written)."""
        with self._condition:
            self._run, self._changes = run, changes
            self._complete = (run, changes)
            self._problems, self._problems_are = [], None
            self._step("writing", "Writing the report")
            self._bump()

    def _step(self, step: str, message: str) -> None:
        # The seconds on the page count the step going on, not the whole run.
        if self._activity is not None:
            self._activity = {"step": step, "message": message, "since": time.time()}

    def report_written(self, number: int) -> None:
        with self._condition:
            self._report_run = number
            self._bump()

    def stop(self) -> None:
        """The watch is ending: every waiting event stream returns."""
        with self._condition:
            self._stopped = True
            self._bump()

    def _bump(self) -> None:
        self._version += 1
        self._condition.notify_all()

    # -- read by the server ----------------------------------------------------------------

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def last_run(self) -> GoodRun | None:
        with self._condition:
            return self._run

    def wait_for_change(self, seen: int, timeout: float) -> int:
        """The version after `seen`, waiting up to `timeout` seconds for one; `seen` if none."""
        with self._condition:
            self._condition.wait_for(lambda: self._version != seen or self._stopped, timeout)
            return self._version

    def snapshot(self) -> dict:
        """The state as the page reads it (`state.json`)."""
        with self._condition:
            run = self._run
            return {
                "version": self._version,
                "file": self._file,
                "activity": None
                if self._activity is None
                else {
                    **self._activity,
                    "seconds": round(time.time() - self._activity["since"], 1),
                },
                "problems": self._problems,
                "problems_are": self._problems_are,
                "stale": bool(self._problems) and run is not None,
                "samplings": self._samplings,
                "run": None
                if run is None
                else {
                    "number": run.number,
                    "title": run.summary["title"],
                    "question": run.summary["question"],
                    "finished": run.finished,
                    "sampling_seconds": run.summary["sampler"]["seconds"],
                    "input_sha256": run.summary["input_sha256"],
                    "warnings": list(run.summary["diagnostics"]["warnings"]),
                    "sensitivity": "ready" if run.complete else "computing",
                    "report": self._report_run,
                },
                "changes": self._changes,
            }

    def snapshot_json(self) -> bytes:
        return json.dumps(self.snapshot(), ensure_ascii=False, allow_nan=False).encode("utf-8")
