"""The scores against their published values, and the aggregates against independent sums.

Published values: Brier (1950) and Good Judgment's two-category Brier; Metaculus's baseline score
and the log score of its die example (the Metaculus scores FAQ).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import beta

from forecast.scoring import aggregate, rules

EXACT = 1e-9


def test_brier_of_published_examples():
    assert rules.brier_binary(0.7, True) == pytest.approx(0.09, abs=EXACT)
    assert rules.brier_two_category(0.7, True) == pytest.approx(0.18, abs=EXACT)
    assert rules.brier_binary(0.3, True) == pytest.approx(0.49, abs=EXACT)
    assert rules.brier_binary(0.3, False) == pytest.approx(0.09, abs=EXACT)


def test_two_category_brier_is_twice_the_binary_one_and_the_categorical_one_of_two():
    for p in (0.0, 0.12, 0.5, 0.93, 1.0):
        for happened in (True, False):
            two = rules.brier_two_category(p, happened)
            assert two == pytest.approx(2 * rules.brier_binary(p, happened), abs=EXACT)
            assert two == pytest.approx(
                rules.brier_categorical([1 - p, p], int(happened)), abs=EXACT
            )


def test_brier_over_categories_sums_every_category():
    # (0.2 - 0)^2 + (0.5 - 1)^2 + (0.3 - 0)^2
    assert rules.brier_categorical([0.2, 0.5, 0.3], 1) == pytest.approx(0.38, abs=EXACT)
    assert rules.brier_categorical([0, 0, 1], 0) == pytest.approx(2.0, abs=EXACT)
    assert rules.brier_categorical([0.25] * 4, 2) == pytest.approx(0.75, abs=EXACT)


def test_metaculus_baseline_of_published_examples():
    # 100 (log2 0.8 + 1) = 300 - 100 log2 5 = 67.807; 100 (log2 0.01 + 1) = 100 - 200 log2 10.
    assert rules.baseline_binary(0.8) == pytest.approx(67.807, abs=5e-4)
    assert rules.baseline_binary(0.8) == pytest.approx(300 - 100 * math.log2(5), abs=EXACT)
    assert rules.baseline_binary(0.01) == pytest.approx(-564.386, abs=5e-4)
    assert rules.baseline_binary(0.01) == pytest.approx(100 - 200 * math.log2(10), abs=EXACT)
    assert rules.baseline_binary(0.5) == pytest.approx(0.0, abs=EXACT)
    assert rules.baseline_binary(1.0) == pytest.approx(100.0, abs=EXACT)


def test_metaculus_baseline_for_categories():
    for n in (2, 3, 4, 7):
        assert rules.baseline_categorical(1 / n, n) == pytest.approx(0.0, abs=EXACT)
        assert rules.baseline_categorical(1.0, n) == pytest.approx(100.0, abs=EXACT)
    for p in (0.01, 0.3, 0.8):
        assert rules.baseline_categorical(p, 2) == pytest.approx(
            rules.baseline_binary(p), abs=EXACT
        )
    # Three categories, 0.5 on what happened: 100 (ln 0.5 + ln 3) / ln 3 = 100 log3 1.5.
    assert rules.baseline_categorical(0.5, 3) == pytest.approx(
        100 * math.log(1.5) / math.log(3), abs=EXACT
    )


def test_log_score_of_the_metaculus_die_example():
    # "Will I roll a 6?" forecast at 5%: a six once in six rolls, another number five times.
    scores = [rules.log_score(0.05)] + [rules.log_score(0.95)] * 5
    n, means = aggregate.mean_over_shared([{"f": s} for s in scores], ["f"])
    assert n == 6
    assert means["f"] == pytest.approx(-0.542, abs=5e-4)
    assert means["f"] == pytest.approx((math.log(0.05) + 5 * math.log(0.95)) / 6, abs=EXACT)


def test_probability_zero_on_what_happened_scores_minus_infinity_without_raising():
    assert rules.log_score(0.0) == -math.inf
    assert rules.baseline_binary(0.0) == -math.inf
    assert rules.baseline_categorical(0.0, 4) == -math.inf
    assert rules.log_score(1.0) == 0.0
    assert rules.brier_binary(1.0, False) == 1.0
    n, means = aggregate.mean_over_shared([{"f": -math.inf}, {"f": -0.2}], ["f"])
    assert (n, means["f"]) == (2, -math.inf)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: rules.brier_binary(1.2, True), "between 0 and 1"),
        (lambda: rules.log_score(-0.1), "between 0 and 1"),
        (lambda: rules.brier_categorical([0.5, 0.6], 0), "sum to 1"),
        (lambda: rules.brier_categorical([0.5, 0.5], 2), "not one of 2"),
        (lambda: rules.baseline_categorical(0.5, 1), "at least two"),
    ],
)
def test_scores_refuse_impossible_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# -- aggregation ----------------------------------------------------------------------------------


def test_means_are_over_items_every_forecaster_scored():
    scores = [
        {"posterior": 0.1, "prior": 0.2, "odds": 0.3},
        {"posterior": 0.5, "prior": 0.4},
        {"posterior": 0.0, "prior": 0.6, "odds": 0.1},
    ]
    n, means = aggregate.mean_over_shared(scores, ["posterior", "prior"])
    assert n == 3
    assert means == pytest.approx({"posterior": 0.2, "prior": 0.4})
    n, means = aggregate.mean_over_shared(scores, ["posterior", "prior", "odds"])
    assert n == 2
    assert means == pytest.approx({"posterior": 0.05, "prior": 0.4, "odds": 0.2})
    assert aggregate.mean_over_shared(scores, ["nobody"]) == (0, {"nobody": None})


@pytest.mark.parametrize(
    ("p", "index"), [(0.0, 0), (0.0999, 0), (0.1, 1), (0.3, 3), (0.7, 7), (0.95, 9), (1.0, 9)]
)
def test_bins_are_tenths_each_edge_opening_its_bin(p, index):
    assert aggregate.bin_index(p) == index


def test_calibration_bins_count_forecasts_and_what_happened():
    pairs = [(0.05, False), (0.08, False), (0.02, True), (0.72, True), (0.78, False)]
    bins = aggregate.compute_calibration(pairs)
    assert [(b.low, b.high, b.n, b.happened) for b in bins] == [
        (0.0, 0.1, 3, 1),
        (0.7, 0.8, 2, 1),
    ]
    assert bins[0].forecast == pytest.approx(0.05, abs=EXACT)
    assert bins[0].observed == pytest.approx(1 / 3, abs=EXACT)
    assert bins[1].forecast == pytest.approx(0.75, abs=EXACT)


def test_jeffreys_interval_is_the_beta_half_posterior_with_the_end_conventions():
    assert aggregate.jeffreys_interval(0, 3)[0] == 0.0
    assert aggregate.jeffreys_interval(3, 3)[1] == 1.0
    low, high = aggregate.jeffreys_interval(2, 7)
    assert beta.cdf(low, 2.5, 5.5) == pytest.approx(0.05, abs=1e-9)
    assert beta.cdf(high, 2.5, 5.5) == pytest.approx(0.95, abs=1e-9)
    # Symmetric: k of n and n - k of n mirror each other.
    mirrored = aggregate.jeffreys_interval(5, 7)
    assert mirrored == pytest.approx((1 - high, 1 - low), abs=1e-12)
    # One forecast in a bin tells almost nothing.
    low, high = aggregate.jeffreys_interval(0, 1)
    assert high > 0.75


PAIRS = st.lists(
    st.tuples(
        st.sampled_from([0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 1.0]), st.booleans()
    ),
    min_size=1,
    max_size=60,
)


@given(PAIRS)
def test_murphy_decomposition_adds_up_when_forecasts_are_binned_exactly(pairs):
    parts = aggregate.murphy_decomposition(pairs)
    brier = math.fsum((p - o) ** 2 for p, o in pairs) / len(pairs)
    assert parts.brier == pytest.approx(brier, abs=1e-12)
    assert parts.reliability - parts.resolution + parts.uncertainty == pytest.approx(
        brier, abs=1e-12
    )
    assert parts.within_bins == pytest.approx(0.0, abs=1e-12)
    assert parts.reliability >= 0 and parts.resolution >= 0


def test_murphy_decomposition_of_a_small_case_by_hand():
    # Bin 0.2: two forecasts, one came true; bin 0.8: two forecasts, both came true.
    pairs = [(0.2, True), (0.2, False), (0.8, True), (0.8, True)]
    parts = aggregate.murphy_decomposition(pairs)
    base_rate = 3 / 4
    assert parts.uncertainty == pytest.approx(base_rate * (1 - base_rate), abs=EXACT)
    assert parts.reliability == pytest.approx((0.3**2 + 0.2**2) / 2, abs=EXACT)
    assert parts.resolution == pytest.approx(((0.5 - 0.75) ** 2 + 0.25**2) / 2, abs=EXACT)
    assert parts.brier == pytest.approx((0.64 + 0.04 + 0.04 + 0.04) / 4, abs=EXACT)


def test_within_bin_spread_is_reported_not_hidden():
    pairs = [(0.01, False), (0.09, True), (0.5, True)]
    parts = aggregate.murphy_decomposition(pairs)
    assert parts.within_bins != pytest.approx(0.0, abs=1e-6)
    total = parts.reliability - parts.resolution + parts.uncertainty + parts.within_bins
    assert total == pytest.approx(parts.brier, abs=1e-12)
    assert aggregate.murphy_decomposition([]) is None
