"""A validated scenario: plain, immutable data. Nothing here knows about PyMC.

Outcome values are small integers throughout: 1/0 for a binary outcome that happens or not, the
category's index for a categorical one. A combination of parent values is a tuple of those.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from forecast.spec.expressions import Expression
from forecast.spec.priors import BetaPrior, DirichletPrior


@dataclass(frozen=True)
class Row:
    """One condition row: the prior that holds in the parent combinations it covers."""

    key: str
    prior: BetaPrior | DirichletPrior
    combinations: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Outcome:
    name: str
    label: str
    description: str | None
    categories: tuple[str, ...]  # empty for a binary outcome
    parents: tuple[str, ...]
    rows: tuple[Row, ...]
    # Row index of each parent combination, in itertools.product order of the parents' values.
    row_of_combination: tuple[int, ...]
    parent_cardinalities: tuple[int, ...] = ()

    def row_for(self, values: dict[str, int]) -> int:
        """The condition row that the parents' values select."""
        position = 0
        for parent, cardinality in zip(self.parents, self.parent_cardinalities, strict=True):
            position = position * cardinality + values[parent]
        return self.row_of_combination[position]

    @property
    def is_binary(self) -> bool:
        return not self.categories

    @property
    def cardinality(self) -> int:
        return 2 if self.is_binary else len(self.categories)

    def describe_value(self, value: int) -> str:
        if self.is_binary:
            return self.name if value else f"not {self.name}"
        return f"{self.name} == {self.categories[value]}"


@dataclass(frozen=True)
class Evidence:
    """Counts observed on one of an outcome's probabilities, raised to the power `weight`."""

    outcome: str
    row: int | None  # None: the outcome's overall probability, marginal over its parents
    when: str | None
    successes: int | None  # binary
    trials: int | None  # binary
    counts: tuple[int, ...] | None  # categorical, in category order
    weight: float
    source: str | None


@dataclass(frozen=True)
class Case:
    name: str
    successes: int
    trials: int


@dataclass(frozen=True)
class ReferenceClass:
    outcome: str
    row: int
    when: str | None
    pooling: str  # "partial" or "complete"
    source: str | None
    cases: tuple[Case, ...]


@dataclass(frozen=True)
class NamedScenario:
    name: str
    text: str
    expression: Expression


@dataclass(frozen=True)
class Sampling:
    draws: int | None = None
    tune: int | None = None
    chains: int | None = None


@dataclass(frozen=True)
class Scenario:
    version: int
    title: str
    question: str | None
    as_of: dt.date | None
    horizon: dt.date | None
    seed: int | None
    sampling: Sampling
    outcomes: tuple[Outcome, ...]  # parents before children; file order otherwise
    evidence: tuple[Evidence, ...]
    reference_classes: tuple[ReferenceClass, ...]
    scenarios: tuple[NamedScenario, ...]
    source_file: str
    text: str
    sha256: str

    def outcome(self, name: str) -> Outcome:
        for outcome in self.outcomes:
            if outcome.name == name:
                return outcome
        raise KeyError(name)

    @property
    def categories(self) -> dict[str, tuple[str, ...]]:
        return {o.name: o.categories for o in self.outcomes if not o.is_binary}


def parent_combinations(cardinalities: list[int]) -> list[tuple[int, ...]]:
    """Every combination of parent values, in the order `row_of_combination` uses."""
    return list(itertools.product(*(range(c) for c in cardinalities)))
