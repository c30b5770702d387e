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
    "An outcome: binary unless it has categories.",
    (
        Key("label", "How reports name the outcome; defaults to the name."),
        Key(
            "description", "What counts as yes, and why the prior is what it is; shown in reports."
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
            "prior",
            "The prior belief: one prior, or with given, one per condition row.",
            required=True,
        ),
    ),
)

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
        Key("weight", "How relevant the cases are, in (0, 1]; default 1."),
        Key("source", "Where the counts come from; shown in the report."),
    ),
)

REFERENCE_CLASS = Block(
    "reference class",
    "Similar past cases, pooled with the outcome's own probability.",
    (
        Key("outcome", "The binary outcome the cases resemble.", required=True),
        Key("when", "The condition row the cases resemble: a row key or otherwise."),
        Key("pooling", "partial (default) or complete."),
        Key("source", "Where the cases come from; shown in the report."),
        Key(
            "cases",
            "The past cases: a non-empty list of {name, successes, trials}.",
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

BINARY_PRIOR_FORMS = (BETA, MEAN_SD, INTERVAL, MEAN_SAMPLE_SIZE)
CATEGORICAL_PRIOR_FORMS = (DIRICHLET, PROBABILITIES)

# Every closed mapping of the format; the schema has one object with this title for each.
BLOCKS = (TOP, SAMPLING, OUTCOME, CATEGORY, EVIDENCE, REFERENCE_CLASS, CASE, VARIANT)
BLOCKS += BINARY_PRIOR_FORMS + CATEGORICAL_PRIOR_FORMS
