"""Compiled models, kept in the process by structure: compile once, take new numbers at once.

Compiling is most of the cost of a run. Every number of the file is data (`model.model_data`),
so one compiled model serves every file of the same structure (`model.structure_key`): a
tweaked prior, an evidence item left out, the next save in a watch loop. The prior's forward
sampler is compiled alongside and kept the same way.

Three ways to sample, chosen by the size of the model's log density (docs/run-output.md,
"Sampling"), each NUTS:

- up to CACHED_OPERATIONS operations, nutpie's sampler (in Rust) calling the log density as
  PyTensor compiles it, which PyTensor keeps on disk: compiled in a second or two;
- up to NUTPIE_OPERATIONS, nutpie's own numba backend, whose density runs without a call through
  Python: sampled several times faster (the flagship in about 2 s), but compiled in 7 s for one
  outcome and 30 s or more for the flagship, in every new process (numba cannot keep it on disk);
- larger models, PyMC's own NUTS, its chains in processes.

The choice depends on the structure alone, so a file always gets the same sampler. (numba's code
can differ in its last bits between a process that has just compiled it and one that loads it
from disk, so the first process or two to compile a structure new to the cache may give other
draws than every later one: docs/run-output.md, "Reproducibility".)
"""

from __future__ import annotations

import contextlib
import copy
import shutil
import sys
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import xarray as xr

from forecast import model as scenario_model
from forecast.spec import Scenario

# Compiled models kept in one process; a watch loop or a worker rarely sees more structures.
KEEP = 8
# Operations in the log density graph (before rewrites) up to which each sampler pays off
# (benchmarks/samplers.py): PyTensor's cached density called from nutpie, then nutpie's numba.
CACHED_OPERATIONS = 300
NUTPIE_OPERATIONS = 800
# PyMC's parallel chains start from a fresh server process: forking this one, which already
# runs numba's and the BLAS's threads, can deadlock the children.
MP_CONTEXT = "forkserver"


@dataclass
class Compiled:
    """One structure's posterior sampler and batched prior sampler (PyTensor)."""

    sampler: str  # "nutpie-cached", "nutpie" or "pymc"
    posterior: object  # nutpie's compiled model, or PyMC's model (pymc)
    step: object  # PyMC's NUTS step (pymc), None (nutpie)
    prior_function: object
    prior_model: object
    prior_rngs: list
    initial_points: dict
    step_state: object = None  # the PyMC step's state as built, restored before every run
    model: object = None  # the PyMC model (nutpie-cached reads its data; sensitivity its terms)
    _log_density: object = None
    _unconstrained: object = None

    @property
    def log_density(self):
        """The model's log prior and log likelihood at many draws (forecast.sensitivity)."""
        if self._log_density is None:
            from forecast.sensitivity import LogDensity

            self._log_density = LogDensity(self.model)
        return self._log_density

    @property
    def unconstrained_density(self):
        """The model on the sampler's scale at many points (forecast.moment_matching)."""
        if self._unconstrained is None:
            from forecast.moment_matching import UnconstrainedDensity

            self._unconstrained = UnconstrainedDensity(self.model, self.log_density)
        return self._unconstrained

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

        if self.sampler == "nutpie-cached":
            import pymc as pm

            pm.set_data(data, model=self.model)
            posterior = self.posterior
        else:
            posterior = self.posterior.with_data(**data)
        trace = nutpie.sample(
            posterior,
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            seed=seed,
            target_accept=target_accept,
            progress_bar=progress,
            return_raw_trace=True,
        )
        return _nutpie_tree(*trace.get_arrow_trace(), coords=posterior.coords)

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


# The statistics nutpie keeps for each draw only when asked to (its `store_*` settings): its raw
# trace holds them regardless, and a run does not ask.
NUTPIE_UNASKED_STATISTICS = frozenset(
    {
        "gradient",
        "unconstrained_draw",
        "mass_matrix_inv",
        "mass_matrix_eigvals",
        "mass_matrix_stds",
        "divergence_start",
        "divergence_end",
        "divergence_momentum",
        "divergence_start_gradient",
        "transformed_position",
        "transformed_gradient",
        "transformation_mu",
    }
)


def _nutpie_tree(draw_batches, stat_batches, *, coords: dict) -> xr.DataTree:
    """nutpie's raw trace (one Arrow batch of draws and one of statistics per chain) as the groups
    `posterior` and `sample_stats`, the tuning steps left out.

    nutpie's own conversion also converts the tuning steps and goes through ArviZ's general
    `from_dict`: about 0.1 s a run, where this takes about 0.01 s; a sensitivity analysis that
    samples again pays it each time. Same names, dimensions, values and types.
    """
    import pyarrow

    tuning = [int(np.count_nonzero(pyarrow.array(b.column("tuning")))) for b in stat_batches]
    # Chains stopped by Ctrl-C can end at different draws: the run is discarded
    # (inference.sample), and the draws all chains reached keep the arrays rectangular.
    kept = min((b.num_rows - t for b, t in zip(stat_batches, tuning, strict=True)), default=0)
    groups = {}
    for group, batches in (("posterior", draw_batches), ("sample_stats", stat_batches)):
        values, dims = {}, {}
        for chain, batch in enumerate(batches):
            for name in batch.column_names:
                if name in NUTPIE_UNASKED_STATISTICS:
                    continue
                column = batch.column(name)
                metadata = column.field.metadata
                shape = metadata.get(b"shape")
                shape = [int(n) for n in shape.decode().split(",")] if shape else []
                array = pyarrow.array(column).slice(tuning[chain], kept)
                if hasattr(array, "flatten"):
                    array = array.flatten()
                if array.null_count and not pyarrow.types.is_floating(array.type):
                    # As nutpie does: a missing count is 0 (a missing float stays NaN).
                    array = array.fill_null(0) if pyarrow.types.is_integer(array.type) else array
                draws = array.to_numpy(zero_copy_only=False)
                values.setdefault(name, []).append(draws.reshape(-1, *shape))
                if name not in dims:
                    named = metadata.get(b"dims")
                    dims[name] = (
                        named.decode().split(",")
                        if named
                        else [f"{name}_dim_{i}" for i in range(len(shape))]
                    )
        dataset = xr.Dataset(
            {name: (("chain", "draw", *dims[name]), np.stack(v)) for name, v in values.items()}
        )
        groups[group] = dataset.assign_coords(
            {
                dim: coords[dim] if dim in coords else np.arange(size)
                for dim, size in dataset.sizes.items()
            }
        )
    return xr.DataTree.from_dict(groups)


def compiled_for(
    scenario: Scenario, *, prior_draws: int, target_accept: float
) -> tuple[Compiled, bool]:
    """The compiled model of the scenario's structure, and whether it was already compiled."""
    key = (scenario_model.structure_key(scenario), prior_draws, target_accept)
    with _lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key], True
        compiled = _compile_or_rebuild(scenario, prior_draws, target_accept)
        _kept[key] = compiled
        while len(_kept) > KEEP:
            _kept.popitem(last=False)
        return compiled, False


def _compile_or_rebuild(scenario: Scenario, prior_draws: int, target_accept: float) -> Compiled:
    """Compile, and when PyTensor's compiled code on disk cannot be read, set it aside and
    compile again from scratch: a damaged entry costs time, never a failed run or a wrong number.

    numba reads its cache files without checking them, so a truncated or overwritten file fails
    inside its unpickling; a missing or stale one is a miss, which it handles itself.
    """
    try:
        return _compile(scenario, prior_draws, target_accept)
    except Exception as error:
        if not _raised_reading_numba_cache(error):
            raise
        from pytensor.link.numba.cache import NUMBA_CACHE_PATH

        # Printed as it happens, like PyMC's own warnings (a worker passes it on to the command).
        print(
            f"warning: the compiled code kept in {NUMBA_CACHE_PATH} could not be read "
            f"({type(error).__name__}: {error}); it was set aside and the model compiled again",
            file=sys.stderr,
        )
        _set_aside(NUMBA_CACHE_PATH)
        return _compile(scenario, prior_draws, target_accept)


def _raised_reading_numba_cache(error: BaseException) -> bool:
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename.endswith("numba/core/caching.py"):
            return True
        traceback = traceback.tb_next
    return False


def _set_aside(folder) -> None:
    """Rename the folder away (other processes then find it empty: a miss), then remove it."""
    aside = folder.with_name(f"{folder.name}.damaged-{uuid.uuid4().hex[:8]}")
    with contextlib.suppress(OSError):
        folder.rename(aside)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(aside, ignore_errors=True)


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
    size = operations(posterior_model)
    step, step_state = None, None
    if size <= CACHED_OPERATIONS:
        sampler = "nutpie-cached"
        posterior = _nutpie_over_pytensor(posterior_model, points)
    elif size <= NUTPIE_OPERATIONS:
        import nutpie

        sampler = "nutpie"
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
        model=posterior_model,
    )


def _nutpie_over_pytensor(model, points):
    """nutpie's sampler calling the log density and gradient as PyTensor compiles them.

    nutpie builds the flat functions it needs (`_make_functions`, the helper of its own JAX
    backend, hence the upper bound on nutpie's version in pyproject.toml); PyTensor compiles them
    with numba and keeps the compiled code on disk, so a structure seen before, or made of parts
    seen before, compiles in about a second. Each call goes through Python (10 to 40 us), which is
    why larger models are handed to nutpie's own numba backend. The jitted functions are called
    directly, with the model's data as read when a chain starts (`pm.set_data` before a run).
    """
    from nutpie.compile_pymc import _make_functions, _prepare_dims_and_coords
    from nutpie.compiled_pyfunc import from_pyfunc
    from pymc.initial_point import make_initial_point_fn

    start = make_initial_point_fn(
        model=model,
        overrides=points,
        default_strategy="support_point",
        jitter_rvs=set(model.free_RVs),
        return_transformed=True,
    )
    n_dim, _, logp_function, expand_function, initial_point, shape_info, transformed = (
        _make_functions(
            model,
            mode="NUMBA",
            compute_grad=True,
            join_expanded=False,
            pymc_initial_point_fn=start,
        )
    )
    names, _, shapes = shape_info

    def jitted(function):
        """The function's numba code and its data, read now: chains start after set_data."""
        data = [variable.get_value(borrow=True) for variable in function.get_shared()]
        return function.vm.jit_fn, data

    def make_logp():
        logp, data = jitted(logp_function)

        def value_and_gradient(point, **_):
            value, gradient = logp(point, *data)
            return float(value), np.asarray(gradient, dtype="float64")

        return value_and_gradient

    def make_expand(_seed1, _seed2, _chain):
        expand, data = jitted(expand_function)

        def values(point, **_):
            return {
                name: np.asarray(value, dtype="float64").reshape(shape)
                for name, value, shape in zip(names, expand(point, *data), shapes, strict=True)
            }

        return values

    # The starting points come from a PyTensor function with a random generator, which keeps
    # state: one chain at a time.
    turn = threading.Lock()

    def initial(seed):
        with turn:
            return initial_point(seed)

    dims, coords = _prepare_dims_and_coords(model, shape_info, transformed)
    return from_pyfunc(
        ndim=n_dim,
        make_logp_fn=make_logp,
        make_expand_fn=make_expand,
        make_initial_point_fn=initial,
        expanded_dtypes=[np.dtype("float64")] * len(names),
        expanded_shapes=shapes,
        expanded_names=names,
        dims=dims,
        coords=coords,
    )
