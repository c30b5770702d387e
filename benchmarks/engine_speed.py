"""How long an analyst waits, on the flagship: each figure beside the one before the engine kept
compiled models, and beside the bare hand-written PyMC script.

Rows (wall-clock seconds, medians; the machines here are shared, so read medians and ratios):

- a second run in one process after a prior change (what variants, sweeps, refits and a watch
  loop pay): to its numbers (outcomes, scenarios, worlds, diagnostics: what a watch shows
  first), and to the whole summary (with each evidence item's influence and the sensitivity
  analysis);
- a fresh `forecast run --format json`, and with all formats, the worker warm;
- a fresh `forecast run --format json` after a structural change (nothing compiled for it yet);
  the worker then compiles the faster sampler for it while idle, and the benchmark waits for
  that before the next row, as an analyst reading the report would;
- a fresh `forecast run --format json --no-worker` (everything in the command's own process);
- `forecast validate scenarios/*.yaml`;
- the bare PyMC script of the same model (`bare_flagship.py`), the anchor.

The worker and its cache live in a temporary folder (FORECAST_CACHE_DIR), stopped at the end.
"Warm" means as a worker stands once idle after a run of the structure: the faster sampler
compiled (`forecast.compiled.upgrade_one`).

Usage: python benchmarks/engine_speed.py [--repeats 5] [--slow-repeats 3]
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

ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = ROOT / "scenarios" / "singapore-summit-2018.yaml"

# Measured on this 2-core machine before compiled models were kept (PyMC's NUTS, compiled in
# every run): the figures the targets were set against.
BEFORE = {
    "second run in one process, to the numbers": 37.0,
    "second run in one process, whole summary": 37.0,
    "fresh run --format json (worker warm)": 37.0,
    "fresh run, all formats (worker warm)": 42.0,
    "fresh run --format json, new structure": 37.0,
    "fresh run --format json --no-worker": 37.0,
    "validate scenarios/*.yaml": 1.4,
    "bare PyMC script": 32.0,
}
TARGETS = {
    "second run in one process, to the numbers": 2.0,
    "second run in one process, whole summary": 2.0,
    "fresh run --format json (worker warm)": 8.0,
    "fresh run, all formats (worker warm)": 12.0,
    "fresh run --format json, new structure": 30.0,
    "validate scenarios/*.yaml": 0.5,
}


def check_same_model() -> float:
    """Largest difference of our model's and the bare script's log densities at random points."""
    import numpy as np

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


def timed(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def upgraded_in_worker(cache: Path, count: int, timeout: float = 600.0) -> None:
    """Wait until the worker's log says it has compiled the faster sampler `count` times."""
    log = cache / "worker" / "log"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8") if log.exists() else ""
        if text.count("nutpie's numba backend") >= count:
            return
        time.sleep(0.5)
    raise SystemExit(f"the worker did not compile the faster sampler within {timeout:g} s")


def second_run_in_process(repeats: int) -> tuple[list[float], list[float]]:
    """compute_summary after a prior change, the model compiled by a first run and the faster
    sampler compiled while idle, as in the worker or a watch: the seconds to its numbers (the
    `numbers_ready` callback) and to its end."""
    from forecast import compiled
    from forecast.pipeline import RunOptions, compute_summary
    from forecast.spec import parse_scenario

    text = FLAGSHIP.read_text(encoding="utf-8")
    numbers_at: list[float] = []
    options = RunOptions(numbers_ready=lambda _: numbers_at.append(time.perf_counter()))
    compute_summary(parse_scenario(text.encode(), str(FLAGSHIP)), options)
    print(f"idle: {compiled.upgrade_one()}", flush=True)
    to_numbers, whole = [], []
    for index in range(repeats):
        # The prior of the summit, nudged each time: same structure, other numbers.
        old = "prior: {interval: [0.6, 0.95]}"
        changed = text.replace(old, f"prior: {{interval: [{0.5 + 0.02 * index:.2f}, 0.95]}}", 1)
        if changed == text:
            raise SystemExit(f"the flagship no longer has '{old}' to change")
        scenario = parse_scenario(changed.encode(), str(FLAGSHIP))
        start = time.perf_counter()
        compute_summary(scenario, options)
        whole.append(time.perf_counter() - start)
        to_numbers.append(numbers_at[-1] - start)
    return to_numbers, whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--slow-repeats", type=int, default=3)
    args = parser.parse_args()

    print(f"model check: largest log-density difference {check_same_model():.2e}")
    forecast = [sys.executable, "-m", "forecast"]
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as work:
        cache = Path(work) / "cache"
        env = {**os.environ, "FORECAST_CACHE_DIR": str(cache)}
        env.pop("FORECAST_NO_WORKER", None)
        out = str(Path(work) / "out")
        # The file alone: its variants are runs of their own.
        run = [*forecast, "run", str(FLAGSHIP), "--out", out, "--quiet", "--no-variants"]
        try:
            to_numbers, whole = second_run_in_process(args.repeats)
            results["second run in one process, to the numbers"] = to_numbers
            results["second run in one process, whole summary"] = whole
            timed([*run, "--format", "json"], env)  # starts the worker and compiles
            upgraded_in_worker(cache, 1)
            key = "fresh run --format json (worker warm)"
            results[key] = [timed([*run, "--format", "json"], env) for _ in range(args.repeats)]
            timed(run, env)  # imports the report's libraries in the worker
            key = "fresh run, all formats (worker warm)"
            results[key] = [timed(run, env) for _ in range(args.repeats)]
            structural = []
            text = FLAGSHIP.read_text(encoding="utf-8")
            for index in range(args.slow_repeats):
                # One outcome more each time (1, 2, 3, ...): a model whose compiled code no run
                # before it has. A renamed copy of one would not do: PyTensor's cache does not
                # see names, so it would find the first one's code.
                extra = "".join(
                    f"  extra_{k}: {{prior: {{beta: [2, 2]}}}}\n" for k in range(index + 1)
                )
                changed = text.replace("outcomes:\n", "outcomes:\n" + extra, 1)
                path = Path(work) / "structure.yaml"
                path.write_text(changed, encoding="utf-8")
                command = [*forecast, "run", str(path), "--out", out, "--quiet", "--no-variants"]
                structural.append(timed([*command, "--format", "json"], env))
                upgraded_in_worker(cache, 2 + index)
            results["fresh run --format json, new structure"] = structural
            results["fresh run --format json --no-worker"] = [
                timed([*run, "--format", "json", "--no-worker"], env)
                for _ in range(args.slow_repeats)
            ]
        finally:
            subprocess.run([*forecast, "cache", "clear"], cwd=ROOT, env=env, check=False)
        # The scenario files only: the resolutions files beside them are for `forecast score`.
        files = [p for p in ROOT.glob("scenarios/*.yaml") if ".resolutions." not in p.name]
        validate = [*forecast, "validate", *sorted(str(p) for p in files)]
        results["validate scenarios/*.yaml"] = [timed(validate, env) for _ in range(args.repeats)]
        bare = [sys.executable, str(ROOT / "benchmarks" / "bare_flagship.py")]
        timed(bare, env)  # fills PyTensor's compile cache
        results["bare PyMC script"] = [timed(bare, env) for _ in range(args.slow_repeats)]

    bare_median = statistics.median(results["bare PyMC script"])
    print(f"{'':44} {'before':>7} {'now':>7} {'ratio':>6} {'/ bare':>7} {'target':>7}   runs")
    for name, runs in results.items():
        now = statistics.median(runs)
        before = BEFORE[name]
        target = TARGETS.get(name)
        shown = f"{target:7.1f}" if target else f"{'':7}"
        mark = "" if target is None else ("  met" if now <= target else "  MISSED")
        print(
            f"{name:44} {before:7.1f} {now:7.2f} {now / before:6.2f} {now / bare_median:7.2f} "
            f"{shown}   {', '.join(f'{r:.1f}' for r in runs)}{mark}"
        )


if __name__ == "__main__":
    main()
