"""`forecast run` on the flagship against a bare hand-written PyMC script, side by side.

Both sample the same model (checked first: their log densities agree at random points) with the
same draws, tuning steps, chains, seed and sampler. `forecast run` also samples the prior, computes
every summary and Monte Carlo world, and writes summary.json, posterior.nc and both reports. Each
is run once untimed to fill PyTensor's compile cache, then REPEATS times alternately; the medians
and their ratio are printed. Wall time is what the analyst waits. CPU time is not reported: both
sample their chains in worker processes whose CPU time the parent cannot see reliably.

Usage: python benchmarks/run_vs_bare.py [--repeats 3] [--formats json,html,pdf]
Target: forecast run within 1.5x the bare script.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = ROOT / "scenarios" / "singapore-summit-2018.yaml"
TARGET = 1.5


def check_same_model() -> float:
    """Largest difference of the two models' log densities over random points."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bare_flagship import model as bare_model

    from forecast.model import build_model
    from forecast.spec import load_scenario

    ours, bare = build_model(load_scenario(FLAGSHIP)), bare_model()
    ours_logp, bare_logp = ours.compile_logp(), bare.compile_logp()
    start = ours.initial_point()
    if set(start) != set(bare.initial_point()):
        raise SystemExit(
            f"the models' parameters differ: {sorted(start)} vs {sorted(bare.initial_point())}"
        )
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(20):
        point = {k: v + rng.normal(0, 0.5, np.shape(v)) for k, v in start.items()}
        worst = max(worst, abs(float(ours_logp(point)) - float(bare_logp(point))))
    return worst


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--formats", default="json,html,pdf")
    args = parser.parse_args()

    from forecast.inference import cores_for, target_accept
    from forecast.pipeline import RunOptions, settings_for
    from forecast.spec import load_scenario

    scenario = load_scenario(FLAGSHIP)
    settings = settings_for(scenario, RunOptions())
    print(f"model check: largest log-density difference {check_same_model():.2e}")
    print(
        f"settings: {settings.chains} chains x {settings.draws} draws, {settings.tune} tuning "
        f"steps, seed {settings.seed}, PyMC NUTS, chains on {cores_for(settings)} of "
        f"{os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory() as out:
        ours = [
            sys.executable,
            "-m",
            "forecast",
            "run",
            str(FLAGSHIP),
            "--out",
            out,
            "--quiet",
            "--format",
            args.formats,
        ]
        bare = [
            sys.executable,
            str(ROOT / "benchmarks" / "bare_flagship.py"),
            "--draws",
            str(settings.draws),
            "--tune",
            str(settings.tune),
            "--chains",
            str(settings.chains),
            "--seed",
            str(settings.seed),
            "--target-accept",
            str(target_accept(scenario)),
        ]
        timed(ours), timed(bare)  # warm PyTensor's compile cache
        results = {"forecast run": [], "bare PyMC": []}
        for _ in range(args.repeats):
            results["forecast run"].append(timed(ours))
            results["bare PyMC"].append(timed(bare))
    medians = {name: statistics.median(runs) for name, runs in results.items()}
    print(f"{'':14} {'wall s (median)':>16}   runs")
    for name, median in medians.items():
        print(f"{name:14} {median:16.1f}   {', '.join(f'{w:.1f}' for w in results[name])}")
    ratio = medians["forecast run"] / medians["bare PyMC"]
    verdict = "within" if ratio <= TARGET else "OVER"
    print(f"ratio: {ratio:.2f}x ({verdict} the {TARGET}x target)")


if __name__ == "__main__":
    main()
