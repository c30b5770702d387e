"""Runs on a real Dask cluster: a scheduler and two worker processes on 127.0.0.1, started and
stopped here, reached through `--scheduler` as an existing cluster would be.

Three small files of one structure (so each worker compiles it once), one with a variant. Every
number a run writes (summary.json and the draws in posterior.nc) must equal the same run done
in this process, with or without a fault on the cluster.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr
from click.testing import CliRunner

from forecast.cli import cli
from forecast.cluster.progress import Progress

TEMPLATE = """\
version: 1
title: "{title}"
seed: {seed}
sampling: {{draws: 300, tune: 300, chains: 2}}
outcomes:
  p:
    label: "P happens"
    prior: {{beta: [{a}, 8]}}
  q:
    given: p
    prior:
      p: {{beta: [3, 2]}}
      not p: {{beta: [1, 4]}}
evidence:
  - {{outcome: p, successes: {successes}, trials: 10}}
scenarios:
  both: "p and q"
"""
VARIANT = """\
variants:
  doubter:
    description: "Less faith in p."
    set:
      outcomes.p.prior: {beta: [1, 9]}
"""
FILES = {
    "alpha": TEMPLATE.format(title="Alpha", seed=11, a=2, successes=3) + VARIANT,
    "beta": TEMPLATE.format(title="Beta", seed=12, a=3, successes=6),
    "gamma": TEMPLATE.format(title="Gamma", seed=13, a=1, successes=1),
}
RUNS = ["alpha", "alpha@doubter", "beta", "gamma"]
# What differs between two runs of the same inputs by design: when, how long, and the command
# line that asked for it; never a number.
VOLATILE = {"created", "command"}
VOLATILE_SAMPLER = {"seconds", "compile_seconds", "compiled_model_reused"}


@pytest.fixture(scope="module")
def cluster():
    """A scheduler and two single-threaded worker processes, each behind a nanny that starts it
    again if it dies, all on loopback."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.worker.daemon": False}):
        local = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        )
    client = Client(local.scheduler_address, set_as_default=False)
    yield local, client
    client.close()
    local.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("files")
    for stem, text in FILES.items():
        (folder / f"{stem}.yaml").write_text(text, encoding="utf-8")
    return folder


def run(files: Path, out: Path, *options: str):
    paths = [str(files / f"{stem}.yaml") for stem in FILES]
    arguments = ["run", *paths, "--format", "json", "--out", str(out), *options]
    return CliRunner().invoke(cli, arguments)


@pytest.fixture(scope="module")
def local_runs(files, tmp_path_factory) -> Path:
    """The three files and the variant, run in this process."""
    out = tmp_path_factory.mktemp("local")
    result = run(files, out)
    assert result.exit_code == 0, result.output
    return out


def numbers(summary: dict) -> dict:
    summary = {key: value for key, value in summary.items() if key not in VOLATILE}
    sampler = summary["sampler"]
    summary["sampler"] = {k: v for k, v in sampler.items() if k not in VOLATILE_SAMPLER}
    return summary


def assert_same_run(one: Path, other: Path) -> None:
    first = json.loads((one / "summary.json").read_text(encoding="utf-8"))
    second = json.loads((other / "summary.json").read_text(encoding="utf-8"))
    assert numbers(first) == numbers(second)
    with xr.open_datatree(one / "posterior.nc") as a, xr.open_datatree(other / "posterior.nc") as b:
        assert set(a.groups) == set(b.groups)
        for group in a.groups:
            # `equals` compares every value (NaN equal to NaN), not the time stamps in attrs.
            assert a[group].to_dataset().equals(b[group].to_dataset()), group


def assert_same_runs(local: Path, out: Path, runs=RUNS) -> None:
    for name in runs:
        assert_same_run(local / name, out / name)


def test_the_progress_line_counts_done_running_and_failed():
    bar = Progress(4, label="runs", enabled=False)
    bar.show(running=2)
    bar.advance(failed=False)
    bar.advance(failed=True)
    assert bar.line() == "runs [############------------] 1/4 done, 0 running, 1 failed"


@pytest.mark.slow
def test_runs_on_a_cluster_give_the_numbers_of_runs_here(cluster, files, local_runs, tmp_path):
    local, _ = cluster
    result = run(files, tmp_path, "--scheduler", local.scheduler_address)
    assert result.exit_code == 0, result.output
    assert_same_runs(local_runs, tmp_path)
    # The comparison of the file with its variant is written here, as without a cluster.
    assert (tmp_path / "alpha" / "compare.json").is_file()
    # Each worker compiles the structure once and keeps it for its next jobs.
    reused = [
        json.loads((tmp_path / name / "summary.json").read_text())["sampler"] for name in RUNS
    ]
    assert sum(sampler["compiled_model_reused"] for sampler in reused) >= len(RUNS) - 2
    # Nothing is left beside the run folders from building them.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(RUNS)


@pytest.mark.slow
def test_a_sweep_samples_its_points_on_the_cluster_as_here(cluster, files, tmp_path):
    local, _ = cluster
    # Far above the file's a = 3 the weights fail: those points are sampled again.
    sweep = ["sweep", str(files / "beta.yaml"), "--vary", "outcomes.p.prior.beta[0]=0.5:12:4"]
    sweep += ["--format", "json"]
    here = CliRunner().invoke(cli, [*sweep, "--out", str(tmp_path / "here")])
    there = CliRunner().invoke(
        cli, [*sweep, "--out", str(tmp_path / "there"), "--scheduler", local.scheduler_address]
    )
    assert here.exit_code == 0 and there.exit_code == 0, here.output + there.output
    one, other = (
        json.loads((tmp_path / where / "beta@sweep" / "sweep.json").read_text(encoding="utf-8"))
        for where in ("here", "there")
    )
    assert "resampled" in [point["method"] for point in one["points"]]
    for document in (one, other):
        for key in ("created", "command", "seconds"):
            document.pop(key)
    assert one == other


@pytest.mark.slow
def test_the_environment_variable_names_the_scheduler(cluster, files, local_runs, tmp_path):
    from distributed import get_task_stream

    local, client = cluster
    env = {"FORECAST_SCHEDULER": local.scheduler_address}
    arguments = ["run", str(files / "beta.yaml"), "--format", "json", "--out", str(tmp_path)]
    with get_task_stream(client=client) as stream:
        result = CliRunner(env=env).invoke(cli, arguments)
    assert result.exit_code == 0, result.output
    # It ran there, not here.
    assert [task["key"].split("-")[:2] for task in stream.data] == [["forecast", "beta"]]
    assert_same_run(local_runs / "beta", tmp_path / "beta")


@pytest.mark.slow
def test_a_worker_killed_mid_job_changes_no_number(cluster, files, local_runs, tmp_path):
    local, client = cluster
    paths = [str(files / f"{stem}.yaml") for stem in FILES]
    command = [sys.executable, "-m", "forecast", "run", *paths, "--format", "json"]
    command += ["--out", str(tmp_path), "--scheduler", local.scheduler_address]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        victim = _busy_worker(client, deadline=time.monotonic() + 120)
        os.kill(client.run(os.getpid, workers=[victim])[victim], signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert_same_runs(local_runs, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(RUNS)
    client.wait_for_workers(2, timeout=120)  # its nanny started it again, for the next test


def _busy_worker(client, *, deadline: float) -> str:
    """The address of a worker running one of the command's jobs, as soon as there is one."""
    while time.monotonic() < deadline:
        for worker, keys in client.processing().items():
            if any(str(key).startswith("forecast-") for key in keys):
                return worker
        time.sleep(0.05)
    raise AssertionError("no job started on the cluster")


@pytest.mark.slow
def test_a_run_failing_on_a_worker_is_reported_and_the_others_written(
    cluster, files, local_runs, tmp_path
):
    import cloudpickle

    local, client = cluster
    # The workers import this module by value: they have no tests folder on their path.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    client.run(_break_sampling, "Gamma")
    try:
        result = run(files, tmp_path, "--scheduler", local.scheduler_address)
    finally:
        client.run(_mend_sampling)
    assert result.exit_code == 3, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {files / 'gamma.yaml'}: RuntimeError: {BROKEN}"]
    assert "1 of 4 runs failed; the others were written." in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alpha", "alpha@doubter", "beta"]
    assert_same_runs(local_runs, tmp_path, ["alpha", "alpha@doubter", "beta"])


BROKEN = "the sampler could not start from any initial point"


def _break_sampling(title: str) -> None:
    """In a worker: sampling the scenario of this title raises, as a model that cannot be
    sampled does."""
    from forecast import inference

    original = getattr(inference, "_unbroken_sample", inference.sample)

    def sample(scenario, *arguments, **options):
        if scenario.title == title:
            raise RuntimeError(BROKEN)
        return original(scenario, *arguments, **options)

    inference._unbroken_sample = original
    inference.sample = sample


def _mend_sampling() -> None:
    from forecast import inference

    inference.sample = getattr(inference, "_unbroken_sample", inference.sample)
