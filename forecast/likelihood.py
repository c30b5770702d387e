"""The likelihood of an evidence item: the one definition, for the model and for the summaries.

An evidence item is counts observed on one of an outcome's probabilities (a condition row's, or
the outcome's overall probability, its parents summed out), raised to the power of its weight.
The functions only index, take logarithms and sum, so they serve PyTensor tensors in the model
(where counts and weights are data) and NumPy arrays of draws in the summaries alike.
"""

from __future__ import annotations

import numpy as np

from forecast import probability
from forecast.spec.scenario import Evidence, ReferenceClass, Scenario


def counts(item: Evidence) -> np.ndarray:
    """The item's counts per value, in the order of `probabilities`: (successes, failures) for
    a binary outcome, one count per category for a categorical one."""
    if item.counts is None:
        return np.array([item.successes, item.trials - item.successes], dtype=float)
    return np.array(item.counts, dtype=float)


def target(scenario: Scenario, item: Evidence | ReferenceClass, rows: probability.Rows, batch: int):
    """The probability (binary) or probability vector (categorical) an item bears on."""
    outcome = scenario.outcome(item.outcome)
    if item.row is not None or not outcome.parents:
        return rows(outcome)[(slice(None),) * batch + (item.row or 0,)]
    marginal = probability.joint(scenario, [outcome.name], rows, batch=batch).table
    return marginal[..., 1] if outcome.is_binary else marginal


def log_likelihood(counts, weight, target, *, binary: bool):
    """The weighted Binomial or Multinomial log-likelihood of `counts` at `target`.

    `target` is the probability of success (binary) or of each category (last axis).
    """
    xp = probability.array_library(target)
    probabilities = xp.stack([target, 1 - target], axis=-1) if binary else target
    if xp is np:
        from scipy.special import gammaln, xlogy
    else:
        from pytensor.tensor import gammaln
        from pytensor.tensor.special import xlogy
    # An item left out has weight 0: its term must be 0, also where a probability is exactly 0
    # or 1 in floating point (0 * -inf, and its gradient, would be NaN).
    probabilities = xp.where(xp.greater(weight, 0), probabilities, 0.5)
    coefficient = gammaln(counts.sum(axis=-1) + 1) - gammaln(counts + 1).sum(axis=-1)
    # xlogy: a category never observed contributes nothing, even where its probability is 0.
    return weight * (coefficient + xlogy(counts, probabilities).sum(axis=-1))
