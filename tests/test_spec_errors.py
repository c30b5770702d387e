"""One test per error message: every bad scenario file is answered by `forecast validate` with
exit status 1 and one located line per problem, `PATH:LINE:COL: KEY -> PATH: message`.

The committed files are in tests/data/bad/, one mistake each, named by what is wrong and with a
first comment line that says so; the few that cannot be committed as text (empty, too large,
binary) are written into a temporary folder. Running the command line once per file would cost a
Python start-up each, so the files go through the real CLI in three ways: all of them in one
`forecast validate` process (the output a user sees), each one through `forecast.cli.main` inside
one helper process (the exit status of each), and a few alone as their own process.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import pytest
from test_spec_events import BAD_EVENT_FILES

from forecast.spec.yamlfile import MAX_BYTES

REPO = Path(__file__).resolve().parents[1]
BAD = REPO / "tests" / "data" / "bad"
EXAMPLE = REPO / "scenarios" / "singapore-summit-2018.yaml"

# Answers that must come at once, however large the file claims to be once expanded.
FAST_SECONDS = 1.0


class Bad(NamedTuple):
    file: str
    status: int
    where: str  # LINE:COL
    fragment: str  # the key path, when there is one, then the start of the message
    problems: int = 1  # how many lines the file gets in all


# fmt: off
CASES = [
    # -- the YAML itself --------------------------------------------------------------------------
    Bad("yaml-syntax-unclosed-flow.yaml", 1, "7:14",
        "YAML syntax error: expected ',' or '}', but got ':', while parsing a flow mapping "
        "that starts at line 6, column 12"),
    Bad("yaml-syntax-tab.yaml", 1, "6:1", "YAML syntax error: found character '\\t'"),
    Bad("yaml-syntax-bad-indent.yaml", 1, "7:5",
        "YAML syntax error: expected <block end>, but found '<block mapping start>'"),
    Bad("top-level-list.yaml", 1, "2:1",
        "the top level must be a mapping with version, title and outcomes, got a list"),
    Bad("top-level-text.yaml", 1, "2:1",
        "the top level must be a mapping with version, title and outcomes, got the text "
        "'just some words'"),
    Bad("empty.yaml", 1, "1:1", "the file is empty; a scenario needs at least version, title"),
    Bad("generated:empty-0-bytes.yaml", 1, "1:1", "the file is empty"),
    Bad("not-utf8.yaml", 1, "3:12", "the file is not UTF-8 (byte 0xE9)"),
    Bad("generated:utf16.yaml", 1, "1:1", "the file is not UTF-8 (byte 0xFF)"),
    Bad("generated:nul-bytes.yaml", 1, "2:11", "the file contains NUL bytes"),
    Bad("control-character.yaml", 1, "3:13", "the file contains the control character U+0007"),
    Bad("generated:too-large.yaml", 1, "1:1", f"file is larger than {MAX_BYTES:,} bytes"),
    Bad("billion-laughs.yaml", 1, "9:4", "this value expands to more than 100,000 values"),
    Bad("alias-recursive.yaml", 1, "3:11", "this value expands to more than 100,000 values"),
    Bad("nested-too-deep.yaml", 1, "3:111", "lists or mappings are nested more than 100 levels"),
    Bad("tag-python-object-apply.yaml", 1, "3:8",
        "title: YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed"),
    Bad("tag-python-name.yaml", 1, "6:12",
        "outcomes -> talks_start -> label: YAML tag 'tag:yaml.org,2002:python/name:os.system' "
        "is not allowed"),
    Bad("merge-key.yaml", 1, "9:7",
        "outcomes -> deal_signed -> prior: merge keys (<<) are not supported"),
    Bad("duplicate-key-top.yaml", 1, "4:1", "title: duplicate key 'title' (first given on line 3)"),
    Bad("duplicate-key-outcome.yaml", 1, "7:5",
        "outcomes -> talks_start -> label: duplicate key 'label' (first given on line 6)"),
    Bad("duplicate-key-prior.yaml", 1, "7:28",
        "outcomes -> talks_start -> prior -> mean: duplicate key 'mean' (first given on line 7)"),
    Bad("duplicate-outcome.yaml", 1, "7:3",
        "outcomes -> talks_start: duplicate key 'talks_start' (first given on line 5)"),
    # -- keys -------------------------------------------------------------------------------------
    Bad("unknown-key-top.yaml", 1, "3:1", "titel: unknown key 'titel'; did you mean 'title'?", 2),
    Bad("unknown-key-outcome.yaml", 1, "7:5",
        "outcomes -> talks_start -> priro: unknown key 'priro'; did you mean 'prior'?", 2),
    Bad("unknown-key-evidence.yaml", 1, "10:5",
        "evidence -> item 1 -> trails: unknown key 'trails'; did you mean 'trials'?", 2),
    Bad("missing-key-title.yaml", 1, "2:1", "missing required key 'title'"),
    Bad("missing-key-outcomes.yaml", 1, "2:1", "missing required key 'outcomes'"),
    Bad("missing-key-prior.yaml", 1, "6:5",
        "outcomes -> talks_start: missing required key 'prior'"),
    # -- numbers ----------------------------------------------------------------------------------
    Bad("probability-above-one.yaml", 1, "6:19",
        "outcomes -> talks_start -> prior -> mean: a probability must be strictly between "
        "0 and 1, got 1.5"),
    Bad("probability-negative-categorical.yaml", 1, "8:66",
        "outcomes -> how_it_ends -> prior -> probabilities -> breakdown: a probability must be "
        "strictly between 0 and 1, got -0.2"),
    Bad("beta-zero.yaml", 1, "6:19",
        "outcomes -> talks_start -> prior -> beta: Beta parameters must be greater than 0"),
    Bad("beta-negative.yaml", 1, "6:19",
        "outcomes -> talks_start -> prior -> beta: Beta parameters must be greater than 0"),
    Bad("dirichlet-zero.yaml", 1, "7:24",
        "outcomes -> how_it_ends -> prior -> dirichlet: Dirichlet concentrations must be greater"),
    Bad("sd-impossible.yaml", 1, "6:28",
        "outcomes -> talks_start -> prior -> sd: sd 0.5 is impossible for a probability with "
        "mean 0.8: it must be below sqrt(mean*(1-mean)) = 0.4"),
    Bad("interval-reversed.yaml", 1, "6:23",
        "outcomes -> talks_start -> prior -> interval: interval must be [low, high] with low < "
        "high, got [0.7, 0.3]"),
    Bad("interval-equal-ends.yaml", 1, "6:23",
        "outcomes -> talks_start -> prior -> interval: interval must be [low, high] with "
        "low < high, got [0.4, 0.4]"),
    Bad("interval-outside.yaml", 1, "6:23",
        "outcomes -> talks_start -> prior -> interval: interval ends must be strictly between "
        "0 and 1, got [0.2, 1.2]"),
    Bad("interval-too-narrow.yaml", 1, "6:23",
        "outcomes -> talks_start -> prior -> interval: no Beta distribution puts 0.9 of its mass"),
    Bad("mass-outside.yaml", 1, "6:41",
        "outcomes -> talks_start -> prior -> mass: a probability must be strictly between "
        "0 and 1, got 1.5"),
    Bad("mass-one.yaml", 1, "6:41",
        "outcomes -> talks_start -> prior -> mass: a probability must be strictly between "
        "0 and 1, got 1"),
    Bad("successes-exceed-trials.yaml", 1, "9:16",
        "evidence -> item 1 -> successes: successes (5) cannot exceed trials (3)"),
    Bad("successes-negative.yaml", 1, "9:16",
        "evidence -> item 1 -> successes: must be a whole number 0 or more, got -1"),
    Bad("counts-negative.yaml", 1, "10:39",
        "evidence -> item 1 -> counts -> stalemate: must be a whole number 0 or more, got -2"),
    Bad("case-successes-exceed-trials.yaml", 1, "10:37",
        "reference_classes -> item 1 -> cases -> item 1 -> successes: "
        "successes (4) cannot exceed trials (2)"),
    Bad("weight-above-one.yaml", 1, "11:13",
        "evidence -> item 1 -> weight: weight must be in (0, 1]"),
    Bad("weight-zero.yaml", 1, "11:13", "evidence -> item 1 -> weight: weight must be in (0, 1]"),
    Bad("network-too-entangled.yaml", 1, "50:12",
        "outcomes -> x15 -> given: the outcomes behind 'x15' are too entangled to compute exactly"),
    # -- names and structure ----------------------------------------------------------------------
    Bad("unknown-parent.yaml", 1, "8:13",
        "outcomes -> full_shutdown -> given -> item 1: unknown outcome 'sumit_held'; did you "
        "mean 'summit_held'?"),
    Bad("self-parent.yaml", 1, "6:13",
        "outcomes -> talks_start -> given -> item 1: 'talks_start' cannot depend on itself"),
    Bad("given-not-a-name.yaml", 1, "8:13",
        "outcomes -> full_shutdown -> given -> item 1: "
        "a parent must be an outcome name, got a mapping"),
    Bad("evidence-outcome-list.yaml", 1, "8:14",
        "evidence -> item 1 -> outcome: must be an outcome name, got a list"),
    Bad("parent-without-prior.yaml", 1, "6:5",
        "outcomes -> summit_held: missing required key 'prior'"),
    Bad("unknown-category-row.yaml", 1, "12:20",
        "outcomes -> tests_resume -> prior -> deal_form == colapse: 'deal_form' has no "
        "category 'colapse'; did you mean 'collapse'?"),
    Bad("unknown-category-counts.yaml", 1, "10:25",
        "evidence -> item 1 -> counts -> colapse: "
        "unknown category 'colapse'; did you mean 'collapse'?"),
    Bad("unknown-category-scenario.yaml", 1, "9:30",
        "scenarios -> falls_apart: "
        "'deal_form' has no category 'colapse'; did you mean 'collapse'?"),
    Bad("unknown-category-prior.yaml", 1, "7:48",
        "outcomes -> deal_form -> prior -> dirichlet -> colapse: unknown category 'colapse'; "
        "did you mean 'collapse'?", 2),
    Bad("when-unknown-category.yaml", 1, "14:42",
        "evidence -> item 1 -> when: "
        "'deal_form' has no category 'colapse'; did you mean 'collapse'?"),
    Bad("cycle-two.yaml", 1, "6:12",
        "outcomes -> a -> given: the outcomes depend on each other in a cycle: a -> b -> a "),
    Bad("cycle-three.yaml", 1, "6:12",
        "outcomes -> first -> given: the outcomes depend on each other in a cycle: first -> "
        "second -> third -> first "),
    Bad("rows-missing-combination.yaml", 1, "10:7",
        "outcomes -> full_shutdown -> prior: "
        "no prior for 1 combination(s) of summit_held: not summit_held."),
    Bad("rows-missing-categorical.yaml", 1, "11:7",
        "outcomes -> tests_resume -> prior: no prior for 2 combination(s) of deal_form: "
        "deal_form == freeze; deal_form == collapse."),
    Bad("rows-covered-twice.yaml", 1, "13:7",
        "outcomes -> c -> prior -> b and a: "
        "row 'b and a' covers the same combination as row 'a and b'"),
    Bad("otherwise-covers-nothing.yaml", 1, "12:7",
        "outcomes -> full_shutdown -> prior -> otherwise: 'otherwise' covers no combination"),
    Bad("duplicate-category.yaml", 1, "6:45",
        "outcomes -> deal_form -> categories -> item 4: duplicate category 'freeze'"),
    Bad("category-not-a-name.yaml", 1, "6:18",
        "outcomes -> deal_form -> categories -> item 1: a category name must be lower-case "
        "letters, digits and _, starting with a letter; got a list"),
    Bad("category-yes-no.yaml", 1, "6:18",
        "outcomes -> referendum -> categories -> item 1: a category name must be lower-case "
        "letters, digits and _, starting with a letter; got 'true' (a yes/no value; quote it", 2),
    Bad("category-label-empty.yaml", 1, "9:38",
        "outcomes -> deal_form -> categories -> item 3 -> label: must be non-empty text, "
        "got the text ''"),
    Bad("category-unknown-key.yaml", 1, "9:9",
        "outcomes -> deal_form -> categories -> item 2 -> lable: unknown key 'lable'; did you "
        "mean 'label'? (allowed: name, label)", 2),
    # -- scenario expressions ---------------------------------------------------------------------
    Bad("scenario-unclosed-paren.yaml", 1, "10:41",
        "scenarios -> oops: cannot read 'summit_held and (troop_drawdown': a '(' is not closed"),
    Bad("scenario-double-and.yaml", 1, "10:25",
        "scenarios -> oops: cannot read 'summit_held and and troop_drawdown': expected an "
        "outcome name, found 'and'"),
    Bad("scenario-bad-character.yaml", 1, "10:22",
        "scenarios -> oops: cannot read 'summit_held && troop_drawdown': unexpected character '&'"),
    Bad("scenario-unknown-outcome.yaml", 1, "10:34",
        "scenarios -> drawdown: unknown outcome 'troop_drawdwn' in 'summit_held and not "
        "troop_drawdwn'; did you mean 'troop_drawdown'?"),
    Bad("expression-too-deep.yaml", 1, "8:60", "scenarios -> deep: cannot read '((((("),
    # -- several at once --------------------------------------------------------------------------
    Bad("many-problems.yaml", 1, "17:16",
        "evidence -> item 1 -> successes: successes (3) cannot exceed trials (2)", 8),
]
# fmt: on
# Event outcomes' mistakes, whose table is with the tests of events.
CASES += [Bad(name, 1, where, fragment) for name, where, fragment in BAD_EVENT_FILES]

# Every located line of many-problems.yaml, in the order they are printed.
MANY_PROBLEMS = [
    (6, 28, "outcomes -> summit_held -> prior -> sd: sd 0.5 is impossible"),
    (8, 13, "outcomes -> full_shutdown -> given -> item 1: unknown outcome 'sumit_held'"),
    (11, 5, "outcomes -> troop_drawdown -> priors: unknown key 'priors'; did you mean 'prior'?"),
    (11, 5, "outcomes -> troop_drawdown: missing required key 'prior'"),
    (14, 24, "outcomes -> deal_form -> prior -> dirichlet: dirichlet needs 3 numbers"),
    (17, 16, "evidence -> item 1 -> successes: successes (3) cannot exceed trials (2)"),
    (19, 13, "evidence -> item 1 -> weight: weight must be in (0, 1]"),
    (21, 41, "scenarios -> oops: cannot read 'summit_held and (troop_drawdown'"),
]

TIMED = {"billion-laughs.yaml", "alias-recursive.yaml", "generated:too-large.yaml"}


def _generated_files() -> dict[str, bytes]:
    """The bad inputs that cannot be committed as commented text."""
    example = EXAMPLE.read_bytes()
    padding = b"# padding to pass the size limit\n" * (MAX_BYTES // 33 + 1)
    return {
        "empty-0-bytes.yaml": b"",
        # What Windows Notepad writes when asked for "Unicode".
        "utf16.yaml": "version: 1\ntitle: t\n".encode("utf-16"),
        "nul-bytes.yaml": b"# NUL bytes\nversion: 1\x00\x00\ntitle: t\n",
        # A valid scenario, only too long: the limit is on bytes, before anything is parsed.
        "too-large.yaml": example + padding,
    }


DRIVER = r"""
import contextlib, io, json, sys, time, traceback
from forecast.cli import cli

results = {}
for path in sys.argv[1:]:
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cli.main(["validate", path], prog_name="forecast")
            status = 0
        except SystemExit as exit:
            status = exit.code
        except BaseException:
            status = "exception"
            traceback.print_exc()
    results[path] = {
        "status": status,
        "stdout": out.getvalue(),
        "stderr": err.getvalue(),
        "seconds": time.perf_counter() - start,
    }
json.dump(results, sys.__stdout__)
"""


@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> dict[str, str]:
    """Case name -> the path as given on the command line."""
    folder = tmp_path_factory.mktemp("bad")
    generated = {}
    for name, content in _generated_files().items():
        (folder / name).write_bytes(content)
        generated[f"generated:{name}"] = str(folder / name)
    result = {}
    for case in CASES:
        if case.file.startswith("generated:"):
            result[case.file] = generated[case.file]
        else:
            result[case.file] = (BAD / case.file).relative_to(REPO).as_posix()
    return result


@pytest.fixture(scope="module")
def one_by_one(paths) -> dict[str, dict]:
    """Each file through the CLI's own entry point, one call each, inside one helper process."""
    run = subprocess.run(
        [sys.executable, "-c", DRIVER, *paths.values()],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    by_path = json.loads(run.stdout)
    return {case: by_path[path] for case, path in paths.items()}


@pytest.fixture(scope="module")
def all_at_once(paths) -> subprocess.CompletedProcess:
    """`forecast validate` on every bad file at once, as a user would run it."""
    return _validate(*paths.values())


def _validate(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "forecast", "validate", *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _located(stderr: str, path: str) -> list[tuple[int, int, str]]:
    """The (line, column, message) of every problem line about `path`."""
    pattern = re.compile(rf"^{re.escape(path)}:(\d+):(\d+): (.*)$")
    found = []
    for text in stderr.splitlines():
        match = pattern.match(text)
        if match:
            found.append((int(match.group(1)), int(match.group(2)), match.group(3)))
    return found


def _has(found: list[tuple[int, int, str]], case: Bad) -> bool:
    return any(
        f"{line}:{column}" == case.where and message.startswith(case.fragment)
        for line, column, message in found
    )


def test_every_committed_bad_file_is_in_the_table():
    committed = {path.name for path in BAD.iterdir()}
    listed = {case.file for case in CASES if not case.file.startswith("generated:")}
    assert committed == listed


@pytest.mark.parametrize("name", sorted(p.name for p in BAD.iterdir()))
def test_bad_file_says_what_is_wrong_on_its_first_line(name):
    first = (BAD / name).read_bytes().split(b"\n", 1)[0]
    assert first.startswith(b"# ") and len(first) > 20


@pytest.mark.parametrize("case", CASES, ids=[case.file for case in CASES])
def test_bad_file_is_located(case, paths, one_by_one):
    result = one_by_one[case.file]
    output = result["stdout"] + result["stderr"]
    assert "Traceback" not in output
    assert result["status"] == case.status, output
    assert result["stdout"] == ""
    found = _located(result["stderr"], paths[case.file])
    assert _has(found, case), f"expected {case.where}: {case.fragment}\n{output}"
    assert len(found) == case.problems, output
    # Nothing but the located lines and the count.
    plural = "s" if case.problems != 1 else ""
    assert result["stderr"].splitlines() == [
        *(f"{paths[case.file]}:{line}:{column}: {message}" for line, column, message in found),
        f"{case.problems} problem{plural} found.",
    ]


@pytest.mark.parametrize("name", sorted(TIMED))
def test_expansion_bomb_and_oversized_file_are_answered_at_once(name, one_by_one):
    assert one_by_one[name]["status"] == 1
    assert one_by_one[name]["seconds"] < FAST_SECONDS


def test_all_bad_files_at_once(paths, all_at_once):
    output = all_at_once.stdout + all_at_once.stderr
    assert all_at_once.returncode == 1
    assert "Traceback" not in output
    assert all_at_once.stdout == ""
    total = 0
    for case in CASES:
        found = _located(all_at_once.stderr, paths[case.file])
        assert _has(found, case), case.file
        assert len(found) == case.problems, case.file
        total += case.problems
    lines = all_at_once.stderr.splitlines()
    assert len(lines) == total + 1
    assert lines[-1] == f"{total} problems found."


def test_a_file_with_several_problems_reports_all_of_them(paths, one_by_one):
    path = paths["many-problems.yaml"]
    lines = one_by_one["many-problems.yaml"]["stderr"].splitlines()
    assert len(lines) == len(MANY_PROBLEMS) + 1
    for text, (line, column, fragment) in zip(lines, MANY_PROBLEMS, strict=False):
        assert text.startswith(f"{path}:{line}:{column}: {fragment}")
    assert lines[-1] == f"{len(MANY_PROBLEMS)} problems found."


@pytest.mark.parametrize(
    "name",
    [
        "yaml-syntax-unclosed-flow.yaml",
        "not-utf8.yaml",
        "billion-laughs.yaml",
        "generated:too-large.yaml",
        "unknown-key-outcome.yaml",
        "cycle-two.yaml",
    ],
)
def test_bad_file_alone_in_its_own_process(name, paths):
    case = next(case for case in CASES if case.file == name)
    start = time.perf_counter()
    run = _validate(paths[name])
    elapsed = time.perf_counter() - start
    assert run.returncode == case.status
    assert "Traceback" not in run.stdout + run.stderr
    assert _has(_located(run.stderr, paths[name]), case), run.stderr
    # Python's start-up alone takes a good part of a second on a busy machine; this only guards
    # against the work growing with the expanded size of the file.
    assert elapsed < 5 * FAST_SECONDS


def test_missing_file_is_one_line_and_status_1(tmp_path):
    missing = tmp_path / "no-such-scenario.yaml"
    run = _validate(str(missing))
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr.splitlines() == [
        f"{missing}:1:1: cannot read the file: No such file or directory",
        "1 problem found.",
    ]


def test_good_and_bad_files_together(paths):
    run = _validate("scenarios/singapore-summit-2018.yaml", paths["weight-zero.yaml"])
    assert run.returncode == 1
    assert run.stdout.startswith("scenarios/singapore-summit-2018.yaml: ok (")
    assert run.stderr.splitlines()[-1] == "1 problem found."


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "Missing argument 'FILES...'"),
        (["--no-such-option", "scenarios/singapore-summit-2018.yaml"], "No such option"),
        (["scenarios"], "is a directory"),
    ],
    ids=["no-file", "unknown-option", "directory"],
)
def test_bad_usage_exits_2(arguments, message):
    run = _validate(*arguments)
    assert run.returncode == 2
    assert message in run.stderr
    assert "Traceback" not in run.stdout + run.stderr
