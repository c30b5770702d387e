"""Reading the named scenarios: expressions over outcomes whose probability the report gives."""

from __future__ import annotations

from forecast.spec.expressions import By, atoms
from forecast.spec.outcomes import atom_value
from forecast.spec.readers import Checker, suggest
from forecast.spec.scenario import NamedScenario, Outcome
from forecast.spec.yamlfile import KeyPath


def read_named_scenarios(check: Checker, value, by_name: dict[str, Outcome]) -> list[NamedScenario]:
    if value is None:
        return []
    block = check.mapping(value, ("scenarios",), "scenarios")
    if block is None:
        return []
    result = []
    categories = {name: o.categories for name, o in by_name.items()}
    declared = check.declared_outcomes()
    for name, text in block.items():
        path = ("scenarios", name)
        if not check.name(name, path, "a scenario name", key=True):
            continue
        expression = check.expression(text, path)
        if expression is None:
            continue
        good = True
        for atom in atoms(expression):
            if atom.outcome not in declared:
                check.fail(
                    path,
                    f"unknown outcome '{atom.outcome}' in '{text}'"
                    f"{suggest(atom.outcome, declared)}",
                    offset=atom.offset,
                )
                good = False
            elif atom.outcome not in categories:
                good = False  # the outcome itself is invalid and already reported
            elif isinstance(atom, By):
                good = _by_date(check, atom, path, by_name[atom.outcome]) and good
            elif atom_value(check, atom, False, path, categories, in_row_key=False) is None:
                good = False
        if good:
            result.append(NamedScenario(name, text, expression))
    return result


def _by_date(check: Checker, atom: By, path: KeyPath, outcome: Outcome) -> bool:
    """Whether `NAME by DATE` names an event and a date of its timeline."""
    if outcome.timeline is None:
        what = "binary" if outcome.is_binary else "categorical"
        check.fail(
            path,
            f"'{atom.outcome}' is {what}; 'by DATE' needs an event outcome (kind: event)",
            offset=atom.offset,
        )
        return False
    timeline = outcome.timeline
    if not timeline.as_of < atom.date <= timeline.horizon:
        check.fail(
            path,
            f"'{atom.outcome} by {atom.date}': the date must be after as_of ({timeline.as_of}) "
            f"and at most the horizon ({timeline.horizon})",
            offset=atom.date_offset,
        )
        return False
    return True
