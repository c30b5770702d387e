"""Options that several commands share, declared once (the commands stay in cli.py and in their
own modules). Imports only click, so that `forecast validate` stays quick."""

from __future__ import annotations

import click

ALL_FORMATS = ("json", "html", "pdf")
REPORT_FORMATS = ("html", "pdf")


def format_option(allowed: tuple[str, ...] = ALL_FORMATS, **settings):
    """`--format A,B`: a set of the outputs in `allowed`, else a usage error naming them."""

    def chosen_formats(ctx, param, value: str) -> set[str]:
        chosen = {part.strip() for part in value.split(",") if part.strip()}
        if not chosen or chosen - set(allowed):
            raise click.BadParameter(
                f"choose from {', '.join(allowed)} separated by commas, got {value!r}"
            )
        return chosen

    return click.option(
        "--format", "formats", default=",".join(allowed), callback=chosen_formats, **settings
    )


def sampling_options(*, draws_help: str, chains_help: str):
    """`--seed`, `--draws`, `--tune`, `--chains`: the sampler settings that override the file's."""
    options = [
        click.option(
            "--seed",
            type=click.IntRange(min=0),
            default=None,
            help="Random seed; overrides the file's seed.  [default: the file's, else 0]",
        ),
        click.option(
            "--draws",
            type=click.IntRange(min=100),
            default=None,
            help=f"{draws_help}  [default: the file's, else 1000]",
        ),
        click.option(
            "--tune",
            type=click.IntRange(min=1),
            default=None,
            help="Tuning steps per chain.  [default: the file's, else 1000]",
        ),
        click.option(
            "--chains",
            type=click.IntRange(min=1),
            default=None,
            help=f"{chains_help}  [default: the file's, else 4]",
        ),
    ]

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


# The environment variable that gives --scheduler's address when the option is left out.
SCHEDULER_VARIABLE = "FORECAST_SCHEDULER"


def scheduler_option():
    """`--scheduler ADDRESS` (or FORECAST_SCHEDULER): run the command's samplings on an existing
    Dask cluster rather than here (forecast/cluster/, docs/cluster.md)."""
    return click.option(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        envvar=SCHEDULER_VARIABLE,
        show_envvar=True,
        help="Sample on the Dask cluster whose scheduler is at ADDRESS, such as "
        "tcp://10.0.0.5:8786; this process writes the results. The numbers are the same as "
        "here.  [default: sample here]",
    )
