"""The Beta arithmetic behind interval priors, in pure Python, held to SciPy's.

`forecast validate` fits interval priors without SciPy (forecast/spec/beta_math.py). SciPy is still
installed for sampling, so these tests compare:

- I_x(a, b) with `scipy.special.betainc` on a grid and on random cases with a and b in
  [1e-3, 1e6]: relative error below 1e-10 wherever the value is above 1e-300;
- I_x(a, b) with exact answers (integer a and b in rational arithmetic, closed forms), including
  the corners where `betainc` itself loses digits: x below 1e-300 and x within 1e-12 of 1;
- `beta_from_interval` with the SciPy fit it replaced, written out below as it was, on every
  interval prior in the examples and test files and on a grid of intervals and masses: the same
  (a, b) to 1e-6, or the same message when no Beta fits.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import optimize, special

from forecast.spec.beta_math import regularized_incomplete_beta, solve_two_equations
from forecast.spec.priors import beta_from_interval

REPO = Path(__file__).resolve().parents[1]

SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow],
}

# -- I_x(a, b) ------------------------------------------------------------------------------------

PARAMETERS = [1e-3, 0.01, 0.1, 0.5, 1.0, 2.5, 10.0, 99.5, 1e3, 1e4, 1e5, 1e6]
POINTS = [1e-300, 1e-100, 1e-10, 1e-3, 0.05, 0.3, 0.5, 0.7, 0.95, 1 - 1e-3, 1 - 1e-9, 1 - 1e-12]
# Where the Beta's mass is: its mean plus these many standard deviations.
SPREADS = [-30, -8, -2, -0.5, 0, 0.5, 2, 8, 30]


def _beta_points(a: float, b: float) -> list[float]:
    mean = a / (a + b)
    sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    near_mass = [mean + spread * sd for spread in SPREADS]
    return POINTS + [x for x in near_mass if 1e-300 <= x <= 1 - 1e-12]


def _mismatch(a: float, b: float, x: float) -> str | None:
    """None when I_x(a, b) agrees with SciPy's betainc, else a line saying how it does not."""
    expected = float(special.betainc(a, b, x))
    got = regularized_incomplete_beta(a, b, x)
    if expected > 1e-300:
        if abs(got - expected) <= 1e-10 * expected:
            return None
    elif got <= 1e-280:
        return None
    return f"I({x!r}; {a!r}, {b!r}) = {got!r}, betainc says {expected!r}"


def test_incomplete_beta_agrees_with_scipy_on_a_grid():
    mismatches = [
        line
        for a in PARAMETERS
        for b in PARAMETERS
        for x in _beta_points(a, b)
        if (line := _mismatch(a, b, x))
    ]
    assert mismatches == []


@settings(max_examples=300, **SETTINGS)
@given(
    log_a=st.floats(math.log10(1e-3), math.log10(1e6)),
    log_b=st.floats(math.log10(1e-3), math.log10(1e6)),
    anywhere=st.floats(1e-300, 1 - 1e-12),
    spread=st.floats(-40, 40),
    near_mass=st.booleans(),
)
def test_incomplete_beta_agrees_with_scipy_on_random_cases(
    log_a, log_b, anywhere, spread, near_mass
):
    a, b = 10.0**log_a, 10.0**log_b
    x = anywhere
    if near_mass:
        mean = a / (a + b)
        x = mean + spread * math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
        x = min(max(x, 1e-300), 1 - 1e-12)
    assert _mismatch(a, b, x) is None


def _binomial_tail(a: int, b: int, x: float) -> float:
    """I_x(a, b) for whole a and b: P(at least a successes in a + b - 1 trials), exactly."""
    p = Fraction(x)
    n = a + b - 1
    return float(sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(a, n + 1)))


@pytest.mark.parametrize("a, b", [(1, 1), (1, 7), (3, 1), (2, 5), (5, 2), (12, 17), (30, 3)])
@pytest.mark.parametrize(
    "x", [5e-324, 1e-310, 1e-200, 1e-12, 0.01, 0.3, 0.5, 0.77, 0.999, 1 - 1e-12, 1 - 2**-53]
)
def test_incomplete_beta_of_whole_parameters_is_exact(a, b, x):
    expected = _binomial_tail(a, b, x)
    assert regularized_incomplete_beta(a, b, x) == pytest.approx(expected, rel=1e-13, abs=1e-320)


@pytest.mark.parametrize("a", [1e-3, 0.37, 1.0, 4.5, 1e3, 1e6])
@pytest.mark.parametrize("x", [1e-300, 1e-8, 0.2, 0.5, 0.9, 1 - 1e-9, 1 - 2**-53])
def test_incomplete_beta_closed_forms(a, x):
    # I_x(a, 1) = x**a and I_x(1, b) = 1 - (1-x)**b; pow and log1p are accurate to an ulp or two.
    assert regularized_incomplete_beta(a, 1.0, x) == pytest.approx(x**a, rel=1e-13, abs=1e-300)
    upper = -math.expm1(a * math.log1p(-x))
    assert regularized_incomplete_beta(1.0, a, x) == pytest.approx(upper, rel=1e-13)


@pytest.mark.parametrize("x", [5e-324, 1e-300, 1e-5, 0.25, 0.5, 0.75, 1 - 1e-12, 1 - 2**-53])
def test_incomplete_beta_arcsine(x):
    # I_x(1/2, 1/2) = (2/pi) asin(sqrt(x)); near 1 through 1 - x, which is exact there. SciPy's
    # betainc is off by 3e-9 at x = 1 - 2**-53.
    if x <= 0.5:
        expected = 2 / math.pi * math.asin(math.sqrt(x))
    else:
        expected = 1 - 2 / math.pi * math.asin(math.sqrt(1 - x))
    assert regularized_incomplete_beta(0.5, 0.5, x) == pytest.approx(expected, rel=1e-14)


def test_incomplete_beta_below_the_smallest_normal_number():
    # I_x(1/2, 2) = 1.5 sqrt(x) (1 - x/3) for x near 0. SciPy's betainc is off by 15% here.
    x = 5e-324
    assert regularized_incomplete_beta(0.5, 2.0, x) == pytest.approx(1.5 * math.sqrt(x), rel=1e-14)


@pytest.mark.parametrize(
    "a, b, x",
    [(0.0, 1.0, 0.5), (1.0, -2.0, 0.5), (math.inf, 1.0, 0.5), (math.nan, 1.0, 0.5)]
    + [(1.0, 1.0, -0.1), (1.0, 1.0, 1.5), (1.0, 1.0, math.nan)],
)
def test_incomplete_beta_rejects_what_is_not_a_beta(a, b, x):
    with pytest.raises(ValueError):
        regularized_incomplete_beta(a, b, x)


def test_incomplete_beta_ends():
    assert regularized_incomplete_beta(2.0, 3.0, 0.0) == 0.0
    assert regularized_incomplete_beta(2.0, 3.0, 1.0) == 1.0


# -- the solver -----------------------------------------------------------------------------------


def test_solver_finds_a_root_from_afar():
    def circle_and_line(u, v):
        return u * u + v * v - 2, u - v

    root = solve_two_equations(circle_and_line, (3.0, 0.5), difference_step=lambda u, v: 1e-6)
    assert root == pytest.approx((1.0, 1.0), abs=1e-12)


def test_solver_gives_up_on_a_singular_jacobian():
    def ignores_v(u, v):
        return u - 1, 2 * u - 1

    assert solve_two_equations(ignores_v, (0.0, 0.0), difference_step=lambda u, v: 1e-6) is None


def test_solver_does_not_start_where_the_residuals_cannot_be_had():
    def nowhere(u, v):
        raise ArithmeticError("not here")

    assert solve_two_equations(nowhere, (0.0, 0.0), difference_step=lambda u, v: 1e-6) is None


# -- interval priors ------------------------------------------------------------------------------


def scipy_beta_from_interval(lo: float, hi: float, mass: float = 0.9) -> tuple[float, float]:
    """The fit `beta_from_interval` made with SciPy, as it was: betainc, ndtri and hybr."""
    if not 0 < mass < 1:
        raise ValueError(f"mass must be strictly between 0 and 1, got {mass}")
    if not (0 < lo < 1 and 0 < hi < 1):
        raise ValueError(f"interval ends must be strictly between 0 and 1, got [{lo}, {hi}]")
    if lo >= hi:
        raise ValueError(f"interval must be [low, high] with low < high, got [{lo}, {hi}]")
    tail = (1 - mass) / 2
    targets = (tail, 1 - tail)

    def residuals(log_params):
        a, b = math.exp(log_params[0]), math.exp(log_params[1])
        return [
            special.betainc(a, b, lo) - targets[0],
            special.betainc(a, b, hi) - targets[1],
        ]

    mid = (lo + hi) / 2
    z = special.ndtri(1 - tail)
    sd = min((hi - lo) / (2 * z), 0.99 * math.sqrt(mid * (1 - mid)))
    k = max(mid * (1 - mid) / sd**2 - 1, 0.2)
    starts = [(math.log(mid * k), math.log((1 - mid) * k)), (0.0, 0.0), (math.log(2), math.log(2))]
    for start in starts:
        try:
            solution = optimize.root(residuals, start, method="hybr")
            if solution.success and max(abs(r) for r in residuals(solution.x)) < 1e-8:
                a, b = math.exp(solution.x[0]), math.exp(solution.x[1])
                if 1e-3 < a < 1e7 and 1e-3 < b < 1e7:
                    return a, b
        except OverflowError:
            continue
    raise ValueError(
        f"no Beta distribution puts {mass:g} of its mass in [{lo}, {hi}] with equal tails; "
        "widen or narrow the interval, or give {beta: [a, b]}"
    )


def _written_intervals() -> list[tuple[float, float, float]]:
    """(lo, hi, mass) of every interval prior in the examples, the template and the test files."""
    files = [
        *sorted((REPO / "scenarios").glob("*.yaml")),
        *sorted((REPO / "forecast" / "templates").glob("*.yaml")),
        *sorted((REPO / "tests" / "data").glob("**/*.yaml")),
    ]
    found = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("interval"), list) and len(node["interval"]) == 2:
                try:
                    lo, hi = (float(end) for end in node["interval"])
                    found.append((lo, hi, float(node.get("mass", 0.9))))
                except (TypeError, ValueError):
                    pass
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        if "interval" not in text:
            continue
        try:
            walk(yaml.safe_load(text))
        except yaml.YAMLError:
            continue
    return sorted(set(found))


WRITTEN = _written_intervals()
FAILING_FIXTURES = [(0.7, 0.3, 0.9), (0.4, 0.4, 0.9), (0.2, 1.2, 0.9), (1e-7, 2e-7, 0.9)]

ENDS = [1e-6, 1e-3, 0.02, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.98, 0.999, 1 - 1e-6]
GRID = [(lo, hi, mass) for lo in ENDS for hi in ENDS if lo < hi for mass in (0.5, 0.9, 0.99)]
# Narrow intervals: Betas with parameters up to millions, and beyond what is accepted.
NARROW = [
    (centre - width / 2, centre + width / 2, mass)
    for centre in (1e-4, 0.03, 0.5, 0.8, 0.9999)
    for width in (1e-2, 1e-3, 1e-4, 1e-6)
    for mass in (0.5, 0.95)
    if width < min(centre, 1 - centre)
]


def _fit(lo: float, hi: float, mass: float) -> tuple[float, float] | str:
    try:
        prior = beta_from_interval(lo, hi, mass)
    except ValueError as error:
        return str(error)
    return prior.alpha, prior.beta


def _reference(lo: float, hi: float, mass: float) -> tuple[float, float] | str:
    try:
        return scipy_beta_from_interval(lo, hi, mass)
    except ValueError as error:
        return str(error)


def _is_true_fit(a: float, b: float, lo: float, hi: float, mass: float) -> bool:
    tail = (1 - mass) / 2
    below, inside = special.betainc(a, b, lo), special.betainc(a, b, hi)
    close = max(abs(below - tail), abs(inside - (1 - tail))) < 1e-8
    return close and 1e-3 < a < 1e7 and 1e-3 < b < 1e7


def test_every_written_interval_prior_is_found():
    assert len(WRITTEN) >= 8
    assert set(FAILING_FIXTURES) <= set(WRITTEN)


@pytest.mark.parametrize("lo, hi, mass", WRITTEN)
def test_written_interval_priors_fit_as_with_scipy(lo, hi, mass):
    expected, got = _reference(lo, hi, mass), _fit(lo, hi, mass)
    if isinstance(expected, str):
        assert got == expected
    else:
        assert got == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("lo, hi, mass", FAILING_FIXTURES)
def test_intervals_that_no_beta_fits_fail_as_before(lo, hi, mass):
    expected = _reference(lo, hi, mass)
    assert isinstance(expected, str)
    with pytest.raises(ValueError) as raised:
        beta_from_interval(lo, hi, mass)
    assert str(raised.value) == expected


def test_grid_of_intervals_fits_as_with_scipy():
    """Where SciPy's solver found the Beta, the same Beta; where it gave up, the same message or,
    when a Beta fits after all, one whose tails SciPy's betainc confirms."""
    differences = []
    for lo, hi, mass in GRID + NARROW:
        expected, got = _reference(lo, hi, mass), _fit(lo, hi, mass)
        if isinstance(expected, str):
            agrees = got == expected or (
                not isinstance(got, str) and _is_true_fit(*got, lo, hi, mass)
            )
        else:
            agrees = not isinstance(got, str) and got == pytest.approx(expected, rel=1e-6)
        if not agrees:
            differences.append(f"[{lo!r}, {hi!r}] mass {mass}: {got} where SciPy gives {expected}")
    assert differences == []


@pytest.mark.parametrize(
    "lo, hi, mass, alpha, beta",
    [
        # SciPy's solver stopped with "not making good progress" on these, though a Beta fits.
        (0.05, 0.95, 0.9, 1.0, 1.0),
        (1e-7, 0.3, 0.95, 0.2608978893168, 5.280318535551),
        (0.99, 0.99999, 0.99, 529.4782548368, 1.009641792106),
    ],
)
def test_intervals_the_scipy_solver_gave_up_on_now_fit(lo, hi, mass, alpha, beta):
    assert isinstance(_reference(lo, hi, mass), str)
    prior = beta_from_interval(lo, hi, mass)
    assert (prior.alpha, prior.beta) == pytest.approx((alpha, beta), rel=1e-9)
    assert _is_true_fit(prior.alpha, prior.beta, lo, hi, mass)
