"""How the report writes numbers, values and conditions: one place, so tables, charts and tests
agree. Everything here reads summary.json (format 2) and writes the analyst's labels."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

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


def format_difference(difference: float) -> str:
    """A difference of two probabilities in percentage points, to one decimal: the noise test
    of a comparison tells apart differences smaller than a whole point."""
    points = round(100 * float(difference), 1)
    if points == 0:
        return "\u00b10.0 pp"
    sign = "+" if points > 0 else MINUS
    return f"{sign}{abs(points):.1f} pp"


def format_rate(rate: float) -> str:
    """A rate of events per unit of time: two decimals, or two significant digits where two
    decimals would round it away ('0.50', '0.012'); a large one whole."""
    if rate is None or (isinstance(rate, float) and math.isnan(rate)):
        return "n/a"
    return f"{float(rate):.{_rate_decimals(float(rate))}f}"


def format_rates(rates) -> list[str]:
    """Rates to be read side by side, all with the decimals the smallest needs, or one more
    where that writes them exactly (a rate of 0.25 halved is 0.125, not 0.12)."""
    rates = [float(rate) for rate in rates]
    decimals = max(_rate_decimals(rate) for rate in rates)
    if not _exact(rates, decimals) and _exact(rates, decimals + 1):
        decimals += 1
    return [f"{rate:.{decimals}f}" for rate in rates]


def _exact(values, decimals: int) -> bool:
    return all(abs(round(value, decimals) - value) < 1e-9 for value in values)


def _rate_decimals(rate: float) -> int:
    if rate == 0 or abs(rate) >= 0.1:
        return 0 if abs(rate) >= 100 else 2
    return min(6, 1 - math.floor(math.log10(abs(rate))))


def format_rate_interval(bounds) -> str:
    """A 90% interval of a rate such as ``0.20–1.80``: both ends to the decimals the upper one
    needs, a lower end that rounds away written 0."""
    low, high = (float(bound) for bound in bounds)
    decimals = _rate_decimals(high)
    low_text = f"{low:.{decimals}f}"
    if float(low_text) == 0:
        low_text = "0"
    return f"{low_text}{EN_DASH}{high:.{decimals}f}"


# The unit of an event's rate, as summary.json names it (`per`), in words.
PER_WORDS = {"day": "per day", "week": "per week", "month": "per month", "year": "per year"}


def describe_per(per: str) -> str:
    """The unit of a rate in words: 'per year'."""
    return PER_WORDS.get(per, f"per {per}")


def describe_date(iso: str) -> str:
    """An ISO date as '31 Dec 2018'; anything else as given."""
    import datetime as dt

    try:
        date = dt.date.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    return f"{date.day} {date:%b %Y}"


def describe_years(years: float) -> str:
    """A duration in years: '1 year', '2.5 years'."""
    return f"{format_number(years)} {'year' if float(years) == 1 else 'years'}"


def describe_record(events: int, years: float) -> str:
    """Events seen in an exposure: '6 events in 2 years', '1 event in 0.5 years'."""
    noun = "event" if events == 1 else "events"
    return f"{format_count(events)} {noun} in {describe_years(years)}"


def format_value(value) -> str:
    """A value of a scenario file as YAML writes it on one line: `{beta: [4, 6]}`, `0.8`."""
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6)
    return text.strip().removesuffix("...").strip()


def format_number(x: float, digits: int = 3) -> str:
    """A plain number to a few significant digits (R-hat, concentrations); one too large for
    them is written whole ('7 000', never '7e+03')."""
    if x is None:
        return "n/a"
    if abs(float(x)) >= 10**digits:
        return format_count(x)
    return f"{float(x):.{digits}g}"


def format_count(x) -> str:
    """A count with thin-space thousands grouping."""
    if x is None:
        return "n/a"
    return f"{round(float(x)):,}".replace(",", "\u202f")


# An "otherwise" row is described by what it covers only while that stays short enough to read
# as a table row or a chart label; longer, it is just "Otherwise".
OTHERWISE_DETAIL_LIMIT = 100


def rank_scenarios(scenarios: Mapping) -> list[tuple[str, Mapping]]:
    """(name, scenario) pairs, most probable first; ties keep the file's order."""
    return sorted(scenarios.items(), key=lambda item: -item[1]["posterior"]["mean"])


def outcome_label(name: str, outcomes: Mapping) -> str:
    """An outcome's label."""
    return outcomes[name]["label"]


def category_label(outcome: str, category: str, outcomes: Mapping) -> str:
    """A category's label (its name where the file gives none)."""
    return outcomes[outcome]["categories"][category]["label"]


def describe_value(outcome: str, value, outcomes: Mapping) -> str:
    """An outcome's value: yes or no for a binary outcome, the category's label otherwise."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return category_label(outcome, value, outcomes)


def describe_given(given: Mapping, outcomes: Mapping) -> str:
    """A condition {parent: value} in labels: 'Summit held: yes; Deal form: Talks drag on'."""
    return "; ".join(
        f"{outcome_label(parent, outcomes)}: {describe_value(parent, value, outcomes)}"
        for parent, value in given.items()
    )


def describe_row(row: Mapping, outcome: str, outcomes: Mapping) -> str:
    """A condition row of an outcome in labels; the otherwise row as 'Otherwise', followed by
    what it covers when that is short: 'Otherwise (Summit held: no)'."""
    if row["given"] is not None:
        return describe_given(row["given"], outcomes)
    covered = _otherwise_covers(row, outcome, outcomes)
    return f"Otherwise ({covered})" if covered else "Otherwise"


def _otherwise_covers(row: Mapping, outcome: str, outcomes: Mapping) -> str | None:
    covered = describe_covered(row["combinations"], outcomes[outcome]["given"], outcomes)
    return covered if covered and len(covered) <= OTHERWISE_DETAIL_LIMIT else None


def describe_covered(combinations, parents, outcomes: Mapping) -> str | None:
    """Parent combinations in labels, when they are every combination of some parents' values
    with the others held fixed (None otherwise): fixed parents are named with their value,
    parents free to take any value are left out, and at most one parent may take a few of its
    values ('Deal form: Collapse or Talks drag on')."""
    if not combinations:
        return None
    parts, varying = [], 0
    size = 1
    for parent in parents:
        values = list(dict.fromkeys(combination[parent] for combination in combinations))
        size *= len(values)
        if len(values) == 1:
            parts.append(describe_given({parent: values[0]}, outcomes))
        elif len(values) < _value_count(parent, outcomes):
            varying += 1
            texts = [describe_value(parent, value, outcomes) for value in values]
            listed = ", ".join(texts[:-1]) + " or " + texts[-1]
            parts.append(f"{outcome_label(parent, outcomes)}: {listed}")
    # Only a full product of the values seen is described by its parts.
    if varying > 1 or size != len(combinations) or not parts:
        return None
    return "; ".join(parts)


def _value_count(outcome: str, outcomes: Mapping) -> int:
    return 2 if outcomes[outcome]["kind"] != "categorical" else len(outcomes[outcome]["categories"])


def describe_when(item: Mapping, outcomes: Mapping) -> str:
    """The condition row an evidence item or reference class bears on, in labels, to follow
    "given"; "" when it bears on the outcome's overall probability. The otherwise row is
    described by what it covers when that is short, else as "otherwise". The row is the one the
    engine resolved (`row`), not `when` as written, which may name one combination that the
    otherwise row covers."""
    if item["row"] is None:
        return ""
    if item["given"] is not None:
        return describe_given(item["given"], outcomes)
    (row,) = (row for row in outcomes[item["outcome"]]["rows"] if row["key"] == item["row"])
    return _otherwise_covers(row, item["outcome"], outcomes) or "otherwise"


def describe_data(item: Mapping, outcomes: Mapping) -> str:
    """An evidence item's data in words: 'Data: 0 of 3', 'Counts: 2 Talks drag on, 1 Collapse'
    with categories by label; on an event's rate 'Data: 6 events in 2 years', or its waiting
    times one by one, 'Waiting times: 1.5 years; 2 years, still waiting (censored)'."""
    data = item["data"]
    if data.get("waiting_times"):
        return "Waiting times: " + "; ".join(
            describe_years(wait["years"])
            + (", still waiting (censored)" if wait["censored"] else "")
            for wait in data["waiting_times"]
        )
    if "events" in data:
        return f"Data: {describe_record(data['events'], data['years'])}"
    if "counts" in data:
        return "Counts: " + ", ".join(
            f"{format_count(n)} {category_label(item['outcome'], category, outcomes)}"
            for category, n in data["counts"].items()
        )
    return f"Data: {format_count(data['successes'])} of {format_count(data['trials'])}"


def parameter_label(name: str) -> str:
    """A parameter of posterior.nc as a reader sees it: an outcome's name (and its row and
    category) as written, a reference class's part in words ('reference class 1: mean')."""
    prefix, _, rest = name.partition(".")
    if prefix == "reference_class" and rest:
        index, _, part = rest.partition(".")
        if index.isdigit() and part:
            return f"reference class {int(index) + 1}: {part.replace('_', ' ')}"
    return name


def evidence_targets(item: Mapping, outcomes: Mapping) -> list[tuple[str | None, Mapping, Mapping]]:
    """(category label, with, without) for each probability an evidence item bears on.

    Evidence on a binary outcome bears on one probability (category None); on a categorical
    outcome, `with` and `without` map each category to its numbers, shown one by one.
    """
    outcome = item["outcome"]
    with_item, without = item["with"], item["without"]
    if outcomes[outcome]["kind"] != "categorical":
        return [(None, with_item, without)]
    return [
        (category_label(outcome, category, outcomes), with_item[category], without[category])
        for category in outcomes[outcome]["categories"]
    ]


class Comparison(NamedTuple):
    """One probability an outcome reports, prior beside posterior, as a table row or chart row."""

    label: str
    stats: Mapping  # {"prior": STATS, "posterior": STATS, ...}
    emphasis: bool = False
    section: str | None = None  # the heading it is shown under, if any


def outcome_comparisons(name: str, outcomes: Mapping) -> list[Comparison]:
    """Each probability an outcome reports: for a binary outcome the overall one, then one per
    condition row; for a categorical one each category, under the heading "Overall" when the
    outcome has condition rows, then each category again under each row's condition."""
    outcome = outcomes[name]
    rows = outcome["rows"] if outcome["given"] else []
    if outcome["kind"] != "categorical":
        result = [Comparison("Overall", outcome, emphasis=True)]
        result.extend(Comparison(describe_row(row, name, outcomes), row) for row in rows)
        return result
    sections = [("Overall" if rows else None, outcome["categories"])]
    sections.extend((describe_row(row, name, outcomes), row["categories"]) for row in rows)
    return [
        Comparison(category_label(name, category, outcomes), stats, section=section)
        for section, categories in sections
        for category, stats in categories.items()
    ]


# -- which belief drives the answer (summary["sensitivity"]) -------------------------------------

# What the power-scaling diagnoses of summary.json mean, in words a decision maker reads.
DIAGNOSES = {
    "prior-data conflict": "the evidence disagrees with the prior",
    "weak likelihood": "the answer rests on the prior; the evidence says little",
}


def describe_diagnosis(result: Mapping, threshold: float) -> str:
    """A power-scaling result ({"prior", "likelihood", "diagnosis"}) in words. Without a
    diagnosis, whether the evidence moves the quantity (its sensitivity at the threshold or
    above) or nothing much does; a diagnosis this version has no words for, as written."""
    diagnosis = result["diagnosis"]
    if diagnosis is not None:
        return DIAGNOSES.get(diagnosis, diagnosis)
    if result["likelihood"] >= threshold:
        return "the evidence drives it"
    return "neither moves it much"


def _input_places(outcomes: Mapping, evidence_count: int) -> dict[str, tuple]:
    """Every input the sensitivity analysis can move, by its key path as the engine writes it:
    ("prior", outcome, row or None), ("rate", outcome, row or None, period or None) or
    ("evidence", index)."""
    # Imported here: `import forecast.report` stays cheap for commands that only list runs.
    from forecast.spec.overrides import format_path

    places: dict[str, tuple] = {}
    for name, outcome in outcomes.items():
        rows = outcome["rows"] if outcome["given"] else [None]
        for row in rows:
            path = ("outcomes", name, "prior", *((row["key"],) if row is not None else ()))
            places[format_path(path)] = ("prior", name, row)
            if outcome["kind"] != "event":
                continue
            rate = (row if row is not None else outcome)["rate"] or {}
            places[format_path((*path, "rate"))] = ("rate", name, row, None)
            for period, dates in enumerate(rate.get("periods", [])):
                places[format_path((*path, "rate", period))] = ("rate", name, row, dates)
    for index in range(evidence_count):
        places[format_path(("evidence", index, "weight"))] = ("evidence", index)
    return places


def describe_inputs(tornado, outcomes: Mapping, evidence) -> list[str]:
    """Each input of the tornado as the analyst would name it, in its order: a prior row as
    'Prior: North Korea agrees to shut down, given Summit held: no' (a category's label after
    the outcome's), an evidence item by its number in the evidence table and its source. An
    input the summary has no row or item for keeps its key path."""
    places = _input_places(outcomes, len(evidence))
    return [
        _describe_input(entry, places.get(entry["input"]), outcomes, evidence) for entry in tornado
    ]


def _describe_input(entry: Mapping, place, outcomes: Mapping, evidence) -> str:
    if place is None:
        return entry["input"]
    if place[0] == "evidence":
        index = place[1]
        item = evidence[index]
        if item["source"]:
            return f"Evidence {index + 1}: {item['source']}"
        return f"Evidence {index + 1}, on {outcome_label(item['outcome'], outcomes)}"
    name, row = place[1], place[2]
    text = f"{'Rate' if place[0] == 'rate' else 'Prior'}: {outcome_label(name, outcomes)}"
    if entry.get("category") is not None:
        text += f": {category_label(name, entry['category'], outcomes)}"
    if row is not None:
        condition = describe_when(
            {"outcome": name, "row": row["key"], "given": row["given"]}, outcomes
        )
        text += ", otherwise" if condition == "otherwise" else f", given {condition}"
    if place[0] == "rate" and place[3] is not None:
        text += f", {describe_period(place[3])}"
    return text


def describe_period(period: Mapping) -> str:
    """A period of a changing rate by its dates: 'from 20 May 2018 to 1 Jan 2019'."""
    return f"from {describe_date(period['from'])} to {describe_date(period['until'])}"


def describe_period_heading(period: Mapping) -> str:
    """A period of a changing rate as a row's label: 'From 20 May 2018 to 1 Jan 2019'."""
    text = describe_period(period)
    return text[0].upper() + text[1:]


def input_unit(entry: Mapping, outcomes: Mapping) -> str | None:
    """The unit of a tornado input on an event's rate (its outcome's `per`); None otherwise."""
    if entry["kind"] != "rate":
        return None
    # The path is outcomes.NAME.prior...: an outcome's name is a plain key.
    outcome = outcomes.get(entry["input"].split(".")[1]) if "." in entry["input"] else None
    return outcome.get("per") if outcome else None


def describe_input_values(entry: Mapping, per: str | None = None) -> str:
    """What an input was moved between: 'mean 0.30, moved 0.20 → 0.40' for a prior (the mean
    of the row, or of the category, on the probability scale), 'rate 1.00 per year, halved
    0.50 → doubled 2.00' for an event's rate (its prior mean, in the outcome's unit `per`),
    'weight 0.5, set 0 → 1' for an evidence item."""
    low, high = entry["values"]
    if entry["kind"] == "evidence":
        value, low, high = (format_number(v) for v in (entry["value"], low, high))
        return f"weight {value}, set {low} \u2192 {high}"
    if entry["kind"] == "rate":
        value, low, high = format_rates((entry["value"], low, high))
        unit = f" {describe_per(per)}" if per else ""
        return f"rate {value}{unit}, halved {low} \u2192 doubled {high}"
    value, low, high = (f"{float(v):.2f}" for v in (entry["value"], low, high))
    return f"mean {value}, moved {low} \u2192 {high}"


def power_scaling_labels(summary: Mapping) -> dict[str, tuple[str, str]]:
    """Each quantity of the power-scaling analysis, by its key in summary.json, as (label, what
    it is): an outcome by its label, a category (OUTCOME=CATEGORY) as 'Outcome: Category', a
    named scenario by its name."""
    outcomes = summary["outcomes"]
    labels = {}
    for name, outcome in outcomes.items():
        if outcome["kind"] != "categorical":
            labels[name] = (outcome_label(name, outcomes), "outcome")
        else:
            for category in outcome["categories"]:
                label = (
                    f"{outcome_label(name, outcomes)}: {category_label(name, category, outcomes)}"
                )
                labels[f"{name}={category}"] = (label, "outcome")
    labels.update((name, (name, "scenario")) for name in summary["scenarios"])
    return labels
