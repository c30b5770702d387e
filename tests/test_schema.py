"""The JSON Schema that editors use agrees with the examples, the template and the committed copy.

The schema checks only the shape of a file, so the bad files it must refuse are those whose
mistake is a key, a type or a range; the real `jsonschema` validator does the checking.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from helpers import REPO, run_forecast
from jsonschema import Draft202012Validator, FormatChecker

EXAMPLES = sorted((REPO / "scenarios").glob("*.yaml"))
BAD = REPO / "tests" / "data" / "bad"
COMMITTED = REPO / "docs" / "scenario.schema.json"
SCHEMA_LINE = "# yaml-language-server: $schema="


@pytest.fixture(scope="module")
def printed() -> str:
    run = run_forecast("schema")
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.fixture(scope="module")
def validator(printed) -> Draft202012Validator:
    schema = json.loads(printed)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("new")
    run = run_forecast("new", "schema-check", "--dir", str(folder))
    assert run.returncode == 0, run.stderr
    return folder / "schema-check.yaml"


def as_json(value):
    """YAML data as JSON would hold it: dates become ISO strings, as an editor sees them."""
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def load(path: Path):
    return as_json(yaml.safe_load(path.read_text(encoding="utf-8")))


def error_paths(validator: Draft202012Validator, data) -> set[tuple]:
    """The location of every error, including those inside oneOf and anyOf branches."""
    paths = set()
    pending = list(validator.iter_errors(data))
    while pending:
        error = pending.pop()
        paths.add(tuple(error.absolute_path))
        pending.extend(error.context or ())
    return paths


def test_schema_is_draft_2020_12(printed):
    schema = json.loads(printed)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["version", "title", "outcomes"]
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_validate_against_the_schema(path, validator):
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(load(path))]
    assert errors == []


def test_template_validates_against_the_schema(template, validator):
    errors = [e.message for e in validator.iter_errors(load(template))]
    assert errors == []


def test_minimal_documented_file_validates(validator):
    minimal = {"version": 1, "title": "T", "outcomes": {"x": {"prior": {"mean": 0.3, "sd": 0.1}}}}
    assert validator.is_valid(minimal)


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("unknown-key-top.yaml", ()),
        ("unknown-key-outcome.yaml", ("outcomes", "talks_start")),
        ("missing-key-prior.yaml", ("outcomes", "talks_start")),
        ("missing-key-title.yaml", ()),
        ("probability-above-one.yaml", ("outcomes", "talks_start", "prior", "mean")),
        ("beta-zero.yaml", ("outcomes", "talks_start", "prior", "beta", 0)),
        ("interval-outside.yaml", ("outcomes", "talks_start", "prior", "interval", 1)),
        ("mass-outside.yaml", ("outcomes", "talks_start", "prior", "mass")),
        ("weight-above-one.yaml", ("evidence", 0, "weight")),
        ("weight-zero.yaml", ("evidence", 0, "weight")),
        ("successes-negative.yaml", ("evidence", 0, "successes")),
        ("counts-negative.yaml", ("evidence", 0, "counts", "stalemate")),
        ("duplicate-category.yaml", ("outcomes", "deal_form", "categories")),
        ("top-level-list.yaml", ()),
    ],
)
def test_bad_files_fail_schema_validation_where_they_are_wrong(name, where, validator):
    data = load(BAD / name)
    assert not validator.is_valid(data)
    assert where in error_paths(validator, data)


def test_committed_schema_is_what_forecast_schema_prints(printed):
    assert COMMITTED.is_file(), "run: forecast schema > docs/scenario.schema.json"
    assert json.loads(COMMITTED.read_text(encoding="utf-8")) == json.loads(printed)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_point_editors_at_the_committed_schema(path):
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    assert first.startswith(SCHEMA_LINE)
    target = (path.parent / first.removeprefix(SCHEMA_LINE)).resolve()
    assert target == COMMITTED.resolve()


def test_template_points_at_a_schema(template):
    first = template.read_text(encoding="utf-8").split("\n", 1)[0]
    # Outside the project there is no docs/ above, so the schema is expected beside the file.
    assert first == SCHEMA_LINE + "scenario.schema.json"
