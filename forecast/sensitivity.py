"""Which belief drives the answer: each input moved one at a time, and power-scaling.

- **One at a time (the tornado).** Each binary prior row's mean is moved down and up by SHIFT on
  the probability scale (clipped to CLIP), its strength a + b kept; each category of a
  categorical row likewise, the other categories scaled to make room, the Dirichlet's total
  kept; an event row's rate in each period is halved and doubled (RATE_FACTOR), its Gamma's
  shape kept; each evidence item's weight is set to 0 and to 1. The posterior mean of every
  outcome and named scenario under each change is computed by Pareto-smoothed importance
  reweighting of the posterior draws, the weights being the change in the model's log density
  at each draw. Where the weights are unreliable (Pareto k-hat above 0.7) the draws are moved
  toward the changed posterior and weighted again (`forecast.moment_matching`); where that fails
  too, the compiled model is sampled again with the changed numbers.
- **Power-scaling** (Kallioinen et al. 2023, `arviz_stats.psense`): how much each outcome's and
  scenario's posterior moves when the prior, or the likelihood, is raised to a power near 1; both
  moving is the sign of a prior-data conflict, the prior alone of a weak likelihood.

The model's log prior and log likelihood at each draw come from the model itself (the terms PyMC
builds, without the sampler's transforms), so every part of the model, reference classes
included, is covered by one definition.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from forecast import events, variables
from forecast.spec import Outcome, Scenario
from forecast.spec.overrides import format_path

SHIFT = 0.1
CLIP = (0.01, 0.99)
# An event's rate is moved by this factor down and up: on a rate, a factor is what an analyst
# argues about ("twice as likely to happen in any month"), where 0.1 has no fixed meaning.
RATE_FACTOR = 2.0
# Above this Pareto k-hat the reweighted means are not trusted: the draws are moved, or failing
# that the model is sampled again.
KHAT_LIMIT = 0.7
# A change sampled again needs its means only, to well within the tornado's resolution: nutpie's
# adaptation settles in a few hundred steps on the models here.
REFIT_CHAINS = 2
REFIT_DRAWS = 200
REFIT_TUNE = 200
# The draws at which `_DensityAt.sides` sees which terms a change moves, checks the changes it
# evaluates together, and checks the high side of a change against its prediction.
PROBE_DRAWS = 64
# How far apart two values of the compiled log density may be and still be taken as equal in
# those checks (the high side's change against its prediction from the low side's, less a
# constant; a term evaluated with other changes against the same term evaluated alone). The
# compiled log density is itself off by up to a few 1e-7 at some draws (numba's fast math: the
# Brexit file's Beta rows, against SciPy's), so less than this is its rounding; a log weight
# off by 1e-6 moves a weight by a millionth.
AFFINE_TOLERANCE = 1e-6
# Power-scaling sensitivity (cumulative Jensen-Shannon distance per log2 of the power) above
# which a quantity is called sensitive, as in arviz_stats.psense_summary.
POWER_THRESHOLD = 0.05
# The powers the prior and the likelihood are raised to, arviz_stats.psense's own.
POWERS = (0.99, 1.01)


@dataclass(frozen=True)
class Change:
    """One input of the file, moved down (low) and up (high): the model data each side sets."""

    input: str  # in the --set path form: outcomes.X.prior[.ROW], evidence[i].weight
    kind: str  # "prior", "rate" (an event's) or "evidence"
    low: dict[str, np.ndarray]
    high: dict[str, np.ndarray]
    value: float  # the input's value in the file: a prior row's mean, an item's weight
    values: tuple[float, float]  # its low and high value
    category: str | None = None


def changes(scenario: Scenario, data: dict[str, np.ndarray]) -> list[Change]:
    """Every input the tornado moves, with the model data of each side (from `data`)."""
    result = []
    for outcome in scenario.outcomes:
        for index, row in enumerate(outcome.rows):
            path = ("outcomes", outcome.name, "prior", *((row.key,) if outcome.parents else ()))
            where = format_path(path)
            if outcome.is_event:
                result.extend(_event_row(outcome, index, path, data))
            elif outcome.is_binary:
                result.append(_binary_row(outcome, index, where, data))
            else:
                result.extend(_categorical_row(outcome, index, where, data))
    for index in range(len(scenario.evidence)):
        name = variables.evidence(index, "weight")
        result.append(
            Change(
                input=format_path(("evidence", index, "weight")),
                kind="evidence",
                low={name: np.array(0.0)},
                high={name: np.array(1.0)},
                value=float(data[name]),
                values=(0.0, 1.0),
            )
        )
    return result


def _moved(mean: float) -> tuple[float, float]:
    return max(CLIP[0], mean - SHIFT), min(CLIP[1], mean + SHIFT)


def _binary_row(outcome: Outcome, index: int, where: str, data: dict) -> Change:
    names = variables.prior(outcome, "alpha"), variables.prior(outcome, "beta")
    alpha, beta = (float(data[name][index]) for name in names)
    strength = alpha + beta
    sides = []
    for moved in _moved(alpha / strength):
        changed = {name: data[name].copy() for name in names}
        changed[names[0]][index] = moved * strength
        changed[names[1]][index] = (1 - moved) * strength
        sides.append(changed)
    mean = alpha / strength
    return Change(where, "prior", sides[0], sides[1], value=mean, values=_moved(mean))


def _event_row(outcome: Outcome, index: int, path: tuple, data: dict) -> list[Change]:
    """An event row's rate in each period: its mean halved and doubled, its Gamma's shape (and
    so its relative spread) kept."""
    name = variables.prior(outcome, "rate")
    scale = events.per_year(outcome.timeline.per)
    shape = data[variables.prior(outcome, "shape")]
    result = []
    for period in range(shape.shape[1]):
        mean = float(shape[index, period] / data[name][index, period]) / scale
        sides = []
        for factor in RATE_FACTOR, 1 / RATE_FACTOR:  # a larger Gamma rate, a smaller mean
            changed = data[name].copy()
            changed[index, period] *= factor
            sides.append({name: changed})
        # The row itself where its rate is constant: stated as a rate or by dates alike.
        where = (*path, "rate", period) if outcome.timeline.breaks else path
        result.append(
            Change(
                format_path(where),
                "rate",
                sides[0],
                sides[1],
                value=mean,
                values=(mean / RATE_FACTOR, mean * RATE_FACTOR),
            )
        )
    return result


def _categorical_row(outcome: Outcome, index: int, where: str, data: dict) -> list[Change]:
    name = variables.prior(outcome, "concentration")
    concentration = data[name][index]
    total = float(concentration.sum())
    result = []
    for k, category in enumerate(outcome.categories):
        mean = concentration[k] / total
        sides = []
        for moved in _moved(mean):
            # The other categories keep their proportions among themselves.
            row = concentration * (1 - moved) / (1 - mean)
            row[k] = moved * total
            row = row / row.sum() * total
            changed = data[name].copy()
            changed[index] = row
            sides.append({name: changed})
        result.append(
            Change(
                where,
                "prior",
                sides[0],
                sides[1],
                value=float(mean),
                values=_moved(mean),
                category=category,
            )  # fmt: skip
        )
    return result


class LogDensity:
    """The model's log prior and log likelihood at many draws at once, for any model data.

    Built once per structure from the PyMC model: the sampler's transforms removed (the draws
    are of the parameters themselves), vectorised over draws (forecast.batched), compiled like
    the model (about 3.5 ms a call for the flagship's 4,000 draws). One compiled function for
    the whole model: compiling one per set of terms that a change moves would evaluate a change
    faster, but a structure new to the machine would compile each (tens of seconds of numba
    compilation for the flagship) to save a fraction of a second a run. Instead the function
    also gives each term element by element (each parameter's density per row, each potential),
    so that one evaluation serves several changes that move different elements (`sides`).

    `function(*draws)` gives the log prior and the log likelihood at each draw, then the terms,
    each shaped (draws, *elements) or (1, *elements) where it is the same at every draw (about
    a fifth more time than the two sums alone). `reads[k]` names the model data that term k
    reads.
    """

    def __init__(self, model):
        import pytensor
        import pytensor.tensor as pt
        from pymc.model.transform.conditioning import remove_value_transforms

        from forecast.batched import vectorized

        plain = remove_value_transforms(model)
        likelihood = [p for p in plain.potentials if _is_data_term(p.name)]
        prior_terms = [p for p in plain.potentials if not _is_data_term(p.name)]
        log_prior = plain.logp(vars=[*plain.free_RVs, *prior_terms])
        log_likelihood = plain.logp(vars=likelihood) if likelihood else pt.constant(0.0)
        terms = plain.logp(vars=[*plain.free_RVs, *prior_terms, *likelihood], sum=False)
        self.names = [rv.name for rv in plain.free_RVs]
        values = [plain.rvs_to_values[rv] for rv in plain.free_RVs]
        batched = [pt.tensor(dtype=v.type.dtype, shape=(None, *v.type.shape)) for v in values]
        originals = [pt.as_tensor(log_prior), pt.as_tensor(log_likelihood), *terms]
        outputs = vectorized(originals, replace=dict(zip(values, batched, strict=True)))
        # A term the same at every draw has no draws axis after vectorising: give it one.
        outputs = [
            out if out.type.ndim > original.type.ndim else pt.shape_padleft(out)
            for out, original in zip(outputs, originals, strict=True)
        ]
        self._compiled = pytensor.function(
            batched, outputs, mode="FAST_RUN", on_unused_input="ignore"
        )
        self.data = {v.name: v for v in self._compiled.get_shared() if v.name}
        self.reads = data_read(terms)

    def function(self, *draws: np.ndarray) -> list[np.ndarray]:
        """The outputs at these draws (one array per parameter, in the order of `names`)."""
        # numba compiles the function once for each memory layout its inputs come in, and a
        # first call with another layout costs as much as the first compile (about 17 s for
        # a structure new to the machine): every caller's draws are made C-contiguous here, so
        # the tornado and moment matching share one compiled function.
        return self._compiled(*(np.ascontiguousarray(values) for values in draws))

    def at(self, posterior: xr.Dataset):
        """Of these draws: called with `data`, the (log prior, log likelihood) at each draw
        under `data`, shaped (chain, draw) (`unchanged(data)` the same, evaluated once); then
        `change(data, changed)`, how much they move when the data in `changed` replace those of
        `data`, and `sides(data, pairs)`, the change in their sum to both sides of many inputs.
        The draws are read once, for the many sets of data that a sensitivity analysis or a
        sweep tries on them."""
        return _DensityAt(self, posterior)


def data_read(terms) -> list[frozenset[str]]:
    """The names of the model data (shared variables) each of these graphs reads."""
    from pytensor.compile.sharedvalue import SharedVariable
    from pytensor.graph.traversal import ancestors

    return [
        frozenset(v.name for v in ancestors([term]) if isinstance(v, SharedVariable) and v.name)
        for term in terms
    ]


def flat_draws(posterior: xr.Dataset, names: Sequence[str]) -> list[np.ndarray]:
    """Each named variable's draws with chains and draws in one leading axis, as the functions
    batched over draws (LogDensity, moment_matching.UnconstrainedDensity) take them."""
    count = posterior.sizes["chain"] * posterior.sizes["draw"]
    result = []
    for name in names:
        variable = posterior[name]
        extra = [d for d in variable.dims if d not in ("chain", "draw")]
        values = variable.transpose("chain", "draw", *extra).values
        result.append(values.reshape(count, *values.shape[2:]))
    return result


def set_model_data(shared: dict, data: dict[str, np.ndarray]) -> None:
    """Give a compiled function's `pm.Data` (by name) these values: the model's own shared
    variables, so sampling reads them too. Names the function does not read are skipped."""
    for name, value in data.items():
        if name in shared:
            shared[name].set_value(np.asarray(value, dtype=shared[name].dtype))


class _DensityAt:
    def __init__(self, density: LogDensity, posterior: xr.Dataset):
        self.density = density
        self.shape = posterior.sizes["chain"], posterior.sizes["draw"]
        self.count = self.shape[0] * self.shape[1]
        self.inputs = flat_draws(posterior, density.names)
        probe = np.unique(np.linspace(0, self.count - 1, min(PROBE_DRAWS, self.count)).astype(int))
        self._probe = probe, [values[probe] for values in self.inputs]
        # The function's outputs under the file's data, at every draw and at the probe draws.
        self._unchanged: list | None = None
        self._unchanged_at_probe: list | None = None

    def set(self, data: dict[str, np.ndarray]) -> None:
        """Give the model these data (the model's own: sampling reads them too)."""
        set_model_data(self.density.data, data)

    def _shaped(self, outputs) -> tuple[np.ndarray, np.ndarray]:
        return tuple(np.broadcast_to(o, (self.count,)).reshape(self.shape) for o in outputs[:2])

    def __call__(self, data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        self.set(data)
        return self._shaped(self.density.function(*self.inputs))

    def unchanged(self, data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(log prior, log likelihood) at each draw under `data`, which every change is measured
        from: evaluated once."""
        return self._shaped(self._unchanged_outputs(data))

    def _unchanged_outputs(self, data) -> list:
        """The function's outputs at every draw under `data`: evaluated once."""
        if self._unchanged is None:
            self.set(data)
            self._unchanged = self.density.function(*self.inputs)
        return self._unchanged

    def _unchanged_probe(self, data) -> list:
        """The function's outputs at the probe draws under `data`: evaluated once."""
        if self._unchanged_at_probe is None:
            self.set(data)
            self._unchanged_at_probe = self.density.function(*self._probe[1])
        return self._unchanged_at_probe

    def change(
        self, data: dict[str, np.ndarray], changed: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The change in (log prior, log likelihood) at each draw from `data` to `data` updated
        by `changed`; the model holds `data` before and after."""
        before = self.unchanged(data)
        moved = self._shaped(self._evaluated(data, changed, self.inputs))
        return moved[0] - before[0], moved[1] - before[1]

    def _evaluated(self, data, changed, inputs) -> list:
        """The compiled function at `inputs` with the model's `data` updated by `changed`; the
        model holds `data` before and after."""
        try:
            self.set(changed)
            return self.density.function(*inputs)
        finally:
            self.set({name: data[name] for name in changed})

    def sides(
        self, data: dict[str, np.ndarray], pairs: Sequence[tuple[dict, dict]]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each input moved down and up (the model data of its low and its high side), the
        change in the log density (prior and likelihood together) at each draw from `data` to
        each side; the model holds `data` before and after.

        Every input the tornado moves is a parameter of a prior's exponential-family density
        (a Beta's, a Dirichlet's, a Gamma's) or an evidence item's weight, on which the log
        density depends affinely but for terms that are the same at every draw, and both sides
        move the same numbers in proportion. So the high side's change is the low side's times
        that proportion, plus a constant: one evaluation for both. The prediction is checked
        against the log density itself at PROBE_DRAWS draws (to AFFINE_TOLERANCE), which also
        give the constant, and a side it does not hold for is evaluated as well. The side
        evaluated of each input (the low one, unless it is the file's own numbers) is evaluated
        with those of other inputs where they move different terms (`_moves`).
        """
        primary, ratios = [], []
        for low, high in pairs:
            ratio = _proportion(data, low, high)
            ratios.append(ratio)
            # Where one side is the file's own numbers (ratio 0), the other is the one to move.
            primary.append(high if ratio == 0.0 and not _differs(data, low) else low)
        result = []
        moves = self._moves(data, primary)
        for (low, high), ratio, side, move in zip(pairs, ratios, primary, moves, strict=True):
            if ratio == 0.0:
                unmoved = np.zeros(self.count)
                pair = (move, unmoved) if side is low else (unmoved, move)
            else:
                at_high = None
                if ratio is not None and np.all(np.isfinite(move)):
                    constant = self._constant(data, high, ratio * move)
                    if constant is not None:
                        at_high = ratio * move + constant
                if at_high is None:
                    at_high = sum(self.change(data, high)).ravel()
                pair = (move, at_high)
            result.append(tuple(np.reshape(m, self.shape) for m in pair))
        return result

    def _moves(self, data, sides: list[dict]) -> list[np.ndarray]:
        """The change in the log density at each draw (flat) from `data` to each of `sides`.

        Which elements of the model's terms (a parameter's density in one row, one potential) a
        side moves is seen at the probe draws; where a term reads data the side sets but no
        element of it moved there, the side is taken to move all of it. Sides that move
        different elements and set different numbers are then evaluated together at every
        draw, each side's change read from its own elements: for the flagship, 28 sides in 4
        evaluations. This takes an element that a side moves at some draw to move at the probe
        draws too, as every density the tornado moves does (a Beta's, a Dirichlet's, a Gamma's
        and an evidence item's terms move at every draw). Each such evaluation is checked: at
        the probe draws every element is as the side that moves it gave it alone (or as `data`
        give it, where no side moves it), and at every draw the sides' changes add up to the
        change of the whole density. Where a check fails, the sides of that evaluation are
        evaluated one at a time.
        """
        probe, inputs = self._probe
        before = _elements(self._unchanged_probe(data), probe.size)
        alone, touched = [], []
        for side in sides:
            terms = _elements(self._evaluated(data, side, inputs), probe.size)
            alone.append(terms)
            moved = []
            for new, old, reads in zip(terms, before, self.density.reads, strict=True):
                elements = np.flatnonzero(np.any(new != old, axis=0))
                if not elements.size and reads.intersection(side):
                    elements = np.arange(new.shape[1])
                moved.append(elements)
            touched.append(moved)
        unchanged = self._unchanged_outputs(data)
        base = _elements(unchanged, self.count)
        moves: list = [None] * len(sides)
        for members in _together(data, sides, touched):
            outputs = self._evaluated(
                data, _combined(data, [sides[i] for i in members]), self.inputs
            )
            terms = _elements(outputs, self.count)
            whole = _total(outputs, self.count) - _total(unchanged, self.count)
            if len(members) == 1:
                moves[members[0]] = whole
                continue
            each = {i: _read(terms, base, touched[i], self.count) for i in members}
            expected = [old.copy() for old in before]
            for i in members:
                for t, e in enumerate(touched[i]):
                    expected[t][:, e] = alone[i][t][:, e]
            exact = all(
                np.allclose(new[probe], want, rtol=0, atol=AFFINE_TOLERANCE, equal_nan=True)
                for new, want in zip(terms, expected, strict=True)
            ) and np.allclose(
                sum(each.values()), whole, rtol=0, atol=AFFINE_TOLERANCE, equal_nan=True
            )
            for i in members:
                moves[i] = each[i] if exact else sum(self.change(data, sides[i])).ravel()
        return moves

    def _constant(self, data, changed, predicted: np.ndarray) -> float | None:
        """The constant that `predicted` differs from the change from `data` to `changed` by,
        at the probe draws; None where the difference is not a constant there."""
        probe, inputs = self._probe
        after = _total(self._evaluated(data, changed, inputs), probe.size)
        gap = after - _total(self._unchanged_probe(data), probe.size) - predicted.ravel()[probe]
        if not np.all(np.isfinite(gap)) or np.ptp(gap) > AFFINE_TOLERANCE:
            return None
        return float(np.mean(gap))


def _total(outputs: list, count: int) -> np.ndarray:
    """The log density (prior and likelihood) at each of `count` draws, from LogDensity's
    outputs."""
    return np.broadcast_to(outputs[0] + outputs[1], (count,))


def _elements(outputs: list, count: int) -> list[np.ndarray]:
    """LogDensity's terms, each shaped (draws, elements)."""
    return [np.broadcast_to(o, (count, *o.shape[1:])).reshape(count, -1) for o in outputs[2:]]


def _read(terms: list, base: list, touched: list, count: int) -> np.ndarray:
    """The change at each draw of the elements `touched` (per term), from `base` to `terms`."""
    change = np.zeros(count)
    for new, old, elements in zip(terms, base, touched, strict=True):
        if elements.size:
            change += (new[:, elements] - old[:, elements]).sum(axis=1)
    return change


def _together(data: dict, sides: list[dict], touched: list) -> list[list[int]]:
    """The sides in groups (of positions) that move no element and set no number in common:
    each in the first group it fits in."""
    groups = []  # (positions, the elements of each term moved, the numbers of each name set)
    for i, side in enumerate(sides):
        entries = {name: np.asarray(value) != data[name] for name, value in side.items()}
        group = next((g for g in groups if _fits(g, touched[i], entries)), None)
        if group is None:
            group = ([], [set() for _ in touched[i]], {})
            groups.append(group)
        members, elements, taken = group
        members.append(i)
        for t, e in enumerate(touched[i]):
            elements[t].update(e.tolist())
        for name, mask in entries.items():
            taken[name] = mask | taken[name] if name in taken else mask
    return [members for members, _, _ in groups]


def _fits(group, touched: list, entries: dict) -> bool:
    _, elements, taken = group
    return all(not elements[t].intersection(e.tolist()) for t, e in enumerate(touched)) and all(
        not np.any(mask & taken[name]) for name, mask in entries.items() if name in taken
    )


def _combined(data: dict, sides: list[dict]) -> dict[str, np.ndarray]:
    """The model data with every number each of `sides` sets (they set none in common)."""
    combined: dict[str, np.ndarray] = {}
    for side in sides:
        for name, value in side.items():
            value = np.asarray(value)
            combined[name] = np.where(value != data[name], value, combined.get(name, data[name]))
    return combined


def _differs(data: dict[str, np.ndarray], changed: dict[str, np.ndarray]) -> bool:
    return any(not np.array_equal(data[name], value) for name, value in changed.items())


def _proportion(data, low, high) -> float | None:
    """r where high - data = r (low - data) for every number the sides set (0.0 where a side
    is the file's own numbers); None where the sides do not lie on one line through `data`."""
    if low.keys() != high.keys():
        return None
    down = np.concatenate([np.ravel(low[n] - data[n]) for n in low]).astype(float)
    up = np.concatenate([np.ravel(high[n] - data[n]) for n in low]).astype(float)
    if not np.any(down) or not np.any(up):
        return 0.0
    ratio = float(up @ down / (down @ down))
    if not np.allclose(up, ratio * down, rtol=1e-12, atol=1e-12 * np.max(np.abs(up))):
        return None
    return ratio


def _is_data_term(name: str) -> bool:
    """Whether a potential of the model is a likelihood (evidence, reference-class cases)."""
    return name.startswith("evidence.") or name.endswith(".cases")


def reweighted_means(
    log_weights: np.ndarray, quantities: dict[str, np.ndarray], r_eff: float
) -> tuple[dict[str, float], float]:
    """Each quantity's mean under the draws weighted by exp(log_weights); and the k-hat."""
    means, _, khat = reweighted(log_weights, quantities, r_eff)
    return means, khat


def reweighted(
    log_weights: np.ndarray, quantities: dict[str, np.ndarray], r_eff: float
) -> tuple[dict[str, float], dict[str, float], float]:
    """Each quantity's mean and its Monte Carlo standard error under the draws weighted by
    exp(log_weights), Pareto-smoothed; and the Pareto k-hat of the weights (0 where the change
    leaves every weight equal, inf where the weights cannot be used)."""
    weights, khat = psis_weights(log_weights, r_eff)
    means, mcse = weighted(weights, quantities, r_eff)
    return means, mcse, max(khat, 0.0)


def weighted(
    weights: np.ndarray, quantities: dict[str, np.ndarray], r_eff: float
) -> tuple[dict[str, float], dict[str, float]]:
    """Each quantity's mean and Monte Carlo standard error under normalised weights."""
    if not quantities:
        return {}, {}
    flat = np.stack([np.ravel(values) for values in quantities.values()])  # (quantity, draw)
    means = flat @ weights
    mcse = np.sqrt((flat - means[:, np.newaxis]) ** 2 @ weights**2 / r_eff)
    names = list(quantities)
    return dict(zip(names, means.tolist(), strict=True)), dict(
        zip(names, mcse.tolist(), strict=True)
    )


def relative_efficiency(values: Sequence[np.ndarray]) -> float:
    """The draws' relative efficiency for PSIS: the smallest of the quantities' ESS / n."""
    from arviz_stats.base import array_stats

    varying = [v for v in values if np.ptp(v) > 0]
    r_eff = min((float(array_stats.ess(v, method="mean")) / v.size for v in varying), default=1.0)
    return min(max(r_eff, 1e-3), 1.0)


def psis_weights(log_weights: np.ndarray, r_eff: float) -> tuple[np.ndarray, float]:
    """Pareto-smoothed importance weights (flat, summing to 1) and their Pareto k-hat: -inf
    where every weight is the same, inf where the weights cannot be used at all."""
    from arviz_stats.base import array_stats

    flat = np.asarray(log_weights, dtype=float).ravel()
    uniform = np.full(flat.size, 1 / flat.size)
    if not np.all(np.isfinite(flat)):
        return uniform, math.inf
    if np.ptp(flat) == 0:  # the file's own numbers: every draw as it is, no tail to fit
        return uniform, -math.inf
    try:
        # psislw negates what it is given (it expects a log likelihood to divide by).
        smoothed, khat = array_stats.psislw(-flat, r_eff=r_eff, axis=-1)
    except ValueError:  # a tail too flat to fit: trust nothing
        return uniform, math.inf
    weights = np.exp(smoothed - smoothed.max())
    return weights / weights.sum(), float(khat)


def quantities(scenario: Scenario, draws, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """What the tornado and power-scaling report on, per draw, shaped (chain, draw): each
    binary outcome's probability, each category's (as OUTCOME=CATEGORY), each named scenario's."""
    from forecast.worlds import scenario_probability

    result = {}
    for outcome in scenario.outcomes:
        marginal = draws.marginal(outcome)
        if outcome.is_binary:
            result[outcome.name] = marginal[1]
        else:
            for k, category in enumerate(outcome.categories):
                result[f"{outcome.name}={category}"] = marginal[k]
    for named in scenario.scenarios:
        result[named.name], _ = scenario_probability(draws, named.expression, rng)
    return result


def _effects(scenario: Scenario, low: dict[str, float], high: dict[str, float]) -> dict:
    """Low and high means by outcome (per category for a categorical one) and scenario."""
    effects = {}
    for outcome in scenario.outcomes:
        if outcome.is_binary:
            effects[outcome.name] = {"low": low[outcome.name], "high": high[outcome.name]}
        else:
            keys = [f"{outcome.name}={c}" for c in outcome.categories]
            effects[outcome.name] = {
                side: dict(zip(outcome.categories, (means[k] for k in keys), strict=True))
                for side, means in (("low", low), ("high", high))
            }
    for named in scenario.scenarios:
        effects[named.name] = {"low": low[named.name], "high": high[named.name]}
    return effects


def summarize_sensitivity(
    scenario: Scenario, posterior: xr.Dataset, draws, settings, rng, *, matcher=None
) -> dict:
    """The `sensitivity` block of summary.json (docs/run-output.md), and the groups `log_prior`
    and `log_likelihood` of the draws (for posterior.nc). `matcher`: the run's
    moment_matching.Matcher, shared with its evidence items; a new one if not given."""
    from dataclasses import replace

    from arviz_stats.base import array_stats

    from forecast import inference
    from forecast import model as scenario_model
    from forecast.moment_matching import Matcher
    from forecast.worlds import Draws

    data = scenario_model.model_data(scenario)
    density = inference.log_density(scenario).at(posterior)
    log_prior, log_likelihood = density.unchanged(data)
    values = quantities(scenario, draws, rng)
    # Relative efficiency of the draws, for PSIS: the smallest of the quantities reported.
    r_eff = relative_efficiency(list(values.values()))
    tornado = []
    matcher = matcher or Matcher(scenario, posterior, data)
    inputs = changes(scenario, data)
    sides = density.sides(data, [(change.low, change.high) for change in inputs])
    for change, moves in zip(inputs, sides, strict=True):
        means, errors, khats, matched, refit = {}, {}, {}, [], []
        for side, changed, move in zip(
            ("low", "high"), (change.low, change.high), moves, strict=True
        ):
            means[side], mcse, khats[side] = reweighted(move, values, r_eff)
            errors[side] = max(mcse.values(), default=0.0)
            if not khats[side] <= KHAT_LIMIT and (
                moved := matcher({**data, **changed}, r_eff, move=move)
            ):
                # Only the moved half of the draws has new values.
                at_moved = {
                    name: moved.joined(value, values[name])
                    for name, value in quantities(scenario, moved.draws, rng).items()
                }
                means[side], mcse = weighted(moved.weights, at_moved, r_eff)
                errors[side] = max(mcse.values(), default=0.0)
                matched.append(side)
            elif not khats[side] <= KHAT_LIMIT:
                sampled = inference.sample(
                    scenario,
                    replace(settings, draws=REFIT_DRAWS, tune=REFIT_TUNE, chains=REFIT_CHAINS),
                    data_changes=changed,
                    with_prior=False,
                )
                refit_draws = Draws(scenario, sampled.tree["posterior"].to_dataset())
                again = quantities(scenario, refit_draws, rng)
                means[side] = {name: float(v.mean()) for name, v in again.items()}
                errors[side] = max(
                    (float(array_stats.mcse(v, method="mean")) for v in again.values()),
                    default=0.0,
                )
                refit.append(side)
        density.set(data)  # the file's numbers back, after a change sampled again
        tornado.append(
            {
                "input": change.input,
                "kind": change.kind,
                **({"category": change.category} if change.category else {}),
                "value": change.value,
                "values": list(change.values),
                "effects": _effects(scenario, means["low"], means["high"]),
                "mcse": errors,
                "khat": max(khats.values()),
                "moment_matched": matched,
                "refit": refit,
            }
        )
    groups = {
        "log_prior": xr.Dataset({"prior": (("chain", "draw"), log_prior)}),
        "log_likelihood": xr.Dataset({"likelihood": (("chain", "draw"), log_likelihood)}),
    }
    settings_used = {
        "shift": SHIFT,
        "khat_limit": KHAT_LIMIT,
        "power_threshold": POWER_THRESHOLD,
        "refit": {"chains": REFIT_CHAINS, "draws": REFIT_DRAWS, "tune": REFIT_TUNE},
    }
    block = {
        "settings": settings_used,
        "tornado": tornado,
        "power_scaling": power_scaling(scenario, values, groups),
    }
    return block, groups


def power_scaling(scenario: Scenario, values: dict[str, np.ndarray], groups: dict) -> dict:
    """Prior and likelihood power-scaling sensitivity of every reported quantity, diagnosed.

    A quantity that is the same at every draw (a scenario that cannot happen) moves with
    nothing: its sensitivity is 0, and it is left out of the computation, whose distances would
    be 0 / 0 for it.
    """
    varying = {name: v for name, v in values.items() if np.ptp(v) > 0}
    prior = _sensitivity_to(groups["log_prior"]["prior"].values, varying)
    likelihood = _sensitivity_to(groups["log_likelihood"]["likelihood"].values, varying)
    result = {}
    for name in values:
        to_prior, to_likelihood = prior.get(name, 0.0), likelihood.get(name, 0.0)
        if to_prior >= POWER_THRESHOLD and to_likelihood >= POWER_THRESHOLD:
            diagnosis = "prior-data conflict"
        elif to_prior >= POWER_THRESHOLD > to_likelihood:
            diagnosis = "weak likelihood"
        else:
            diagnosis = None
        result[name] = {"prior": to_prior, "likelihood": to_likelihood, "diagnosis": diagnosis}
    return result


def _sensitivity_to(log_density: np.ndarray, values: dict) -> dict[str, float]:
    """Each quantity's power-scaling sensitivity to one part of the model (its log density at
    each draw, shaped (chain, draw)); 0 for every quantity when that part is the same at every
    draw (no evidence, or a prior flat where the draws are), since scaling it then changes
    nothing (and there is no tail for the smoothing to fit).

    What `arviz_stats.psense` computes, on ArviZ's functions over arrays: the smoothed
    weights of the part raised to each power, then every quantity's distance under them at
    once (psense's labelled arrays cost more than the distances here).
    """
    from arviz_stats.base import array_stats

    if np.ptp(log_density) < 1e-12 or not values:
        return dict.fromkeys(values, 0.0)
    stacked = np.stack(list(values.values()))  # (quantity, chain, draw)
    weights = []
    for alpha in POWERS:
        log_weights = array_stats.power_scale_lw(log_density, alpha=alpha, axis=(-2, -1))
        scaled = np.exp(log_weights)
        weights.append(np.broadcast_to(scaled / scaled.sum(), stacked.shape))
    sensitivity = array_stats.power_scale_sense(stacked, *weights, *POWERS)
    return {name: float(value) for name, value in zip(values, sensitivity, strict=True)}
