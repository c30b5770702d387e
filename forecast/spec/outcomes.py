"""Reading the outcomes: names, categories, parents, the graph they form, and condition rows.

Outcomes are read in two passes. The first reads what every outcome declares on its own (its
categories) and the parents it names; the second, parents before children, reads each prior
against its parents' categories. An outcome whose categories or parents are wrong is left out of
the second pass, so that its children are not blamed for it.
"""

from __future__ import annotations

import datetime as dt

from forecast.spec import keys
from forecast.spec.events import (
    EVENT_PRIOR_KEYS,
    FileDates,
    ReadHazard,
    event_span,
    read_checkpoints,
    read_hazard,
)
from forecast.spec.expressions import And, By, Happens, Is, Not
from forecast.spec.prior_forms import BINARY_PRIOR_KEYS, CATEGORICAL_PRIOR_KEYS, read_prior
from forecast.spec.readers import Checker, kind, suggest
from forecast.spec.scenario import OTHERWISE, Outcome, Row, Timeline, parent_combinations
from forecast.spec.yamlfile import KeyPath

MAX_COMBINATIONS = 64

# Categories of each declared outcome, by name; None where they are invalid.
Categories = dict[str, tuple[str, ...] | None]


def read_outcomes(
    check: Checker, value, dates: FileDates | None = None
) -> tuple[list[Outcome], Categories]:
    """The valid outcomes, parents first, and the categories of every declared outcome (none
    for a binary outcome or an event). `dates` are the file's as_of and horizon, which events
    need."""
    dates = dates or FileDates(None, None, frozenset())
    block = check.mapping(value, ("outcomes",), "outcomes")
    if block is None:
        return [], {}
    if not block:
        check.fail(("outcomes",), "at least one outcome is needed")
        return [], {}
    declared: dict[str, dict] = {}
    for name, body in block.items():
        path = ("outcomes", name)
        if not check.name(name, path, "an outcome name", key=True):
            continue
        body = check.mapping(body, path, f"outcome '{name}'")
        if body is None:
            continue
        check.check_keys(body, path, keys.OUTCOME)
        declared[name] = body
    kinds = {name: _kind(check, name, body) for name, body in declared.items()}
    categories: Categories = {}
    labels: dict[str, tuple[str, ...]] = {}
    for name, body in declared.items():
        read = _categories(check, name, body) if kinds[name] is not None else None
        categories[name] = read[0] if read else None
        labels[name] = read[1] if read else ()
    span = event_span(check, [n for n, k in kinds.items() if k == "event"], dates)
    parents: dict[str, tuple[str, ...]] = {}
    wrong_parents: set[str] = set()
    for name, body in declared.items():
        reported = len(check.problems)
        parents[name] = _parents(check, name, body, declared)
        if len(check.problems) > reported:
            # Its rows would be judged against the wrong parents: one message is enough.
            wrong_parents.add(name)
    on_cycle = _find_cycles(check, parents)
    outcomes: dict[str, Outcome] = {}
    for name in _topological(parents, on_cycle):
        body = declared[name]
        if name in wrong_parents:
            continue
        if categories[name] is None or any(categories[p] is None for p in parents[name]):
            continue
        if kinds[name] == "event":
            if span is not None:
                outcome = _event(check, name, body, categories, parents[name], span)
            else:
                outcome = None
        else:
            outcome = _outcome(check, name, body, categories, parents[name], labels[name])
        if outcome is not None:
            outcomes[name] = outcome
    return list(outcomes.values()), categories


def _quoted(value) -> str:
    return f"'{value}'" if isinstance(value, str) else kind(value)


def _kind(check: Checker, name: str, body: dict) -> str | None:
    """binary, categorical or event, as `kind` says or, without it, as `categories` imply; None
    after reporting a kind that is wrong or contradicts the rest of the outcome."""
    path = ("outcomes", name)
    if "checkpoints" in body and body.get("kind") != "event":
        check.fail(
            (*path, "checkpoints"),
            f"checkpoints are dates to report an event by; '{name}' is not an event "
            "(add kind: event, or remove checkpoints)",
            key=True,
        )
    if "kind" not in body:
        return "categorical" if "categories" in body else "binary"
    value = body["kind"]
    if value not in keys.KINDS:
        check.fail(
            (*path, "kind"),
            f"unknown kind {_quoted(value)}{suggest(value, keys.KINDS)} "
            f"(kinds: {', '.join(keys.KINDS)})",
        )
        return None
    if value == "event" and "categories" in body:
        check.fail(
            (*path, "kind"),
            "an event happens or not, at some time, and has no categories: remove categories, "
            "or make the outcome categorical",
        )
        return None
    if value == "binary" and "categories" in body:
        check.fail(
            (*path, "kind"),
            "a binary outcome happens or not and has no categories: remove categories, or "
            "write kind: categorical",
        )
        return None
    if value == "categorical" and "categories" not in body:
        check.fail(
            (*path, "kind"),
            "a categorical outcome needs categories: add categories: [name, name, ...]",
        )
        return None
    return value


def _categories(
    check: Checker, name: str, body: dict
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(names, labels) of the outcome's categories; both empty for a binary outcome."""
    if "categories" not in body:
        return (), ()
    path = ("outcomes", name, "categories")
    value = body["categories"]
    if not isinstance(value, list) or len(value) < 2:
        check.fail(path, "categories must be a list of at least two names")
        return None
    names: list[str] = []
    labels: list[str] = []
    good = True
    for index, item in enumerate(value):
        category, label, where = item, item, (*path, index)
        if isinstance(item, dict):
            # {name: talks_drag_on, label: "Talks drag on"}
            check.check_keys(item, where, keys.CATEGORY)
            if "label" not in item or check.text(item["label"], (*where, "label")) is None:
                good = False
            if "name" not in item:
                good = False
                continue
            category, label, where = item["name"], item.get("label"), (*where, "name")
        if not check.name(category, where, "a category name"):
            good = False
        elif category in names:
            check.fail(where, f"duplicate category '{category}'; each must be unique")
            good = False
        else:
            names.append(category)
            labels.append(label)
    return (tuple(names), tuple(labels)) if good else None


def _parents(check: Checker, name: str, body: dict, declared: dict) -> tuple[str, ...]:
    if "given" not in body:
        return ()
    path = ("outcomes", name, "given")
    value = body["given"]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        check.fail(path, "given must be a list of outcome names, such as [summit_held]")
        return ()
    result: list[str] = []
    for index, parent in enumerate(value):
        if not isinstance(parent, str):
            check.fail((*path, index), f"a parent must be an outcome name, got {kind(parent)}")
        elif parent == name:
            check.fail((*path, index), f"'{name}' cannot depend on itself")
        elif parent not in declared:
            known = [n for n in declared if n != name]
            check.fail(
                (*path, index),
                f"unknown outcome '{parent}'{suggest(parent, known)}"
                f" (outcomes: {', '.join(known)})",
            )
        elif parent in result:
            check.fail((*path, index), f"'{parent}' is listed twice")
        else:
            result.append(parent)
    return tuple(result)


def _find_cycles(check: Checker, parents: dict[str, tuple[str, ...]]) -> set[str]:
    """Report each cycle among `given`; return the outcomes on one."""
    state: dict[str, int] = {}
    stack: list[str] = []
    on_cycle: set[str] = set()

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for parent in parents.get(name, ()):
            if state.get(parent) == 1:
                cycle = [*stack[stack.index(parent) :], parent]
                on_cycle.update(cycle)
                check.fail(
                    ("outcomes", cycle[0], "given"),
                    f"the outcomes depend on each other in a cycle: {' -> '.join(cycle)} "
                    "(each given the next); remove one of these dependencies",
                )
            elif parent not in state:
                visit(parent)
        stack.pop()
        state[name] = 2

    for name in parents:
        if name not in state:
            visit(name)
    return on_cycle


def _topological(parents: dict[str, tuple[str, ...]], on_cycle: set[str]) -> list[str]:
    """Parents before children, keeping the file's order wherever the graph allows.

    Outcomes on a cycle, and those that depend on one, are left out: they have no order.
    """
    order: list[str] = []
    placed: set[str] = set()
    progress = True
    while progress:
        progress = False
        for name in parents:
            if name in placed or name in on_cycle:
                continue
            if all(p in placed for p in parents[name]):
                order.append(name)
                placed.add(name)
                progress = True
                break
    return order


def _outcome(
    check: Checker,
    name: str,
    body: dict,
    categories: Categories,
    parents: tuple[str, ...],
    labels: tuple[str, ...],
) -> Outcome | None:
    """A binary or categorical outcome."""
    own = categories[name]
    label, description = _words(check, name, body)

    def read(value, path):
        return read_prior(check, value, path, own, name)

    table = _rows(check, name, body, categories, parents, read, event=False)
    if table is None:
        return None
    rows, row_of, cards = table
    return Outcome(
        name,
        label,
        description,
        own,
        parents,
        rows,
        row_of,
        cards,
        category_labels=labels,
        parent_categories=tuple(categories[p] for p in parents),
    )


def _event(
    check: Checker,
    name: str,
    body: dict,
    categories: Categories,
    parents: tuple[str, ...],
    span: tuple[dt.date, dt.date],
) -> Outcome | None:
    """An event outcome: its rows' priors are rates, and every row changes rate at the same
    dates, which become the timeline's breaks."""
    as_of, horizon = span
    path = ("outcomes", name)
    label, description = _words(check, name, body)
    checkpoints = (horizon,)
    if "checkpoints" in body:
        checkpoints = read_checkpoints(
            check, body["checkpoints"], (*path, "checkpoints"), as_of, horizon
        )
    read_rows: dict[str, tuple[KeyPath, ReadHazard]] = {}

    def read(value, row_path):
        hazard = read_hazard(check, value, row_path, name, as_of, horizon)
        if hazard is None:
            return None
        read_rows[str(row_path[-1]) if len(row_path) > 3 else ""] = (row_path, hazard)
        return hazard.prior

    table = _rows(check, name, body, categories, parents, read, event=True)
    if table is None or checkpoints is None:
        return None
    rows, row_of, cards = table
    first_key, (_, first) = next(iter(read_rows.items()))
    good = True
    for key, (row_path, hazard) in list(read_rows.items())[1:]:
        if hazard.breaks != first.breaks:
            check.fail(row_path, _breaks_differ(name, key, hazard, first_key, first), key=True)
            good = False
    if not good:
        return None
    timeline = Timeline(as_of, horizon, first.breaks, checkpoints, rows[0].prior.per)
    return Outcome(
        name,
        label,
        description,
        (),
        parents,
        rows,
        row_of,
        cards,
        parent_categories=tuple(categories[p] for p in parents),
        timeline=timeline,
    )


def _breaks_differ(name: str, key: str, hazard: ReadHazard, first_key: str, first) -> str:
    def changes(read: ReadHazard) -> str:
        if not read.breaks:
            return "has a constant rate"
        return "changes its rate at " + ", ".join(str(d) for d in read.breaks)

    advice = "write both as lists of periods with the same until dates"
    if hazard.by_dates or first.by_dates:
        advice = (
            "probabilities by dates fit one constant rate, so give that row a list of periods "
            "with the same until dates instead"
        )
    elif not hazard.breaks or not first.breaks:
        advice = (
            "write the constant one as a list of periods with the same until dates (the same "
            "rate in each, if it does not change)"
        )
    return (
        f"every row of '{name}' must change its rate at the same dates: row '{key}' "
        f"{changes(hazard)}, but row '{first_key}' {changes(first)}; {advice}"
    )


def _words(check: Checker, name: str, body: dict) -> tuple[str, str | None]:
    """The outcome's label (its name without one) and description."""
    path = ("outcomes", name)
    label = body.get("label", name)
    if "label" in body and check.text(label, (*path, "label")) is None:
        label = name
    description = None
    if "description" in body:
        description = check.text(body["description"], (*path, "description"))
    return label, description


def _rows(
    check: Checker,
    name: str,
    body: dict,
    categories: Categories,
    parents: tuple[str, ...],
    read,
    *,
    event: bool,
):
    """(rows, row of each combination, parent cardinalities) of the outcome's prior, each row's
    prior read by `read(value, path)`; None after reporting a problem."""
    path = ("outcomes", name)
    if "prior" not in body:
        return None
    cards = [2 if not categories[p] else len(categories[p]) for p in parents]
    combinations = parent_combinations(cards)
    if len(combinations) > MAX_COMBINATIONS:
        check.fail(
            (*path, "given"),
            f"the parents have {len(combinations)} combinations of values, more than "
            f"{MAX_COMBINATIONS}; split the outcome or use fewer parents",
        )
        return None
    prior_path = (*path, "prior")
    if not parents:
        prior = read(body["prior"], prior_path)
        if prior is None:
            return None
        return (Row("", prior, ((),)),), (0,), ()
    block = check.mapping(body["prior"], prior_path, "the prior of an outcome with parents")
    if block is None:
        return None
    if block and set(block) <= set(BINARY_PRIOR_KEYS + CATEGORICAL_PRIOR_KEYS + EVENT_PRIOR_KEYS):
        example = "{rate: {mean: 1, sd: 0.5}, per: year}" if event else "{mean: 0.3, sd: 0.1}"
        check.fail(
            prior_path,
            f"'{name}' is given {', '.join(parents)}, so its prior needs one entry per "
            f"condition row, such as `{example_row(parents, categories)}: {example}`, and "
            "`otherwise:` for the rest",
        )
        return None
    rows: list[Row] = []
    row_of: dict[tuple[int, ...], int] = {}
    otherwise_prior = None
    for key, value in block.items():
        row_path = (*prior_path, key)
        prior = read(value, row_path)
        if key == OTHERWISE:
            otherwise_prior = prior
            continue
        combination = row_key(check, key, row_path, name, parents, categories)
        if combination is None or prior is None:
            continue
        if combination in row_of:
            earlier = rows[row_of[combination]].key
            check.fail(
                row_path,
                f"row '{key}' covers the same combination as row '{earlier}'; "
                "each combination of parent values needs exactly one row",
                key=True,
            )
            continue
        row_of[combination] = len(rows)
        rows.append(Row(str(key), prior, (combination,)))
    if len(rows) + (OTHERWISE in block) < len(block):
        return None
    missing = [c for c in combinations if c not in row_of]
    if OTHERWISE in block:
        if otherwise_prior is None:
            return None
        if not missing:
            check.fail(
                (*prior_path, OTHERWISE),
                "'otherwise' covers no combination, every one has its own row; remove it",
                key=True,
            )
            return None
        for combination in missing:
            row_of[combination] = len(rows)
        rows.append(Row(OTHERWISE, otherwise_prior, tuple(missing)))
    elif missing:
        described = [describe_combination(c, parents, categories) for c in missing]
        check.fail(
            prior_path,
            f"no prior for {len(missing)} combination(s) of {', '.join(parents)}: "
            f"{'; '.join(described)}. Add a row for each, or an `otherwise:` row",
        )
        return None
    return tuple(rows), tuple(row_of[c] for c in combinations), tuple(cards)


def row_key(
    check: Checker,
    key,
    path: KeyPath,
    name: str,
    parents: tuple[str, ...],
    categories: Categories,
) -> tuple[int, ...] | None:
    """The parent combination a row key fixes; every parent exactly once, joined by `and`."""
    expression = check.expression(key, path, key=True)
    if expression is None:
        return None
    literals = expression.operands if isinstance(expression, And) else (expression,)
    values: dict[str, int] = {}
    shape = (
        f"a row key fixes every parent of '{name}' ({', '.join(parents)}) with 'and', "
        f"such as '{example_row(parents, categories)}'"
    )
    for literal in literals:
        negated = isinstance(literal, Not)
        atom = literal.operand if negated else literal
        if isinstance(atom, By):
            check.fail(
                path,
                f"'{atom.outcome} by {atom.date}' cannot fix a row: a row fixes whether "
                f"'{atom.outcome}' happens by the horizon, written '{atom.outcome}' or "
                f"'not {atom.outcome}'; 'by DATE' is for scenarios",
                key=True,
                offset=atom.offset,
            )
            return None
        if not isinstance(atom, Happens | Is) or (negated and isinstance(atom, Is)):
            check.fail(path, f"'{key}' is not a row key: {shape}", key=True)
            return None
        if atom.outcome not in parents:
            check.fail(
                path,
                f"'{atom.outcome}' is not a parent of '{name}'"
                f"{suggest(atom.outcome, parents)}; {shape}",
                key=True,
                offset=atom.offset,
            )
            return None
        value = atom_value(check, atom, negated, path, categories, key=True)
        if value is None:
            return None
        if atom.outcome in values:
            check.fail(path, f"'{atom.outcome}' appears twice in '{key}'; {shape}", key=True)
            return None
        values[atom.outcome] = value
    absent = [p for p in parents if p not in values]
    if absent:
        check.fail(path, f"'{key}' does not fix {', '.join(absent)}; {shape}", key=True)
        return None
    return tuple(values[p] for p in parents)


def atom_value(
    check: Checker,
    atom: Happens | Is,
    negated: bool,
    path: KeyPath,
    categories: Categories,
    *,
    key: bool = False,
    in_row_key: bool = True,
) -> int | None:
    """The value an atom of an expression gives its outcome (1/0, or a category's index)."""
    own = categories[atom.outcome]
    if isinstance(atom, Happens):
        if own:
            check.fail(
                path,
                f"'{atom.outcome}' is categorical; write '{atom.outcome} == {own[0]}' "
                f"(categories: {', '.join(own)})",
                key=key,
                offset=atom.offset,
            )
            return None
        return 0 if negated else 1
    if not own:
        check.fail(
            path,
            f"'{atom.outcome}' is binary; write '{atom.outcome}' or 'not {atom.outcome}'",
            key=key,
            offset=atom.offset,
        )
        return None
    if atom.category not in own:
        check.fail(
            path,
            f"'{atom.outcome}' has no category '{atom.category}'"
            f"{suggest(atom.category, own)} (categories: {', '.join(own)})",
            key=key,
            offset=atom.category_offset,
        )
        return None
    if atom.negated and in_row_key:
        check.fail(
            path,
            f"a row key must fix '{atom.outcome}' with ==, not !=",
            key=key,
            offset=atom.offset,
        )
        return None
    return own.index(atom.category)


def describe_combination(combination, parents, categories: Categories) -> str:
    """A combination of parent values as a row key would write it."""
    parts = []
    for parent, value in zip(parents, combination, strict=True):
        own = categories[parent]
        parts.append(f"{parent} == {own[value]}" if own else (parent if value else f"not {parent}"))
    return " and ".join(parts)


def example_row(parents, categories: Categories) -> str:
    """A row key for these parents, for messages that show what one looks like."""
    return describe_combination(
        tuple(0 if categories[p] else 1 for p in parents), parents, categories
    )
