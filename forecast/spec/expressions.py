"""Expressions over outcomes: condition-row keys, evidence `when`, and named scenarios.

The grammar is small enough for a hand-written recursive-descent parser, which gives exact
columns in error messages and cannot evaluate anything it was not written to:

    expression := conjunction ("or" conjunction)*
    conjunction := negation ("and" negation)*
    negation := "not" negation | atom
    atom := "(" expression ")" | NAME (("==" | "!=") NAME | "by" DATE)?

A DATE is written YYYY-MM-DD; `NAME by DATE` is true when the event NAME happens by that date.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

KEYWORDS = frozenset({"not", "and", "or", "by"})
# Deeper nesting than this is a mistake, and would otherwise exhaust Python's recursion limit.
MAX_DEPTH = 50
_TOKEN = re.compile(
    r"\s*(?:(?P<date>\d{4}-\d{2}-\d{2})(?![\w-])|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>==|!=|\(|\))|(?P<bad>\S))"
)


class ExpressionError(ValueError):
    """An expression that does not parse; `offset` is the 0-based position in the text."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class Happens:
    """A binary outcome happens."""

    outcome: str
    offset: int = 0


@dataclass(frozen=True)
class Is:
    """A categorical outcome takes (or, negated, does not take) a category."""

    outcome: str
    category: str
    negated: bool = False
    offset: int = 0
    # Where the category name starts, so a misspelled category is pointed at, not its outcome.
    category_offset: int = field(default=0, compare=False)


@dataclass(frozen=True)
class By:
    """An event outcome happens by a date (between as_of and the horizon)."""

    outcome: str
    date: dt.date
    offset: int = 0
    # Where the date starts, so that a date out of range is pointed at.
    date_offset: int = field(default=0, compare=False)

    @property
    def key(self) -> str:
        """The name its value goes by among the outcomes' values (`evaluate`, simulated worlds):
        it contains a space, which no outcome name can."""
        return by_key(self.outcome, self.date)


def by_key(outcome: str, date: dt.date) -> str:
    return f"{outcome} by {date.isoformat()}"


@dataclass(frozen=True)
class Not:
    operand: Expression


@dataclass(frozen=True)
class And:
    operands: tuple[Expression, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Expression, ...]


Expression = Happens | Is | By | Not | And | Or


def parse(text: str) -> Expression:
    """Parse an expression; raises ExpressionError with the offending offset."""
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        value = match.group(kind)
        start = match.start(kind)
        if kind == "bad":
            raise ExpressionError(
                f"unexpected character '{value}'; expressions use outcome names, not, and, "
                "or, parentheses, == and !=, and by YYYY-MM-DD",
                start,
            )
        tokens.append((kind, value, start))
    parser = _Parser(tokens, len(text))
    if not tokens:
        raise ExpressionError("the expression is empty", 0)
    expression = parser.expression()
    if parser.position < len(tokens):
        _, value, start = tokens[parser.position]
        raise ExpressionError(f"unexpected '{value}'; expected 'and', 'or' or the end", start)
    return expression


class _Parser:
    def __init__(self, tokens, length: int):
        self.tokens = tokens
        self.position = 0
        self.length = length
        self.depth = 0

    def peek(self):
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, value: str) -> bool:
        token = self.peek()
        if token is not None and token[1] == value:
            self.position += 1
            return True
        return False

    def expression(self) -> Expression:
        operands = [self.conjunction()]
        while self.take("or"):
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def conjunction(self) -> Expression:
        operands = [self.negation()]
        while self.take("and"):
            operands.append(self.negation())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def negation(self) -> Expression:
        token = self.peek()
        if self.take("not"):
            self.nest(token)
            operand = self.negation()
            self.depth -= 1
            return Not(operand)
        return self.atom()

    def nest(self, token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(
                f"the expression nests 'not' and '(' more than {MAX_DEPTH} deep", token[2]
            )

    def atom(self) -> Expression:
        token = self.peek()
        if token is None:
            raise ExpressionError(
                "the expression ends too early; an outcome name is missing", self.length
            )
        kind, value, start = token
        if value == "(":
            self.nest(token)
            self.position += 1
            inner = self.expression()
            self.depth -= 1
            if not self.take(")"):
                where = self.peek()[2] if self.peek() else self.length
                raise ExpressionError("a '(' is not closed; add ')'", where)
            return inner
        if kind != "name" or value in KEYWORDS:
            raise ExpressionError(f"expected an outcome name, found '{value}'", start)
        self.position += 1
        following = self.peek()
        if following is not None and following[1] in ("==", "!="):
            self.position += 1
            category = self.peek()
            if category is None or category[0] != "name" or category[1] in KEYWORDS:
                where = category[2] if category else self.length
                raise ExpressionError(f"expected a category name after '{following[1]}'", where)
            self.position += 1
            return Is(value, category[1], following[1] == "!=", start, category[2])
        if following is not None and following[0] == "name" and following[1] == "by":
            self.position += 1
            where = self.peek()[2] if self.peek() else self.length
            return By(value, self.date(following), start, where)
        return Happens(value, start)

    def date(self, by) -> dt.date:
        """The date after `by`, which the parser stands on; it moves past it."""
        token = self.peek()
        if token is None or token[0] != "date":
            where = token[2] if token else self.length
            raise ExpressionError(f"expected a date such as 2019-03-31 after '{by[1]}'", where)
        self.position += 1
        try:
            return dt.date.fromisoformat(token[1])
        except ValueError:
            raise ExpressionError(f"'{token[1]}' is not a date of the calendar", token[2]) from None


def atoms(expression: Expression):
    """Every Happens, Is and By in an expression, in reading order."""
    if isinstance(expression, Happens | Is | By):
        yield expression
    elif isinstance(expression, Not):
        yield from atoms(expression.operand)
    else:
        for operand in expression.operands:
            yield from atoms(operand)


def outcomes_in(expression: Expression) -> set[str]:
    return {atom.outcome for atom in atoms(expression)}


def evaluate(expression: Expression, values: Mapping, categories: Mapping[str, tuple[str, ...]]):
    """Evaluate on arrays of outcome values (0/1 for binary, category index for categorical).

    Works elementwise on NumPy arrays, so one call evaluates a scenario in every world at once.
    """
    if isinstance(expression, Happens):
        return values[expression.outcome] == 1
    if isinstance(expression, By):
        return values[expression.key] == 1
    if isinstance(expression, Is):
        index = categories[expression.outcome].index(expression.category)
        matches = values[expression.outcome] == index
        return ~matches if expression.negated else matches
    if isinstance(expression, Not):
        return ~evaluate(expression.operand, values, categories)
    results = [evaluate(operand, values, categories) for operand in expression.operands]
    combined = results[0]
    for result in results[1:]:
        combined = (combined & result) if isinstance(expression, And) else (combined | result)
    return combined
