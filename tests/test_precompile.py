"""A structure new to the machine: helper processes compile its code and leave it on disk, and the
run's numbers are those of a run without them, whatever the helpers do."""

from __future__ import annotations

import signal
import sys

import pytest

from forecast import compiled, inference, precompile
from forecast.pipeline import RunOptions, compute_summary
from forecast.spec import parse_scenario

pytestmark = pytest.mark.slow

# Small, so that it stands in for a large structure only where the threshold is lowered; its
# evidence gives the sensitivity analysis, which reads the log density, something to do.
TEXT = """\
version: 1
title: helped
seed: 3
sampling: {draws: 300, tune: 300, chains: 2}
outcomes:
  summit: {prior: {mean: 0.7, sd: 0.15}}
  path:
    categories: [deal, freeze, collapse]
    given: [summit]
    prior: {summit: {dirichlet: [3, 2, 1]}, otherwise: {dirichlet: [1, 1, 4]}}
evidence:
  - {outcome: path, counts: {freeze: 1, collapse: 2}, weight: 0.5}
  - {outcome: summit, successes: 3, trials: 4}
"""


def numbers(summary: dict) -> dict:
    """Everything the run computed (not when it ran, nor how long it took)."""
    return {
        key: summary[key]
        for key in ("outcomes", "scenarios", "diagnostics", "evidence", "sensitivity")
        if key in summary
    }


@pytest.fixture(scope="module")
def unhelped() -> dict:
    """The numbers of a run that starts no helper."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(precompile, "HELPER_OPERATIONS", 10**9)
        compiled.forget()
        return run()


@pytest.fixture
def helped(monkeypatch, tmp_path):
    """Every structure counts as large enough for a helper; markers in a folder of the test's
    own, so that the structure is new to it; nothing kept in this process before or after."""
    monkeypatch.setattr(precompile, "HELPER_OPERATIONS", 0)
    monkeypatch.setattr(
        precompile, "marker", lambda key, draws, parts: tmp_path / f"{key}-{draws}-{parts}"
    )
    started = []
    start = precompile.start

    def counted(*arguments, **options):
        helper = start(*arguments, **options)
        started.append(helper)
        return helper

    monkeypatch.setattr(precompile, "start", counted)
    compiled.forget()
    yield tmp_path, started
    compiled.forget()


def processes(helper: precompile.Helper) -> list:
    return list({id(p): p for p in helper._processes.values()}.values())


def run() -> dict:
    summary, _ = compute_summary(parse_scenario(TEXT.encode()), RunOptions(formats=frozenset()))
    assert summary["sensitivity"]["tornado"], "the sensitivity analysis ran"
    return numbers(summary)


def test_a_helper_compiles_a_new_structure_and_changes_no_number(unhelped, helped):
    markers, started = helped
    assert run() == unhelped
    # The helpers ran to their end: each has marked its parts as on disk.
    assert started[-1] is not None
    assert all(p.reached == set(p.parts) for p in processes(started[-1]))
    assert len(list(markers.iterdir())) == len(precompile.HELPERS)
    # A process that meets the structure again starts no helper, and gives the same numbers.
    compiled.forget()
    assert run() == unhelped
    assert started[-1] is None


def test_a_helper_marks_its_parts_whether_or_not_the_run_asks_for_them(helped):
    markers, started = helped
    # Sampling alone never asks for the log density over draws; its helper still finishes.
    inference.sample(parse_scenario(TEXT.encode()), inference.Settings(100, 100, 1, 5))
    finished = {p.parts: p for p in processes(started[-1])}
    finished[("prior", "density")].wait_for("density")
    assert len(list(markers.iterdir())) == len(precompile.HELPERS)


@pytest.mark.parametrize(
    "command",
    [
        # Fails at once, before reading the structure.
        (sys.executable, "-c", "import sys; sys.exit(3)"),
        # Reads it and stops half-way: each says its first part is on disk (marking nothing),
        # never the rest.
        (sys.executable, "-c", "import sys; sys.stdin.buffer.read(); print(sys.argv[1])"),
    ],
    ids=["fails", "stops-half-way"],
)
def test_a_helper_that_fails_costs_no_number(unhelped, helped, monkeypatch, command):
    markers, started = helped
    monkeypatch.setattr(precompile, "COMMAND", command)
    assert run() == unhelped
    assert started[-1] is not None
    assert not list(markers.iterdir())


def test_a_helper_too_slow_is_stopped(helped, monkeypatch):
    markers, started = helped
    monkeypatch.setattr(
        precompile, "COMMAND", (sys.executable, "-c", "import time; time.sleep(30)")
    )
    monkeypatch.setattr(precompile, "WAIT_AT_MOST", 0.5)
    run()
    # Killed, where one left to finish would have exited with status 0.
    assert [p.returncode for p in processes(started[-1])] == [-signal.SIGKILL] * 2
