"""Reading what is particular to an event outcome (`kind: event`): its timeline, its prior on a
rate, and the data that bear on that rate (events in an exposure, waiting times).

An event happens at some time after `as_of`, at a rate λ; the outcome's value is whether it has
happened by the horizon. Rates are stated per day, week, month or year and kept per year; the
arithmetic that turns each form into Gamma parameters is in priors.py.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from forecast.spec import keys, priors
from forecast.spec.keys import forms_in_words, names_of
from forecast.spec.priors import GammaPrior, HazardPrior
from forecast.spec.readers import Checker, Reported, kind, suggest
from forecast.spec.scenario import PER_DAYS, YEAR_DAYS, Timeline, WaitingTime
from forecast.spec.yamlfile import KeyPath

EVENT_PRIOR_KEYS = names_of(keys.EVENT_PRIOR_FORMS)
RATE_KEYS = names_of(keys.RATE_FORMS)
EVENT_FORMS = forms_in_words(keys.EVENT_PRIOR_FORMS)
RATE_FORMS = forms_in_words(keys.RATE_FORMS)
# Keys of the evidence and reference classes that only an event's data have.
EVENT_DATA_KEYS = ("events", "exposure", "waiting_times", "period")
# How far a Gamma fitted to probabilities by dates may miss one of them.
BY_TOLERANCE = 0.01
_PIECEWISE = "{rate: [{until: DATE, rate: ...}, {rate: ...}], per: ...}"


@dataclass(frozen=True)
class FileDates:
    """The file's as_of and horizon (None where absent or invalid), and which it writes."""

    as_of: dt.date | None
    horizon: dt.date | None
    written: frozenset[str]


@dataclass(frozen=True)
class ReadHazard:
    """An event's prior as read from one condition row, with the dates its rate changes at."""

    prior: HazardPrior
    breaks: tuple[dt.date, ...]
    by_dates: bool  # fitted to probabilities by dates


def event_span(
    check: Checker, events: list[str], dates: FileDates
) -> tuple[dt.date, dt.date] | None:
    """(as_of, horizon) for the file's event outcomes; None after reporting what is missing.

    A missing date is reported once, at the first event: every event needs the same two dates.
    """
    if not events:
        return None
    where = ("outcomes", events[0], "kind")
    for name in ("as_of", "horizon"):
        if name not in dates.written:
            meaning = "when its time starts" if name == "as_of" else "when it is judged"
            check.fail(
                where,
                f"'{events[0]}' is an event, which needs the file's {name} ({meaning}): "
                f"add {name}: YYYY-MM-DD at the top of the file",
            )
    if dates.as_of is None or dates.horizon is None:
        return None  # missing (reported just now) or invalid (reported where it stands)
    if dates.horizon == dates.as_of:
        check.fail(
            where,
            f"'{events[0]}' is an event, which needs time to happen: the horizon must be after "
            f"as_of ({dates.as_of})",
        )
        return None
    if dates.horizon < dates.as_of:
        return None  # reported at the horizon
    return dates.as_of, dates.horizon


def _inside(date: dt.date, as_of: dt.date, horizon: dt.date) -> bool:
    return as_of < date <= horizon


def read_checkpoints(
    check: Checker, value, path: KeyPath, as_of: dt.date, horizon: dt.date
) -> tuple[dt.date, ...] | None:
    """The dates to report an event's probability by, increasing, with the horizon last."""
    if not isinstance(value, list):
        check.fail(
            path, f"checkpoints must be a list of dates, such as [{horizon}], got {kind(value)}"
        )
        return None
    dates: list[dt.date] = []
    for index, item in enumerate(value):
        where = (*path, index)
        date = check.date(item, where)
        if date is None:
            return None
        if not _inside(date, as_of, horizon):
            check.fail(
                where,
                f"checkpoint {date} is outside the forecast: each must be after as_of "
                f"({as_of}) and at most the horizon ({horizon})",
            )
            return None
        if dates and date <= dates[-1]:
            check.fail(
                where,
                f"checkpoint {date} must come after {dates[-1]}: write the dates in order, "
                "each once",
            )
            return None
        dates.append(date)
    if not dates or dates[-1] != horizon:
        dates.append(horizon)
    return tuple(dates)


# -- the prior -------------------------------------------------------------------------------------


def read_hazard(
    check: Checker, value, path: KeyPath, name: str, as_of: dt.date, horizon: dt.date
) -> ReadHazard | None:
    """The prior one condition row states for event `name`: a rate, a rate per period, or
    probabilities by dates."""
    block = check.mapping(value, path, "a prior")
    if block is None:
        return None
    written = set(block)
    if written - set(EVENT_PRIOR_KEYS):
        others = names_of(keys.BINARY_PRIOR_FORMS + keys.CATEGORICAL_PRIOR_FORMS)
        if written & set(others):
            check.fail(
                path,
                f"'{name}' is an event, so its prior is {EVENT_FORMS}; "
                f"{' and '.join(k for k in others if k in written)} state a probability, which is "
                "for binary and categorical outcomes",
            )
            return None
        check.check_allowed(block, path, EVENT_PRIOR_KEYS)
        return None
    per = "year"
    if "per" in block:
        per = read_unit(check, block["per"], (*path, "per"))
        if per is None:
            return None
    try:
        if "rate" in block and "by" not in block:
            if "per" not in block:
                check.fail(
                    path,
                    "say what the rate counts events per: add per: day, week, month or year",
                )
                return None
            if isinstance(block["rate"], list):
                return _piecewise(check, block["rate"], (*path, "rate"), per, as_of, horizon)
            period = read_rate(check, block["rate"], (*path, "rate"), per)
            return ReadHazard(HazardPrior((period,), per, period.stated), (), False)
        if "by" in block and "rate" not in block:
            return _by_dates(check, block["by"], (*path, "by"), per, as_of, horizon)
    except Reported:
        return None
    listed = ", ".join(sorted(written)) or "nothing"
    check.fail(path, f"an event's prior is {EVENT_FORMS}; got {listed}")
    return None


def read_unit(check: Checker, value, path: KeyPath) -> str | None:
    if isinstance(value, str) and value in keys.UNITS:
        return value
    shown = f"'{value}'" if isinstance(value, str) else kind(value)
    check.fail(
        path,
        f"unknown unit {shown}{suggest(value, keys.UNITS)} "
        f"(per: {', '.join(keys.UNITS[:-1])} or {keys.UNITS[-1]})",
    )
    return None


def per_year(rate: float, per: str) -> float:
    """The Gamma's rate parameter for the rate in events per year, given it per `per`."""
    return rate * PER_DAYS[per] / YEAR_DAYS


def read_rate(check: Checker, value, path: KeyPath, per: str) -> GammaPrior:
    """A Gamma on a rate stated per `per`, kept per year; raises Reported after a problem."""
    block = check.mapping(value, path, f"a rate ({RATE_FORMS})")
    if block is None:
        raise Reported
    written = set(block)
    if written - set(RATE_KEYS):
        check.check_allowed(block, path, RATE_KEYS)
        raise Reported
    form = next((f for f in keys.RATE_FORMS if f.matches(written)), None)
    if form is keys.GAMMA:
        pair = check.pair(block["gamma"], (*path, "gamma"), "gamma")
        if pair is None:
            raise Reported
        if min(pair) <= 0:
            check.fail(
                (*path, "gamma"),
                f"Gamma parameters (shape, rate) must be greater than 0, "
                f"got [{pair[0]:g}, {pair[1]:g}]",
            )
            raise Reported
        shape, rate = pair
        stated = f"Gamma({shape:g}, {rate:g}) per {per}"
    elif form is keys.RATE_MEAN_SD:
        mean = check.number(block["mean"], (*path, "mean"))
        sd = check.number(block["sd"], (*path, "sd"))
        if mean is None or sd is None:
            raise Reported
        where = (*path, "mean") if mean <= 0 else (*path, "sd")
        shape, rate = check.convert(priors.gamma_from_mean_sd, (mean, sd), where)
        stated = f"mean {mean:g} per {per}, sd {sd:g}"
    elif form is keys.RATE_INTERVAL:
        pair = check.pair(block["interval"], (*path, "interval"), "interval")
        mass = 0.9
        if "mass" in block:
            mass = check.probability(block["mass"], (*path, "mass"))
        if pair is None or mass is None:
            raise Reported
        shape, rate = check.convert(priors.gamma_from_interval, (*pair, mass), (*path, "interval"))
        stated = f"{mass:.0%} between {pair[0]:g} and {pair[1]:g} per {per}"
    else:
        listed = ", ".join(sorted(written)) or "nothing"
        check.fail(path, f"a rate is {RATE_FORMS}; got {listed}")
        raise Reported
    return GammaPrior(shape, per_year(rate, per), stated)


def _piecewise(
    check: Checker, items: list, path: KeyPath, per: str, as_of: dt.date, horizon: dt.date
) -> ReadHazard:
    """A rate that changes at the `until` dates of a list of periods."""
    if len(items) < 2:
        check.fail(
            path,
            "a list of rates needs two periods or more, each but the last with until: DATE; "
            "for a rate that does not change, write rate: {mean: m, sd: s} without a list",
        )
        raise Reported
    periods: list[GammaPrior] = []
    breaks: list[dt.date] = []
    good = True
    for index, item in enumerate(items):
        where = (*path, index)
        item = check.mapping(item, where, "a period ({until: DATE, rate: ...})")
        if item is None:
            good = False
            continue
        check.check_keys(item, where, keys.RATE_PERIOD)
        last = index == len(items) - 1
        if last and "until" in item:
            check.fail(
                (*where, "until"),
                "the last period runs to the horizon, so it has no until: remove it, or add a "
                "period after it",
                key=True,
            )
            good = False
        elif not last and "until" not in item:
            check.fail(
                where,
                "every period but the last needs until: DATE, the date its rate ends",
            )
            good = False
        elif not last:
            date = check.date(item["until"], (*where, "until"))
            if date is None:
                good = False
            elif not as_of < date < horizon:
                check.fail(
                    (*where, "until"),
                    f"until {date} must be after as_of ({as_of}) and before the horizon "
                    f"({horizon})",
                )
                good = False
            elif breaks and date <= breaks[-1]:
                check.fail(
                    (*where, "until"),
                    f"until {date} must come after the previous period's ({breaks[-1]})",
                )
                good = False
            else:
                breaks.append(date)
        if "rate" in item:
            try:
                periods.append(read_rate(check, item["rate"], (*where, "rate"), per))
            except Reported:
                good = False
        else:
            good = False
    if not good:
        raise Reported
    ends = [f"until {date}" for date in breaks] + ["then"]
    stated = "; ".join(f"{end}: {p.stated}" for end, p in zip(ends, periods, strict=True))
    return ReadHazard(HazardPrior(tuple(periods), per, stated), tuple(breaks), False)


def _by_dates(
    check: Checker, value, path: KeyPath, per: str, as_of: dt.date, horizon: dt.date
) -> ReadHazard:
    """The Gamma on a constant rate that meets probabilities by dates."""
    block = check.mapping(value, path, "by (DATE: probability lines)")
    if block is None:
        raise Reported
    dates: list[dt.date] = []
    probabilities: list[float] = []
    for key, probability in block.items():
        where = (*path, key)
        if isinstance(key, dt.datetime):
            key = key.date()
        if not isinstance(key, dt.date):
            check.fail(where, f"must be an ISO date such as {horizon}, got {kind(key)}", key=True)
            raise Reported
        if not _inside(key, as_of, horizon):
            check.fail(
                where,
                f"{key} is outside the forecast: each date must be after as_of ({as_of}) and "
                f"at most the horizon ({horizon})",
                key=True,
            )
            raise Reported
        if dates and key <= dates[-1]:
            check.fail(
                where, f"{key} must come after {dates[-1]}: write the dates in order", key=True
            )
            raise Reported
        number = check.probability(probability, where)
        if number is None:
            raise Reported
        if probabilities and number <= probabilities[-1]:
            check.fail(
                where,
                f"the probability by {key} ({number:g}) must be above the one by {dates[-1]} "
                f"({probabilities[-1]:g}): an event that has happened by a date has happened "
                "by every later one",
            )
            raise Reported
        dates.append(key)
        probabilities.append(number)
    if len(dates) < 2:
        example = dates[0] if dates else horizon
        check.fail(
            path,
            f"a probability by one date fixes the typical rate but not how sure you are of it: "
            f"add a second date (a later one with a higher probability, or an earlier one with "
            f"a lower), such as {{{example}: p, LATER_DATE: q}}",
        )
        raise Reported
    years = tuple((date - as_of).days / YEAR_DAYS for date in dates)
    shape, rate, fitted = priors.gamma_from_dates(years, tuple(probabilities))
    if max(abs(f - p) for f, p in zip(fitted, probabilities, strict=True)) > BY_TOLERANCE:
        check.fail(path, _no_fit(dates, probabilities, fitted))
        raise Reported
    smallest, largest = priors.GAMMA_SHAPES
    if not smallest * 1.01 < shape < largest / 1.01:
        # At the edge of the shapes searched the fit is a rate known exactly (or one so vague
        # that it is anything at all): not a belief anyone holds, and evidence could not move it.
        mean = shape / rate * PER_DAYS[per] / YEAR_DAYS
        check.fail(
            path,
            f"these probabilities say the rate is {'known exactly' if shape > 1 else 'anything'}"
            f" (a Gamma of shape {shape:.3g}), which evidence could not move; give the rate and "
            f"how unsure you are of it instead, such as {{rate: {{mean: {mean:.2g}, sd: "
            f"{mean / 2:.2g}}}, per: {per}}}",
        )
        raise Reported
    stated = ", ".join(f"{p:g} by {d}" for d, p in zip(dates, probabilities, strict=True))
    period = GammaPrior(shape, rate, stated)
    return ReadHazard(HazardPrior((period,), per, stated), (), True)


def _no_fit(dates, probabilities, fitted) -> str:
    closest = ", ".join(f"{f:.2f} by {d}" for d, f in zip(dates, fitted, strict=True))
    # A constant rate, however uncertain, gives a cumulative hazard -log(1 - P) that grows at
    # most in proportion to time: a faster growth than the fit's is a hazard that rises.
    stated = -math.log1p(-probabilities[-1]) / -math.log1p(-probabilities[0])
    reached = -math.log1p(-fitted[-1]) / -math.log1p(-fitted[0])
    if stated > reached:
        advice = (
            "these probabilities rise faster than any constant rate allows, as when the event "
            "grows likelier over time: give the rate per period instead, "
            f"{_PIECEWISE}, or lower the later probabilities"
        )
    else:
        advice = "raise the later probabilities or lower the earlier ones"
    return (
        "no Gamma prior on a constant rate gives these probabilities; the closest is "
        f"{closest}: {advice}"
    )


# -- data on the rate ------------------------------------------------------------------------------


def read_duration(
    check: Checker, value, path: KeyPath, *, censored: bool = False
) -> tuple[float, bool] | None:
    """(years, censored) of a duration written in one unit, such as {months: 8}."""
    block = keys.WAITING_TIME if censored else keys.EXPOSURE
    what = "a waiting time" if censored else "an exposure"
    mapping = check.mapping(value, path, f"{what} ({{years: T}}, or months, weeks, days)")
    if mapping is None:
        return None
    reported = len(check.problems)
    check.check_allowed(mapping, path, block.names)
    if len(check.problems) > reported:
        return None
    units = [key for key in keys.DURATIONS if key in mapping]
    if len(units) != 1:
        given = " and ".join(units) if units else "none"
        check.fail(
            path,
            f"give {what} in one unit, such as {{years: 1.5}} (years, months, weeks or days); "
            f"got {given}",
        )
        return None
    (unit,) = units
    length = check.number(mapping[unit], (*path, unit))
    if length is None:
        return None
    if length <= 0:
        check.fail((*path, unit), f"a length of time must be greater than 0, got {length:g}")
        return None
    was_censored = False
    if "censored" in mapping:
        was_censored = mapping["censored"]
        if not isinstance(was_censored, bool):
            check.fail((*path, "censored"), f"must be true or false, got {kind(was_censored)}")
            return None
    return length * PER_DAYS[unit.removesuffix("s")] / YEAR_DAYS, was_censored


def read_waiting_times(check: Checker, value, path: KeyPath) -> tuple[WaitingTime, ...] | None:
    if not isinstance(value, list) or not value:
        check.fail(
            path,
            "waiting_times must be a non-empty list of durations, such as "
            "[{years: 1.5}, {months: 8, censored: true}]",
        )
        return None
    read = [read_duration(check, item, (*path, i), censored=True) for i, item in enumerate(value)]
    if any(item is None for item in read):
        return None
    return tuple(WaitingTime(years, censored) for years, censored in read)


def read_event_data(
    check: Checker, item: dict, path: KeyPath, name: str, *, single: str | None = None
) -> tuple[int, float, tuple[WaitingTime, ...]] | None:
    """(events, years, waiting times) from `events` with `exposure`, or from `waiting_times`
    (or, with `single`, that key's one waiting time, as a case may give it)."""
    for key in ("successes", "trials", "counts"):
        if key in item:
            check.fail(
                (*path, key),
                f"'{name}' is an event: give events with exposure, or waiting_times, "
                f"instead of {key}",
                key=True,
            )
            return None
    lists = [key for key in ("waiting_times", single) if key and key in item]
    counted = "events" in item or "exposure" in item
    if lists and counted or len(lists) > 1:
        key = lists[-1]
        check.fail(
            (*path, key),
            "give either events with exposure or waiting times, not both in one item",
            key=True,
        )
        return None
    if lists:
        key = lists[0]
        if key == "waiting_times":
            times = read_waiting_times(check, item[key], (*path, key))
        else:
            one = read_duration(check, item[key], (*path, key), censored=True)
            times = None if one is None else (WaitingTime(*one),)
        if times is None:
            return None
        events = sum(1 for time in times if not time.censored)
        return events, sum(time.years for time in times), times
    if not counted:
        shapes = "events: n with exposure: {years: T}, or waiting_times: [{years: T}, ...]"
        check.fail(path, f"missing the data on '{name}''s rate: give {shapes}")
        return None
    if "events" not in item:
        check.fail(
            (*path, "exposure"),
            "an exposure needs the events seen in it: add events: n",
            key=True,
        )
        return None
    if "exposure" not in item:
        check.fail(
            (*path, "events"),
            "events need the time they were seen in: add exposure: {years: T} "
            "(or months, weeks, days)",
            key=True,
        )
        return None
    events = check.count(item["events"], (*path, "events"))
    exposure = read_duration(check, item["exposure"], (*path, "exposure"))
    if events is None or exposure is None:
        return None
    return events, exposure[0], ()


def read_period(
    check: Checker, item: dict, path: KeyPath, name: str, timeline: Timeline
) -> int | None:
    """Which period of the timeline the data bear on: its index, named by the date it ends."""
    ends = tuple(end for _, end in timeline.period_dates)
    listed = ", ".join(str(date) for date in ends)
    if not timeline.breaks:
        if "period" in item:
            check.fail(
                (*path, "period"),
                f"'{name}' has one rate from as_of to the horizon, so remove period (it names "
                "a period of a rate that changes at until dates)",
                key=True,
            )
            return None
        return 0
    if "period" not in item:
        check.fail(
            path,
            f"'{name}' changes its rate at {', '.join(str(d) for d in timeline.breaks)}, so say "
            f"which period's rate the data bear on with period: DATE, the date it ends "
            f"(one of {listed})",
        )
        return None
    date = check.date(item["period"], (*path, "period"))
    if date is None:
        return None
    if date not in ends:
        check.fail(
            (*path, "period"),
            f"no period of '{name}' ends on {date}: give the until date of a period, or the "
            f"horizon for the last (one of {listed})",
        )
        return None
    return ends.index(date)


def refuse_event_data(check: Checker, item: dict, path: KeyPath, outcome_kind: str, name) -> bool:
    """Report event-only keys on a binary or categorical outcome's data; whether there were any."""
    found = [key for key in (*EVENT_DATA_KEYS, "waiting_time") if key in item]
    if not found:
        return False
    give = "successes and trials" if outcome_kind == "binary" else "counts: {category: n, ...}"
    check.fail(
        (*path, found[0]),
        f"'{name}' is {outcome_kind}: {' and '.join(found)} are for event outcomes (kind: event); "
        f"give {give}",
        key=True,
    )
    return True
