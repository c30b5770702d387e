"""Many samplings at once: every command that samples more than once submits its jobs here.

One small layer over `dask.distributed`'s `Client`. A job is a module-level function of plain
data (a scenario, the sampler settings, the seed among them) that returns plain data (a summary
and draws, a grid point's numbers); the command alone writes files. Where the jobs run:

- `--scheduler tcp://HOST:PORT` (or FORECAST_SCHEDULER): on that existing Dask cluster;
- by default, here: one after another in this process (or, for `forecast run`, in its warm
  worker), which `benchmarks/cluster_speed.py` measured against a local cluster of worker
  processes (docs/cluster.md).

A job's seed is in its inputs, so where and in which order jobs run never changes a number. A
worker that dies takes its job back to the scheduler, which gives it to another worker (Dask's
own rescheduling); a job that raises is reported with its name and error and the others go on;
Ctrl-C cancels what is left.
"""

from forecast.cluster.jobs import SCHEDULER_VARIABLE, Finished, Job, Jobs

__all__ = ["SCHEDULER_VARIABLE", "Finished", "Job", "Jobs"]
