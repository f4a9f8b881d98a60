"""How many BLAS and Numba threads a run should use: :func:`choose_threads`.

A small problem loses to threading: on 8×8 digits (64-100-100-10, 1,437 samples) the largest matrix
product is about 3·10⁷ floating-point operations, a millisecond on one core, while every parallel
product makes the BLAS threads meet, and on a machine whose cores other jobs also use a thread that
waits for a descheduled partner spins for a whole time slice. The rule: one thread per
:data:`FLOPS_PER_THREAD` operations of the run's largest matrix product (at least one), never more
threads than the cores this process may use (:func:`available_cores`) nor than the thread pools
already allow (``OMP_NUM_THREADS`` and friends), and one thread fewer for every runnable task beyond
the cores (the 1-minute load average minus the cores: other jobs already fill them; measured on 2
cores at load 9, a 784-1000-1000-10 job on 10,000 samples took 25 s on one thread and 40 s on two).
An explicit request is honoured up to the cores.

``amref train`` applies the choice with ``threadpoolctl`` and ``numba.set_num_threads`` for the
duration of the run (``--threads N`` overrides it).
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Sequence

__all__ = ["FLOPS_PER_THREAD", "ThreadChoice", "available_cores", "choose_threads", "largest_product_flops"]

#: Floating-point operations of one matrix product per thread below which another thread costs more than
#: it gains (about 5 ms of one core's work: several scheduler time slices on a loaded machine).
FLOPS_PER_THREAD: float = 1e8


@dataclasses.dataclass(frozen=True)
class ThreadChoice:
    """The thread count of a run and why.

    Attributes
    ----------
    threads : int
        BLAS and Numba threads to use (≥ 1).
    cores : int
        Cores available to this process.
    reason : str
        One line saying how ``threads`` was chosen.
    capped : bool
        Whether an explicit request was lowered to ``cores``.
    """

    threads: int
    cores: int
    reason: str
    capped: bool = False


def _cgroup_cores() -> int | None:
    """The CPU quota of the process's cgroup (v2 ``cpu.max``) in whole cores, or None without a quota."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return max(1, math.ceil(int(quota) / int(period)))
    except (ValueError, ZeroDivisionError):
        return None


def available_cores() -> int:
    """Cores this process may run on: its CPU affinity (``os.sched_getaffinity``), capped by a cgroup quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    quota = _cgroup_cores()
    return max(1, min(cores, quota) if quota else cores)


def largest_product_flops(widths: Sequence[int], n_samples: int) -> float:
    """Operations of the largest weight-by-activations product, ``2 · n_l · n_{l−1} · N``, over the layers."""
    return max((2.0 * a * b * n_samples for a, b in zip(widths[:-1], widths[1:])), default=0.0)


def _pool_limit() -> int | None:
    """The largest thread count the loaded thread pools allow now (respects ``OMP_NUM_THREADS`` etc.)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [int(p["num_threads"]) for p in threadpool_info() if p.get("num_threads")]
    return max(counts) if counts else None


def _load() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def choose_threads(widths: Sequence[int], n_samples: int, requested: int | None = None, *,
                   cores: int | None = None, load: float | None = None) -> ThreadChoice:
    """The thread count for training an MLP of ``widths`` on ``n_samples`` samples.

    Parameters
    ----------
    widths
        Layer widths ``(n_0, n_1, …, n_L)``.
    n_samples
        Training samples (the columns of the largest products).
    requested
        An explicit thread count (``--threads``): used, but never above ``cores``.
    cores
        Cores available (default :func:`available_cores`).
    load
        Runnable tasks on the machine (default: the 1-minute load average); each one beyond ``cores``
        takes one thread away (at least one is left).

    Returns
    -------
    ThreadChoice
        ``threads = clamp(⌊flops / FLOPS_PER_THREAD⌋, 1, cores − max(0, ⌊load⌋ − cores))`` for the largest
        product's ``flops``, also capped by the thread pools' current limit; or ``min(requested, cores)``.
    """
    cores = available_cores() if cores is None else int(cores)
    if cores < 1:
        raise ValueError(f"cores must be positive, got {cores}")
    if requested is not None:
        if requested < 1:
            raise ValueError(f"threads must be positive, got {requested}")
        if requested > cores:
            return ThreadChoice(cores, cores, f"--threads {requested} capped at the {cores} cores available", True)
        return ThreadChoice(requested, cores, f"{requested} threads as requested")
    flops = largest_product_flops(widths, n_samples)
    threads = int(min(cores, max(1, flops // FLOPS_PER_THREAD)))
    load = _load() if load is None else float(load)
    busy = ""
    if load is not None and int(load) > cores and threads > 1:
        threads = max(1, min(threads, cores - (int(load) - cores)))
        busy = f", load {load:.1f}"
    limit = _pool_limit()
    if limit is not None:
        threads = max(1, min(threads, limit))
    return ThreadChoice(threads, cores, f"{threads} of {cores} cores for products of {flops:.2g} flops{busy}")
