"""Reading evidence items and reference classes: counts, weights, and the row they bear on."""

from __future__ import annotations

from dataclasses import dataclass

from forecast.spec import keys
from forecast.spec.events import read_event_data, read_period, refuse_event_data
from forecast.spec.outcomes import Categories, example_row, row_key
from forecast.spec.readers import Checker, kind, suggest
from forecast.spec.scenario import (
    OTHERWISE,
    Case,
    Evidence,
    Exposure,
    Outcome,
    RateCase,
    ReferenceClass,
)
from forecast.spec.yamlfile import KeyPath


def read_evidence(
    check: Checker, value, by_name: dict[str, Outcome], categories: Categories
) -> list[Evidence]:
    result = []
    for index, item in enumerate(_items(check, value, "evidence")):
        path = ("evidence", index)
        item = check.mapping(item, path, "an evidence item")
        if item is None:
            continue
        check.check_keys(item, path, keys.EVIDENCE)
        outcome = _target_outcome(check, item, path, by_name)
        weight = 1.0
        if "weight" in item:
            weight = check.number(item["weight"], (*path, "weight"))
            if weight is not None and not 0 < weight <= 1:
                check.fail(
                    (*path, "weight"),
                    f"weight must be in (0, 1]: 1 for fully relevant evidence, less to "
                    f"discount it; got {item['weight']}",
                )
                weight = None
        source = check.text(item["source"], (*path, "source")) if "source" in item else None
        if outcome is None:
            # Its prior is wrong, but the data can still be checked.
            declared = check.declared_kind(item.get("outcome"))
            if declared == "binary" and not refuse_event_data(
                check, item, path, declared, item["outcome"]
            ):
                _binary_counts(check, item, path, item["outcome"])
            elif declared == "event":
                read_event_data(check, item, path, item["outcome"])
            continue
        row, when_ok = _when(check, item, path, outcome, categories)
        if outcome.is_event and outcome.parents and "when" not in item:
            # A binary outcome's overall probability sums its parents out; an overall rate has
            # no such meaning (the rows' rates do not mix into one constant rate).
            check.fail(
                path,
                f"'{outcome.name}' is given {', '.join(outcome.parents)}, so evidence on its rate "
                f"needs `when:` naming the condition row it was seen in, such as "
                f"`when: {outcome.rows[0].key}`",
            )
            when_ok = False
        if outcome.is_event:
            data = read_event_data(check, item, path, outcome.name)
            period = read_period(check, item, path, outcome.name, outcome.timeline)
            if data is None or period is None or weight is None or not when_ok:
                continue
            exposure = Exposure(*data, period)
            result.append(
                Evidence(
                    outcome.name, row, item.get("when"), None, None, None, weight, source, exposure
                )
            )
            continue
        what = "binary" if outcome.is_binary else "categorical"
        if refuse_event_data(check, item, path, what, outcome.name):
            continue
        if outcome.is_binary:
            data = _binary_counts(check, item, path, outcome.name)
            if data is None or weight is None or not when_ok:
                continue
            result.append(
                Evidence(outcome.name, row, item.get("when"), *data, None, weight, source)
            )
        else:
            counts = _category_counts(check, item, path, outcome)
            if counts is None or weight is None or not when_ok:
                continue
            result.append(
                Evidence(outcome.name, row, item.get("when"), None, None, counts, weight, source)
            )
    return result


def read_reference_classes(
    check: Checker, value, by_name: dict[str, Outcome], categories: Categories
) -> list[ReferenceClass]:
    result = []
    taken: dict[tuple[str, int], int] = {}
    for index, item in enumerate(_items(check, value, "reference_classes")):
        path = ("reference_classes", index)
        item = check.mapping(item, path, "a reference class")
        if item is None:
            continue
        check.check_keys(item, path, keys.REFERENCE_CLASS)
        pooling = item.get("pooling", "partial")
        if pooling not in ("partial", "complete"):
            check.fail(
                (*path, "pooling"),
                "pooling must be 'partial' or 'complete'"
                + suggest(pooling, ["partial", "complete"]),
            )
            pooling = None
        source = check.text(item["source"], (*path, "source")) if "source" in item else None
        event = check.declared_kind(item.get("outcome")) == "event"
        cases = None
        if "cases" in item:
            name = item.get("outcome")
            if event:
                cases = _rate_cases(check, item["cases"], (*path, "cases"), name)
            else:
                cases = _cases(check, item["cases"], (*path, "cases"), name)
        outcome = _target_outcome(check, item, path, by_name)
        if outcome is None:
            continue
        if not outcome.is_binary:
            check.fail(
                (*path, "outcome"),
                f"reference classes are for binary and event outcomes; '{outcome.name}' is "
                "categorical (give its history as evidence counts instead)",
            )
            continue
        period = 0
        if outcome.is_event:
            period = read_period(check, item, path, outcome.name, outcome.timeline)
        elif "period" in item:
            check.fail(
                (*path, "period"),
                f"'{outcome.name}' is binary: period is for event outcomes (kind: event) whose "
                "rate changes",
                key=True,
            )
            period = None
        if outcome.parents and "when" not in item:
            check.fail(
                path,
                f"'{outcome.name}' is given {', '.join(outcome.parents)}, so say which "
                f"condition row the cases resemble with when: (such as "
                f"'{example_row(outcome.parents, categories)}')",
            )
            continue
        row, when_ok = _when(check, item, path, outcome, categories)
        row = row or 0
        if not when_ok or cases is None or pooling is None or period is None:
            continue
        if (outcome.name, row) in taken:
            check.fail(
                path,
                f"reference class {taken[(outcome.name, row)] + 1} already pools this row of "
                f"'{outcome.name}'; merge the two lists of cases",
            )
            continue
        taken[(outcome.name, row)] = index
        if outcome.is_event:
            cases = tuple(RateCase(case.name, Exposure(*case.data, period)) for case in cases)
        result.append(
            ReferenceClass(outcome.name, row, item.get("when"), pooling, source, cases, period)
        )
    return result


def _items(check: Checker, value, key: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        check.fail((key,), f"{key} must be a list of items, each starting with '- '")
        return []
    return value


def _target_outcome(check: Checker, item: dict, path: KeyPath, by_name) -> Outcome | None:
    if "outcome" not in item:
        return None
    name = item["outcome"]
    if not isinstance(name, str):
        check.fail((*path, "outcome"), f"must be an outcome name, got {kind(name)}")
        return None
    if name not in by_name:
        declared = check.declared_outcomes()
        if name in declared:
            return None  # the outcome itself is invalid and already reported
        check.fail(
            (*path, "outcome"),
            f"unknown outcome '{name}'{suggest(name, declared)} (outcomes: {', '.join(declared)})",
        )
        return None
    return by_name[name]


def _when(
    check: Checker, item: dict, path: KeyPath, outcome: Outcome, categories: Categories
) -> tuple[int | None, bool]:
    """The row index `when` names (None: overall); the flag says whether it was valid."""
    if "when" not in item:
        return None, True
    wpath = (*path, "when")
    if not outcome.parents:
        check.fail(wpath, f"'{outcome.name}' has no parents (given), so remove 'when'")
        return None, False
    text = item["when"]
    if text == OTHERWISE:
        for index, row in enumerate(outcome.rows):
            if row.key == OTHERWISE:
                return index, True
        check.fail(wpath, f"'{outcome.name}' has no 'otherwise' row")
        return None, False
    combination = row_key(check, text, wpath, outcome.name, outcome.parents, categories)
    if combination is None:
        return None, False
    return outcome.row_of_combination[outcome.combination_index(combination)], True


def _binary_counts(check: Checker, item: dict, path: KeyPath, name) -> tuple[int, int] | None:
    if "counts" in item:
        check.fail(
            (*path, "counts"),
            f"'{name}' is binary: give successes and trials instead of counts",
            key=True,
        )
        return None
    for key in ("successes", "trials"):
        if key not in item:
            check.fail(path, f"missing required key '{key}' (evidence on a binary outcome)")
    if "successes" not in item or "trials" not in item:
        return None
    successes = check.count(item["successes"], (*path, "successes"))
    trials = check.count(item["trials"], (*path, "trials"), positive=True)
    if successes is None or trials is None:
        return None
    if successes > trials:
        check.fail(
            (*path, "successes"),
            f"successes ({successes}) cannot exceed trials ({trials})",
        )
        return None
    return successes, trials


def _category_counts(
    check: Checker, item: dict, path: KeyPath, outcome: Outcome
) -> tuple[int, ...] | None:
    for key in ("successes", "trials"):
        if key in item:
            check.fail(
                (*path, key),
                f"'{outcome.name}' is categorical: give counts: {{category: n, ...}} instead",
                key=True,
            )
            return None
    if "counts" not in item:
        check.fail(path, "missing required key 'counts' (evidence on a categorical outcome)")
        return None
    cpath = (*path, "counts")
    counts = check.mapping(item["counts"], cpath, "counts")
    if counts is None:
        return None
    good = True
    for key, value in counts.items():
        if key not in outcome.categories:
            check.fail(
                (*cpath, key),
                f"unknown category '{key}'{suggest(key, outcome.categories)} "
                f"(categories: {', '.join(outcome.categories)})",
                key=True,
            )
            good = False
        elif check.count(value, (*cpath, key)) is None:
            good = False
    if not good:
        return None
    if not any(counts.values()):
        check.fail(cpath, "counts must include at least one observation")
        return None
    return tuple(counts.get(c, 0) for c in outcome.categories)


@dataclass(frozen=True)
class _ReadCase:
    """A case of an event's reference class before the class's period is known."""

    name: str
    data: tuple  # (events, years, waiting times)


def _rate_cases(check: Checker, value, path: KeyPath, outcome) -> tuple[_ReadCase, ...] | None:
    def read(item: dict, cpath: KeyPath) -> tuple[str, tuple] | None:
        binary = [key for key in ("successes", "trials") if key in item]
        if binary:
            check.fail(
                (*cpath, binary[0]),
                f"'{outcome}' is an event: a case is {{name, events, exposure}} or "
                "{name, waiting_time}; successes and trials are for binary outcomes",
                key=True,
            )
            return None
        check.check_keys(item, cpath, keys.RATE_CASE)
        if not set(item) <= set(keys.RATE_CASE.names) or "name" not in item:
            return None
        name = check.text(item["name"], (*cpath, "name"))
        data = read_event_data(check, item, cpath, str(outcome), single="waiting_time")
        return None if name is None or data is None else (name, data)

    listed = "{name, events, exposure} or {name, waiting_time}"
    cases = _each_case(check, value, path, listed, read)
    return None if cases is None else tuple(_ReadCase(name, data) for name, data in cases)


def _cases(check: Checker, value, path: KeyPath, outcome=None) -> tuple[Case, ...] | None:
    def read(item: dict, cpath: KeyPath) -> tuple[str, tuple] | None:
        if isinstance(outcome, str) and refuse_event_data(check, item, cpath, "binary", outcome):
            return None
        check.check_keys(item, cpath, keys.CASE)
        if not set(keys.CASE.names) <= set(item):
            return None
        name = check.text(item["name"], (*cpath, "name"))
        data = _binary_counts(check, item, cpath, "a case")
        return None if name is None or data is None else (name, data)

    cases = _each_case(check, value, path, "{name, successes, trials}", read)
    return None if cases is None else tuple(Case(name, *data) for name, data in cases)


def _each_case(check: Checker, value, path: KeyPath, listed: str, read) -> list | None:
    """A reference class's cases, each mapping read by `read(item, where)` into (name, data)
    or None; names must be unique. None unless every case is good."""
    if not isinstance(value, list) or not value:
        check.fail(path, f"cases must be a non-empty list of {listed}")
        return None
    result = []
    names: set[str] = set()
    for index, item in enumerate(value):
        cpath = (*path, index)
        item = check.mapping(item, cpath, "a case")
        if item is None:
            continue
        case = read(item, cpath)
        if case is None:
            continue
        if case[0] in names:
            check.fail((*cpath, "name"), f"duplicate case name '{case[0]}'")
            continue
        names.add(case[0])
        result.append(case)
    return result if len(result) == len(value) else None
