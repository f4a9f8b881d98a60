"""asv: each Numba kernel against the array-API function it replaces (same inputs, same output)."""

from __future__ import annotations

import numpy as np

from amref.losses import cross_entropy_and_grad
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


class CrossEntropyAndGrad:
    params = (grid([(10, 10000), (10, 55000)]), ["float32", "float64"], ["xp", "numba"])
    param_names = ["shape", "dtype", "impl"]

    def setup(self, shape, dtype, impl):
        rng = np.random.default_rng(0)
        self.z = (3 * rng.normal(size=shape)).astype(dtype)
        self.y = np.eye(shape[0], dtype=dtype)[:, rng.integers(0, shape[0], shape[1])]
        if impl == "numba":
            try:
                from amref.kernels import numba_cpu
            except ImportError as exc:
                raise NotImplementedError("numba not installed") from exc
            self.f = lambda: numba_cpu.cross_entropy_and_grad(self.z, self.y)
        else:
            self.f = lambda: cross_entropy_and_grad(self.z, self.y)
        self.f()

    def time_cross_entropy_and_grad(self, *args):
        self.f()
