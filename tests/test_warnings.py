"""Which messages reach the user while sampling: the tool's own diagnostics and every warning
that may signal a numerical problem; not PyMC's narration or its convergence messages, which the
diagnostics replace."""

from __future__ import annotations

import logging
import warnings

import pytest
from helpers import run_forecast

from forecast.inference import _quiet_pymc

SMALL = """\
version: 1
title: one chain
outcomes:
  talks: {prior: {beta: [2, 2]}}
evidence:
  - {outcome: talks, successes: 3, trials: 5}
"""


def test_sampling_keeps_warnings_and_drops_only_what_the_diagnostics_replace(caplog):
    caplog.set_level(logging.DEBUG)
    with _quiet_pymc(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("overflow encountered in exp", RuntimeWarning, stacklevel=1)
        warnings.warn("a compiler problem", UserWarning, stacklevel=1)
        logging.getLogger("pymc.sampling.mcmc").info("Initializing NUTS using jitter+adapt_diag")
        logging.getLogger("pymc.stats.convergence").warning("There were 3 divergences")
        logging.getLogger("pymc.sampling.parallel").warning("Chain processes did not terminate")
        logging.getLogger("pymc.stats.convergence").error("a failure")
    assert [str(w.message) for w in caught] == ["overflow encountered in exp", "a compiler problem"]
    logged = [record.getMessage() for record in caplog.records]
    assert logged == ["Chain processes did not terminate", "a failure"]
    # Nothing is left behind once sampling is over.
    caplog.clear()
    logging.getLogger("pymc.stats.convergence").warning("after")
    assert [record.getMessage() for record in caplog.records] == ["after"]


@pytest.mark.slow
def test_quiet_prints_no_paths_but_every_warning(tmp_path):
    (tmp_path / "one.yaml").write_text(SMALL, encoding="utf-8")
    result = run_forecast(
        "run", "one.yaml", "--chains", "1", "--draws", "200", "--tune", "200",
        "--format", "json", "--quiet", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "warning: one.yaml: R-hat needs at least two chains" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "reports" / "one" / "summary.json").is_file()


def test_quiet_help_says_warnings_are_kept():
    result = run_forecast("run", "--help")
    assert "Warnings are still printed" in " ".join(result.stdout.split())
