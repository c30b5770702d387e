"""What-ifs: overrides on the command line (`--set`, `--name`), variants in the file, and
`forecast compare`.

The sampling tests share one small structure, a root outcome with one evidence item and a child,
run in this process through the command line, so that its model is compiled once and every
later run takes about a second. The exact case is the conjugate one: prior Beta(a, b) and s
successes in n trials at weight w give Beta(a + w·s, b + w·(n − s)).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import read_pdf

from forecast.cli import cli
from forecast.spec import load_scenario, load_what_if, parse_scenario
from forecast.spec.overrides import (
    PathError,
    command_line_what_if,
    format_path,
    parse_path,
    read_set_options,
)

EXACT = """\
version: 1
title: "Exact what-if"
seed: 3
outcomes:
  p:
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
variants:
  stronger:
    description: "A prior twice as hopeful"
    set:
      outcomes.p.prior: {beta: [4, 6]}
  half_weight:
    set:
      evidence[0].weight: 0.5
"""
# The exact posteriors of p: Beta(2 + 3, 8 + 7), Beta(4 + 3, 6 + 7), Beta(2 + 1.5, 8 + 3.5).
BASE_MEAN, STRONGER_MEAN, HALF_MEAN = 5 / 20, 7 / 20, 3.5 / 15
SAMPLING = ("--chains", "2", "--draws", "1000", "--tune", "300")
STRONGER = "outcomes.p.prior={beta: [4, 6]}"


def invoke(*arguments: str):
    return CliRunner().invoke(cli, list(arguments))


def summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text(encoding="utf-8"))


def assert_near_exact(stats: dict, exact: float) -> None:
    """Within 4 Monte Carlo standard errors of the closed form."""
    assert abs(stats["mean"] - exact) <= 4 * stats["mcse"], (stats["mean"], exact, stats["mcse"])


def one_error_line(result) -> str:
    """The error a user sees: one line (then the count of problems, for a file's problems)."""
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.output
    assert len(lines) in (1, 2), lines
    if len(lines) == 2:
        assert lines[1] == "1 problem found."
    return lines[0]


@pytest.fixture
def exact_file(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "exact.yaml"
    path.write_text(EXACT, encoding="utf-8")
    return path


# -- key paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "parts"),
    [
        ("sampling.draws", ("sampling", "draws")),
        ("evidence[0].weight", ("evidence", 0, "weight")),
        ("outcomes.p.prior.beta[1]", ("outcomes", "p", "prior", "beta", 1)),
        ('outcomes.q.prior["not p"]', ("outcomes", "q", "prior", "not p")),
        ("outcomes.q.prior['d == a'].mean", ("outcomes", "q", "prior", "d == a", "mean")),
        ("reference_classes[0].cases[2].trials", ("reference_classes", 0, "cases", 2, "trials")),
    ],
)
def test_key_paths_are_read_and_written_back_alike(written, parts):
    assert parse_path(written) == parts
    assert parse_path(format_path(parts)) == parts


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("", "the path is empty"),
        ("a..b", "expected a key after '.' at character 3"),
        ("a.", "the path ends with '.'"),
        ("a[x]", "[x] at character 2: in brackets put a list index"),
        ("a[-1]", "[-1] at character 2"),
        ("a[0", "the '[' at character 2 is not closed"),
        ('a["b', "the quoted key at character 3 is not closed"),
        ("a b", "expected '.', '[' or the end of the path at character 2"),
        ("0a", "expected a key at character 1"),
    ],
)
def test_malformed_key_paths_say_where(written, message):
    with pytest.raises(PathError, match=None) as caught:
        parse_path(written)
    assert message in str(caught.value)


# -- overrides: what the validation says ----------------------------------------------------------


def what_if(*options: str, text: str = EXACT, name: str | None = None):
    base = parse_scenario(text.encode(), "exact.yaml")
    return load_what_if(base, command_line_what_if(read_set_options(options), name))


def test_an_override_replaces_the_value_and_keeps_the_file_as_read():
    base = parse_scenario(EXACT.encode(), "exact.yaml")
    changed = what_if(STRONGER, "sampling.draws=2000")
    prior = changed.outcome("p").rows[0].prior
    assert (prior.alpha, prior.beta) == (4, 6)
    assert changed.sampling.draws == 2000  # a key the file lacks, where the format allows it
    assert changed.sha256 == base.sha256 and changed.text == base.text
    assert changed.run_name.startswith("exact@set-") and len(changed.run_name) == 18
    assert changed.variants == ()


def test_the_default_name_depends_on_the_overrides_not_on_how_they_are_typed():
    assert what_if(STRONGER).run_name == what_if("outcomes.p.prior={beta:   [4,6]}").run_name
    assert what_if(STRONGER).run_name != what_if("outcomes.p.prior={beta: [4, 7]}").run_name
    assert what_if(STRONGER, name="hopeful").run_name == "exact@hopeful"


def test_the_variants_of_the_file_are_read_with_it():
    base = parse_scenario(EXACT.encode(), "exact.yaml")
    assert [v.name for v in base.variants] == ["stronger", "half_weight"]
    stronger = load_what_if(base, base.variants[0])
    assert stronger.run_name == "exact@stronger"
    assert stronger.outcome("p").rows[0].prior.alpha == 4
    assert load_what_if(base, base.variants[1]).evidence[0].weight == 0.5


@pytest.mark.parametrize(
    ("option", "line"),
    [
        (
            "evidence[7].weight=1",
            "exact.yaml: --set #1 (evidence[7].weight): no evidence item 7; the file has 1 "
            "(evidence[0])",
        ),
        (
            "evidence[0].wieght=0.5",
            "exact.yaml: --set #1 (evidence[0].wieght): no key 'wieght' in evidence[0]; did you "
            "mean 'weight'?",
        ),
        (
            "outcomes.pp.prior={beta: [1, 1]}",
            "exact.yaml: --set #1 (outcomes.pp.prior): no outcome 'pp'; did you mean 'p'?",
        ),
        (
            "outcomes.p.prior={mean: 0.9, sd: 0.5}",
            "exact.yaml: --set #1 (outcomes.p.prior): outcomes.p.prior.sd: sd 0.5 is impossible",
        ),
        (
            "outcomes.p.prior.beta[1]=-1",
            "exact.yaml: --set #1 (outcomes.p.prior.beta[1]): outcomes.p.prior.beta: Beta "
            "parameters must be greater than 0",
        ),
        (
            "evidence[0].trials=2",
            "exact.yaml: --set #1 (evidence[0].trials): evidence[0].successes (line 13): "
            "successes (3) cannot exceed trials (2)",
        ),
        ("title.words=1", "exact.yaml: --set #1 (title.words): title is the text"),
        ("evidence.weight=1", "exact.yaml: --set #1 (evidence.weight): evidence is a list"),
    ],
    ids=[
        "no-such-item",
        "misspelt-key",
        "no-such-outcome",
        "invalid-value",
        "invalid-part",
        "breaks-another-value",
        "into-text",
        "list-without-index",
    ],
)
def test_an_override_that_does_not_fit_is_a_located_error_and_writes_nothing(
    exact_file, option, line
):
    result = invoke("run", "exact.yaml", "--set", STRONGER, "--set", option, "--out", "out")
    assert result.exit_code == 1
    assert one_error_line(result).startswith(line.replace("#1", "#2"))
    assert not Path("out").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--set", "outcomes.p.prior"], "error: --set #1 'outcomes.p.prior': expected PATH=VALUE"),
        (["--set", "a..b=1"], "error: --set #1 'a..b=1': expected a key after '.' at character 3"),
        (
            ["--set", "outcomes.p.prior={beta: [4, 6]"],
            "error: --set #1 (outcomes.p.prior): the value is not YAML that a scenario can hold: "
            "YAML syntax error",
        ),
        (["--set", "seed="], "error: --set #1 (seed): no value after '='"),
        (["--set", "seed=!!python/name:os.system 1"], "YAML tag"),
        (["--set", "variants.x.set=1"], "variants cannot be overridden"),
        (["--set", "seed=1", "--name", "Not A Name"], "error: --name 'Not A Name': use lower-case"),
        (["--name", "hopeful"], "error: --name 'hopeful' names a --set run"),
        (["--set", "seed=1", "--variant", "stronger"], "--set and --variant cannot be combined"),
        (["--variant", "stronger", "--no-variants"], "contradict each other"),
        (
            ["--variant", "stronge"],
            "error: --variant 'stronge': exact.yaml has no such variant; did you mean "
            "'stronger'? (its variants: stronger, half_weight)",
        ),
    ],
    ids=[
        "no-equals",
        "bad-path",
        "bad-yaml",
        "no-value",
        "tag",
        "variants",
        "bad-name",
        "name-alone",
        "set-and-variant",
        "variant-and-none",
        "unknown-variant",
    ],
)
def test_malformed_options_are_usage_errors_and_write_nothing(exact_file, arguments, message):
    result = invoke("run", "exact.yaml", *arguments, "--out", "out")
    assert result.exit_code == 2
    assert message in one_error_line(result)
    assert not Path("out").exists()


# -- variants in the file -------------------------------------------------------------------------

BAD_VARIANTS = [
    (
        "      evidence[0].wieght: 0.5\n",
        "exact.yaml:26:7: variants -> v -> set -> evidence[0].wieght: no key 'wieght' in "
        "evidence[0]; did you mean 'weight'?",
    ),
    (
        "      outcomes.p.prior: {beta: [4, -6]}\n",
        "exact.yaml:26:32: variants -> v -> set -> outcomes.p.prior: outcomes.p.prior.beta: "
        "Beta parameters must be greater than 0",
    ),
    (
        "      outcomes.q.prior.p: {mean: 0.9, sd: 0.5}\n",
        "exact.yaml:26:43: variants -> v -> set -> outcomes.q.prior.p: outcomes.q.prior.p.sd: "
        "sd 0.5 is impossible",
    ),
    (
        "      evidence[2].weight: 1\n",
        "exact.yaml:26:7: variants -> v -> set -> evidence[2].weight: no evidence item 2; the "
        "file has 1 (evidence[0])",
    ),
    (
        "      evidence[0]weight: 1\n",
        "exact.yaml:26:7: variants -> v -> set -> evidence[0]weight: cannot read the key path "
        "'evidence[0]weight': expected '.', '[' or the end of the path at character 12",
    ),
    (
        "      variants.stronger.description: x\n",
        "exact.yaml:26:7: variants -> v -> set -> variants.stronger.description: a variant "
        "cannot change variants",
    ),
]


@pytest.mark.parametrize(
    ("entry", "line"),
    BAD_VARIANTS,
    ids=["misspelt-key", "invalid-value", "invalid-inside", "no-such-item", "bad-path", "loop"],
)
def test_a_bad_variant_is_reported_at_its_own_line(exact_file, entry, line):
    exact_file.write_text(EXACT + "  v:\n    set:\n" + entry, encoding="utf-8")
    result = invoke("validate", "exact.yaml")
    assert result.exit_code == 1
    assert one_error_line(result).startswith(line)


@pytest.mark.parametrize(
    ("body", "line"),
    [
        (
            "    sett: {seed: 1}\n",
            "exact.yaml:25:5: variants -> v -> sett: unknown key 'sett'; did you mean 'set'?",
        ),
        (
            "    description: only words\n",
            "exact.yaml:25:5: variants -> v: missing required key 'set'",
        ),
        ("    set: {}\n", "exact.yaml:25:10: variants -> v -> set: set is empty"),
    ],
    ids=["unknown-key", "no-set", "empty-set"],
)
def test_a_variant_of_the_wrong_shape_is_reported_at_its_own_line(exact_file, body, line):
    exact_file.write_text(EXACT + "  v:\n" + body, encoding="utf-8")
    result = invoke("validate", "exact.yaml")
    assert result.exit_code == 1
    assert line in result.stderr.splitlines()[0]


def test_a_key_path_with_brackets_in_a_one_line_mapping_is_told_to_be_quoted(exact_file):
    exact_file.write_text(EXACT + "  v:\n    set: {evidence[0].weight: 1}\n", encoding="utf-8")
    result = invoke("validate", "exact.yaml")
    assert result.exit_code == 1
    line = one_error_line(result)
    assert line.startswith("exact.yaml:25:19: YAML syntax error: expected ',' or '}', but got '['")
    assert line.endswith('quote a key that has brackets in it, such as "evidence[0].weight"')
    quoted = EXACT + '  v:\n    set: {"evidence[0].weight": 1}\n'
    exact_file.write_text(quoted, encoding="utf-8")
    assert invoke("validate", "exact.yaml").exit_code == 0


def test_a_file_with_variants_validates_and_problems_of_the_file_keep_their_place(exact_file):
    assert invoke("validate", "exact.yaml").exit_code == 0
    broken = EXACT.replace("trials: 10", "trials: 1")
    exact_file.write_text(broken, encoding="utf-8")
    result = invoke("run", "exact.yaml", "--set", STRONGER, "--out", "out")
    assert result.exit_code == 1
    assert one_error_line(result).startswith(
        "exact.yaml:13:29: evidence -> item 1 -> successes: successes (3) cannot exceed trials (1)"
    )
    assert not Path("out").exists()


# -- the worker rebuilds the same what-if ---------------------------------------------------------


def test_a_what_if_travels_to_the_worker_and_is_rebuilt_the_same(exact_file):
    from forecast.worker.client import _what_if_request
    from forecast.worker.server import _what_if

    base = load_scenario("exact.yaml")
    for made in (
        what_if(STRONGER, "evidence[0].weight=0.5", name="two"),
        what_if("seed=4"),
        load_what_if(base, base.variants[1]),
    ):
        request = json.loads(json.dumps(_what_if_request(made.what_if)))
        rebuilt = _what_if(parse_scenario(exact_file.read_bytes(), "exact.yaml"), request)
        assert rebuilt == made
    assert _what_if(base, _what_if_request(None)) is base


# -- compare: bad input ---------------------------------------------------------------------------


def test_compare_refuses_folders_that_are_not_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("empty").mkdir()
    Path("half").mkdir()
    Path("half/summary.json").write_text("{}", encoding="utf-8")
    Path("half/scenario.yaml").write_text("", encoding="utf-8")
    cases = [
        (["empty", "empty"], "error: empty is not a run folder (no summary.json or scenario.yaml)"),
        (["half", "empty"], "error: half/summary.json: summary format None; this version"),
        (["nowhere", "empty"], "error: nowhere: no such folder; give folders that `forecast run`"),
    ]
    for folders, message in cases:
        result = invoke("compare", *folders, "--out", "out")
        assert result.exit_code == 1, result.output
        assert one_error_line(result).startswith(message)
    result = invoke("compare", "empty")
    assert result.exit_code == 2
    assert "at least two run folders" in one_error_line(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "half"]
    assert sorted(p.name for p in Path("half").iterdir()) == ["scenario.yaml", "summary.json"]


def test_the_noise_test_compares_the_difference_with_three_combined_standard_errors():
    from forecast.compare import compare_stats

    def stats(mean, mcse):
        quantiles = {"0.25": mean - 0.1, "0.75": mean + 0.1}
        return {"mean": mean, "hdi90": [0, 1], "quantiles": quantiles, "mcse": mcse}

    first, near, far = compare_stats([stats(0.3, 0.003), stats(0.31, 0.004), stats(0.32, 0.004)])
    assert first["difference"] is None and first["beyond_noise"] is None
    assert near["combined_mcse"] == pytest.approx(0.005)
    assert near["difference"] == pytest.approx(0.01)
    assert near["beyond_noise"] is False  # 0.01 < 3 x 0.005
    assert far["beyond_noise"] is True  # 0.02 > 0.015
    missing_first = compare_stats([None, stats(0.3, 0.01)])
    assert missing_first[0] is None and missing_first[1]["difference"] is None


# -- runs: the exact answer, folders, summaries and the comparison --------------------------------


@pytest.fixture(scope="module")
def variant_runs(tmp_path_factory) -> Path:
    """The base and both variants of EXACT, run as `forecast run` runs a file with variants."""
    folder = tmp_path_factory.mktemp("variants")
    (folder / "exact.yaml").write_text(EXACT, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        result = invoke("run", "exact.yaml", "--out", "out", *SAMPLING, "--format", "json")
    assert result.exit_code == 0, result.output
    out = Path("out")
    assert result.stdout.splitlines() == [
        str(out / "exact" / "summary.json"),
        str(out / "exact" / "posterior.nc"),
        str(out / "exact@stronger" / "summary.json"),
        str(out / "exact@stronger" / "posterior.nc"),
        str(out / "exact@half_weight" / "summary.json"),
        str(out / "exact@half_weight" / "posterior.nc"),
        str(out / "exact" / "compare.json"),
    ]
    return folder / "out"


@pytest.mark.slow
def test_variants_run_beside_the_base_and_match_the_closed_forms(variant_runs):
    base = summary(variant_runs / "exact")
    stronger = summary(variant_runs / "exact@stronger")
    half = summary(variant_runs / "exact@half_weight")
    assert_near_exact(base["outcomes"]["p"]["posterior"], BASE_MEAN)
    assert_near_exact(stronger["outcomes"]["p"]["posterior"], STRONGER_MEAN)
    assert_near_exact(half["outcomes"]["p"]["posterior"], HALF_MEAN)
    assert base["variant"] is None and base["overrides"] == []
    assert stronger["variant"] == {
        "name": "stronger",
        "description": "A prior twice as hopeful",
        "defined_in": "file",
    }
    assert stronger["overrides"] == [{"path": "outcomes.p.prior", "value": {"beta": [4, 6]}}]
    assert half["overrides"] == [{"path": "evidence[0].weight", "value": 0.5}]
    # Every run records the file as read, and keeps the file's text.
    assert base["input_sha256"] == stronger["input_sha256"] == half["input_sha256"]
    copies = {(variant_runs / f / "scenario.yaml").read_text() for f in ("exact", "exact@stronger")}
    assert copies == {EXACT}


@pytest.mark.slow
def test_the_comparison_of_the_variants_is_written_into_the_base_folder(variant_runs):
    comparison = json.loads((variant_runs / "exact" / "compare.json").read_text())
    assert [run["label"] for run in comparison["runs"]] == ["base", "stronger", "half_weight"]
    assert comparison["warnings"] == []
    (p,) = [item for item in comparison["outcomes"] if item["outcome"] == "p"]
    base, stronger, half = p["runs"]
    assert stronger["difference"] == pytest.approx(stronger["mean"] - base["mean"])
    noise = math.sqrt(base["mcse"] ** 2 + stronger["mcse"] ** 2)
    assert stronger["combined_mcse"] == pytest.approx(noise)
    assert stronger["beyond_noise"] is True  # 0.10 apart, against a noise of about 0.003
    assert half["difference"] < 0
    inputs = comparison["inputs"]
    assert [item["same_file"] for item in inputs] == [True, True]
    assert inputs[0]["overrides"] == [{"path": "outcomes.p.prior", "value": {"beta": [4, 6]}}]
    assert inputs[0]["diff"] == [] and inputs[0]["settings"] == []
    assert [item["name"] for item in comparison["scenarios"]] == ["both"]


@pytest.mark.slow
def test_set_gives_the_exact_posterior_in_its_own_folder(variant_runs, monkeypatch):
    monkeypatch.chdir(variant_runs.parent)
    before = (variant_runs / "exact" / "summary.json").read_bytes()
    result = invoke("run", "exact.yaml", "--set", STRONGER, *SAMPLING, "--format", "json")
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in Path("reports").iterdir() if p.name.startswith("exact@set-")]
    assert folder.name == what_if(STRONGER).run_name
    assert sorted(p.name for p in Path("reports").iterdir()) == [folder.name]  # no variants
    written = summary(folder)
    assert_near_exact(written["outcomes"]["p"]["posterior"], STRONGER_MEAN)
    assert written["overrides"] == [{"path": "outcomes.p.prior", "value": {"beta": [4, 6]}}]
    assert written["variant"]["defined_in"] == "command line"
    assert written["input_sha256"] == summary(variant_runs / "exact")["input_sha256"]
    assert (variant_runs / "exact" / "summary.json").read_bytes() == before

    named = invoke("run", "exact.yaml", "--set", STRONGER, "--name", "hopeful", *SAMPLING,
                   "--format", "json", "--quiet")  # fmt: skip
    assert named.exit_code == 0, named.output
    assert summary(Path("reports/exact@hopeful"))["variant"]["name"] == "hopeful"


@pytest.mark.slow
def test_no_variants_and_variant_choose_what_runs(variant_runs, tmp_path, monkeypatch):
    monkeypatch.chdir(variant_runs.parent)
    alone = invoke("run", "exact.yaml", "--no-variants", "--out", str(tmp_path / "a"),
                   *SAMPLING, "--format", "json", "--quiet")  # fmt: skip
    assert alone.exit_code == 0, alone.output
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["exact"]
    assert not (tmp_path / "a" / "exact" / "compare.json").exists()
    one = invoke("run", "exact.yaml", "--variant", "half_weight", "--out", str(tmp_path / "b"),
                 *SAMPLING, "--format", "json,html", "--quiet")  # fmt: skip
    assert one.exit_code == 0, one.output
    folders = sorted(p.name for p in (tmp_path / "b").iterdir())
    assert folders == ["exact", "exact@half_weight", "index.html"]
    comparison = json.loads((tmp_path / "b" / "exact" / "compare.json").read_text())
    assert [run["label"] for run in comparison["runs"]] == ["base", "half_weight"]
    assert (tmp_path / "b" / "exact" / "compare.html").is_file()
    index = (tmp_path / "b" / "index.html").read_text(encoding="utf-8")
    assert 'href="exact/compare.html"' in index and "What if half_weight" in index
    variant_page = (tmp_path / "b" / "exact@half_weight" / "report.html").read_text()
    assert "A what-if, not the scenario file as it is" in variant_page
    assert "<code>evidence[0].weight</code> = <code>0.5</code>" in variant_page


@pytest.mark.slow
def test_compare_writes_its_three_files_and_the_report_reads_well(variant_runs, tmp_path):
    folders = [str(variant_runs / name) for name in ("exact", "exact@stronger")]
    result = invoke("compare", *folders, "--out", str(tmp_path / "cmp"))
    assert result.exit_code == 0, result.output
    names = ["compare.json", "compare.html", "compare.pdf"]
    assert result.stdout.splitlines() == [str(tmp_path / "cmp" / name) for name in names]
    assert sorted(p.name for p in (tmp_path / "cmp").iterdir()) == sorted(names)
    page = (tmp_path / "cmp" / "compare.html").read_text(encoding="utf-8")
    assert "beyond noise ±" in page and "A prior twice as hopeful" in page
    assert "outcomes.p.prior" in page and "{beta: [4, 6]}" in page
    pdf = read_pdf(tmp_path / "cmp" / "compare.pdf")
    assert "Run comparison" in pdf.text and "stronger" in pdf.text and "+10." in pdf.text


@pytest.mark.slow
def test_compare_of_different_files_shows_the_line_diff_and_warns(variant_runs, tmp_path):
    base = variant_runs / "exact"
    other = tmp_path / "other"
    other.mkdir()
    data = summary(base)
    data["outcomes"].pop("q")
    data["diagnostics"] = {**data["diagnostics"], "ok": False, "warnings": ["R-hat 1.2"]}
    data["input_sha256"] = "0" * 64
    (other / "summary.json").write_text(json.dumps(data), encoding="utf-8")
    (other / "scenario.yaml").write_text(EXACT.replace("[2, 8]", "[3, 8]"), encoding="utf-8")
    result = invoke("compare", str(base), str(other), "--out", str(tmp_path / "c"),
                    "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    comparison = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert [run["label"] for run in comparison["runs"]] == ["exact", "other"]
    (inputs,) = comparison["inputs"]
    assert inputs["same_file"] is False
    assert "-    prior: {beta: [2, 8]}" in inputs["diff"]
    assert "+    prior: {beta: [3, 8]}" in inputs["diff"]
    warnings = comparison["warnings"]
    assert any(w.startswith("other: the sampler's convergence checks failed (R-hat 1.2)")
               for w in warnings)  # fmt: skip
    assert "outcome 'q' is not in other; those runs are of another model" in warnings
    (q,) = [item for item in comparison["outcomes"] if item["outcome"] == "q"]
    assert q["runs"][1] is None


@pytest.mark.slow
def test_a_failed_comparison_leaves_the_previous_one(variant_runs, tmp_path, monkeypatch):
    import forecast.report.comparison as pages

    target = tmp_path / "keep"
    folders = [str(variant_runs / name) for name in ("exact", "exact@stronger")]
    assert invoke("compare", *folders, "--out", str(target), "--format", "json").exit_code == 0
    before = (target / "compare.json").read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("no room")

    monkeypatch.setattr(pages, "write_comparison_reports", broken)
    result = invoke("compare", *folders, "--out", str(target))
    assert result.exit_code == 3
    assert [p.name for p in target.iterdir()] == ["compare.json"]
    assert (target / "compare.json").read_bytes() == before
