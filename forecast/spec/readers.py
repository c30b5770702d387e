"""Typed readers over a document, each recording a located problem instead of raising.

A `Checker` holds the document being validated and the problems found so far. Every reader
returns the value it read, or None after recording why it could not; the callers then skip what
depends on that value, so one mistake gives one message and every other part is still checked.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Iterable

from forecast.errors import Problem
from forecast.spec.expressions import Expression, ExpressionError, parse
from forecast.spec.keys import Block
from forecast.spec.yamlfile import Document, KeyPath

NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
RESERVED = frozenset({"not", "and", "or", "by", "otherwise"})


class Reported(Exception):
    """A problem was recorded; unwind to the next item."""


def suggest(word: object, choices: Iterable[str]) -> str:
    """A did-you-mean clause for a misspelled name, or nothing when no name is close."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def kind(value) -> str:
    """What a value is, in the words of a message: 'got a list', 'got the text ...'."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"'{str(value).lower()}' (a yes/no value; quote it if you meant text)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text '{value}'"
    if isinstance(value, dt.date):
        return f"the date {value}"
    return f"{value!r}"


def _show(path: KeyPath) -> tuple[str, ...]:
    return tuple(f"item {part + 1}" if isinstance(part, int) else str(part) for part in path)


class Checker:
    """The document under validation, the problems found in it, and the typed readers."""

    def __init__(self, document: Document):
        self.document = document
        self.problems: list[Problem] = []

    # -- reporting ------------------------------------------------------------------------------

    def fail(self, path: KeyPath, message: str, *, key: bool = False, offset: int | None = None):
        """Record a problem at `path` (at its key with `key`; `offset` characters into it)."""
        where = self.document.where(path, key=key)
        column = where.column
        if offset is not None:
            column += offset + (1 if where.quoted else 0)
        self.problems.append(
            Problem(self.document.file, where.line, column, _show(path), message, tuple(path))
        )

    def check_keys(self, mapping: dict, path: KeyPath, block: Block) -> None:
        """Refuse keys the block does not have, and report the required ones that are missing."""
        self.check_allowed(mapping, path, block.names)
        for key in block.required:
            if key not in mapping:
                self.fail(path, f"missing required key '{key}'")

    def check_allowed(self, mapping: dict, path: KeyPath, allowed: tuple[str, ...]) -> None:
        for key in mapping:
            if key not in allowed:
                self.fail(
                    (*path, key),
                    f"unknown key '{key}'{suggest(key, allowed)} (allowed: {', '.join(allowed)})",
                    key=True,
                )

    def convert(self, function: Callable, arguments: tuple, path: KeyPath):
        """`function(*arguments)`, its ValueError recorded at `path` and raised as Reported."""
        try:
            return function(*arguments)
        except ValueError as error:
            self.fail(path, str(error))
            raise Reported from None

    # -- typed readers: each returns None after reporting a problem -----------------------------

    def mapping(self, value, path: KeyPath, what: str) -> dict | None:
        if isinstance(value, dict):
            return value
        self.fail(path, f"{what} must be a mapping (key: value lines), got {kind(value)}")
        return None

    def text(self, value, path: KeyPath) -> str | None:
        if isinstance(value, str) and value.strip():
            return value
        self.fail(path, f"must be non-empty text, got {kind(value)}")
        return None

    def number(self, value, path: KeyPath) -> float | None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if value != value or value in (float("inf"), float("-inf")):
                self.fail(path, "must be a finite number")
                return None
            return float(value)
        self.fail(path, f"must be a number, got {kind(value)}")
        return None

    def count(self, value, path: KeyPath, *, positive: bool = False) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0 or (positive and value == 0):
                bound = "at least 1" if positive else "0 or more"
                self.fail(path, f"must be a whole number {bound}, got {value}")
                return None
            return value
        self.fail(path, f"must be a whole number, got {kind(value)}")
        return None

    def date(self, value, path: KeyPath) -> dt.date | None:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        self.fail(path, f"must be an ISO date such as 2018-05-20, got {kind(value)}")
        return None

    def probability(self, value, path: KeyPath, *, open_interval: bool = True) -> float | None:
        number = self.number(value, path)
        if number is None:
            return None
        inside = 0 < number < 1 if open_interval else 0 <= number <= 1
        if not inside:
            bounds = "strictly between 0 and 1" if open_interval else "between 0 and 1"
            self.fail(path, f"a probability must be {bounds}, got {value}")
            return None
        return number

    def pair(self, value, path: KeyPath, what: str) -> tuple[float, float] | None:
        if not isinstance(value, list) or len(value) != 2:
            self.fail(path, f"{what} must be a list of two numbers, such as [1, 4]")
            return None
        first = self.number(value[0], (*path, 0))
        second = self.number(value[1], (*path, 1))
        if first is None or second is None:
            return None
        return first, second

    def name(self, value, path: KeyPath, what: str, *, key: bool = False) -> bool:
        """Whether `value` is a valid name; `what` says whose name, for the message."""
        if isinstance(value, str) and NAME.match(value) and value not in RESERVED:
            return True
        if isinstance(value, str) and value in RESERVED:
            self.fail(path, f"'{value}' is a reserved word and cannot be {what}", key=key)
        elif not isinstance(value, str):
            # YAML reads yes, no, on, off, null and numbers as values, not as names.
            self.fail(
                path,
                f"{what} must be lower-case letters, digits and _, starting with a letter; "
                f"got {kind(value)}",
                key=key,
            )
        else:
            self.fail(
                path,
                f"{what} '{value}' must be lower-case letters, digits and _, "
                "starting with a letter",
                key=key,
            )
        return False

    def expression(self, text, path: KeyPath, *, key: bool = False) -> Expression | None:
        if not isinstance(text, str):
            self.fail(path, f"must be an expression in quotes, got {kind(text)}", key=key)
            return None
        try:
            return parse(text)
        except ExpressionError as error:
            self.fail(path, f"cannot read '{text}': {error}", key=key, offset=error.offset)
            return None

    # -- what the file declares, valid or not ---------------------------------------------------

    def declared_outcomes(self) -> list[str]:
        """The names under `outcomes`, as written, whether or not each outcome is valid."""
        data = self.document.data
        block = data.get("outcomes") if isinstance(data, dict) else None
        return [str(n) for n in block] if isinstance(block, dict) else []

    def declared_kind(self, name) -> str | None:
        """The kind `name` is declared as (binary, categorical or event), valid or not; None
        when it is not an outcome of the file."""
        block = self.document.data.get("outcomes")
        body = block.get(name) if isinstance(block, dict) and isinstance(name, str) else None
        if not isinstance(body, dict):
            return None
        if body.get("kind") in ("binary", "categorical", "event"):
            return body["kind"]
        return "categorical" if "categories" in body else "binary"
