"""Bayesian scenario forecasting: elicited priors and evidence to a full posterior."""

__version__ = "0.1.0"
# The layout of summary.json (docs/run-output.md): written by `forecast.pipeline`, the only
# layout the report reads.
SUMMARY_FORMAT = 2
