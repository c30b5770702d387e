"""`forecast run` and `forecast report` end to end: the files, their atomicity, exit statuses."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import xarray as xr
from helpers import PAPER_POINTS, REPO, read_pdf, run_forecast

from forecast import pipeline
from forecast.spec import parse_scenario

pytestmark = pytest.mark.slow

SMALL = """\
version: 1
title: "Small <run> & test"
as_of: 2020-01-01
seed: 9
outcomes:
  talks:
    label: "Talks start"
    prior: {mean: 0.4, sd: 0.15}
  deal:
    given: [talks]
    prior:
      talks: {interval: [0.1, 0.5]}
      not talks: {beta: [1, 30]}
  shape:
    label: "How the deal comes"
    categories: [fast, slow]
    given: [talks]
    prior:
      talks: {dirichlet: [2, 3]}
      not talks: {probabilities: {fast: 0.1, slow: 0.9}, sample_size: 5}
evidence:
  - {outcome: deal, successes: 1, trials: 4, weight: 0.5, source: "Earlier rounds"}
  - {outcome: shape, counts: {slow: 2}}
scenarios:
  quick_deal: "deal and shape == fast"
  nothing: "not talks"
"""


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("run")
    (folder / "small.yaml").write_text(SMALL, encoding="utf-8")
    result = run_forecast("run", "small.yaml", "--out", "out", "--draws", "500", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    printed = result.stdout.split()
    for name in ("summary.json", "posterior.nc", "report.html", "report.pdf"):
        assert str(Path("out") / "small" / name) in printed
    return folder / "out" / "small"


def test_run_writes_summary_draws_and_reports(finished_run):
    names = sorted(p.name for p in finished_run.iterdir())
    assert names == ["posterior.nc", "report.html", "report.pdf", "scenario.yaml", "summary.json"]
    summary = json.loads((finished_run / "summary.json").read_text())
    assert summary["scenario"] == "small"
    assert summary["seed"] == 9
    assert summary["sampler"]["draws"] == 500
    assert set(summary["scenarios"]) == {"quick_deal", "nothing"}
    assert summary["versions"]["pymc"].startswith("6.")
    # not talks is 1 - talks, draw by draw
    talks = summary["outcomes"]["talks"]["posterior"]["mean"]
    assert summary["scenarios"]["nothing"]["posterior"]["mean"] == pytest.approx(1 - talks)
    tree = xr.open_datatree(finished_run / "posterior.nc", engine="h5netcdf")
    assert {"posterior", "prior", "sample_stats"} <= set(tree.children)
    assert tree["posterior"]["deal"].dims == ("chain", "draw", "deal.row")
    assert list(tree["posterior"]["deal"]["deal.row"].values) == ["talks", "not talks"]
    # A categorical outcome with parents reports every category in every row, prior and
    # posterior, and the report shows them.
    rows = summary["outcomes"]["shape"]["rows"]
    assert [row["key"] for row in rows] == ["talks", "not talks"]
    assert [row["given"] for row in rows] == [{"talks": True}, {"talks": False}]
    not_talks = rows[1]["categories"]
    assert set(not_talks) == {"fast", "slow"}
    assert not_talks["fast"]["prior"]["mean"] == pytest.approx(0.1, abs=0.01)
    html = (finished_run / "report.html").read_text()
    assert re.search(r"Talks start: no.*>fast<", html, flags=re.S)
    assert (finished_run.parent / "index.html").is_file()
    assert not [p for p in finished_run.parent.iterdir() if p.name.startswith(".")]
    assert finished_run.stat().st_mode & 0o055 == 0o055  # readable by others, as a folder is


def test_report_redraws_without_sampling(finished_run, tmp_path):
    before = (finished_run / "summary.json").read_bytes()
    (finished_run / "report.pdf").unlink()
    result = run_forecast("report", str(finished_run), "--paper", "letter", cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert (finished_run / "report.pdf").is_file()
    assert (finished_run / "summary.json").read_bytes() == before
    assert set(read_pdf(finished_run / "report.pdf").sizes) == {PAPER_POINTS["letter"]}


def test_report_on_a_folder_that_is_not_a_run(tmp_path):
    result = run_forecast("report", str(tmp_path), cwd=REPO)
    assert result.returncode == 3
    assert "is not a run folder" in result.stderr
    assert "Traceback" not in result.stderr


def previous_results(finished_run: Path, out: Path) -> Path:
    """OUT/small/, a copy of a finished run: what a failed run must leave as it was."""
    return shutil.copytree(finished_run, out / finished_run.name)


def test_failed_run_leaves_the_previous_results(finished_run, tmp_path, monkeypatch):
    scenario = parse_scenario(SMALL.encode(), str(tmp_path / "small.yaml"))
    options = pipeline.RunOptions(draws=200, chains=2, formats=frozenset({"json"}))
    run_dir = previous_results(finished_run, tmp_path / "out")
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("xarray.DataTree.to_netcdf", broken)
    with pytest.raises(OSError, match="disk full"):
        pipeline.run_scenario(scenario, tmp_path / "out", options)
    after = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    assert after == before
    leftovers = [p.name for p in (tmp_path / "out").iterdir() if p.name != "small"]
    assert leftovers == []


def test_invalid_file_writes_nothing(tmp_path):
    (tmp_path / "bad.yaml").write_text(SMALL.replace("sd: 0.15", "sd: 0.9"), encoding="utf-8")
    result = run_forecast("run", "bad.yaml", "--out", "out", cwd=tmp_path)
    assert result.returncode == 1
    assert "bad.yaml:8:" in result.stderr and "sd 0.9 is impossible" in result.stderr
    assert not (tmp_path / "out").exists()


def test_strict_fails_on_poor_convergence(tmp_path):
    (tmp_path / "small.yaml").write_text(SMALL, encoding="utf-8")
    result = run_forecast(
        "run",
        "small.yaml",
        "--out",
        "out",
        "--draws",
        "100",
        "--tune",
        "50",
        "--chains",
        "1",
        "--format",
        "json",
        "--strict",
        cwd=tmp_path,
    )
    assert result.returncode == 4, result.stderr
    assert "effective sample size" in result.stderr
    # The results are still written, so that the analyst can look at what went wrong.
    assert (tmp_path / "out" / "small" / "summary.json").is_file()


def test_bad_format_is_a_usage_error(tmp_path):
    result = run_forecast("run", "x.yaml", "--format", "json,docx", cwd=tmp_path)
    assert result.returncode == 2
    assert "docx" in result.stderr


def test_interrupted_sampling_replaces_nothing(finished_run, tmp_path, monkeypatch):
    # The sampler may answer Ctrl-C by returning the draws made so far; the run must stop instead.
    import nutpie

    scenario = parse_scenario(SMALL.encode(), str(tmp_path / "small.yaml"))
    options = pipeline.RunOptions(draws=200, chains=2, formats=frozenset({"json"}))
    run_dir = previous_results(finished_run, tmp_path / "out")
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    real_sample = nutpie.sample

    class Stopped:
        """nutpie's raw trace of chains stopped 50 and 70 draws after their tuning."""

        def __init__(self, trace):
            self.trace = trace

        def get_arrow_trace(self):
            import pyarrow

            draws, stats = self.trace.get_arrow_trace()
            tuned = [int(sum(pyarrow.array(s.column("tuning")).to_pylist())) for s in stats]
            ends = [t + extra for t, extra in zip(tuned, (50, 70), strict=True)]
            return (
                [d.slice(0, end) for d, end in zip(draws, ends, strict=True)],
                [s.slice(0, end) for s, end in zip(stats, ends, strict=True)],
            )

    def interrupted(*args, **kwargs):
        return Stopped(real_sample(*args, **kwargs))

    monkeypatch.setattr(nutpie, "sample", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run_scenario(scenario, tmp_path / "out", options)
    assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == before


def test_two_files_with_one_name_is_a_usage_error(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same.yaml").write_text(SMALL, encoding="utf-8")
    result = run_forecast("run", "a/same.yaml", "b/same.yaml", "--out", "out", cwd=tmp_path)
    assert result.returncode == 2
    assert "would both write" in result.stderr
    assert not (tmp_path / "out").exists()


def test_unwritable_output_folder_is_reported_before_sampling(tmp_path):
    (tmp_path / "small.yaml").write_text(SMALL, encoding="utf-8")
    (tmp_path / "afile").write_text("", encoding="utf-8")
    result = run_forecast("run", "small.yaml", "--out", "afile/sub", cwd=tmp_path)
    assert result.returncode == 3
    assert result.stderr.startswith("error: cannot create the output folder afile/sub")
    assert "internal error" not in result.stderr
