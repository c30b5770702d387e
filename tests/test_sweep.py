"""`forecast sweep`: a scenario's answers along a grid of values of one or two of its numbers.

One small structure (a root outcome with one evidence item, and a child), run in this process
through the command line, so that its model is compiled once. The exact case is the conjugate
one: prior Beta(a, b) and s successes in n trials at weight w give Beta(a + w·s, b + w·(n − s)),
so p's posterior mean is (a + w·s) / (a + b + w·n); q given p is Beta(3, 2) whatever the evidence,
so P(q) = 0.6·E[p] + 0.2·(1 − E[p]) and P(p and q) = 0.6·E[p].
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import PAPER_POINTS, read_pdf

from forecast.cli import cli
from forecast.errors import OptionError, RunError, ScenarioError
from forecast.spec import parse_scenario
from forecast.sweep import MIN_ESS, plan_sweep, read_vary_options, write_sweep

SMALL = """\
version: 1
title: "Sweep of a conjugate pair"
seed: 11
sampling: {draws: 500, tune: 300, chains: 2}
outcomes:
  p:
    label: "P happens"
    prior: {beta: [2, 8]}
  q:
    given: p
    prior:
      p: {beta: [3, 2]}
      not p: {beta: [1, 4]}
evidence:
  - {outcome: p, successes: 3, trials: 10}
scenarios:
  both: "p and q"
"""
B, SUCCESSES, TRIALS = 8, 3, 10
# From a tenth of the file's a = 2 to six times it: the weights of the base draws hold near
# the file's value and fail far above it, so both ways of computing a point are used.
LINE = "outcomes.p.prior.beta[0]=0.5:12:8"
GRID = ("outcomes.p.prior.beta[0]=1:4:2", "evidence[0].weight=0.5:1:2")
KHAT_LIMIT = 0.7


def invoke(*arguments: str):
    return CliRunner().invoke(cli, list(arguments))


def exact_p(a: float, weight: float = 1.0) -> float:
    return (a + weight * SUCCESSES) / (a + B + weight * TRIALS)


def assert_near(cell: dict, exact: float) -> None:
    """Within 4 Monte Carlo standard errors of the closed form."""
    assert abs(cell["mean"] - exact) <= 4 * cell["mcse"], (cell, exact)


def one_error_line(result) -> str:
    """The error a user sees: one line (then the count of problems, for a file's problems)."""
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.output
    assert len(lines) in (1, 2), lines
    if len(lines) == 2:
        assert lines[1] == "1 problem found."
    return lines[0]


@pytest.fixture(scope="module")
def small_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("file") / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def line_sweep(small_file, tmp_path_factory):
    """One sweep of p's prior along a line, written by the command line: (result, folder)."""
    out = tmp_path_factory.mktemp("out")
    result = invoke("sweep", str(small_file), "--vary", LINE, "--out", str(out))
    return result, out / "small@sweep"


@pytest.fixture(scope="module")
def line_document(line_sweep) -> dict:
    result, folder = line_sweep
    assert result.exit_code == 0, result.output
    return json.loads((folder / "sweep.json").read_text(encoding="utf-8"))


# -- the options ----------------------------------------------------------------------------------


def test_a_vary_option_is_read_as_evenly_spaced_values():
    (vary,) = read_vary_options(["outcomes.p.prior.beta[0]=0:0.3:4"])
    assert vary.path == ("outcomes", "p", "prior", "beta", 0)
    assert vary.values == (0.0, 0.1, 0.2, 0.3)
    (quoted,) = read_vary_options(['outcomes.q.prior["d == a"].mean=0.9:0.1:2'])
    assert quoted.path == ("outcomes", "q", "prior", "d == a", "mean")
    assert quoted.values == (0.9, 0.1)


# -- a line ---------------------------------------------------------------------------------------


def test_the_sweep_writes_its_three_files_and_lists_them(line_sweep):
    result, folder = line_sweep
    assert result.exit_code == 0, result.output
    names = ("sweep.json", "sweep.html", "sweep.pdf")
    assert result.stdout.splitlines() == [str(folder / name) for name in names]
    assert sorted(path.name for path in folder.iterdir()) == sorted(names)
    # Nothing is left beside it from building the folder.
    assert [path.name for path in folder.parent.iterdir()] == ["small@sweep"]


def test_every_point_matches_the_closed_form(line_document):
    assert len(line_document["points"]) == 8
    for point in line_document["points"]:
        (a,) = point["values"]
        p = exact_p(a)
        assert_near(point["outcomes"]["p"], p)
        assert_near(point["outcomes"]["q"], 0.6 * p + 0.2 * (1 - p))
        assert_near(point["scenarios"]["both"], 0.6 * p)
        for cell in (point["outcomes"]["p"], point["scenarios"]["both"]):
            low, high = cell["hdi90"]
            assert 0 <= low < cell["mean"] < high <= 1


def test_points_are_reweighted_where_the_weights_hold_and_sampled_again_elsewhere(line_document):
    points = line_document["points"]
    methods = [point["method"] for point in points]
    assert "reweighted" in methods and "resampled" in methods
    # The file's a = 2 lies between the first two points; a = 12 is far from it.
    assert points[0]["method"] == points[1]["method"] == "reweighted"
    assert points[-1]["method"] == "resampled" and points[-1]["khat"] > KHAT_LIMIT
    for point in points:
        if point["method"] == "reweighted":
            assert point["khat"] <= KHAT_LIMIT and point["ess"] >= MIN_ESS
            assert point["reason"] is None
        else:
            assert point["reason"] in ("khat", "ess")
            assert point["khat"] > KHAT_LIMIT or point["ess"] < MIN_ESS


def test_sweep_json_says_what_was_varied_and_how(line_document, small_file):
    (vary,) = line_document["vary"]
    assert vary == {
        "path": "outcomes.p.prior.beta[0]",
        "from": 0.5,
        "to": 12.0,
        "steps": 8,
        "values": [point["values"][0] for point in line_document["points"]],
        "file_value": 2,
        "in_file": True,
    }
    assert vary["values"][0] == 0.5 and vary["values"][-1] == 12
    assert line_document["source_file"] == str(small_file)
    assert line_document["khat_limit"] == KHAT_LIMIT
    assert line_document["sampler"]["chains"] == 2 and line_document["sampler"]["draws"] == 500
    assert line_document["labels"]["scenarios"] == {"both": "p and q"}
    assert line_document["base"]["diagnostics_ok"] is True
    assert_near(line_document["base"]["outcomes"]["p"], exact_p(2))


def test_the_page_draws_a_panel_per_scenario_and_outcome_and_reads_back_from_the_pdf(line_sweep):
    _, folder = line_sweep
    page = (folder / "sweep.html").read_text(encoding="utf-8")
    # both, p and q, and the key.
    assert page.count('class="chart"') == 4
    assert "<script" not in page
    pdf = read_pdf(folder / "sweep.pdf")
    assert pdf.sizes[0] == PAPER_POINTS["a4"]
    text = pdf.text
    for words in (
        "Sweep of a conjugate pair",
        "outcomes.p.prior.beta[0]",
        "How the points were computed",
        "reweighted",
        "sampled again",
        "Every point",
        "P happens",
    ):
        assert words in text, words


# -- a grid ---------------------------------------------------------------------------------------


def test_a_grid_of_two_numbers_matches_the_closed_form(small_file, tmp_path):
    arguments = ["--vary", GRID[0], "--vary", GRID[1], "--out", str(tmp_path)]
    result = invoke("sweep", str(small_file), *arguments, "--format", "json,pdf", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    folder = tmp_path / "small@sweep"
    assert sorted(path.name for path in folder.iterdir()) == ["sweep.json", "sweep.pdf"]
    document = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
    # The first --vary varies slowest.
    assert [point["values"] for point in document["points"]] == [
        [1, 0.5],
        [1, 1.0],
        [4, 0.5],
        [4, 1.0],
    ]
    for point in document["points"]:
        a, weight = point["values"]
        assert_near(point["outcomes"]["p"], exact_p(a, weight))
    # The file leaves the weight out: its default is the value marked.
    assert document["vary"][1]["file_value"] == 1.0
    assert document["vary"][1]["in_file"] is False
    text = read_pdf(folder / "sweep.pdf").text
    assert "evidence[0].weight (up)" in text


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--vary", "outcomes.p.prior.beta[0]"], "error: --vary #1 'outcomes.p.prior.beta[0]': "),
        (["--vary", "a..b=0:1:3"], "error: --vary #1 'a..b=0:1:3': expected a key after '.'"),
        (["--vary", "seed=1:5"], "error: --vary #1 (seed): expected FROM:TO:STEPS after '='"),
        (["--vary", "seed=x:5:3"], "error: --vary #1 (seed): FROM 'x' is not a number"),
        (["--vary", "seed=1:inf:3"], "error: --vary #1 (seed): TO 'inf' is not a finite number"),
        (["--vary", "seed=1:5:1"], "error: --vary #1 (seed): STEPS is 1; a sweep needs at least 2"),
        (["--vary", "seed=1:5:2.5"], "error: --vary #1 (seed): STEPS '2.5' is not a whole number"),
        (["--vary", "seed=1:5:1000"], "error: --vary #1 (seed): STEPS is 1000; at most 100"),
        (["--vary", "seed=1:1:3"], "error: --vary #1 (seed): FROM and TO are both 1"),
        (["--vary", "variants.x=1:2:3"], "error: --vary #1 'variants.x=1:2:3': a variant cannot"),
        (
            ["--vary", "seed=1:2:3", "--vary", "seed=1:3:3"],
            "error: --vary #2 (seed): the same path as --vary #1",
        ),
        (
            ["--vary", "seed=1:2:3", "--vary", "title=1:3:3", "--vary", "q=1:2:2"],
            "error: --vary is given 3 times; a sweep varies one number (a line) or two (a grid)",
        ),
        (
            ["--vary", "seed=1:2:30", "--vary", "title=1:3:30"],
            "error: --vary: a grid of 30 × 30 = 900 points; at most 400",
        ),
        (["--vary", "seed=1:2:3", "--format", "svg"], "--format"),
    ],
    ids=[
        "no-equals",
        "bad-path",
        "two-parts",
        "from-not-a-number",
        "to-infinite",
        "one-step",
        "steps-not-whole",
        "too-many-steps",
        "from-equals-to",
        "variants",
        "same-path-twice",
        "three-varies",
        "grid-too-large",
        "bad-format",
    ],
)
def test_malformed_options_are_usage_errors_and_write_nothing(
    small_file, tmp_path, options, message
):
    result = invoke("sweep", str(small_file), *options, "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    if options[-2] == "--format":  # click's own usage error
        assert message in result.stderr
    else:
        assert one_error_line(result).startswith(message)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (
            ["--vary", "outcomes.p.prior.beta[0]=-1:5:4"],
            "small.yaml: --vary #1 (outcomes.p.prior.beta[0]): at -1: outcomes.p.prior.beta: "
            "Beta parameters must be greater than 0, got [-1, 8]",
        ),
        (
            ["--vary", "evidence[0].successes=0:12:3"],
            "small.yaml: --vary #1 (evidence[0].successes): at 12: successes (12) cannot "
            "exceed trials (10)",
        ),
        (
            ["--vary", "outcomes.p.prior.beta[0]=1:3:2", "--vary", "evidence[0].weight=0:1:3"],
            "small.yaml: --vary #2 (evidence[0].weight): at #1 = 1, #2 = 0.0: weight must be in "
            "(0, 1]",
        ),
        (
            ["--vary", "outcomes.p.prior=0:1:3"],
            "small.yaml: --vary #1 (outcomes.p.prior): the file has a mapping there, not a "
            "number; vary one of its numbers, such as outcomes.p.prior.beta[0]",
        ),
        (
            ["--vary", "title=0:1:3"],
            "small.yaml: --vary #1 (title): the file has the text 'Sweep of a conjugate pair' "
            "there, not a number",
        ),
        (
            ["--vary", "outcomes.r.prior.beta[0]=1:2:3"],
            "small.yaml: --vary #1 (outcomes.r.prior.beta[0]): no outcome 'r' (outcomes: p, q)",
        ),
        (
            ["--vary", "evidence[0].wieght=0.2:1:3"],
            "small.yaml: --vary #1 (evidence[0].wieght): no key 'wieght' in evidence[0]; did "
            "you mean 'weight'?",
        ),
        (
            ["--vary", "evidence[1].weight=0.2:1:3"],
            "small.yaml: --vary #1 (evidence[1].weight): no evidence item 1; the file has 1",
        ),
        (
            ["--vary", "sampling.draws=100:200:3"],
            "small.yaml: --vary #1 (sampling.draws): changes no number of the model at any of "
            "its values",
        ),
    ],
    ids=[
        "outside-the-domain",
        "breaks-another-value",
        "outside-the-domain-on-a-grid",
        "not-a-number",
        "text",
        "no-such-outcome",
        "misspelt-key",
        "no-such-item",
        "no-model-number",
    ],
)
def test_a_sweep_that_does_not_fit_the_file_is_a_located_error_and_writes_nothing(
    small_file, tmp_path, options, line
):
    result = invoke("sweep", str(small_file), *options, "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    # The file as the command line names it, then the option and the value at fault.
    assert one_error_line(result).startswith(f"{small_file}{line.removeprefix('small.yaml')}")
    assert not (tmp_path / "out").exists()


def test_an_invalid_file_is_reported_as_a_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(SMALL.replace("successes: 3", "successes: 30"), encoding="utf-8")
    result = invoke("sweep", str(path), "--vary", LINE, "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "successes (30) cannot exceed trials (10)" in one_error_line(result)
    assert not (tmp_path / "out").exists()


def test_a_point_of_another_structure_is_refused(monkeypatch):
    from forecast import model

    base = parse_scenario(SMALL.encode("utf-8"), "small.yaml")
    # No number of this format changes the structure; a structure that counted the weight would.
    monkeypatch.setattr(model, "structure_key", lambda scenario: str(scenario.evidence[0].weight))
    with pytest.raises(ScenarioError) as raised:
        plan_sweep(base, read_vary_options(["evidence[0].weight=0.5:1:2"]))
    (problem,) = raised.value.problems
    assert str(problem).startswith(
        "small.yaml: --vary #1 (evidence[0].weight): at 0.5: the model's structure changes there"
    )


def test_options_are_read_before_the_file(tmp_path):
    with pytest.raises(OptionError):
        read_vary_options(["seed"])
    result = invoke("sweep", str(tmp_path / "missing.yaml"), "--vary", "seed")
    assert result.exit_code == 2


def test_a_failed_write_leaves_the_previous_sweep(line_document, tmp_path, monkeypatch):
    from forecast.report import sweep_page

    folder = tmp_path / "small@sweep"
    write_sweep(line_document, folder, formats={"json"})
    before = (folder / "sweep.json").read_bytes()

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sweep_page, "write_sweep_pages", fail)
    with pytest.raises(RunError, match="No space left on device"):
        write_sweep(dict(line_document, title="changed"), folder, formats={"json", "html"})
    assert (folder / "sweep.json").read_bytes() == before
    assert [path.name for path in tmp_path.iterdir()] == ["small@sweep"]


def test_a_probability_by_a_date_is_found_in_the_file():
    # A probability by a date is a key that YAML reads as a date; the path names it by its ISO
    # form, and the sweep finds the file's own value there.
    text = """
version: 1
title: by dates
as_of: 2018-05-20
horizon: 2020-06-12
outcomes:
  tests_resume:
    kind: event
    prior: {by: {2019-06-12: 0.06, 2020-06-12: 0.11}}
"""
    base = parse_scenario(text.encode("utf-8"), "by.yaml")
    plan = plan_sweep(
        base, read_vary_options(['outcomes.tests_resume.prior.by["2020-06-12"]=0.1:0.11:2'])
    )
    (axis,) = plan.axes
    assert (axis.file_value, axis.in_file) == (0.11, True)
