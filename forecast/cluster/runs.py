"""`forecast run` of several scenarios through the jobs layer: each run computed where the jobs
run, each folder written here."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from forecast.cluster.jobs import Finished, Job, Jobs


def compute_run(scenario, options) -> tuple[dict, object]:
    """A run as a worker computes it: the summary and the draws, nothing written. `options`
    as `for_worker` leaves them."""
    from forecast.pipeline import compute_summary

    return compute_summary(scenario, options)


def for_worker(options):
    """Run options without a progress bar or callbacks: those belong to the command's process,
    and a worker gets plain data."""
    callbacks = {
        field.name: None
        for field in dataclasses.fields(options)
        if callable(getattr(options, field.name))
    }
    return dataclasses.replace(options, progress=False, **callbacks)


def run_scenarios(
    scenarios: Sequence,
    out_dir: Path,
    options,
    jobs: Jobs,
    *,
    run_here: Callable,
    name: Callable[[object], str],
    on_written: Callable[[object], None] | None = None,
) -> list[Finished]:
    """Run every scenario and write its folder; each `Finished` holds a `pipeline.RunResult`
    or the run's error, in the order of `scenarios`.

    Here, `run_here(scenario, out_dir, options)` computes and writes (in this process, or in
    the warm worker); on a cluster the workers compute and this process writes, each folder as
    soon as its run comes back, atomically (`pipeline.write_run`).
    """
    from forecast.pipeline import write_run

    def written(done: Finished) -> None:
        if on_written is not None:
            on_written(done.result)

    if jobs.here:
        batch = [Job(name(s), run_here, (s, out_dir, options)) for s in scenarios]
        return jobs.run(batch, on_finished=written)

    def write(done: Finished) -> None:
        scenario = done.job.arguments[0]
        summary, tree = done.result
        done.result = write_run(scenario, summary, tree, out_dir, options)
        written(done)

    plain = for_worker(options)
    batch = [Job(name(s), compute_run, (s, plain)) for s in scenarios]
    return jobs.run(batch, on_finished=write)
