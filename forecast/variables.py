"""What the model's variables and dimensions are called in `posterior.nc`. Imports no PyMC.

An outcome's probabilities are named after the outcome. Every other name the model makes contains
a dot, which an outcome name cannot (names are lower-case letters, digits and _), so no outcome can
clash with one:

- `<outcome>.row`, `<outcome>.category`: the dimensions of an outcome with parents or categories;
- `reference_class.<k>.mean`, `reference_class.<k>.log_concentration`: the population mean and
  log concentration of partially pooled reference class k (0-based, in file order);
- `<outcome>.rate` (dimensions `<outcome>.row` and `<outcome>.period` where it has them): an
  event outcome's rate in events per year, while `<outcome>` is its probability of happening
  by the horizon;
- `reference_class.<k>.offset`: a sampling coordinate of that class's pooled rate, not a quantity
  of interest; diagnostics and reports leave it out;
- `prior.<outcome>.alpha`, `evidence.<i>.counts`, `reference_class.<k>.trials` and the like: the
  file's numbers, which the model takes as data.
"""

from __future__ import annotations

from forecast.spec.scenario import Outcome, Scenario

SAMPLING_COORDINATE = ".offset"


def row_dim(outcome: Outcome) -> str:
    return f"{outcome.name}.row"


def category_dim(outcome: Outcome) -> str:
    return f"{outcome.name}.category"


def reference_class(index: int, part: str) -> str:
    """The name of a part of reference class `index`: mean, log_concentration, offset, ..."""
    return f"reference_class.{index}.{part}"


def evidence(index: int, part: str | None = None) -> str:
    """Evidence item `index`'s likelihood term, or one of its numbers (counts, weight)."""
    return f"evidence.{index}" if part is None else f"evidence.{index}.{part}"


def prior(outcome: Outcome, part: str) -> str:
    """A number of an outcome's prior: alpha, beta (one per row), concentration (row, category)."""
    return f"prior.{outcome.name}.{part}"


def rate(outcome: Outcome) -> str:
    """An event outcome's rate, in events per year."""
    return f"{outcome.name}.rate"


def period_dim(outcome: Outcome) -> str:
    return f"{outcome.name}.period"


def rate_dims(outcome: Outcome) -> tuple[str, ...]:
    """The dimensions of an event's rate after chain and draw: its rows, and its periods where
    the rate changes over time."""
    result = (row_dim(outcome),) if outcome.parents else ()
    if outcome.timeline.breaks:
        result += (period_dim(outcome),)
    return result


def period_labels(outcome: Outcome) -> list[str]:
    """Each period of an event's timeline by its dates: `2018-05-20 to 2018-11-06`, ..."""
    return [f"{a.isoformat()} to {b.isoformat()}" for a, b in outcome.timeline.period_dates]


def is_sampling_coordinate(name: str) -> bool:
    return name.endswith(SAMPLING_COORDINATE)


def dims(outcome: Outcome) -> tuple[str, ...]:
    """The dimensions of an outcome's variable, after chain and draw."""
    result = ()
    if outcome.parents:
        result += (row_dim(outcome),)
    if not outcome.is_binary:
        result += (category_dim(outcome),)
    return result


def coords(scenario: Scenario) -> dict[str, list[str]]:
    """Labels of every dimension: row keys as written in the file, category names."""
    result: dict[str, list[str]] = {}
    for outcome in scenario.outcomes:
        if outcome.parents:
            result[row_dim(outcome)] = [row.key for row in outcome.rows]
        if not outcome.is_binary:
            result[category_dim(outcome)] = list(outcome.categories)
        if outcome.is_event and outcome.timeline.breaks:
            result[period_dim(outcome)] = period_labels(outcome)
    return result
