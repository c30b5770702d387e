"""What several test files share: the repository root and the command line run as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_forecast(
    *arguments: str, cwd: Path = REPO, timeout: float = 600
) -> subprocess.CompletedProcess:
    """`forecast ARGUMENTS...` in a fresh interpreter, as from a shell in `cwd`."""
    return subprocess.run(
        [sys.executable, "-m", "forecast", *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
