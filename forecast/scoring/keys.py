"""The keys of a resolutions file: one table that both the reader and the JSON Schema read.

The same `Block` and `Key` as the scenario format's table (forecast/spec/keys.py): a key added
here is accepted by `forecast score` and listed in docs/resolutions.schema.json at once.
"""

from __future__ import annotations

from forecast.spec.keys import Block, Key

# Names a benchmark cannot take: the run's own two forecasts are called so in score.json.
RUN_FORECASTERS = ("posterior", "prior")

TOP = Block(
    "resolutions file",
    "What happened to a scenario's outcomes, and other forecasts of them to compare with.",
    (
        Key("version", "The format's version; 1 is the only one.", required=True),
        Key(
            "scenario",
            "The stem of the scenario file these resolve (singapore-summit-2018 for "
            "scenarios/singapore-summit-2018.yaml), as its run's summary.json records it.",
            required=True,
        ),
        Key(
            "resolved_on",
            "ISO date: what was known on this day; no resolution's date may be later.",
            required=True,
        ),
        Key(
            "resolutions",
            "What happened, by outcome name. Outcomes left out are unresolved and not scored.",
            required=True,
        ),
        Key(
            "benchmarks",
            "Other forecasts of the same outcomes (betting odds, a panel), by benchmark name: "
            "outcome -> probability of yes, or for a categorical outcome category -> probability.",
        ),
    ),
)

RESOLUTION = Block(
    "resolution",
    "What happened to one outcome. `outcome: value` alone is short for `{value: value}`.",
    (
        Key(
            "value",
            "true or false for a yes/no outcome; the category's name for a categorical one.",
            required=True,
        ),
        Key(
            "date",
            "ISO date: when it happened or became known; inside the scenario's as_of to horizon.",
        ),
        Key("source", "Where a reader can check the resolution, and why it reads as it does."),
    ),
)

BLOCKS = (TOP, RESOLUTION)
