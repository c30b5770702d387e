"""Whatever bytes it is given, the loader returns a Scenario or raises ScenarioError with located
problems: never another exception, never a problem without a place in the file.

Inputs are random bytes, random text, text made of YAML's own punctuation, the worked examples
with one edit of the kinds a person makes (a line deleted, duplicated or swapped, a number
changed, indentation changed, characters typed in), and the examples with values replaced by
values of other types, removed or renamed. `derandomize=True` makes every run try the same
inputs, so a failure in CI is a failure on every machine.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import yaml
from helpers import SCENARIO_FILES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecast.errors import ScenarioError
from forecast.spec import Scenario, parse_scenario

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = {p.name: p.read_bytes() for p in SCENARIO_FILES}
NAMES = sorted(EXAMPLES)

SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}

YAML_PUNCTUATION = list("{}[]:,-#&*!|>'\"%@`?~ \t\n.0123456789eE+") + [
    "\n  ",
    "\n    ",
    ": ",
    "- ",
    "&a ",
    "*a",
    "!!python/name:os.system ",
    "<<: ",
    "version: 1\n",
    "title: t\n",
    "outcomes:\n",
    "prior: ",
    "{beta: [1, 2]}",
    "given: [",
    "categories: [",
    "not ",
    " and ",
    " or ",
    " == ",
    "otherwise",
    "\\u0000",
    "\x00",
    "\x85",
    "\ufeff",
]


# YAML 1.1 also ends a line at a lone CR, NEL and the Unicode line and paragraph separators.
LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def last_line(raw: bytes) -> int:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.count(b"\n") + 1
    return len(LINE_BREAK.findall(text)) + 1


def check(raw: bytes) -> None:
    """The loader's promise for any input."""
    try:
        result = parse_scenario(raw, "fuzz.yaml")
    except ScenarioError as error:
        assert error.problems
        lines = last_line(raw)
        for problem in error.problems:
            assert problem.file == "fuzz.yaml"
            assert 1 <= problem.line <= lines, problem
            assert problem.column >= 1, problem
            assert problem.message
        return
    assert isinstance(result, Scenario)
    assert result.outcomes


@settings(max_examples=300, **SETTINGS)
@given(st.binary(max_size=400))
def test_random_bytes(raw):
    check(raw)


@settings(max_examples=300, **SETTINGS)
@given(st.text(max_size=300))
def test_random_text(text):
    check(text.encode("utf-8", "surrogatepass"))


@settings(max_examples=500, **SETTINGS)
@given(st.lists(st.sampled_from(YAML_PUNCTUATION) | st.text(max_size=3), max_size=60))
def test_yaml_like_text(pieces):
    check("".join(pieces).encode("utf-8", "surrogatepass"))


# -- one edit to a worked example ------------------------------------------------------------------


@st.composite
def edited_example(draw) -> bytes:
    lines = EXAMPLES[draw(st.sampled_from(NAMES))].decode("utf-8").split("\n")
    # The examples are mostly comments; edit the lines the loader reads.
    content = [
        i for i, text in enumerate(lines) if text.strip() and not text.lstrip().startswith("#")
    ]
    index = draw(st.sampled_from(content))
    edit = draw(
        st.sampled_from(
            ["delete", "duplicate", "swap", "number", "indent", "insert", "truncate", "replace"]
        )
    )
    line = lines[index]
    if edit == "delete":
        del lines[index]
    elif edit == "duplicate":
        lines.insert(index, line)
    elif edit == "swap":
        other = draw(st.integers(0, len(lines) - 1))
        lines[index], lines[other] = lines[other], line
    elif edit == "number":
        # Replace one number on a line that has one by another number or by text.
        numbered = [i for i, text in enumerate(lines) if any(c.isdigit() for c in text)]
        index = draw(st.sampled_from(numbered))
        line = lines[index]
        start = next(i for i, c in enumerate(line) if c.isdigit())
        end = start
        while end < len(line) and (line[end].isdigit() or line[end] in ".-"):
            end += 1
        replacement = draw(
            st.one_of(
                st.integers(-(10**30), 10**30).map(str),
                st.floats(allow_nan=True, allow_infinity=True).map(repr),
                st.sampled_from(["-0", "1e3", ".inf", "-.inf", ".nan", "0x1F", "1_000", "yes"]),
                st.text(max_size=5),
            )
        )
        lines[index] = line[:start] + replacement + line[end:]
    elif edit == "indent":
        stripped = line.lstrip(" ")
        lines[index] = " " * draw(st.integers(0, 12)) + stripped
    elif edit == "insert":
        column = draw(st.integers(0, len(line)))
        typed = draw(st.text(min_size=1, max_size=4) | st.sampled_from(YAML_PUNCTUATION))
        lines[index] = line[:column] + typed + line[column:]
    elif edit == "truncate":
        lines[index] = line[: draw(st.integers(0, len(line)))]
        del lines[index + 1 :]
    else:
        # A word replaced by another name from the file, the way a misremembered name looks.
        words = [w for w in " ".join(lines).replace(":", " ").split() if w.isidentifier()]
        target = draw(st.sampled_from(words))
        replacement = draw(st.sampled_from(words))
        lines[index] = line.replace(target, replacement, 1)
    return "\n".join(lines).encode("utf-8", "surrogatepass")


@settings(max_examples=300, **SETTINGS)
@given(edited_example())
def test_edited_examples(raw):
    check(raw)


def test_unedited_examples_pass_the_same_check():
    for raw in EXAMPLES.values():
        assert isinstance(parse_scenario(raw, "fuzz.yaml"), Scenario)


# -- one value of a worked example replaced, removed or renamed ------------------------------------

EXAMPLE_DATA = {name: yaml.safe_load(raw) for name, raw in EXAMPLES.items()}
WORDS = ["summit_held", "deal_form", "collapse", "otherwise", "not", "a and b", "x == y", "beta"]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**20),
    st.floats(),
    st.text(max_size=8),
    st.sampled_from(WORDS),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=5) | st.sampled_from(WORDS), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node, prefix=()):
    if prefix:
        yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


@st.composite
def restructured_example(draw) -> bytes:
    """The type confusions a hand edit can make: a list where a number was, a key renamed."""
    data = copy.deepcopy(EXAMPLE_DATA[draw(st.sampled_from(NAMES))])
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(data))))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        edit = draw(st.sampled_from(["replace", "delete", "rename"]))
        if edit == "replace" or isinstance(parent, list):
            parent[path[-1]] = draw(VALUES)
        elif edit == "delete":
            del parent[path[-1]]
        else:
            parent[draw(SCALARS)] = parent.pop(path[-1])
    return yaml.safe_dump(data, allow_unicode=True).encode("utf-8", "surrogatepass")


@settings(max_examples=150, **SETTINGS)
@given(restructured_example())
def test_restructured_examples(raw):
    check(raw)
