"""Outcomes as the spec gives them: category labels, and parent combinations in the analyst's words.

A category is written as a plain name or as `{name, label}`; the label is only for reports, and
everywhere else the category goes by its name. Each parent combination has one position (the
order of `row_of_combination`), and each condition row can say which parent values it stands
for, checked here against the row keys as the expression evaluator reads them.
"""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers import SCENARIO_FILES

from forecast.spec import Outcome, Row, Scenario, ScenarioError, load_scenario, parse_scenario
from forecast.spec.expressions import evaluate, parse
from forecast.spec.priors import BetaPrior
from forecast.spec.scenario import parent_combinations

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = SCENARIO_FILES


def scenario(body: str) -> Scenario:
    text = 'version: 1\ntitle: "T"\n' + textwrap.dedent(body)
    return parse_scenario(text.encode("utf-8"), "test.yaml")


def problems(body: str) -> list[str]:
    """Every problem of the file as LINE:COL: KEY -> PATH: message."""
    with pytest.raises(ScenarioError) as caught:
        scenario(body)
    return [str(p).removeprefix("test.yaml:") for p in caught.value.problems]


# -- category labels -------------------------------------------------------------------------------


def test_plain_categories_are_their_own_labels():
    outcome = scenario(
        """
        outcomes:
          deal_form:
            categories: [bargain, freeze, collapse]
            prior: {dirichlet: [1, 2, 3]}
        """
    ).outcome("deal_form")
    assert outcome.categories == ("bargain", "freeze", "collapse")
    assert outcome.category_labels == ("bargain", "freeze", "collapse")
    assert [outcome.category_label(i) for i in range(3)] == ["bargain", "freeze", "collapse"]


def test_labelled_and_plain_categories_mix_in_block_and_flow_style():
    result = scenario(
        """
        outcomes:
          summit_held:
            prior: {beta: [3, 1]}
          deal_form:
            categories:
              - grand_bargain
              - {name: freeze_for_relief, label: "Freeze in return for relief"}
              - name: talks_drag_on
                label: "Talks drag on, nothing binding"
              - collapse
            given: [summit_held]
            prior:
              summit_held: {dirichlet: {grand_bargain: 1, freeze_for_relief: 3, talks_drag_on: 4,
                                        collapse: 2}}
              not summit_held: {dirichlet: [1, 1, 1, 1]}
          tests_resume:
            given: deal_form
            prior:
              deal_form == collapse: {beta: [3, 1]}
              otherwise: {beta: [1, 3]}
        evidence:
          - {outcome: deal_form, counts: {talks_drag_on: 2, collapse: 1}}
        scenarios:
          stalled: "deal_form == talks_drag_on and not tests_resume"
        """
    )
    deal = result.outcome("deal_form")
    # Names are what row keys, counts and expressions use; labels are only for reading.
    assert deal.categories == ("grand_bargain", "freeze_for_relief", "talks_drag_on", "collapse")
    assert deal.category_labels == (
        "grand_bargain",
        "Freeze in return for relief",
        "Talks drag on, nothing binding",
        "collapse",
    )
    assert deal.category_label(2) == "Talks drag on, nothing binding"
    assert deal.category_label(3) == "collapse"
    assert result.evidence[0].counts == (0, 0, 2, 1)
    assert result.scenarios[0].name == "stalled"
    assert result.outcome("tests_resume").rows[0].combinations == ((3,),)


def test_a_binary_outcome_has_no_category_labels():
    outcome = scenario("outcomes:\n  x: {prior: {beta: [1, 1]}}\n").outcome("x")
    assert outcome.category_labels == ()
    with pytest.raises(ValueError, match="'x' is binary"):
        outcome.category_label(1)


def test_an_outcome_built_without_labels_shows_names():
    # Outcomes made in code before labels existed keep working.
    prior = BetaPrior(1, 1, "Beta(1, 1)")
    outcome = Outcome("d", "D", None, ("p", "q"), (), (Row("", prior, ((),)),), (0,))
    assert outcome.category_label(1) == "q"


def test_flagship_categories_have_labels_and_unchanged_names():
    deal = load_scenario(REPO / "scenarios" / "singapore-summit-2018.yaml").outcome("deal_form")
    assert deal.categories == ("grand_bargain", "freeze_for_relief", "talks_drag_on", "collapse")
    assert all(
        label != name for label, name in zip(deal.category_labels, deal.categories, strict=True)
    )


# The categories line is line 5; its value starts at column 17.
BAD_CATEGORIES = [
    (
        "[a, {name: b}, c]",
        ["5:21: outcomes -> deal_form -> categories -> item 2: missing required key 'label'"],
    ),
    (
        "[a, {label: B}, c]",
        ["5:21: outcomes -> deal_form -> categories -> item 2: missing required key 'name'"],
    ),
    (
        "[a, {name: b, lable: B}, c]",
        [
            "5:21: outcomes -> deal_form -> categories -> item 2: missing required key 'label'",
            "5:31: outcomes -> deal_form -> categories -> item 2 -> lable: unknown key 'lable'; "
            "did you mean 'label'? (allowed: name, label)",
        ],
    ),
    (
        '[a, {name: b, label: ""}, c]',
        [
            "5:38: outcomes -> deal_form -> categories -> item 2 -> label: "
            "must be non-empty text, got the text ''"
        ],
    ),
    (
        '[a, {name: b, label: "   "}, c]',
        [
            "5:38: outcomes -> deal_form -> categories -> item 2 -> label: "
            "must be non-empty text, got the text '   '"
        ],
    ),
    (
        "[a, {name: b, label: 3}, c]",
        [
            "5:38: outcomes -> deal_form -> categories -> item 2 -> label: "
            "must be non-empty text, got 3"
        ],
    ),
    (
        "[a, {name: Big B, label: B}, c]",
        [
            "5:28: outcomes -> deal_form -> categories -> item 2 -> name: a category name "
            "'Big B' must be lower-case letters, digits and _, starting with a letter"
        ],
    ),
    (
        "[a, {name: no, label: B}, c]",
        [
            "5:28: outcomes -> deal_form -> categories -> item 2 -> name: a category name must "
            "be lower-case letters, digits and _, starting with a letter; got 'false' (a yes/no "
            "value; quote it if you meant text)"
        ],
    ),
    (
        "[a, {name: otherwise, label: B}, c]",
        [
            "5:28: outcomes -> deal_form -> categories -> item 2 -> name: "
            "'otherwise' is a reserved word and cannot be a category name"
        ],
    ),
    (
        "[a, {name: a, label: A}, c]",
        [
            "5:28: outcomes -> deal_form -> categories -> item 2 -> name: "
            "duplicate category 'a'; each must be unique"
        ],
    ),
    (
        "[{name: a, label: A}, b, a]",
        [
            "5:42: outcomes -> deal_form -> categories -> item 3: "
            "duplicate category 'a'; each must be unique"
        ],
    ),
]


@pytest.mark.parametrize(
    ("categories", "expected"), BAD_CATEGORIES, ids=[c for c, _ in BAD_CATEGORIES]
)
def test_bad_categories_are_located(categories, expected):
    body = (
        "outcomes:\n"
        "  deal_form:\n"
        f"    categories: {categories}\n"
        "    prior: {dirichlet: [1, 1, 1]}\n"
    )
    assert problems(body) == expected


def test_a_bad_label_does_not_hide_other_problems():
    found = problems(
        """
        outcomes:
          deal_form:
            categories: [{name: a, label: ""}, b]
            prior: {dirichlet: [1, 1, 1]}
        """
    )
    assert [line.split(": ", 2)[1] for line in found] == [
        "outcomes -> deal_form -> categories -> item 1 -> label"
    ]


# -- parent combinations ---------------------------------------------------------------------------

TWO_PARENTS = """
outcomes:
  brexit_status:
    categories: [left, {name: extended, label: "Still a member"}, revoked]
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


def test_combination_index_numbers_combinations_in_product_order():
    outcome = scenario(TWO_PARENTS).outcome("general_election")
    every = list(itertools.product(range(3), range(2)))
    assert [outcome.combination_index(c) for c in every] == list(range(6))
    assert [outcome.row_of_combination[outcome.combination_index(c)] for c in every] == [
        3,  # left, not may_departs: otherwise
        2,
        1,
        0,
        3,
        3,
    ]


def test_combination_index_works_on_arrays_of_worlds():
    outcome = scenario(TWO_PARENTS).outcome("general_election")
    status, departs = np.array(list(itertools.product(range(3), range(2)))).T
    assert outcome.combination_index((status, departs)).tolist() == list(range(6))


@pytest.mark.parametrize("values", [(3, 0), (0, 2), (-1, 0), (0,), (0, 0, 0)])
def test_combination_index_refuses_values_the_parents_cannot_take(values):
    outcome = scenario(TWO_PARENTS).outcome("general_election")
    with pytest.raises(ValueError):
        outcome.combination_index(values)


def test_a_root_outcome_has_one_combination():
    outcome = scenario(TWO_PARENTS).outcome("may_departs")
    assert outcome.combination_index(()) == 0
    assert outcome.row_for({}) == 0
    assert outcome.row_given(0) == {}
    assert outcome.row_combinations(0) == [{}]


def test_row_given_names_parent_values_in_parent_order():
    outcome = scenario(TWO_PARENTS).outcome("general_election")
    assert outcome.parent_categories == (("left", "extended", "revoked"), ())
    assert outcome.row_given(0) == {"brexit_status": "extended", "may_departs": True}
    # Written with may_departs first, still given in parent order.
    assert list(outcome.row_given(1).items()) == [
        ("brexit_status", "extended"),
        ("may_departs", False),
    ]
    assert outcome.row_given(2) == {"brexit_status": "left", "may_departs": True}
    assert outcome.row_given(3) is None  # otherwise
    assert outcome.row_combinations(3) == [
        {"brexit_status": "left", "may_departs": False},
        {"brexit_status": "revoked", "may_departs": False},
        {"brexit_status": "revoked", "may_departs": True},
    ]
    assert outcome.row_combinations(0) == [outcome.row_given(0)]


def test_row_given_needs_the_parents_categories():
    outcome = scenario(TWO_PARENTS).outcome("general_election")
    prior = BetaPrior(1, 1, "Beta(1, 1)")
    bare = Outcome(
        "g",
        "G",
        None,
        (),
        outcome.parents,
        (Row("otherwise", prior, tuple(itertools.product(range(3), range(2)))),),
        (0,) * 6,
        (3, 2),
    )
    with pytest.raises(ValueError, match="without its parents' categories"):
        bare.row_combinations(0)


def _indices(given: dict, categories: dict) -> dict[str, int]:
    """A given mapping back to outcome values: 1/0, or the category's index."""
    return {
        name: categories[name].index(value) if name in categories else int(value)
        for name, value in given.items()
    }


def _holds(key: str, given: dict, categories: dict) -> bool:
    values = {name: np.array([value]) for name, value in _indices(given, categories).items()}
    return bool(evaluate(parse(key), values, categories)[0])


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_rows_cover_what_their_keys_say_in_every_example(path):
    example = load_scenario(path)
    categories = example.categories
    for outcome in example.outcomes:
        if not outcome.parents:
            continue
        every = parent_combinations(list(outcome.parent_cardinalities))
        covered = []
        for index, row in enumerate(outcome.rows):
            combinations = outcome.row_combinations(index)
            covered += [
                tuple(_indices(c, categories)[p] for p in outcome.parents) for c in combinations
            ]
            assert all(list(c) == list(outcome.parents) for c in combinations)
            given = outcome.row_given(index)
            if row.key == "otherwise":
                assert given is None
                continue
            assert combinations == [given]
            # The row key, read by the expression evaluator, holds for the values given.
            assert _holds(row.key, given, categories), row.key
        # Every combination exactly once, each in the row that row_for picks.
        assert sorted(covered) == every
        for index in range(len(outcome.rows)):
            for given in outcome.row_combinations(index):
                assert outcome.row_for(_indices(given, categories)) == index
