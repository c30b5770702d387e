"""Reading the named scenarios: expressions over outcomes whose probability the report gives."""

from __future__ import annotations

from forecast.spec.expressions import atoms
from forecast.spec.outcomes import atom_value
from forecast.spec.readers import Checker, suggest
from forecast.spec.scenario import NamedScenario, Outcome


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
            elif atom_value(check, atom, False, path, categories, in_row_key=False) is None:
                good = False
        if good:
            result.append(NamedScenario(name, text, expression))
    return result
