"""A structure new to the machine: its code compiled by helper processes, which leave it on disk
for the run to load, on the other core where the run would wait anyway.

Compiling a structure that PyTensor's cache has not seen is numba's work, one function at a
time: for the flagship with one outcome more, about 12 s for the posterior's density and
gradient, 4 s for the prior sampler and 17 s for the log density over draws that the
sensitivity analysis reads (`forecast.sensitivity.LogDensity`), against about 10 s of sampling.
Two helpers start as soon as the run knows the structure is large: one compiles what nutpie's
sampler calls (PyMC's NUTS, for the largest structures, compiles in the run), the other the
prior sampler, then the log density over draws. The run does
PyTensor's rewrites of the same graphs meanwhile, loads the posterior's code when the first
helper has it on disk, samples while the second helper compiles the rest, and loads that too.

Loading matters as much as the time: a process that has itself just compiled a structure's
code can run it slightly differently from every process that loads it from disk (the last bits,
which NUTS turns into other draws). With the helpers, a structure's first run loads its code as
every later run does, and gives their numbers. The helpers build the same graphs as the run, so
they change where the code is compiled, never what. A helper that fails is ignored, and one
still at work after WAIT_AT_MOST seconds is stopped: the run then compiles what it lacks itself
(with the last-bits caveat above, docs/run-output.md, "Reproducibility").

A marker beside PyTensor's code (in its numba folder, so that clearing or setting aside that
folder clears the markers too), written by each helper once its parts are on disk, records that
they are: that helper does not start for the structure again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import pickle
import select
import subprocess
import sys
import time
from pathlib import Path

from forecast.spec import Scenario

# Operations in the posterior's log density graph (forecast.compiled.operations) above which
# helpers are started. Smaller structures compile in a few seconds, less than a helper's start.
HELPER_OPERATIONS = 300
# The parts each helper compiles, in order; each helper prints a part's name once it is on disk.
HELPERS = (("posterior",), ("prior", "density"))
COMMAND = (sys.executable, "-m", "forecast.precompile")
# The longest the run waits for a part, in seconds: the flagship's take 20 to 30 s on a busy
# machine. A helper that takes longer (a machine swapping, a compiler stuck) is stopped, and the
# run compiles what it lacks itself.
WAIT_AT_MOST = 300.0


def marker(structure_key: str, prior_draws: int, parts: tuple[str, ...]) -> Path:
    """The file that says these parts of this structure are on disk, in the running PyTensor's
    cache."""
    import numba
    import pytensor
    from pytensor.link.numba.cache import NUMBA_CACHE_PATH

    import forecast

    versions = f"{forecast.__version__} {pytensor.__version__} {numba.__version__}"
    name = hashlib.sha256(f"{structure_key} {prior_draws} {versions}".encode()).hexdigest()
    return NUMBA_CACHE_PATH / "forecast-structures" / f"{name[:32]}-{'-'.join(parts)}"


class Helper:
    """The helper processes of one structure: `wait_for(part)` returns once that part's code is
    on disk, or its helper has failed."""

    def __init__(self, scenario: Scenario, prior_draws: int, markers: dict[tuple, Path]):
        self._processes = {}
        for parts, done in markers.items():
            process = _Process(parts, (scenario, prior_draws, done))
            self._processes.update(dict.fromkeys(parts, process))

    def wait_for(self, part: str) -> None:
        """Return once `part` is on disk (or its helper has failed); at once for a part no
        helper compiles (its code was on disk already)."""
        if part in self._processes:
            self._processes[part].wait_for(part)


class _Process:
    """One helper process, compiling `parts` in order."""

    def __init__(self, parts: tuple[str, ...], work: tuple):
        self.parts = parts
        self.reached: set[str] = set()
        self._process = subprocess.Popen(
            [*COMMAND, *parts],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,  # its lines read as they come, for `select`
        )
        try:
            # Buffered, so that the whole of it is written however the pipe takes it.
            with io.BufferedWriter(self._process.stdin) as stdin:
                pickle.dump(work, stdin)
        except OSError:
            # It died before reading (it can be killed at any time): `wait_for` sees it gone.
            pass

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    def wait_for(self, part: str) -> None:
        """Return once `part` is on disk, or the process has exited without it, or has taken
        WAIT_AT_MOST seconds (it is then stopped)."""
        deadline = time.monotonic() + WAIT_AT_MOST
        output = self._process.stdout
        while part not in self.reached and not output.closed:
            ready, _, _ = select.select([output], [], [], max(0.0, deadline - time.monotonic()))
            line = output.readline() if ready else b""
            if not line:  # it has exited, or is too slow
                self._stop()
                return
            self.reached.add(line.decode().strip())
        if part == self.parts[-1]:
            self._stop()

    def _stop(self) -> None:
        """Done with it. After its last part it only exits; before, its work is abandoned."""
        self._process.stdout.close()
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()


def start(
    scenario: Scenario, prior_draws: int, operations: int, *, posterior: bool
) -> Helper | None:
    """Helpers for this structure, if it is large and its code is not known to be on disk; with
    `posterior`, one for nutpie's functions too."""
    if operations <= HELPER_OPERATIONS:
        return None
    from forecast.model import structure_key

    key = structure_key(scenario)
    wanted = [parts for parts in HELPERS if posterior or "posterior" not in parts]
    markers = {parts: marker(key, prior_draws, parts) for parts in wanted}
    markers = {parts: done for parts, done in markers.items() if not done.exists()}
    if not markers:
        return None
    try:
        return Helper(scenario, prior_draws, markers)
    except OSError:
        return None


def _compile_in_this_process(
    scenario: Scenario, prior_draws: int, parts: list[str], done: Path
) -> None:
    """A helper's work: each part built exactly as `forecast.compiled` builds it, then called
    once (numba compiles on the first call, and keeps the code on disk)."""
    import numpy as np

    from forecast import compiled
    from forecast.model import build_model, initial_points
    from forecast.sensitivity import LogDensity

    model = build_model(scenario)
    for part in parts:
        if part == "posterior":
            import nutpie

            # One step of one chain calls each function nutpie's sampler calls (the starting
            # point, the log density and gradient, a draw's expansion), as the run's will.
            posterior = compiled.nutpie_over_pytensor(model, initial_points(model))
            nutpie.sample(posterior, draws=1, tune=1, chains=1, progress_bar=False)
        elif part == "prior":
            compiled.prior_sampler(scenario, prior_draws).function()
        elif part == "density":
            density = LogDensity(model)
            shapes = model.eval_rv_shapes()
            # Two draws of every parameter, laid out as the sensitivity analysis passes them.
            density.function(*(np.full((2, *shapes[name]), 0.5) for name in density.names))
        if part == parts[-1]:
            # A marker that cannot be written costs the next run helpers that load the code
            # rather than compile it, nothing more.
            with contextlib.suppress(OSError):
                done.parent.mkdir(parents=True, exist_ok=True)
                done.touch()
        sys.stdout.write(f"{part}\n")
        sys.stdout.flush()


def main() -> None:
    from forecast import cache_dir

    # As the command that started it did, before PyTensor is imported (it passes PYTENSOR_FLAGS
    # on already; this keeps a helper started otherwise in the same place).
    cache_dir.use_for_pytensor()
    scenario, prior_draws, done = pickle.load(sys.stdin.buffer)
    _compile_in_this_process(scenario, prior_draws, sys.argv[1:], done)


if __name__ == "__main__":
    main()
