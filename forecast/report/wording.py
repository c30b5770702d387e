"""How the report writes numbers and conditions: one place, so tables, charts and tests agree."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

MINUS = "\u2212"
EN_DASH = "\u2013"


def format_probability(p: float) -> str:
    """A probability as a percentage: whole percent, one decimal below 1% and above 99%."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    percent = 100 * float(p)
    if percent == 0 or percent == 100:
        return f"{percent:.0f}%"
    if percent < 0.05:
        return "<0.1%"
    if percent > 99.95:
        return ">99.9%"
    if percent < 1 or percent > 99:
        return f"{percent:.1f}%"
    return f"{percent:.0f}%"


def format_interval(bounds) -> str:
    """A 90% interval such as ``12–51%``."""
    # An interval reaching down to a probability too small to print starts at 0.
    low, high = (format_probability(b) for b in bounds)
    low = "0" if low.startswith("<") else low.removesuffix("%")
    return f"{low}{EN_DASH}{high}"


def format_shift(before: float, after: float) -> str:
    """The change from before to after in percentage points, with a true minus sign."""
    points = round(100 * (float(after) - float(before)))
    if points == 0:
        return "\u00b10 pp"
    sign = "+" if points > 0 else MINUS
    return f"{sign}{abs(points)} pp"


def format_number(x: float, digits: int = 3) -> str:
    """A plain number to a few significant digits (R-hat, concentrations)."""
    if x is None:
        return "n/a"
    return f"{float(x):.{digits}g}"


def format_count(x) -> str:
    """A count with thin-space thousands grouping."""
    if x is None:
        return "n/a"
    return f"{round(float(x)):,}".replace(",", "\u202f")


_NEGATED = re.compile(r"not\s+([A-Za-z_][\w]*)")
_NAME = re.compile(r"([A-Za-z_][\w]*)")
_EQUALS = re.compile(r"([A-Za-z_][\w]*)\s*(?:==|=|is)\s*['\"]?([^'\"]+?)['\"]?")


def describe_condition(key: str, outcomes: Mapping) -> str:
    """A condition-row key such as ``summit_held and not x`` in the outcomes' own labels.

    Parts the report does not recognise are kept as written, so an unfamiliar key is shown
    verbatim rather than guessed at.
    """
    parts = re.split(r"\s+and\s+", str(key).strip())
    described = []
    for part in parts:
        if (match := _NEGATED.fullmatch(part)) and match[1] in outcomes:
            described.append(f"{_label(match[1], outcomes)}: no")
        elif (match := _NAME.fullmatch(part)) and match[1] in outcomes:
            described.append(f"{_label(match[1], outcomes)}: yes")
        elif (match := _EQUALS.fullmatch(part)) and match[1] in outcomes:
            described.append(f"{_label(match[1], outcomes)}: {match[2]}")
        else:
            described.append(part)
    return "; ".join(described)


def describe_value(value) -> str:
    """An outcome's value in a world: yes or no for a binary outcome, else the category."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def _label(name: str, outcomes: Mapping) -> str:
    return str(outcomes[name].get("label") or name)


def evidence_targets(item: Mapping) -> list[tuple[str | None, Mapping, Mapping]]:
    """(category, with, without) for each probability an evidence item bears on.

    Evidence on a binary outcome bears on one probability; on a categorical outcome, `with` and
    `without` map each category to its numbers, and each category is shown on its own.
    """
    with_item, without = item["with"], item["without"]
    if "mean" in with_item:
        return [(None, with_item, without)]
    return [(category, with_item[category], without[category]) for category in with_item]


def outcome_comparisons(outcome: Mapping, outcomes: Mapping) -> list[tuple[str, Mapping, bool]]:
    """(label, {"prior", "posterior"}, emphasis) for each probability an outcome reports:
    overall first, then categories, then condition rows (per category for a categorical one)."""
    result = []
    if "prior" in outcome and "posterior" in outcome:
        result.append(("Overall", outcome, True))
    for category, stats in outcome.get("categories", {}).items():
        result.append((str(category), stats, False))
    for key, row in outcome.get("rows", {}).items():
        condition = describe_condition(key, outcomes)
        if "prior" in row:
            result.append((condition, row, False))
        else:  # categorical with parents: row key -> category -> {"prior", "posterior"}
            result.extend((f"{c} — {condition}", stats, False) for c, stats in row.items())
    return result
