"""Compiled models, kept in the process by structure: compile once, take new numbers at once.

Compiling is most of the cost of a run. Every number of the file is data (`model.model_data`),
so one compiled model serves every file of the same structure (`model.structure_key`): a
tweaked prior, an evidence item left out, the next save in a watch loop. The prior's forward
sampler is compiled alongside and kept the same way.

Three ways to sample, each NUTS (docs/run-output.md, "Which sampler"):

- nutpie's sampler (in Rust) calling the log density as PyTensor compiles it, which PyTensor
  keeps on disk: compiled in seconds, each call going through Python. Every model of up to
  NUTPIE_OPERATIONS operations starts here.
- nutpie's own numba backend, whose density runs without a call through Python: the flagship
  sampled in about 2 s instead of 10, but compiled in 30 to 40 s in every new process (about a
  minute while PyTensor's cache is new; numba cannot keep it on disk). For a structure of more
  than CACHED_OPERATIONS operations that has run, a process that stays alive (the worker, a
  watch) compiles it when it is idle (`upgrade_one`), a sweep before sampling many points again
  (`upgrade_if_worth`), and any process once a structure has been sampled for UPGRADE_PAYS_AFTER
  chain steps. It is taken only if it samples the last run again to the same draws, bit for
  bit; otherwise the structure keeps the first sampler. So which one samples a run changes its
  speed, and the numbers are checked to be the same before it changes.
- larger models, PyMC's own NUTS, its chains in processes.

numba's code can differ in its last bits between a process that has just compiled it and one
that loads it from disk. So a large structure whose code is not on disk yet is compiled by
helper processes (`forecast.precompile`), and its first run loads the code as every later run
does, and gives their numbers (docs/run-output.md, "Reproducibility").
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import shutil
import sys
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import xarray as xr

from forecast import model as scenario_model
from forecast import precompile
from forecast.spec import Scenario

# Compiled models kept in one process; a watch loop or a worker rarely sees more structures.
KEEP = 8
# Operations in the log density graph (before rewrites) up to which each sampler pays off
# (benchmarks/samplers.py): PyTensor's cached density called from nutpie alone, then with nutpie's
# numba backend compiled where it pays for itself (`upgrade_one`, `upgrade_if_worth`).
CACHED_OPERATIONS = 300
NUTPIE_OPERATIONS = 800
# Chain steps (chains x (draws + tune)) of one structure after which compiling the numba backend
# has paid for itself in a process that ends when they do: six runs of 4 chains of 2,000 steps.
# On the flagship it compiles in 30 to 40 s and samples a run in 2 s, against 8 to 13 s for the
# cached sampler (docs/run-output.md, "Which sampler").
UPGRADE_PAYS_AFTER = 6 * 4 * 2000
# PyMC's parallel chains start from a fresh server process: forking this one, which already
# runs numba's and the BLAS's threads, can deadlock the children.
MP_CONTEXT = "forkserver"


@dataclass
class Compiled:
    """One structure's posterior sampler and batched prior sampler (PyTensor)."""

    sampler: str  # "nutpie-cached", "nutpie" or "pymc"
    posterior: object  # nutpie's compiled model, or PyMC's model (pymc)
    step: object  # PyMC's NUTS step (pymc), None (nutpie)
    prior: PriorSampler
    initial_points: dict
    step_state: object = None  # the PyMC step's state as built, restored before every run
    model: object = None  # the PyMC model (nutpie-cached reads its data; sensitivity its terms)
    # Whether nutpie's numba backend would sample this structure faster (`upgrade`), and the last
    # run of the cached sampler, which the numba backend must give again to be taken.
    upgradable: bool = False
    _last_run: _Run | None = None
    chain_steps: int = 0  # sampled in this process: chains x (draws + tune), summed
    _log_density: object = None
    _unconstrained: object = None
    # The processes compiling the code of a structure new to the machine (forecast.precompile).
    helper: precompile.Helper | None = None

    @property
    def log_density(self):
        """The model's log prior and log likelihood at many draws (forecast.sensitivity)."""
        if self._log_density is None:
            from forecast.sensitivity import LogDensity

            density = LogDensity(self.model)
            # Built (PyTensor's rewrites) while a helper compiles it; its first call then loads.
            if self.helper is not None:
                self.helper.wait_for("density")
                self.helper = None
            self._log_density = density
        return self._log_density

    @property
    def unconstrained_density(self):
        """The model on the sampler's scale at many points (forecast.moment_matching)."""
        if self._unconstrained is None:
            from forecast.moment_matching import UnconstrainedDensity

            self._unconstrained = UnconstrainedDensity(self.model, self.log_density)
        return self._unconstrained

    @property
    def waits_for_upgrade(self) -> bool:
        """Whether `upgrade` has something to do: a faster sampler, and a run to check it on."""
        return self.upgradable and self._last_run is not None

    def upgrade(self) -> str | None:
        """Compile nutpie's numba backend for this structure and sample the cached sampler's
        last run with it: the same draws, bit for bit, and it samples every later run; other
        draws, and the structure keeps the cached sampler. What happened, in a line, or None
        when there was nothing to do.
        """
        if not self.waits_for_upgrade:
            return None
        last = self._last_run
        import nutpie

        # Tried once: a compile that fails, or a sampler that gives other draws, is not tried
        # again; Ctrl-C (KeyboardInterrupt) leaves the structure waiting as it was.
        self.upgradable, self._last_run = False, None
        try:
            start = time.perf_counter()
            faster = nutpie.compile_pymc_model(
                self.model, backend="numba", initial_points=self.initial_points
            )
            seconds = time.perf_counter() - start
            tree = _sample_nutpie(faster.with_data(**last.data), **last.settings)
        except KeyboardInterrupt:
            self.upgradable, self._last_run = True, last
            raise
        if _digest(tree) != last.digest:
            return (
                f"nutpie's numba backend compiled in {seconds:.0f} s but gave other draws than "
                "PyTensor's cached density: this structure keeps the cached sampler"
            )
        self.sampler, self.posterior = "nutpie", faster
        return f"nutpie's numba backend compiled in {seconds:.0f} s and gave the same draws"

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
        if self.chain_steps >= UPGRADE_PAYS_AFTER and self.waits_for_upgrade:
            # Sampled much here, so likely to be sampled again (a cluster's worker, a long
            # batch): the faster sampler now pays for itself, as a JIT compiles a hot loop.
            _upgrade_now(self)
        self.chain_steps += chains * (draws + tune)
        settings = dict(
            draws=draws, tune=tune, chains=chains, cores=cores, seed=seed,
            target_accept=target_accept,
        )  # fmt: skip
        if self.sampler == "nutpie":
            return _sample_nutpie(self.posterior.with_data(**data), progress=progress, **settings)
        import pymc as pm

        pm.set_data(data, model=self.model)
        if self.helper is not None:
            self.helper.wait_for("posterior")
        tree = _sample_nutpie(self.posterior, progress=progress, **settings)
        if self.upgradable:
            copied = {name: np.array(value, copy=True) for name, value in data.items()}
            self._last_run = _Run(copied, settings, _digest(tree))
        return tree

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
        if self.helper is not None:
            self.helper.wait_for("prior")
        return self.prior.draw(data, seed)


@dataclass(frozen=True)
class PriorSampler:
    """The prior's forward sampler: every outcome's prior draws at once, for any model data."""

    function: object
    model: object
    rngs: list

    def draw(self, data: dict[str, np.ndarray], seed: int) -> list[np.ndarray]:
        from pymc.pytensorf import reseed_rngs

        for name, value in data.items():
            self.model[name].set_value(value)
        reseed_rngs(self.rngs, seed)
        return [np.asarray(value) for value in self.function()]


def prior_sampler(scenario: Scenario, prior_draws: int) -> PriorSampler:
    from pymc.pytensorf import compile as compile_function

    model = scenario_model.build_model(scenario, prior=True, batch=prior_draws)
    outputs = [model[name] for name in scenario_model.prior_variables(scenario)]
    function, updates = compile_function(
        [], outputs, random_seed=False, return_updates=True, on_unused_input="ignore"
    )
    return PriorSampler(function, model, list(updates))


@dataclass(frozen=True)
class _Run:
    """A run of the cached sampler: its numbers, its settings and a digest of its draws."""

    data: dict[str, np.ndarray]
    settings: dict
    digest: str


def _sample_nutpie(posterior, *, progress: bool = False, **settings) -> xr.DataTree:
    import nutpie

    trace = nutpie.sample(posterior, progress_bar=progress, return_raw_trace=True, **settings)
    tree = _nutpie_tree(*trace.get_arrow_trace(), coords=posterior.coords)
    if tree["posterior"].sizes["draw"] < settings["draws"]:
        # nutpie returns the draws made so far when Ctrl-C stops it: never a run's draws.
        raise KeyboardInterrupt
    return tree


def _digest(tree: xr.DataTree) -> str:
    """Every draw and sampler statistic, to the bit; of a divergence's message, only whether
    there is one (its wording differs between nutpie's backends)."""
    digest = hashlib.sha256()
    for group in ("posterior", "sample_stats"):
        for name, values in sorted(tree[group].to_dataset().data_vars.items()):
            array = np.ascontiguousarray(values.values)
            if array.dtype == object:
                array = np.array([isinstance(v, str) for v in array.ravel()]).reshape(array.shape)
            digest.update(f"{group}/{name}{array.dtype}{array.shape}".encode())
            digest.update(array.tobytes())
    return digest.hexdigest()


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


def upgrade_waits() -> bool:
    """Whether a kept structure waits for `upgrade_one`."""
    with _lock:
        return bool(_waiting())


def _waiting() -> list[Compiled]:
    return [c for c in _kept.values() if c.waits_for_upgrade]


def upgrade_if_worth(chain_steps: int) -> str | None:
    """Before sampling this many more chain steps of the structures kept here (a sweep's points
    sampled again), `upgrade_one` if the faster sampler would save more than its compile costs."""
    return upgrade_one() if chain_steps >= UPGRADE_PAYS_AFTER else None


def upgrade_one() -> str | None:
    """Upgrade one kept structure that nutpie's numba backend would sample faster
    (`Compiled.upgrade`), in this thread. For a process that stays alive, when it is idle: a run
    asked for meanwhile waits for it, since numba's compiler and Python's warnings are not safe
    to share between threads. What happened, in a line, or None when nothing waits."""
    with _lock:
        waiting = _waiting()
    # The structure used last first: after a change of structure, the one being worked on.
    return _upgrade_now(waiting[-1]) if waiting else None


def _upgrade_now(compiled: Compiled) -> str | None:
    """`compiled.upgrade()`; a failure leaves the cached sampler serving the structure."""
    try:
        return compiled.upgrade()
    except Exception as error:
        return f"compiling nutpie's numba backend failed ({type(error).__name__}: {error})"


def operations(model) -> int:
    """The size of a model's log density graph, before PyTensor's rewrites."""
    from pytensor.graph.traversal import applys_between

    return sum(1 for _ in applys_between(model.value_vars, [model.logp()]))


def _compile(scenario: Scenario, prior_draws: int, target_accept: float) -> Compiled:
    import pymc as pm

    posterior_model = scenario_model.build_model(scenario)
    size = operations(posterior_model)
    sampler = "nutpie-cached" if size <= NUTPIE_OPERATIONS else "pymc"
    # PyMC's NUTS compiles its own functions: a helper has nutpie's alone to compile.
    helper = precompile.start(scenario, prior_draws, size, posterior=sampler == "nutpie-cached")
    points = scenario_model.initial_points(posterior_model)
    step, step_state = None, None
    if sampler == "nutpie-cached":
        posterior = nutpie_over_pytensor(posterior_model, points)
    else:
        posterior = posterior_model
        step = pm.NUTS(model=posterior_model, target_accept=target_accept)
        step_state = copy.deepcopy(step.sampling_state)
    return Compiled(
        sampler=sampler,
        posterior=posterior,
        step=step,
        prior=prior_sampler(scenario, prior_draws),
        initial_points=points,
        step_state=step_state,
        model=posterior_model,
        upgradable=CACHED_OPERATIONS < size <= NUTPIE_OPERATIONS,
        helper=helper,
    )


def nutpie_over_pytensor(model, points):
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
