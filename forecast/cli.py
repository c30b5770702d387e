"""The `forecast` command line: parse options, call the library, turn its errors into messages.

Exit status: 0 success, 1 an invalid scenario file, 2 bad command-line usage, 3 a run that failed,
4 a run whose convergence diagnostics failed under --strict, 130 interrupted.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import click

from forecast import __version__
from forecast.command_options import (
    REPORT_FORMATS,
    format_option,
    sampling_options,
    scheduler_option,
)
from forecast.errors import ForecastError, OptionError, RunError, ScenarioError

EXIT_STRICT = 4


class _Command(click.Command):
    """Turns the library's errors into one line each on stderr, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ScenarioError as error:
            for problem in error.problems:
                click.echo(str(problem), err=True)
            count = len(error.problems)
            click.echo(f"{count} problem{'s' if count != 1 else ''} found.", err=True)
            ctx.exit(error.exit_status)
        except ForecastError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(error.exit_status)
        except KeyboardInterrupt:
            click.echo("interrupted; no output was changed.", err=True)
            ctx.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as error:  # a bug, not the user's doing: say so in one line
            if os.environ.get("FORECAST_DEBUG"):
                raise
            click.echo(
                f"internal error: {type(error).__name__}: {error} "
                "(set FORECAST_DEBUG=1 to see where; please report it with the scenario file)",
                err=True,
            )
            ctx.exit(3)


class _Group(click.Group):
    command_class = _Command


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="forecast")
def cli():
    """Bayesian scenario forecasting: from a YAML scenario file to probabilities and a report.

    \b
    Example:
      forecast new my-question          # write a commented template
      forecast validate my-question.yaml
      forecast run my-question.yaml     # sample, then write reports/my-question/
    """


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files):
    """Check scenario files (and resolutions files, named *.resolutions.yaml) and report every
    problem, one line each as FILE:LINE:COL.

    \b
    Example:
      forecast validate scenarios/*.yaml
    """
    problems = []
    for file in files:
        if file.endswith(RESOLUTIONS_SUFFIX):
            from forecast.scoring.resolutions import load_resolutions

            try:
                resolved = load_resolutions(file)
            except ScenarioError as error:
                problems.extend(error.problems)
                continue
            click.echo(
                f"{resolved.file}: ok (resolutions of {resolved.scenario}: "
                f"{_count(resolved.resolutions, 'outcome')} resolved)"
            )
            continue
        try:
            scenario = _load_all([file])[0]
        except ScenarioError as error:
            problems.extend(error.problems)  # and go on: every file's problems at once
            continue
        click.echo(
            f"{scenario.source_file}: ok ({_count(scenario.outcomes, 'outcome')}, "
            f"{_count(scenario.evidence, 'evidence item')}, "
            f"{_count(scenario.reference_classes, 'reference class', 'reference classes')}, "
            f"{_count(scenario.scenarios, 'scenario')})"
        )
    if problems:
        raise ScenarioError(problems)


# What tells a resolutions file from a scenario file beside it (docs/scoring.md).
RESOLUTIONS_SUFFIX = ".resolutions.yaml"


def _count(items, one: str, many: str | None = None) -> str:
    return f"{len(items)} {one if len(items) == 1 else many or one + 's'}"


def _load_all(files) -> list:
    """Every file's scenario, or a ScenarioError with the problems of all of them."""
    from forecast.spec import load_scenario

    problems, scenarios = [], []
    for file in files:
        try:
            scenarios.append(load_scenario(file))
        except ScenarioError as error:
            problems.extend(error.problems)
    if problems:
        raise ScenarioError(problems)
    return scenarios


@cli.command()
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder to write NAME.yaml into.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def new(name, directory, force):
    """Write a commented template scenario NAME.yaml that validates as it is.

    \b
    Example:
      forecast new iran-deal-2026 --dir scenarios
    """
    from importlib.resources import files

    stem = name.removesuffix(".yaml")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", stem):
        raise click.BadParameter(
            "use lower-case letters, digits, - and _, such as 'iran-deal-2026'",
            param_hint="NAME",
        )
    folder = Path(directory)
    target = folder / f"{stem}.yaml"
    if target.exists() and not force:
        raise click.ClickException(f"{target} exists; choose another name or pass --force")
    schema = _schema_reference(folder)
    title = re.sub(r"[-_]+", " ", stem).strip().capitalize()
    template = files("forecast").joinpath("templates/new_scenario.yaml").read_text("utf-8")
    text = template.replace("{title}", title).replace("{schema}", schema)
    folder.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {target}")
    if schema == "scenario.schema.json" and not (folder / schema).exists():
        click.echo(
            f"for checks as you type: forecast schema > {folder / schema}",
            err=True,
        )


def _schema_reference(folder: Path) -> str:
    """The path from `folder` to the project's committed schema, if one is above it."""
    here = folder.resolve()
    for candidate in (here, *here.parents):
        schema = candidate / "docs" / "scenario.schema.json"
        if schema.is_file():
            return Path(os.path.relpath(schema, here)).as_posix()
    return "scenario.schema.json"


@cli.command()
def schema():
    """Print the JSON Schema of the scenario format, for editor support.

    Scenario files that start with a `# yaml-language-server: $schema=PATH` line are then
    checked and completed as they are typed (VS Code's YAML extension, Neovim, Helix).

    \b
    Example:
      forecast schema > docs/scenario.schema.json
    """
    from forecast.spec.schema import scenario_schema

    click.echo(json.dumps(scenario_schema(), indent=2, ensure_ascii=False))


@cli.command(context_settings={"show_default": True})
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--out",
    "out_dir",
    default="reports",
    type=click.Path(file_okay=False),
    help="Folder for the results; each scenario gets OUT/<file stem>/.",
)
@sampling_options(draws_help="Posterior draws per chain.", chains_help="Chains.")
@format_option(help="Outputs to write, separated by commas.")
@click.option(
    "--paper", type=click.Choice(["a4", "letter"]), default="a4", help="Page size of report.pdf."
)
@click.option(
    "--quiet",
    is_flag=True,
    help="No progress bar and no list of files written. Warnings are still printed: each says "
    "why a result may not be trusted.",
)
@click.option(
    "--strict", is_flag=True, help="Exit with status 4 when the convergence diagnostics fail."
)
@click.option(
    "--no-worker",
    is_flag=True,
    help="Sample in this process rather than in the local worker that keeps compiled models "
    "between runs (as does FORECAST_NO_WORKER=1). The output is the same either way.",
)
@click.option(
    "--set",
    "set_options",
    multiple=True,
    metavar="PATH=VALUE",
    help="Run a what-if: the file with the value at PATH replaced by VALUE (YAML). PATH is "
    "dotted keys with list indices from 0 in brackets, such as evidence[0].weight. Repeatable. "
    "Writes OUT/<stem>@<name>/, never the base run's folder.",
)
@click.option(
    "--name",
    "what_if_name",
    default=None,
    metavar="NAME",
    help="Name of the --set run: OUT/<stem>@NAME/.  [default: set- and 8 hex digits of a "
    "SHA-256 of the overrides]",
)
@click.option(
    "--variant",
    "variant_names",
    multiple=True,
    metavar="NAME",
    help="Run only this variant of the file besides the base; repeatable.  [default: all]",
)
@click.option("--no-variants", is_flag=True, help="Run the file alone, none of its variants.")
@scheduler_option()
def run(
    files,
    out_dir,
    seed,
    draws,
    tune,
    chains,
    formats,
    paper,
    quiet,
    strict,
    no_worker,
    set_options,
    what_if_name,
    variant_names,
    no_variants,
    scheduler,
):
    """Sample each scenario's posterior and write its summary, draws and reports.

    Writes OUT/<stem>/summary.json, posterior.nc, scenario.yaml, report.html and report.pdf,
    and OUT/index.html. A file's variants are run too, each into OUT/<stem>@<variant>/, and
    compared with the base in OUT/<stem>/compare.html, .pdf and .json. A failed or
    interrupted run leaves the previous results as they were.

    \b
    Example:
      forecast run scenarios/singapore-summit-2018.yaml --seed 7 --format json,html
      forecast run scenarios/singapore-summit-2018.yaml \\
        --set 'outcomes.summit_held.prior={interval: [0.8, 0.98]}' --name confident
      forecast run scenarios/*.yaml --scheduler tcp://127.0.0.1:8786
    """
    what_if = _command_line_what_if(set_options, what_if_name, variant_names, no_variants)
    scenarios = _load_all(files)
    plans = _plan_runs(scenarios, what_if, variant_names, no_variants)
    stems: dict[str, str] = {}
    for scenario in scenarios:
        stem = Path(scenario.source_file).stem
        if stem in stems:
            raise click.UsageError(
                f"{stems[stem]} and {scenario.source_file} would both write {out_dir}/{stem}/; "
                "rename one or run them with different --out folders"
            )
        stems[stem] = scenario.source_file
    try:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunError(f"cannot create the output folder {out_dir}: {error.strerror}") from None

    from forecast.cluster import Jobs
    from forecast.cluster.runs import run_scenarios
    from forecast.pipeline import RunOptions, run_scenario

    everything = [scenario for runs in plans for scenario in runs]
    terminal = not quiet and sys.stderr.isatty()
    options = RunOptions(
        seed=seed,
        draws=draws,
        tune=tune,
        chains=chains,
        formats=frozenset(formats),
        paper=paper,
        # The sampler's own bar for one run here; several runs share one bar of runs.
        progress=terminal and len(everything) == 1,
        command=_command_line(),
    )
    jobs = Jobs(scheduler, progress=terminal, quiet=quiet)
    run_here, worker = run_scenario, None
    if jobs.here and not no_worker:
        from forecast.worker.client import Runner, disabled_by_environment

        if not disabled_by_environment():
            worker = Runner(in_process=run_scenario)
            run_here = worker.run
    written: list = []
    try:
        with jobs:
            finished = run_scenarios(
                everything,
                Path(out_dir),
                options,
                jobs,
                run_here=run_here,
                name=_run_label,
                on_written=written.append,
            )
    except KeyboardInterrupt:
        if not written:
            raise
        click.echo(
            f"interrupted; {len(written)} of {_count(everything, 'run')} were written whole, "
            "the others left as they were.",
            err=True,
        )
        sys.exit(130)
    finally:
        if worker is not None:
            worker.close()
    if len(finished) == 1 and not finished[0].ok:
        raise finished[0].error  # one run: its error as it always was
    done = iter(finished)
    failures = []
    failed_diagnostics, first = False, True
    for runs in plans:
        results = []
        for scenario in runs:
            outcome = next(done)
            if not outcome.ok:
                failures.append(outcome)
                continue
            result = outcome.result
            results.append(result)
            if not result.diagnostics_ok:
                failed_diagnostics = True
            for warning in result.warnings:
                line = f"warning: {_run_label(scenario)}: {warning}"
                click.secho(line, fg="yellow", err=True)
            if not quiet:
                # The index first, once: the output then ends with the paths of reports.
                if first and "html" in formats:
                    click.echo(str(Path(out_dir) / "index.html"))
                for path in result.written:
                    click.echo(str(path))
            first = False
        # The file's own run first: the others are compared with it.
        if len(results) > 1 and results[0].run_dir.name == runs[0].run_name:
            from forecast.compare import write_comparison

            folders = [result.run_dir for result in results]
            for path in write_comparison(folders, folders[0], formats=formats, paper=paper):
                if not quiet:
                    click.echo(str(path))
            if "html" in formats:
                from forecast.report import write_index

                write_index(Path(out_dir))  # again, to link the comparison
    for outcome in failures:
        click.echo(f"error: {outcome.job.name}: {_error_text(outcome.error)}", err=True)
    if failures:
        count = f"{len(failures)} of {_count(everything, 'run')}"
        click.echo(f"{count} failed; the others were written.", err=True)
        sys.exit(RunError.exit_status)
    if strict and failed_diagnostics:
        click.echo("error: convergence diagnostics failed (--strict)", err=True)
        sys.exit(EXIT_STRICT)


def _command_line_what_if(set_options, name, variant_names, no_variants):
    """The what-if of --set and --name, if any; refuses options that contradict each other."""
    from forecast.spec.overrides import command_line_what_if, read_set_options

    if name is not None and not set_options:
        raise OptionError(f"--name '{name}' names a --set run; give --set PATH=VALUE too")
    if set_options and variant_names:
        raise OptionError(
            "--set and --variant cannot be combined: --set runs one what-if of the file itself; "
            "to change a variant, edit its set: in the file"
        )
    if variant_names and no_variants:
        raise OptionError("--variant and --no-variants contradict each other; give one")
    if not set_options:
        return None
    return command_line_what_if(read_set_options(set_options), name)


def _plan_runs(scenarios, what_if, variant_names, no_variants) -> list[list]:
    """For each file, the scenarios to run: the what-if of --set alone, or the file and the
    variants chosen. Raises the problems of every file at once."""
    from forecast.spec import load_what_if
    from forecast.spec.overrides import choose_variants

    plans, problems = [], []
    for scenario in scenarios:
        try:
            if what_if is not None:
                plans.append([load_what_if(scenario, what_if)])
                continue
            chosen = [] if no_variants else choose_variants(scenario, variant_names)
            plans.append([scenario, *(load_what_if(scenario, v) for v in chosen)])
        except ScenarioError as error:
            problems.extend(error.problems)
    if problems:
        raise ScenarioError(problems)
    return plans


def _error_text(error: BaseException) -> str:
    """A run's error in one line: the library's message, or what a bug raised."""
    if isinstance(error, ForecastError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _run_label(scenario) -> str:
    """A run in a message: its file, and the what-if's name when it is one."""
    if scenario.what_if is None:
        return scenario.source_file
    return f"{scenario.source_file} ({scenario.what_if.name})"


@cli.command(context_settings={"show_default": True})
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path())
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder for compare.json, compare.html and compare.pdf.  [default: the first RUN_DIR]",
    show_default=False,
)
@format_option(help="Outputs to write, separated by commas; compare.json is always written.")
@click.option(
    "--paper", type=click.Choice(["a4", "letter"]), default="a4", help="Page size of compare.pdf."
)
def compare(run_dirs, out_dir, formats, paper):
    """Compare finished runs: each probability side by side, the difference from the first run
    and whether it exceeds Monte Carlo noise, and what differs between their inputs.

    \b
    Example:
      forecast compare reports/singapore-summit-2018 \\
        reports/singapore-summit-2018@history_favours_kim
    """
    from forecast.compare import write_comparison

    if len(run_dirs) < 2:
        raise OptionError("compare needs at least two run folders, the first the reference")
    target = Path(out_dir) if out_dir is not None else Path(run_dirs[0])
    for path in write_comparison(run_dirs, target, formats=formats, paper=paper):
        click.echo(str(path))


@cli.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@format_option(REPORT_FORMATS, help="Reports to write: html, pdf or both.", show_default=True)
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter"]),
    default="a4",
    show_default=True,
    help="Page size of report.pdf.",
)
def report(run_dirs, formats, paper):
    """Redraw report.html and report.pdf from a run folder's saved results, without sampling.

    \b
    Example:
      forecast report reports/singapore-summit-2018 --paper letter
    """
    from forecast.pipeline import redraw_reports

    for run_dir in run_dirs:
        for path in redraw_reports(Path(run_dir), formats=formats, paper=paper):
            click.echo(str(path))


def _command_line() -> str:
    import shlex

    words = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv else ["forecast"]
    return shlex.join(words)


@cli.group(cls=_Group)
def cache():
    """Show or empty the cache folder: the worker's socket and log, PyTensor's compiled code.

    The folder is $FORECAST_CACHE_DIR, else $XDG_CACHE_HOME/forecast, else ~/.cache/forecast.
    Everything in it is rebuilt when missing.

    \b
    Example:
      forecast cache info
      forecast cache clear
    """


@cache.command("info")
def cache_info():
    """Show the cache folder, its size, what it holds and whether a worker is running.

    \b
    Example:
      forecast cache info
    """
    from forecast import cache_dir
    from forecast.worker import client

    root = cache_dir.location()
    if not root.exists():
        click.echo(f"cache: {root} (not created yet)")
        return
    found = cache_dir.entries(root)
    click.echo(f"cache: {root}")
    click.echo(f"size: {cache_dir.readable_size(sum(entry.size for entry in found))}")
    for entry in found:
        name = entry.name + ("/" if entry.is_dir else "")
        what = cache_dir.WHAT.get(entry.name, "")
        click.echo(f"  {name:<14} {cache_dir.readable_size(entry.size):>10}  {what}".rstrip())
    folder = root / cache_dir.WORKER
    problem = cache_dir.privacy_problem(root, folder) if folder.exists() else None
    if problem:
        click.echo(f"worker: not used, since {problem}")
        return
    hello = client.status()
    if hello is None:
        click.echo("worker: not running")
        return
    runs = hello.get("runs", 0)
    click.echo(
        f"worker: running, pid {hello.get('pid')}, since {hello.get('started')}, "
        f"{runs} run{'s' if runs != 1 else ''}"
    )
    versions = hello.get("fingerprint") or {}
    names = ("forecast", "python", "pymc", "pytensor", "nutpie", "numba")
    click.echo("  " + ", ".join(f"{name} {versions.get(name)}" for name in names))


@cache.command("clear")
def cache_clear():
    """Stop the worker and remove everything in the cache folder.

    Symbolic links in the folder are removed, never followed; a folder that does not carry
    forecast's CACHEDIR.TAG is left alone. The next run rebuilds what it needs.

    \b
    Example:
      forecast cache clear
    """
    from forecast import cache_dir
    from forecast.worker import client

    root = cache_dir.location()
    pid = client.stop()
    if pid is not None:
        click.echo(f"stopped the worker (pid {pid})")
    removed = cache_dir.clear_cache(root)
    size = cache_dir.readable_size(sum(entry.size for entry in removed))
    items = f"{len(removed)} item{'s' if len(removed) != 1 else ''}"
    click.echo(f"removed {items} ({size}) from {root}")


from forecast.score_command import score  # noqa: E402  (its own module, as cli.py stays thin)

cli.command()(score)

from forecast.watch_command import watch  # noqa: E402  (its own module, as cli.py stays thin)

cli.command()(watch)

from forecast.sweep_command import sweep  # noqa: E402  (its own module, as cli.py stays thin)

cli.command()(sweep)


def main() -> None:
    from forecast import cache_dir

    # Before anything imports PyTensor, which reads its settings once.
    cache_dir.use_for_pytensor()
    cli(prog_name="forecast")
