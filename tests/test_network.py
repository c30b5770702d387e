"""Exact probabilities over the outcome network: variable elimination against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from forecast import likelihood, probability
from forecast.spec import parse_scenario
from forecast.spec.network import elimination_plan


def random_network(rng: np.random.Generator, size: int) -> str:
    """A scenario file with `size` outcomes, each given up to two earlier ones at random."""
    lines = ["version: 1", "title: random network", "outcomes:"]
    kinds = {}
    for index in range(size):
        name = f"o{index}"
        categorical = rng.random() < 0.35
        kinds[name] = ["low", "mid", "high"] if categorical else None
        earlier = [f"o{j}" for j in range(index)]
        parents = list(
            rng.choice(earlier, size=min(len(earlier), rng.integers(0, 3)), replace=False)
        )
        prior = "{dirichlet: [1, 1, 1]}" if categorical else "{beta: [1, 1]}"
        lines.append(f"  {name}:")
        if categorical:
            lines.append("    categories: [low, mid, high]")
        if not parents:
            lines.append(f"    prior: {prior}")
            continue
        lines.append(f"    given: [{', '.join(parents)}]")
        lines.append("    prior:")
        combos = itertools.product(*([0, 1] if kinds[p] is None else kinds[p] for p in parents))
        for combo in combos:
            words = []
            for parent, value in zip(parents, combo, strict=True):
                if kinds[parent] is None:
                    words.append(parent if value else f"not {parent}")
                else:
                    words.append(f"{parent} == {value}")
            lines.append(f"      {' and '.join(words)}: {prior}")
    return "\n".join(lines) + "\n"


def random_rows(scenario, rng, batch=(2, 3)) -> dict[str, np.ndarray]:
    rows = {}
    for outcome in scenario.outcomes:
        if outcome.is_binary:
            rows[outcome.name] = rng.random((*batch, len(outcome.rows)))
        else:
            shape = (*batch, len(outcome.rows))
            rows[outcome.name] = rng.dirichlet(np.ones(outcome.cardinality), size=shape)
    return rows


def brute_force_joint(scenario, rows, names, batch=(2, 3)) -> np.ndarray:
    """Sum over every world of the product of each outcome's conditional probability."""
    shape = (*batch, *(scenario.outcome(n).cardinality for n in names))
    result = np.zeros(shape)
    outcomes = scenario.outcomes
    for world in itertools.product(*(range(o.cardinality) for o in outcomes)):
        values = dict(zip((o.name for o in outcomes), world, strict=True))
        term = np.ones(batch)
        for outcome in outcomes:
            row = outcome.row_for(values)
            if outcome.is_binary:
                p = rows[outcome.name][..., row]
                p = p if values[outcome.name] else 1 - p
            else:
                p = rows[outcome.name][..., row, values[outcome.name]]
            term = term * p
        result[(..., *(values[n] for n in names))] += term
    return result


@pytest.mark.parametrize("seed", range(12))
def test_elimination_matches_brute_force_on_random_networks(seed):
    rng = np.random.default_rng(seed)
    scenario = parse_scenario(random_network(rng, int(rng.integers(3, 7))).encode())
    rows = random_rows(scenario, rng)
    names = [o.name for o in scenario.outcomes]
    for keep in ([names[-1]], [names[0], names[-1]], sorted(rng.choice(names, 2, replace=False))):
        keep = list(dict.fromkeys(keep))
        got = probability.joint(scenario, keep, lambda o: rows[o.name], batch=2)
        expected = brute_force_joint(scenario, rows, keep)
        assert got.outcomes == tuple(keep)
        np.testing.assert_allclose(got.table, expected, rtol=1e-12, atol=1e-15)


def test_elimination_on_tensors_matches_numpy():
    pytensor = pytest.importorskip("pytensor")
    pt = pytensor.tensor
    rng = np.random.default_rng(3)
    scenario = parse_scenario(random_network(rng, 6).encode())
    rows = random_rows(scenario, rng, batch=())
    symbols = {
        name: pt.tensor(name, shape=value.shape, dtype="float64") for name, value in rows.items()
    }
    last = scenario.outcomes[-1].name
    table = probability.joint(scenario, [last], lambda o: symbols[o.name], batch=0).table
    inputs = [symbols[o.name] for o in scenario.outcomes]
    function = pytensor.function(inputs, table, on_unused_input="ignore")
    got = function(*(rows[o.name] for o in scenario.outcomes))
    expected = probability.joint(scenario, [last], lambda o: rows[o.name], batch=0).table
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def chain_scenario(length: int) -> str:
    lines = ["version: 1", "title: a long chain", "outcomes:", "  c0:", "    prior: {beta: [2, 2]}"]
    for index in range(1, length):
        lines += [
            f"  c{index}:",
            f"    given: [c{index - 1}]",
            "    prior:",
            f"      c{index - 1}: {{beta: [3, 1]}}",
            f"      not c{index - 1}: {{beta: [1, 3]}}",
        ]
    lines += [
        "evidence:",
        f"  - {{outcome: c{length - 1}, successes: 7, trials: 10}}",
    ]
    return "\n".join(lines) + "\n"


def chain_marginal(first: np.ndarray, yes: np.ndarray, no: np.ndarray) -> np.ndarray:
    """P(last link happens) by the forward recursion p_k = p_{k-1} a_k + (1 - p_{k-1}) b_k."""
    p = first
    for a, b in zip(yes, no, strict=True):
        p = p * a + (1 - p) * b
    return p


def evidence_graph_size(length: int) -> int:
    from pytensor.graph.traversal import ancestors

    from forecast.model import build_model

    model = build_model(parse_scenario(chain_scenario(length).encode()))
    return sum(1 for _ in ancestors([model["evidence.0"]]))


def test_the_evidence_term_grows_linearly_with_the_chain():
    # Enumerating the ancestors' combinations made it grow as 2**length.
    ten, twenty = evidence_graph_size(10), evidence_graph_size(20)
    assert twenty < 2.2 * ten


def test_a_twenty_link_chain_plans_small_tables():
    scenario = parse_scenario(chain_scenario(20).encode())
    parents = {o.name: o.parents for o in scenario.outcomes}
    cardinality = {o.name: o.cardinality for o in scenario.outcomes}
    order, largest = elimination_plan(parents, cardinality, ["c19"])
    assert len(order) == 19
    assert largest == 4  # never more than two linked outcomes at once, not 2**20


@pytest.mark.slow
def test_a_twenty_link_chain_with_marginal_evidence_samples_in_seconds():
    from forecast import inference
    from forecast.model import build_model
    from forecast.worlds import Draws

    scenario = parse_scenario(chain_scenario(20).encode())
    # The model's evidence term against the recursion at one point of the parameters.
    model = build_model(scenario)
    rng = np.random.default_rng(0)
    first, rows = rng.random(), rng.random((19, 2))
    point = {}
    for outcome in scenario.outcomes:
        value = first if not outcome.parents else rows[int(outcome.name[1:]) - 1]
        transformed = model.rvs_to_transforms[model[outcome.name]]
        point[model.rvs_to_values[model[outcome.name]].name] = transformed.forward(value).eval()
    (term,) = model.replace_rvs_by_values([model["evidence.0"]])
    potential = model.compile_fn(term, inputs=model.value_vars, on_unused_input="ignore")(point)
    # Row 0 is the key written first in the file: the parent happened.
    p = chain_marginal(first, rows[:, 0], rows[:, 1])
    assert potential == pytest.approx(np.log(120) + 7 * np.log(p) + 3 * np.log1p(-p), rel=1e-10)

    sampled = inference.sample(
        scenario, inference.Settings(draws=300, tune=300, chains=2, seed=4), with_prior=False
    )
    draws = Draws(scenario, sampled.tree["posterior"].to_dataset())
    summary_marginal = draws.marginal(scenario.outcome("c19"))[1]
    recursion = chain_marginal(
        draws.rows["c0"][..., 0],
        [draws.rows[f"c{k}"][..., 0] for k in range(1, 20)],
        [draws.rows[f"c{k}"][..., 1] for k in range(1, 20)],
    )
    np.testing.assert_allclose(summary_marginal, recursion, rtol=1e-12)
    item = scenario.evidence[0]
    target = likelihood.target(scenario, item, draws.rows_of, 2)
    loglik = likelihood.log_likelihood(likelihood.counts(item), item.weight, target, binary=True)
    np.testing.assert_allclose(
        loglik, np.log(120) + 7 * np.log(recursion) + 3 * np.log1p(-recursion)
    )


def test_an_item_left_out_adds_nothing_even_at_a_certain_probability():
    counts = np.array([3.0, 2.0])
    for p in (0.0, 1.0, 0.3):
        assert likelihood.log_likelihood(counts, 0.0, np.array(p), binary=True) == 0
    three = np.array([1.0, 0.0, 2.0])
    assert likelihood.log_likelihood(three, 0.0, np.array([0.0, 0.5, 0.5]), binary=False) == 0
