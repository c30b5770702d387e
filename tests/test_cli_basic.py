"""The commands that need no sampling: validate, new, schema, and every command's help."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from helpers import REPO, SCENARIO_FILES, run_forecast

from forecast.cli import cli

EXAMPLES = SCENARIO_FILES
COMMANDS = {"validate", "new", "schema", "run", "report", "compare"}


def test_validate_accepts_every_example():
    names = [p.relative_to(REPO).as_posix() for p in EXAMPLES]
    run = run_forecast("validate", *names)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    lines = run.stdout.splitlines()
    assert [line.split(": ok (")[0] for line in lines] == names
    assert all(" outcomes, " in line for line in lines)


def test_validate_checks_resolutions_files_beside_scenarios(tmp_path):
    resolutions = sorted((REPO / "scenarios").glob("*.resolutions.yaml"))
    assert resolutions
    names = [p.relative_to(REPO).as_posix() for p in resolutions]
    run = run_forecast("validate", *names)
    assert run.returncode == 0, run.stderr
    assert all(": ok (resolutions of " in line for line in run.stdout.splitlines())
    bad = tmp_path / "x.resolutions.yaml"
    bad.write_text(resolutions[0].read_text(encoding="utf-8").replace("version: 1", "version: 7"))
    run = run_forecast("validate", str(bad))
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.startswith(f"{bad}:") and "version" in run.stderr


def test_new_writes_a_template_that_validates_and_is_not_overwritten(tmp_path):
    folder = tmp_path / "scenarios"
    run = run_forecast("new", "iran-deal-2026", "--dir", str(folder))
    target = folder / "iran-deal-2026.yaml"
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"wrote {target}"
    # Outside a project there is no committed schema to point at: say how to make one.
    assert "forecast schema >" in run.stderr
    text = target.read_text(encoding="utf-8")
    assert 'title: "Iran deal 2026"' in text
    assert "{title}" not in text and "{schema}" not in text

    check = run_forecast("validate", str(target))
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith(f"{target}: ok (3 outcomes")

    target.write_text(text + "# my own edits\n", encoding="utf-8")
    again = run_forecast("new", "iran-deal-2026", "--dir", str(folder))
    assert again.returncode == 1
    assert "exists; choose another name or pass --force" in again.stderr
    assert target.read_text(encoding="utf-8").endswith("# my own edits\n")

    forced = run_forecast("new", "iran-deal-2026.yaml", "--dir", str(folder), "--force")
    assert forced.returncode == 0, forced.stderr
    assert target.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("name", ["Bad Name", "../escape", "-x", "ünïcode"])
def test_new_refuses_names_that_are_not_file_stems(name, tmp_path):
    run = run_forecast("new", "--dir", str(tmp_path), "--", name)
    assert run.returncode == 2
    assert "lower-case letters, digits, - and _" in run.stderr
    assert list(tmp_path.iterdir()) == []


def test_schema_prints_json():
    run = run_forecast("schema")
    assert run.returncode == 0, run.stderr
    schema = json.loads(run.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["properties"]) >= {"version", "title", "outcomes", "evidence", "scenarios"}


def test_every_command_is_there():
    assert set(cli.commands) >= COMMANDS


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help_with_an_example(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    assert f"forecast {name}" in result.output.split("Example", 1)[1]
    # The first line of the help is a sentence, shown in `forecast --help` too.
    assert cli.commands[name].get_short_help_str(limit=200)


def test_top_level_help_lists_every_command():
    result = CliRunner().invoke(cli, ["-h"])
    assert result.exit_code == 0
    assert "Example" in result.output
    for name in COMMANDS:
        assert f"  {name} " in result.output


def test_validate_does_not_import_pymc_numpy_or_scipy():
    code = (
        "import json, sys\n"
        "from forecast.cli import main\n"
        "sys.argv = ['forecast', 'validate', 'scenarios/singapore-summit-2018.yaml']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    status = exit.code\n"
        "heavy = ['pymc', 'pytensor', 'arviz', 'matplotlib', 'numpy', 'scipy', 'forecast.model']\n"
        "print(json.dumps({'status': status, 'loaded': [m for m in heavy if m in sys.modules]}))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    *printed, last = run.stdout.splitlines()
    assert printed == [
        "scenarios/singapore-summit-2018.yaml: ok "
        "(6 outcomes, 4 evidence items, 1 reference class, 8 scenarios)"
    ]
    assert json.loads(last) == {"status": 0, "loaded": []}
