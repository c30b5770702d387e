"""A JSON Schema of format v1, for editors that check YAML as it is typed.

The keys of every mapping, which are required and what each means come from the table in keys.py,
which the validator reads too; this module adds only the type of each key's value. The schema
catches the shape of a file (keys, types, ranges); what it cannot express (a cycle among `given`,
rows that miss a parent combination, names in expressions) is left to `forecast validate`.
"""

from __future__ import annotations

from forecast.spec import keys
from forecast.spec.overrides import PATH_PATTERN
from forecast.spec.readers import NAME, RESERVED

_NAME = {
    "type": "string",
    "pattern": "^" + NAME.pattern.removesuffix(r"\Z") + "$",
    "not": {"enum": sorted(RESERVED)},
}
_NAMES = {key: value for key, value in _NAME.items() if key != "type"}  # for propertyNames
_TEXT = {"type": "string", "pattern": r"\S"}  # non-empty, and not only spaces
_DATE = {"type": "string", "format": "date"}
_PROBABILITY_OPEN = {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}
_POSITIVE = {"type": "number", "exclusiveMinimum": 0}
_COUNT = {"type": "integer", "minimum": 0}
_TRIALS = {"type": "integer", "minimum": 1}


def _object(block: keys.Block, types: dict[str, dict]) -> dict:
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


def _pair(item: dict) -> dict:
    return {"type": "array", "items": item, "minItems": 2, "maxItems": 2}


def _by_category(value: dict) -> dict:
    return {"type": "object", "propertyNames": _NAMES, "additionalProperties": value}


_BINARY_PRIOR = {
    "description": "A prior belief about a probability.",
    "oneOf": [
        _object(keys.BETA, {"beta": _pair(_POSITIVE)}),
        _object(keys.MEAN_SD, {"mean": _PROBABILITY_OPEN, "sd": _POSITIVE}),
        _object(keys.INTERVAL, {"interval": _pair(_PROBABILITY_OPEN), "mass": _PROBABILITY_OPEN}),
        _object(keys.MEAN_SAMPLE_SIZE, {"mean": _PROBABILITY_OPEN, "sample_size": _POSITIVE}),
    ],
}

_CATEGORICAL_PRIOR = {
    "description": "A prior belief about a categorical outcome's probabilities.",
    "oneOf": [
        _object(
            keys.DIRICHLET,
            {
                "dirichlet": {
                    "oneOf": [
                        {"type": "array", "items": _POSITIVE, "minItems": 2},
                        _by_category(_POSITIVE),
                    ]
                }
            },
        ),
        _object(
            keys.PROBABILITIES,
            {"probabilities": _by_category(_PROBABILITY_OPEN), "sample_size": _POSITIVE},
        ),
    ],
}

_UNIT = {"enum": list(keys.UNITS)}
_DATE_KEY = {"pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}

_RATE_VALUE = {
    "description": "A Gamma prior on a rate, in events per unit.",
    "oneOf": [
        _object(keys.GAMMA, {"gamma": _pair(_POSITIVE)}),
        _object(keys.RATE_MEAN_SD, {"mean": _POSITIVE, "sd": _POSITIVE}),
        _object(keys.RATE_INTERVAL, {"interval": _pair(_POSITIVE), "mass": _PROBABILITY_OPEN}),
    ],
}

_EVENT_PRIOR = {
    "description": "A prior belief about an event's rate.",
    "oneOf": [
        _object(
            keys.RATE,
            {
                "rate": {
                    "anyOf": [
                        _RATE_VALUE,
                        {
                            "type": "array",
                            "minItems": 2,
                            "items": _object(
                                keys.RATE_PERIOD, {"until": _DATE, "rate": _RATE_VALUE}
                            ),
                        },
                    ]
                },
                "per": _UNIT,
            },
        ),
        _object(
            keys.BY_DATES,
            {
                "by": {
                    "type": "object",
                    "minProperties": 2,
                    "propertyNames": _DATE_KEY,
                    "additionalProperties": _PROBABILITY_OPEN,
                },
                "per": _UNIT,
            },
        ),
    ],
}

_ROWS = {
    "type": "object",
    "description": "One prior per condition row: a conjunction fixing every parent, or "
    "`otherwise` for the combinations not listed.",
    "minProperties": 1,
    "additionalProperties": {"anyOf": [_BINARY_PRIOR, _CATEGORICAL_PRIOR, _EVENT_PRIOR]},
}

# A length of time in exactly one unit.
_ONE_UNIT = {"oneOf": [{"required": [unit]} for unit in keys.DURATIONS]}
_EXPOSURE = {
    **_object(keys.EXPOSURE, {unit: _POSITIVE for unit in keys.DURATIONS}),
    **_ONE_UNIT,
}
_WAITING_TIME = {
    **_object(
        keys.WAITING_TIME,
        {**{unit: _POSITIVE for unit in keys.DURATIONS}, "censored": {"type": "boolean"}},
    ),
    **_ONE_UNIT,
}
_WAITING_TIMES = {"type": "array", "items": _WAITING_TIME, "minItems": 1}

_OUTCOME = _object(
    keys.OUTCOME,
    {
        "label": _TEXT,
        "description": _TEXT,
        # One parent may be written on its own, without the brackets of a list.
        "given": {
            "anyOf": [
                _NAME,
                {"type": "array", "items": _NAME, "minItems": 1, "uniqueItems": True},
            ]
        },
        "categories": {
            "type": "array",
            "items": {"anyOf": [_NAME, _object(keys.CATEGORY, {"name": _NAME, "label": _TEXT})]},
            "minItems": 2,
            "uniqueItems": True,
        },
        "kind": {"enum": list(keys.KINDS)},
        "checkpoints": {"type": "array", "items": _DATE, "uniqueItems": True},
        "prior": {"anyOf": [_BINARY_PRIOR, _CATEGORICAL_PRIOR, _EVENT_PRIOR, _ROWS]},
    },
)

_EVIDENCE = _object(
    keys.EVIDENCE,
    {
        "outcome": _NAME,
        "when": _TEXT,
        "successes": _COUNT,
        "trials": _TRIALS,
        "counts": _by_category(_COUNT),
        "events": _COUNT,
        "exposure": _EXPOSURE,
        "waiting_times": _WAITING_TIMES,
        "period": _DATE,
        "weight": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "source": _TEXT,
    },
)

_CASE = _object(keys.CASE, {"name": _TEXT, "successes": _COUNT, "trials": _TRIALS})

_RATE_CASE = _object(
    keys.RATE_CASE,
    {
        "name": _TEXT,
        "events": _COUNT,
        "exposure": _EXPOSURE,
        "waiting_time": _WAITING_TIME,
        "waiting_times": _WAITING_TIMES,
    },
)

_REFERENCE_CLASS = _object(
    keys.REFERENCE_CLASS,
    {
        "outcome": _NAME,
        "when": _TEXT,
        "pooling": {"enum": ["partial", "complete"]},
        "period": _DATE,
        "source": _TEXT,
        "cases": {"type": "array", "items": {"anyOf": [_CASE, _RATE_CASE]}, "minItems": 1},
    },
)

_SAMPLING = _object(
    keys.SAMPLING,
    {
        "draws": {"type": "integer", "minimum": 100},
        "tune": {"type": "integer", "minimum": 1},
        "chains": {"type": "integer", "minimum": 1},
    },
)

_VARIANT = _object(
    keys.VARIANT,
    {
        "description": _TEXT,
        "set": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": PATH_PATTERN},
        },
    },
)

_TOP = _object(
    keys.TOP,
    {
        "version": {"const": 1},
        "title": _TEXT,
        "question": _TEXT,
        "as_of": _DATE,
        "horizon": _DATE,
        "seed": _COUNT,
        "sampling": _SAMPLING,
        "outcomes": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": _NAMES,
            "additionalProperties": _OUTCOME,
        },
        "evidence": {"type": "array", "items": _EVIDENCE},
        "reference_classes": {"type": "array", "items": _REFERENCE_CLASS},
        "scenarios": {
            "type": "object",
            "propertyNames": _NAMES,
            "additionalProperties": _TEXT,
        },
        "variants": {
            "type": "object",
            "propertyNames": _NAMES,
            "additionalProperties": _VARIANT,
        },
    },
)


def scenario_schema() -> dict:
    """The JSON Schema (draft 2020-12) of scenario format v1."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://forecast.invalid/schema/scenario-v1.json",
        **_TOP,
        "title": f"forecast {keys.TOP.title}, format v1",
    }
