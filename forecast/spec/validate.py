"""From a YAML document to a validated Scenario, reporting every problem of the file at once.

This module reads the top level and hands each block to its reader: outcomes.py (outcomes, their
graph and condition rows, with prior_forms.py for each prior), evidence.py (evidence items and
reference classes), named_scenarios.py and overrides.py (variants). Every reader records its
problems on one Checker (readers.py), so that all of them are reported together. Variants are
checked last, each applied to the file and validated like one, once the file itself is valid.
"""

from __future__ import annotations

import hashlib

from forecast.errors import ScenarioError
from forecast.spec import keys, network
from forecast.spec.events import FileDates
from forecast.spec.evidence import read_evidence, read_reference_classes
from forecast.spec.named_scenarios import read_named_scenarios
from forecast.spec.outcomes import read_outcomes
from forecast.spec.overrides import apply_what_if, read_variants
from forecast.spec.readers import Checker, kind
from forecast.spec.scenario import Sampling, Scenario
from forecast.spec.yamlfile import Document


def validate(document: Document, raw: bytes, text: str) -> Scenario:
    """Build the Scenario a document describes; raises ScenarioError listing every problem."""
    check = Checker(document)
    scenario = _scenario(check, raw, text)
    if check.problems:
        raise ScenarioError(check.problems)
    return scenario


def _scenario(check: Checker, raw: bytes, text: str) -> Scenario | None:
    data = check.document.data
    if not isinstance(data, dict):
        check.fail(
            (),
            f"the top level must be a mapping with version, title and outcomes, got {kind(data)}",
        )
        return None
    check.check_keys(data, (), keys.TOP)
    version = data.get("version")
    if "version" in data and (version != 1 or isinstance(version, bool)):
        check.fail(("version",), f"unsupported version {version!r}; the only version is 1")
    title = check.text(data["title"], ("title",)) if "title" in data else None
    question = check.text(data["question"], ("question",)) if "question" in data else None
    as_of = check.date(data["as_of"], ("as_of",)) if "as_of" in data else None
    horizon = check.date(data["horizon"], ("horizon",)) if "horizon" in data else None
    if as_of and horizon and horizon < as_of:
        check.fail(("horizon",), f"horizon {horizon} is before as_of {as_of}")
    seed = None
    if "seed" in data:
        seed = check.count(data["seed"], ("seed",))
    sampling = _sampling(check, data.get("sampling"))
    outcomes, categories = [], {}
    if "outcomes" in data:
        written = frozenset(key for key in ("as_of", "horizon") if key in data)
        dates = FileDates(as_of, horizon, written)
        outcomes, categories = read_outcomes(check, data["outcomes"], dates)
    _check_network(check, outcomes)
    by_name = {o.name: o for o in outcomes}
    evidence = read_evidence(check, data.get("evidence"), by_name, categories)
    reference_classes = read_reference_classes(
        check, data.get("reference_classes"), by_name, categories
    )
    scenarios = read_named_scenarios(check, data.get("scenarios"), by_name)
    variants = read_variants(check, data.get("variants"))
    if check.problems:
        return None
    scenario = Scenario(
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
        source_file=check.document.file,
        text=text,
        sha256=hashlib.sha256(raw).hexdigest(),
        variants=tuple(variants),
    )
    for variant in variants:
        try:
            apply_what_if(check.document, scenario, variant)
        except ScenarioError as error:
            check.problems.extend(error.problems)
    return scenario


def _check_network(check: Checker, outcomes) -> None:
    """Refuse a network whose exact probabilities would need tables beyond the limit.

    Every outcome's overall probability is computed exactly, for every draw, by summing out its
    ancestors (`forecast.probability`); the plan says beforehand how large a table that takes.
    One message names the first outcome affected: every outcome that depends on it is, too.
    """
    parents = {o.name: o.parents for o in outcomes}
    if any(p not in parents for o in outcomes for p in o.parents):
        return  # an outcome is invalid and already reported; the graph is incomplete
    cardinality = {o.name: o.cardinality for o in outcomes}
    for outcome in outcomes:
        order, largest = network.elimination_plan(parents, cardinality, [outcome.name])
        if largest > network.FACTOR_LIMIT:
            behind = ", ".join(o.name for o in outcomes if o.name in order)
            check.fail(
                ("outcomes", outcome.name, "given"),
                f"the outcomes behind '{outcome.name}' are too entangled to compute exactly: "
                f"summing out its {len(order)} ancestors ({behind}) needs a "
                f"table of {largest} combinations of values, more than {network.FACTOR_LIMIT}; "
                "give these outcomes fewer parents, or parents with fewer categories",
            )
            return


def _sampling(check: Checker, value) -> Sampling:
    if value is None:
        return Sampling()
    block = check.mapping(value, ("sampling",), "sampling")
    if block is None:
        return Sampling()
    check.check_keys(block, ("sampling",), keys.SAMPLING)
    read = {}
    for key in keys.SAMPLING.names:
        if key in block:
            read[key] = check.count(block[key], ("sampling", key), positive=True)
    if (read.get("draws") or 100) < 100:
        check.fail(("sampling", "draws"), "draws must be at least 100 for stable summaries")
    return Sampling(**read)
