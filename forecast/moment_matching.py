"""Importance weighting that first moves the draws toward the changed posterior.

Reweighting the forecast's draws to a changed input fails (Pareto k-hat above 0.7) when the
change moves the posterior by more than its own width: few draws lie where the changed posterior
is. Before sampling again, the sensitivity analysis tries importance weighted moment matching
(Paananen, Piironen, Bürkner and Vehtari 2021, "Implicitly adaptive importance sampling"): on
the sampler's unconstrained scale, the draws are moved by affine maps that give them the
weighted mean, then the weighted variances, then the weighted covariance, each kept only if it
lowers k-hat. The moved draws are exact draws of the posterior pushed through the map, whose
density is the posterior's divided by the map's Jacobian, so the weights stay computable. The
final estimate uses the split proposal of the paper (half the draws moved by the map, half not,
weighted against the mixture of both), which keeps it consistent although the map was fitted
to the same draws. Each step costs one evaluation of the log density at 4,000 points (a few
milliseconds), against a quarter of a second or more for sampling again.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr

# Affine maps tried before giving up; the paper's examples settle in a handful.
MAX_ITERATIONS = 20
# The maps are fitted until k-hat is this far under the limit: the split estimate that follows
# has a k-hat of its own, often higher than that of the draws the map was fitted to.
SETTLED = 0.7


@dataclass(frozen=True)
class Matched:
    """Importance weights of `points` (flat, summing to 1) and their Pareto k-hat."""

    points: np.ndarray  # (draws, parameters) on the sampler's unconstrained scale
    weights: np.ndarray
    khat: float
    moved: int  # the first `moved` points are moved draws, the others the draws as they were


@dataclass(frozen=True)
class Moved:
    """What a Matcher gives: the moved draws, and the weights of all the draws (the moved ones
    first, then the others as they were, in their order flattened)."""

    draws: object  # forecast.worlds.Draws at the moved draws, shaped (1 chain, draws)
    weights: np.ndarray

    def joined(self, at_moved: np.ndarray, at_original: np.ndarray) -> np.ndarray:
        """A value per draw at all the weighted draws, shaped (1, draws, ...): `at_moved` at the
        moved draws (shaped as `draws`), the rest read from `at_original`, the values at the
        original draws (chain, draw, ...), which the draws kept as they were still have."""
        moved_count = self.draws.shape[1]
        if at_original.shape[0] * at_original.shape[1] != self.weights.size:
            raise ValueError("values at other draws than those the matcher moved")
        head = at_moved.reshape(moved_count, *at_moved.shape[2:])
        rest = at_original.reshape(-1, *at_original.shape[2:])[moved_count:]
        return np.concatenate([head, rest])[np.newaxis]


def moment_match(
    points: np.ndarray,
    log_target: Callable[[np.ndarray], np.ndarray],
    log_base: Callable[[np.ndarray], np.ndarray],
    *,
    khat_limit: float,
    r_eff: float,
    psis: Callable[[np.ndarray, float], tuple[np.ndarray, float]],
    log_base_at_points: np.ndarray | None = None,
    log_target_at_points: np.ndarray | None = None,
) -> Matched | None:
    """Weights for the changed posterior (`log_target`, unnormalised) from draws of the base one
    (`log_base`), both on the unconstrained scale; None when no map lowers the k-hat or the
    densities are not finite at the moved draws. `log_base_at_points` and
    `log_target_at_points`, if known, save evaluations (a sensitivity analysis matches many
    changes from the same draws, and has the change in the log density at them already)."""
    if log_base_at_points is None:
        log_base_at_points = log_base(points)
    if log_target_at_points is None:
        log_target_at_points = log_target(points)
    log_proposal = log_base_at_points
    current, target_at_current = points, log_target_at_points
    weights, khat = _weights(target_at_current, log_proposal, r_eff, psis)
    if weights is None:
        return None
    # The map from the original draws to the current ones: x -> x @ scale.T + shift.
    scale, shift = np.eye(points.shape[1]), np.zeros(points.shape[1])
    moved_at_all = False
    for _ in range(MAX_ITERATIONS):
        if khat <= SETTLED * khat_limit:
            break
        for transform in (_mean, _variances, _covariance):
            step = transform(current, weights)
            if step is None:
                continue
            matrix, offset, log_det = step
            candidate = current @ matrix.T + offset
            target_at_candidate = log_target(candidate)
            moved_weights, moved_khat = _weights(
                target_at_candidate, log_proposal - log_det, r_eff, psis
            )
            if moved_khat < khat:
                current, weights, khat = candidate, moved_weights, moved_khat
                target_at_current = target_at_candidate
                log_proposal = log_proposal - log_det
                scale, shift = matrix @ scale, shift @ matrix.T + offset
                moved_at_all = True
                break
        else:
            break
    if not moved_at_all:
        return None
    half = points.shape[0] // 2
    # The first half of the draws moved by the whole map (as the iterations moved them), the
    # second kept: the target is known at both.
    mixed = np.concatenate([current[:half], points[half:]])
    target_at_mixed = np.concatenate([target_at_current[:half], log_target_at_points[half:]])
    return _split(
        points, mixed, target_at_mixed, log_base_at_points, scale, shift, log_base, r_eff, psis
    )


def _split(points, mixed, target_at_mixed, log_base_at_points, scale, shift, log_base, r_eff, psis):
    """The estimate from half the draws moved by the whole map and half kept (`mixed`), weighted
    against the even mixture of the posterior and its image under the map."""
    half = points.shape[0] // 2
    # The posterior at each of those draws, and at where it came from under the map's inverse
    # (for the first half: the original draws themselves).
    at_mixed, at_back = log_base_at_points.copy(), log_base_at_points.copy()
    at_mixed[:half] = log_base(mixed[:half])
    at_back[half:] = log_base(np.linalg.solve(scale, (points[half:] - shift).T).T)
    _, log_det = np.linalg.slogdet(scale)
    log_mixture = np.logaddexp(at_mixed, at_back - log_det)
    weights, khat = _weights(target_at_mixed, log_mixture, r_eff, psis)
    if weights is None:
        return None
    return Matched(mixed, weights, khat, moved=half)


def _weights(log_target, log_proposal, r_eff, psis) -> tuple[np.ndarray | None, float]:
    """Pareto-smoothed weights of draws of the proposal for the target, and their k-hat; (None,
    inf) where they cannot be computed.

    A moved draw can land where the changed posterior has no density to speak of (a probability
    so near 0 that the evidence's likelihood underflows): such a draw weighs nothing, and the
    other draws' weights are smoothed among themselves. Any other non-finite weight means the
    densities cannot be trusted there.
    """
    log_weights = log_target - log_proposal
    nothing = np.isneginf(log_target) & np.isfinite(log_proposal)
    rest = log_weights[~nothing]
    if rest.size < 2 or not np.all(np.isfinite(rest)):
        return None, math.inf
    smoothed, khat = psis(rest, r_eff)
    if not np.isfinite(khat) and khat != -math.inf:
        return None, math.inf
    weights = np.zeros(log_weights.size)
    weights[~nothing] = smoothed
    return weights, khat


def _mean(points: np.ndarray, weights: np.ndarray):
    """The map that gives the draws the weighted mean."""
    offset = weights @ points - points.mean(axis=0)
    return np.eye(points.shape[1]), offset, 0.0


def _variances(points: np.ndarray, weights: np.ndarray):
    """The map that gives the draws the weighted mean and the weighted marginal variances."""
    mean, weighted_mean = points.mean(axis=0), weights @ points
    ratio = (weights @ (points - weighted_mean) ** 2) / points.var(axis=0)
    if not np.all(np.isfinite(ratio) & (ratio > 0)):
        return None
    factor = np.sqrt(ratio)
    return np.diag(factor), weighted_mean - factor * mean, float(np.sum(np.log(factor)))


def _covariance(points: np.ndarray, weights: np.ndarray):
    """The map that gives the draws the weighted mean and the weighted covariance."""
    mean, weighted_mean = points.mean(axis=0), weights @ points
    centred, weighted = points - mean, points - weighted_mean
    try:
        lower = np.linalg.cholesky(centred.T @ centred / points.shape[0])
        weighted_lower = np.linalg.cholesky((weighted * weights[:, None]).T @ weighted)
    except np.linalg.LinAlgError:  # too few effective draws for a covariance
        return None
    matrix = weighted_lower @ np.linalg.inv(lower)
    log_det = float(np.sum(np.log(np.diag(weighted_lower))) - np.sum(np.log(np.diag(lower))))
    return matrix, weighted_mean - mean @ matrix.T, log_det


class Matcher:
    """Moment matching from one run's draws to the same model with other data: for the changes
    that plain reweighting cannot follow (a tornado's side, a run without an evidence item).

    Each call gives the moved draws and the weights (`Moved`), or None where the moved draws
    are not trusted either, and the caller samples again. The model on the
    unconstrained scale and the draws on it are made on the first call, once per run.
    """

    def __init__(self, scenario, posterior: xr.Dataset, data: dict[str, np.ndarray]):
        self.scenario, self.posterior, self.data = scenario, posterior, data
        self.density = self.points = self.at_points = None
        self.unavailable = False

    def __call__(self, changed: dict[str, np.ndarray], r_eff: float, move=None):
        """`changed`: the model data to match to; `move`, if known, the change in the log
        density at each draw from the run's data to those (shaped like the draws), which saves
        an evaluation."""
        from forecast import inference
        from forecast.sensitivity import KHAT_LIMIT, psis_weights
        from forecast.worlds import Draws

        if self.unavailable:
            return None
        if self.points is None:
            try:
                self.density = inference.unconstrained_density(self.scenario)
            except NotImplementedError:
                self.unavailable = True
                return None
            self.points = self.density.points(self.posterior)
            self.at_points = self.density.log_density(self.data)(self.points)
        try:
            result = moment_match(
                self.points,
                self.density.log_density({**self.data, **changed}),
                self.density.log_density(self.data),
                khat_limit=KHAT_LIMIT,
                r_eff=r_eff,
                psis=psis_weights,
                log_base_at_points=self.at_points,
                log_target_at_points=None if move is None else self.at_points + np.ravel(move),
            )
        finally:
            self.density.set(self.data)  # the file's numbers back
        if result is None or not result.khat <= KHAT_LIMIT:
            return None
        moved = result.points[: result.moved]
        return Moved(
            Draws(self.scenario, self.density.dataset(moved, self.posterior)), result.weights
        )


class UnconstrainedDensity:
    """The model on the sampler's unconstrained scale, over many points at once, for any model
    data: the draws of a posterior as points, the log density (Jacobians included) at points,
    and the model's parameters and deterministics at points, as a posterior dataset.

    Built on the run's forecast.sensitivity.LogDensity (the density of the parameters
    themselves) and PyMC's transforms of the model's parameters, written out below: nothing to
    compile but the deterministics, which is what makes it cheap for a structure new to the
    machine. A model with a transform not written out here is matched by sampling again.
    """

    def __init__(self, model, log_density):
        import pytensor
        import pytensor.tensor as pt
        from pymc.model.transform.conditioning import remove_value_transforms

        from forecast.batched import vectorized

        start = model.initial_point()
        self.free, self.transforms, self.shapes = [], [], []
        for rv in model.free_RVs:
            transform = model.rvs_to_transforms[rv]
            name = None if transform is None else type(transform).__name__
            if transform is not None and not type(transform).__module__.startswith("pymc."):
                name = f"{type(transform).__module__}.{name}"  # not one of PyMC's own
            if name not in _TRANSFORMS:
                raise NotImplementedError(f"no unconstrained scale written out for {name}")
            self.free.append(rv.name)
            self.transforms.append(_TRANSFORMS[name])
            self.shapes.append(start[model.rvs_to_values[rv].name].shape)
        self.log_density_of_parameters = log_density
        plain = remove_value_transforms(model)
        # Both functions take the parameters in the order of the model without transforms.
        self.order = [self.free.index(rv.name) for rv in plain.free_RVs]
        if [self.free[i] for i in self.order] != list(log_density.names):
            raise NotImplementedError("the log density's parameters are not the model's")
        self.deterministics = [d.name for d in plain.deterministics]
        self._deterministics = None
        if self.deterministics:
            values = [plain.rvs_to_values[rv] for rv in plain.free_RVs]
            batched = [pt.tensor(dtype=v.type.dtype, shape=(None, *v.type.shape)) for v in values]
            outputs = vectorized(
                plain.replace_rvs_by_values(plain.deterministics),
                replace=dict(zip(values, batched, strict=True)),
            )
            self._deterministics = pytensor.function(
                batched, outputs, mode=_SMALL_GRAPHS, on_unused_input="ignore"
            )

    def points(self, posterior: xr.Dataset) -> np.ndarray:
        """The posterior's draws on the unconstrained scale, flattened: (chain * draw, size)."""
        from forecast.sensitivity import flat_draws

        count = posterior.sizes["chain"] * posterior.sizes["draw"]
        parameters = flat_draws(posterior, self.free)
        return np.concatenate(
            [
                transform.forward(values).reshape(count, -1)
                for transform, values in zip(self.transforms, parameters, strict=True)
            ],
            axis=1,
        )

    def _parameters(self, points: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """The parameters at `points`, and the log Jacobian of the map to them."""
        parameters, log_jacobian, start = [], np.zeros(points.shape[0]), 0
        for transform, shape in zip(self.transforms, self.shapes, strict=True):
            size = int(np.prod(shape))
            values = points[:, start : start + size].reshape(points.shape[0], *shape)
            start += size
            parameter, log_jacobian_of_parameter = transform.backward(values)
            parameters.append(parameter)
            log_jacobian += log_jacobian_of_parameter.reshape(points.shape[0], -1).sum(axis=1)
        return parameters, log_jacobian

    def set(self, data: dict[str, np.ndarray]) -> None:
        """Give the model these data (the model's own: sampling reads them too)."""
        from forecast.sensitivity import set_model_data

        set_model_data(self.log_density_of_parameters.data, data)

    def log_density(self, data: dict[str, np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
        """The log density under `data` as a function of points."""

        def at(points: np.ndarray) -> np.ndarray:
            self.set(data)
            parameters, log_jacobian = self._parameters(points)
            ordered = [parameters[i] for i in self.order]
            log_prior, log_likelihood, *_ = self.log_density_of_parameters.function(*ordered)
            return log_prior + log_likelihood + log_jacobian

        return at

    def dataset(self, points: np.ndarray, like: xr.Dataset) -> xr.Dataset:
        """The parameters and deterministics at `points`, as one chain of draws, with the other
        dimensions of `like` (the posterior the points came from)."""
        shape = 1, points.shape[0]
        parameters, _ = self._parameters(points)
        outputs = dict(zip(self.free, parameters, strict=True))
        if self._deterministics is not None:
            computed = self._deterministics(*(parameters[i] for i in self.order))
            outputs.update(zip(self.deterministics, computed, strict=True))
        variables = {}
        for name, variable in like.data_vars.items():
            if name not in outputs:
                continue
            extra = [d for d in variable.dims if d not in ("chain", "draw")]
            sizes = [like.sizes[d] for d in extra]
            values = np.broadcast_to(outputs[name], (points.shape[0], *sizes))
            variables[name] = (("chain", "draw", *extra), values.reshape(*shape, *values.shape[1:]))
        coords = {name: c for name, c in like.coords.items() if name not in ("chain", "draw")}
        return xr.Dataset(variables, coords=coords)


# The deterministics' graph is small (a few sums, products and stacks) and element-wise over
# draws, so NumPy runs it as fast as compiled code would, and nothing is compiled per structure.
_SMALL_GRAPHS = "FAST_COMPILE"


@dataclass(frozen=True)
class _Transform:
    """One of PyMC's transforms in NumPy, over points with leading batch axes: the same maps
    and Jacobians as pymc.logprob.transforms (checked against PyMC's own log density in
    tests/test_moment_matching.py)."""

    forward: Callable[[np.ndarray], np.ndarray]  # parameter -> unconstrained
    # unconstrained -> (parameter, log Jacobian per element or per vector)
    backward: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _over_last(function, values: np.ndarray) -> np.ndarray:
    """A reduction over a short last axis, one slice at a time: NumPy reduces a last axis of
    three or four numbers many times slower than it combines the slices."""
    return functools.reduce(function, (values[..., k] for k in range(values.shape[-1])))


def _simplex_backward(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # PyMC's simplex: softmax of (z, -sum z); its log Jacobian, log n - n log(sum exp), is
    # written here through the same sum, which the softmax needs anyway.
    full = np.concatenate([values, -_over_last(np.add, values)[..., None]], axis=-1)
    top = _over_last(np.maximum, full)[..., None]
    exp = np.exp(full - top)
    total = _over_last(np.add, exp)[..., None]
    n = full.shape[-1]
    log_jacobian = np.log(n) - n * (top[..., 0] + np.log(total[..., 0]))
    return exp / total, log_jacobian


def _simplex_forward(values: np.ndarray) -> np.ndarray:
    log = np.log(values)
    return log[..., :-1] - log.mean(axis=-1, keepdims=True)


def _log_odds_backward(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy.special import expit

    # log(sigmoid(z)) + log(1 - sigmoid(z)), without rounding sigmoid(z) to 0 or 1 first.
    size = np.abs(values)
    return expit(values), -size - 2 * np.log1p(np.exp(-size))


def _log_backward(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.exp(values), values


# By the name of PyMC's transform class (None: a parameter without one).
_TRANSFORMS = {
    None: _Transform(lambda v: v, lambda v: (v, np.zeros_like(v))),
    "LogTransform": _Transform(np.log, _log_backward),
    "LogOddsTransform": _Transform(lambda v: np.log(v) - np.log1p(-v), _log_odds_backward),
    "SimplexTransform": _Transform(_simplex_forward, _simplex_backward),
}
