"""Good scenario files: what each form of the format becomes, with exact answers where they exist.

Beta and Dirichlet parameters are checked against the formulas in docs/scenario-format.md, an
interval fit against SciPy's own quantile function, row coverage against the combinations written
out by hand, and expressions against Python's own `not`/`and`/`or`, which have the same
precedence.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers import SCENARIO_FILES
from scipy import stats

from forecast.spec import Scenario, ScenarioError, load_scenario, parse_scenario
from forecast.spec.expressions import (
    And,
    ExpressionError,
    Happens,
    Is,
    Not,
    Or,
    atoms,
    evaluate,
    outcomes_in,
    parse,
)
from forecast.spec.priors import BetaPrior, DirichletPrior

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = SCENARIO_FILES


def scenario(body: str) -> Scenario:
    """A scenario from YAML text; the header keys are added unless the text has its own."""
    text = textwrap.dedent(body)
    if "version:" not in text:
        text = 'version: 1\ntitle: "A test"\n' + text
    return parse_scenario(text.encode("utf-8"), "test.yaml")


def one_prior(prior: str, categories: str = "") -> BetaPrior | DirichletPrior:
    """The prior of a single outcome without parents, written in flow style."""
    lines = ["outcomes:", "  x:"]
    if categories:
        lines.append(f"    categories: {categories}")
    lines.append(f"    prior: {prior}")
    (row,) = scenario("\n".join(lines) + "\n").outcome("x").rows
    return row.prior


def shape(expression) -> object:
    """An expression as nested tuples, without offsets, to compare with what is expected."""
    if isinstance(expression, Happens):
        return expression.outcome
    if isinstance(expression, Is):
        return (expression.outcome, "!=" if expression.negated else "==", expression.category)
    if isinstance(expression, Not):
        return ("not", shape(expression.operand))
    name = "and" if isinstance(expression, And) else "or"
    assert isinstance(expression, And | Or)
    return (name, *(shape(operand) for operand in expression.operands))


# -- priors for a probability ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prior", "alpha", "beta"),
    [
        ("{beta: [1, 24]}", 1, 24),
        ("{beta: [0.5, 0.5]}", 0.5, 0.5),
        ("{mean: 0.8, sd: 0.1}", 12, 3),  # k = 0.8*0.2/0.01 - 1 = 15
        ("{mean: 0.2, sd: 0.1}", 3, 12),  # the example in docs/scenario-format.md
        ("{mean: 0.5, sd: 0.25}", 1.5, 1.5),  # k = 0.25/0.0625 - 1 = 3
        ("{mean: 0.4, sample_size: 10}", 4, 6),
        ("{mean: 0.12, sample_size: 16}", 1.92, 14.08),
        ("{mean: 0.3, sample_size: 1}", 0.3, 0.7),
    ],
)
def test_beta_prior_parameters_are_exact(prior, alpha, beta):
    result = one_prior(prior)
    assert isinstance(result, BetaPrior)
    assert result.alpha == pytest.approx(alpha, rel=1e-12)
    assert result.beta == pytest.approx(beta, rel=1e-12)
    assert result.mean == pytest.approx(alpha / (alpha + beta), rel=1e-12)


def test_mean_and_sd_give_that_mean_and_sd():
    result = one_prior("{mean: 0.37, sd: 0.11}")
    mean, variance = stats.beta.stats(result.alpha, result.beta, moments="mv")
    assert mean == pytest.approx(0.37, rel=1e-12)
    assert np.sqrt(variance) == pytest.approx(0.11, rel=1e-12)


@pytest.mark.parametrize(
    ("interval", "mass"),
    [
        ((0.05, 0.35), None),  # the default mass, 0.9
        ((0.35, 0.85), 0.8),
        ((0.6, 0.95), None),
        ((0.2, 0.7), 0.5),
        ((0.01, 0.05), 0.95),
        ((0.9, 0.99), None),
        ((0.001, 0.999), 0.99),
    ],
)
def test_interval_prior_puts_its_mass_between_the_ends(interval, mass):
    lo, hi = interval
    written = f"{{interval: [{lo}, {hi}]" + (f", mass: {mass}}}" if mass else "}")
    result = one_prior(written)
    tail = (1 - (mass or 0.9)) / 2
    ends = stats.beta.ppf([tail, 1 - tail], result.alpha, result.beta)
    assert ends == pytest.approx([lo, hi], abs=1e-6)


def test_interval_prior_matches_the_documented_example():
    # docs/scenario-format.md: "90% between 0.05 and 0.35: about Beta(2.80, 13.05)".
    result = one_prior("{interval: [0.05, 0.35]}")
    assert (result.alpha, result.beta) == pytest.approx((2.80, 13.05), abs=0.01)
    assert result.stated == "90% between 0.05 and 0.35"


def test_stated_form_is_kept_for_reports():
    assert one_prior("{beta: [1, 24]}").stated == "Beta(1, 24)"
    assert one_prior("{mean: 0.2, sd: 0.1}").stated == "mean 0.2, sd 0.1"
    assert one_prior("{mean: 0.4, sample_size: 10}").stated == "mean 0.4, worth 10 observations"
    assert one_prior("{interval: [0.35, 0.85], mass: 0.8}").stated == "80% between 0.35 and 0.85"


@pytest.mark.parametrize(
    ("prior", "message"),
    [
        ("{mean: 0.3, sd: 0.1, sample_size: 5}", "a prior for a probability is one of"),
        ("{mean: 0.3}", "a prior for a probability is one of"),
        ("{}", "got nothing"),
        ("{mass: 0.8}", "a prior for a probability is one of"),
        ("{dirichlet: [1, 2]}", "'x' is binary"),
        ("{beta: [1, 2, 3]}", "beta must be a list of two numbers"),
        ("{mean: 0.5, sd: 0.5}", "sd 0.5 is impossible for a probability with mean 0.5"),
        ("{mean: 0.5, sd: 0}", "sd must be greater than 0"),
        ("{mean: 0.5, sd: 1.0e-200}", "sd 1e-200 is too small to be a belief"),
        ("{mean: 0.5, sample_size: 0}", "sample_size must be greater than 0"),
        ("{mean: .nan, sd: 0.1}", "must be a finite number"),
        ('{mean: "0.3", sd: 0.1}', "must be a number, got the text '0.3'"),
        ("{mean: yes, sd: 0.1}", "a yes/no value"),
    ],
)
def test_mixed_or_incomplete_prior_forms_are_refused(prior, message):
    with pytest.raises(ScenarioError) as caught:
        one_prior(prior)
    assert len(caught.value.problems) == 1
    assert message in caught.value.problems[0].message


# -- priors for a categorical outcome --------------------------------------------------------------


@pytest.mark.parametrize(
    ("prior", "concentration"),
    [
        ("{dirichlet: [3.5, 5.5, 1]}", (3.5, 5.5, 1)),
        ("{dirichlet: {left: 3.5, extended: 5.5, revoked: 1}}", (3.5, 5.5, 1)),
        # By name in another order: still in category order.
        ("{dirichlet: {revoked: 1, left: 3.5, extended: 5.5}}", (3.5, 5.5, 1)),
        (
            "{probabilities: {left: 0.8, extended: 0.18, revoked: 0.02}, sample_size: 25}",
            (20, 4.5, 0.5),
        ),
        (
            "{probabilities: {revoked: 0.25, left: 0.25, extended: 0.5}, sample_size: 4}",
            (1, 2, 1),
        ),
    ],
)
def test_dirichlet_prior_concentrations_are_exact(prior, concentration):
    result = one_prior(prior, categories="[left, extended, revoked]")
    assert isinstance(result, DirichletPrior)
    assert result.concentration == pytest.approx(concentration, rel=1e-12)


@pytest.mark.parametrize(
    ("prior", "message"),
    [
        ("{dirichlet: [1, 2]}", "dirichlet needs 3 numbers"),
        ("{dirichlet: {left: 1, extended: 2}}", "every category needs a value; missing: revoked"),
        (
            "{probabilities: {left: 0.5, extended: 0.3, revoked: 0.1}, sample_size: 5}",
            "probabilities must sum to 1, they sum to 0.9",
        ),
        ("{probabilities: {left: 0.5, extended: 0.3, revoked: 0.2}}", "a prior for a categorical"),
        ("{mean: 0.3, sd: 0.1}", "'x' is categorical"),
    ],
)
def test_bad_dirichlet_priors_are_refused(prior, message):
    with pytest.raises(ScenarioError) as caught:
        one_prior(prior, categories="[left, extended, revoked]")
    assert any(message in problem.message for problem in caught.value.problems)


# -- condition rows --------------------------------------------------------------------------------

TWO_PARENTS = """
outcomes:
  brexit_status:
    categories: [left, extended, revoked]
    prior: {dirichlet: [3, 5, 1]}
  may_departs:
    prior: {beta: [3, 5]}
  general_election:
    given: [brexit_status, may_departs]
    prior:
      brexit_status == extended and may_departs: {beta: [4, 6]}
      not may_departs and brexit_status == extended: {mean: 0.25, sample_size: 12}
      brexit_status == left and may_departs: {beta: [2, 6]}
      otherwise: {beta: [1.5, 10]}
"""


def test_rows_and_otherwise_cover_every_combination_once():
    outcome = scenario(TWO_PARENTS).outcome("general_election")
    assert outcome.parents == ("brexit_status", "may_departs")
    assert outcome.parent_cardinalities == (3, 2)
    keys = [row.key for row in outcome.rows]
    assert keys == [
        "brexit_status == extended and may_departs",
        "not may_departs and brexit_status == extended",
        "brexit_status == left and may_departs",
        "otherwise",
    ]
    # (brexit_status index, may_departs 1/0) for each row; otherwise takes what is left.
    assert [row.combinations for row in outcome.rows] == [
        ((1, 1),),
        ((1, 0),),
        ((0, 1),),
        ((0, 0), (2, 0), (2, 1)),
    ]
    # row_of_combination follows itertools.product order of the parents' values.
    assert outcome.row_of_combination == (3, 2, 1, 0, 3, 3)
    covered = sorted(c for row in outcome.rows for c in row.combinations)
    assert covered == list(itertools.product(range(3), range(2)))
    assert outcome.rows[-1].prior.alpha == 1.5
    assert outcome.rows[1].prior.alpha == pytest.approx(3)


@pytest.mark.parametrize(
    ("values", "row"),
    [
        ({"brexit_status": 1, "may_departs": 1}, 0),
        ({"brexit_status": 1, "may_departs": 0}, 1),
        ({"brexit_status": 0, "may_departs": 1}, 2),
        ({"brexit_status": 0, "may_departs": 0}, 3),
        ({"brexit_status": 2, "may_departs": 1}, 3),
        ({"brexit_status": 2, "may_departs": 0}, 3),
    ],
)
def test_row_for_parent_values(values, row):
    assert scenario(TWO_PARENTS).outcome("general_election").row_for(values) == row


def test_categorical_outcome_with_a_categorical_parent():
    result = scenario(
        """
        outcomes:
          deal_approved:
            prior: {mean: 0.4, sd: 0.15}
          brexit_status:
            categories: [left, extended, revoked]
            given: [deal_approved]
            prior:
              deal_approved:
                probabilities: {left: 0.8, extended: 0.18, revoked: 0.02}
                sample_size: 25
              not deal_approved: {dirichlet: {left: 3.5, extended: 5.5, revoked: 1}}
          tests_resume:
            given: [brexit_status]
            prior:
              brexit_status == revoked: {beta: [1, 9]}
              otherwise: {beta: [1, 1]}
        """
    )
    status = result.outcome("brexit_status")
    assert not status.is_binary and status.cardinality == 3
    assert status.row_of_combination == (1, 0)  # not deal_approved first: value 0
    assert status.rows[0].prior.concentration == pytest.approx((20, 4.5, 0.5))
    tests = result.outcome("tests_resume")
    assert tests.row_of_combination == (1, 1, 0)
    assert tests.rows[1].combinations == ((0,), (1,))
    assert [o.name for o in result.outcomes] == ["deal_approved", "brexit_status", "tests_resume"]


def test_outcomes_are_ordered_parents_first():
    result = scenario(
        """
        outcomes:
          child:
            given: [parent]
            prior: {parent: {beta: [2, 1]}, not parent: {beta: [1, 2]}}
          parent:
            prior: {beta: [1, 1]}
          other:
            prior: {beta: [1, 1]}
        """
    )
    assert [o.name for o in result.outcomes] == ["parent", "child", "other"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("{a or b: {beta: [1, 1]}, otherwise: {beta: [1, 1]}}", "is not a row key"),
        ("{a: {beta: [1, 1]}, otherwise: {beta: [1, 1]}}", "'a' does not fix b"),
        ("{a and a and b: {beta: [1, 1]}, otherwise: {beta: [1, 1]}}", "'a' appears twice"),
        ("{a and c: {beta: [1, 1]}, otherwise: {beta: [1, 1]}}", "'c' is not a parent"),
        ("{beta: [1, 1]}", "so its prior needs one entry per condition row"),
    ],
)
def test_malformed_row_keys_are_refused(rows, message):
    with pytest.raises(ScenarioError) as caught:
        scenario(
            f"""
            outcomes:
              a: {{prior: {{beta: [1, 1]}}}}
              b: {{prior: {{beta: [1, 1]}}}}
              c: {{prior: {{beta: [1, 1]}}}}
              d:
                given: [a, b]
                prior: {rows}
            """
        )
    assert [p.message for p in caught.value.problems if message in p.message]


# -- evidence and reference classes ----------------------------------------------------------------

EVIDENCE = (
    TWO_PARENTS
    + """
evidence:
  - {outcome: general_election, when: brexit_status == extended and not may_departs,
     successes: 1, trials: 4, weight: 0.5, source: "somewhere"}
  - {outcome: general_election, when: otherwise, successes: 0, trials: 2}
  - {outcome: general_election, when: brexit_status == revoked and may_departs,
     successes: 2, trials: 3}
  - {outcome: general_election, successes: 3, trials: 9}
  - {outcome: brexit_status, counts: {revoked: 1, left: 2}}
reference_classes:
  - outcome: general_election
    when: brexit_status == left and may_departs
    cases:
      - {name: "one", successes: 1, trials: 2}
      - {name: "two", successes: 0, trials: 1}
  - outcome: may_departs
    pooling: complete
    cases: [{name: "three", successes: 3, trials: 3}]
"""
)


def test_evidence_bears_on_the_row_its_when_names():
    items = scenario(EVIDENCE).evidence
    assert [(e.outcome, e.row) for e in items] == [
        ("general_election", 1),
        ("general_election", 3),  # otherwise
        ("general_election", 3),  # a combination that otherwise covers
        ("general_election", None),  # no when: the overall probability
        ("brexit_status", None),
    ]
    assert (items[0].successes, items[0].trials, items[0].weight) == (1, 4, 0.5)
    assert items[0].source == "somewhere"
    assert items[1].weight == 1.0
    assert items[4].counts == (2, 0, 1)  # category order; extended left out counts 0
    assert items[4].successes is None


def test_reference_classes_are_read():
    first, second = scenario(EVIDENCE).reference_classes
    assert (first.outcome, first.row, first.pooling) == ("general_election", 2, "partial")
    assert [(c.name, c.successes, c.trials) for c in first.cases] == [("one", 1, 2), ("two", 0, 1)]
    assert (second.outcome, second.row, second.pooling) == ("may_departs", 0, "complete")


# -- the top level ---------------------------------------------------------------------------------


def test_top_level_keys_are_read():
    text = (
        'version: 1\ntitle: "T"\nquestion: "Q?"\nas_of: 2018-05-20\nhorizon: 2020-06-12\n'
        "seed: 7\nsampling: {draws: 200, tune: 300, chains: 2}\n"
        "outcomes:\n  x:\n    prior: {beta: [1, 1]}\n"
    )
    raw = text.encode("utf-8")
    result = parse_scenario(raw, "top.yaml")
    assert (result.version, result.title, result.question) == (1, "T", "Q?")
    assert (result.as_of, result.horizon) == (dt.date(2018, 5, 20), dt.date(2020, 6, 12))
    assert result.seed == 7
    assert (result.sampling.draws, result.sampling.tune, result.sampling.chains) == (200, 300, 2)
    assert result.source_file == "top.yaml"
    assert result.text == text
    assert result.sha256 == hashlib.sha256(raw).hexdigest()
    assert result.evidence == () and result.scenarios == ()


def test_a_byte_order_mark_is_accepted():
    raw = b"\xef\xbb\xbfversion: 1\ntitle: t\noutcomes:\n  x:\n    prior: {beta: [1, 1]}\n"
    assert parse_scenario(raw).title == "t"


def test_minimal_file_from_the_documentation():
    result = scenario(
        """
        # yaml-language-server: $schema=../docs/scenario.schema.json
        version: 1
        title: "Will the talks start this year?"
        outcomes:
          talks_start:
            prior: {mean: 0.3, sd: 0.1}
        """
    )
    (outcome,) = result.outcomes
    assert outcome.label == "talks_start" and outcome.is_binary and outcome.parents == ()
    assert (result.seed, result.sampling.draws, result.as_of) == (None, None, None)


# -- expressions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a", "a"),
        ("not a", ("not", "a")),
        ("not not a", ("not", ("not", "a"))),
        ("a and b", ("and", "a", "b")),
        ("a and b and c", ("and", "a", "b", "c")),
        ("a or b or c", ("or", "a", "b", "c")),
        ("not a and b or c", ("or", ("and", ("not", "a"), "b"), "c")),
        ("a or b and c", ("or", "a", ("and", "b", "c"))),
        ("a and (b or c)", ("and", "a", ("or", "b", "c"))),
        ("not (a or b)", ("not", ("or", "a", "b"))),
        ("((a))", "a"),
        ("d == x", ("d", "==", "x")),
        ("d != x", ("d", "!=", "x")),
        ("not d == x and a", ("and", ("not", ("d", "==", "x")), "a")),
        ("d==x or(a)", ("or", ("d", "==", "x"), "a")),
        ("  a\n  and\tb  ", ("and", "a", "b")),
    ],
)
def test_expressions_parse_with_not_then_and_then_or(text, expected):
    assert shape(parse(text)) == expected


def test_expression_atoms_know_their_offsets():
    expression = parse("summit_held and not deal_form == collapse")
    happens, category = atoms(expression)
    assert (happens.outcome, happens.offset) == ("summit_held", 0)
    assert (category.outcome, category.offset, category.category_offset) == ("deal_form", 20, 33)
    assert outcomes_in(expression) == {"summit_held", "deal_form"}


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("", 0, "the expression is empty"),
        ("   ", 0, "the expression is empty"),
        ("a and", 5, "ends too early"),
        ("a b", 2, "unexpected 'b'"),
        ("(a or b", 7, "a '(' is not closed"),
        ("a)", 1, "unexpected ')'"),
        ("a && b", 2, "unexpected character '&'"),
        ("d == ", 5, "expected a category name after '=='"),
        ("d != and", 5, "expected a category name after '!='"),
        ("and a", 0, "expected an outcome name, found 'and'"),
        ("a = b", 2, "unexpected character '='"),
        ("(" * 60 + "a" + ")" * 60, 50, "more than 50 deep"),
        ("not " * 60 + "a", 200, "more than 50 deep"),
    ],
)
def test_bad_expressions_point_at_the_offending_word(text, offset, message):
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert caught.value.offset == offset
    assert message in str(caught.value)


def test_evaluate_agrees_with_python_on_every_world():
    worlds = np.array(list(itertools.product([0, 1], repeat=3)))
    values = {"a": worlds[:, 0], "b": worlds[:, 1], "c": worlds[:, 2]}
    texts = ["not a and b or c", "a or b and c", "not (a or b) and c", "a and (b or not c)"]
    for text in texts:
        got = evaluate(parse(text), values, {})
        expected = [eval(text, {}, dict(zip("abc", map(bool, w), strict=True))) for w in worlds]
        assert got.tolist() == expected, text


def test_evaluate_categories():
    values = {"d": np.array([0, 1, 2]), "a": np.array([1, 1, 0])}
    categories = {"d": ("x", "y", "z")}
    assert evaluate(parse("d == y"), values, categories).tolist() == [False, True, False]
    assert evaluate(parse("d != y"), values, categories).tolist() == [True, False, True]
    assert evaluate(parse("d != x and a"), values, categories).tolist() == [False, True, False]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("deal_form", "'deal_form' is categorical; write 'deal_form == bargain'"),
        (
            "summit_held == true",
            "'summit_held' is binary; write 'summit_held' or 'not summit_held'",
        ),
        ("summit_held and deal_form == colapse", "did you mean 'collapse'?"),
    ],
)
def test_scenario_expressions_must_fit_the_outcomes(expression, message):
    with pytest.raises(ScenarioError) as caught:
        scenario(
            f"""
            outcomes:
              summit_held: {{prior: {{beta: [1, 1]}}}}
              deal_form:
                categories: [bargain, collapse]
                prior: {{dirichlet: [1, 1]}}
            scenarios:
              s: "{expression}"
            """
        )
    (problem,) = caught.value.problems
    assert message in problem.message
    assert problem.key_path == ("scenarios", "s")


def test_named_scenarios_keep_their_text_and_expression():
    result = scenario(
        """
        outcomes:
          a: {prior: {beta: [1, 1]}}
          d: {categories: [x, y], prior: {dirichlet: [1, 1]}}
        scenarios:
          first: "a and d != x"
          second: not a or d == y
        """
    )
    assert [(s.name, s.text) for s in result.scenarios] == [
        ("first", "a and d != x"),
        ("second", "not a or d == y"),
    ]
    assert shape(result.scenarios[1].expression) == ("or", ("not", "a"), ("d", "==", "y"))


# -- the worked examples ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_loads(path):
    result = load_scenario(path)
    assert result.source_file == str(path)
    assert result.outcomes and result.scenarios
    assert result.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_singapore_example_priors():
    result = load_scenario(REPO / "scenarios" / "singapore-summit-2018.yaml")
    shutdown = result.outcome("full_shutdown")
    assert [r.key for r in shutdown.rows] == ["summit_held", "not summit_held"]
    assert (shutdown.rows[0].prior.alpha, shutdown.rows[0].prior.beta) == pytest.approx((3, 12))
    assert (shutdown.rows[1].prior.alpha, shutdown.rows[1].prior.beta) == (1, 24)
    drawdown = result.outcome("troop_drawdown")
    assert drawdown.rows[0].prior.alpha == pytest.approx(4)
    # otherwise: both combinations without a summit
    assert drawdown.rows[-1].combinations == ((0, 0), (1, 0))
    assert result.outcome("deal_form").categories == (
        "grand_bargain",
        "freeze_for_relief",
        "talks_drag_on",
        "collapse",
    )
    assert result.sampling.tune is None and result.sampling.chains == 4
    assert len(result.reference_classes[0].cases) == 4
