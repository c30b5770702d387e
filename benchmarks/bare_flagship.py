"""The flagship model written by hand in PyMC, sampled with the same settings as `forecast run`.

This is the anchor of benchmarks/engine_speed.py: what an analyst fluent in PyMC would write for
scenarios/singapore-summit-2018.yaml, and nothing else (no prior sampling, no summaries, no
files). The structure is written out here; only the prior parameters are read from the file, so
that an edited prior does not make the two models drift apart. `model()` is also used by the
benchmark to check that the two log densities agree.

Usage: python benchmarks/bare_flagship.py [--draws N] [--tune N] [--chains N]
"""

from __future__ import annotations

import argparse
import logging
import warnings
from pathlib import Path

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from forecast.spec import load_scenario

FLAGSHIP = Path(__file__).resolve().parent.parent / "scenarios" / "singapore-summit-2018.yaml"


def model() -> pm.Model:
    scenario = load_scenario(FLAGSHIP)

    def beta_rows(name):
        rows = scenario.outcome(name).rows
        return np.array([r.prior.alpha for r in rows]), np.array([r.prior.beta for r in rows])

    def row(name, **values):
        return scenario.outcome(name).row_for(values)

    deal = scenario.outcome("deal_form")
    with pm.Model() as bare:
        a, b = beta_rows("summit_held")
        summit = pm.Beta("summit_held", a[0], b[0])

        # full_shutdown: the summit row is pooled with its reference class; cases integrated out.
        a, b = beta_rows("full_shutdown")
        pooled, own = row("full_shutdown", summit_held=1), row("full_shutdown", summit_held=0)
        mu = pm.Beta("reference_class.0.mean", a[pooled], b[pooled])
        log_kappa = pm.Exponential("reference_class.0.log_concentration", 0.5)
        pm.Potential("cut", pt.switch(pt.gt(log_kappa, 20), -np.inf, 0.0))
        kappa = pt.exp(log_kappa)
        alpha, beta = mu * kappa, (1 - mu) * kappa
        cases = scenario.reference_classes[0].cases
        pm.Potential(
            "cases",
            pm.logp(
                pm.BetaBinomial.dist(n=[c.trials for c in cases], alpha=alpha, beta=beta),
                [c.successes for c in cases],
            ).sum(),
        )
        # The same non-centred coordinates as forecast's model, so that both samplers face the
        # same geometry and the comparison times the same work.
        z = pm.Flat("reference_class.0.offset")
        scale = pt.sqrt(1 / alpha**2 + 1 / (alpha + 0.5) + 1 / beta**2 + 1 / (beta + 0.5))
        logit = pt.log(alpha + 0.5) - 1 / alpha - pt.log(beta + 0.5) + 1 / beta + z * scale
        log_p, log_q = -pt.softplus(-logit), -pt.softplus(logit)
        pm.Potential(
            "offset_density",
            alpha * log_p
            + beta * log_q
            - (pt.gammaln(alpha) + pt.gammaln(beta) - pt.gammaln(alpha + beta))
            + pt.log(scale),
        )
        shutdown_if_summit = pt.sigmoid(logit)
        shutdown_if_not = pm.Beta("full_shutdown.unpooled", a[[own]], b[[own]])[0]

        a, b = beta_rows("troop_drawdown")
        troops = pm.Beta("troop_drawdown", a, b)
        concentration = np.array([r.prior.concentration for r in deal.rows])
        deal_form = pm.Dirichlet("deal_form", a=concentration)
        a, b = beta_rows("sanctions_relief")
        pm.Beta("sanctions_relief", a, b)
        # tests_resume is an event: a constant rate per year for each row, Gamma(shape, rate),
        # and the probability of a test by the horizon, 1 - exp(-rate * years).
        event = scenario.outcome("tests_resume")
        gammas = [r.prior.periods[0] for r in event.rows]
        rates = pm.Gamma(
            "tests_resume.rate", alpha=[g.shape for g in gammas], beta=[g.rate for g in gammas]
        )
        (years,) = event.timeline.exposure(event.timeline.horizon)
        pm.Deterministic("tests_resume", -pt.expm1(-rates * years))

        # P(full_shutdown, summit_held) for the four combinations, then the overall probabilities
        # the evidence without `when` bears on.
        weights = {
            (1, 1): summit * shutdown_if_summit,
            (0, 1): summit * (1 - shutdown_if_summit),
            (1, 0): (1 - summit) * shutdown_if_not,
            (0, 0): (1 - summit) * (1 - shutdown_if_not),
        }
        troops_overall = sum(
            w * troops[row("troop_drawdown", full_shutdown=f, summit_held=s)]
            for (f, s), w in weights.items()
        )
        deal_overall = sum(
            w * deal_form[row("deal_form", full_shutdown=f, summit_held=s)]
            for (f, s), w in weights.items()
        )
        for index, item in enumerate(scenario.evidence):
            if item.exposure is not None:  # on the event's rate in the row it names
                rate = rates[row("tests_resume", deal_form=deal.categories.index("collapse"))]
                loglik = item.exposure.events * pt.log(rate) - rate * item.exposure.years
                pm.Potential(f"evidence_{index}", item.weight * loglik)
                continue
            if item.outcome == "full_shutdown":
                target = shutdown_if_summit
            elif item.outcome == "troop_drawdown":
                target = troops_overall
            else:
                counts = np.array(item.counts)
                loglik = pm.logp(pm.Multinomial.dist(n=counts.sum(), p=deal_overall), counts)
                pm.Potential(f"evidence_{index}", item.weight * loglik)
                continue
            loglik = pm.logp(pm.Binomial.dist(n=item.trials, p=target), item.successes)
            pm.Potential(f"evidence_{index}", item.weight * loglik)
    return bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--cores", type=int, default=None)
    parser.add_argument("--target-accept", type=float, default=0.95)
    parser.add_argument("--seed", type=int, default=20180612)
    args = parser.parse_args()
    logging.getLogger("pymc").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    pm.sample(
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        cores=args.cores,
        mp_ctx="forkserver",
        random_seed=args.seed,
        target_accept=args.target_accept,
        nuts_sampler="pymc",
        progressbar=False,
        compute_convergence_checks=False,
        model=model(),
    )


if __name__ == "__main__":
    main()
