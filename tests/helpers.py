"""What several test files share: the repository root, the command line run as a user runs it,
and PDFs read back in Python (so that no PDF test needs a program outside the virtualenv)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader

REPO = Path(__file__).resolve().parent.parent
# The worked scenario files; the resolutions files beside them (what happened, for
# `forecast score`) are not scenarios.
SCENARIO_FILES = [
    path
    for path in sorted((REPO / "scenarios").glob("*.yaml"))
    if not path.name.endswith(".resolutions.yaml")
]

# Page sizes in PostScript points (1/72 inch), rounded to whole points as PDF viewers show them.
PAPER_POINTS = {"a4": (595, 842), "letter": (612, 792)}


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


@dataclass(frozen=True)
class PdfPages:
    """What the PDF tests look at: each page's text and size, and the document's title."""

    texts: list[str]  # per page, whitespace collapsed
    sizes: list[tuple[int, int]]  # per page, (width, height) in whole points
    title: str | None

    @property
    def text(self) -> str:
        """Every page's text, in order."""
        return " ".join(self.texts)


def read_pdf(path: Path) -> PdfPages:
    """Read a PDF's pages (text and MediaBox) and its metadata title with pypdf."""
    reader = PdfReader(path)
    texts = [" ".join((page.extract_text() or "").split()) for page in reader.pages]
    sizes = [
        (round(float(page.mediabox.width)), round(float(page.mediabox.height)))
        for page in reader.pages
    ]
    title = reader.metadata.title if reader.metadata is not None else None
    return PdfPages(texts, sizes, title)


def importance(draws: dict, log_weight) -> dict:
    """Self-normalised importance sampling: the posterior mean of each array of draws, with its
    standard error through the effective sample size of the weights."""
    import numpy as np

    weights = np.exp(log_weight - log_weight.max())
    weights /= weights.sum()
    ess = 1 / np.sum(weights**2)
    result = {}
    for name, values in draws.items():
        mean = np.sum(weights * values)
        sd = np.sqrt(np.sum(weights * (values - mean) ** 2))
        result[name] = (mean, sd / np.sqrt(ess))
    return result
