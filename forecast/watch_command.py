"""`forecast watch`: a live preview of one scenario file. Registered in forecast/cli.py.

Like the other commands it only parses options, calls the library (forecast.watch) and prints;
the library's errors become one line each. Ctrl-C is the way to stop, so it ends with status 0.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import click


@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on. When it is busy, or 0, a free one is taken and printed.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Any address but loopback makes the report readable from the "
    "network, and a warning says so.",
)
@click.option(
    "--open/--no-open",
    "open_browser",
    default=None,
    help="Open the page in a web browser.  [default: open when run from a terminal]",
)
@click.option(
    "--out",
    "out_dir",
    default="reports",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the results: each good run is written to OUT/<file stem>/ as "
    "`forecast run --format json,html` writes it.",
)
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter"]),
    default="a4",
    show_default=True,
    help="Page size of report.pdf, drawn when the page asks for it.",
)
def watch(file, port, host, open_browser, out_dir, paper):
    """Preview a scenario file live: sample it at every save and show the report in a browser
    page that updates itself.

    Runs FILE once, then serves a page at http://127.0.0.1:PORT/ with every scenario's and
    outcome's probability, an arrow and the difference where one moved by more than the Monte
    Carlo noise since the previous run, and the full report. At each save the file is checked:
    problems are shown above the last good numbers, marked stale; a valid file is sampled again,
    in seconds when only numbers changed (the compiled model is kept). Each good run is written
    to OUT/<stem>/; report.pdf only when the page's PDF link asks for it. The file's variants
    are not run (use forecast run). Ctrl-C stops.

    \b
    Example:
      forecast watch scenarios/singapore-summit-2018.yaml --port 8000
    """
    from forecast.errors import OptionError, Problem, RunError, ScenarioError
    from forecast.watch import LivePreview, is_loopback

    path = Path(file)
    if not path.is_file():
        reason = "no such file" if not path.exists() else "not a file"
        raise ScenarioError([Problem(file, 1, 1, (), f"cannot read the file: {reason}")])
    try:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunError(f"cannot create the output folder {out_dir}: {error.strerror}") from None

    def echo(message: str, is_error: bool) -> None:
        if message.startswith("warning:"):
            click.secho(message, fg="yellow", err=True)
        else:
            click.echo(message, err=is_error)

    from forecast.cli import _command_line

    try:
        preview = LivePreview(
            file,
            out_dir=out_dir,
            host=host,
            port=port,
            paper=paper,
            command=_command_line(),
            echo=echo,
        )
    except OSError as error:
        reason = error.strerror or str(error)
        raise OptionError(f"cannot listen on {host} port {port}: {reason}") from None
    if preview.moved_port:
        click.echo(f"port {port} is busy; listening on {preview.server.port}", err=True)
    if not is_loopback(host):
        click.secho(
            f"warning: listening on {host}: anyone who can reach this machine on port "
            f"{preview.server.port} can read the report",
            fg="yellow",
            err=True,
        )
    click.echo(f"watching {file}: {preview.url}  (Ctrl-C to stop)")
    click.echo(f"each good run is written to {Path(out_dir) / path.stem}/")

    # Stopped by the system as by Ctrl-C: the same clean end.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        preview.start()
        if open_browser or (open_browser is None and sys.stdout.isatty()):
            import webbrowser

            webbrowser.open(preview.url)
        preview.watch_file()
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C must not cut a folder being written in half.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        abandoned = preview.close()
    written = preview.runner.run_dir
    click.echo(f"stopped{f'; the last good run is in {written}/' if written else ''}", err=True)
    if abandoned:
        # A sampling is still going on in its thread, in native code; it has written nothing
        # and would write nothing, so the process ends now rather than after it.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
