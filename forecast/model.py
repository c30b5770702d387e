"""Scenario -> PyMC model. The only module that creates PyMC distributions.

Parameters, named so that `posterior.nc` reads in the analyst's words:

- a binary outcome without parents: `<outcome>`, its probability;
- a binary outcome with parents: `<outcome>` with dimension `<outcome>.row`, one probability per
  condition row, labelled with the row keys as written in the file;
- a categorical outcome: `<outcome>` with dimension `<outcome>.category` (and `<outcome>.row`
  first, when it has parents);
- a partially pooled reference class k: `reference_class.<k>.mean` (the population mean mu) and
  `reference_class.<k>.log_concentration` (log kappa).

Every name other than an outcome's contains a dot (`forecast.variables`), so none can clash with
an outcome's. Evidence enters as `pm.Potential` terms: weight times the Binomial or Multinomial
log-likelihood (`forecast.likelihood`), a power likelihood that for a Beta prior on a root
outcome gives exactly Beta(a + w*s, b + w*(n - s)).

Numbers are data, structure is code: every number of the file (prior parameters, evidence counts
and weights, reference-class cases) enters as `pm.Data`, named by `model_data`, so that a
compiled model depends only on `structure_key` and takes another file's numbers, or an evidence
item left out (weight 0), without compiling again.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from forecast import events, likelihood, variables
from forecast.spec import Outcome, Scenario

# p(kappa) ∝ kappa^(-3/2) on kappa >= 1 (Gelman et al., BDA3 §5.3) is, for u = log kappa,
# p(u) ∝ exp(-u / 2) on u >= 0: an Exponential with rate 1/2. Sampling u keeps NUTS in a space
# where the funnel between kappa and the rates is mild.
LOG_CONCENTRATION_RATE = 0.5
# Beyond kappa = e^20 the Beta-Binomial and Beta log densities lose all precision to cancellation
# and can show spurious modes; the prior puts e^-10 (0.005%) of its mass there, so it is cut.
MAX_LOG_CONCENTRATION = 20.0


def structure(scenario: Scenario) -> dict:
    """Everything a compiled model depends on, and nothing else: no number of the file."""
    return {
        "outcomes": [
            {
                "name": o.name,
                "categories": list(o.categories),
                "parents": list(o.parents),
                "rows": [row.key for row in o.rows],
                "row_of_combination": list(o.row_of_combination),
                # An event's periods: their number shapes the model; its dates are numbers
                # (`model_data`), which a compiled model takes as data.
                "periods": len(o.timeline.periods) if o.is_event else None,
            }
            for o in scenario.outcomes
        ],
        "evidence": [
            {
                "outcome": item.outcome,
                "row": item.row,
                "categorical": item.counts is not None,
                "period": item.exposure.period if item.exposure else None,
            }
            for item in scenario.evidence
        ],
        "reference_classes": [
            {
                "outcome": r.outcome,
                "row": r.row,
                "pooling": r.pooling,
                "cases": len(r.cases),
                "period": r.period,
            }
            for r in scenario.reference_classes
        ],
    }


def structure_key(scenario: Scenario) -> str:
    """A hash of the structure. Versions are not in it: a process keeps its compiled models only
    while its versions cannot change, and a worker of other versions is replaced."""
    text = json.dumps(structure(scenario), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def model_data(scenario: Scenario, *, leave_out: frozenset[int] = frozenset()) -> dict:
    """The value of every `pm.Data` of the model: the file's numbers, as float arrays.

    An evidence item in `leave_out` gets weight 0: its term vanishes from the log density, and
    the model is the one without it, compiled once.
    """
    data: dict[str, np.ndarray] = {}
    for outcome in scenario.outcomes:
        if outcome.is_event:
            for part in ("shape", "rate"):
                data[variables.prior(outcome, part)] = np.array(
                    [[getattr(g, part) for g in row.prior.periods] for row in outcome.rows],
                    dtype=float,
                )
            # The years of each period before the horizon: dates are numbers, not structure.
            data[variables.prior(outcome, "exposure")] = np.array(
                outcome.timeline.exposure(outcome.timeline.horizon), dtype=float
            )
        elif outcome.is_binary:
            data[variables.prior(outcome, "alpha")] = _floats(r.prior.alpha for r in outcome.rows)
            data[variables.prior(outcome, "beta")] = _floats(r.prior.beta for r in outcome.rows)
        else:
            data[variables.prior(outcome, "concentration")] = np.array(
                [r.prior.concentration for r in outcome.rows], dtype=float
            )
    for index, item in enumerate(scenario.evidence):
        data[variables.evidence(index, "counts")] = (
            events.exposure_data(item.exposure) if item.exposure else likelihood.counts(item)
        )
        weight = 0.0 if index in leave_out else item.weight
        data[variables.evidence(index, "weight")] = np.array(weight, dtype=float)
    for index, reference in enumerate(scenario.reference_classes):
        if scenario.outcome(reference.outcome).is_event:
            data[variables.reference_class(index, "events")] = _floats(
                case.exposure.events for case in reference.cases
            )
            data[variables.reference_class(index, "years")] = _floats(
                case.exposure.years for case in reference.cases
            )
            continue
        data[variables.reference_class(index, "successes")] = _floats(
            case.successes for case in reference.cases
        )
        data[variables.reference_class(index, "trials")] = _floats(
            case.trials for case in reference.cases
        )
    return data


def _floats(values) -> np.ndarray:
    return np.array(list(values), dtype=float)


def initial_points(model: pm.Model) -> dict[str, np.ndarray]:
    """Starting values that depend on the structure only (nutpie jitters them by its seed; PyMC,
    given a prepared step, starts every chain there, and R-hat compares them after tuning).

    PyMC's default start is each distribution's central point, computed from the numbers; a
    start that ignores them keeps a cached model's draws identical to a fresh one's.
    """
    points = {}
    for variable in model.free_RVs:
        shape = tuple(int(n) for n in variable.shape.eval())
        if isinstance(variable.owner.op, pm.Dirichlet.rv_type):
            points[variable.name] = np.full(shape, 1 / shape[-1])
        elif isinstance(variable.owner.op, pm.Beta.rv_type):
            points[variable.name] = np.full(shape, 0.5)
        elif isinstance(variable.owner.op, pm.Exponential.rv_type | pm.Gamma.rv_type):
            points[variable.name] = np.full(shape, 1.0)
        else:  # the offsets of pooled rates
            points[variable.name] = np.zeros(shape)
    return points


def build_model(scenario: Scenario, *, prior: bool = False, batch: int | None = None) -> pm.Model:
    """The PyMC model of a scenario, its numbers as `pm.Data` (`model_data`).

    With `prior`, the same parameters without any data (evidence, reference-class cases), in a
    form that PyMC can sample forwards; with `batch` as well, every parameter gets a leading
    dimension of that size, so that one forward draw gives `batch` independent prior draws.
    """
    shape = (batch,) if batch else ()
    with pm.Model(coords=variables.coords(scenario)) as model:
        data = {name: pm.Data(name, value) for name, value in model_data(scenario).items()}
        pooled = _build_reference_classes(scenario, data, prior=prior, batch=shape)
        rates: dict[str, object] = {}  # each event's rates, shaped (*batch, row, period)
        parameters = {}
        for outcome in scenario.outcomes:
            if outcome.is_event:
                rates[outcome.name] = _build_rates(outcome, data, pooled, shape)
                parameters[outcome.name] = _build_event(outcome, data, rates[outcome.name], shape)
            else:
                parameters[outcome.name] = _build_outcome(outcome, data, pooled, shape)
        if prior:
            return model
        for index, item in enumerate(scenario.evidence):
            counts = data[variables.evidence(index, "counts")]
            weight = data[variables.evidence(index, "weight")]
            if item.exposure is not None:
                rate = rates[item.outcome][item.row or 0, item.exposure.period]
                loglik = events.rate_log_likelihood(counts, weight, rate)
            else:
                target = likelihood.target(scenario, item, _rows(parameters), batch=0)
                binary = scenario.outcome(item.outcome).is_binary
                loglik = likelihood.log_likelihood(counts, weight, target, binary=binary)
            pm.Potential(variables.evidence(index), loglik)
        for index, reference in enumerate(scenario.reference_classes):
            if reference.pooling != "complete":
                continue
            if reference.outcome in rates:
                rate = rates[reference.outcome][reference.row, reference.period]
                totals = pt.stack(
                    [
                        data[variables.reference_class(index, "events")].sum(),
                        data[variables.reference_class(index, "years")].sum(),
                    ]
                )
                loglik = events.rate_log_likelihood(totals, 1.0, rate)
                pm.Potential(variables.reference_class(index, "cases"), loglik)
            else:
                _build_complete_pooling(scenario, index, reference, data, parameters)
    return model


def prior_variables(scenario: Scenario) -> dict[str, tuple[str, ...]]:
    """The variables a prior draw holds, with their dimensions after chain and draw."""
    dims = {o.name: variables.dims(o) for o in scenario.outcomes}
    for outcome in scenario.outcomes:
        if outcome.is_event:
            dims[variables.rate(outcome)] = variables.rate_dims(outcome)
    for index, reference in enumerate(scenario.reference_classes):
        if reference.pooling == "partial":
            for part in ("mean", "log_concentration"):
                dims[variables.reference_class(index, part)] = ()
    return dims


def prior_dataset(scenario: Scenario, values: list[np.ndarray]) -> xr.Dataset:
    """Forward draws of `prior_variables`, as a Dataset shaped like a posterior's."""
    dims = prior_variables(scenario)
    data = {
        name: (("chain", "draw", *dims[name]), np.asarray(value)[np.newaxis])
        for name, value in zip(dims, values, strict=True)
    }
    draws = np.asarray(values[0]).shape[0]
    return xr.Dataset(
        data, coords={"chain": [0], "draw": np.arange(draws), **variables.coords(scenario)}
    )


def _build_reference_classes(
    scenario: Scenario, data: dict, *, prior: bool, batch: tuple[int, ...] = ()
) -> dict[tuple[str, int], object]:
    """The probability of each partially pooled outcome row, drawn from its population Beta."""
    pooled = {}
    for index, reference in enumerate(scenario.reference_classes):
        if reference.pooling == "complete":
            continue  # added to the row's likelihood below, as pooled evidence
        outcome = scenario.outcome(reference.outcome)
        if outcome.is_event:
            key = (outcome.name, reference.row, reference.period)
            pooled[key] = _pooled_event_rate(index, reference, outcome, data, prior, batch)
            continue
        mean = pm.Beta(
            variables.reference_class(index, "mean"),
            alpha=data[variables.prior(outcome, "alpha")][reference.row],
            beta=data[variables.prior(outcome, "beta")][reference.row],
            shape=batch,
        )
        kappa = pt.exp(_log_concentration(index, prior=prior, batch=batch))
        alpha, beta = mean * kappa, (1 - mean) * kappa
        if prior:
            pooled[(outcome.name, reference.row)] = pm.Beta(
                variables.reference_class(index, "target"), alpha=alpha, beta=beta, shape=batch
            )
            continue
        # The cases' own rates are integrated out: their counts are Beta-Binomial given (mu,
        # kappa). Each case's pooled rate is recovered from the draws in the summary.
        successes = data[variables.reference_class(index, "successes")]
        trials = data[variables.reference_class(index, "trials")]
        pm.Potential(
            variables.reference_class(index, "cases"),
            pm.logp(pm.BetaBinomial.dist(n=trials, alpha=alpha, beta=beta), successes).sum(),
        )
        pooled[(outcome.name, reference.row)] = _pooled_rate(index, alpha, beta)
    return pooled


def _log_concentration(index: int, *, prior: bool, batch: tuple[int, ...]):
    """A reference class's log concentration: p(kappa) ∝ kappa^(-3/2) on 1 <= kappa <= e^20."""
    name = variables.reference_class(index, "log_concentration")
    if prior:
        return pm.Truncated(
            name,
            pm.Exponential.dist(lam=LOG_CONCENTRATION_RATE),
            upper=MAX_LOG_CONCENTRATION,
            shape=batch,
        )
    # The same truncation as a wall, keeping the Exponential's log transform: NUTS samples it
    # far better than the interval transform of a truncated distribution.
    log_kappa = pm.Exponential(name, lam=LOG_CONCENTRATION_RATE)
    pm.Potential(
        variables.reference_class(index, "cut"),
        pt.switch(pt.gt(log_kappa, MAX_LOG_CONCENTRATION), -np.inf, 0.0),
    )
    return log_kappa


def _pooled_event_rate(index, reference, outcome, data, prior: bool, batch):
    """An event row's rate drawn from its reference class's population of rates.

    The population is Gamma with mean mu (the row's own prior) and shape kappa (how alike the
    cases are, with the prior of a binary class's concentration); each case's own rate is
    integrated out of its (events, years), Gamma-Poisson. The row's rate is a new member of the
    population, sampled without a funnel as `_pooled_rate` does: log rate = E[log rate] + z *
    sd[log rate], the density of z being Gamma(rate | kappa, kappa / mu) * rate * sd.
    """
    row, period = reference.row, reference.period
    mean = pm.Gamma(
        variables.reference_class(index, "mean"),
        alpha=data[variables.prior(outcome, "shape")][row, period],
        beta=data[variables.prior(outcome, "rate")][row, period],
        shape=batch,
    )
    kappa = pt.exp(_log_concentration(index, prior=prior, batch=batch))
    rate = kappa / mean
    if prior:
        return pm.Gamma(
            variables.reference_class(index, "target"), alpha=kappa, beta=rate, shape=batch
        )
    pm.Potential(
        variables.reference_class(index, "cases"),
        events.pooled_log_likelihood(
            data[variables.reference_class(index, "events")],
            data[variables.reference_class(index, "years")],
            kappa,
            mean,
        ),
    )
    offset = pm.Flat(variables.reference_class(index, "offset"))
    scale = pt.sqrt(_trigamma(kappa))
    log_rate = _digamma(kappa) - pt.log(rate) + offset * scale
    pm.Potential(
        variables.reference_class(index, "offset_density"),
        kappa * pt.log(rate) - pt.gammaln(kappa) + kappa * log_rate - rate * pt.exp(log_rate)
        + pt.log(scale),
    )  # fmt: skip
    return pt.exp(log_rate)


def _build_rates(outcome: Outcome, data: dict, pooled: dict, batch: tuple[int, ...] = ()):
    """An event's rates in events per year, named `<outcome>.rate` with the dimensions
    `variables.rate_dims`; returned shaped (*batch, row, period) whatever those are."""
    name = variables.rate(outcome)
    dims = variables.rate_dims(outcome)
    rows, periods = len(outcome.rows), len(outcome.timeline.periods)
    shape = data[variables.prior(outcome, "shape")]
    rate = data[variables.prior(outcome, "rate")]
    # The named variable has a row axis only with parents, a period axis only with breaks.
    keep = (slice(None) if outcome.parents else 0, slice(None) if outcome.timeline.breaks else 0)
    sizes = {variables.row_dim(outcome): rows, variables.period_dim(outcome): periods}
    labelled = {"shape": (*batch, *(sizes[d] for d in dims))} if batch else {"dims": dims}
    cells = [(r, k) for r in range(rows) for k in range(periods)]
    own = [cell for cell in cells if (outcome.name, *cell) not in pooled]
    if len(own) == len(cells):
        variable = pm.Gamma(name, alpha=shape[keep], beta=rate[keep], **labelled)
    else:
        # Pooled cells come from their reference classes; the others keep their own Gammas.
        by_cell = {}
        if own:
            own_rows, own_periods = [c[0] for c in own], [c[1] for c in own]
            drawn = pm.Gamma(
                f"{name}.unpooled",
                alpha=shape[own_rows, own_periods],
                beta=rate[own_rows, own_periods],
                shape=(*batch, len(own)),
            )
            by_cell = {cell: drawn[..., i] for i, cell in enumerate(own)}
        full = pt.stack(
            [
                pt.stack(
                    [by_cell.get((r, k), pooled.get((outcome.name, r, k))) for k in range(periods)],
                    axis=-1,
                )
                for r in range(rows)
            ],
            axis=-2,
        )
        pm.Deterministic(name, full[(Ellipsis, *keep)], dims=None if batch else dims)
        return full
    if not outcome.timeline.breaks:
        variable = variable[..., None]
    if not outcome.parents:
        variable = variable[..., None, :]
    return variable


def _build_event(outcome: Outcome, data: dict, rates, batch: tuple[int, ...] = ()):
    """An event's probability of happening by the horizon, per condition row: what its children,
    the scenarios and the worlds read, as they read a binary outcome's probability."""
    exposure = data[variables.prior(outcome, "exposure")]
    by_horizon = events.probability_by(rates, exposure)  # (*batch, row)
    if outcome.parents:
        dims = None if batch else variables.dims(outcome)
        return pm.Deterministic(outcome.name, by_horizon, dims=dims)
    return pm.Deterministic(outcome.name, by_horizon[..., 0])


def _pooled_rate(index: int, alpha, beta):
    """Beta(alpha, beta) with (alpha, beta) uncertain, sampled without a funnel.

    Sampled directly, the rate's spread shrinks as the concentration grows, a funnel that NUTS
    crosses with divergences. Instead an unbounded offset z is sampled and the rate is
    p = sigmoid(E[logit p] + z * sd[logit p]), which puts z on the same scale whatever kappa is.
    The density of z is Beta(p | alpha, beta) times the Jacobian dp/dz, so the model is exactly
    the same; only the coordinates change.
    """
    offset = pm.Flat(variables.reference_class(index, "offset"))
    # About the mean and sd of logit(p) under Beta(alpha, beta), digamma(a) - digamma(b) and
    # sqrt(trigamma(a) + trigamma(b)), through elementary approximations within 2% of them for
    # every a, b > 0: PyTensor's polygamma gradients run in Python, many times slower.
    # Any smooth choice keeps the model exact; a close one keeps z near a standard normal.
    scale = pt.sqrt(_trigamma(alpha) + _trigamma(beta))
    logit = _digamma(alpha) - _digamma(beta) + offset * scale
    log_p, log_q = -pt.softplus(-logit), -pt.softplus(logit)
    log_beta_fn = pt.gammaln(alpha) + pt.gammaln(beta) - pt.gammaln(alpha + beta)
    pm.Potential(
        variables.reference_class(index, "offset_density"),
        alpha * log_p + beta * log_q - log_beta_fn + pt.log(scale),
    )
    return pt.sigmoid(logit)


def _digamma(x):
    return pt.log(x + 0.5) - 1 / x


def _trigamma(x):
    return 1 / x**2 + 1 / (x + 0.5)


def _build_outcome(outcome: Outcome, data: dict, pooled: dict, batch: tuple[int, ...] = ()):
    """The outcome's row probabilities; with `batch`, named by shape instead of dims."""

    def labelled(*dims):
        if batch:
            return {"shape": (*batch, *(len(coords_of[d]) for d in dims))}
        return {"dims": dims} if dims else {}

    coords_of = {
        variables.row_dim(outcome): outcome.rows,
        variables.category_dim(outcome): outcome.categories,
    }
    dims = variables.dims(outcome)
    if not outcome.is_binary:
        concentration = data[variables.prior(outcome, "concentration")]
        if not outcome.parents:
            concentration = concentration[0]
        return pm.Dirichlet(outcome.name, a=concentration, **labelled(*dims))
    pooled_rows = [row for row in range(len(outcome.rows)) if (outcome.name, row) in pooled]
    alpha = data[variables.prior(outcome, "alpha")]
    beta = data[variables.prior(outcome, "beta")]
    if not pooled_rows:
        if outcome.parents:
            return pm.Beta(outcome.name, alpha=alpha, beta=beta, **labelled(*dims))
        return pm.Beta(outcome.name, alpha=alpha[0], beta=beta[0], **labelled())
    # A pooled row's probability comes from its reference class; the other rows keep their own
    # Beta priors, and the outcome's variable joins them in row order.
    own_rows = [row for row in range(len(outcome.rows)) if row not in pooled_rows]
    rows = [None] * len(outcome.rows)
    if own_rows:
        own = pm.Beta(
            f"{outcome.name}.unpooled",
            alpha=alpha[own_rows],
            beta=beta[own_rows],
            shape=(*batch, len(own_rows)),
        )
        for position, row in enumerate(own_rows):
            rows[row] = own[..., position]
    for row in pooled_rows:
        rows[row] = pooled[(outcome.name, row)]
    if outcome.parents:
        return pm.Deterministic(outcome.name, pt.stack(rows, axis=-1), dims=None if batch else dims)
    return pm.Deterministic(outcome.name, rows[0])


def _build_complete_pooling(scenario, index, reference, data, parameters) -> None:
    """Complete pooling treats the cases as one sample from the outcome row's own probability."""
    outcome = scenario.outcome(reference.outcome)
    p = _rows(parameters)(outcome)[reference.row]
    successes = data[variables.reference_class(index, "successes")].sum()
    trials = data[variables.reference_class(index, "trials")].sum()
    loglik = likelihood.log_likelihood(
        pt.stack([successes, trials - successes]), 1.0, p, binary=True
    )
    pm.Potential(variables.reference_class(index, "cases"), loglik)


def _rows(parameters: dict):
    """Each outcome's row probabilities with a row axis, also for a root (one row)."""

    def rows(outcome: Outcome):
        variable = parameters[outcome.name]
        return variable if outcome.parents else variable[None]

    return rows
