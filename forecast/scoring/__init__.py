"""Scoring: forecasts checked against what happened.

resolutions.py reads a resolutions file; rules.py holds one pure function per score;
aggregate.py turns many scores into means, calibration bins and Murphy's decomposition;
score.py reads each run's forecasts from its summary.json and builds score.json's numbers.
Only binary and categorical outcomes are scored. Imports neither NumPy nor PyMC, except SciPy for
the calibration intervals, when they are computed.
"""

from __future__ import annotations

from forecast.scoring.resolutions import (
    Resolution,
    ResolutionsFile,
    check_against_run,
    load_resolutions,
    parse_resolutions,
)
from forecast.scoring.score import (
    Run,
    ScoringError,
    compute_scores,
    load_runs,
    pair_runs,
    to_json,
)

__all__ = [
    "Resolution",
    "ResolutionsFile",
    "Run",
    "ScoringError",
    "check_against_run",
    "compute_scores",
    "load_resolutions",
    "load_runs",
    "pair_runs",
    "parse_resolutions",
    "to_json",
]
