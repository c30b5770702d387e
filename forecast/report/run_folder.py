"""Reading a run folder: summary.json (of the one format this version reads), posterior.nc and
the scenario file as it was read."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping

from forecast import SUMMARY_FORMAT
from forecast.errors import RunError


class ReportError(RunError):
    """A run folder the report cannot be made from; the message says which file and why."""


def load_summary(path: pathlib.Path) -> dict:
    """Read a summary.json of the format this version understands."""
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file; is this a run folder?") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReportError(f"{path}: cannot be read: {error}") from None
    if not isinstance(summary, Mapping):
        raise ReportError(f"{path}: expected a JSON object")
    if summary.get("format") != SUMMARY_FORMAT:
        raise ReportError(
            f"{path}: summary format {summary.get('format')!r}; this version of forecast reads "
            f"format {SUMMARY_FORMAT}. Run the scenario again to write it afresh."
        )
    return summary


def load_posterior(path: pathlib.Path):
    """The posterior group of posterior.nc as an in-memory xarray Dataset."""
    # Imported here, like matplotlib and WeasyPrint below: `import forecast.report` stays cheap
    # for commands that only list runs.
    import xarray

    if not path.is_file():
        raise ReportError(f"{path}: no such file; is this a run folder?")
    try:
        # Only the posterior group: opening the whole DataTree costs twice as long.
        with xarray.open_dataset(path, group="posterior", engine="h5netcdf") as posterior:
            return posterior.load()
    except (OSError, ValueError, KeyError) as error:
        raise ReportError(f"{path}: cannot read its posterior group: {error}") from None


def load_run(run_dir: pathlib.Path) -> tuple[dict, object, str]:
    """The summary, posterior draws and scenario file text of a run folder."""
    run_dir = pathlib.Path(run_dir)
    summary = load_summary(run_dir / "summary.json")
    posterior = load_posterior(run_dir / "posterior.nc")
    try:
        scenario_text = (run_dir / "scenario.yaml").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{run_dir / 'scenario.yaml'}: no such file") from None
    return summary, posterior, scenario_text
