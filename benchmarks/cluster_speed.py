"""A batch of about 40 samplings, three ways: one after another in one process; through the jobs
layer's default (forecast.cluster.Jobs() without a scheduler: here, one after another); and on a
local Dask cluster of two worker processes reached by its address (the --scheduler path).

The batch: every example file in scenarios/ and scenarios/backtest/ with its variants (full runs
with the sensitivity analysis, each written to a run folder as `forecast run` writes it), and a
sweep of Greece's bailout prior over 31 values, every point sampled again (a sweep's worst case).
Each way runs in a fresh process, so each compiles what it needs once per process: the cluster's
two workers compile each structure once each.

Printed (wall-clock seconds; the machine is shared, so read medians and ratios): the batch's
total, the median job, the ratio to one process, and the per-job overhead of going through Dask,
measured with jobs that do nothing (a round trip client -> scheduler -> worker -> client, one
at a time and in a batch of 200).

Usage: python benchmarks/cluster_speed.py [--draws N] [--points N] [--workers 2] [--ways A,B]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SWEEP_FILE = ROOT / "scenarios" / "greece-after-referendum-2015.yaml"
SWEEP_PATH = "outcomes.bailout_agreed.prior.interval[0]"
WAYS = {
    "one process": "one after another in one process, without the layer",
    "default": "through the layer's default, Jobs() (here, one after another)",
    "local cluster": "a local Dask cluster of worker processes, by its address (--scheduler)",
}


def batch(draws: int | None, points: int) -> list:
    """The jobs, in the order a command would submit them."""
    from forecast.cluster import Job
    from forecast.cluster.runs import compute_run
    from forecast.pipeline import RunOptions, settings_for
    from forecast.spec import load_scenario, load_what_if
    from forecast.spec.overrides import choose_variants
    from forecast.sweep import plan_sweep, read_vary_options, resample_point, resample_settings

    files = sorted((ROOT / "scenarios").glob("*.yaml")) + sorted(
        (ROOT / "scenarios" / "backtest").glob("*.yaml")
    )
    options = RunOptions(draws=draws, formats=frozenset({"json"}), command="cluster_speed")
    jobs = []
    for file in files:
        if file.name.endswith(".resolutions.yaml"):
            continue
        scenario = load_scenario(file)
        runs = [scenario, *(load_what_if(scenario, v) for v in choose_variants(scenario, []))]
        jobs += [Job(run.run_name, compute_run, (run, options)) for run in runs]
    base = load_scenario(SWEEP_FILE)
    plan = plan_sweep(base, read_vary_options([f"{SWEEP_PATH}=0.05:0.8:{points}"]))
    again = resample_settings(settings_for(base, options))
    jobs += [Job(f"sweep {p.values[0]}", resample_point, (p.scenario, again)) for p in plan.points]
    return jobs


def measure(way: str, draws: int | None, points: int, workers: int, out: Path) -> dict:
    """One way, in this process: seconds of the batch, of each job, and of Dask's round trip."""
    from forecast.cluster import Jobs
    from forecast.pipeline import write_run

    jobs = batch(draws, points)
    result: dict = {"jobs": len(jobs)}

    def write(done) -> None:
        if isinstance(done.result, tuple):  # a run: written here, as `forecast run` does
            summary, tree = done.result
            write_run(done.job.arguments[0], summary, tree, out, done.job.arguments[1])

    cluster = None
    if way == "local cluster":
        import dask
        from distributed import LocalCluster

        start = time.perf_counter()
        # Workers that may start processes of their own (PyMC's parallel chains).
        dask.config.set({"distributed.worker.daemon": False})
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        )
        result["cluster_start"] = time.perf_counter() - start
    try:
        address = cluster.scheduler_address if cluster is not None else None
        start = time.perf_counter()
        if way == "one process":
            seconds = []
            for job in jobs:
                clock = time.perf_counter()
                value = job.function(*job.arguments)
                if isinstance(value, tuple):
                    write_run(job.arguments[0], *value, out, job.arguments[1])
                seconds.append(time.perf_counter() - clock)
            failed = 0
        else:
            with Jobs(address) as layer:
                finished = layer.run(jobs, on_finished=write)
            seconds = [done.seconds for done in finished]
            failed = sum(not done.ok for done in finished)
        result.update(total=time.perf_counter() - start, seconds=seconds, failed=failed)
        if cluster is not None:
            result.update(round_trip(address))
    finally:
        if cluster is not None:
            cluster.close()
    return result


def nothing() -> None:
    """A job that does nothing: what is left of its time is Dask's."""


def round_trip(address: str) -> dict:
    from forecast.cluster import Job, Jobs

    with Jobs(address) as layer:
        layer.run([Job("warm", nothing, ())])
        single = []
        for _ in range(20):
            start = time.perf_counter()
            layer.run([Job("one", nothing, ())])
            single.append(time.perf_counter() - start)
        start = time.perf_counter()
        layer.run([Job(f"many {i}", nothing, ()) for i in range(200)])
        many = (time.perf_counter() - start) / 200
    return {"round_trip_one": statistics.median(single), "round_trip_batch": many}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=None, help="draws per chain [the files']")
    parser.add_argument("--points", type=int, default=31, help="sweep points sampled again")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--ways", default=",".join(WAYS), help=f"which, separated by commas: {', '.join(WAYS)}"
    )
    parser.add_argument("--way", choices=list(WAYS), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.way:  # one way, in a fresh process: print its figures as JSON
        with tempfile.TemporaryDirectory() as out:
            figures = measure(
                arguments.way, arguments.draws, arguments.points, arguments.workers, Path(out)
            )
        print(json.dumps(figures))
        return
    results = {}
    for way in arguments.ways.split(","):
        command = [sys.executable, __file__, "--way", way, "--points", str(arguments.points)]
        command += ["--workers", str(arguments.workers)]
        if arguments.draws:
            command += ["--draws", str(arguments.draws)]
        print(f"{way}: {WAYS[way]} ...", file=sys.stderr, flush=True)
        output = subprocess.run(
            command, check=True, cwd=ROOT, capture_output=True, text=True, env=dict(os.environ)
        ).stdout
        results[way] = json.loads(output.strip().splitlines()[-1])
    report(results, arguments.workers)


def report(results: dict, workers: int) -> None:
    first = next(iter(results.values()))
    base, jobs = first["total"], first["jobs"]
    print(f"\n{jobs} jobs; wall-clock seconds (medians of the jobs' own times)\n")
    print(f"{'':<28}{'batch':>9}{'median job':>12}{'÷ first':>15}{'failed':>8}")
    for way, figures in results.items():
        label = way if way != "local cluster" else f"local cluster, {workers} workers"
        print(
            f"{label:<28}{figures['total']:>9.1f}{statistics.median(figures['seconds']):>12.2f}"
            f"{base / figures['total']:>14.2f}x{figures['failed']:>8}"
        )
    cluster = results.get("local cluster")
    if cluster is None:
        return
    print(f"\nstarting the local cluster: {cluster['cluster_start']:.1f} s (not in its batch)")
    print(
        f"Dask's per-job overhead (a job that does nothing): {cluster['round_trip_one'] * 1e3:.1f}"
        f" ms one at a time, {cluster['round_trip_batch'] * 1e3:.2f} ms each in a batch of 200"
    )
    on_workers = sum(cluster["seconds"])
    print(
        f"jobs' own time on the workers: {on_workers:.1f} s over {workers} workers, against a "
        f"batch of {cluster['total']:.1f} s"
    )


if __name__ == "__main__":
    main()
