"""What changed between two runs of a watched file: every scenario's and outcome's probability,
with the difference where it is more than Monte Carlo noise, and the lines of the file that
changed. Numbers only, worded for the page; no drawing and no files.

The noise test is `forecast compare`'s (forecast.compare): a difference counts when it is larger
than 3 × sqrt(mcse₁² + mcse₂²), so that resampling the same file never shows an arrow.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from forecast.compare import NOISE_MULTIPLE, Run, compute_comparison
from forecast.report.wording import format_difference, format_probability

# Lines of the file's diff shown on the page; a longer diff ends with a count of the rest.
DIFF_LINES = 40


def compute_rows(summary: Mapping) -> dict:
    """The probabilities of one run alone (the first run of a watch has nothing to compare)."""
    scenarios = [
        _row(name, name, item["posterior"], None, detail=item["expression"])
        for name, item in summary["scenarios"].items()
    ]
    outcomes = []
    for name, outcome in summary["outcomes"].items():
        if outcome["kind"] == "categorical":
            for category in outcome["categories"].values():
                label = f"{outcome['label']}: {category['label']}"
                outcomes.append(_row(name, label, category["posterior"], None))
        else:
            outcomes.append(_row(name, outcome["label"], outcome["posterior"], None))
    return {"scenarios": scenarios, "outcomes": outcomes, "diff": [], "warnings": []}


def compute_changes(
    previous: Mapping, previous_text: str, current: Mapping, current_text: str
) -> dict:
    """Every scenario and outcome of `current` beside `previous`: the probability now, before,
    and the difference with its direction when it is beyond Monte Carlo noise; the file's diff;
    and warnings where the two runs are not comparable (another model, a failed check)."""
    comparison = compute_comparison(
        [
            Run(Path("before"), dict(previous), previous_text),
            Run(Path("now"), dict(current), current_text),
        ]
    )
    scenarios = [
        _row(item["name"], item["name"], *reversed(item["runs"]), detail=item["expression"])
        for item in comparison["scenarios"]
        if item["runs"][1] is not None
    ]
    outcomes = []
    for item in comparison["outcomes"]:
        if item["runs"][1] is None:
            continue
        label = item["label"]
        if item["category_label"] is not None:
            label = f"{label}: {item['category_label']}"
        outcomes.append(_row(item["outcome"], label, *reversed(item["runs"])))
    return {
        "scenarios": scenarios,
        "outcomes": outcomes,
        "diff": _diff_lines(comparison["inputs"][0]["diff"]),
        "warnings": _warnings(comparison["warnings"], previous, current),
    }


def _warnings(comparison_warnings: list[str], previous: Mapping, current: Mapping) -> list[str]:
    """Why a difference from the run before may mislead. The run's own failed checks are listed
    with its diagnostics on the page, so only the run before's are said here."""
    warnings = []
    if not previous["diagnostics"]["ok"]:
        warnings.append(
            "The run before failed its convergence checks: a difference from it may not be "
            "trusted, arrow or none."
        )
    gone = [
        f"scenario '{name}'" for name in previous["scenarios"] if name not in current["scenarios"]
    ]
    gone += [
        f"outcome '{name}'" for name in previous["outcomes"] if name not in current["outcomes"]
    ]
    if gone:
        warnings.append(f"No longer in the file: {', '.join(gone)}.")
    # compare's warnings that name no run: a scenario defined anew, categories changed.
    warnings += [
        warning
        for warning in comparison_warnings
        if "defined differently" in warning or "has other categories" in warning
    ]
    return warnings


def _row(
    name: str, label: str, now: Mapping, before: Mapping | None, *, detail: str | None = None
) -> dict:
    """One line of the list. `now` and `before` are STATS of summary.json or entries of
    compare_stats (which carry `difference` and `beyond_noise` for the second run); `detail` is
    a scenario's expression, shown under its name as in the report."""
    row = {
        "name": name,
        "label": label,
        "detail": detail,
        "now": format_probability(now["mean"]),
        "before": None,
        "difference": None,
        "direction": None,
        "noise": None,
    }
    if before is None:
        return row
    row["before"] = format_probability(before["mean"])
    combined = now.get("combined_mcse")
    if combined is not None:
        row["noise"] = format_difference(NOISE_MULTIPLE * combined).lstrip("+")
    if now.get("beyond_noise"):
        row["difference"] = format_difference(now["difference"])
        row["direction"] = "up" if now["difference"] > 0 else "down"
    return row


def _diff_lines(diff: list[str]) -> list[str]:
    """The unified diff without its two file-name lines, cut to DIFF_LINES."""
    body = [line for line in diff if not line.startswith(("--- ", "+++ "))]
    if len(body) > DIFF_LINES:
        rest = len(body) - DIFF_LINES
        body = [*body[:DIFF_LINES], f"… {rest} more line{'s' if rest != 1 else ''}"]
    return body
