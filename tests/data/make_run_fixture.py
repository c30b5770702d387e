"""Regenerate tests/data/run/, a small run folder for the report tests, without PyMC sampling.

The numbers are coherent rather than hand-typed: every probability is drawn from a Beta or
Dirichlet distribution, overall outcome, scenario and world probabilities are computed from those
draws by enumerating the outcomes, and every STATS object is computed from the draws it describes.

Run: .venv/bin/python tests/data/make_run_fixture.py [OUT_DIR]
"""

from __future__ import annotations

import hashlib
import itertools
import json
import pathlib
import sys

import arviz_base
import arviz_stats
import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
SEED = 20180612
CHAINS, DRAWS, PRIOR_DRAWS = 4, 200, 800

SCENARIO_YAML = """\
# Fixture for the report tests: a shortened Singapore summit scenario.
title: Singapore summit, 2018
question: Will the 2018 Singapore summit lead to verifiable North Korean disarmament steps?
as_of: 2018-05-20
horizon: 2020-06-12

outcomes:
  summit_held:
    label: The summit takes place
    prior: {mean: 0.6, strength: 10}
  deal_form:
    label: Form of any agreement
    categories: [collapse, talks_drag_on, framework_deal]
    prior: {weights: [3, 5, 2]}
  full_shutdown:
    label: North Korea fully shuts down its test sites
    given: [summit_held]
    prior:
      summit_held: {mean: 0.3, strength: 7}
      not summit_held: {mean: 0.1, strength: 10}
  troop_drawdown:
    label: US troops in South Korea cut by a fifth
    given: [full_shutdown]
    prior:
      full_shutdown: {mean: 0.35, strength: 6}
      not full_shutdown: {mean: 0.05, strength: 20}
  sanctions_eased:
    label: UN sanctions are eased
    given: [summit_held, full_shutdown]
    prior:
      summit_held and full_shutdown: {mean: 0.5, strength: 4}
      summit_held and not full_shutdown: {mean: 0.15, strength: 8}
      not summit_held and full_shutdown: {mean: 0.3, strength: 4}
      not summit_held and not full_shutdown: {mean: 0.03, strength: 30}

evidence:
  - outcome: full_shutdown
    when: summit_held
    source: 38 North satellite imagery of Punggye-ri, May 2018
    weight: 0.5
    data: {successes: 0, trials: 2}
  - outcome: summit_held
    source: White House statement, 10 May 2018
    weight: 1.0
    data: {successes: 1, trials: 1}

reference_classes:
  - outcome: full_shutdown
    when: summit_held
    pooling: partial
    cases:
      - {name: "Libya, 2003", successes: 3, trials: 3}
      - {name: "South Africa, 1991", successes: 2, trials: 2}
      - {name: "Iran, 2015 (JCPOA)", successes: 2, trials: 4}
      - {name: "North Korea, 1994 (Agreed Framework)", successes: 1, trials: 5}
      - {name: "North Korea, 2005 (Six-Party statement)", successes: 0, trials: 4}

scenarios:
  grand_bargain: full_shutdown and troop_drawdown
  summit_without_shutdown: summit_held and not full_shutdown
  talks_collapse: deal_form == collapse
  sanctions_without_shutdown: sanctions_eased and not full_shutdown
"""


def compute_stats(draws: np.ndarray) -> dict:
    """STATS of a sample, as docs/run-output.md defines them."""
    draws = np.asarray(draws, dtype=float).ravel()
    qs = (0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975)
    values = np.quantile(draws, qs)
    hdi = arviz_stats.hdi(draws, prob=0.9)
    return {
        "mean": round(float(draws.mean()), 4),
        "sd": round(float(draws.std(ddof=1)), 4),
        "median": round(float(np.median(draws)), 4),
        "hdi90": [round(float(hdi[0]), 4), round(float(hdi[1]), 4)],
        "mcse": round(float(draws.std(ddof=1) / np.sqrt(draws.size)), 5),
        "quantiles": {str(q): round(float(v), 4) for q, v in zip(qs, values, strict=True)},
    }


def row_keys(parents: list[str]) -> list[str]:
    """Condition-row keys in the scenario file's words, first parent varying slowest."""
    keys = []
    for values in itertools.product([True, False], repeat=len(parents)):
        words = [p if v else f"not {p}" for p, v in zip(parents, values, strict=True)]
        keys.append(" and ".join(words))
    return keys


# Beta(a, b) per condition row, (prior, posterior); the posterior is narrower and moved.
BINARY = {
    "summit_held": {
        "label": "The summit takes place",
        "given": [],
        "rows": {"": ((6, 4), (17, 5))},
    },
    "full_shutdown": {
        "label": "North Korea fully shuts down its test sites",
        "given": ["summit_held"],
        "rows": {"summit_held": ((2.1, 4.9), (4, 13)), "not summit_held": ((1, 9), (1, 14))},
    },
    "troop_drawdown": {
        "label": "US troops in South Korea cut by a fifth",
        "given": ["full_shutdown"],
        "rows": {"full_shutdown": ((2.1, 3.9), (3, 7)), "not full_shutdown": ((1, 19), (1, 30))},
    },
    "sanctions_eased": {
        "label": "UN sanctions are eased",
        "given": ["summit_held", "full_shutdown"],
        "rows": {
            "summit_held and full_shutdown": ((2, 2), (4, 3)),
            "summit_held and not full_shutdown": ((1.2, 6.8), (2, 14)),
            "not summit_held and full_shutdown": ((1.2, 2.8), (1.5, 4)),
            "not summit_held and not full_shutdown": ((0.9, 29.1), (1, 40)),
        },
    },
}
CATEGORIES = ["collapse", "talks_drag_on", "framework_deal"]
DEAL_FORM = {"label": "Form of any agreement", "prior": (3, 5, 2), "posterior": (9, 16, 4)}
SCENARIOS = {
    "grand_bargain": (
        "full_shutdown and troop_drawdown",
        lambda w: w["full_shutdown"] and w["troop_drawdown"],
        "exact",
    ),
    "summit_without_shutdown": (
        "summit_held and not full_shutdown",
        lambda w: w["summit_held"] and not w["full_shutdown"],
        "exact",
    ),
    "talks_collapse": ("deal_form == collapse", lambda w: w["deal_form"] == "collapse", "exact"),
    "sanctions_without_shutdown": (
        "sanctions_eased and not full_shutdown",
        lambda w: w["sanctions_eased"] and not w["full_shutdown"],
        "simulated",
    ),
}


def draw_parameters(rng: np.random.Generator, which: int, shape: tuple[int, ...]) -> dict:
    """Row probabilities (name -> {row key -> draws}) and category draws; which=0 prior, 1 post."""
    rows = {
        name: {key: rng.beta(*ab[which], size=shape) for key, ab in spec["rows"].items()}
        for name, spec in BINARY.items()
    }
    alpha = DEAL_FORM["prior" if which == 0 else "posterior"]
    categories = rng.dirichlet(alpha, size=shape)
    return {"rows": rows, "categories": categories}


def world_probabilities(params: dict) -> dict[tuple, np.ndarray]:
    """Probability of every world (tuple of outcome values), per draw, by enumeration."""
    names = list(BINARY)
    worlds = {}
    for values in itertools.product([True, False], repeat=len(names)):
        world = dict(zip(names, values, strict=True))
        p = 1.0
        for name, spec in BINARY.items():
            key = " and ".join(
                g if world[g] else f"not {g}" for g in spec["given"]
            )  # matches row_keys
            p_true = params["rows"][name][key]
            p = p * (p_true if world[name] else 1 - p_true)
        for k, category in enumerate(CATEGORIES):
            worlds[(*values, category)] = p * params["categories"][..., k]
    return worlds


def as_world(values: tuple) -> dict:
    """A world tuple as the values mapping summary.json uses."""
    return dict(zip([*BINARY, "deal_form"], values, strict=True))


def build(out_dir: pathlib.Path) -> None:
    """Write summary.json, posterior.nc and scenario.yaml into out_dir."""
    rng = np.random.default_rng(SEED)
    prior = draw_parameters(rng, 0, (1, PRIOR_DRAWS))
    posterior = draw_parameters(rng, 1, (CHAINS, DRAWS))
    prior_worlds = world_probabilities(prior)
    posterior_worlds = world_probabilities(posterior)

    def probability(worlds: dict, test) -> np.ndarray:
        return sum(p for values, p in worlds.items() if test(as_world(values)))

    outcomes = {}
    for name, spec in BINARY.items():
        outcome = {
            "label": spec["label"],
            "kind": "binary",
            "given": spec["given"],
            "prior": compute_stats(probability(prior_worlds, lambda w, n=name: w[n])),
            "posterior": compute_stats(probability(posterior_worlds, lambda w, n=name: w[n])),
        }
        if spec["given"]:
            outcome["rows"] = {
                key: {
                    "prior": compute_stats(prior["rows"][name][key]),
                    "posterior": compute_stats(posterior["rows"][name][key]),
                }
                for key in spec["rows"]
            }
        outcomes[name] = outcome
    outcomes["deal_form"] = {
        "label": DEAL_FORM["label"],
        "kind": "categorical",
        "given": [],
        "categories": {
            category: {
                "prior": compute_stats(prior["categories"][..., k]),
                "posterior": compute_stats(posterior["categories"][..., k]),
            }
            for k, category in enumerate(CATEGORIES)
        },
    }

    scenarios = {}
    for name, (expression, test, method) in SCENARIOS.items():
        post = probability(posterior_worlds, test)
        scenarios[name] = {
            "expression": expression,
            "prior": compute_stats(probability(prior_worlds, test)),
            "posterior": compute_stats(post),
            "mcse": round(float(post.std(ddof=1) / np.sqrt(post.size)), 5),
            "method": method,
        }

    ranked = sorted(posterior_worlds, key=lambda v: -posterior_worlds[v].mean())[:10]
    worlds = [
        {
            "values": as_world(values),
            "probability": round(float(posterior_worlds[values].mean()), 4),
            "prior_probability": round(float(prior_worlds[values].mean()), 4),
        }
        for values in ranked
    ]

    shutdown_if_summit = posterior["rows"]["full_shutdown"]["summit_held"]
    evidence = [
        {
            "outcome": "full_shutdown",
            "when": "summit_held",
            "source": "38 North satellite imagery of Punggye-ri, May 2018",
            "weight": 0.5,
            "data": {"successes": 0, "trials": 2},
            "with": compute_stats(shutdown_if_summit),
            "without": compute_stats(rng.beta(5, 11, size=CHAINS * DRAWS)),
            "method": "importance reweighting (PSIS, k-hat 0.21)",
        },
        {
            "outcome": "summit_held",
            "when": None,
            "source": "White House statement, 10 May 2018",
            "weight": 1.0,
            "data": {"successes": 1, "trials": 1},
            "with": outcomes["summit_held"]["posterior"],
            "without": compute_stats(rng.beta(14, 6, size=CHAINS * DRAWS)),
            "method": "importance reweighting (PSIS, k-hat 0.08)",
        },
    ]

    # Partial pooling: each case's rate is drawn around the class mean, shrunk by concentration.
    class_mean = rng.beta(6, 8, size=(CHAINS, DRAWS))
    concentration = rng.gamma(6, 1.0, size=(CHAINS, DRAWS))
    cases = [
        ("Libya, 2003", 3, 3),
        ("South Africa, 1991", 2, 2),
        ("Iran, 2015 (JCPOA)", 2, 4),
        ("North Korea, 1994 (Agreed Framework)", 1, 5),
        ("North Korea, 2005 (Six-Party statement)", 0, 4),
    ]
    case_rows = []
    for case, successes, trials in cases:
        a = class_mean * concentration + successes
        b = (1 - class_mean) * concentration + trials - successes
        case_rows.append(
            {
                "name": case,
                "successes": successes,
                "trials": trials,
                "raw_rate": round(successes / trials, 4),
                "pooled": compute_stats(rng.beta(a, b)),
            }
        )
    reference_classes = [
        {
            "outcome": "full_shutdown",
            "when": "summit_held",
            "pooling": "partial",
            "class_mean": compute_stats(class_mean),
            "concentration": compute_stats(concentration),
            "target": compute_stats(rng.beta(class_mean * concentration + 0.5, 8.0)),
            "cases": case_rows,
        }
    ]

    # posterior.nc: one variable per outcome, a _row or _category dimension where it has one.
    def variables(params: dict, class_draws: tuple | None) -> dict:
        data = {}
        for name, spec in BINARY.items():
            stacked = np.stack(list(params["rows"][name].values()), axis=-1)
            data[name] = stacked[..., 0] if not spec["given"] else stacked
        data["deal_form"] = params["categories"]
        if class_draws is not None:
            data["full_shutdown_class_mean"], data["full_shutdown_concentration"] = class_draws
        return data

    dims = {name: [f"{name}_row"] for name, spec in BINARY.items() if spec["given"]}
    dims["deal_form"] = ["deal_form_category"]
    coords = {f"{name}_row": list(spec["rows"]) for name, spec in BINARY.items() if spec["given"]}
    coords["deal_form_category"] = CATEGORIES
    tree = arviz_base.from_dict(
        {
            "posterior": variables(posterior, (class_mean, concentration)),
            "prior": variables(prior, None),
        },
        dims=dims,
        coords=coords,
    )

    parameters = []
    post_group = tree["posterior"].to_dataset()
    for name, values in post_group.data_vars.items():
        extra = [d for d in values.dims if d not in ("chain", "draw")]
        elements = itertools.product(*(values[d].values for d in extra)) if extra else [()]
        for element in elements:
            selected = values.sel(dict(zip(extra, element, strict=True))).values
            label = f"{name}[{', '.join(map(str, element))}]" if element else name
            parameters.append(
                {
                    "name": label,
                    "rhat": round(float(arviz_stats.rhat(selected)), 4),
                    "ess_bulk": round(float(arviz_stats.ess(selected, method="bulk"))),
                    "ess_tail": round(float(arviz_stats.ess(selected, method="tail", prob=0.9))),
                }
            )
    diagnostics = {
        "chains": CHAINS,
        "draws": DRAWS,
        "max_rhat": max(p["rhat"] for p in parameters),
        "min_ess_bulk": min(p["ess_bulk"] for p in parameters),
        "min_ess_tail": min(p["ess_tail"] for p in parameters),
        "divergences": 0,
        "ok": True,
        "warnings": [],
        "parameters": parameters,
    }

    summary = {
        "format": 1,
        "scenario": "singapore-summit-2018",
        "title": "Singapore summit, 2018",
        "question": (
            "Will the 2018 Singapore summit lead to verifiable North Korean disarmament steps?"
        ),
        "as_of": "2018-05-20",
        "horizon": "2020-06-12",
        "source_file": "scenarios/singapore-summit-2018.yaml",
        "input_sha256": hashlib.sha256(SCENARIO_YAML.encode()).hexdigest(),
        "seed": SEED,
        "command": "forecast run scenarios/singapore-summit-2018.yaml --out reports",
        "created": "2026-11-29T09:00:00+00:00",
        "versions": {
            "forecast": "0.1.0",
            "python": "3.12.1",
            "pymc": "6.4.0",
            "pytensor": "3.3.8",
            "arviz": "1.3.1",
            "numpy": "2.5.5",
        },
        "sampler": {
            "name": "pymc NUTS",
            "chains": CHAINS,
            "draws": DRAWS,
            "tune": DRAWS,
            "prior_draws": PRIOR_DRAWS,
            "seconds": 1.4,
        },
        "outcomes": outcomes,
        "scenarios": scenarios,
        "evidence": evidence,
        "reference_classes": reference_classes,
        "worlds": worlds,
        "diagnostics": diagnostics,
    }

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "scenario.yaml").write_text(SCENARIO_YAML, encoding="utf-8")
    (out_dir / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    tree.to_netcdf(out_dir / "posterior.nc", engine="h5netcdf")


if __name__ == "__main__":
    build(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "run")
