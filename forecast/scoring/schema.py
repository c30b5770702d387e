"""The JSON Schema of resolutions files, for editors; docs/resolutions.schema.json is its output.

Keys, which are required and what each means come from the table in keys.py, which the reader
uses too; this module adds only each value's type, with the scenario schema's building blocks.
What only the run can show (outcome and category names, the scenario's window) is left to
`forecast score`. Regenerate the committed copy with

    python -m forecast.scoring.schema > docs/resolutions.schema.json
"""

from __future__ import annotations

import json

from forecast.scoring import keys
from forecast.spec.keys import Block
from forecast.spec.readers import NAME, RESERVED

# Names follow the scenario format's rule; a benchmark may not take the run's own forecasts' names.
_NAME = {
    "type": "string",
    "pattern": "^" + NAME.pattern.removesuffix(r"\Z") + "$",
    "not": {"enum": sorted(RESERVED)},
}
_NAMES = {key: value for key, value in _NAME.items() if key != "type"}  # for propertyNames
_BENCHMARK_NAMES = {**_NAMES, "not": {"enum": sorted({*RESERVED, *keys.RUN_FORECASTERS})}}
_TEXT = {"type": "string", "pattern": r"\S"}
_DATE = {"type": "string", "format": "date"}
_PROBABILITY = {"type": "number", "minimum": 0, "maximum": 1}


def _object(block: Block, types: dict[str, dict]) -> dict:
    """The closed object schema of `block`: its keys from the table, their values from `types`."""
    if set(types) != set(block.names):
        raise ValueError(f"types for {block.title} do not match its keys in keys.py")
    return {
        "type": "object",
        "title": block.title,
        "description": block.description,
        "properties": {
            key.name: {**types[key.name], "description": key.description} for key in block.keys
        },
        "required": list(block.required),
        "additionalProperties": False,
    }


_RESOLUTION = _object(
    keys.RESOLUTION,
    {
        "value": {"anyOf": [{"type": "boolean"}, _NAME]},
        "date": _DATE,
        "source": _TEXT,
    },
)

_BENCHMARK = {
    "type": "object",
    "description": "A benchmark's forecasts: outcome -> probability of yes, or for a categorical "
    "outcome category -> probability (summing to 1; categories left out count 0).",
    "minProperties": 1,
    "propertyNames": _NAMES,
    "additionalProperties": {
        "anyOf": [
            _PROBABILITY,
            {
                "type": "object",
                "minProperties": 1,
                "propertyNames": _NAMES,
                "additionalProperties": _PROBABILITY,
            },
        ]
    },
}

_TOP = _object(
    keys.TOP,
    {
        "version": {"const": 1},
        "scenario": {"type": "string", "pattern": r"^[^/]+$", "not": {"pattern": r"\.ya?ml$"}},
        "resolved_on": _DATE,
        "resolutions": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": _NAMES,
            # `outcome: value` is short for `outcome: {value: value}`.
            "additionalProperties": {"anyOf": [{"type": "boolean"}, _NAME, _RESOLUTION]},
        },
        "benchmarks": {
            "type": "object",
            "propertyNames": _BENCHMARK_NAMES,
            "additionalProperties": _BENCHMARK,
        },
    },
)


def resolutions_schema() -> dict:
    """The JSON Schema (draft 2020-12) of resolutions file format v1."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://forecast.invalid/schema/resolutions-v1.json",
        **_TOP,
        "title": f"forecast {keys.TOP.title}, format v1",
    }


if __name__ == "__main__":
    print(json.dumps(resolutions_schema(), indent=2, ensure_ascii=False))
