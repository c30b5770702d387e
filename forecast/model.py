"""Scenario -> PyMC model. The only module that creates PyMC distributions.

Parameters, named so that `posterior.nc` reads in the analyst's words:

- a binary outcome without parents: `<outcome>`, its probability;
- a binary outcome with parents: `<outcome>` with dimension `<outcome>_row`, one probability per
  condition row, labelled with the row keys as written in the file;
- a categorical outcome: `<outcome>` with dimension `<outcome>_category` (and `<outcome>_row`
  first, when it has parents);
- a partially pooled reference class k: `reference_class_<k>_mean` (the population mean mu) and
  `reference_class_<k>_log_concentration` (log kappa).

Evidence enters as `pm.Potential` terms: weight times the Binomial or Multinomial log-likelihood,
a power likelihood that for a Beta prior on a root outcome gives exactly
Beta(a + w*s, b + w*(n - s)).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from forecast import probability
from forecast.spec import Evidence, Outcome, ReferenceClass, Scenario

# p(kappa) ∝ kappa^(-3/2) on kappa >= 1 (Gelman et al., BDA3 §5.3) is, for u = log kappa,
# p(u) ∝ exp(-u / 2) on u >= 0: an Exponential with rate 1/2. Sampling u keeps NUTS in a space
# where the funnel between kappa and the rates is mild.
LOG_CONCENTRATION_RATE = 0.5
# Beyond kappa = e^20 the Beta-Binomial and Beta log densities lose all precision to cancellation
# and can show spurious modes; the prior puts e^-10 (0.005%) of its mass there, so it is cut.
MAX_LOG_CONCENTRATION = 20.0


def row_dim(outcome: Outcome) -> str:
    return f"{outcome.name}_row"


def category_dim(outcome: Outcome) -> str:
    return f"{outcome.name}_category"


def reference_class_names(index: int) -> tuple[str, str]:
    return f"reference_class_{index}_mean", f"reference_class_{index}_log_concentration"


def coords(scenario: Scenario) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for outcome in scenario.outcomes:
        if outcome.parents:
            result[row_dim(outcome)] = [row.key for row in outcome.rows]
        if not outcome.is_binary:
            result[category_dim(outcome)] = list(outcome.categories)
    return result


def build_model(
    scenario: Scenario,
    *,
    prior: bool = False,
    leave_out: frozenset[int] = frozenset(),
    batch: int | None = None,
) -> pm.Model:
    """The PyMC model of a scenario.

    With `prior`, the same parameters without any data (evidence, reference-class cases), in a
    form that PyMC can sample forwards; with `batch` as well, every parameter gets a leading
    dimension of that size, so that one forward draw gives `batch` independent prior draws.
    `leave_out` drops evidence items by index.
    """
    shape = (batch,) if batch else ()
    with pm.Model(coords=coords(scenario)) as model:
        pooled = _build_reference_classes(scenario, prior=prior, batch=shape)
        parameters = {o.name: _build_outcome(o, pooled, shape) for o in scenario.outcomes}
        if prior:
            return model
        for index, item in enumerate(scenario.evidence):
            if index not in leave_out:
                _build_evidence(scenario, index, item, parameters)
        for index, reference in enumerate(scenario.reference_classes):
            if reference.pooling == "complete":
                _build_complete_pooling(scenario, index, reference, parameters)
    return model


def sample_prior(scenario: Scenario, draws: int, seed: int) -> xr.Dataset:
    """`draws` independent forward draws of the prior, as a Dataset shaped like a posterior's.

    One call of a batched model rather than PyMC's draw-by-draw `sample_prior_predictive`: the
    same distributions, a hundred times fewer function calls.
    """
    model = build_model(scenario, prior=True, batch=draws)
    names = [o.name for o in scenario.outcomes]
    for index, reference in enumerate(scenario.reference_classes):
        if reference.pooling == "partial":
            names.extend(reference_class_names(index))
    values = pm.draw([model[name] for name in names], random_seed=seed)
    labels = coords(scenario)
    outcome_names = {o.name for o in scenario.outcomes}
    variables = {}
    for name, value in zip(names, values, strict=True):
        dims = ["chain", "draw"]
        if name in outcome_names:
            outcome = scenario.outcome(name)
            if outcome.parents:
                dims.append(row_dim(outcome))
            if not outcome.is_binary:
                dims.append(category_dim(outcome))
        variables[name] = (dims, np.asarray(value)[np.newaxis])
    return xr.Dataset(variables, coords={"chain": [0], "draw": np.arange(draws), **labels})


def _build_reference_classes(
    scenario: Scenario, *, prior: bool, batch: tuple[int, ...] = ()
) -> dict[tuple[str, int], object]:
    """The probability of each partially pooled outcome row, drawn from its population Beta."""
    pooled = {}
    for index, reference in enumerate(scenario.reference_classes):
        outcome = scenario.outcome(reference.outcome)
        row_prior = outcome.rows[reference.row].prior
        successes = np.array([case.successes for case in reference.cases])
        trials = np.array([case.trials for case in reference.cases])
        if reference.pooling == "complete":
            continue  # added to the row's likelihood below, as pooled evidence
        mean_name, log_kappa_name = reference_class_names(index)
        mean = pm.Beta(mean_name, alpha=row_prior.alpha, beta=row_prior.beta, shape=batch)
        if prior:
            log_kappa = pm.Truncated(
                log_kappa_name,
                pm.Exponential.dist(lam=LOG_CONCENTRATION_RATE),
                upper=MAX_LOG_CONCENTRATION,
                shape=batch,
            )
        else:
            # The same truncation as a wall, keeping the Exponential's log transform: NUTS
            # samples it far better than the interval transform of a truncated distribution.
            log_kappa = pm.Exponential(log_kappa_name, lam=LOG_CONCENTRATION_RATE)
            pm.Potential(
                f"{log_kappa_name}_cut",
                pt.switch(pt.gt(log_kappa, MAX_LOG_CONCENTRATION), -np.inf, 0.0),
            )
        kappa = pt.exp(log_kappa)
        alpha, beta = mean * kappa, (1 - mean) * kappa
        if prior:
            pooled[(outcome.name, reference.row)] = pm.Beta(
                f"reference_class_{index}_target", alpha=alpha, beta=beta, shape=batch
            )
            continue
        # The cases' own rates are integrated out: their counts are Beta-Binomial given (mu,
        # kappa). Each case's pooled rate is recovered from the draws in the summary.
        pm.Potential(
            f"reference_class_{index}_cases",
            pm.logp(pm.BetaBinomial.dist(n=trials, alpha=alpha, beta=beta), successes).sum(),
        )
        pooled[(outcome.name, reference.row)] = _pooled_rate(index, alpha, beta)
    return pooled


def _pooled_rate(index: int, alpha, beta):
    """Beta(alpha, beta) with (alpha, beta) uncertain, sampled without a funnel.

    Sampled directly, the rate's spread shrinks as the concentration grows, a funnel that NUTS
    crosses with divergences. Instead an unbounded offset z is sampled and the rate is
    p = sigmoid(E[logit p] + z * sd[logit p]), which puts z on the same scale whatever kappa is.
    The density of z is Beta(p | alpha, beta) times the Jacobian dp/dz, so the model is exactly
    the same; only the coordinates change.
    """
    offset = pm.Flat(f"reference_class_{index}_offset")
    # About the mean and sd of logit(p) under Beta(alpha, beta), digamma(a) - digamma(b) and
    # sqrt(trigamma(a) + trigamma(b)), through elementary approximations within 2% of them for
    # every a, b > 0: PyTensor's polygamma gradients run in Python, many times slower.
    # Any smooth choice keeps the model exact; a close one keeps z near a standard normal.
    scale = pt.sqrt(_trigamma(alpha) + _trigamma(beta))
    logit = _digamma(alpha) - _digamma(beta) + offset * scale
    log_p, log_q = -pt.softplus(-logit), -pt.softplus(logit)
    log_beta_fn = pt.gammaln(alpha) + pt.gammaln(beta) - pt.gammaln(alpha + beta)
    pm.Potential(
        f"reference_class_{index}_offset_density",
        alpha * log_p + beta * log_q - log_beta_fn + pt.log(scale),
    )
    return pt.sigmoid(logit)


def _digamma(x):
    return pt.log(x + 0.5) - 1 / x


def _trigamma(x):
    return 1 / x**2 + 1 / (x + 0.5)


def _build_outcome(outcome: Outcome, pooled: dict, batch: tuple[int, ...] = ()) -> object:
    """The outcome's row probabilities; with `batch`, named by shape instead of dims."""

    def labelled(*dims):
        if batch:
            return {"shape": (*batch, *(len(coords_of[d]) for d in dims))}
        return {"dims": dims} if dims else {}

    coords_of = {row_dim(outcome): outcome.rows, category_dim(outcome): outcome.categories}
    if not outcome.is_binary:
        concentration = np.array([row.prior.concentration for row in outcome.rows])
        if outcome.parents:
            dims = (row_dim(outcome), category_dim(outcome))
            return pm.Dirichlet(outcome.name, a=concentration, **labelled(*dims))
        return pm.Dirichlet(outcome.name, a=concentration[0], **labelled(category_dim(outcome)))
    pooled_rows = [row for row in range(len(outcome.rows)) if (outcome.name, row) in pooled]
    alpha = np.array([row.prior.alpha for row in outcome.rows])
    beta = np.array([row.prior.beta for row in outcome.rows])
    row_dims = (row_dim(outcome),) if outcome.parents else ()
    if not pooled_rows:
        if outcome.parents:
            return pm.Beta(outcome.name, alpha=alpha, beta=beta, **labelled(*row_dims))
        return pm.Beta(outcome.name, alpha=alpha[0], beta=beta[0], **labelled())
    # A pooled row's probability comes from its reference class; the other rows keep their own
    # Beta priors, and the outcome's variable joins them in row order.
    own_rows = [row for row in range(len(outcome.rows)) if row not in pooled_rows]
    rows = [None] * len(outcome.rows)
    if own_rows:
        own = pm.Beta(
            f"{outcome.name}_unpooled",
            alpha=alpha[own_rows],
            beta=beta[own_rows],
            shape=(*batch, len(own_rows)),
        )
        for position, row in enumerate(own_rows):
            rows[row] = own[..., position]
    for row in pooled_rows:
        rows[row] = pooled[(outcome.name, row)]
    if outcome.parents:
        return pm.Deterministic(
            outcome.name, pt.stack(rows, axis=-1), dims=None if batch else row_dims
        )
    return pm.Deterministic(outcome.name, rows[0])


def _build_evidence(scenario: Scenario, index: int, item: Evidence, parameters: dict) -> None:
    outcome = scenario.outcome(item.outcome)
    target = evidence_target(scenario, item, _symbolic_rows(parameters))
    if outcome.is_binary:
        loglik = pm.logp(pm.Binomial.dist(n=item.trials, p=target), item.successes)
    else:
        counts = np.array(item.counts)
        loglik = pm.logp(pm.Multinomial.dist(n=counts.sum(), p=target), counts)
    pm.Potential(f"evidence_{index}", item.weight * loglik)


def _build_complete_pooling(scenario, index, reference, parameters) -> None:
    """Complete pooling treats the cases as one sample from the outcome row's own probability."""
    outcome = scenario.outcome(reference.outcome)
    target = _symbolic_rows(parameters)(outcome, reference.row, 1)
    successes = sum(case.successes for case in reference.cases)
    trials = sum(case.trials for case in reference.cases)
    pm.Potential(
        f"reference_class_{index}_cases",
        pm.logp(pm.Binomial.dist(n=trials, p=target), successes),
    )


def _symbolic_rows(parameters: dict):
    """row_probability over the model's tensors, for `probability.joint`."""

    def row_probability(outcome: Outcome, row: int, value: int):
        variable = parameters[outcome.name]
        chosen = variable[row] if outcome.parents else variable
        if outcome.is_binary:
            return chosen if value else 1 - chosen
        return chosen[value]

    return row_probability


def evidence_target(scenario: Scenario, item: Evidence | ReferenceClass, row_probability):
    """The probability (binary) or probability vector (categorical) an evidence item bears on."""
    outcome = scenario.outcome(item.outcome)
    if item.row is not None or not outcome.parents:
        row = item.row or 0
        if outcome.is_binary:
            return row_probability(outcome, row, 1)
        return _stack([row_probability(outcome, row, v) for v in range(outcome.cardinality)])
    table = probability.joint(scenario, [outcome.name], row_probability)
    if outcome.is_binary:
        return table[(1,)]
    return _stack([table[(v,)] for v in range(outcome.cardinality)])


def _stack(values):
    if isinstance(values[0], pt.TensorVariable):
        return pt.stack(values)
    return np.stack(values, axis=-1)
