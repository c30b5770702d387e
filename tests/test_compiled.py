"""Compiled models kept by structure: a cached model and a fresh one give the same draws, and
so does the faster sampler an idle process compiles."""

from __future__ import annotations

import dataclasses
import re
import types

import numpy as np
import pytest
import xarray as xr

from forecast import compiled, inference
from forecast.model import structure_key
from forecast.spec import parse_scenario
from forecast.worker.server import Worker

pytestmark = pytest.mark.slow

TEXT = """\
version: 1
title: cached
outcomes:
  talks: {prior: {beta: [2, 3]}}
  deal:
    given: [talks]
    prior: {talks: {mean: 0.4, sd: 0.15}, otherwise: {beta: [1, 9]}}
evidence:
  - {outcome: deal, successes: 2, trials: 5}
"""
# The same structure with other numbers: a tweaked prior, other counts, another weight.
TWEAKED = TEXT.replace("{beta: [2, 3]}", "{beta: [5, 1]}").replace(
    "successes: 2, trials: 5", "successes: 4, trials: 9, weight: 0.5"
)
SETTINGS = inference.Settings(draws=200, tune=200, chains=2, seed=11)


def draws(sampled) -> dict[str, np.ndarray]:
    tree = sampled.tree
    return {
        f"{group}/{name}": tree[group][name].values
        for group in ("posterior", "prior")
        for name in tree[group].data_vars
    }


def assert_same(first: dict, second: dict) -> None:
    assert first.keys() == second.keys()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)


def test_numbers_do_not_change_the_structure_key():
    base, tweaked = parse_scenario(TEXT.encode()), parse_scenario(TWEAKED.encode())
    assert structure_key(base) == structure_key(tweaked)
    renamed = parse_scenario(TEXT.replace("talks", "meeting").encode())
    assert structure_key(renamed) != structure_key(base)


def test_a_kept_model_gives_the_draws_of_a_fresh_one():
    base, tweaked = parse_scenario(TEXT.encode()), parse_scenario(TWEAKED.encode())
    compiled.forget()
    fresh_base = inference.sample(base, SETTINGS)
    assert not fresh_base.reused
    # Another file of the same structure takes the kept model, with its own numbers.
    kept_tweaked = inference.sample(tweaked, SETTINGS)
    assert kept_tweaked.reused
    assert kept_tweaked.compile_seconds < 1
    kept_base = inference.sample(base, SETTINGS)
    assert_same(draws(fresh_base), draws(kept_base))
    compiled.forget()
    fresh_tweaked = inference.sample(tweaked, SETTINGS)
    assert not fresh_tweaked.reused
    assert_same(draws(fresh_tweaked), draws(kept_tweaked))
    # And the numbers did reach the model: the tweaked prior moved the talks.
    prior = kept_tweaked.tree["prior"]["talks"].values.mean()
    assert prior == pytest.approx(5 / 6, abs=0.01)
    assert fresh_base.tree["prior"]["talks"].values.mean() == pytest.approx(2 / 5, abs=0.01)
    # A model this small is sampled fastest as it is: nothing for an idle process to compile.
    assert compiled.upgrade_one() is None


@pytest.fixture
def upgradable(monkeypatch):
    """Models of any size count as large enough for nutpie's numba backend to pay off, so that
    a small one stands in for the flagship's size; no model is kept before or after."""
    monkeypatch.setattr(compiled, "CACHED_OPERATIONS", 0)
    compiled.forget()
    yield
    compiled.forget()


def test_the_faster_sampler_is_taken_when_it_gives_the_cached_samplers_draws(
    upgradable, monkeypatch
):
    # Two of these samplings' chain steps make a structure worth the faster sampler.
    monkeypatch.setattr(compiled, "UPGRADE_PAYS_AFTER", 2 * SETTINGS.chains * 400)
    base, tweaked = parse_scenario(TEXT.encode()), parse_scenario(TWEAKED.encode())
    first = inference.sample(base, SETTINGS)
    assert first.sampler == "nutpie-cached"
    assert compiled.upgrade_waits()  # for a process that stays alive, when it is idle
    # A sweep asks with the chain steps to come; too few, and it is not compiled.
    assert compiled.upgrade_if_worth(SETTINGS.chains * 400) is None
    second = inference.sample(base, SETTINGS)
    assert second.sampler == "nutpie-cached"
    # Sampled twice already here: the third sampling first compiles the faster sampler, which
    # must give the last run's draws, and then samples with it.
    third = inference.sample(base, SETTINGS)
    assert (third.sampler, third.reused) == ("nutpie", True)
    assert_same(draws(first), draws(third))
    assert not compiled.upgrade_waits()
    assert compiled.upgrade_one() is None  # done once per structure
    # Other numbers than those of the run it was checked on: the same draws as the cached
    # sampler gives them, freshly compiled.
    upgraded_tweaked = inference.sample(tweaked, SETTINGS)
    compiled.forget()
    cached_tweaked = inference.sample(tweaked, SETTINGS)
    assert (upgraded_tweaked.sampler, cached_tweaked.sampler) == ("nutpie", "nutpie-cached")
    assert_same(draws(upgraded_tweaked), draws(cached_tweaked))


def test_a_faster_sampler_that_gives_other_draws_is_not_taken(upgradable):
    base = parse_scenario(TEXT.encode())
    first = inference.sample(base, SETTINGS)
    (kept,) = compiled._kept.values()
    # The check samples the last run's numbers again; other numbers give other draws, as last
    # bits of numba's code that differ from the cached density's would.
    last = kept._last_run
    changed = {name: np.array(value, copy=True) for name, value in last.data.items()}
    name = next(name for name, value in changed.items() if value.dtype.kind == "f")
    changed[name] = changed[name] * 1.5
    kept._last_run = dataclasses.replace(last, data=changed)
    # As the worker does when no run waits: what the upgrade found goes to its log.
    logged = []
    worker = types.SimpleNamespace(say=logged.append, runs=1, upgrading=False)
    Worker._upgrade(worker)
    (said,) = logged
    assert said.startswith("nutpie's numba backend compiled in"), said
    assert re.search(
        r"gave other draws than PyTensor's cached density: this structure keeps the cached "
        r"sampler \(\d+\.\d s in all\)$",
        said,
    ), said
    assert compiled.upgrade_one() is None  # not tried again
    Worker._upgrade(worker)
    assert len(logged) == 1 and not worker.upgrading
    again = inference.sample(base, SETTINGS)
    assert again.sampler == "nutpie-cached"
    assert_same(draws(first), draws(again))


def test_a_compile_that_fails_or_is_interrupted_leaves_the_cached_sampler(upgradable, monkeypatch):
    import nutpie

    base = parse_scenario(TEXT.encode())
    first = inference.sample(base, SETTINGS)
    (kept,) = compiled._kept.values()
    last = kept._last_run

    # Ctrl-C during the compile: the structure still waits, with the same run to check against.
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(nutpie, "compile_pymc_model", interrupted)
    with pytest.raises(KeyboardInterrupt):
        compiled.upgrade_one()
    assert compiled.upgrade_waits() and kept._last_run is last

    # A compile that fails is said in a line, not raised, and not tried again.
    def failing(*args, **kwargs):
        raise RuntimeError("no numba today")

    monkeypatch.setattr(nutpie, "compile_pymc_model", failing)
    said = compiled.upgrade_one()
    assert said == "compiling nutpie's numba backend failed (RuntimeError: no numba today)"
    assert not compiled.upgrade_waits()
    again = inference.sample(base, SETTINGS)
    assert again.sampler == "nutpie-cached"
    assert_same(draws(first), draws(again))


def test_the_check_reads_every_draw_and_whether_a_divergence_has_a_message():
    def tree(value: float, message: str | None):
        posterior = xr.Dataset({"talks": (("chain", "draw"), np.array([[0.25, value]]))})
        stats = xr.Dataset(
            {"divergence_message": (("chain", "draw"), np.array([[None, message]], dtype=object))}
        )
        return xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})

    # nutpie's backends word the same divergence differently.
    same = compiled._digest(tree(0.5, "Bad logp value: -inf"))
    assert compiled._digest(tree(0.5, "Logp function returned error code: 4")) == same
    assert compiled._digest(tree(0.5, None)) != same
    assert compiled._digest(tree(np.nextafter(0.5, 1), "Bad logp value: -inf")) != same


def test_a_kept_pymc_step_starts_every_run_untuned():
    # A chain of thirteen links is above nutpie's size limit and is sampled by PyMC's NUTS. A
    # chain run in this process leaves the kept step tuned; a run after it, its chains in
    # processes of their own, must not inherit that tuning: every run gives the draws of the
    # step as compiled, whatever ran before it.
    links = ["version: 1", "title: a chain", "outcomes:", "  c0: {prior: {beta: [2, 2]}}"]
    for k in range(1, 13):
        links += [
            f"  c{k}:",
            f"    given: [c{k - 1}]",
            f"    prior: {{c{k - 1}: {{beta: [3, 1]}}, otherwise: {{beta: [1, 3]}}}}",
        ]
    links += ["evidence:", "  - {outcome: c12, successes: 3, trials: 4}"]
    scenario = parse_scenario(("\n".join(links) + "\n").encode())
    settings = inference.Settings(draws=100, tune=100, chains=2, seed=3)
    # One chain in this process first, so that the code the chains' processes run is on disk for
    # both runs compared: numba's code compiled in a process and the same code loaded from disk
    # can differ in their last bits (docs/run-output.md, "Reproducibility").
    compiled.forget()
    inference.sample(scenario, dataclasses.replace(settings, chains=1), with_prior=False)
    first = inference.sample(scenario, settings, with_prior=False)
    assert first.sampler == "pymc"
    # Tuned again, from another seed, so that the two runs compared follow different tunings.
    inference.sample(scenario, inference.Settings(100, 100, 1, 9), with_prior=False)
    kept = inference.sample(scenario, settings, with_prior=False)
    assert kept.reused
    for name in first.tree["posterior"].data_vars:
        np.testing.assert_array_equal(
            first.tree["posterior"][name].values, kept.tree["posterior"][name].values, name
        )


def test_nutpies_raw_trace_becomes_the_groups_nutpie_itself_would_make():
    import nutpie
    import pandas as pd
    from nutpie.sample import _arrow_to_arviz

    from forecast import model as scenario_model

    scenario = parse_scenario(TEXT.encode(), "cached.yaml")
    kept, _ = compiled.compiled_for(scenario, prior_draws=inference.PRIOR_DRAWS, target_accept=0.9)
    import pymc as pm

    pm.set_data(scenario_model.model_data(scenario), model=kept.model)
    trace = nutpie.sample(
        kept.posterior, draws=50, tune=30, chains=2, seed=3, progress_bar=False,
        return_raw_trace=True,
    )  # fmt: skip
    draw_batches, stat_batches = trace.get_arrow_trace()
    ours = compiled._nutpie_tree(draw_batches, stat_batches, coords=kept.posterior.coords)
    theirs = _arrow_to_arviz(
        draw_batches,
        stat_batches,
        skip_vars=sorted(compiled.NUTPIE_UNASKED_STATISTICS),
        coords={name: pd.Index(values) for name, values in kept.posterior.coords.items()},
    )
    for group in ("posterior", "sample_stats"):
        mine, nutpies = ours[group].to_dataset(), theirs[group].to_dataset()
        assert set(mine.data_vars) == set(nutpies.data_vars)
        for name in nutpies.data_vars:
            assert mine[name].dims == nutpies[name].dims, name
            assert mine[name].dtype == nutpies[name].dtype, name
            if mine[name].dtype.kind in "fiub":
                np.testing.assert_array_equal(mine[name].values, nutpies[name].values)
        assert mine.sizes["draw"] == 50
