"""A validated scenario: plain, immutable data. Nothing here knows about PyMC.

Outcome values are small integers throughout: 1/0 for a binary outcome that happens or not, the
category's index for a categorical one. A combination of parent values is a tuple of those.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from pathlib import PurePath

from forecast.spec.expressions import Expression
from forecast.spec.priors import BetaPrior, DirichletPrior, HazardPrior

OTHERWISE = "otherwise"  # the row key for every combination that no other row names
YEAR_DAYS = 365.25
# Days in each unit an event's rate may be stated per; rates are kept per year.
PER_DAYS = {"day": 1.0, "week": 7.0, "month": YEAR_DAYS / 12, "year": YEAR_DAYS}


@dataclass(frozen=True)
class Timeline:
    """When an event outcome can happen: from `as_of` to the horizon, in periods of constant
    rate. Times are in years from `as_of` (a year is 365.25 days)."""

    as_of: dt.date
    horizon: dt.date
    # Dates where the rate changes, strictly between as_of and the horizon, increasing; empty
    # for a constant rate. Period k runs from breaks[k-1] (or as_of) to breaks[k] (or horizon).
    breaks: tuple[dt.date, ...]
    # Dates to report, increasing, each after as_of and at most the horizon; the horizon last.
    checkpoints: tuple[dt.date, ...]
    per: str  # the unit reports show rates in: the one the file states (day ... year)

    def years(self, date: dt.date) -> float:
        return (date - self.as_of).days / YEAR_DAYS

    @property
    def period_dates(self) -> tuple[tuple[dt.date, dt.date], ...]:
        """(first day, end) of each period: as_of or a break, then the next break or the
        horizon."""
        return tuple(zip((self.as_of, *self.breaks), (*self.breaks, self.horizon), strict=True))

    @property
    def periods(self) -> tuple[tuple[float, float], ...]:
        """(start, end) of each period, in years from as_of."""
        return tuple((self.years(a), self.years(b)) for a, b in self.period_dates)

    def exposure(self, date: dt.date) -> tuple[float, ...]:
        """How many years of each period lie between as_of and `date`: the cumulative hazard by
        `date` is the sum of each period's rate times this."""
        t = self.years(date)
        return tuple(max(0.0, min(t, end) - start) for start, end in self.periods)


@dataclass(frozen=True)
class Row:
    """One condition row: the prior that holds in the parent combinations it covers."""

    key: str
    prior: BetaPrior | DirichletPrior | HazardPrior
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
    # One label per category, in category order (the name where the file gives none); empty for
    # a binary outcome.
    category_labels: tuple[str, ...] = ()
    # The categories of each parent, in parent order; an empty tuple for a binary parent.
    parent_categories: tuple[tuple[str, ...], ...] = ()
    # An event outcome (`kind: event`): when it can happen. Everywhere but its prior, an event is
    # a binary outcome, the value 1 meaning that it happens by the horizon.
    timeline: Timeline | None = None

    def combination_index(self, values: tuple[int, ...]) -> int:
        """The position of a combination of parent values (in parent order) among all of them.

        Combinations are numbered in itertools.product order of the parents' values, the order
        of `row_of_combination`: the last parent's value changes fastest. Only adds and
        multiplies, so the values may also be NumPy arrays of values (simulated worlds).
        """
        position = 0
        for value, cardinality in zip(values, self.parent_cardinalities, strict=True):
            if isinstance(value, int) and not 0 <= value < cardinality:
                raise ValueError(f"value {value} is not one of {cardinality} values")
            position = position * cardinality + value
        return position

    def row_for(self, values: dict[str, int]) -> int:
        """The condition row that the parents' values select."""
        combination = tuple(values[parent] for parent in self.parents)
        return self.row_of_combination[self.combination_index(combination)]

    def row_given(self, row_index: int) -> dict[str, bool | str] | None:
        """The parent values a row written in the file fixes; None for the `otherwise` row.

        A binary parent's value is true or false, a categorical parent's the category's name.
        """
        row = self.rows[row_index]
        if row.key == OTHERWISE:
            return None
        (combination,) = row.combinations
        return self._given(combination)

    def row_combinations(self, row_index: int) -> list[dict[str, bool | str]]:
        """Every combination of parent values a row covers, each as `row_given` writes one."""
        return [self._given(combination) for combination in self.rows[row_index].combinations]

    def _given(self, combination: tuple[int, ...]) -> dict[str, bool | str]:
        if len(self.parent_categories) != len(self.parents):
            raise ValueError(f"'{self.name}' was built without its parents' categories")
        return {
            parent: categories[value] if categories else bool(value)
            for parent, categories, value in zip(
                self.parents, self.parent_categories, combination, strict=True
            )
        }

    def category_label(self, value: int) -> str:
        """How reports show category `value`: its label, or its name where it has none."""
        if self.is_binary:
            raise ValueError(f"'{self.name}' is binary and has no categories")
        if self.category_labels:
            return self.category_labels[value]
        return self.categories[value]

    @property
    def is_binary(self) -> bool:
        """Two values: a binary outcome, or an event (happens by the horizon or not)."""
        return not self.categories

    @property
    def is_event(self) -> bool:
        return self.timeline is not None

    @property
    def cardinality(self) -> int:
        return 2 if self.is_binary else len(self.categories)

    def describe_value(self, value: int) -> str:
        if self.is_binary:
            return self.name if value else f"not {self.name}"
        return f"{self.name} == {self.categories[value]}"


@dataclass(frozen=True)
class WaitingTime:
    """How long one comparable process took until its event (or ran without one: censored)."""

    years: float
    censored: bool = False


@dataclass(frozen=True)
class Exposure:
    """Evidence on an event's rate: `events` seen in `years` of exposure. The likelihood is
    rate^events * exp(-rate * years) for Poisson counts and waiting times alike (a censored
    waiting time adds exposure and no event)."""

    events: int
    years: float
    waiting_times: tuple[WaitingTime, ...] = ()  # as written, when given as waiting times
    period: int = 0  # which period of the outcome's timeline the rate observed is that of


@dataclass(frozen=True)
class Evidence:
    """Counts observed on one of an outcome's probabilities, raised to the power `weight`; for
    an event, `exposure` instead (successes, trials and counts are None)."""

    outcome: str
    row: int | None  # None: the outcome's overall probability, marginal over its parents
    when: str | None
    successes: int | None  # binary
    trials: int | None  # binary
    counts: tuple[int, ...] | None  # categorical, in category order
    weight: float
    source: str | None
    exposure: Exposure | None = None


@dataclass(frozen=True)
class Case:
    name: str
    successes: int
    trials: int


@dataclass(frozen=True)
class RateCase:
    """A case of a reference class on an event's rate: `events` in `years` (or waiting times)."""

    name: str
    exposure: Exposure


@dataclass(frozen=True)
class ReferenceClass:
    outcome: str
    row: int
    when: str | None
    pooling: str  # "partial" or "complete"
    source: str | None
    cases: tuple[Case, ...] | tuple[RateCase, ...]
    period: int = 0  # for an event: the period of its timeline the cases inform


@dataclass(frozen=True)
class NamedScenario:
    name: str
    text: str
    expression: Expression


@dataclass(frozen=True)
class Override:
    """One value of the file replaced: the value at `path` becomes `value`."""

    path: tuple[str | int, ...]  # keys, and list indices counted from 0
    value: object  # plain data, as YAML reads it
    written: str  # as given: PATH=VALUE on the command line; the path, in a variant
    number: int  # its place among the overrides given together, from 1
    # Where a variant's entry stands in the file; 0 for an override from the command line.
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class WhatIf:
    """A named set of overrides: a variant in the file, or `--set` on the command line."""

    name: str
    description: str | None
    overrides: tuple[Override, ...]
    in_file: bool  # a variant of the file (True), or --set options (False)


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
    sha256: str  # of the file as read, before any override
    variants: tuple[WhatIf, ...] = ()
    # The overrides this scenario was read with; None for the file as it is.
    what_if: WhatIf | None = None

    @property
    def run_name(self) -> str:
        """The name of the run's folder: the file's stem, and `@NAME` for a what-if."""
        stem = PurePath(self.source_file).stem
        return f"{stem}@{self.what_if.name}" if self.what_if is not None else stem

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
