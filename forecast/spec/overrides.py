"""What-ifs: a scenario file with the values at some key paths replaced.

An override names a value by its key path, written as `forecast run --set` takes it: keys joined
by dots, list indices counted from 0 in brackets, and a key that is not a plain name quoted in
brackets (`outcomes.full_shutdown.prior["not summit_held"]`). Overrides come from the command line
(`--set PATH=VALUE`, the value read as YAML) or from a variant in the file (`variants:`).

The file is validated as it is first, so its own problems keep their file:line:col. The
overrides are then applied to a copy of the document and the result is validated like a file;
every problem that this finds is one the overrides caused, and is reported against the override:
on the command line by its number and path (`--set #2 (evidence[0].weight): ...`), in a variant
at the variant's line.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import re
from dataclasses import replace

from forecast.errors import OptionError, Problem, ScenarioError
from forecast.spec import keys
from forecast.spec.readers import Checker, kind, suggest
from forecast.spec.scenario import Override, Scenario, WhatIf
from forecast.spec.yamlfile import Document, KeyPath, parse_document

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_INDEX = re.compile(r"\d+")
# A run's name follows the file's stem after '@' in a folder name.
RUN_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
# The schema's pattern for a key path, the grammar of parse_path.
PATH_PATTERN = (
    r"^([A-Za-z_][A-Za-z0-9_-]*|\[\"[^\"]*\"\]|\['[^']*'\])"
    r"(\.[A-Za-z_][A-Za-z0-9_-]*|\[[0-9]+\]|\[\"[^\"]*\"\]|\['[^']*'\])*$"
)
EXAMPLE = "such as evidence[0].weight or outcomes.p.prior"
# The lists of the format, and what one item of each is called in messages.
_ITEMS = {
    ("evidence",): "evidence item",
    ("reference_classes",): "reference class",
}


class PathError(ValueError):
    """A key path that does not follow the grammar."""


# -- key paths ------------------------------------------------------------------------------------


def parse_path(text: str) -> KeyPath:
    """The parts of a key path: names as text, list indices as whole numbers.

    Raises
    ------
    PathError
        If `text` is not a key path; the message says where and what is expected.
    """
    if not text:
        raise PathError(f"the path is empty; write one {EXAMPLE}")
    parts: list[str | int] = []
    position = 0
    while position < len(text):
        character = text[position]
        if character == "[":
            part, position = _bracket(text, position)
        elif character == "." and parts and position + 1 < len(text):
            match = _KEY.match(text, position + 1)
            if match is None:
                raise PathError(_unexpected(text, position + 1, "a key after '.'"))
            part, position = match.group(), match.end()
        elif character == "." and parts:
            raise PathError("the path ends with '.'; put a key after it")
        elif not parts:
            match = _KEY.match(text, position)
            if match is None:
                raise PathError(_unexpected(text, position, "a key"))
            part, position = match.group(), match.end()
        else:
            raise PathError(_unexpected(text, position, "'.', '[' or the end of the path"))
        parts.append(part)
    return tuple(parts)


def _bracket(text: str, start: int) -> tuple[str | int, int]:
    """The part written in brackets at `start`, and the position after the ']'."""
    end = text.find("]", start)
    inside = text[start + 1 : end] if end != -1 else text[start + 1 :]
    quote = inside[:1]
    if quote in ("'", '"'):
        close = text.find(quote + "]", start + 2)
        if close == -1:
            raise PathError(f"the quoted key at character {start + 2} is not closed with {quote}]")
        return text[start + 2 : close], close + 2
    if end == -1:
        raise PathError(f"the '[' at character {start + 1} is not closed with ']'")
    if not _INDEX.fullmatch(inside):
        raise PathError(
            f"[{inside}] at character {start + 1}: in brackets put a list index counted from 0, "
            'such as [0], or a quoted key, such as ["not summit_held"]'
        )
    return int(inside), end + 1


def _unexpected(text: str, position: int, expected: str) -> str:
    found = f"'{text[position]}'" if position < len(text) else "the end"
    return f"expected {expected} at character {position + 1}, found {found}; write a path {EXAMPLE}"


def format_path(path: KeyPath) -> str:
    """A key path as `--set` takes it: `evidence[0].weight`, `outcomes.x.prior["not y"]`."""
    written = []
    for position, part in enumerate(path):
        if isinstance(part, int):
            written.append(f"[{part}]")
        elif _KEY.fullmatch(str(part)):
            written.append(f".{part}" if position else str(part))
        else:
            quote = "'" if '"' in str(part) else '"'
            written.append(f"[{quote}{part}{quote}]")
    return "".join(written)


# -- overrides from the command line --------------------------------------------------------------


def read_set_options(options: tuple[str, ...] | list[str]) -> tuple[Override, ...]:
    """The overrides of `--set PATH=VALUE` options, in order.

    Raises
    ------
    OptionError
        If an option is not PATH=VALUE, its path is not a key path, or its value is not YAML.
    """
    return tuple(_set_option(text, number) for number, text in enumerate(options, start=1))


def _set_option(text: str, number: int) -> Override:
    label = f"--set #{number} '{text}'"
    split = _split_at_equals(text)
    if split is None:
        raise OptionError(
            f"{label}: expected PATH=VALUE, such as --set 'outcomes.p.prior={{beta: [4, 6]}}'"
        )
    written_path, written_value = split
    try:
        path = parse_path(written_path.strip())
    except PathError as error:
        raise OptionError(f"{label}: {error}") from None
    if path[0] == "variants":
        raise OptionError(f"{label}: variants cannot be overridden; run one with --variant NAME")
    where = f"--set #{number} ({format_path(path)})"
    if not written_value.strip():
        raise OptionError(f"{where}: no value after '='; write the value as YAML, such as 0.8")
    try:
        document = parse_document(written_value.encode("utf-8"), where)
    except ScenarioError as error:
        problem = error.problems[0]
        raise OptionError(
            f"{where}: the value is not YAML that a scenario can hold: {problem.message} "
            f"(character {problem.column})"
        ) from None
    return Override(path, document.data, text, number)


def _split_at_equals(text: str) -> tuple[str, str] | None:
    """PATH and VALUE of PATH=VALUE, at the first '=' outside a quoted key in brackets."""
    quote = None
    for position, character in enumerate(text):
        if quote is not None:
            if character == quote and text[position + 1 : position + 2] == "]":
                quote = None
        elif character in ("'", '"') and text[position - 1 : position] == "[":
            quote = character
        elif character == "=":
            return text[:position], text[position + 1 :]
    return None


def command_line_what_if(overrides: tuple[Override, ...], name: str | None) -> WhatIf:
    """The what-if of `--set` options, named NAME or by a hash of the overrides.

    Raises
    ------
    OptionError
        If `name` cannot be part of a folder's name.
    """
    if name is None:
        canonical = json.dumps(
            [[format_path(o.path), o.value] for o in overrides],
            default=str,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        name = "set-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:8]
    elif not RUN_NAME.match(name):
        raise OptionError(
            f"--name '{name}': use lower-case letters, digits, - and _, starting with a letter or "
            "digit, such as 'dovish-2'"
        )
    return WhatIf(name, None, overrides, in_file=False)


def choose_variants(scenario: Scenario, names: tuple[str, ...] | list[str]) -> list[WhatIf]:
    """The file's variants called `names`, in the file's order; all of them when none is named.

    Raises
    ------
    OptionError
        If a name is not a variant of the file.
    """
    by_name = {variant.name: variant for variant in scenario.variants}
    for name in names:
        if name not in by_name:
            listed = ", ".join(by_name) if by_name else "none"
            raise OptionError(
                f"--variant '{name}': {scenario.source_file} has no such variant"
                f"{suggest(name, by_name)} (its variants: {listed})"
            )
    if not names:
        return list(scenario.variants)
    return [variant for variant in scenario.variants if variant.name in names]


def describe_overrides(what_if: WhatIf | None) -> list[dict]:
    """The overrides as summary.json records them: the path as `--set` takes it, the value."""
    if what_if is None:
        return []
    return [
        {"path": format_path(override.path), "value": _plain(override.value)}
        for override in what_if.overrides
    ]


def _plain(value):
    """A YAML value as JSON can hold it: dates as ISO text."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


# -- variants in the file -------------------------------------------------------------------------


def read_variants(check: Checker, value) -> list[WhatIf]:
    """The file's `variants`: each a name, an optional description and the values it sets."""
    if value is None:
        return []
    block = check.mapping(value, ("variants",), "variants")
    if block is None:
        return []
    variants = []
    for name, body in block.items():
        path = ("variants", name)
        if not check.name(name, path, "a variant's name", key=True):
            continue
        body = check.mapping(body, path, f"variant '{name}'")
        if body is None:
            continue
        check.check_keys(body, path, keys.VARIANT)
        description = None
        if "description" in body:
            description = check.text(body["description"], (*path, "description"))
        if "set" not in body:
            continue  # check_keys has said it is missing
        entries = check.mapping(body["set"], (*path, "set"), "set")
        if entries is None:
            continue
        if not entries:
            check.fail((*path, "set"), "set is empty; give at least one key path and its value")
            continue
        overrides = []
        for number, (written, new_value) in enumerate(entries.items(), start=1):
            overrides.append(_variant_entry(check, (*path, "set", written), new_value, number))
        if None not in overrides:
            variants.append(WhatIf(name, description, tuple(overrides), in_file=True))
    return variants


def _variant_entry(check: Checker, path: KeyPath, value, number: int) -> Override | None:
    written = path[-1]
    if not isinstance(written, str):
        check.fail(path, f"a key path must be text {EXAMPLE}, got {kind(written)}", key=True)
        return None
    try:
        parsed = parse_path(written)
    except PathError as error:
        check.fail(path, f"cannot read the key path '{written}': {error}", key=True)
        return None
    if parsed[0] == "variants":
        check.fail(path, "a variant cannot change variants", key=True)
        return None
    where = check.document.where(path, key=True)
    return Override(parsed, value, written, number, where.line, where.column)


# -- applying a what-if ---------------------------------------------------------------------------


def apply_what_if(document: Document, base: Scenario, what_if: WhatIf) -> Scenario:
    """The scenario of `document` (the valid file `base` was read from) with the what-if's
    overrides applied and validated; raises ScenarioError naming the override at fault."""
    data = copy.deepcopy(document.data)
    data.pop("variants", None)  # a what-if is one run; its variants are the file's business
    problems = []
    for override in what_if.overrides:
        message = _place(data, override.path, copy.deepcopy(override.value))
        if message is not None:
            problems.append(_problem(document, what_if, [override], message, ()))
    if problems:
        raise ScenarioError(problems)
    try:
        scenario = _validate(document, data, base, what_if.overrides)
    except ScenarioError as error:
        causes = _Causes(document, base, what_if.overrides)
        attributed = [_attribute(p, document, what_if, causes) for p in error.problems]
        raise ScenarioError(list(dict.fromkeys(attributed))) from None
    return replace(scenario, sha256=base.sha256, what_if=what_if)


def _validate(document: Document, data, base: Scenario, overrides) -> Scenario:
    """The scenario of `data`, the document with the overrides in place."""
    from forecast.spec.validate import validate

    changed = Document(
        document.file,
        data,
        _outside(document.values, overrides),
        _outside(document.keys, overrides),
    )
    return validate(changed, base.text.encode("utf-8"), base.text)


class _Causes:
    """Which overrides, each applied alone, give a problem: asked only for a problem outside
    every overridden value, such as an evidence item's count beyond trials an override cut."""

    def __init__(self, document: Document, base: Scenario, overrides):
        self.document, self.base, self.overrides = document, base, overrides
        self.alone: dict[int, set] = {}

    def of(self, problem: Problem) -> list[Override]:
        found = (problem.path, problem.message)
        return [o for o in self.overrides if found in self._problems_alone(o)]

    def _problems_alone(self, override: Override) -> set:
        if override.number not in self.alone:
            data = copy.deepcopy(self.document.data)
            data.pop("variants", None)
            _place(data, override.path, copy.deepcopy(override.value))
            try:
                _validate(self.document, data, self.base, [override])
                problems = set()
            except ScenarioError as error:
                problems = {(p.path, p.message) for p in error.problems}
            self.alone[override.number] = problems
        return self.alone[override.number]


def _outside(table: dict, overrides) -> dict:
    """The locations of a document outside every overridden value."""
    return {
        path: where
        for path, where in table.items()
        if not any(path[: len(o.path)] == o.path for o in overrides)
    }


def _place(data, path: KeyPath, value) -> str | None:
    """Put `value` at `path` in `data`; what is wrong with the path, or None."""
    container = data
    for depth, part in enumerate(path):
        here, last = path[:depth], depth == len(path) - 1
        if isinstance(part, int):
            if not isinstance(container, list):
                return _not_a(here, container, "a list", f"[{part}] does not apply")
            if part >= len(container):
                return _no_item(here, part, len(container))
            if last:
                container[part] = value
            container = container[part]
            continue
        if not isinstance(container, dict):
            if isinstance(container, list):
                example = format_path((*here, 0))
                return f"{format_path(here)} is a list; give an index, such as {example}"
            return _not_a(here, container, "a mapping", f"it has no key '{part}'")
        part = mapping_key(container, part)
        if part not in container:
            message = _missing_key(here, part, container, last=last)
            if message is not None:
                return message
            container[part] = value if last else {}
        elif last:
            container[part] = value
        container = container[part]
    return None


def _not_a(here: KeyPath, value, wanted: str, consequence: str) -> str:
    return f"{format_path(here)} is {kind(value)}, not {wanted}, so {consequence}"


def _no_item(here: KeyPath, index: int, length: int) -> str:
    listed = format_path((*here, 0))
    if length > 1:
        listed += f" to {format_path((*here, length - 1))}"
    has = f"{length} ({listed})" if length else "none"
    what = _ITEMS.get(here)
    if what is not None:
        return f"no {what} {index}; the file has {has}"
    return f"no item {index} in {format_path(here)}; it has {has}"


def _missing_key(here: KeyPath, key: str, mapping: dict, *, last: bool) -> str | None:
    """Why `key` may not be added to the mapping at `here`, or None where it may.

    A key that the mapping's block allows may be added (`sampling.draws` in a file without
    `sampling`); so may a new named scenario, and the last key of a prior or a row, which the
    validation then checks. A new outcome may not: an override changes the file's outcomes, and
    a misspelt name would otherwise add one.
    """
    if here == ("outcomes",):
        return f"no outcome '{key}'{suggest(key, mapping)} (outcomes: {', '.join(mapping)})"
    if here == ("scenarios",) and last:
        return None
    block = _block_at(here)
    if block is not None:
        if key in block.names:
            return None
        place = format_path(here) if here else "the top level"
        return (
            f"no key '{key}' in {place}{suggest(key, block.names)} "
            f"(allowed: {', '.join(block.names)})"
        )
    if last:
        return None
    listed = ", ".join(str(k) for k in mapping) or "nothing"
    return (
        f"no key '{key}' in {format_path(here)}{suggest(key, map(str, mapping))} (it has: {listed})"
    )


def _block_at(path: KeyPath) -> keys.Block | None:
    """The block of keys of the mapping at `path`, where the format fixes it."""
    match path:
        case ():
            return keys.TOP
        case ("sampling",):
            return keys.SAMPLING
        case ("outcomes", str()):
            return keys.OUTCOME
        case ("outcomes", str(), "categories", int()):
            return keys.CATEGORY
        case ("evidence", int()):
            return keys.EVIDENCE
        case ("reference_classes", int()):
            return keys.REFERENCE_CLASS
        case ("reference_classes", int(), "cases", int()):
            return keys.CASE
    return None


def _attribute(problem: Problem, document: Document, what_if: WhatIf, causes: _Causes) -> Problem:
    """A problem of the overridden document, told as a problem of the override behind it.

    A problem inside an overridden value is the override's; one at a value that contains an
    overridden one (a prior whose parameter was set) belongs to those overrides; one elsewhere
    (evidence that counts a category an override removed) to the overrides that give it even
    alone, or else to all of them, with where it is.
    """
    path = problem.path
    # The overrides inside the value the problem is about: the most specific cause.
    related = [o for o in what_if.overrides if o.path[: len(path)] == path and o.path != path]
    inside = [o for o in what_if.overrides if path[: len(o.path)] == o.path]
    if inside and not related:
        override = max(inside, key=lambda o: (len(o.path), o.number))
        rest = path[len(override.path) :]
        message = f"{format_path(path)}: {problem.message}" if rest else problem.message
        return _problem(document, what_if, [override], message, rest)
    if not path:
        message = problem.message
    elif related:
        message = f"{format_path(path)}: {problem.message}"
    else:  # elsewhere in the file: say where
        message = f"{format_path(path)} (line {problem.line}): {problem.message}"
        related = causes.of(problem)
    return _problem(document, what_if, related or list(what_if.overrides), message, ())


def _problem(
    document: Document, what_if: WhatIf, overrides: list[Override], message: str, rest: KeyPath
) -> Problem:
    first = overrides[0]
    if what_if.in_file:
        # At the variant's entry: at the very value inside it, where the file has one.
        path = ("variants", what_if.name, "set", first.written)
        where = document.where((*path, *rest)) if rest else None
        line, column = (where.line, where.column) if where else (first.line, first.column)
        return Problem(document.file, line, column, path, message, path)
    numbers = ", ".join(f"#{o.number} ({format_path(o.path)})" for o in overrides)
    return Problem(document.file, 0, 0, (), message, first.path, origin=f"--set {numbers}")


def mapping_key(container: dict, part):
    """The key of a mapping that a path's part names: the part itself, or a date written as a
    key (a probability by a date), which a path names by its ISO form."""
    return next(
        (key for key in container if isinstance(key, dt.date) and key.isoformat() == part), part
    )
