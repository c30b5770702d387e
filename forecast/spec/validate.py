"""From a YAML document to a validated Scenario, reporting every problem of the file at once."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
from collections.abc import Iterable

from forecast.errors import Problem, ScenarioError
from forecast.spec import priors as prior_forms
from forecast.spec.expressions import (
    And,
    ExpressionError,
    Happens,
    Is,
    Not,
    atoms,
    parse,
)
from forecast.spec.scenario import (
    Case,
    Evidence,
    NamedScenario,
    Outcome,
    ReferenceClass,
    Row,
    Sampling,
    Scenario,
    parent_combinations,
)
from forecast.spec.yamlfile import Document, KeyPath

NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
RESERVED = frozenset({"not", "and", "or", "otherwise"})
OTHERWISE = "otherwise"
MAX_COMBINATIONS = 64

TOP_KEYS = (
    "version",
    "title",
    "question",
    "as_of",
    "horizon",
    "seed",
    "sampling",
    "outcomes",
    "evidence",
    "reference_classes",
    "scenarios",
)
OUTCOME_KEYS = ("label", "description", "given", "categories", "prior")
SAMPLING_KEYS = ("draws", "tune", "chains")
EVIDENCE_KEYS = ("outcome", "when", "successes", "trials", "counts", "weight", "source")
REFERENCE_KEYS = ("outcome", "when", "pooling", "source", "cases")
CASE_KEYS = ("name", "successes", "trials")
BINARY_PRIOR_KEYS = ("beta", "mean", "sd", "interval", "mass", "sample_size")
CATEGORICAL_PRIOR_KEYS = ("dirichlet", "probabilities", "sample_size")
BINARY_FORMS = (
    "{beta: [a, b]}, {mean: m, sd: s}, {interval: [lo, hi], mass: 0.9} or {mean: m, sample_size: n}"
)
CATEGORICAL_FORMS = "{dirichlet: [...]} or {probabilities: {category: p, ...}, sample_size: n}"


def suggest(word: object, choices: Iterable[str]) -> str:
    """A did-you-mean clause for a misspelled name, or nothing when no name is close."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _show(path: KeyPath) -> tuple[str, ...]:
    return tuple(f"item {part + 1}" if isinstance(part, int) else str(part) for part in path)


class _Validator:
    def __init__(self, document: Document):
        self.document = document
        self.problems: list[Problem] = []
        # Categories of every declared outcome (None: invalid), valid outcomes' parents included.
        self.declared_categories: dict[str, tuple[str, ...] | None] = {}

    # -- reporting ------------------------------------------------------------------------------

    def fail(self, path: KeyPath, message: str, *, key: bool = False, offset: int | None = None):
        where = self.document.where(path, key=key)
        column = where.column
        if offset is not None:
            column += offset + (1 if where.quoted else 0)
        self.problems.append(Problem(self.document.file, where.line, column, _show(path), message))

    def check_keys(
        self, mapping: dict, path: KeyPath, allowed: Iterable[str], required: Iterable[str] = ()
    ) -> None:
        allowed = tuple(allowed)
        for key in mapping:
            if key not in allowed:
                self.fail(
                    (*path, key),
                    f"unknown key '{key}'{suggest(key, allowed)} (allowed: {', '.join(allowed)})",
                    key=True,
                )
        for key in required:
            if key not in mapping:
                self.fail(path, f"missing required key '{key}'")

    # -- typed readers: each returns None after reporting a problem -----------------------------

    def mapping(self, value, path: KeyPath, what: str) -> dict | None:
        if isinstance(value, dict):
            return value
        self.fail(path, f"{what} must be a mapping (key: value lines), got {_kind(value)}")
        return None

    def text(self, value, path: KeyPath) -> str | None:
        if isinstance(value, str) and value.strip():
            return value
        self.fail(path, f"must be non-empty text, got {_kind(value)}")
        return None

    def number(self, value, path: KeyPath) -> float | None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if value != value or value in (float("inf"), float("-inf")):
                self.fail(path, "must be a finite number")
                return None
            return float(value)
        self.fail(path, f"must be a number, got {_kind(value)}")
        return None

    def count(self, value, path: KeyPath, *, positive: bool = False) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0 or (positive and value == 0):
                bound = "at least 1" if positive else "0 or more"
                self.fail(path, f"must be a whole number {bound}, got {value}")
                return None
            return value
        self.fail(path, f"must be a whole number, got {_kind(value)}")
        return None

    def date(self, value, path: KeyPath) -> dt.date | None:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        self.fail(path, f"must be an ISO date such as 2018-05-20, got {_kind(value)}")
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

    def name(self, value, path: KeyPath, what: str, *, key: bool = False) -> bool:
        if isinstance(value, str) and NAME.match(value) and value not in RESERVED:
            return True
        if isinstance(value, str) and value in RESERVED:
            self.fail(path, f"'{value}' is a reserved word and cannot be {what}", key=key)
        elif not isinstance(value, str):
            # YAML reads yes, no, on, off, null and numbers as values, not as names.
            self.fail(
                path,
                f"{what} must be lower-case letters, digits and _, starting with a letter; "
                f"got {_kind(value)}",
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

    def expression(self, text, path: KeyPath, *, key: bool = False):
        if not isinstance(text, str):
            self.fail(path, f"must be an expression in quotes, got {_kind(text)}", key=key)
            return None
        try:
            return parse(text)
        except ExpressionError as error:
            self.fail(path, f"cannot read '{text}': {error}", key=key, offset=error.offset)
            return None

    # -- the document ---------------------------------------------------------------------------

    def scenario(self) -> Scenario | None:
        data = self.document.data
        if not isinstance(data, dict):
            self.fail(
                (),
                f"the top level must be a mapping with version, title and outcomes, "
                f"got {_kind(data)}",
            )
            return None
        self.check_keys(data, (), TOP_KEYS, ("version", "title", "outcomes"))
        version = data.get("version")
        if "version" in data and (version != 1 or isinstance(version, bool)):
            self.fail(("version",), f"unsupported version {version!r}; the only version is 1")
        title = self.text(data["title"], ("title",)) if "title" in data else None
        question = self.text(data["question"], ("question",)) if "question" in data else None
        as_of = self.date(data["as_of"], ("as_of",)) if "as_of" in data else None
        horizon = self.date(data["horizon"], ("horizon",)) if "horizon" in data else None
        if as_of and horizon and horizon < as_of:
            self.fail(("horizon",), f"horizon {horizon} is before as_of {as_of}")
        seed = None
        if "seed" in data:
            seed = self.count(data["seed"], ("seed",))
        sampling = self.sampling(data.get("sampling"))
        outcomes = self.outcomes(data.get("outcomes")) if "outcomes" in data else []
        by_name = {o.name: o for o in outcomes}
        evidence = self.evidence(data.get("evidence"), by_name)
        reference_classes = self.reference_classes(data.get("reference_classes"), by_name)
        scenarios = self.named_scenarios(data.get("scenarios"), by_name)
        if self.problems:
            return None
        text = self.document_text
        return Scenario(
            version=1,
            title=title,
            question=question,
            as_of=as_of,
            horizon=horizon,
            seed=seed,
            sampling=sampling,
            outcomes=tuple(outcomes),
            evidence=tuple(evidence),
            reference_classes=tuple(reference_classes),
            scenarios=tuple(scenarios),
            source_file=self.document.file,
            text=text,
            sha256=hashlib.sha256(self.raw).hexdigest(),
        )

    def sampling(self, value) -> Sampling:
        if value is None:
            return Sampling()
        block = self.mapping(value, ("sampling",), "sampling")
        if block is None:
            return Sampling()
        self.check_keys(block, ("sampling",), SAMPLING_KEYS)
        read = {}
        for key in SAMPLING_KEYS:
            if key in block:
                read[key] = self.count(block[key], ("sampling", key), positive=True)
        if (read.get("draws") or 100) < 100:
            self.fail(("sampling", "draws"), "draws must be at least 100 for stable summaries")
        return Sampling(**read)

    # -- outcomes -------------------------------------------------------------------------------

    def outcomes(self, value) -> list[Outcome]:
        block = self.mapping(value, ("outcomes",), "outcomes")
        if block is None:
            return []
        if not block:
            self.fail(("outcomes",), "at least one outcome is needed")
            return []
        declared: dict[str, dict] = {}
        for name, body in block.items():
            path = ("outcomes", name)
            if not self.name(name, path, "an outcome name", key=True):
                continue
            body = self.mapping(body, path, f"outcome '{name}'")
            if body is None:
                continue
            self.check_keys(body, path, OUTCOME_KEYS, ("prior",))
            declared[name] = body
        categories = {name: self.categories(name, body) for name, body in declared.items()}
        self.declared_categories = categories
        parents: dict[str, tuple[str, ...]] = {}
        wrong_parents: set[str] = set()
        for name, body in declared.items():
            reported = len(self.problems)
            parents[name] = self.parents(name, body, declared)
            if len(self.problems) > reported:
                # Its rows would be judged against the wrong parents: one message is enough.
                wrong_parents.add(name)
        on_cycle = self.find_cycles(parents)
        outcomes: dict[str, Outcome] = {}
        for name in _topological(parents, on_cycle):
            body = declared[name]
            if name in wrong_parents:
                continue
            if categories[name] is None or any(categories[p] is None for p in parents[name]):
                continue
            outcome = self.outcome(name, body, categories, parents[name])
            if outcome is not None:
                outcomes[name] = outcome
        return list(outcomes.values())

    def categories(self, name: str, body: dict) -> tuple[str, ...] | None:
        if "categories" not in body:
            return ()
        path = ("outcomes", name, "categories")
        value = body["categories"]
        if not isinstance(value, list) or len(value) < 2:
            self.fail(path, "categories must be a list of at least two names")
            return None
        seen: set[str] = set()
        good = True
        for index, category in enumerate(value):
            if not self.name(category, (*path, index), "a category name"):
                good = False
            elif category in seen:
                self.fail((*path, index), f"duplicate category '{category}'; each must be unique")
                good = False
            else:
                seen.add(category)
        return tuple(value) if good else None

    def parents(self, name: str, body: dict, declared: dict) -> tuple[str, ...]:
        if "given" not in body:
            return ()
        path = ("outcomes", name, "given")
        value = body["given"]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            self.fail(path, "given must be a list of outcome names, such as [summit_held]")
            return ()
        result: list[str] = []
        for index, parent in enumerate(value):
            if not isinstance(parent, str):
                self.fail((*path, index), f"a parent must be an outcome name, got {_kind(parent)}")
            elif parent == name:
                self.fail((*path, index), f"'{name}' cannot depend on itself")
            elif parent not in declared:
                known = [n for n in declared if n != name]
                self.fail(
                    (*path, index),
                    f"unknown outcome '{parent}'{suggest(parent, known)}"
                    f" (outcomes: {', '.join(known)})",
                )
            elif parent in result:
                self.fail((*path, index), f"'{parent}' is listed twice")
            else:
                result.append(parent)
        return tuple(result)

    def find_cycles(self, parents: dict[str, tuple[str, ...]]) -> set[str]:
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
                    self.fail(
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

    def outcome(self, name, body, categories, parents) -> Outcome | None:
        path = ("outcomes", name)
        label = body.get("label", name)
        if "label" in body and self.text(label, (*path, "label")) is None:
            label = name
        description = None
        if "description" in body:
            description = self.text(body["description"], (*path, "description"))
        own = categories[name]
        if "prior" not in body:
            return None
        cards = [2 if not categories[p] else len(categories[p]) for p in parents]
        combinations = parent_combinations(cards)
        if len(combinations) > MAX_COMBINATIONS:
            self.fail(
                (*path, "given"),
                f"the parents have {len(combinations)} combinations of values, more than "
                f"{MAX_COMBINATIONS}; split the outcome or use fewer parents",
            )
            return None
        prior_path = (*path, "prior")
        if not parents:
            prior = self.prior(body["prior"], prior_path, own, name)
            if prior is None:
                return None
            return Outcome(name, label, description, own, (), (Row("", prior, ((),)),), (0,))
        block = self.mapping(body["prior"], prior_path, "the prior of an outcome with parents")
        if block is None:
            return None
        form_keys = set(BINARY_PRIOR_KEYS + CATEGORICAL_PRIOR_KEYS)
        if block and set(block) <= form_keys:
            self.fail(
                prior_path,
                f"'{name}' is given {', '.join(parents)}, so its prior needs one entry per "
                f"condition row, such as `{_example_row(parents, categories)}: "
                "{mean: 0.3, sd: 0.1}`, and `otherwise:` for the rest",
            )
            return None
        rows: list[Row] = []
        row_of: dict[tuple[int, ...], int] = {}
        otherwise_prior = None
        for key, value in block.items():
            row_path = (*prior_path, key)
            prior = self.prior(value, row_path, own, name)
            if key == OTHERWISE:
                otherwise_prior = prior
                continue
            combination = self.row_key(key, row_path, name, parents, categories)
            if combination is None or prior is None:
                continue
            if combination in row_of:
                earlier = rows[row_of[combination]].key
                self.fail(
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
                self.fail(
                    (*prior_path, OTHERWISE),
                    "'otherwise' covers no combination, every one has its own row; remove it",
                    key=True,
                )
                return None
            for combination in missing:
                row_of[combination] = len(rows)
            rows.append(Row(OTHERWISE, otherwise_prior, tuple(missing)))
        elif missing:
            described = [_describe(c, parents, categories) for c in missing]
            self.fail(
                prior_path,
                f"no prior for {len(missing)} combination(s) of {', '.join(parents)}: "
                f"{'; '.join(described)}. Add a row for each, or an `otherwise:` row",
            )
            return None
        return Outcome(
            name,
            label,
            description,
            own,
            parents,
            tuple(rows),
            tuple(row_of[c] for c in combinations),
            tuple(cards),
        )

    def row_key(self, key, path, name, parents, categories) -> tuple[int, ...] | None:
        """The parent combination a row key fixes; every parent exactly once, joined by `and`."""
        expression = self.expression(key, path, key=True)
        if expression is None:
            return None
        literals = expression.operands if isinstance(expression, And) else (expression,)
        values: dict[str, int] = {}
        shape = (
            f"a row key fixes every parent of '{name}' ({', '.join(parents)}) with 'and', "
            f"such as '{_example_row(parents, categories)}'"
        )
        for literal in literals:
            negated = isinstance(literal, Not)
            atom = literal.operand if negated else literal
            if not isinstance(atom, Happens | Is) or (negated and isinstance(atom, Is)):
                self.fail(path, f"'{key}' is not a row key: {shape}", key=True)
                return None
            if atom.outcome not in parents:
                self.fail(
                    path,
                    f"'{atom.outcome}' is not a parent of '{name}'"
                    f"{suggest(atom.outcome, parents)}; {shape}",
                    key=True,
                    offset=atom.offset,
                )
                return None
            value = self.atom_value(atom, negated, path, categories, key=True)
            if value is None:
                return None
            if atom.outcome in values:
                self.fail(path, f"'{atom.outcome}' appears twice in '{key}'; {shape}", key=True)
                return None
            values[atom.outcome] = value
        absent = [p for p in parents if p not in values]
        if absent:
            self.fail(path, f"'{key}' does not fix {', '.join(absent)}; {shape}", key=True)
            return None
        return tuple(values[p] for p in parents)

    def atom_value(self, atom, negated, path, categories, *, key=False, row_key=True) -> int | None:
        own = categories[atom.outcome]
        if isinstance(atom, Happens):
            if own:
                self.fail(
                    path,
                    f"'{atom.outcome}' is categorical; write '{atom.outcome} == {own[0]}' "
                    f"(categories: {', '.join(own)})",
                    key=key,
                    offset=atom.offset,
                )
                return None
            return 0 if negated else 1
        if not own:
            self.fail(
                path,
                f"'{atom.outcome}' is binary; write '{atom.outcome}' or 'not {atom.outcome}'",
                key=key,
                offset=atom.offset,
            )
            return None
        if atom.category not in own:
            self.fail(
                path,
                f"'{atom.outcome}' has no category '{atom.category}'"
                f"{suggest(atom.category, own)} (categories: {', '.join(own)})",
                key=key,
                offset=atom.category_offset,
            )
            return None
        if atom.negated and row_key:
            self.fail(
                path,
                f"a row key must fix '{atom.outcome}' with ==, not !=",
                key=key,
                offset=atom.offset,
            )
            return None
        return own.index(atom.category)

    # -- priors ---------------------------------------------------------------------------------

    def prior(self, value, path, categories, name):
        block = self.mapping(value, path, "a prior")
        if block is None:
            return None
        if categories:
            return self.dirichlet(block, path, categories, name)
        return self.beta(block, path, name)

    def beta(self, block, path, name):
        keys = set(block)
        unknown = keys - set(BINARY_PRIOR_KEYS)
        if unknown:
            if keys & set(CATEGORICAL_PRIOR_KEYS) - {"sample_size"}:
                self.fail(
                    path,
                    f"'{name}' is binary, so its prior is one of {BINARY_FORMS}; "
                    "dirichlet and probabilities are for categorical outcomes",
                )
                return None
            self.check_keys(block, path, BINARY_PRIOR_KEYS)
            return None
        try:
            if keys == {"beta"}:
                pair = self.pair(block["beta"], (*path, "beta"), "beta")
                if pair is None:
                    return None
                if min(pair) <= 0:
                    self.fail(
                        (*path, "beta"),
                        f"Beta parameters must be greater than 0, got [{pair[0]:g}, {pair[1]:g}]",
                    )
                    return None
                return prior_forms.BetaPrior(pair[0], pair[1], f"Beta({pair[0]:g}, {pair[1]:g})")
            if keys == {"mean", "sd"}:
                mean = self.probability(block["mean"], (*path, "mean"))
                sd = self.number(block["sd"], (*path, "sd"))
                if mean is None or sd is None:
                    return None
                return self.convert(prior_forms.beta_from_mean_sd, (mean, sd), (*path, "sd"))
            if keys == {"mean", "sample_size"}:
                mean = self.probability(block["mean"], (*path, "mean"))
                size = self.number(block["sample_size"], (*path, "sample_size"))
                if mean is None or size is None:
                    return None
                return self.convert(
                    prior_forms.beta_from_sample_size, (mean, size), (*path, "sample_size")
                )
            if keys in ({"interval"}, {"interval", "mass"}):
                pair = self.pair(block["interval"], (*path, "interval"), "interval")
                mass = 0.9
                if "mass" in block:
                    mass = self.probability(block["mass"], (*path, "mass"))
                if pair is None or mass is None:
                    return None
                return self.convert(
                    prior_forms.beta_from_interval, (*pair, mass), (*path, "interval")
                )
        except _Reported:
            return None
        written = ", ".join(sorted(keys)) or "nothing"
        self.fail(path, f"a prior for a probability is one of {BINARY_FORMS}; got {written}")
        return None

    def dirichlet(self, block, path, categories, name):
        keys = set(block)
        if keys - set(CATEGORICAL_PRIOR_KEYS):
            if keys & {"beta", "mean", "sd", "interval"}:
                self.fail(
                    path,
                    f"'{name}' is categorical, so its prior is {CATEGORICAL_FORMS}",
                )
                return None
            self.check_keys(block, path, CATEGORICAL_PRIOR_KEYS)
            return None
        if keys == {"dirichlet"}:
            value = block["dirichlet"]
            vpath = (*path, "dirichlet")
            if isinstance(value, dict):
                values = self.per_category(value, vpath, categories)
            elif isinstance(value, list):
                if len(value) != len(categories):
                    self.fail(
                        vpath,
                        f"dirichlet needs {len(categories)} numbers, one per category in order "
                        f"({', '.join(categories)}), got {len(value)}",
                    )
                    return None
                values = [self.number(v, (*vpath, i)) for i, v in enumerate(value)]
                values = None if None in values else values
            else:
                self.fail(vpath, "dirichlet must be a list of numbers or a category mapping")
                return None
            if values is None:
                return None
            if min(values) <= 0:
                self.fail(vpath, "Dirichlet concentrations must be greater than 0")
                return None
            stated = "Dirichlet(" + ", ".join(f"{v:g}" for v in values) + ")"
            return prior_forms.DirichletPrior(tuple(values), stated)
        if keys == {"probabilities", "sample_size"}:
            vpath = (*path, "probabilities")
            if not isinstance(block["probabilities"], dict):
                self.fail(vpath, "probabilities must be a mapping category -> probability")
                return None
            values = self.per_category(block["probabilities"], vpath, categories, probability=True)
            size = self.number(block["sample_size"], (*path, "sample_size"))
            if values is None or size is None:
                return None
            try:
                return self.convert(
                    prior_forms.dirichlet_from_probabilities,
                    (dict(zip(categories, values, strict=True)), size, categories),
                    vpath,
                )
            except _Reported:
                return None
        written = ", ".join(sorted(keys)) or "nothing"
        self.fail(path, f"a prior for a categorical outcome is {CATEGORICAL_FORMS}; got {written}")
        return None

    def per_category(self, value: dict, path, categories, *, probability=False):
        good = True
        for key in value:
            if key not in categories:
                self.fail(
                    (*path, key),
                    f"unknown category '{key}'{suggest(key, categories)} "
                    f"(categories: {', '.join(categories)})",
                    key=True,
                )
                good = False
        missing = [c for c in categories if c not in value]
        if missing:
            self.fail(path, f"every category needs a value; missing: {', '.join(missing)}")
            good = False
        if not good:
            return None
        read = []
        for category in categories:
            if probability:
                number = self.probability(value[category], (*path, category))
            else:
                number = self.number(value[category], (*path, category))
            if number is None:
                return None
            read.append(number)
        return read

    def pair(self, value, path, what) -> tuple[float, float] | None:
        if not isinstance(value, list) or len(value) != 2:
            self.fail(path, f"{what} must be a list of two numbers, such as [1, 4]")
            return None
        first = self.number(value[0], (*path, 0))
        second = self.number(value[1], (*path, 1))
        if first is None or second is None:
            return None
        return first, second

    def convert(self, function, arguments, path):
        try:
            return function(*arguments)
        except ValueError as error:
            self.fail(path, str(error))
            raise _Reported from None

    # -- evidence and reference classes ---------------------------------------------------------

    def items(self, value, key: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail((key,), f"{key} must be a list of items, each starting with '- '")
            return []
        return value

    def target_outcome(self, item, path, by_name) -> Outcome | None:
        if "outcome" not in item:
            return None
        name = item["outcome"]
        if not isinstance(name, str):
            self.fail((*path, "outcome"), f"must be an outcome name, got {_kind(name)}")
            return None
        if name not in by_name:
            declared = self.declared_outcomes()
            if name in declared:
                return None  # the outcome itself is invalid and already reported
            self.fail(
                (*path, "outcome"),
                f"unknown outcome '{name}'{suggest(name, declared)} "
                f"(outcomes: {', '.join(declared)})",
            )
            return None
        return by_name[name]

    def declared_binary(self, name) -> bool:
        """Whether `name` is declared as an outcome without categories, valid or not."""
        block = self.document.data.get("outcomes")
        body = block.get(name) if isinstance(block, dict) and isinstance(name, str) else None
        return isinstance(body, dict) and "categories" not in body

    def declared_outcomes(self) -> list[str]:
        block = self.document.data.get("outcomes") if isinstance(self.document.data, dict) else None
        return [str(n) for n in block] if isinstance(block, dict) else []

    def when(self, item, path, outcome: Outcome, categories) -> tuple[int | None, bool]:
        """The row index `when` names (None: overall); the flag says whether it was valid."""
        if "when" not in item:
            return None, True
        wpath = (*path, "when")
        if not outcome.parents:
            self.fail(wpath, f"'{outcome.name}' has no parents (given), so remove 'when'")
            return None, False
        text = item["when"]
        if text == OTHERWISE:
            for index, row in enumerate(outcome.rows):
                if row.key == OTHERWISE:
                    return index, True
            self.fail(wpath, f"'{outcome.name}' has no 'otherwise' row")
            return None, False
        combination = self.row_key(text, wpath, outcome.name, outcome.parents, categories)
        if combination is None:
            return None, False
        cards = [2 if not categories[p] else len(categories[p]) for p in outcome.parents]
        position = parent_combinations(cards).index(combination)
        return outcome.row_of_combination[position], True

    def evidence(self, value, by_name) -> list[Evidence]:
        result = []
        categories = self.declared_categories
        for index, item in enumerate(self.items(value, "evidence")):
            path = ("evidence", index)
            item = self.mapping(item, path, "an evidence item")
            if item is None:
                continue
            self.check_keys(item, path, EVIDENCE_KEYS, ("outcome",))
            outcome = self.target_outcome(item, path, by_name)
            weight = 1.0
            if "weight" in item:
                weight = self.number(item["weight"], (*path, "weight"))
                if weight is not None and not 0 < weight <= 1:
                    self.fail(
                        (*path, "weight"),
                        f"weight must be in (0, 1]: 1 for fully relevant evidence, less to "
                        f"discount it; got {item['weight']}",
                    )
                    weight = None
            source = self.text(item["source"], (*path, "source")) if "source" in item else None
            if outcome is None:
                if self.declared_binary(item.get("outcome")):
                    # Its prior is wrong, but successes and trials can still be checked.
                    self.binary_counts(item, path, item["outcome"])
                continue
            row, when_ok = self.when(item, path, outcome, categories)
            if outcome.is_binary:
                data = self.binary_counts(item, path, outcome.name)
                if data is None or weight is None or not when_ok:
                    continue
                result.append(
                    Evidence(outcome.name, row, item.get("when"), *data, None, weight, source)
                )
            else:
                counts = self.category_counts(item, path, outcome)
                if counts is None or weight is None or not when_ok:
                    continue
                result.append(
                    Evidence(
                        outcome.name, row, item.get("when"), None, None, counts, weight, source
                    )
                )
        return result

    def binary_counts(self, item, path, name) -> tuple[int, int] | None:
        if "counts" in item:
            self.fail(
                (*path, "counts"),
                f"'{name}' is binary: give successes and trials instead of counts",
                key=True,
            )
            return None
        for key in ("successes", "trials"):
            if key not in item:
                self.fail(path, f"missing required key '{key}' (evidence on a binary outcome)")
        if "successes" not in item or "trials" not in item:
            return None
        successes = self.count(item["successes"], (*path, "successes"))
        trials = self.count(item["trials"], (*path, "trials"), positive=True)
        if successes is None or trials is None:
            return None
        if successes > trials:
            self.fail(
                (*path, "successes"),
                f"successes ({successes}) cannot exceed trials ({trials})",
            )
            return None
        return successes, trials

    def category_counts(self, item, path, outcome: Outcome) -> tuple[int, ...] | None:
        for key in ("successes", "trials"):
            if key in item:
                self.fail(
                    (*path, key),
                    f"'{outcome.name}' is categorical: give counts: {{category: n, ...}} instead",
                    key=True,
                )
                return None
        if "counts" not in item:
            self.fail(path, "missing required key 'counts' (evidence on a categorical outcome)")
            return None
        cpath = (*path, "counts")
        counts = self.mapping(item["counts"], cpath, "counts")
        if counts is None:
            return None
        good = True
        for key, value in counts.items():
            if key not in outcome.categories:
                self.fail(
                    (*cpath, key),
                    f"unknown category '{key}'{suggest(key, outcome.categories)} "
                    f"(categories: {', '.join(outcome.categories)})",
                    key=True,
                )
                good = False
            elif self.count(value, (*cpath, key)) is None:
                good = False
        if not good:
            return None
        if not any(counts.values()):
            self.fail(cpath, "counts must include at least one observation")
            return None
        return tuple(counts.get(c, 0) for c in outcome.categories)

    def reference_classes(self, value, by_name) -> list[ReferenceClass]:
        result = []
        categories = self.declared_categories
        taken: dict[tuple[str, int], int] = {}
        for index, item in enumerate(self.items(value, "reference_classes")):
            path = ("reference_classes", index)
            item = self.mapping(item, path, "a reference class")
            if item is None:
                continue
            self.check_keys(item, path, REFERENCE_KEYS, ("outcome", "cases"))
            pooling = item.get("pooling", "partial")
            if pooling not in ("partial", "complete"):
                self.fail(
                    (*path, "pooling"),
                    "pooling must be 'partial' or 'complete'"
                    + suggest(pooling, ["partial", "complete"]),
                )
                pooling = None
            source = self.text(item["source"], (*path, "source")) if "source" in item else None
            cases = self.cases(item.get("cases"), (*path, "cases")) if "cases" in item else None
            outcome = self.target_outcome(item, path, by_name)
            if outcome is None:
                continue
            if not outcome.is_binary:
                self.fail(
                    (*path, "outcome"),
                    f"reference classes are for binary outcomes; '{outcome.name}' is categorical "
                    "(give its history as evidence counts instead)",
                )
                continue
            if outcome.parents and "when" not in item:
                self.fail(
                    path,
                    f"'{outcome.name}' is given {', '.join(outcome.parents)}, so say which "
                    f"condition row the cases resemble with when: (such as "
                    f"'{_example_row(outcome.parents, categories)}')",
                )
                continue
            row, when_ok = self.when(item, path, outcome, categories)
            row = row or 0
            if not when_ok or cases is None or pooling is None:
                continue
            if (outcome.name, row) in taken:
                self.fail(
                    path,
                    f"reference class {taken[(outcome.name, row)] + 1} already pools this row of "
                    f"'{outcome.name}'; merge the two lists of cases",
                )
                continue
            taken[(outcome.name, row)] = index
            result.append(
                ReferenceClass(outcome.name, row, item.get("when"), pooling, source, cases)
            )
        return result

    def cases(self, value, path) -> tuple[Case, ...] | None:
        if not isinstance(value, list) or not value:
            self.fail(path, "cases must be a non-empty list of {name, successes, trials}")
            return None
        result = []
        names: set[str] = set()
        for index, item in enumerate(value):
            cpath = (*path, index)
            item = self.mapping(item, cpath, "a case")
            if item is None:
                continue
            self.check_keys(item, cpath, CASE_KEYS, CASE_KEYS)
            if not set(CASE_KEYS) <= set(item):
                continue
            name = self.text(item["name"], (*cpath, "name"))
            data = self.binary_counts(item, cpath, "a case")
            if name is None or data is None:
                continue
            if name in names:
                self.fail((*cpath, "name"), f"duplicate case name '{name}'")
                continue
            names.add(name)
            result.append(Case(name, *data))
        return tuple(result) if len(result) == len(value) else None

    # -- named scenarios ------------------------------------------------------------------------

    def named_scenarios(self, value, by_name) -> list[NamedScenario]:
        if value is None:
            return []
        block = self.mapping(value, ("scenarios",), "scenarios")
        if block is None:
            return []
        result = []
        categories = {name: o.categories for name, o in by_name.items()}
        declared = self.declared_outcomes()
        for name, text in block.items():
            path = ("scenarios", name)
            if not self.name(name, path, "a scenario name", key=True):
                continue
            expression = self.expression(text, path)
            if expression is None:
                continue
            good = True
            for atom in atoms(expression):
                if atom.outcome not in declared:
                    self.fail(
                        path,
                        f"unknown outcome '{atom.outcome}' in '{text}'"
                        f"{suggest(atom.outcome, declared)}",
                        offset=atom.offset,
                    )
                    good = False
                elif atom.outcome not in categories:
                    good = False  # the outcome itself is invalid and already reported
                elif self.atom_value(atom, False, path, categories, row_key=False) is None:
                    good = False
            if good:
                result.append(NamedScenario(name, text, expression))
        return result


class _Reported(Exception):
    """A problem was recorded; unwind to the next item."""


def _kind(value) -> str:
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


def _describe(combination, parents, categories) -> str:
    parts = []
    for parent, value in zip(parents, combination, strict=True):
        own = categories[parent]
        parts.append(f"{parent} == {own[value]}" if own else (parent if value else f"not {parent}"))
    return " and ".join(parts)


def _example_row(parents, categories) -> str:
    return _describe(tuple(0 if categories[p] else 1 for p in parents), parents, categories)


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


def validate(document: Document, raw: bytes, text: str) -> Scenario:
    """Build the Scenario a document describes; raises ScenarioError listing every problem."""
    validator = _Validator(document)
    validator.raw = raw
    validator.document_text = text
    scenario = validator.scenario()
    if validator.problems:
        raise ScenarioError(validator.problems)
    return scenario
