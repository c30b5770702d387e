"""The scenario file format: YAML in, validated immutable objects out. Imports no PyMC."""

from __future__ import annotations

from pathlib import Path

from forecast.errors import Problem, ScenarioError
from forecast.spec.scenario import (
    Case,
    Evidence,
    Exposure,
    NamedScenario,
    Outcome,
    Override,
    RateCase,
    ReferenceClass,
    Row,
    Sampling,
    Scenario,
    Timeline,
    WaitingTime,
    WhatIf,
)
from forecast.spec.yamlfile import MAX_BYTES, parse_document

__all__ = [
    "Case",
    "Evidence",
    "Exposure",
    "NamedScenario",
    "Outcome",
    "Override",
    "RateCase",
    "ReferenceClass",
    "Row",
    "Sampling",
    "Scenario",
    "ScenarioError",
    "Timeline",
    "WaitingTime",
    "WhatIf",
    "load_scenario",
    "load_what_if",
    "parse_scenario",
]


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raises ScenarioError listing every problem."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ScenarioError([Problem(name, 1, 1, (), f"cannot read the file: {reason}")]) from None
    return parse_scenario(raw, name)


def parse_scenario(raw: bytes, name: str = "<scenario>") -> Scenario:
    """Validate scenario YAML given as bytes; raises ScenarioError listing every problem."""
    from forecast.spec.validate import validate

    document = parse_document(raw, name)
    return validate(document, raw, raw.decode("utf-8-sig"))


def load_what_if(scenario: Scenario, what_if: WhatIf) -> Scenario:
    """`scenario` with the overrides of `what_if` applied, validated like a file.

    Raises ScenarioError when an override's path is not in the file or the document it gives is
    invalid; each problem names the override that caused it.
    """
    from forecast.spec.overrides import apply_what_if

    # The text is the file as read, so lines and columns are the file's.
    document = parse_document(scenario.text.encode("utf-8"), scenario.source_file)
    return apply_what_if(document, scenario, what_if)
