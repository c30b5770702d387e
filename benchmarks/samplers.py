"""The three samplers, each compiled once, on a small file, the flagship and a 50-outcome file.

For each model and sampler: the size of the log density graph, the compile time, and the wall
time of sampling again with other numbers swapped in (the compile kept), median of REPEATS.
Both run 4 chains of 1,000 draws after 1,000 tuning steps with the model's target acceptance.
The samplers: nutpie calling PyTensor's cached density (nutpie-cached), nutpie's own numba
backend (nutpie), PyMC's NUTS (pymc). This is the measurement behind
`forecast.compiled.CACHED_OPERATIONS` and `NUTPIE_OPERATIONS`.

Usage: python benchmarks/samplers.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def fifty_outcomes() -> str:
    """Fifty binary outcomes, each given at most one earlier one, ten items of evidence."""
    rng = np.random.default_rng(50)
    lines = ["version: 1", "title: fifty outcomes", "outcomes:"]
    for index in range(50):
        lines.append(f"  o{index}:")
        if index and rng.random() < 0.7:
            parent = f"o{rng.integers(0, index)}"
            lines += [
                f"    given: [{parent}]",
                f"    prior: {{{parent}: {{beta: [3, 2]}}, otherwise: {{beta: [2, 3]}}}}",
            ]
        else:
            lines.append("    prior: {mean: 0.4, sd: 0.15}")
    lines.append("evidence:")
    for index in range(0, 50, 5):
        lines.append(f"  - {{outcome: o{index}, successes: 3, trials: 8}}")
    return "\n".join(lines) + "\n"


def measure(scenario, sampler: str, repeats: int) -> tuple[int, float, list[float]]:
    import pymc as pm

    from forecast import compiled, inference
    from forecast import model as scenario_model

    model = scenario_model.build_model(scenario)
    size = compiled.operations(model)
    accept = inference.target_accept(scenario)
    points = scenario_model.initial_points(model)
    start = time.perf_counter()
    if sampler == "nutpie-cached":
        posterior = compiled.nutpie_over_pytensor(model, points)
    elif sampler == "nutpie":
        import nutpie

        posterior = nutpie.compile_pymc_model(model, backend="numba", initial_points=points)
    else:
        step = pm.NUTS(model=model, target_accept=accept)
    compile_seconds = time.perf_counter() - start
    data = scenario_model.model_data(scenario)
    times = []
    for seed in range(repeats):
        start = time.perf_counter()
        if sampler.startswith("nutpie"):
            import nutpie

            if sampler == "nutpie-cached":
                pm.set_data(data, model=model)
                ready = posterior
            else:
                ready = posterior.with_data(**data)
            nutpie.sample(
                ready, draws=1000, tune=1000, chains=4, cores=2,
                seed=seed, target_accept=accept, progress_bar=False,
            )  # fmt: skip
        else:
            pm.set_data(data, model=model)
            pm.sample(
                draws=1000, tune=1000, chains=4, cores=2, mp_ctx=compiled.MP_CONTEXT,
                random_seed=seed, step=step, initvals=points, progressbar=False,
                compute_convergence_checks=False, model=model,
            )  # fmt: skip
        times.append(time.perf_counter() - start)
    return size, compile_seconds, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from forecast.spec import load_scenario, parse_scenario

    models = {
        "greece 2015": load_scenario(ROOT / "scenarios" / "greece-after-referendum-2015.yaml"),
        "flagship": load_scenario(ROOT / "scenarios" / "singapore-summit-2018.yaml"),
        "fifty outcomes": parse_scenario(fifty_outcomes().encode(), "fifty.yaml"),
    }
    header = f"{'model':16} {'sampler':13} {'operations':>10} {'compile s':>10} {'sample s':>9}"
    print(f"{header}   runs")
    for name, scenario in models.items():
        for sampler in ("nutpie-cached", "nutpie", "pymc"):
            size, compile_seconds, times = measure(scenario, sampler, args.repeats)
            print(
                f"{name:16} {sampler:13} {size:10d} {compile_seconds:10.1f} "
                f"{statistics.median(times):9.1f}   {', '.join(f'{t:.1f}' for t in times)}",
                flush=True,
            )


if __name__ == "__main__":
    main()
