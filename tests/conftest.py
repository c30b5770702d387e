"""Fixtures shared by several test files."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import pytest
from helpers import REPO

from forecast import cache_dir

# The files whose tests take tens of seconds in all (compiling from nothing, Dask clusters, worker
# processes, Chromium), longest first. `make test` hands whole files to its processes in the order
# collected, so these are collected first: one of them handed out last would keep one core busy
# while the others wait.
LONG_FILES = (
    "test_compiled.py",
    "test_disk_cache.py",
    "test_report.py",
    "test_cluster.py",
    "test_watch.py",
    "test_run.py",
    "test_engine.py",
    "test_precompile.py",
    "test_network.py",
    "test_worker.py",
    "test_spec_property.py",
)


def pytest_collection_modifyitems(items):
    rank = {name: index for index, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONG_FILES)))


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
    start as warm as they did before the cache folder existed. The source it generates goes into
    the session's cache folder, as a run's goes into the user's, not into the system's
    temporary folder.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FORECAST_NO_WORKER", "1")
        patch.setenv("FORECAST_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        flags = os.environ.get("PYTENSOR_FLAGS", "")
        if "compiledir" not in flags:
            compiledir = f"base_compiledir={shlex.quote(str(Path.home() / '.pytensor'))}"
            flags = f"{flags},{compiledir}" if flags else compiledir
        # The generated source's folder as a command sets it, in the session's cache folder.
        environment = {**os.environ, "PYTENSOR_FLAGS": flags}
        cache_dir.use_for_pytensor(environment)
        patch.setenv("PYTENSOR_FLAGS", environment["PYTENSOR_FLAGS"])
        pytensor = sys.modules.get("pytensor")
        if pytensor is not None and not pytensor.config.generated_src_dir:
            # Imported while the tests were collected, so it has read its flags already.
            pytensor.config.generated_src_dir = str(cache_dir.generated_source())
        yield


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory) -> Path:
    """A run folder (summary.json, posterior.nc, scenario.yaml) that `forecast run` wrote for
    tests/data/report-fixture.yaml. Shared by the whole session: copy it before changing it.

    With the session spread over processes (`make test` runs pytest-xdist), the first process to
    ask samples it into their common temporary folder and the others wait for it and read it.
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return _report_run(tmp_path_factory.mktemp("pipeline"))
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent / "pipeline"
    with FileLock(f"{shared}.lock"):
        run_dir = shared / REPORT_SCENARIO.stem
        # The run's folder appears whole or not at all (forecast run swaps it in when written).
        return run_dir if (run_dir / "summary.json").is_file() else _report_run(shared)


def _report_run(out: Path) -> Path:
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
    return pipeline.run_scenario(scenario, out, options).run_dir
