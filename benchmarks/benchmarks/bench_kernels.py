"""asv: each Numba kernel against the array-API function it replaces (same inputs, same output).

A softmax/cross-entropy kernel was measured here too and dropped: NumPy's SIMD exp beat it 4x
(see amref/kernels/__init__.py)."""

from __future__ import annotations

import numpy as np

from amref.solvers.subproblems import relu_prox_xp

from .common import grid


class ReluProx:
    params = (grid([(1000, 10000), (1000, 55000)]), ["float32", "float64"], ["xp", "numba"])
    param_names = ["shape", "dtype", "impl"]

    def setup(self, shape, dtype, impl):
        rng = np.random.default_rng(0)
        self.m = rng.normal(size=shape).astype(dtype)
        self.a = np.abs(rng.normal(size=shape)).astype(dtype)
        if impl == "numba":
            try:
                from amref.kernels import numba_cpu
            except ImportError as exc:
                raise NotImplementedError("numba not installed") from exc
            self.f = lambda: numba_cpu.relu_prox(self.m, self.a, 1.0, 1.0, None, 0.0, True)
        else:
            self.f = lambda: relu_prox_xp(self.m, self.a)
        self.f()

    def time_relu_prox(self, *args):
        self.f()


class LinearBlockKernels:
    """dlADMM's linear-layer block kernels (and the shared x − y/t, ``sub_div``) against the NumPy expressions
    they replace."""

    params = (grid([(1000, 10000)]), ["float32", "float64"], ["xp", "numba"])
    param_names = ["shape", "dtype", "impl"]

    def setup(self, shape, dtype, impl):
        rng = np.random.default_rng(0)
        self.x, self.y, self.b = (rng.normal(size=shape).astype(dtype) for _ in range(3))
        if impl == "numba":
            try:
                from amref.kernels import numba_cpu
            except ImportError as exc:
                raise NotImplementedError("numba not installed") from exc
            self.subtract = lambda: numba_cpu.sub_div(self.x, self.y, 3.0)
            self.gradient = lambda: numba_cpu.add_scaled_difference(self.x, 0.5, self.y, self.b)
            self.mean = lambda: numba_cpu.row_mean_difference(self.x, self.y)
        else:
            self.subtract = lambda: self.x - self.y / 3.0
            self.gradient = lambda: self.x + 0.5 * (self.y - self.b)
            self.mean = lambda: np.mean(self.x - self.y, axis=1, keepdims=True)
        self.subtract(), self.gradient(), self.mean()

    def time_sub_div(self, *args):
        self.subtract()

    def time_add_scaled_difference(self, *args):
        self.gradient()

    def time_row_mean_difference(self, *args):
        self.mean()
