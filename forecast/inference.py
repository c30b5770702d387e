"""Sampling the prior and the posterior, and judging whether the sampler can be trusted."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import numpy as np
import xarray as xr
from arviz_stats.base import array_stats

from forecast import compiled as compiled_models
from forecast import model as scenario_model
from forecast import variables
from forecast.spec import Scenario

RHAT_LIMIT = 1.01
ESS_LIMIT = 400
# Forward sampling of the prior is cheap; this many draws puts the prior's Monte Carlo error
# below 0.005 for any probability (sd <= 0.5, 0.5 / sqrt(10_000) = 0.005).
PRIOR_DRAWS = 10_000
# A model sampled again with other numbers (an evidence item left out, a sensitivity change):
# enough for its means, fewer than the run's own draws.
REFIT_DRAWS = 1000
REFIT_CHAINS = 2
PARTIAL_POOLING_TARGET_ACCEPT = 0.95
TARGET_ACCEPT = 0.85


@dataclass(frozen=True)
class Settings:
    draws: int
    tune: int
    chains: int
    seed: int


@dataclass
class Sampled:
    """Prior and posterior draws in one DataTree, with how long sampling took."""

    tree: xr.DataTree
    seconds: float
    target_accept: float
    compile_seconds: float = 0.0
    reused: bool = False
    sampler: str = "nutpie"


def cores_for(settings: Settings) -> int:
    """Chains run in parallel on every core; each chain is seeded on its own, so the draws are
    the same whatever the number of cores."""
    return max(1, min(settings.chains, os.cpu_count() or 1))


def target_accept(scenario: Scenario) -> float:
    # A partially pooled reference class keeps some curvature even after reparametrisation
    # (see model._pooled_rate); a smaller step removes the divergences it would otherwise cause.
    if any(r.pooling == "partial" for r in scenario.reference_classes):
        return PARTIAL_POOLING_TARGET_ACCEPT
    return TARGET_ACCEPT


def log_density(scenario: Scenario):
    """The kept model's log prior and log likelihood over draws (`forecast.sensitivity`)."""
    with _quiet_pymc():
        compiled, _ = compiled_models.compiled_for(
            scenario, prior_draws=PRIOR_DRAWS, target_accept=target_accept(scenario)
        )
        return compiled.log_density


def unconstrained_density(scenario: Scenario):
    """The kept model on the sampler's scale (`forecast.moment_matching`)."""
    with _quiet_pymc():
        compiled, _ = compiled_models.compiled_for(
            scenario, prior_draws=PRIOR_DRAWS, target_accept=target_accept(scenario)
        )
        return compiled.unconstrained_density


def sample(
    scenario: Scenario,
    settings: Settings,
    *,
    progress: bool = False,
    leave_out: frozenset[int] = frozenset(),
    data_changes: dict[str, np.ndarray] | None = None,
    with_prior: bool = True,
) -> Sampled:
    """Sample the posterior with NUTS and, with `with_prior`, the prior by forward draws.

    The model is compiled once per structure and process (`forecast.compiled`, which also picks
    the sampler); this run's numbers, with the items of `leave_out` weighted 0, are swapped in.
    """
    start = time.perf_counter()
    accept = target_accept(scenario)
    with _quiet_pymc():
        compiled, reused = compiled_models.compiled_for(
            scenario, prior_draws=PRIOR_DRAWS, target_accept=accept
        )
        compile_seconds = time.perf_counter() - start
        data = scenario_model.model_data(scenario, leave_out=leave_out)
        data.update(data_changes or {})
        tree = compiled.sample_posterior(
            data,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=cores_for(settings),
            seed=settings.seed,
            target_accept=accept,
            progress=progress,
        )
        if with_prior:
            values = compiled.sample_prior(data, settings.seed + 1)
            prior = scenario_model.prior_dataset(scenario, values)
    if tree["posterior"].sizes["draw"] < settings.draws:
        # A sampler stopped by Ctrl-C may return the draws made so far; a short run must not
        # replace a complete one.
        raise KeyboardInterrupt
    groups = {name: _plain(tree[name].to_dataset()) for name in ("posterior", "sample_stats")}
    # Labels come from this file, not from the compiled model: an event's periods are named by
    # their dates, which are numbers that a model compiled for another file takes as data.
    posterior = groups["posterior"]
    labels = variables.coords(scenario)
    groups["posterior"] = posterior.assign_coords(
        {dim: labels[dim] for dim in posterior.dims if dim in labels}
    )
    if with_prior:
        groups["prior"] = prior
    result = xr.DataTree.from_dict(groups)
    seconds = time.perf_counter() - start
    return Sampled(result, seconds, accept, compile_seconds, reused, compiled.sampler)


def _plain(dataset: xr.Dataset) -> xr.Dataset:
    """Drop the sampler's bookkeeping attributes, which hold times and differ on every run, and
    the parameters on the sampler's own scale (`x_logodds__`): the same draws transformed, which
    nutpie keeps and the diagnostics would count twice."""
    transformed = [name for name in dataset.data_vars if str(name).endswith("__")]
    return dataset.drop_vars(transformed).assign_attrs({})


class _quiet_pymc:
    """Silence what this tool replaces, and nothing else.

    PyMC narrates sampling at INFO level (which step method, how many chains) and logs its own
    convergence warnings (divergences, R-hat, effective sample size) through
    `pymc.stats.convergence`; `diagnose` reports those once, in the analyst's terms, with what to
    do. Every other warning, PyMC's, PyTensor's or NumPy's, still reaches the user: it may be
    the only sign of a numerical problem.
    """

    def __enter__(self):
        self.logger = logging.getLogger("pymc")
        self.level = self.logger.level
        self.logger.setLevel(logging.WARNING)
        self.convergence = logging.getLogger("pymc.stats.convergence")
        self.convergence.addFilter(_replaced_by_diagnostics)
        return self

    def __exit__(self, *exc):
        self.convergence.removeFilter(_replaced_by_diagnostics)
        self.logger.setLevel(self.level)
        return False


def _replaced_by_diagnostics(record: logging.LogRecord) -> bool:
    """Keep errors; drop the sampler's convergence warnings, which `diagnose` reports."""
    return record.levelno >= logging.ERROR


def parameter_elements(dataset: xr.Dataset):
    """(display name, array of shape (chain, draw)) for every scalar element of every parameter."""
    for name, variable in dataset.data_vars.items():
        extra = [d for d in variable.dims if d not in ("chain", "draw")]
        values = variable.transpose("chain", "draw", *extra).values
        if not extra:
            yield name, values
            continue
        labels = [variable[d].values.tolist() for d in extra]
        for index in np.ndindex(*values.shape[2:]):
            label = ", ".join(str(labels[i][j]) for i, j in enumerate(index))
            yield f"{name}[{label}]", values[(slice(None), slice(None), *index)]


def diagnose(tree: xr.DataTree) -> dict:
    """R-hat, bulk and tail ESS per parameter, divergences, and warnings an analyst can act on."""
    posterior = tree["posterior"].to_dataset()
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    parameters = []
    for name, values in parameter_elements(posterior):
        if variables.is_sampling_coordinate(name):
            continue  # model._pooled_rate's coordinate, not a quantity of interest
        parameters.append(
            {
                "name": name,
                "rhat": _finite(array_stats.rhat(values)),
                "ess_bulk": _finite(array_stats.ess(values, method="bulk")),
                "ess_tail": _finite(array_stats.ess(values, method="tail", prob=(0.05, 0.95))),
            }
        )
    divergences = int(tree["sample_stats"]["diverging"].sum())
    warnings_found = []
    if chains < 2:
        warnings_found.append("R-hat needs at least two chains to compare; run with --chains 4")
    for parameter in parameters:
        if parameter["rhat"] is not None and not parameter["rhat"] <= RHAT_LIMIT:
            warnings_found.append(
                f"R-hat is {parameter['rhat']:.3f} for {parameter['name']} (above {RHAT_LIMIT}): "
                "the chains disagree; run longer (--draws 4000 --tune 2000) or check that the "
                "prior and the evidence are compatible"
            )
        low = min(parameter["ess_bulk"] or 0.0, parameter["ess_tail"] or 0.0)
        if not low >= ESS_LIMIT:
            warnings_found.append(
                f"effective sample size is {low:.0f} for {parameter['name']} (below "
                f"{ESS_LIMIT}): intervals are imprecise; run more draws (--draws 4000)"
            )
    if divergences:
        warnings_found.append(
            f"{divergences} {'transition' if divergences == 1 else 'transitions'} diverged: the "
            "sampler could not follow the posterior everywhere and the results may be biased; "
            "try --tune 3000, or loosen a prior that conflicts sharply with the evidence"
        )
    return {
        "chains": int(chains),
        "draws": int(draws),
        "max_rhat": _extreme(max, [p["rhat"] for p in parameters]),
        "min_ess_bulk": _extreme(min, [p["ess_bulk"] for p in parameters]),
        "min_ess_tail": _extreme(min, [p["ess_tail"] for p in parameters]),
        "divergences": divergences,
        "ok": not warnings_found,
        "rhat_limit": RHAT_LIMIT,
        "ess_limit": ESS_LIMIT,
        "warnings": warnings_found,
        "parameters": parameters,
    }


def _finite(value) -> float | None:
    """A diagnostic as a number, or None where it cannot be computed (one chain, constant draws)."""
    value = float(value)
    return value if np.isfinite(value) else None


def _extreme(pick, values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return pick(known) if known else None
