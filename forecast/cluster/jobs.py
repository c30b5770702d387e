"""The layer itself: `Jobs` runs a list of `Job`s here or on a Dask cluster and hands back each
one's result or error, in the order given. Imports Dask only when a cluster is used."""

from __future__ import annotations

import functools
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from forecast.cluster.progress import Progress
from forecast.command_options import SCHEDULER_VARIABLE
from forecast.errors import RunError

# How long to wait for an existing scheduler to answer before saying it cannot be reached.
CONNECT_TIMEOUT = 10.0
# How often the progress bar asks the scheduler how many jobs are running.
POLL_SECONDS = 0.25


@dataclass(frozen=True)
class Job:
    """One sampling to do: `function(*arguments)`, on a cluster's worker or here. For a
    cluster, a module-level function of plain, picklable data that returns plain data."""

    name: str  # how messages name it: a file, a variant, a grid point
    function: Callable
    arguments: tuple


@dataclass
class Finished:
    """A job's result, or the error it raised (an exception of its own, not a worker's death)."""

    job: Job
    result: object = None
    error: BaseException | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Jobs:
    """Where jobs run: on the cluster at `scheduler`, else here, one after another.

    Here is the default whatever the number of jobs: on 2 cores a local cluster of two worker
    processes saved a tenth to a third of a 40-job batch, varying with the machine's other load,
    and once took half again as long (benchmarks/cluster_speed.py, docs/cluster.md), while each
    of its workers compiles every structure again where this process, or `forecast run`'s warm
    worker, has them compiled already.

    Use as a context manager: a cluster's client is closed at the end.
    """

    scheduler: str | None = None
    progress: bool = False  # a progress bar on stderr (a terminal, and not --quiet)
    quiet: bool = False  # not even the dashboard's address
    label: str = "runs"
    say: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr))
    client: object = field(default=None, init=False)

    def __post_init__(self):
        self.scheduler = self.scheduler or None  # an empty FORECAST_SCHEDULER means here

    @property
    def here(self) -> bool:
        """Whether the jobs run in this process (else on a cluster's workers)."""
        return self.scheduler is None

    def __enter__(self) -> Jobs:
        if self.scheduler is not None:
            self.client = _connect(self.scheduler)
            dashboard = _dashboard(self.client)
            if dashboard and not self.quiet:
                self.say(f"dask dashboard: {dashboard}")
        return self

    def __exit__(self, *exc) -> bool:
        if self.client is not None:
            self.client.close()
            self.client = None
        return False

    def run(
        self, jobs: Sequence[Job], on_finished: Callable[[Finished], None] | None = None
    ) -> list[Finished]:
        """Run every job; returns each one's `Finished`, in the order of `jobs`.

        `on_finished` is called in this process as each job finishes, in the order they finish
        (a command writes each run's folder there). KeyboardInterrupt cancels the jobs not yet
        finished and is raised again.
        """
        bar = Progress(len(jobs), label=self.label, enabled=self.progress and len(jobs) > 1)
        try:
            if self.client is None:
                return self._run_here(jobs, on_finished, bar)
            return self._run_on_cluster(jobs, on_finished, bar)
        finally:
            bar.close()

    def _run_here(self, jobs, on_finished, bar) -> list[Finished]:
        finished = []
        for job in jobs:
            bar.show(running=1)
            start = time.perf_counter()
            try:
                done = Finished(job, result=job.function(*job.arguments))
            except Exception as error:  # the job's own failure: the others still run
                done = Finished(job, error=error)
            done.seconds = time.perf_counter() - start
            _finish(done, on_finished, bar)
            finished.append(done)
        return finished

    def _run_on_cluster(self, jobs, on_finished, bar) -> list[Finished]:
        from distributed import as_completed

        client = self.client
        batch = uuid.uuid4().hex[:8]
        expected = versions()
        futures = {}
        for number, job in enumerate(jobs):
            key = f"forecast-{_slug(job.name)}-{batch}-{number}"
            future = client.submit(
                on_worker, expected, job.function, *job.arguments, key=key, pure=False
            )
            futures[future] = number
        results: list[Finished | None] = [None] * len(jobs)
        pending = as_completed(list(futures), loop=client.loop)
        try:
            while not pending.is_empty():
                ready = pending.next_batch(block=not bar.enabled)
                for future in ready:
                    number = futures.pop(future)
                    done = _collect(jobs[number], future)
                    future.release()  # the draws are here now; free the cluster's memory
                    _finish(done, on_finished, bar)
                    results[number] = done
                if bar.enabled:
                    bar.show(running=_running(client, futures))
                    if not ready:
                        time.sleep(POLL_SECONDS)
        except BaseException:
            # Ctrl-C (or a failure writing a result): nothing more is to run for this command.
            client.cancel(list(futures), force=True)
            raise
        return results


def _finish(done: Finished, on_finished, bar) -> None:
    if on_finished is not None and done.ok:
        try:
            on_finished(done)
        except Exception as error:  # writing it failed: that job failed, the others go on
            done.error, done.result = error, None
    bar.advance(failed=not done.ok)


def _collect(job: Job, future) -> Finished:
    if future.status == "finished":
        result, seconds = future.result()
        return Finished(job, result=result, seconds=seconds)
    if future.status == "cancelled":
        return Finished(job, error=RunError("the cluster cancelled the job"))
    error = future.exception()
    if type(error).__name__ == "KilledWorker":
        error = RunError(
            "every worker that took this job died (Dask gives up after a few); see the "
            "workers' logs, which often say they ran out of memory"
        )
    return Finished(job, error=error)


def _running(client, futures: dict) -> int:
    """How many of the jobs still to finish are running now: one per worker that holds any,
    since a worker runs one at a time (`on_worker`) and holds the next ones in a queue."""
    try:
        processing = client.processing()
    except Exception:  # only the progress bar needs it
        return 0
    keys = {future.key for future in futures}
    return sum(1 for tasks in processing.values() if any(key in keys for key in tasks))


def _slug(name: str) -> str:
    """A job's name as a Dask key's word: the file's stem and the variant, such as
    alpha_doubter (Dask's dashboard groups keys by what comes before their hyphens)."""
    return re.sub(r"\W+", "_", PurePath(name).name.replace(".yaml", "")).strip("_")[:60]


# -- on a worker ----------------------------------------------------------------------------------

# A worker process runs one job at a time whatever its thread count: a kept compiled model holds
# the data of the run it serves (`forecast.compiled`), and sampling already uses every core.
_one_at_a_time = threading.Lock()


def on_worker(expected: dict, function: Callable, *arguments):
    """Run one job in a cluster's worker and return (result, seconds).

    Refused when the worker's versions of forecast and its numerical libraries differ from the
    command's: other versions can give other numbers.
    """
    mine = versions()
    if mine != expected:
        differ = [
            f"{name} {mine.get(name)} (the command has {expected.get(name)})"
            for name in sorted(set(mine) | set(expected))
            if mine.get(name) != expected.get(name)
        ]
        raise RunError(
            "this worker has other versions than the command: "
            + ", ".join(differ)
            + "; install the same versions on the cluster's workers"
        )
    with _one_at_a_time:
        start = time.perf_counter()
        result = function(*arguments)
        return result, time.perf_counter() - start


@functools.cache
def versions() -> dict:
    """What the numbers depend on beyond the inputs: forecast's and its libraries' versions."""
    from forecast.pipeline import versions as run_versions

    return run_versions()


# -- connecting -----------------------------------------------------------------------------------


def _connect(address: str):
    """A client of the scheduler at `address`, or a RunError that says how to get one."""
    import logging

    from distributed import Client

    # The client logs its own connection attempts at INFO; the error below says it all.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise RunError(
            f"cannot reach the Dask scheduler at {address} ({type(error).__name__}: {error}); "
            "start one with `dask scheduler` and workers with `dask worker ADDRESS`, or leave "
            f"out --scheduler and {SCHEDULER_VARIABLE} to run here"
        ) from None


def _dashboard(client) -> str | None:
    """The cluster's dashboard address, if its scheduler serves one (it needs bokeh)."""
    try:
        info = client.scheduler_info()
        if "dashboard" not in info.get("services", {}):
            return None
        return client.dashboard_link
    except Exception:  # a dashboard is a convenience, never a reason to fail
        return None
