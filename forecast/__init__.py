"""Bayesian scenario forecasting: elicited priors and evidence to a full posterior."""

__version__ = "0.1.0"
