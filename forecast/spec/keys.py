"""The keys of the format: one table that both the validator and the JSON Schema read.

Each `Block` is one kind of mapping in a scenario file (the top level, an outcome, an evidence
item, one form of a prior, ...) with its keys in the order messages list them, which of them are
required, and a short description that the schema shows in editors. A key added here is allowed by
`forecast validate` and listed by `forecast schema` at once; schema.py only adds each key's type.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    name: str
    description: str
    required: bool = False


@dataclass(frozen=True)
class Block:
    """The keys one kind of mapping may have."""

    title: str  # what the mapping is, in a word or two; the schema's title for it
    description: str
    keys: tuple[Key, ...]
    written: str = ""  # for a prior form: how it is written, in messages

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(key.name for key in self.keys)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(key.name for key in self.keys if key.required)

    def matches(self, written: set) -> bool:
        """Whether a mapping with exactly these keys is this block (for choosing a prior form)."""
        return set(self.required) <= written <= set(self.names)


def names_of(blocks: tuple[Block, ...]) -> tuple[str, ...]:
    """Every key of these blocks, each once, in the order the blocks list them."""
    return tuple(dict.fromkeys(name for block in blocks for name in block.names))


def forms_in_words(blocks: tuple[Block, ...]) -> str:
    """'A, B or C' from the blocks' written forms."""
    written = [block.written for block in blocks]
    return ", ".join(written[:-1]) + " or " + written[-1]


TOP = Block(
    "scenario file",
    "A forecasting question as a small Bayesian network of outcomes.",
    (
        Key("version", "The format's version; 1 is the only one.", required=True),
        Key("title", "The report's heading.", required=True),
        Key("question", "The question the file answers, shown in the report."),
        Key("as_of", "ISO date: when the forecast is made."),
        Key("horizon", "ISO date: when the outcomes resolve; not before as_of."),
        Key("seed", "Random seed for repeatable runs; --seed on the command line wins."),
        Key("sampling", "Sampler settings; the command line's options win."),
        Key("outcomes", "The outcomes, by name.", required=True),
        Key("evidence", "Observed counts that update outcomes' probabilities."),
        Key("reference_classes", "Groups of similar past cases, pooled with a probability."),
        Key("scenarios", "Named expressions over outcomes whose probability the report gives."),
        Key(
            "variants",
            "Named what-ifs: the file with some values replaced; `forecast run` runs each beside "
            "the base and compares them.",
        ),
    ),
)

SAMPLING = Block(
    "sampling",
    "Sampler settings; the command line's options win.",
    (
        Key("draws", "Posterior draws per chain, at least 100 (default 1000)."),
        Key("tune", "Tuning steps per chain, discarded (default 1000)."),
        Key("chains", "Independent chains (default 4)."),
    ),
)

OUTCOME = Block(
    "outcome",
    "An outcome: binary unless it has categories or is an event (kind: event).",
    (
        Key("label", "How reports name the outcome; defaults to the name."),
        Key(
            "description", "What counts as yes, and why the prior is what it is; shown in reports."
        ),
        Key(
            "kind",
            "binary, categorical or event (it happens at some time between as_of and the "
            "horizon, at a rate); without it, categorical if it has categories, else binary.",
        ),
        Key(
            "given",
            "Parents: the outcomes this one depends on, as a list (or one name on its own).",
        ),
        Key(
            "categories",
            "Makes the outcome categorical: exactly one category happens. Each is a name, or "
            "{name, label} to give it the label reports show.",
        ),
        Key(
            "checkpoints",
            "For an event: the dates to report its probability by, increasing, after as_of and "
            "at most the horizon (which is always reported).",
        ),
        Key(
            "prior",
            "The prior belief: one prior, or with given, one per condition row.",
            required=True,
        ),
    ),
)

KINDS = ("binary", "categorical", "event")
# The units an event's rate may be stated per, and the keys of a duration in each.
UNITS = ("day", "week", "month", "year")
DURATIONS = ("years", "months", "weeks", "days")

CATEGORY = Block(
    "category",
    "A category with the label reports show for it.",
    (
        Key(
            "name",
            "The category's name, as row keys, counts and expressions write it.",
            required=True,
        ),
        Key("label", "How reports show the category.", required=True),
    ),
)

EVIDENCE = Block(
    "evidence item",
    "Observed counts that update an outcome's probability.",
    (
        Key("outcome", "The outcome the counts are about.", required=True),
        Key("when", "The condition row the cases share: a row key or otherwise."),
        Key("successes", "For a binary outcome: how many cases had the outcome."),
        Key("trials", "For a binary outcome: how many cases there were."),
        Key("counts", "For a categorical outcome: cases per category; those left out count 0."),
        Key("events", "For an event: how many events were seen in the exposure."),
        Key("exposure", "For an event: how long the events were watched for, {years: T}."),
        Key(
            "waiting_times",
            "For an event: how long comparable processes took, each {years: T} (or months, "
            "weeks, days), with censored: true when one had not ended when last seen.",
        ),
        Key(
            "period",
            "For an event whose rate changes: the period the data bear on, by its until date "
            "(the horizon for the last).",
        ),
        Key("weight", "How relevant the cases are, in (0, 1]; default 1."),
        Key("source", "Where the counts come from; shown in the report."),
    ),
)

REFERENCE_CLASS = Block(
    "reference class",
    "Similar past cases, pooled with the outcome's own probability.",
    (
        Key("outcome", "The binary or event outcome the cases resemble.", required=True),
        Key("when", "The condition row the cases resemble: a row key or otherwise."),
        Key("pooling", "partial (default) or complete."),
        Key(
            "period",
            "For an event whose rate changes: the period the cases resemble, by its until date "
            "(the horizon for the last).",
        ),
        Key("source", "Where the cases come from; shown in the report."),
        Key(
            "cases",
            "The past cases: a non-empty list of {name, successes, trials}, or for an event of "
            "{name, events, exposure} or {name, waiting_time}.",
            required=True,
        ),
    ),
)

CASE = Block(
    "case",
    "One past case of the reference class.",
    (
        Key("name", "The case, as the report names it; unique in its class.", required=True),
        Key("successes", "How many of its trials had the outcome.", required=True),
        Key("trials", "How many trials the case had.", required=True),
    ),
)

RATE_CASE = Block(
    "event case",
    "One past case of a reference class on an event's rate.",
    (
        Key("name", "The case, as the report names it; unique in its class.", required=True),
        Key("events", "How many events the case had in its exposure."),
        Key("exposure", "How long the case was watched for, {years: T} (or months, weeks, days)."),
        Key("waiting_time", "How long the case took to its event, {years: T, censored: false}."),
        Key("waiting_times", "Several waiting times of the case, a list of {years: T, ...}."),
    ),
)

EXPOSURE = Block(
    "exposure",
    "A length of time, in exactly one unit.",
    tuple(Key(unit, f"The time in {unit}, greater than 0.") for unit in DURATIONS),
)

WAITING_TIME = Block(
    "waiting time",
    "How long one comparable process took to its event: one duration, and whether it was censored.",
    (
        *EXPOSURE.keys,
        Key(
            "censored", "true when the process had not had its event when last seen; default false."
        ),
    ),
)

VARIANT = Block(
    "variant",
    "A what-if: this file with the values at some key paths replaced.",
    (
        Key("description", "What the variant supposes, in a line; shown in the reports."),
        Key(
            "set",
            "Key path -> value, as `forecast run --set PATH=VALUE` takes them: dotted keys and "
            "list indices from 0 in brackets, such as evidence[0].weight.",
            required=True,
        ),
    ),
)

# -- the forms of a prior: which one a mapping is follows from its keys --------------------------

BETA = Block(
    "beta",
    "Beta(a, b).",
    (Key("beta", "[a, b], both greater than 0.", required=True),),
    written="{beta: [a, b]}",
)

MEAN_SD = Block(
    "mean and sd",
    "The Beta with this mean and standard deviation.",
    (
        Key("mean", "The prior mean of the probability.", required=True),
        Key("sd", "The prior standard deviation, below sqrt(mean*(1-mean)).", required=True),
    ),
    written="{mean: m, sd: s}",
)

INTERVAL = Block(
    "interval",
    "The Beta whose equal-tailed central interval of probability `mass` (default 0.9) is [lo, hi].",
    (
        Key("interval", "[lo, hi], with 0 < lo < hi < 1.", required=True),
        Key("mass", "The probability between lo and hi; default 0.9."),
    ),
    written="{interval: [lo, hi], mass: 0.9}",
)

MEAN_SAMPLE_SIZE = Block(
    "mean and sample size",
    "Beta(mean*n, (1-mean)*n): a belief worth n observations.",
    (
        Key("mean", "The prior mean of the probability.", required=True),
        Key("sample_size", "How many observations the belief is worth.", required=True),
    ),
    written="{mean: m, sample_size: n}",
)

DIRICHLET = Block(
    "dirichlet",
    "Dirichlet concentrations, in category order or by category.",
    (Key("dirichlet", "One concentration per category, each greater than 0.", required=True),),
    written="{dirichlet: [...]}",
)

PROBABILITIES = Block(
    "probabilities",
    "Dirichlet(p*n): these probabilities, worth n observations.",
    (
        Key("probabilities", "A probability per category, summing to 1.", required=True),
        Key("sample_size", "How many observations the belief is worth.", required=True),
    ),
    written="{probabilities: {category: p, ...}, sample_size: n}",
)

# -- an event's prior: a rate per unit of time, or probabilities by dates -------------------------

RATE = Block(
    "rate",
    "A Gamma prior on the event's rate, in events per `per`; a list of periods for a rate that "
    "changes at given dates.",
    (
        Key(
            "rate",
            "{gamma: [shape, rate]}, {mean: m, sd: s} or {interval: [lo, hi], mass: 0.9}; or a "
            "list of {until: DATE, rate: ...}, the last without until.",
            required=True,
        ),
        Key("per", "The unit the rate counts events per: day, week, month or year.", required=True),
    ),
    written="{rate: {mean: m, sd: s}, per: year}",
)

BY_DATES = Block(
    "probabilities by dates",
    "The Gamma prior on a constant rate that gives these probabilities of the event by these "
    "dates (at least two).",
    (
        Key(
            "by",
            "DATE: probability, for two dates or more after as_of and at most the horizon; "
            "the probabilities increase with the dates.",
            required=True,
        ),
        Key("per", "The unit reports show the rate in: day, week, month or year; default year."),
    ),
    written="{by: {DATE: p, DATE: p}}",
)

RATE_PERIOD = Block(
    "rate period",
    "The rate until a date (from the previous one, or as_of); the last period has no until "
    "and runs to the horizon.",
    (
        Key("until", "The date this period's rate ends, after the previous one's."),
        Key("rate", "The rate in this period, in any of the three forms.", required=True),
    ),
)

GAMMA = Block(
    "gamma",
    "Gamma(shape, rate) on the rate; its mean is shape/rate events per unit.",
    (Key("gamma", "[shape, rate], both greater than 0.", required=True),),
    written="{gamma: [shape, rate]}",
)

RATE_MEAN_SD = Block(
    "rate mean and sd",
    "The Gamma with this mean and standard deviation: shape (m/s)^2, rate m/s^2.",
    (
        Key("mean", "The prior mean of the rate, in events per unit.", required=True),
        Key("sd", "The prior standard deviation of the rate.", required=True),
    ),
    written="{mean: m, sd: s}",
)

RATE_INTERVAL = Block(
    "rate interval",
    "The Gamma whose equal-tailed central interval of probability `mass` (default 0.9) is "
    "[lo, hi].",
    (
        Key("interval", "[lo, hi] events per unit, with 0 < lo < hi.", required=True),
        Key("mass", "The probability between lo and hi; default 0.9."),
    ),
    written="{interval: [lo, hi], mass: 0.9}",
)

BINARY_PRIOR_FORMS = (BETA, MEAN_SD, INTERVAL, MEAN_SAMPLE_SIZE)
CATEGORICAL_PRIOR_FORMS = (DIRICHLET, PROBABILITIES)
EVENT_PRIOR_FORMS = (RATE, BY_DATES)
RATE_FORMS = (GAMMA, RATE_MEAN_SD, RATE_INTERVAL)

# Every closed mapping of the format; the schema has one object with this title for each.
BLOCKS = (TOP, SAMPLING, OUTCOME, CATEGORY, EVIDENCE, REFERENCE_CLASS, CASE, RATE_CASE)
BLOCKS += (EXPOSURE, WAITING_TIME, VARIANT)
BLOCKS += BINARY_PRIOR_FORMS + CATEGORICAL_PRIOR_FORMS + EVENT_PRIOR_FORMS + (RATE_PERIOD,)
BLOCKS += RATE_FORMS
