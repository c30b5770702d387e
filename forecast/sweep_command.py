"""`forecast sweep`: the named scenarios along a grid of values of one or two numbers of a file.
Registered in forecast/cli.py.

Like the other commands it only parses options, calls the library (forecast.sweep for the
numbers, forecast.report.sweep_page for the pages) and prints. Imports nothing heavy until it
runs, so that `forecast validate` stays quick.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from forecast.command_options import format_option, sampling_options, scheduler_option


@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--vary",
    "vary_options",
    multiple=True,
    required=True,
    metavar="PATH=FROM:TO:STEPS",
    help="A number of the file to sweep: STEPS values (at least 2) evenly spaced from FROM to "
    "TO, at the key PATH (as --set takes it, such as evidence[0].weight). Once for a line, "
    "twice for a grid.",
)
@click.option(
    "--out",
    "out_dir",
    default="reports",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the results: the sweep goes into OUT/<file stem>@sweep/.",
)
@sampling_options(
    draws_help="Posterior draws per chain of the file's own run.",
    chains_help="Chains of the file's own run.",
)
@format_option(
    show_default=True, help="Outputs to write, separated by commas; sweep.json is always written."
)
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter"]),
    default="a4",
    show_default=True,
    help="Page size of sweep.pdf.",
)
@click.option(
    "--quiet",
    is_flag=True,
    help="No progress bar and no list of files written. Warnings are still printed.",
)
@scheduler_option()
def sweep(file, vary_options, out_dir, seed, draws, tune, chains, formats, paper, quiet, scheduler):
    """Sweep one or two numbers of a scenario file and show each named scenario's probability,
    with its 90% interval, against them.

    The file is sampled once; each grid point reweights those draws (Pareto-smoothed importance
    sampling) or, where the weights are unreliable (Pareto k-hat above 0.7), samples the
    compiled model again with the point's numbers. Every point is validated before anything is
    sampled. Writes OUT/<stem>@sweep/sweep.json, sweep.html and sweep.pdf, all or nothing.

    \b
    Example:
      forecast sweep scenarios/singapore-summit-2018.yaml \\
        --vary 'outcomes.summit_held.prior.interval[0]=0.4:0.8:20'
      forecast sweep scenarios/singapore-summit-2018.yaml \\
        --vary 'evidence[0].weight=0:1:6' --vary 'evidence[1].weight=0:1:6'
      forecast sweep scenarios/singapore-summit-2018.yaml --scheduler tcp://127.0.0.1:8786 \\
        --vary 'outcomes.summit_held.prior.interval[0]=0.1:0.9:40'
    """
    from forecast.cluster import Jobs
    from forecast.pipeline import RunOptions, settings_for
    from forecast.spec import load_scenario
    from forecast.sweep import (
        compute_sweep,
        plan_sweep,
        read_vary_options,
        sweep_folder,
        write_sweep,
    )

    varies = read_vary_options(vary_options)
    base = load_scenario(file)
    plan = plan_sweep(base, varies)
    settings = settings_for(base, RunOptions(seed=seed, draws=draws, tune=tune, chains=chains))
    show_progress = not quiet and sys.stderr.isatty()
    progress = _Progress(len(plan.points), enabled=show_progress)
    try:
        # The grid's bar counts the points sampled again too: the jobs draw none of their own.
        with Jobs(scheduler, quiet=quiet) as jobs:
            document = compute_sweep(
                plan,
                settings,
                command=_command_line(),
                progress=show_progress,
                on_point=progress,
                jobs=jobs,
            )
    finally:
        progress.close()
    for warning in document["warnings"]:
        click.secho(f"warning: {base.source_file}: {warning}", fg="yellow", err=True)
    written = write_sweep(document, sweep_folder(Path(out_dir), base), formats=formats, paper=paper)
    if not quiet:
        for path in written:
            click.echo(str(path))


class _Progress:
    """A progress bar over the grid points, shown from the first point done (the sampler shows
    its own bar before)."""

    def __init__(self, total: int, *, enabled: bool):
        self.total, self.enabled, self.bar = total, enabled, None

    def __call__(self, position: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=self.total, label="grid points", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _command_line() -> str:
    import shlex

    words = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv else ["forecast"]
    return shlex.join(words)
