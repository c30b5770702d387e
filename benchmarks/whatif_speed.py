"""What a what-if costs on the flagship, in one process with its model compiled: a 20-point
sweep of one prior against one plain run, and the sensitivity section against the rest of a run.
The model's faster sampler is compiled first, as a worker or a watch has it once idle.

Rows (wall-clock seconds, medians; the machines here are shared, so read medians and ratios):

- one plain run: `compute_summary` of the file, sensitivity section included;
- a 20-point sweep of `outcomes.summit_held.prior.interval[0]` from 0.4 to 0.8: every point
  validated, the file sampled once, each point reweighted or sampled again (`plan_sweep` and
  `compute_sweep`; the pages are not drawn, as a run's are not). Target: at most 3 runs;
- `forecast.sensitivity.summarize_sensitivity` within a run, against the rest of that run.
  Target: at most 30% added.

Usage: python benchmarks/whatif_speed.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = ROOT / "scenarios" / "singapore-summit-2018.yaml"
SWEEP = "outcomes.summit_held.prior.interval[0]=0.4:0.8:20"
SWEEP_TARGET = 3.0  # times one run
SENSITIVITY_TARGET = 0.30  # of the rest of a run


class Stopwatch:
    """Wraps summarize_sensitivity so that a run says how long its sensitivity section took."""

    def __init__(self):
        from forecast import sensitivity

        self.module, self.original = sensitivity, sensitivity.summarize_sensitivity
        self.seconds = 0.0

    def __enter__(self):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.seconds = time.perf_counter() - start

        # compute_summary imports it when it runs, so the module's attribute is what it calls.
        self.module.summarize_sensitivity = timed
        return self

    def __exit__(self, *exc):
        self.module.summarize_sensitivity = self.original
        return False


def plain_run(scenario) -> tuple[float, float]:
    """Seconds of one compute_summary, and of its sensitivity section."""
    from forecast.pipeline import RunOptions, compute_summary

    with Stopwatch() as watch:
        start = time.perf_counter()
        compute_summary(scenario, RunOptions())
        return time.perf_counter() - start, watch.seconds


def sweep(scenario) -> tuple[float, dict]:
    """Seconds of the 20-point sweep, and its document (for how its points were computed)."""
    from forecast.pipeline import RunOptions, settings_for
    from forecast.sweep import compute_sweep, plan_sweep, read_vary_options

    start = time.perf_counter()
    plan = plan_sweep(scenario, read_vary_options([SWEEP]))
    document = compute_sweep(plan, settings_for(scenario, RunOptions()))
    return time.perf_counter() - start, document


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("FORECAST_NO_WORKER", "1")
    from forecast import compiled
    from forecast.spec import load_scenario

    scenario = load_scenario(FLAGSHIP)
    start = time.perf_counter()
    plain_run(scenario)  # compiles the model and builds its log density
    # The faster sampler, as a worker or a watch compiles it once idle after a first run.
    print(f"idle: {compiled.upgrade_one()}", flush=True)
    sweep(scenario)
    print(f"warm-up (compiling included): {time.perf_counter() - start:.1f} s")
    runs, sensitivity, sweeps, documents = [], [], [], []
    for _ in range(args.repeats):
        seconds, section = plain_run(scenario)
        runs.append(seconds)
        sensitivity.append(section)
        seconds, document = sweep(scenario)
        sweeps.append(seconds)
        documents.append(document)

    run = statistics.median(runs)
    swept = statistics.median(sweeps)
    section = statistics.median(sensitivity)
    rest = statistics.median(r - s for r, s in zip(runs, sensitivity, strict=True))
    last = documents[-1]
    methods = [point["method"] for point in last["points"]]
    parts = last["seconds"]

    def listed(values):
        return ", ".join(f"{v:.1f}" for v in values)

    print(f"{'':52} {'seconds':>8} {'ratio':>7} {'target':>7}")
    print(f"{'one plain run (compute_summary)':52} {run:8.2f} {'':7} {'':7}   {listed(runs)}")
    mark = "met" if swept <= SWEEP_TARGET * run else "MISSED"
    print(
        f"{'20-point sweep of one prior':52} {swept:8.2f} {swept / run:6.2f}x "
        f"{SWEEP_TARGET:6.1f}x   {listed(sweeps)}  {mark}"
    )
    print(f"{'  against a run without its sensitivity section':52} {'':8} {swept / rest:6.2f}x")
    print(
        f"{'':52} sampling {parts['sampling']:.1f} s, reweighting {parts['reweighting']:.1f} s, "
        f"sampling again {parts['resampling']:.1f} s; {methods.count('reweighted')} points "
        f"reweighted, {methods.count('resampled')} sampled again"
    )
    mark = "met" if section <= SENSITIVITY_TARGET * rest else "MISSED"
    print(f"{'a run without its sensitivity section':52} {rest:8.2f}")
    print(
        f"{'the sensitivity section (summarize_sensitivity)':52} {section:8.2f} "
        f"{section / rest:6.0%}  {SENSITIVITY_TARGET:6.0%}    {listed(sensitivity)}  {mark}"
    )


if __name__ == "__main__":
    main()
