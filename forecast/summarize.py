"""Draws -> the numbers in summary.json. NumPy, SciPy and ArviZ's statistics only; no drawing."""

from __future__ import annotations

import numpy as np
from arviz_stats.base import array_stats

from forecast import events, likelihood, variables
from forecast.spec import Scenario
from forecast.worlds import Draws, scenario_probability

QUANTILES = (0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975)
HDI_PROB = 0.9


def describe(values: np.ndarray, *, independent: bool = False) -> dict:
    """STATS of draws shaped (chain, draw): mean, sd, median, 90% HDI, quantiles, and MCSE.

    The MCSE of the mean accounts for autocorrelation within chains, unless the draws are
    `independent` (forward draws of the prior), where it is sd / sqrt(n).
    """
    flat = np.asarray(values, dtype=float).ravel()
    sd = float(flat.std(ddof=1)) if flat.size > 1 else 0.0
    if independent or values.shape[-1] < 4:
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
    """Each outcome's overall probabilities and, with parents, each condition row's."""
    result = {}
    for outcome in scenario.outcomes:
        entry: dict = {
            "label": outcome.label,
            "description": outcome.description,
            "kind": _kind(outcome),
            "given": list(outcome.parents),
            "priors_stated": {row.key or "": row.prior.stated for row in outcome.rows},
        }
        post, pri = posterior.marginal(outcome), prior.marginal(outcome)
        if outcome.is_binary:
            entry["prior"] = describe(pri[1], independent=True)
            entry["posterior"] = describe(post[1])
        else:
            entry["categories"] = {
                category: {
                    "label": outcome.category_label(value),
                    "prior": describe(pri[value], independent=True),
                    "posterior": describe(post[value]),
                }
                for value, category in enumerate(outcome.categories)
            }
        if outcome.is_event:
            entry.update(events.summarize_event(outcome, posterior, prior, describe))
        if outcome.parents:
            entry["rows"] = [
                _row(outcome, index, posterior, prior) for index in range(len(outcome.rows))
            ]
        result[outcome.name] = entry
    return result


def _kind(outcome) -> str:
    if outcome.is_event:
        return "event"
    return "binary" if outcome.is_binary else "categorical"


def _row(outcome, index: int, posterior: Draws, prior: Draws) -> dict:
    """A condition row: its key as written, the parent values it covers, its probabilities."""
    entry = {
        "key": outcome.rows[index].key,
        "given": outcome.row_given(index),
        "combinations": outcome.row_combinations(index),
    }
    post = posterior.rows[outcome.name][:, :, index]
    pri = prior.rows[outcome.name][:, :, index]
    if outcome.is_binary:
        entry["prior"] = describe(pri, independent=True)
        entry["posterior"] = describe(post)
    else:
        entry["categories"] = {
            category: {
                "prior": describe(pri[..., value], independent=True),
                "posterior": describe(post[..., value]),
            }
            for value, category in enumerate(outcome.categories)
        }
    if outcome.is_event:
        entry["rate"] = events.rate_entry(outcome, index, posterior, prior, describe)
    return entry


def condition_row(outcome, row: int | None) -> dict:
    """The row an evidence item or reference class bears on: its key and its parents' values,
    both None for an outcome's overall probability or an outcome without parents."""
    if row is None or not outcome.parents:
        return {"row": None, "given": None}
    return {"row": outcome.rows[row].key, "given": outcome.row_given(row)}


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
    if item.exposure is not None:
        rates = draws.rates[item.outcome][:, :, item.row or 0, item.exposure.period]
        return events.rate_log_likelihood(events.exposure_data(item.exposure), item.weight, rates)
    return likelihood.log_likelihood(
        likelihood.counts(item),
        item.weight,
        target_draws(scenario, index, draws),
        binary=item.counts is None,
    )


def target_draws(scenario: Scenario, index: int, draws: Draws) -> np.ndarray:
    """The probability an evidence item bears on, per draw: (chain, draw[, category]); for an
    event, its probability by the horizon in the row whose rate the item bears on."""
    item = scenario.evidence[index]
    if item.exposure is not None:
        return draws.rows[item.outcome][:, :, item.row or 0]
    return likelihood.target(scenario, scenario.evidence[index], draws.rows_of, batch=2)


def describe_target(scenario: Scenario, index: int, values: np.ndarray, **kwargs) -> dict:
    """STATS of the probability an evidence item bears on; per category for a categorical one."""
    outcome = scenario.outcome(scenario.evidence[index].outcome)
    if outcome.is_binary:
        return describe(values, **kwargs)
    return {c: describe(values[..., i], **kwargs) for i, c in enumerate(outcome.categories)}


def without_by_reweighting(
    scenario: Scenario, index: int, draws: Draws, values: np.ndarray
) -> tuple[dict, float, float]:
    """Posterior of the item's target without the item, by Pareto-smoothed importance sampling;
    `values`: the target at the draws (`target_draws`).

    The posterior without item i is the posterior divided by the item's likelihood L_i^w, so the
    draws are weighted by 1 / L_i^w. Returns the STATS, the Pareto k-hat of the weights (above
    0.7 they are unreliable) and the draws' relative efficiency used for it.
    """
    loglik = evidence_loglik(scenario, index, draws)
    per_value = values[..., np.newaxis] if values.ndim == 2 else values
    # Relative efficiency of the MCMC draws, for PSIS and for the standard error.
    r_eff = min(
        float(array_stats.ess(per_value[..., k], method="mean")) / loglik.size
        for k in range(per_value.shape[-1])
    )
    r_eff = min(max(r_eff, 1e-3), 1.0)
    # arviz_stats' psislw takes the log-likelihood and negates it itself: weights ∝ 1 / L_i^w.
    log_weights, khat = array_stats.psislw(loglik.ravel(), r_eff=r_eff, axis=-1)
    weights = np.exp(log_weights - log_weights.max())
    weights /= weights.sum()
    return describe_target_weighted(scenario, index, values, weights, r_eff), float(khat), r_eff


def describe_target_weighted(
    scenario: Scenario, index: int, values: np.ndarray, weights: np.ndarray, r_eff: float
) -> dict:
    """STATS of an item's target (`target_draws`) under weights over its draws."""
    per_value = values[..., np.newaxis] if values.ndim == 2 else values
    flat = per_value.reshape(-1, per_value.shape[-1])
    described = [describe_weighted(flat[:, k], weights, r_eff) for k in range(flat.shape[1])]
    outcome = scenario.outcome(scenario.evidence[index].outcome)
    if outcome.is_binary:
        return described[0]
    return dict(zip(outcome.categories, described, strict=True))


def describe_weighted(values: np.ndarray, weights: np.ndarray, r_eff: float = 1.0) -> dict:
    """STATS of weighted draws (weights summing to 1), computed from the weights directly."""
    order = np.argsort(values)
    ordered, cumulative = values[order], np.cumsum(weights[order])
    mean = float(np.sum(weights * values))
    sd = float(np.sqrt(np.sum(weights * (values - mean) ** 2)))

    def quantile(q: float) -> float:
        position = min(int(np.searchsorted(cumulative, q)), ordered.size - 1)
        return float(ordered[position])

    # The narrowest interval holding HDI_PROB of the weight: for each lower end, the first draw
    # where the weight above it reaches HDI_PROB.
    below = np.concatenate([[0.0], cumulative[:-1]])
    ends = np.searchsorted(cumulative, below + HDI_PROB - 1e-12)
    valid = ends < ordered.size
    starts = np.flatnonzero(valid)
    widths = ordered[ends[valid]] - ordered[starts]
    best = int(np.argmin(widths)) if widths.size else 0
    hdi = (
        [float(ordered[starts[best]]), float(ordered[ends[valid][best]])]
        if widths.size
        else [float(ordered[0]), float(ordered[-1])]
    )
    mcse = float(np.sqrt(np.sum(weights**2 * (values - mean) ** 2) / r_eff))
    return {
        "mean": mean,
        "sd": sd,
        "median": quantile(0.5),
        "hdi90": hdi,
        "mcse": mcse,
        "quantiles": {f"{q:g}": quantile(q) for q in QUANTILES},
    }


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
            **condition_row(outcome, reference.row),
            "pooling": reference.pooling,
            **(
                {"period": events.period_entry(outcome, reference.period)}
                if outcome.is_event
                else {}
            ),
            "source": reference.source,
            "target": describe(target),
        }
        cases = []
        if reference.pooling == "partial":
            mean = posterior_dataset[variables.reference_class(index, "mean")].values
            log_kappa = posterior_dataset[variables.reference_class(index, "log_concentration")]
            kappa = np.exp(log_kappa.values)
            entry["concentration"] = describe(kappa)
            if outcome.is_event:
                # The class's mean rate, in events per the outcome's unit.
                entry["class_mean"] = describe(mean / events.per_year(outcome.timeline.per))
                entry["cases"] = _rate_cases(outcome, reference, mean, kappa, rng)
                result.append(entry)
                continue
            entry["class_mean"] = describe(mean)
            for case in reference.cases:
                # Each case's own rate given (mu, kappa) and its counts is Beta; one draw of it
                # per posterior draw gives its pooled posterior.
                rate = rng.beta(
                    mean * kappa + case.successes,
                    (1 - mean) * kappa + case.trials - case.successes,
                )
                cases.append(_case(case, describe(rate)))
        elif outcome.is_event:
            # One rate for every case, the row's: the class mean is that rate.
            rate = posterior.rates[outcome.name][:, :, reference.row, reference.period]
            entry["class_mean"] = describe(rate / events.per_year(outcome.timeline.per))
            entry["concentration"] = None
            cases = [_rate_case(outcome, case, entry["class_mean"]) for case in reference.cases]
        else:
            entry["class_mean"] = entry["target"]
            entry["concentration"] = None
            cases = [_case(case, entry["target"]) for case in reference.cases]
        entry["cases"] = cases
        result.append(entry)
    return result


def _rate_cases(outcome, reference, mean, kappa, rng) -> list[dict]:
    """Each case of a partially pooled class on an event's rate: its own rate given the class's
    Gamma population (shape kappa, mean mu) and its events and years is Gamma(kappa + events,
    kappa / mu + years); one draw of it per posterior draw gives its pooled posterior."""
    scale = events.per_year(outcome.timeline.per)
    cases = []
    for case in reference.cases:
        exposure = case.exposure
        rate = rng.gamma(kappa + exposure.events, 1 / (kappa / mean + exposure.years))
        cases.append(_rate_case(outcome, case, describe(rate / scale)))
    return cases


def _rate_case(outcome, case, pooled: dict) -> dict:
    """A case on an event's rate: its events and years, its own rate and its pooled one, both
    in events per the outcome's unit."""
    exposure = case.exposure
    return {
        "name": case.name,
        "events": exposure.events,
        "years": exposure.years,
        "raw_rate": exposure.events / exposure.years / events.per_year(outcome.timeline.per),
        "pooled": pooled,
    }


def _case(case, pooled: dict) -> dict:
    return {
        "name": case.name,
        "successes": case.successes,
        "trials": case.trials,
        "raw_rate": case.successes / case.trials,
        "pooled": pooled,
    }
