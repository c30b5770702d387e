"""Compiled models, kept in the process by structure: compile once, take new numbers at once.

Compiling is most of the cost of a run. Every number of the file is data (`model.model_data`),
so one compiled model serves every file of the same structure (`model.structure_key`): a
tweaked prior, an evidence item left out, the next save in a watch loop. The prior's forward
sampler is compiled alongside and kept the same way.

Two samplers, chosen by the size of the model's log density (docs/run-output.md, "Sampling"):
nutpie (NUTS in Rust over a numba-compiled density) samples the flagship in about 2 s where
PyMC's own NUTS takes 15, but numba's compile time grows steeply with the graph (about 25 s for
the flagship's 614 operations, minutes for a chain of twenty outcomes) and cannot be cached on
disk; PyMC compiles to C, which PyTensor caches on disk, and runs its chains in processes.
Models up to NUTPIE_OPERATIONS operations use nutpie, larger ones PyMC.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import xarray as xr

from forecast import model as scenario_model
from forecast.spec import Scenario

# Compiled models kept in one process; a watch loop or a worker rarely sees more structures.
KEEP = 8
# Operations in the log density graph (before rewrites) up to which nutpie's compile pays off.
NUTPIE_OPERATIONS = 800
# PyMC's parallel chains start from a fresh server process: forking this one, which already
# runs numba's and the BLAS's threads, can deadlock the children.
MP_CONTEXT = "forkserver"


@dataclass
class Compiled:
    """One structure's posterior sampler and batched prior sampler (PyTensor)."""

    sampler: str  # "nutpie" or "pymc"
    posterior: object  # nutpie's compiled model, or PyMC's model
    step: object  # PyMC's NUTS step (pymc), None (nutpie)
    prior_function: object
    prior_model: object
    prior_rngs: list
    initial_points: dict
    step_state: object = None  # the PyMC step's state as built, restored before every run

    def sample_posterior(
        self,
        data: dict[str, np.ndarray],
        *,
        draws: int,
        tune: int,
        chains: int,
        cores: int,
        seed: int,
        target_accept: float,
        progress: bool,
    ) -> xr.DataTree:
        if self.sampler == "pymc":
            return self._sample_pymc(
                data, draws=draws, tune=tune, chains=chains, cores=cores, seed=seed,
                progress=progress,
            )  # fmt: skip
        import nutpie

        return nutpie.sample(
            self.posterior.with_data(**data),
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            seed=seed,
            target_accept=target_accept,
            progress_bar=progress,
            save_warmup=False,
        )

    def _sample_pymc(self, data, *, draws, tune, chains, cores, seed, progress) -> xr.DataTree:
        import pymc as pm

        pm.set_data(data, model=self.posterior)
        # A sequential run leaves the step tuned (step size, mass matrix, tune off), and parallel
        # chains start from the step as it stands: every run starts from the state it was built
        # with (the setter copies it).
        self.step.sampling_state = self.step_state
        return pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            mp_ctx=MP_CONTEXT,
            random_seed=seed,
            progressbar=progress,
            step=self.step,
            initvals=self.initial_points,
            compute_convergence_checks=False,
            model=self.posterior,
        )

    def sample_prior(self, data: dict[str, np.ndarray], seed: int) -> list[np.ndarray]:
        from pymc.pytensorf import reseed_rngs

        for name, value in data.items():
            self.prior_model[name].set_value(value)
        reseed_rngs(self.prior_rngs, seed)
        return [np.asarray(value) for value in self.prior_function()]


# By structure key, prior draws and target acceptance: what a compiled model depends on.
_kept: OrderedDict[tuple[str, int, float], Compiled] = OrderedDict()
_lock = threading.Lock()


def compiled_for(
    scenario: Scenario, *, prior_draws: int, target_accept: float
) -> tuple[Compiled, bool]:
    """The compiled model of the scenario's structure, and whether it was already compiled."""
    key = (scenario_model.structure_key(scenario), prior_draws, target_accept)
    with _lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key], True
        compiled = _compile(scenario, prior_draws, target_accept)
        _kept[key] = compiled
        while len(_kept) > KEEP:
            _kept.popitem(last=False)
        return compiled, False


def forget() -> None:
    """Drop every compiled model (tests, and a worker told to free its memory)."""
    with _lock:
        _kept.clear()


def operations(model) -> int:
    """The size of a model's log density graph, before PyTensor's rewrites."""
    from pytensor.graph.traversal import applys_between

    return sum(1 for _ in applys_between(model.value_vars, [model.logp()]))


def _compile(scenario: Scenario, prior_draws: int, target_accept: float) -> Compiled:
    import pymc as pm
    from pymc.pytensorf import compile as compile_function

    posterior_model = scenario_model.build_model(scenario)
    points = scenario_model.initial_points(posterior_model)
    if operations(posterior_model) <= NUTPIE_OPERATIONS:
        import nutpie

        sampler, step, step_state = "nutpie", None, None
        posterior = nutpie.compile_pymc_model(
            posterior_model, backend="numba", initial_points=points
        )
    else:
        sampler, posterior = "pymc", posterior_model
        step = pm.NUTS(model=posterior_model, target_accept=target_accept)
        step_state = copy.deepcopy(step.sampling_state)
    prior_model = scenario_model.build_model(scenario, prior=True, batch=prior_draws)
    outputs = [prior_model[name] for name in scenario_model.prior_variables(scenario)]
    function, updates = compile_function(
        [], outputs, random_seed=False, return_updates=True, on_unused_input="ignore"
    )
    return Compiled(
        sampler=sampler,
        posterior=posterior,
        step=step,
        prior_function=function,
        prior_model=prior_model,
        prior_rngs=list(updates),
        initial_points=points,
        step_state=step_state,
    )
