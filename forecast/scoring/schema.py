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
from forecast.spec.readers import RESERVED
from forecast.spec.schema import _DATE, _NAME, _NAMES, _TEXT, _object

# A benchmark may not take the run's own forecasts' names.
_BENCHMARK_NAMES = {**_NAMES, "not": {"enum": sorted({*RESERVED, *keys.RUN_FORECASTERS})}}
_PROBABILITY = {"type": "number", "minimum": 0, "maximum": 1}


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
