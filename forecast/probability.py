"""Probabilities of combinations of outcome values, by enumerating the outcomes' ancestors.

The outcomes form a Bayesian network: each outcome's value depends only on its parents' values,
through the probability of the condition row they select. The probability of a combination of
values is the sum, over every assignment of the ancestors, of the product of those conditional
probabilities. The same code serves the PyMC model (symbolic tensors, for evidence on an outcome's
overall probability) and the summaries (NumPy arrays of draws): it only multiplies, adds and
subtracts what `row_probability` returns.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

from forecast.spec.scenario import Outcome, Scenario

# row_probability(outcome, row index, value) -> probability that `outcome` takes `value` given
# a parent combination that selects that row (a scalar tensor or an array of draws).
RowProbability = Callable[[Outcome, int, int], object]


def closure(scenario: Scenario, names: Iterable[str]) -> list[Outcome]:
    """The named outcomes and all their ancestors, parents before children."""
    wanted: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name not in wanted:
            wanted.add(name)
            stack.extend(scenario.outcome(name).parents)
    return [o for o in scenario.outcomes if o.name in wanted]


def combination_count(outcomes: Iterable[Outcome]) -> int:
    count = 1
    for outcome in outcomes:
        count *= outcome.cardinality
    return count


def joint(
    scenario: Scenario, names: list[str], row_probability: RowProbability
) -> dict[tuple[int, ...], object]:
    """P(names take each combination of values), summing out their ancestors.

    Returns a mapping from a tuple of values (in the order of `names`) to its probability.
    """
    outcomes = closure(scenario, names)
    result: dict[tuple[int, ...], object] = {}
    for assignment in itertools.product(*(range(o.cardinality) for o in outcomes)):
        values = dict(zip((o.name for o in outcomes), assignment, strict=True))
        probability = None
        for outcome in outcomes:
            term = row_probability(outcome, outcome.row_for(values), values[outcome.name])
            probability = term if probability is None else probability * term
        key = tuple(values[name] for name in names)
        result[key] = probability if key not in result else result[key] + probability
    return result
