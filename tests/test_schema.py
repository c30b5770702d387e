"""The JSON Schema that editors use agrees with the validator, the examples, the template and the
committed copy.

The schema checks only the shape of a file, so the bad files it must refuse are those whose
mistake is a key, a type or a range; the real `jsonschema` validator does the checking.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import yaml
from helpers import REPO, SCENARIO_FILES, run_forecast
from jsonschema import Draft202012Validator, FormatChecker

from forecast.spec import ScenarioError, keys, parse_scenario
from forecast.spec.schema import scenario_schema

EXAMPLES = SCENARIO_FILES
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
        ("category-label-empty.yaml", ("outcomes", "deal_form", "categories", 2, "label")),
        ("category-unknown-key.yaml", ("outcomes", "deal_form", "categories", 1)),
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


# -- the validator and the schema agree on every key -----------------------------------------------
#
# Both read the table in forecast/spec/keys.py. The tests below check the agreement from outside:
# the keys the validator allows are read from its own "unknown key" message, the keys the schema
# allows from the schema itself, and a valid document that uses each key must pass both.

BINARY_FORMS = {block.title for block in keys.BINARY_PRIOR_FORMS}
CATEGORICAL_FORMS = {block.title for block in keys.CATEGORICAL_PRIOR_FORMS}
EVENT_FORMS = {block.title for block in keys.EVENT_PRIOR_FORMS}
RATE_FORMS = {block.title for block in keys.RATE_FORMS}
ROOT_TITLE = f"forecast {keys.TOP.title}, format v1"
# Where the rate of the event `w` in base_document changes.
BREAK = dt.date(2019, 1, 1)
RATE = {"mean": 1, "sd": 0.5}


def base_document() -> dict:
    return {
        "version": 1,
        "title": "T",
        "as_of": dt.date(2018, 5, 20),
        "horizon": dt.date(2020, 6, 12),
        "outcomes": {
            "a": {"prior": {"beta": [1, 1]}},
            "c": {"categories": ["x", "y"], "prior": {"dirichlet": [1, 1]}},
            "e": {"kind": "event", "prior": {"rate": RATE, "per": "year"}},
            "w": {
                "kind": "event",
                "prior": {"rate": [{"until": BREAK, "rate": RATE}, {"rate": RATE}], "per": "year"},
            },
        },
    }


def place(title: str, mapping: dict) -> dict:
    """A valid document in which `mapping` stands where a block with this title goes."""
    if title == keys.TOP.title:
        return mapping
    document = base_document()
    if title == keys.SAMPLING.title:
        document["sampling"] = mapping
    elif title == keys.OUTCOME.title:
        document["outcomes"]["o"] = mapping
    elif title == keys.CATEGORY.title:
        document["outcomes"]["p"] = {"categories": [mapping, "z"], "prior": {"dirichlet": [1, 1]}}
    elif title == keys.EVIDENCE.title:
        document["evidence"] = [mapping]
    elif title == keys.REFERENCE_CLASS.title:
        document["reference_classes"] = [mapping]
    elif title == keys.CASE.title:
        document["reference_classes"] = [{"outcome": "a", "cases": [mapping]}]
    elif title == keys.RATE_CASE.title:
        document["reference_classes"] = [{"outcome": "e", "cases": [mapping]}]
    elif title == keys.EXPOSURE.title:
        document["evidence"] = [{"outcome": "e", "events": 1, "exposure": mapping}]
    elif title == keys.WAITING_TIME.title:
        document["evidence"] = [{"outcome": "e", "waiting_times": [mapping]}]
    elif title in EVENT_FORMS:
        document["outcomes"]["p"] = {"kind": "event", "prior": mapping}
    elif title == keys.RATE_PERIOD.title:
        rates = (
            [mapping, {"rate": RATE}]
            if "until" in mapping
            else [{"until": BREAK, "rate": RATE}, mapping]
        )
        document["outcomes"]["p"] = {"kind": "event", "prior": {"rate": rates, "per": "week"}}
    elif title in RATE_FORMS:
        document["outcomes"]["p"] = {"kind": "event", "prior": {"rate": mapping, "per": "day"}}
    elif title == keys.VARIANT.title:
        document["variants"] = {"v": mapping}
    elif title in BINARY_FORMS:
        document["outcomes"]["p"] = {"prior": mapping}
    elif title in CATEGORICAL_FORMS:
        document["outcomes"]["p"] = {"categories": ["x", "y", "z"], "prior": mapping}
    else:
        raise AssertionError(f"no place for a {title} in the test; add one")
    return document


# Valid mappings for each block; between them they use every key of the block.
EXAMPLES = {
    keys.TOP.title: [
        {
            "version": 1,
            "title": "T",
            "question": "Q?",
            "as_of": dt.date(2018, 5, 20),
            "horizon": dt.date(2020, 6, 12),
            "seed": 3,
            "sampling": {"draws": 200},
            "outcomes": {"a": {"prior": {"beta": [1, 1]}}},
            "evidence": [{"outcome": "a", "successes": 1, "trials": 2}],
            "reference_classes": [
                {"outcome": "a", "cases": [{"name": "one", "successes": 1, "trials": 1}]}
            ],
            "scenarios": {"s": "not a"},
            "variants": {"v": {"set": {"seed": 4}}},
        }
    ],
    keys.SAMPLING.title: [{"draws": 200, "tune": 100, "chains": 2}],
    keys.OUTCOME.title: [
        {
            "label": "O",
            "description": "What counts as yes.",
            "given": "a",  # one parent may be written without a list
            "prior": {"a": {"beta": [2, 1]}, "not a": {"beta": [1, 2]}},
        },
        {
            "categories": ["p", "q"],
            "given": ["a", "c"],
            "prior": {"a and c == x": {"dirichlet": [1, 2]}, "otherwise": {"dirichlet": [2, 1]}},
        },
        {
            "kind": "event",
            "given": ["a"],
            "checkpoints": [dt.date(2019, 6, 30)],
            "prior": {
                "a": {"rate": {"gamma": [2, 1]}, "per": "year"},
                "not a": {"by": {dt.date(2019, 6, 30): 0.1, dt.date(2020, 6, 12): 0.15}},
            },
        },
        {"kind": "binary", "prior": {"beta": [1, 1]}},
    ],
    keys.CATEGORY.title: [{"name": "x", "label": "Something else"}],
    keys.EVIDENCE.title: [
        {"outcome": "a", "successes": 1, "trials": 3, "weight": 0.5, "source": "S"},
        {"outcome": "c", "counts": {"x": 2}},
        {"outcome": "o", "when": "not a", "successes": 0, "trials": 1},
        {"outcome": "e", "events": 2, "exposure": {"years": 3}},
        {"outcome": "e", "waiting_times": [{"months": 8}]},
        {"outcome": "w", "period": BREAK, "events": 0, "exposure": {"days": 100}},
    ],
    keys.REFERENCE_CLASS.title: [
        {
            "outcome": "o",
            "when": "a",
            "pooling": "complete",
            "source": "S",
            "cases": [{"name": "one", "successes": 1, "trials": 2}],
        },
        {
            "outcome": "w",
            "period": dt.date(2020, 6, 12),
            "cases": [{"name": "one", "events": 1, "exposure": {"years": 2}}],
        },
    ],
    keys.CASE.title: [{"name": "one", "successes": 0, "trials": 2}],
    keys.RATE_CASE.title: [
        {"name": "one", "events": 1, "exposure": {"years": 2}},
        {"name": "two", "waiting_time": {"years": 2, "censored": True}},
        {"name": "three", "waiting_times": [{"weeks": 30}, {"days": 40}]},
    ],
    keys.EXPOSURE.title: [{"years": 2}, {"months": 3}, {"weeks": 4}, {"days": 5}],
    keys.WAITING_TIME.title: [
        {"years": 2, "censored": False},
        {"months": 3},
        {"weeks": 4},
        {"days": 5, "censored": True},
    ],
    keys.VARIANT.title: [
        {
            "description": "A stronger prior",
            "set": {"outcomes.a.prior": {"beta": [4, 1]}, 'outcomes.c.prior["dirichlet"][0]': 2},
        }
    ],
    keys.BETA.title: [{"beta": [2, 3]}],
    keys.MEAN_SD.title: [{"mean": 0.3, "sd": 0.1}],
    keys.INTERVAL.title: [{"interval": [0.2, 0.6], "mass": 0.8}],
    keys.MEAN_SAMPLE_SIZE.title: [{"mean": 0.3, "sample_size": 10}],
    keys.DIRICHLET.title: [{"dirichlet": [1, 2, 3]}, {"dirichlet": {"x": 1, "y": 2, "z": 3}}],
    keys.PROBABILITIES.title: [
        {"probabilities": {"x": 0.2, "y": 0.3, "z": 0.5}, "sample_size": 10}
    ],
    keys.RATE.title: [{"rate": {"gamma": [2, 10]}, "per": "month"}],
    keys.BY_DATES.title: [
        {"by": {dt.date(2019, 1, 1): 0.2, dt.date(2020, 1, 1): 0.35}, "per": "week"}
    ],
    keys.RATE_PERIOD.title: [{"until": BREAK, "rate": RATE}, {"rate": {"gamma": [1, 1]}}],
    keys.GAMMA.title: [{"gamma": [2, 3]}],
    keys.RATE_MEAN_SD.title: [{"mean": 0.3, "sd": 0.1}],
    keys.RATE_INTERVAL.title: [{"interval": [0.2, 0.6], "mass": 0.8}],
}


def with_outcome_o(document: dict) -> dict:
    """Evidence and reference classes on `o` need it: a binary outcome given `a`."""
    if "o" not in document["outcomes"]:
        document["outcomes"]["o"] = {
            "given": ["a"],
            "prior": {"a": {"beta": [2, 1]}, "not a": {"beta": [1, 2]}},
        }
    return document


def example_document(title: str, key: str) -> dict:
    mapping = next((m for m in EXAMPLES.get(title, []) if key in m), None)
    assert mapping is not None, f"add an example of a {title} with '{key}' to EXAMPLES"
    return with_outcome_o(place(title, mapping))


def as_yaml(document: dict) -> bytes:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode("utf-8")


def schema_objects(schema: dict) -> list[tuple[str, dict]]:
    """(title, object schema) of every closed mapping the schema describes."""
    found = []
    pending = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if "properties" in node:
                found.append((node["title"], node))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


def validator_allows(title: str) -> list[str]:
    """The keys the validator lists as allowed when a block of this kind has an unknown one."""
    mapping = {**EXAMPLES[title][0], "unheard_of": 1}
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(as_yaml(with_outcome_o(place(title, mapping))), "agree.yaml")
    messages = [p.message for p in caught.value.problems if "'unheard_of'" in p.message]
    assert len(messages) == 1, [str(p) for p in caught.value.problems]
    match = re.fullmatch(r"unknown key 'unheard_of'.* \(allowed: (.*)\)", messages[0])
    assert match, messages[0]
    return match.group(1).split(", ")


SCHEMA_OBJECTS = schema_objects(scenario_schema())
TABLE = {block.title: block for block in keys.BLOCKS}
BLOCK_KEYS = [(block.title, key) for block in keys.BLOCKS for key in block.names]
SCHEMA_KEYS = [
    (keys.TOP.title if title == ROOT_TITLE else title, key)
    for title, node in SCHEMA_OBJECTS
    for key in node["properties"]
]


@pytest.mark.parametrize("block", keys.BLOCKS, ids=[block.title for block in keys.BLOCKS])
def test_validator_allows_exactly_the_keys_of_the_table(block):
    # A prior's keys are checked against every form of its kind at once.
    if block.title in BINARY_FORMS:
        expected = keys.names_of(keys.BINARY_PRIOR_FORMS)
    elif block.title in CATEGORICAL_FORMS:
        expected = keys.names_of(keys.CATEGORICAL_PRIOR_FORMS)
    elif block.title in EVENT_FORMS:
        expected = keys.names_of(keys.EVENT_PRIOR_FORMS)
    elif block.title in RATE_FORMS:
        expected = keys.names_of(keys.RATE_FORMS)
    else:
        expected = block.names
    assert validator_allows(block.title) == list(expected)


@pytest.mark.parametrize(("title", "key"), BLOCK_KEYS, ids=[f"{t}: {k}" for t, k in BLOCK_KEYS])
def test_every_key_the_validator_allows_passes_the_schema(title, key, validator):
    document = example_document(title, key)
    parse_scenario(as_yaml(document), "agree.yaml")
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(as_json(document))
    ]
    assert errors == []


@pytest.mark.parametrize(("title", "key"), SCHEMA_KEYS, ids=[f"{t}: {k}" for t, k in SCHEMA_KEYS])
def test_every_key_the_schema_lists_passes_the_validator(title, key, validator):
    document = example_document(title, key)
    assert validator.is_valid(as_json(document))
    parse_scenario(as_yaml(document), "agree.yaml")


def test_schema_objects_are_the_blocks_of_the_table():
    seen = set()
    for title, node in SCHEMA_OBJECTS:
        block = TABLE[keys.TOP.title if title == ROOT_TITLE else title]
        assert list(node["properties"]) == list(block.names), title
        assert node["required"] == list(block.required), title
        assert node["additionalProperties"] is False, title
        assert all(node["properties"][k.name]["description"] == k.description for k in block.keys)
        seen.add(block.title)
    assert seen == set(TABLE)


@pytest.mark.parametrize("given", ["a", ["a"]], ids=["one-name", "list"])
def test_given_may_be_one_name_or_a_list_in_both(given, validator):
    document = base_document()
    document["outcomes"]["o"] = {
        "given": given,
        "prior": {"a": {"beta": [2, 1]}, "not a": {"beta": [1, 2]}},
    }
    assert parse_scenario(as_yaml(document)).outcome("o").parents == ("a",)
    assert validator.is_valid(as_json(document))
