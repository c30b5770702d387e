"""Compiled code kept on disk: filled by two processes at once, damaged, same numbers throughout.

PyTensor keeps the code it compiles (with numba) in the cache folder, so a structure seen before,
or made of parts seen before, compiles in a second or two in a new process. These tests give each
run an empty cache folder of its own, with no compile directory named in PYTENSOR_FLAGS, so that
PyTensor's code goes where forecast puts it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# Small enough for nutpie to call PyTensor's cached density (forecast.compiled.CACHED_OPERATIONS).
SMALL = """\
version: 1
title: disk cache
seed: 5
sampling: {draws: 300, tune: 300, chains: 2}
outcomes:
  talks: {prior: {beta: [2, 3]}}
evidence:
  - {outcome: talks, successes: 2, trials: 5}
"""


def forecast_run(folder: Path, cache: Path, out: str) -> subprocess.Popen:
    # A temporary folder of the run's own, to see what it leaves there.
    (folder / "tmp").mkdir(exist_ok=True)
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTENSOR")},
        "FORECAST_CACHE_DIR": str(cache),
        "FORECAST_NO_WORKER": "1",
        "TMPDIR": str(folder / "tmp"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "forecast", "run", "small.yaml", "--out", out, "--format", "json"],
        cwd=folder,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen) -> str:
    """The process's stderr, once it has exited with status 0."""
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    return stderr


def numbers(folder: Path) -> dict:
    summary = json.loads((folder / "small" / "summary.json").read_text(encoding="utf-8"))
    return {"outcomes": summary["outcomes"], "diagnostics": summary["diagnostics"]}


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> tuple[Path, Path, dict]:
    """Two runs started at once on an empty cache folder: (folder, cache, their numbers)."""
    folder = tmp_path_factory.mktemp("disk-cache")
    (folder / "small.yaml").write_text(SMALL, encoding="utf-8")
    cache = folder / "cache"
    first, second = forecast_run(folder, cache, "a"), forecast_run(folder, cache, "b")
    finished(first), finished(second)
    assert numbers(folder / "a") == numbers(folder / "b")
    return folder, cache, numbers(folder / "a")


def compiled_files(cache: Path) -> list[Path]:
    return [path for path in (cache / "pytensor" / "numba").iterdir() if path.is_file()]


def test_two_processes_filling_the_cache_at_once_both_succeed(filled):
    folder, cache, first = filled
    assert compiled_files(cache)
    # And a run that finds the code on disk gives the numbers of the runs that compiled it.
    stderr = finished(forecast_run(folder, cache, "c"))
    assert "could not be read" not in stderr
    assert numbers(folder / "c") == first


def test_runs_leave_nothing_in_the_temporary_folder(filled):
    # PyTensor's generated source goes into the cache, one file per distinct source.
    folder, cache, _ = filled
    assert list((folder / "tmp").iterdir()) == []
    assert list((cache / "pytensor" / "generated-src").glob("*.py"))


def test_a_damaged_cache_is_set_aside_with_a_warning_and_the_same_numbers(filled):
    folder, cache, first = filled
    for path in compiled_files(cache):
        path.write_bytes(b"damaged")
    stderr = finished(forecast_run(folder, cache, "d"))
    warnings = [line for line in stderr.splitlines() if "could not be read" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: the compiled code kept in")
    assert "set aside and the model compiled again" in warnings[0]
    assert "Traceback" not in stderr
    assert numbers(folder / "d") == first
    # The damaged files are gone and the code compiled again is kept.
    assert all(path.read_bytes() != b"damaged" for path in compiled_files(cache))
    assert not list((cache / "pytensor").glob("numba.damaged-*"))
