"""How much work exact probabilities of a scenario's outcomes take, from its structure alone.

The outcomes form a Bayesian network. The probability of some outcomes' values is a sum over
their ancestors' values of a product of the outcomes' conditional tables; variable elimination
sums the ancestors out one at a time, and its cost is the size of the largest table it builds on
the way. That size depends only on which outcome is given which, and on how many values each
takes, so it is known before any number is drawn: the validator refuses a file whose marginals
would need tables larger than FACTOR_LIMIT, and the engine uses the same plan to compute them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence

# Entries in the largest table variable elimination may build. Summaries hold that table for
# every draw (4,000 draws x 4,096 entries x 8 bytes = 131 MB), which bounds memory and time for
# any file that validates.
FACTOR_LIMIT = 4096


def ancestors_and_self(parents: Mapping[str, Sequence[str]], names: Iterable[str]) -> set[str]:
    """The named outcomes and all their ancestors."""
    found: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name not in found:
            found.add(name)
            stack.extend(parents[name])
    return found


def size(variables: Iterable[str], cardinality: Mapping[str, int]) -> int:
    result = 1
    for name in variables:
        result *= cardinality[name]
    return result


def elimination_plan(
    parents: Mapping[str, Sequence[str]],
    cardinality: Mapping[str, int],
    keep: Sequence[str],
) -> tuple[list[str], int]:
    """The order in which to sum out the ancestors of `keep`, and the largest table it builds.

    Each outcome contributes one table over itself and its parents. The outcome summed out next
    is the one whose elimination builds the smallest table (the greedy min-size heuristic, which
    is exact in cost for chains and trees). Returns (order, entries of the largest table),
    counting the final table over `keep`.
    """
    involved = ancestors_and_self(parents, keep)
    # The tables left so far, by number, and for each outcome the numbers of those it is in.
    scopes = {name: frozenset((name, *parents[name])) for name in involved}
    tables: dict[int, frozenset[str]] = dict(enumerate(scopes.values()))
    holding: dict[str, set[int]] = {name: set() for name in involved}
    for number, scope in tables.items():
        for name in scope:
            holding[name].add(number)
    numbers = itertools.count(len(tables))
    remaining = involved - set(keep)
    order: list[str] = []
    largest = max(size(keep, cardinality), *(size(s, cardinality) for s in tables.values()))
    while remaining:
        best, best_union = None, None
        for name in sorted(remaining):
            union = frozenset().union(*(tables[n] for n in holding[name]))
            if best_union is None or size(union, cardinality) < size(best_union, cardinality):
                best, best_union = name, union
        largest = max(largest, size(best_union, cardinality))
        for number in holding[best]:
            for name in tables.pop(number):
                if name != best:
                    holding[name].discard(number)
        number = next(numbers)
        tables[number] = best_union - {best}
        for name in tables[number]:
            holding[name].add(number)
        remaining.discard(best)
        order.append(best)
    return order, largest
