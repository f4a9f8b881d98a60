"""Optional fused kernels, chosen per call from the arrays' namespace.

The array-API functions in :mod:`amref.losses` and :mod:`amref.solvers.subproblems` are the
reference. A kernel here replaces one of them only for NumPy arrays and only when Numba is installed
(``pip install amref[jit]``); each is tested equal to its reference (``tests/test_kernels.py``) and
kept because ``benchmarks/`` shows a gain. ``jit`` arguments mean: ``None`` use Numba when possible,
``True`` require it, ``False`` never use it.

Measured (``benchmarks/benchmarks/bench_kernels.py``; 2-core x86-64, NumPy 2.4, Numba 0.68):

==========================  ================  =========  ===========  =========================================
operation                   shape             array API  Numba        decision
==========================  ================  =========  ===========  =========================================
ReLU prox (z-update)        1000 × 10000 f32  182 ms      16 ms        kept (11×): one pass instead of ~12
ReLU prox (z-update)        1000 × 10000 f64  614 ms      52 ms        kept (12×)
softmax-CE value + grad     10 × 55000 f32    2.6 ms      15.8 ms      **dropped**: NumPy's SIMD ``exp`` is 4×
                                                                       faster than Numba's, even with fastmath
softmax-CE value + grad     10 × 55000 f64    16.3 ms     13.8 ms      dropped (1.2×, not worth a second path)
==========================  ================  =========  ===========  =========================================
"""

from __future__ import annotations

import importlib.util
from types import ModuleType
from typing import Callable

from ..backend import is_numpy


def numba_available() -> bool:
    """True when Numba can be imported."""
    return importlib.util.find_spec("numba") is not None


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


def relu_prox(xp: ModuleType, jit: bool | None) -> Callable | None:
    """Numba ReLU-prox kernel ``(m, a, alpha, beta, z_prev, delta, compare_full) -> z``, or None."""
    if not use_numba(xp, jit):
        return None
    from . import numba_cpu

    return numba_cpu.relu_prox
