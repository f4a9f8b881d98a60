"""Optional fused kernels, chosen per call from the arrays' namespace.

The array-API functions in :mod:`amref.losses` and :mod:`amref.solvers.subproblems` are the
reference. A kernel here replaces one of them only for NumPy arrays and only when Numba is installed
(``pip install amref[jit]``); each is tested equal to its reference (``tests/test_kernels.py``) and
kept because ``benchmarks/`` shows a gain.

Whether a kernel runs is a run-time setting, not an option of any solver (it changes no iterate beyond
rounding): :func:`use_jit` sets it for a block of code (``None``, the default: Numba for NumPy arrays
when installed; ``True``: require it; ``False``: never use it)::

    with amref.kernels.use_jit(False):
        amref.minimize(...)

The setting is a :mod:`contextvars` variable, so threads and asyncio tasks each see their own; code that
runs elsewhere (a dask worker) gets the caller's value passed along (:func:`with_jit`).

Measured (``benchmarks/benchmarks/bench_kernels.py``; 2-core x86-64, NumPy 2.4, Numba 0.68):

==========================  ================  =========  ===========  =========================================
operation                   shape             array API  Numba        decision
==========================  ================  =========  ===========  =========================================
ReLU prox (z-update)        1000 × 10000 f32  182 ms      19 ms ¹      kept (9×): one pass instead of ~12
ReLU prox (z-update)        1000 × 10000 f64  614 ms      22 ms ¹      kept (28×)
tanh/sigmoid prox           64 × 1437 f64     1.7–1.9 s   0.5–0.8 s    kept (2–3×, measured on a loaded 2-core
                                                                       machine, not by the asv suite): pieces
                                                                       without a sign change are skipped
softmax-CE value + grad     10 × 55000 f32    2.6 ms      15.8 ms      **dropped**: NumPy's SIMD ``exp`` is 4×
                                                                       faster than Numba's, even with fastmath
softmax-CE value + grad     10 × 55000 f64    16.3 ms     13.8 ms      dropped (1.2×, not worth a second path)
p + c(a − b) (a-gradient)   1000 × 10000 f32  9.2 ms     3.8 ms       kept (2.4×, in place into the product p)
p + c(a − b)                1000 × 10000 f64  14.4 ms    5.9 ms       kept (2.4×)
row means of t − m (bias)   1000 × 10000 f32  5.5 ms     3.7 ms       kept (1.5×): no ``t − m`` temporary
row means of t − m          1000 × 10000 f64  12.0 ms    3.8 ms       kept (3.2×)
==========================  ================  =========  ===========  =========================================

¹ One thread, quiet machine, median of 9, 2026-11-30 (it was 16 / 52 ms on two threads at load 1–2).

The last four rows (``LinearBlockKernels`` in the asv suite; here a one-off median of 9 on one thread at load
1.3; at load 4.2 the times were about 3× longer and the ratios the same) are dlADMM's one-thread kernels:
each is a single memory-bound pass, and on a shared 2-core machine a parallel region waits for its slowest
thread.

The fused elementwise kernels of mDLAM and pdADMM(-G, -G-Q) (:func:`fused`, end of this module) are kept
for what they do to a whole iteration at N = 10,000 (``docs/guides/benchmarks.md``, "Fused kernels").

Threads: every kernel that is one memory-bound pass (all but the tanh/sigmoid prox, whose bisection is
compute-bound) runs on one thread. A parallel region waits for its slowest thread, which on a shared machine
is often descheduled, and gains little on a pass that memory bandwidth limits (dlADMM at N = 10,000, float32,
two BLAS threads, quiet machine: 1.39–1.55× its floor with these kernels serial or parallel, run to run).
Serial kernels also sum in one fixed order, so a run's iterates do not depend on how many threads
:func:`amref.threads.choose_threads` picked for the machine's load.

GPU: there are no CuPy kernels. On CuPy every operation runs the array-API reference (correct on every
backend); fused GPU kernels, and figures for them, wait for a machine with a GPU to write and test them on.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import importlib.util
from types import ModuleType
from typing import Any, Callable, Iterator

from ..backend import is_numpy

__all__ = ["JIT_MIN_SIZE", "jit_setting", "numba_available", "optim_kernel", "relu_prox", "tanh_prox", "use_jit",
           "use_numba", "with_jit"]
__all__ += ["FUSED", "fused"]  # mDLAM / pdADMM kernels (end of this module)


def numba_available() -> bool:
    """True when Numba can be imported."""
    return importlib.util.find_spec("numba") is not None


_JIT: contextvars.ContextVar[bool | None] = contextvars.ContextVar("amref_jit", default=None)


def jit_setting() -> bool | None:
    """The current kernel setting (see :func:`use_jit`)."""
    return _JIT.get()


@contextlib.contextmanager
def use_jit(jit: bool | None) -> Iterator[None]:
    """Use Numba kernels (``True``), never (``False``) or when possible (``None``) inside the block.

    Raises
    ------
    ValueError
        When ``jit`` is not True, False or None.
    """
    if jit is not None and not isinstance(jit, bool):
        raise ValueError(f"jit must be True, False or None, got {jit!r}")
    token = _JIT.set(jit)
    try:
        yield
    finally:
        _JIT.reset(token)


def with_jit(jit: bool | None, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` under ``use_jit(jit)``: carries the setting to code run in another process."""
    with use_jit(jit):
        return fn(*args, **kwargs)


def use_numba(xp: ModuleType, jit: bool | None) -> bool:
    """Decide whether a Numba kernel runs for arrays of namespace ``xp``.

    Raises
    ------
    ValueError
        ``jit=True`` with non-NumPy arrays.
    ImportError
        ``jit=True`` without Numba installed.
    """
    if jit is False:
        return False
    if not is_numpy(xp):
        if jit:
            raise ValueError("jit=True needs NumPy arrays (Numba kernels run on the CPU only)")
        return False
    if not numba_available():
        if jit:
            raise ImportError("jit=True but Numba is not installed (pip install 'amref[jit]')")
        return False
    return True


JIT_MIN_SIZE = 1 << 18
"""Below this many elements the default setting (``use_jit(None)``) keeps the array-API version: on
small arrays the kernel saves less than importing Numba and loading its cached code costs (the
default ``amref train`` job, 100 × 1437, runs as fast without it). ``use_jit(True)`` always uses it."""


def _kernel(name: str, xp: ModuleType, size: int | None, module: str = "numba_cpu") -> Callable | None:
    """The Numba kernel ``name`` of :mod:`.numba_cpu` (or of ``module``) when :func:`use_jit` allows it for
    these arrays (with the default setting not for fewer than :data:`JIT_MIN_SIZE` elements), else None."""
    jit = jit_setting()
    if not use_numba(xp, jit):
        return None
    if jit is None and size is not None and size < JIT_MIN_SIZE:
        return None
    return getattr(importlib.import_module(f".{module}", __package__), name)


def relu_prox(xp: ModuleType, size: int | None = None) -> Callable | None:
    """Numba ReLU-prox kernel ``(m, a, alpha, beta, z_prev, delta, compare_full) -> z``, or None
    (per :func:`use_jit`; with the default setting also for fewer than :data:`JIT_MIN_SIZE` elements)."""
    return _kernel("relu_prox", xp, size)


def tanh_prox(xp: ModuleType, size: int | None = None) -> Callable | None:
    """Numba tanh-prox kernel ``(c, a, A, B, steps) -> z`` (:func:`amref.activations.smooth_prox`), or None
    (per :func:`use_jit`; with the default setting also for fewer than :data:`JIT_MIN_SIZE` elements)."""
    return _kernel("tanh_prox", xp, size)


def _for_blocks(name: str, arrays: tuple, module: str, ndim: int | None = None) -> Callable | None:
    """The kernel ``name`` of ``module`` for ``arrays``, or None when the array-API expression should run: not
    NumPy, :func:`use_jit` says no, fewer than :data:`JIT_MIN_SIZE` elements with the default setting, or
    arrays not of one shape (with ``ndim`` dimensions, when given) and one dtype, float32 or float64."""
    first = arrays[0]
    if ndim is not None and getattr(first, "ndim", None) != ndim:
        return None
    if not all(getattr(x, "shape", None) == first.shape and getattr(x, "dtype", None) == first.dtype for x in arrays):
        return None
    from ..backend import namespace

    xp = namespace(*arrays)
    if not (is_numpy(xp) and first.dtype.name in ("float32", "float64")):
        return None
    return _kernel(name, xp, first.size, module=module)


def optim_kernel(name: str, *blocks: Any) -> Callable | None:
    """The optimizer kernel ``name`` of :mod:`.numba_optim` (one rule's update of one parameter block in one
    pass) for these blocks (gradient, parameter, state buffers), or None as for :func:`fused`; the rule then
    evaluates the array-API expression the kernel replaces."""
    return _for_blocks(name, blocks, "numba_optim")


# ----------------------------------------------------------------------------- mDLAM, pdADMM, pdADMM-G-Q
FUSED = ("band_clip", "band_trial", "grid_trial", "pdadmm_dual", "pdadmm_p_grad", "project_uniform", "sq_dist",
         "sub_div", "add_scaled_difference", "row_mean_difference")
"""The fused elementwise kernels of :mod:`.numba_cpu` for mDLAM, pdADMM(-G, -G-Q) and (the last two) dlADMM
(each documents the array-API expression it replaces; ``tests/test_kernels.py`` checks they agree). They remove temporaries:
at N = 10,000 every 1000 × N float32 temporary is a fresh 40 MB allocation that the operating system
maps and zeroes page by page, which costs as much as the arithmetic on it. Their arrays are bit for bit
the reference's; their sums (‖·‖²) are added in another order and can differ in the last bits."""


def fused(name: str, *arrays: Any) -> Callable | None:
    """The fused kernel ``name`` (one of :data:`FUSED`) for these arrays, or None when the array-API
    expression should run: not NumPy, :func:`use_jit` says no, fewer than :data:`JIT_MIN_SIZE` elements
    with the default setting, or arrays that are not 2-D of one shape and one dtype (float32 or float64)."""
    if name not in FUSED:
        raise ValueError(f"unknown fused kernel {name!r}; known: {', '.join(FUSED)}")
    return _for_blocks(name, arrays, "numba_cpu", ndim=2)
