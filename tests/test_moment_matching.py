"""Moment matching on its own: draws of one Gaussian weighted to another, against exact means;
and the model on the sampler's scale that it moves a run's draws on, against PyMC's own."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from forecast.moment_matching import moment_match
from forecast.sensitivity import psis_weights


def gaussian(mean, cov):
    return lambda points: stats.multivariate_normal(mean, cov).logpdf(points)


def test_draws_far_from_the_target_are_moved_and_weighted_to_its_mean():
    rng = np.random.default_rng(1)
    cov = np.array([[1.0, 0.6], [0.6, 1.0]])
    points = rng.multivariate_normal([0.0, 0.0], cov, size=4000)
    target_mean, target_cov = np.array([2.5, -1.0]), 0.5 * cov
    log_target, log_base = gaussian(target_mean, target_cov), gaussian([0.0, 0.0], cov)
    _, plain_khat = psis_weights(log_target(points) - log_base(points), 1.0)
    assert plain_khat > 0.7

    matched = moment_match(
        points, log_target, log_base, khat_limit=0.7, r_eff=1.0, psis=psis_weights
    )
    assert matched is not None and matched.khat <= 0.7
    mean = matched.weights @ matched.points
    # The weighted mean's standard error, each coordinate, from the weights themselves.
    error = np.sqrt(matched.weights**2 @ (matched.points - mean) ** 2)
    assert np.all(np.abs(mean - target_mean) <= 4 * error), (mean, error)


def test_nothing_is_returned_where_no_map_helps():
    rng = np.random.default_rng(2)
    points = rng.normal(size=(4000, 1))
    # A target with no finite density where the draws are: no weight can be computed.
    matched = moment_match(
        points,
        lambda p: np.full(p.shape[0], -np.inf),
        gaussian([0.0], [[1.0]]),
        khat_limit=0.7,
        r_eff=1.0,
        psis=psis_weights,
    )
    assert matched is None


def test_moved_draws_where_the_target_has_no_density_weigh_nothing():
    # The target is a normal truncated below 2.2 (no density there, as where a probability is so
    # near 0 that the evidence's likelihood underflows), far from the draws: the moved draws that
    # land below 2.2 weigh nothing, and the rest give the truncated normal's mean.
    rng = np.random.default_rng(0)
    points = rng.normal(size=(4000, 1))

    def log_target(p):
        x = p[:, 0]
        return np.where(x < 2.2, -np.inf, -0.5 * ((x - 3.0) / 0.5) ** 2)

    matched = moment_match(
        points,
        log_target,
        gaussian([0.0], [[1.0]]),
        khat_limit=0.7,
        r_eff=1.0,
        psis=psis_weights,
    )
    assert matched is not None and matched.khat <= 0.7
    assert np.all(matched.weights[log_target(matched.points) == -np.inf] == 0)
    exact = stats.truncnorm((2.2 - 3.0) / 0.5, np.inf, loc=3.0, scale=0.5).mean()
    mean = matched.weights @ matched.points[:, 0]
    error = np.sqrt(matched.weights**2 @ (matched.points[:, 0] - mean) ** 2)
    assert abs(mean - exact) <= 4 * error, (mean, exact, error)


def test_the_model_on_the_sampler_s_scale_is_pymc_s_own():
    # The flagship has every transform the models use: log-odds (Beta), log (Gamma, the
    # concentration's Exponential), simplex (Dirichlet) and none (the pooled row's offset).
    from pathlib import Path

    import pymc as pm

    from forecast import model as scenario_model
    from forecast.moment_matching import UnconstrainedDensity
    from forecast.sensitivity import LogDensity
    from forecast.spec import load_scenario

    scenario = load_scenario(Path(__file__).parent.parent / "scenarios/singapore-summit-2018.yaml")
    model = scenario_model.build_model(scenario)
    transforms = {type(model.rvs_to_transforms[rv]).__name__ for rv in model.free_RVs}
    assert transforms == {"LogOddsTransform", "LogTransform", "SimplexTransform", "NoneType"}
    density = UnconstrainedDensity(model, LogDensity(model))
    start = model.initial_point()
    names = [model.rvs_to_values[rv].name for rv in model.free_RVs]
    flat = np.concatenate([start[name].ravel() for name in names])
    rng = np.random.default_rng(5)
    points = flat + rng.normal(scale=0.7, size=(40, flat.size))
    data = scenario_model.model_data(scenario)
    ours = density.log_density(data)(points)

    pm.set_data(data, model=model)
    theirs = model.compile_logp(jacobian=True)
    sizes = [start[name].size for name in names]
    for point, value in zip(points, ours, strict=True):
        parts = np.split(point, np.cumsum(sizes)[:-1])
        named = {n: p.reshape(start[n].shape) for n, p in zip(names, parts, strict=True)}
        assert value == pytest.approx(theirs(named), abs=1e-9)

    # The points give the parameters and back, deterministics included.
    posterior = density.dataset(points, _like(model, points.shape[0]))
    np.testing.assert_allclose(density.points(posterior), points, atol=1e-9)
    assert set(posterior.data_vars) >= {"full_shutdown", "tests_resume"}


def _like(model, count: int):
    """An empty posterior of `count` draws with the model's variables and dimensions."""
    import xarray as xr

    variables, coords = {}, {"chain": [0], "draw": np.arange(count)}
    for variable in [*model.free_RVs, *model.deterministics]:
        shape = tuple(int(size) for size in variable.shape.eval())
        dims = model.named_vars_to_dims.get(variable.name) or tuple(
            f"{variable.name}_dim_{axis}" for axis in range(len(shape))
        )
        variables[variable.name] = (("chain", "draw", *dims), np.zeros((1, count, *shape)))
        coords.update({d: np.arange(size) for d, size in zip(dims, shape, strict=True)})
    return xr.Dataset(variables, coords=coords)


def test_a_transform_not_written_out_leaves_the_change_to_sampling_again():
    import pymc as pm

    from forecast.moment_matching import UnconstrainedDensity
    from forecast.sensitivity import LogDensity

    with pm.Model() as model:
        pm.Uniform("u", lower=0.2, upper=0.9)  # an interval transform
        pm.Beta("p", alpha=2.0, beta=3.0)
    with pytest.raises(NotImplementedError, match="written out for Interval"):
        UnconstrainedDensity(model, LogDensity(model))
