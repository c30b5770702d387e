"""Monte Carlo worlds: from parameter draws to the probability of named scenarios and worlds.

A world is one combination of every outcome's value. Given one draw of the parameters, the
probability of a scenario is the total probability of the worlds where it holds. Where the
outcomes a scenario names have few enough combinations (their ancestors are summed out by
variable elimination, `forecast.probability`), that sum is computed exactly for every draw, so
the spread across draws is uncertainty about the parameters alone. Otherwise worlds are
simulated, WORLDS_PER_DRAW per draw, and the simulation noise is part of the Monte Carlo standard
error reported beside the probability.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import xarray as xr

from forecast import events, probability, variables
from forecast.spec import Outcome, Row, Scenario
from forecast.spec.expressions import By, Expression, atoms, by_key, evaluate

EXACT_LIMIT = 4096
WORLDS_PER_DRAW = 256
TOP_WORLDS = 10


class Draws:
    """Each outcome's row probabilities as arrays shaped (chain, draw, row[, category]), and each
    event's rates shaped (chain, draw, row, period)."""

    def __init__(self, scenario: Scenario, dataset: xr.Dataset):
        self.scenario = scenario
        self.rows: dict[str, np.ndarray] = {}
        self.rates: dict[str, np.ndarray] = {}
        for outcome in scenario.outcomes:
            variable = dataset[outcome.name]
            extra = [d for d in variable.dims if d not in ("chain", "draw")]
            values = variable.transpose("chain", "draw", *extra).values
            if not outcome.parents:
                values = values[:, :, np.newaxis]  # one row, to index every outcome alike
            self.rows[outcome.name] = values
            if outcome.is_event:
                self.rates[outcome.name] = _rates(outcome, dataset)
        first = next(iter(self.rows.values()))
        self.shape = first.shape[:2]

    @classmethod
    def of(cls, scenario: Scenario, rows: dict, rates: dict) -> Draws:
        """Draws from arrays already shaped as `rows` and `rates` are."""
        draws = cls.__new__(cls)
        draws.scenario, draws.rows, draws.rates = scenario, rows, rates
        draws.shape = next(iter(rows.values())).shape[:2]
        return draws

    def rows_of(self, outcome: Outcome) -> np.ndarray:
        return self.rows[outcome.name]

    def joint(self, names: list[str]) -> np.ndarray:
        """P(names take each combination of values) per draw, shaped (chain, draw, *values)."""
        return probability.joint(self.scenario, names, self.rows_of, batch=2).table

    def marginal(self, outcome: Outcome) -> dict[int, np.ndarray]:
        """P(outcome takes each value) per draw, averaged over its parents."""
        table = self.joint([outcome.name])
        return {value: table[..., value] for value in range(outcome.cardinality)}


def _rates(outcome: Outcome, dataset: xr.Dataset) -> np.ndarray:
    variable = dataset[variables.rate(outcome)]
    values = variable.transpose("chain", "draw", *variables.rate_dims(outcome)).values
    if not outcome.parents:
        values = values[:, :, np.newaxis]
    if not outcome.timeline.breaks:
        values = values[..., np.newaxis]
    return values


def scenario_probability(
    draws: Draws, expression: Expression, rng: np.random.Generator
) -> tuple[np.ndarray, str]:
    """P(expression) per draw, shaped (chain, draw), and the method: exact or simulated."""
    draws = with_dates(draws, expression)
    scenario = draws.scenario
    names = sorted({a.key if isinstance(a, By) else a.outcome for a in atoms(expression)})
    named = [scenario.outcome(name) for name in names]
    if probability.combination_count(named) <= EXACT_LIMIT:
        try:
            table = draws.joint(names)
        except probability.TooLarge:
            pass
        else:
            combos = probability.value_combinations(scenario, names)
            holds = evaluate(
                expression,
                {name: combos[:, i] for i, name in enumerate(names)},
                scenario.categories,
            )
            flat = table.reshape(*draws.shape, -1)
            return flat[..., np.asarray(holds, dtype=bool)].sum(axis=-1), "exact"
    worlds = simulate(draws, probability.closure(scenario, names), rng)
    holds = evaluate(expression, worlds, scenario.categories)
    return holds.mean(axis=-1), "simulated"


def with_dates(draws: Draws, expression: Expression) -> Draws:
    """The draws, with one more binary outcome for each `X by DATE` of the expression.

    An event has one waiting time, so its dates nest: it happens by an earlier date only in
    worlds where it happens by a later one, the latest being the horizon, where it is X itself.
    So `X by DATE` is a child of the outcome of X's next later date (X for the latest) and of
    X's parents, happening with probability P(by DATE | by the later date) in X's condition row;
    its rows are X's rows and one more, for worlds where the later one does not happen. Exact
    sums and simulated worlds then treat it as any other outcome.
    """
    dated: dict[str, set] = {}
    for atom in atoms(expression):
        if isinstance(atom, By):
            dated.setdefault(atom.outcome, set()).add(atom.date)
    if not dated:
        return draws
    scenario = draws.scenario
    rows, added = dict(draws.rows), []
    for name, dates in sorted(dated.items()):
        event = scenario.outcome(name)
        combinations = len(event.row_of_combination)
        later, later_name = event.timeline.horizon, event.name
        for date in sorted(dates, reverse=True):
            key = by_key(name, date)
            added.append(
                Outcome(
                    name=key,
                    label=key,
                    description=None,
                    categories=(),
                    parents=(later_name, *event.parents),
                    rows=(Row(f"not {later_name}", event.rows[0].prior, ()), *event.rows),
                    row_of_combination=(0,) * combinations
                    + tuple(1 + row for row in event.row_of_combination),
                    parent_cardinalities=(2, *event.parent_cardinalities),
                    parent_categories=((), *event.parent_categories),
                )
            )
            share = events.share_by(draws, event, date, later)
            rows[key] = np.concatenate([np.zeros((*draws.shape, 1)), share], axis=-1)
            later, later_name = date, key
    extended = replace(scenario, outcomes=(*scenario.outcomes, *added))
    return Draws.of(extended, rows, draws.rates)


def simulate(draws: Draws, outcomes: list[Outcome], rng: np.random.Generator) -> dict:
    """WORLDS_PER_DRAW worlds per draw, each outcome drawn given its parents' drawn values."""
    shape = (*draws.shape, WORLDS_PER_DRAW)
    values: dict[str, np.ndarray] = {}
    for outcome in outcomes:
        position = outcome.combination_index(tuple(values[p] for p in outcome.parents))
        rows = np.broadcast_to(np.asarray(outcome.row_of_combination)[position], shape)
        table = draws.rows[outcome.name]  # (chain, draw, row[, category])
        uniform = rng.random(shape)
        if outcome.is_binary:
            values[outcome.name] = (uniform < np.take_along_axis(table, rows, axis=2)).astype(int)
        else:
            cumulative = np.cumsum(_category_rows(table, rows), axis=-1)
            drawn = (uniform[..., np.newaxis] >= cumulative).sum(axis=-1)
            # Rounding can leave the last cumulative sum a hair below 1.
            values[outcome.name] = np.minimum(drawn, outcome.cardinality - 1)
    return values


def _category_rows(table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """table (chain, draw, row, category) indexed by rows (chain, draw, world)."""
    chain, draw = np.indices(rows.shape[:2])
    return table[chain[..., np.newaxis], draw[..., np.newaxis], rows]


def top_worlds(posterior: Draws, prior: Draws, rng: np.random.Generator) -> list[dict]:
    """The TOP_WORLDS most probable worlds, with posterior and prior probability."""
    scenario = posterior.scenario
    names = [o.name for o in scenario.outcomes]
    if probability.combination_count(scenario.outcomes) <= EXACT_LIMIT:
        post = _mean_joint(posterior, names)
        pri = _mean_joint(prior, names)
    else:
        post = _frequencies(simulate(posterior, list(scenario.outcomes), rng), names)
        pri = _frequencies(simulate(prior, list(scenario.outcomes), rng), names)
    ranked = sorted(post.items(), key=lambda item: -item[1])[:TOP_WORLDS]
    result = []
    for combo, value in ranked:
        described = {}
        for name, code in zip(names, combo, strict=True):
            outcome = scenario.outcome(name)
            described[name] = bool(code) if outcome.is_binary else outcome.categories[code]
        result.append(
            {"values": described, "probability": value, "prior_probability": pri.get(combo, 0.0)}
        )
    return result


def _mean_joint(draws: Draws, names: list[str]) -> dict:
    """The probability of every world, averaged over the draws."""
    mean = draws.joint(names).reshape(*draws.shape, -1).mean(axis=(0, 1))
    combos = probability.value_combinations(draws.scenario, names)
    return {tuple(int(v) for v in combo): float(p) for combo, p in zip(combos, mean, strict=True)}


def _frequencies(worlds: dict[str, np.ndarray], names: list[str]) -> dict:
    stacked = np.stack([worlds[name].ravel() for name in names], axis=-1)
    combos, counts = np.unique(stacked, axis=0, return_counts=True)
    total = counts.sum()
    return {
        tuple(int(v) for v in combo): count / total
        for combo, count in zip(combos, counts, strict=True)
    }
