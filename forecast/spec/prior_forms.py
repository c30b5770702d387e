"""Reading one prior as written in the file: which form it is, and its numbers checked.

The forms and their keys are in keys.py; the arithmetic that turns a form into Beta or Dirichlet
parameters is in priors.py. Here each mapping is matched to its form and every number read with
its location, so that a mistake is reported where it stands.
"""

from __future__ import annotations

from forecast.spec import keys, priors
from forecast.spec.keys import forms_in_words, names_of
from forecast.spec.priors import BetaPrior, DirichletPrior
from forecast.spec.readers import Checker, Reported, suggest
from forecast.spec.yamlfile import KeyPath

BINARY_PRIOR_KEYS = names_of(keys.BINARY_PRIOR_FORMS)
CATEGORICAL_PRIOR_KEYS = names_of(keys.CATEGORICAL_PRIOR_FORMS)
BINARY_FORMS = forms_in_words(keys.BINARY_PRIOR_FORMS)
CATEGORICAL_FORMS = forms_in_words(keys.CATEGORICAL_PRIOR_FORMS)

# Keys that only the other kinds of outcome's priors have: a sign the outcome's kind is mistaken.
_CATEGORICAL_ONLY = {"dirichlet", "probabilities"}
_BINARY_ONLY = {"beta", "mean", "sd", "interval"}
_EVENT_ONLY = set(names_of(keys.EVENT_PRIOR_FORMS))
_EVENT_FORMS = forms_in_words(keys.EVENT_PRIOR_FORMS)


def read_prior(
    check: Checker, value, path: KeyPath, categories: tuple[str, ...], name: str
) -> BetaPrior | DirichletPrior | None:
    """The prior `value` states for outcome `name` (categorical when `categories` is not empty)."""
    block = check.mapping(value, path, "a prior")
    if block is None:
        return None
    if categories:
        return _dirichlet(check, block, path, categories, name)
    return _beta(check, block, path, name)


def _event_form(name: str, what: str, forms: str, written: set) -> str:
    listed = " and ".join(key for key in names_of(keys.EVENT_PRIOR_FORMS) if key in written)
    one = "one of " if what == "binary" else ""
    return (
        f"'{name}' is {what}, so its prior is {one}{forms}; {listed} state a rate over time, "
        f"which is for event outcomes ({_EVENT_FORMS}): add kind: event to make '{name}' one"
    )


def _form(forms: tuple[keys.Block, ...], written: set) -> keys.Block | None:
    return next((form for form in forms if form.matches(written)), None)


def _beta(check: Checker, block: dict, path: KeyPath, name: str) -> BetaPrior | None:
    written = set(block)
    if written - set(BINARY_PRIOR_KEYS):
        if written & _EVENT_ONLY:
            check.fail(path, _event_form(name, "binary", BINARY_FORMS, written))
            return None
        if written & _CATEGORICAL_ONLY:
            check.fail(
                path,
                f"'{name}' is binary, so its prior is one of {BINARY_FORMS}; "
                "dirichlet and probabilities are for categorical outcomes",
            )
            return None
        check.check_allowed(block, path, BINARY_PRIOR_KEYS)
        return None
    form = _form(keys.BINARY_PRIOR_FORMS, written)
    try:
        if form is keys.BETA:
            pair = check.pair(block["beta"], (*path, "beta"), "beta")
            if pair is None:
                return None
            if min(pair) <= 0:
                check.fail(
                    (*path, "beta"),
                    f"Beta parameters must be greater than 0, got [{pair[0]:g}, {pair[1]:g}]",
                )
                return None
            return BetaPrior(pair[0], pair[1], f"Beta({pair[0]:g}, {pair[1]:g})")
        if form is keys.MEAN_SD:
            mean = check.probability(block["mean"], (*path, "mean"))
            sd = check.number(block["sd"], (*path, "sd"))
            if mean is None or sd is None:
                return None
            return check.convert(priors.beta_from_mean_sd, (mean, sd), (*path, "sd"))
        if form is keys.MEAN_SAMPLE_SIZE:
            mean = check.probability(block["mean"], (*path, "mean"))
            size = check.number(block["sample_size"], (*path, "sample_size"))
            if mean is None or size is None:
                return None
            return check.convert(priors.beta_from_sample_size, (mean, size), (*path, "sample_size"))
        if form is keys.INTERVAL:
            pair = check.pair(block["interval"], (*path, "interval"), "interval")
            mass = 0.9
            if "mass" in block:
                mass = check.probability(block["mass"], (*path, "mass"))
            if pair is None or mass is None:
                return None
            return check.convert(priors.beta_from_interval, (*pair, mass), (*path, "interval"))
    except Reported:
        return None
    listed = ", ".join(sorted(written)) or "nothing"
    check.fail(path, f"a prior for a probability is one of {BINARY_FORMS}; got {listed}")
    return None


def _dirichlet(
    check: Checker, block: dict, path: KeyPath, categories: tuple[str, ...], name: str
) -> DirichletPrior | None:
    written = set(block)
    if written - set(CATEGORICAL_PRIOR_KEYS):
        if written & _EVENT_ONLY:
            check.fail(path, _event_form(name, "categorical", CATEGORICAL_FORMS, written))
            return None
        if written & _BINARY_ONLY:
            check.fail(path, f"'{name}' is categorical, so its prior is {CATEGORICAL_FORMS}")
            return None
        check.check_allowed(block, path, CATEGORICAL_PRIOR_KEYS)
        return None
    form = _form(keys.CATEGORICAL_PRIOR_FORMS, written)
    if form is keys.DIRICHLET:
        value = block["dirichlet"]
        vpath = (*path, "dirichlet")
        if isinstance(value, dict):
            values = _per_category(check, value, vpath, categories)
        elif isinstance(value, list):
            if len(value) != len(categories):
                check.fail(
                    vpath,
                    f"dirichlet needs {len(categories)} numbers, one per category in order "
                    f"({', '.join(categories)}), got {len(value)}",
                )
                return None
            values = [check.number(v, (*vpath, i)) for i, v in enumerate(value)]
            values = None if None in values else values
        else:
            check.fail(vpath, "dirichlet must be a list of numbers or a category mapping")
            return None
        if values is None:
            return None
        if min(values) <= 0:
            check.fail(vpath, "Dirichlet concentrations must be greater than 0")
            return None
        stated = "Dirichlet(" + ", ".join(f"{v:g}" for v in values) + ")"
        return DirichletPrior(tuple(values), stated)
    if form is keys.PROBABILITIES:
        vpath = (*path, "probabilities")
        if not isinstance(block["probabilities"], dict):
            check.fail(vpath, "probabilities must be a mapping category -> probability")
            return None
        values = _per_category(check, block["probabilities"], vpath, categories, probability=True)
        size = check.number(block["sample_size"], (*path, "sample_size"))
        if values is None or size is None:
            return None
        try:
            return check.convert(
                priors.dirichlet_from_probabilities,
                (dict(zip(categories, values, strict=True)), size, categories),
                vpath,
            )
        except Reported:
            return None
    listed = ", ".join(sorted(written)) or "nothing"
    check.fail(path, f"a prior for a categorical outcome is {CATEGORICAL_FORMS}; got {listed}")
    return None


def _per_category(
    check: Checker, value: dict, path: KeyPath, categories, *, probability: bool = False
) -> list[float] | None:
    """One number per category from a mapping that names each category once."""
    good = True
    for key in value:
        if key not in categories:
            check.fail(
                (*path, key),
                f"unknown category '{key}'{suggest(key, categories)} "
                f"(categories: {', '.join(categories)})",
                key=True,
            )
            good = False
    missing = [c for c in categories if c not in value]
    if missing:
        check.fail(path, f"every category needs a value; missing: {', '.join(missing)}")
        good = False
    if not good:
        return None
    read = []
    for category in categories:
        if probability:
            number = check.probability(value[category], (*path, category))
        else:
            number = check.number(value[category], (*path, category))
        if number is None:
            return None
        read.append(number)
    return read
