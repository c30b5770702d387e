"""A JSON Schema of format v1, for editors that check YAML as it is typed.

The schema catches the shape of a file (keys, types, ranges); what it cannot express (a cycle among
`given`, rows that miss a parent combination, names in expressions) is left to `forecast validate`.
"""

from __future__ import annotations

from forecast.spec.validate import NAME

_NAME_PATTERN = "^" + NAME.pattern.removesuffix(r"\Z") + "$"

_PROBABILITY_OPEN = {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}
_POSITIVE = {"type": "number", "exclusiveMinimum": 0}
_COUNT = {"type": "integer", "minimum": 0}


def _closed(properties: dict, required: list[str], description: str) -> dict:
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


_BINARY_PRIOR = {
    "description": "A prior belief about a probability.",
    "oneOf": [
        _closed(
            {"beta": {"type": "array", "items": _POSITIVE, "minItems": 2, "maxItems": 2}},
            ["beta"],
            "Beta(a, b).",
        ),
        _closed(
            {"mean": _PROBABILITY_OPEN, "sd": _POSITIVE},
            ["mean", "sd"],
            "The Beta with this mean and standard deviation.",
        ),
        _closed(
            {
                "interval": {
                    "type": "array",
                    "items": _PROBABILITY_OPEN,
                    "minItems": 2,
                    "maxItems": 2,
                },
                "mass": _PROBABILITY_OPEN,
            },
            ["interval"],
            "The Beta whose equal-tailed central interval of probability `mass` (default 0.9) "
            "is [lo, hi].",
        ),
        _closed(
            {"mean": _PROBABILITY_OPEN, "sample_size": _POSITIVE},
            ["mean", "sample_size"],
            "Beta(mean*n, (1-mean)*n): a belief worth n observations.",
        ),
    ],
}

_CATEGORICAL_PRIOR = {
    "description": "A prior belief about a categorical outcome's probabilities.",
    "oneOf": [
        _closed(
            {
                "dirichlet": {
                    "oneOf": [
                        {"type": "array", "items": _POSITIVE, "minItems": 2},
                        {
                            "type": "object",
                            "propertyNames": {"pattern": _NAME_PATTERN},
                            "additionalProperties": _POSITIVE,
                        },
                    ]
                }
            },
            ["dirichlet"],
            "Dirichlet concentrations, in category order or by category.",
        ),
        _closed(
            {
                "probabilities": {
                    "type": "object",
                    "propertyNames": {"pattern": _NAME_PATTERN},
                    "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1},
                },
                "sample_size": _POSITIVE,
            },
            ["probabilities", "sample_size"],
            "Dirichlet(p*n): these probabilities, worth n observations.",
        ),
    ],
}

_ROWS = {
    "type": "object",
    "description": "One prior per condition row: a conjunction fixing every parent, or "
    "`otherwise` for the combinations not listed.",
    "minProperties": 1,
    "additionalProperties": {"anyOf": [_BINARY_PRIOR, _CATEGORICAL_PRIOR]},
}

_OUTCOME = _closed(
    {
        "label": {"type": "string", "description": "How reports name the outcome."},
        "description": {"type": "string", "description": "Why this prior; shown in reports."},
        "given": {
            "type": "array",
            "items": {"type": "string", "pattern": _NAME_PATTERN},
            "minItems": 1,
            "uniqueItems": True,
            "description": "Parents: the outcomes this one depends on.",
        },
        "categories": {
            "type": "array",
            "items": {"type": "string", "pattern": _NAME_PATTERN},
            "minItems": 2,
            "uniqueItems": True,
            "description": "Makes the outcome categorical: exactly one category happens.",
        },
        "prior": {"anyOf": [_BINARY_PRIOR, _CATEGORICAL_PRIOR, _ROWS]},
    },
    ["prior"],
    "An outcome: binary unless it has categories.",
)

_EVIDENCE = _closed(
    {
        "outcome": {"type": "string", "pattern": _NAME_PATTERN},
        "when": {"type": "string", "description": "The condition row the cases share."},
        "successes": _COUNT,
        "trials": {"type": "integer", "minimum": 1},
        "counts": {
            "type": "object",
            "propertyNames": {"pattern": _NAME_PATTERN},
            "additionalProperties": _COUNT,
        },
        "weight": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "source": {"type": "string"},
    },
    ["outcome"],
    "Observed counts that update an outcome's probability.",
)

_CASE = _closed(
    {"name": {"type": "string"}, "successes": _COUNT, "trials": {"type": "integer", "minimum": 1}},
    ["name", "successes", "trials"],
    "One past case of the reference class.",
)

_REFERENCE_CLASS = _closed(
    {
        "outcome": {"type": "string", "pattern": _NAME_PATTERN},
        "when": {"type": "string"},
        "pooling": {"enum": ["partial", "complete"]},
        "source": {"type": "string"},
        "cases": {"type": "array", "items": _CASE, "minItems": 1},
    },
    ["outcome", "cases"],
    "Similar past cases, pooled with the outcome's own probability.",
)


def scenario_schema() -> dict:
    """The JSON Schema (draft 2020-12) of scenario format v1."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://forecast.invalid/schema/scenario-v1.json",
        "title": "forecast scenario file, format v1",
        "type": "object",
        "additionalProperties": False,
        "required": ["version", "title", "outcomes"],
        "properties": {
            "version": {"const": 1},
            "title": {"type": "string", "minLength": 1},
            "question": {"type": "string"},
            "as_of": {"type": "string", "format": "date"},
            "horizon": {"type": "string", "format": "date"},
            "seed": {"type": "integer", "minimum": 0},
            "sampling": _closed(
                {
                    "draws": {"type": "integer", "minimum": 100},
                    "tune": {"type": "integer", "minimum": 1},
                    "chains": {"type": "integer", "minimum": 1},
                },
                [],
                "Sampler settings; the command line's options win.",
            ),
            "outcomes": {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"pattern": _NAME_PATTERN},
                "additionalProperties": _OUTCOME,
            },
            "evidence": {"type": "array", "items": _EVIDENCE},
            "reference_classes": {"type": "array", "items": _REFERENCE_CLASS},
            "scenarios": {
                "type": "object",
                "propertyNames": {"pattern": _NAME_PATTERN},
                "additionalProperties": {"type": "string", "minLength": 1},
            },
        },
    }
