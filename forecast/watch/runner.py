"""The run thread of a watch: validate the file as saved, sample it, write its folder.

One sampling at a time. A save that arrives during a run only marks the file as changed; when
the run ends the file is read again, so a burst of saves costs at most the run going on and one
more, of the latest text. A file that validates to the same bytes as the last good run is not
sampled again. Compiled models stay in this process (forecast.compiled keeps them by
structure), so a changed prior costs a sampling, not a compile; between runs, this thread
compiles the faster sampler for the structure that has run, and a save meanwhile waits for it.

The page is told twice: when the run's numbers are known (`numbers_ready`, before each evidence
item's influence and the sensitivity analysis, which can take longer than the sampling), and
when the summary is complete.
A save during the sensitivity analysis waits for it: that analysis samples the same compiled
model again, so the next sampling cannot start before it ends.

The run's folder is written by `forecast.pipeline.run_scenario` (JSON and HTML), as `forecast
run --format json,html` writes it, complete: staged, then swapped in. `folder_lock` is held from
the moment the complete summary is ready until the folder is in place, and while a PDF is
rendered, so that stopping can wait for a write in progress rather than leave half of one.
"""

from __future__ import annotations

import json
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from forecast.errors import ForecastError, Problem, ScenarioError
from forecast.watch.changes import compute_changes, compute_rows
from forecast.watch.state import GoodRun, LiveState

# How long stopping waits for a folder being written (a PDF takes longest) before giving up.
STOP_WAIT = 60.0


class Stopped(Exception):
    """The watch is stopping: the run in progress ends without writing anything."""


# echo(message, is_error): where the terminal lines of a run go.
Echo = Callable[[str, bool], None]


class Runner:
    """Samples the watched file in a background thread whenever `request` is called."""

    def __init__(
        self,
        file: Path,
        out_dir: Path,
        state: LiveState,
        *,
        command: str,
        paper: str = "a4",
        echo: Echo | None = None,
    ) -> None:
        self.file, self.out_dir, self.state = file, out_dir, state
        self.command, self.paper = command, paper
        self.echo: Echo = echo or (lambda message, is_error: None)
        self.folder_lock = threading.Lock()
        self._wanted = threading.Event()
        self._stopping = False
        self._busy = False
        self._last_good: GoodRun | None = None
        self._structure: str | None = None
        self._run_dir: Path | None = None  # the folder of the last run written
        self._changes: dict = {}  # the changes shown with the run being summarised
        self._written_run: int | None = None
        self._pdf_run: int | None = None
        self._thread = threading.Thread(target=self._loop, name="forecast-watch-run", daemon=True)

    def start(self) -> None:
        """Start the run thread and run the file once."""
        self._thread.start()
        self.request()

    def request(self) -> None:
        """The file was saved: run it once the current run, if any, is over."""
        self._wanted.set()

    @property
    def busy(self) -> bool:
        """Whether a sampling, or a compile between runs, is going on."""
        return self._busy

    def stop(self) -> bool:
        """End the run thread; wait for a folder being written, never leave half of one.

        Returns whether a sampling, or a compile between runs, was still going on (it is
        abandoned: nothing of it is written; the caller should end the process rather than wait
        for it).
        """
        self._stopping = True
        self._wanted.set()
        if self.folder_lock.acquire(timeout=STOP_WAIT):
            # Any write that starts from now on sees `_stopping` under the lock and gives up.
            self.folder_lock.release()
        if self._thread.ident is None:  # never started
            return False
        self._thread.join(timeout=0.5)
        return self._thread.is_alive() and self._busy

    @property
    def run_dir(self) -> Path | None:
        """The folder of the last run written, None before the first."""
        return self._run_dir

    def render_pdf(self) -> bytes | None:
        """report.pdf of the last run written, drawn now unless already drawn for that run;
        None before the first run. Written into the run's folder, as `forecast report` would."""
        from forecast.pipeline import redraw_reports

        with self.folder_lock:
            if self._stopping:
                raise Stopped
            if self._run_dir is None:
                return None
            path = self._run_dir / "report.pdf"
            if self._pdf_run != self._written_run or not path.is_file():
                redraw_reports(self._run_dir, formats={"pdf"}, paper=self.paper)
                self._pdf_run = self._written_run
            return path.read_bytes()

    # -- the run thread ----------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            while not self._wanted.is_set() and self._upgrade():
                pass
            self._wanted.wait()
            if self._stopping:
                return
            self._wanted.clear()
            try:
                self._run_once()
            except Stopped:
                return
            except Exception as error:  # a bug, not the user's doing: say so and keep watching
                if os.environ.get("FORECAST_DEBUG"):
                    traceback.print_exc()
                line = (
                    f"internal error: {type(error).__name__}: {error} (set FORECAST_DEBUG=1 to "
                    "see where; please report it with the scenario file)"
                )
                self.state.invalid([line], failed=True)
                self.echo(line, True)
            finally:
                self._busy = False

    def _upgrade(self) -> bool:
        """Between runs, compile the faster sampler for a structure that has run
        (`forecast.compiled.upgrade_one`); a save meanwhile waits for it. Whether one was."""
        from forecast import compiled

        if self._stopping or not compiled.upgrade_waits():
            return False
        self.state.compiling("Compiling a faster sampler for this model; a save waits for it")
        started = time.monotonic()
        self._busy = True  # stopping then ends the process rather than wait for the compile
        try:
            said = compiled.upgrade_one()
        finally:
            self._busy = False
            self.state.idle()
        if said is not None:
            seconds = time.monotonic() - started
            self.echo(f"{time.strftime('%H:%M:%S')} {said} ({seconds:.1f} s in all)", False)
        return said is not None

    def _run_once(self) -> None:
        from forecast.pipeline import RunOptions, run_scenario
        from forecast.spec import parse_scenario

        name = str(self.file)
        try:
            # Read now, not when the save was seen: the latest text wins.
            raw = self.file.read_bytes()
            scenario = parse_scenario(raw, name)
        except OSError as error:
            problem = Problem(name, 1, 1, (), f"cannot read the file: {error.strerror or error}")
            self._show_problems([str(problem)])
            return
        except ScenarioError as error:
            self._show_problems([str(problem) for problem in error.problems])
            return
        last = self._last_good
        if last is not None and last.summary["input_sha256"] == scenario.sha256:
            # Saved again unchanged, or put back as it was at the last good run.
            self.state.valid()
            return
        self.state.valid()
        self._busy = True
        number = self.state.sampling(self._activity(scenario))
        started = time.monotonic()
        held, shown = [], []

        def numbers_ready(summary: dict) -> None:
            if self._stopping:
                raise Stopped
            shown.append(self._show_numbers(number, summary, scenario.text))

        def summarised(summary: dict) -> None:
            self.folder_lock.acquire()
            held.append(True)
            if self._stopping:
                raise Stopped
            shown.append(self._show_complete(shown[-1], summary))

        options = RunOptions(
            formats=frozenset({"json", "html"}),
            paper=self.paper,
            command=self.command,
            cancelled=lambda: self._stopping,
            summarised=summarised,
            numbers_ready=numbers_ready,
        )
        try:
            result = run_scenario(scenario, self.out_dir, options)
        except KeyboardInterrupt:  # cancelled just before the swap: the watch is stopping
            raise Stopped from None
        except ForecastError as error:
            self.state.invalid([f"error: {error}"], failed=True)
            self.echo(f"error: {error}", True)
            return
        finally:
            if held:
                self.folder_lock.release()
        self._last_good = shown[-1]
        self._run_dir, self._written_run = result.run_dir, number
        self.state.report_written(number)
        self.state.idle()
        seconds = time.monotonic() - started
        self.echo(f"{time.strftime('%H:%M:%S')} run {number} of {name}: {seconds:.1f} s", False)
        for warning in result.warnings:
            self.echo(f"warning: {name}: {warning}", True)

    def _activity(self, scenario) -> str:
        """What the page says while sampling: a compile takes far longer than a sampling."""
        from forecast.model import structure_key

        structure = structure_key(scenario)
        previous, self._structure = self._structure, structure
        if previous is None:
            return "Compiling the model and sampling (the first run takes longest)"
        if previous != structure:
            return "The model's structure changed: compiling it, then sampling"
        return "Sampling"

    def _show_numbers(self, number: int, summary: dict, text: str) -> GoodRun:
        """The run's numbers, without the sensitivity block: shown beside the last good run's."""
        run = GoodRun(
            number=number,
            summary=summary,
            summary_json=summary_bytes(summary),
            scenario_text=text,
            finished=time.time(),
        )
        previous = self._last_good
        if previous is None:
            self._changes = compute_rows(summary)
        else:
            self._changes = compute_changes(previous.summary, previous.scenario_text, summary, text)
        self.state.numbers(run, self._changes)
        return run

    def _show_complete(self, numbers: GoodRun, summary: dict) -> GoodRun:
        """The same run with its complete summary; the numbers, and so the changes, are as
        shown."""
        run = replace(numbers, summary=summary, summary_json=summary_bytes(summary))
        self.state.summarised(run, self._changes)
        return run

    def _show_problems(self, lines: list[str]) -> None:
        self.state.invalid(lines)
        for line in lines:
            self.echo(line, True)
        count = len(lines)
        self.echo(f"{count} problem{'s' if count != 1 else ''} found.", True)


def summary_bytes(summary: dict) -> bytes:
    """summary.json as `forecast run` writes it."""
    text = json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return text.encode("utf-8")
