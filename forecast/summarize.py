"""Draws -> the numbers in summary.json. NumPy, SciPy and ArviZ's statistics only; no drawing."""

from __future__ import annotations

import numpy as np
from arviz_stats.base import array_stats
from scipy import stats as sps
from scipy.special import gammaln

from forecast import model as model_names
from forecast.spec import Scenario
from forecast.worlds import Draws, scenario_probability, top_worlds

QUANTILES = (0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975)
HDI_PROB = 0.9
PSIS_LIMIT = 0.7


def describe(values: np.ndarray, *, independent: bool = False) -> dict:
    """STATS of draws shaped (chain, draw): mean, sd, median, 90% HDI, quantiles, and MCSE.

    The MCSE of the mean accounts for autocorrelation within chains, unless the draws are
    `independent` (forward draws of the prior, importance resamples), where it is sd / sqrt(n).
    """
    flat = np.asarray(values, dtype=float).ravel()
    sd = float(flat.std(ddof=1)) if flat.size > 1 else 0.0
    if independent or values.shape[0] < 2:
        mcse = sd / np.sqrt(flat.size)
    else:
        mcse = float(array_stats.mcse(values, method="mean"))
    quantiles = np.quantile(flat, QUANTILES)
    return {
        "mean": float(flat.mean()),
        "sd": sd,
        "median": float(np.median(flat)),
        "hdi90": hdi(flat, HDI_PROB),
        "mcse": float(mcse) if np.isfinite(mcse) else 0.0,
        "quantiles": {f"{q:g}": float(v) for q, v in zip(QUANTILES, quantiles, strict=True)},
    }


def hdi(flat: np.ndarray, prob: float) -> list[float]:
    """The narrowest interval holding `prob` of the draws."""
    ordered = np.sort(flat)
    n = ordered.size
    inside = int(np.floor(prob * n))
    if inside < 1 or inside >= n:
        return [float(ordered[0]), float(ordered[-1])]
    widths = ordered[inside:] - ordered[: n - inside]
    start = int(np.argmin(widths))
    return [float(ordered[start]), float(ordered[start + inside])]


def summarize_outcomes(scenario: Scenario, posterior: Draws, prior: Draws) -> dict:
    result = {}
    for outcome in scenario.outcomes:
        entry: dict = {
            "label": outcome.label,
            "description": outcome.description,
            "kind": "binary" if outcome.is_binary else "categorical",
            "given": list(outcome.parents),
            "priors_stated": {row.key or "": row.prior.stated for row in outcome.rows},
        }
        post, pri = posterior.marginal(outcome), prior.marginal(outcome)
        if outcome.is_binary:
            entry["prior"] = describe(pri[1], independent=True)
            entry["posterior"] = describe(post[1])
            if outcome.parents:
                entry["rows"] = {
                    row.key: {
                        "prior": describe(prior.rows[outcome.name][:, :, r], independent=True),
                        "posterior": describe(posterior.rows[outcome.name][:, :, r]),
                    }
                    for r, row in enumerate(outcome.rows)
                }
        else:
            entry["categories"] = {}
            for value, category in enumerate(outcome.categories):
                item = {
                    "prior": describe(pri[value], independent=True),
                    "posterior": describe(post[value]),
                }
                if outcome.parents:
                    item["rows"] = {
                        row.key: {
                            "prior": describe(
                                prior.rows[outcome.name][:, :, r, value], independent=True
                            ),
                            "posterior": describe(posterior.rows[outcome.name][:, :, r, value]),
                        }
                        for r, row in enumerate(outcome.rows)
                    }
                entry["categories"][category] = item
        result[outcome.name] = entry
    return result


def summarize_scenarios(
    scenario: Scenario, posterior: Draws, prior: Draws, rng: np.random.Generator
) -> dict:
    result = {}
    for named in scenario.scenarios:
        post, method = scenario_probability(posterior, named.expression, rng)
        pri, _ = scenario_probability(prior, named.expression, rng)
        posterior_stats = describe(post)
        result[named.name] = {
            "expression": named.text,
            "prior": describe(pri, independent=True),
            "posterior": posterior_stats,
            "mcse": posterior_stats["mcse"],
            "method": method,
        }
    return result


def evidence_loglik(scenario: Scenario, index: int, draws: Draws) -> np.ndarray:
    """The weighted log-likelihood of evidence item `index` at each draw, shaped (chain, draw)."""
    item = scenario.evidence[index]
    target = model_names.evidence_target(scenario, item, draws.row_probability)
    if item.counts is None:
        loglik = sps.binom.logpmf(item.successes, item.trials, target)
    else:
        counts = np.array(item.counts)
        # Multinomial log-pmf by hand: scipy's multinomial does not broadcast over draws.
        log_p = np.log(np.clip(target, 1e-300, 1))
        coefficient = gammaln(counts.sum() + 1) - gammaln(counts + 1).sum()
        loglik = np.sum(counts * log_p, axis=-1) + coefficient
    return item.weight * loglik


def target_draws(scenario: Scenario, index: int, draws: Draws) -> np.ndarray:
    item = scenario.evidence[index]
    return model_names.evidence_target(scenario, item, draws.row_probability)


def describe_target(scenario: Scenario, index: int, values: np.ndarray, **kwargs) -> dict:
    """STATS of the probability an evidence item bears on; per category for a categorical one."""
    outcome = scenario.outcome(scenario.evidence[index].outcome)
    if outcome.is_binary:
        return describe(values, **kwargs)
    return {c: describe(values[..., i], **kwargs) for i, c in enumerate(outcome.categories)}


def without_by_reweighting(
    scenario: Scenario, index: int, draws: Draws, rng: np.random.Generator
) -> tuple[dict, float]:
    """Posterior of the item's target without the item, by Pareto-smoothed importance sampling.

    Returns the STATS and the Pareto k-hat of the weights; above PSIS_LIMIT they are unreliable.
    """
    log_ratios = -evidence_loglik(scenario, index, draws).ravel()
    log_weights, khat = array_stats.psislw(log_ratios, axis=-1)
    weights = np.exp(log_weights - log_weights.max())
    weights /= weights.sum()
    # Resampling turns weighted draws into ordinary ones, so every statistic is computed alike.
    chosen = rng.choice(weights.size, size=weights.size, p=weights)
    values = target_draws(scenario, index, draws)
    values = values.reshape(-1, *values.shape[2:])[chosen][np.newaxis]
    ess = 1 / np.sum(weights**2)
    stats = describe_target(scenario, index, values, independent=True)
    _scale_mcse(stats, np.sqrt(weights.size / ess))
    return stats, float(khat)


def _scale_mcse(stats: dict, factor: float) -> None:
    if "mcse" in stats:
        stats["mcse"] *= factor
    else:
        for item in stats.values():
            item["mcse"] *= factor


def summarize_reference_classes(
    scenario: Scenario, posterior_dataset, posterior: Draws, rng: np.random.Generator
) -> list[dict]:
    result = []
    for index, reference in enumerate(scenario.reference_classes):
        outcome = scenario.outcome(reference.outcome)
        target = posterior.rows[outcome.name][:, :, reference.row]
        entry = {
            "outcome": reference.outcome,
            "when": reference.when,
            "pooling": reference.pooling,
            "source": reference.source,
            "target": describe(target),
        }
        cases = []
        if reference.pooling == "partial":
            mean_name, log_kappa_name = model_names.reference_class_names(index)
            mean = posterior_dataset[mean_name].values
            kappa = np.exp(posterior_dataset[log_kappa_name].values)
            entry["class_mean"] = describe(mean)
            entry["concentration"] = describe(kappa)
            for case in reference.cases:
                # Each case's own rate given (mu, kappa) and its counts is Beta; one draw of it
                # per posterior draw gives its pooled posterior.
                rate = rng.beta(
                    mean * kappa + case.successes,
                    (1 - mean) * kappa + case.trials - case.successes,
                )
                cases.append(_case(case, describe(rate)))
        else:
            entry["class_mean"] = entry["target"]
            entry["concentration"] = None
            cases = [_case(case, entry["target"]) for case in reference.cases]
        entry["cases"] = cases
        result.append(entry)
    return result


def _case(case, pooled: dict) -> dict:
    return {
        "name": case.name,
        "successes": case.successes,
        "trials": case.trials,
        "raw_rate": case.successes / case.trials,
        "pooled": pooled,
    }


def summarize_worlds(posterior: Draws, prior: Draws, rng: np.random.Generator) -> list[dict]:
    return top_worlds(posterior, prior, rng)
