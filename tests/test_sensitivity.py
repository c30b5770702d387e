"""Which belief drives the answer: the tornado's effects against closed forms, power-scaling."""

from __future__ import annotations

import pytest

from forecast import pipeline
from forecast.spec import parse_scenario

pytestmark = pytest.mark.slow

# Beta(2, 8) and 3 successes in 10 trials: the posterior is Beta(5, 15), mean 0.25. Moving the
# prior's mean by 0.1 with its strength kept gives Beta(1, 9) and Beta(3, 7), whose posteriors
# have means 4/20 and 6/20; the evidence at weight 0 leaves the prior, mean 0.2.
TEXT = """\
version: 1
title: sensitivity
seed: 3
sampling: {draws: 1000, tune: 500, chains: 2}
outcomes:
  p: {prior: {beta: [2, 8]}}
  q:
    given: [p]
    prior: {p: {beta: [6, 4]}, otherwise: {beta: [2, 2]}}
evidence:
  - {outcome: p, successes: 3, trials: 10}
scenarios:
  both: p and q
"""


@pytest.fixture(scope="module")
def summary() -> dict:
    scenario = parse_scenario(TEXT.encode(), "sensitivity.yaml")
    return pipeline.compute_summary(scenario, pipeline.RunOptions())[0]


def entry(summary: dict, input: str) -> dict:
    return next(item for item in summary["sensitivity"]["tornado"] if item["input"] == input)


def close(value: float, expected: float, mcse: float) -> None:
    assert abs(value - expected) <= 4 * mcse + 1e-9, (value, expected, mcse)


def test_moving_a_prior_mean_gives_the_updated_closed_forms(summary):
    prior = entry(summary, "outcomes.p.prior")
    assert prior["kind"] == "prior"
    assert prior["value"] == pytest.approx(0.2) and prior["values"] == pytest.approx([0.1, 0.3])
    effects, mcse = prior["effects"]["p"], prior["mcse"]
    close(effects["low"], 4 / 20, mcse["low"])
    close(effects["high"], 6 / 20, mcse["high"])
    # A scenario moves with it: P(p and q) = E[p * q_p], and q's row given p is untouched.
    assert prior["effects"]["both"]["low"] < prior["effects"]["both"]["high"]


def test_an_evidence_weight_at_zero_leaves_the_prior(summary):
    evidence = entry(summary, "evidence[0].weight")
    assert evidence["kind"] == "evidence" and evidence["values"] == [0.0, 1.0]
    close(evidence["effects"]["p"]["low"], 2 / 10, evidence["mcse"]["low"])
    close(evidence["effects"]["p"]["high"], 5 / 20, evidence["mcse"]["high"])


def test_every_row_and_item_is_moved_and_a_row_is_named_as_in_set(summary):
    inputs = [item["input"] for item in summary["sensitivity"]["tornado"]]
    assert inputs == [
        "outcomes.p.prior",
        "outcomes.q.prior.p",
        "outcomes.q.prior.otherwise",
        "evidence[0].weight",
    ]
    # q's row given p moves q, not p (up to the noise of reweighting).
    row = entry(summary, "outcomes.q.prior.p")
    assert row["effects"]["q"]["high"] - row["effects"]["q"]["low"] > 0.05
    spread = abs(row["effects"]["p"]["high"] - row["effects"]["p"]["low"])
    assert spread <= 4 * (row["mcse"]["low"] + row["mcse"]["high"])


def test_power_scaling_diagnoses_each_outcome_and_scenario(summary):
    scaling = summary["sensitivity"]["power_scaling"]
    assert set(scaling) == {"p", "q", "both"}
    for values in scaling.values():
        assert values["prior"] >= 0 and values["likelihood"] >= 0
        assert values["diagnosis"] in (None, "prior-data conflict", "weak likelihood")
    # q's row without a parent combination observed rests on its prior alone.
    assert scaling["q"]["likelihood"] < scaling["q"]["prior"]


# A strong prior, Beta(20, 80), and weak evidence, 1 success in 5 trials: moving the prior's mean
# by 0.1 moves the posterior by two and a half of its sds, further than reweighting the draws can
# follow (k-hat above 0.7). Moment matching moves the draws first; the closed forms are the
# means of Beta(11, 94) and Beta(31, 74).
STRONG_PRIOR = """\
version: 1
title: a strong prior
seed: 3
sampling: {draws: 1000, tune: 500, chains: 2}
outcomes:
  p: {prior: {beta: [20, 80]}}
evidence:
  - {outcome: p, successes: 1, trials: 5}
"""


def test_a_change_reweighting_cannot_follow_is_moment_matched_to_the_closed_forms():
    scenario = parse_scenario(STRONG_PRIOR.encode(), "strong.yaml")
    prior = entry(pipeline.compute_summary(scenario, pipeline.RunOptions())[0], "outcomes.p.prior")
    assert prior["khat"] > 0.7
    assert prior["moment_matched"] == ["low", "high"] and prior["refit"] == []
    close(prior["effects"]["p"]["low"], 11 / 105, prior["mcse"]["low"])
    close(prior["effects"]["p"]["high"], 31 / 105, prior["mcse"]["high"])


class _Density:
    """A log density of one parameter x with numbers as data (by `names`), in LogDensity's
    form: `terms(x, *numbers)` gives its terms, all of them the log prior."""

    def __init__(self, terms, names=("d",)):
        import pytensor
        import pytensor.tensor as pt

        from forecast.sensitivity import data_read

        self.names = ["x"]
        numbers = [pytensor.shared(0.0, name=name) for name in names]
        x = pt.vector("x")
        parts = terms(x, *numbers)
        # A term of several elements is shaped (draws, elements).
        total = [part.sum(axis=1) if part.ndim > 1 else part for part in parts]
        outputs = [pt.add(*total) if len(total) > 1 else total[0], pt.zeros_like(x), *parts]
        self.function = pytensor.function([x], outputs)
        self.data = dict(zip(names, numbers, strict=True))
        self.reads = data_read(parts)


def _sides(log_density):
    import numpy as np
    import xarray as xr

    from forecast.sensitivity import _DensityAt

    rng = np.random.default_rng(1)
    draws = xr.Dataset({"x": (("chain", "draw"), rng.normal(size=(2, 500)))})
    at = _DensityAt(_Density(lambda x, d: [log_density(x, d)]), draws)
    data = {"d": np.array(0.5)}
    low, high = {"d": np.array(0.2)}, {"d": np.array(1.4)}
    at(data)
    exact = [sum(at.change(data, side)) for side in (low, high)]
    return at.sides(data, [(low, high)])[0], exact


def test_the_high_side_is_predicted_from_the_low_side_where_the_density_is_affine():
    import numpy as np

    # d enters as an exponential family's parameter does: d * x, plus a term without x.
    (low, high), (exact_low, exact_high) = _sides(lambda x, d: d * x - d**2 * 3.0 - x**2 / 2)
    assert np.array_equal(low, exact_low)
    np.testing.assert_allclose(high, exact_high, rtol=0, atol=1e-12)
    assert not np.array_equal(high, exact_high)  # predicted, not evaluated


def test_a_side_the_density_is_not_affine_in_is_evaluated_itself():
    import numpy as np

    (low, high), (exact_low, exact_high) = _sides(lambda x, d: -((x - d) ** 4))
    assert np.array_equal(low, exact_low) and np.array_equal(high, exact_high)


def test_a_side_at_the_file_s_own_numbers_costs_no_evaluation():
    import numpy as np
    import xarray as xr

    from forecast.sensitivity import _DensityAt

    draws = xr.Dataset({"x": (("chain", "draw"), np.linspace(-2, 2, 200).reshape(2, 100))})
    density = _Density(lambda x, d: [d * x])
    at = _DensityAt(density, draws)
    data = {"d": np.array(1.0)}
    at.unchanged(data)
    calls = []
    function = density.function
    density.function = lambda *inputs: calls.append(len(inputs[0])) or function(*inputs)
    weight = [({"d": np.array(0.0)}, {"d": np.array(1.0)})]  # a weight's sides, 1 in the file
    [(low, high)] = at.sides(data, weight)
    # The file's data and the moved side at the probe draws (to see what the side moves), then
    # the moved side at every draw; nothing for the side that is the file's own.
    assert calls == [64, 64, 200] and not np.any(high)
    np.testing.assert_allclose(low, -draws["x"].values)


def _evaluations_of_sides(terms, numbers: dict, moved: dict) -> int:
    """How many evaluations at every draw `_DensityAt.sides` makes for the inputs of `terms`
    (`numbers`, in their order) each moved to its (low, high) in `moved`, having checked that
    each side's change is the change evaluated for that side alone."""
    import numpy as np
    import xarray as xr

    from forecast.sensitivity import _DensityAt

    data = {name: np.array(value) for name, value in numbers.items()}
    pairs = [({name: np.array(low)}, {name: np.array(high)}) for name, (low, high) in moved.items()]
    draws = xr.Dataset({"x": (("chain", "draw"), np.linspace(-2, 2, 400).reshape(2, 200))})
    density = _Density(terms, tuple(numbers))
    at = _DensityAt(density, draws)
    exact = [[sum(at.change(data, side)) for side in pair] for pair in pairs]
    calls = []
    function = density.function
    density.function = lambda *inputs: calls.append(len(inputs[0])) or function(*inputs)
    for pair, exact_pair in zip(at.sides(data, pairs), exact, strict=True):
        for side, exact_side in zip(pair, exact_pair, strict=True):
            np.testing.assert_allclose(side, exact_side, rtol=0, atol=1e-12)
    return calls.count(400)


def test_sides_that_move_different_terms_are_evaluated_together():
    terms = lambda x, a, b: [a * x, b * x**2 - x**2]  # noqa: E731
    # Both low sides at once; each high side predicted from its low side.
    moved = {"a": (0.3, 0.9), "b": (0.1, 0.4)}
    assert _evaluations_of_sides(terms, {"a": 0.5, "b": 0.2}, moved) == 1


def test_sides_that_move_a_term_only_together_are_evaluated_one_at_a_time():
    import pytensor.tensor as pt

    # One term of two elements, a * b * x and b * x. With a at 0 in the file, b alone moves only
    # the second, a alone only the first; but a and b together move the first otherwise than a
    # alone does. Evaluated together, the check at the probe draws sees it.
    def terms(x, a, b):
        return [pt.stack([a * b * x, b * x], axis=1), -(x**2)]

    # Together, then each alone.
    moved = {"a": (0.5, 1.0), "b": (2.0, 3.0)}
    assert _evaluations_of_sides(terms, {"a": 0.0, "b": 1.0}, moved) == 3


def test_a_side_that_moves_a_term_only_away_from_the_probe_draws_is_evaluated_apart():
    import pytensor.tensor as pt

    # b moves the term only at draws 1 to 5 of the 400 (x from -1.990 to -1.950), between the
    # probe draws 0 and 6; a moves it everywhere. The term reads b, so b's side is not taken to
    # move nothing, and the two are evaluated apart.
    def terms(x, a, b):
        return [a * x + 5 * b * pt.and_(pt.gt(x, -1.995), pt.lt(x, -1.945))]

    moved = {"a": (0.3, 0.9), "b": (0.1, 0.4)}
    assert _evaluations_of_sides(terms, {"a": 0.5, "b": 0.2}, moved) == 2


def test_power_scaling_is_arviz_s_psense():
    import arviz_stats
    import numpy as np
    import xarray as xr

    from forecast.sensitivity import power_scaling

    rng = np.random.default_rng(4)
    values = {f"q{i}": rng.beta(1 + i, 4, size=(4, 500)) for i in range(3)}
    log_prior = 3 * values["q0"] + rng.normal(size=(4, 500))
    log_likelihood = -2 * values["q1"] + rng.normal(size=(4, 500))
    groups = {
        "log_prior": xr.Dataset({"prior": (("chain", "draw"), log_prior)}),
        "log_likelihood": xr.Dataset({"likelihood": (("chain", "draw"), log_likelihood)}),
    }
    ours = power_scaling(None, values, groups)
    posterior = xr.Dataset({name: (("chain", "draw"), v) for name, v in values.items()})
    tree = xr.DataTree.from_dict({"posterior": posterior, **groups})
    for group in ("prior", "likelihood"):
        theirs = arviz_stats.psense(tree, group=group)
        for name in values:
            assert ours[name][group] == float(theirs[name])
