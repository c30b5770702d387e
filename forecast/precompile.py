"""A structure new to the machine: its prior sampler and its log density over draws compiled in a
second process, while this one compiles and samples the posterior.

Compiling a structure that PyTensor's cache has not seen is numba's work, one function at a
time in one process: for the flagship with one outcome more, about 12 s for the posterior's
density, 4 s for the prior sampler and 17 s for the log density over draws that the sensitivity
analysis reads (`forecast.sensitivity.LogDensity`), against about 10 s of sampling. The last two
are needed only once the posterior is sampled, so a second process compiles them meanwhile on
the other core and leaves the code on disk; this process then loads it where it would have
compiled it. The helper changes where code is compiled, never what: this process builds the same
graphs and runs the code it loads, which is the code every later process loads, so the numbers
are those of any later run. A helper that fails, or is slower, costs nothing but its own work:
this process waits for it at most until it exits, then compiles what it still lacks itself.

A marker beside PyTensor's code (in its numba folder, so that clearing or setting aside that
folder clears the markers too) records that a structure's code is on disk, and no helper starts
for it again.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import select
import subprocess
import sys
import time
from pathlib import Path

from forecast.spec import Scenario

# Operations in the posterior's log density graph (forecast.compiled.operations) above which a
# helper is started. Smaller structures compile in a few seconds, less than a helper's start.
HELPER_OPERATIONS = 300
# What the helper prints once each part is on disk, in this order.
STAGES = ("prior", "density")
COMMAND = (sys.executable, "-m", "forecast.precompile")
# The longest this process waits for a stage, in seconds: the flagship's two take about 30 s on
# a busy core. A helper that takes longer (a machine swapping, a compiler stuck) is stopped, and
# this process compiles what it lacks itself.
WAIT_AT_MOST = 300.0


def marker(structure_key: str, prior_draws: int) -> Path:
    """The file that says this structure's code is on disk, in the running PyTensor's cache."""
    import numba
    import pytensor
    from pytensor.link.numba.cache import NUMBA_CACHE_PATH

    import forecast

    versions = f"{forecast.__version__} {pytensor.__version__} {numba.__version__}"
    name = hashlib.sha256(f"{structure_key} {prior_draws} {versions}".encode()).hexdigest()
    return NUMBA_CACHE_PATH / "forecast-structures" / name[:32]


class Helper:
    """A helper process compiling one structure's prior sampler and log density over draws."""

    def __init__(self, scenario: Scenario, prior_draws: int, done: Path):
        self._process = subprocess.Popen(
            COMMAND,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,  # its lines read as they come, for `select`
        )
        self._reached: set[str] = set()
        try:
            # Buffered, so that the whole of it is written however the pipe takes it.
            with io.BufferedWriter(self._process.stdin) as stdin:
                pickle.dump((scenario, prior_draws, done), stdin)
        except OSError:
            # It died before reading (it can be killed at any time): `wait_for` sees it gone.
            pass

    def wait_for(self, stage: str) -> None:
        """Return once the helper has put `stage` on disk, or has exited without it, or has
        taken WAIT_AT_MOST seconds (it is then stopped)."""
        deadline = time.monotonic() + WAIT_AT_MOST
        output = self._process.stdout
        while stage not in self._reached and not output.closed:
            ready, _, _ = select.select([output], [], [], max(0.0, deadline - time.monotonic()))
            line = output.readline() if ready else b""
            if not line:  # it has exited, or is too slow
                self._stop()
                return
            self._reached.add(line.decode().strip())
        if stage == STAGES[-1]:
            self._stop()

    def _stop(self) -> None:
        """Done with it. After its last stage it only exits; before, its work is abandoned."""
        self._process.stdout.close()
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()


def start(scenario: Scenario, prior_draws: int, operations: int) -> Helper | None:
    """A helper for this structure, if it is large and its code is not known to be on disk."""
    if operations <= HELPER_OPERATIONS:
        return None
    from forecast.model import structure_key

    done = marker(structure_key(scenario), prior_draws)
    if done.exists():
        return None
    try:
        return Helper(scenario, prior_draws, done)
    except OSError:
        return None


def _compile_in_this_process(scenario: Scenario, prior_draws: int, done: Path) -> None:
    """The helper's work: each part built exactly as `forecast.compiled` builds it, then called
    once (numba compiles on the first call, and keeps the code on disk)."""
    import numpy as np

    from forecast import compiled
    from forecast.model import build_model
    from forecast.sensitivity import LogDensity

    prior = compiled.prior_sampler(scenario, prior_draws)
    prior.function()
    _say(STAGES[0])
    model = build_model(scenario)
    density = LogDensity(model)
    shapes = model.eval_rv_shapes()
    # Two draws of every parameter, in the layout the sensitivity analysis passes (C order).
    density.function(*(np.full((2, *shapes[name]), 0.5) for name in density.names))
    done.parent.mkdir(parents=True, exist_ok=True)
    done.touch()
    _say(STAGES[1])


def _say(stage: str) -> None:
    sys.stdout.write(f"{stage}\n")
    sys.stdout.flush()


def main() -> None:
    from forecast import cache_dir

    # As the command that started it did, before PyTensor is imported (it passes PYTENSOR_FLAGS
    # on already; this keeps a helper started otherwise in the same place).
    cache_dir.use_for_pytensor()
    scenario, prior_draws, done = pickle.load(sys.stdin.buffer)
    _compile_in_this_process(scenario, prior_draws, done)


if __name__ == "__main__":
    main()
