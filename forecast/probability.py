"""Probabilities of combinations of outcome values, by variable elimination over the network.

Each outcome's value depends only on its parents' values, through the probability of the
condition row they select: a table over the outcome and its parents. The probability of some
outcomes' values is the product of the tables of them and their ancestors with the ancestors
summed out, one at a time, in the order `spec.network.elimination_plan` chooses. The same code
serves the PyMC model (tensors, for evidence on an outcome's overall probability) and the
summaries (NumPy arrays with leading draw dimensions): it only indexes, multiplies and sums, and
picks the array library of the tables it is given.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from forecast.spec.network import FACTOR_LIMIT, ancestors_and_self, elimination_plan
from forecast.spec.scenario import Outcome, Scenario

# rows(outcome) -> the outcome's row probabilities, shaped (*batch, row) for a binary outcome
# (the probability of "yes") and (*batch, row, category) for a categorical one; a root outcome
# has one row.
Rows = Callable[[Outcome], object]


class TooLarge(ValueError):
    """Exact probabilities would need a table larger than the limit; simulate instead."""


@dataclass(frozen=True)
class Factor:
    """A table over `outcomes` (one axis each, after `batch` leading axes)."""

    outcomes: tuple[str, ...]
    table: object
    batch: int


def array_library(table):
    """PyTensor for symbolic tensors, NumPy otherwise; imported only when a tensor is given."""
    if type(table).__module__.startswith("pytensor"):
        import pytensor.tensor as pt

        return pt
    return np


def outcome_factor(outcome: Outcome, rows: Rows, batch: int) -> Factor:
    """P(outcome | parents) as a table over (*parents, outcome)."""
    table = rows(outcome)
    xp = array_library(table)
    if outcome.is_binary:
        table = xp.stack([1 - table, table], axis=-1)
    # One entry per parent combination, in the order `Outcome.row_of_combination` lists them.
    table = xp.take(table, np.asarray(outcome.row_of_combination), axis=batch)
    shape = (*table.shape[:batch], *outcome.parent_cardinalities, outcome.cardinality)
    return Factor((*outcome.parents, outcome.name), table.reshape(shape), batch)


def _aligned(factor: Factor, outcomes: Sequence[str]):
    """The factor's table with its axes in the order of `outcomes`, size 1 where it has none."""
    present = [name for name in outcomes if name in factor.outcomes]
    batch = list(range(factor.batch))
    axes = batch + [factor.batch + factor.outcomes.index(name) for name in present]
    table = factor.table
    if axes != sorted(axes):
        table = array_library(table).transpose(table, axes)
    index = (Ellipsis, *(slice(None) if name in factor.outcomes else None for name in outcomes))
    return table[index]


def multiply(factors: Sequence[Factor], outcomes: Sequence[str]) -> Factor:
    product = None
    for factor in factors:
        table = _aligned(factor, outcomes)
        product = table if product is None else product * table
    return Factor(tuple(outcomes), product, factors[0].batch)


def sum_out(factor: Factor, name: str) -> Factor:
    axis = factor.batch + factor.outcomes.index(name)
    kept = tuple(o for o in factor.outcomes if o != name)
    return Factor(kept, factor.table.sum(axis=axis), factor.batch)


def joint(
    scenario: Scenario,
    names: Sequence[str],
    rows: Rows,
    *,
    batch: int,
    limit: int = FACTOR_LIMIT,
) -> Factor:
    """P(names take each combination of values), their ancestors summed out.

    The result's table has one axis per name, in the order given, after the batch axes.
    Raises TooLarge where that needs a table of more than `limit` entries.
    """
    if len(set(names)) != len(names):
        raise ValueError(f"each outcome may be named once, got {list(names)}")
    parents = {o.name: o.parents for o in scenario.outcomes}
    cardinality = {o.name: o.cardinality for o in scenario.outcomes}
    order, largest = elimination_plan(parents, cardinality, names)
    if largest > limit:
        raise TooLarge(f"needs a table of {largest} entries (limit {limit})")
    involved = set(order) | set(names)
    factors = [outcome_factor(o, rows, batch) for o in scenario.outcomes if o.name in involved]
    for name in order:
        touching = [f for f in factors if name in f.outcomes]
        scope = list(dict.fromkeys(o for f in touching for o in f.outcomes))
        factors = [f for f in factors if name not in f.outcomes]
        factors.append(sum_out(multiply(touching, scope), name))
    return multiply(factors, names)


def value_combinations(scenario: Scenario, names: Sequence[str]) -> np.ndarray:
    """Every combination of the names' values, shaped (combination, name), in the order a joint
    table over `names` lists its entries when flattened."""
    cardinalities = [scenario.outcome(name).cardinality for name in names]
    return np.array(list(itertools.product(*(range(c) for c in cardinalities))), dtype=int)


def combination_count(outcomes) -> int:
    count = 1
    for outcome in outcomes:
        count *= outcome.cardinality
    return count


def closure(scenario: Scenario, names) -> list[Outcome]:
    """The named outcomes and all their ancestors, parents before children."""
    parents = {o.name: o.parents for o in scenario.outcomes}
    wanted = ancestors_and_self(parents, names)
    return [o for o in scenario.outcomes if o.name in wanted]
