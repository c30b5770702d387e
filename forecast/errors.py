"""The project's exceptions. Each problem knows its file, line, column and key path."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario file, located as precisely as the file allows."""

    file: str
    line: int
    column: int
    key_path: tuple[str, ...]
    message: str
    # The key path as data (names, and list indices from 0), for telling which part of a
    # document a problem is about; `key_path` is the same path as words.
    path: tuple = ()
    # An override given on the command line that caused the problem, such as
    # "--set #2 (evidence[0].weight)"; the problem is then about it, not about a place in the file.
    origin: str | None = None

    def __str__(self) -> str:
        if self.origin is not None:
            return f"{self.file}: {self.origin}: {self.message}"
        where = " -> ".join(self.key_path)
        prefix = f"{where}: " if where else ""
        return f"{self.file}:{self.line}:{self.column}: {prefix}{self.message}"


class ForecastError(Exception):
    """Base of every error the library raises on purpose; the CLI prints it without a traceback."""

    exit_status = 3


class ScenarioError(ForecastError):
    """A scenario file is invalid; carries every problem found, not only the first."""

    exit_status = 1

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column))
        super().__init__("\n".join(str(p) for p in self.problems))


class OptionError(ForecastError):
    """A command-line option's value is malformed (an override, a name); nothing was run."""

    exit_status = 2


class RunFolderError(ForecastError):
    """A folder given as a finished run is not one, or cannot be read."""

    exit_status = 1


class RunError(ForecastError):
    """Sampling or writing a run failed for a reason the user can act on."""

    exit_status = 3
