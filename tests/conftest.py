"""Fixtures shared by several test files."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest
from helpers import REPO

# The scenario the report tests are drawn from, sampled once per test session by the real pipeline.
REPORT_SCENARIO = REPO / "tests" / "data" / "report-fixture.yaml"
# Enough draws for the diagnostics to pass (effective sample size >= 400 for every parameter), so
# that the report shows no warning unless a test puts one there; more draws cost little next to
# starting the sampler.
REPORT_RUN_OPTIONS = {"chains": 2, "draws": 1000, "tune": 500}


@pytest.fixture(scope="session", autouse=True)
def no_worker_and_a_private_cache(tmp_path_factory):
    """No test starts a worker or writes into the user's cache folder unless it says so.

    PyTensor's compiled code stays where PyTensor keeps it by default, so that the tests' runs
    start as warm as they did before the cache folder existed.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FORECAST_NO_WORKER", "1")
        patch.setenv("FORECAST_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        flags = os.environ.get("PYTENSOR_FLAGS", "")
        if "compiledir" not in flags:
            compiledir = f"base_compiledir={shlex.quote(str(Path.home() / '.pytensor'))}"
            patch.setenv("PYTENSOR_FLAGS", f"{flags},{compiledir}" if flags else compiledir)
        yield


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory) -> Path:
    """A run folder (summary.json, posterior.nc, scenario.yaml) that `forecast run` wrote for
    tests/data/report-fixture.yaml. Shared by the whole session: copy it before changing it."""
    from forecast import pipeline
    from forecast.spec import parse_scenario

    source = REPORT_SCENARIO.relative_to(REPO).as_posix()
    scenario = parse_scenario(REPORT_SCENARIO.read_bytes(), source)
    flags = " ".join(f"--{name} {value}" for name, value in REPORT_RUN_OPTIONS.items())
    options = pipeline.RunOptions(
        **REPORT_RUN_OPTIONS,
        formats=frozenset({"json"}),
        command=f"forecast run {source} {flags} --format json",
    )
    return pipeline.run_scenario(scenario, tmp_path_factory.mktemp("pipeline"), options).run_dir
