"""Numba kernels give the same answers as their array-API references."""

from __future__ import annotations

import numpy as np
import pytest

from amref import kernels
from amref.backend import get_namespace
from amref.solvers.subproblems import relu_prox_xp

numba_cpu = pytest.importorskip("amref.kernels.numba_cpu", reason="numba not installed")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("delta", [0.0, 1.0])
@pytest.mark.parametrize("compare", ["full", "without_prox"])
def test_relu_prox_kernel(rng, dtype, delta, compare):
    m = (3 * rng.normal(size=(37, 53))).astype(dtype)
    a = (np.abs(rng.normal(size=(37, 53))) * (rng.random((37, 53)) > 0.4)).astype(dtype)
    zp = rng.normal(size=(37, 53)).astype(dtype)
    ref = relu_prox_xp(m, a, alpha=1.3, beta=0.6, z_prev=zp, delta=delta, compare=compare)
    got = numba_cpu.relu_prox(m, a, 1.3, 0.6, zp, delta, compare == "full")
    assert got.dtype == ref.dtype
    tol = 1e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)


def test_relu_prox_kernel_on_strided_views(rng):
    big = rng.normal(size=(40, 60))
    m, a = big[::2, 1::3], np.abs(big[1::2, ::3])
    np.testing.assert_allclose(numba_cpu.relu_prox(m, a, 1.0, 1.0, None, 0.0, True), relu_prox_xp(m, a), rtol=1e-14)


def test_selection_rules():
    npx, strict = get_namespace("numpy"), get_namespace("array_api_strict")
    assert kernels.use_numba(npx, None) is True
    assert kernels.use_numba(npx, False) is False
    assert kernels.use_numba(strict, None) is False
    with pytest.raises(ValueError):
        kernels.use_numba(strict, True)
    assert kernels.relu_prox(strict) is None
    assert kernels.relu_prox(npx) is numba_cpu.relu_prox  # default None: Numba when installed
    with kernels.use_jit(False):
        assert kernels.relu_prox(npx) is None
        with kernels.use_jit(True):
            assert kernels.relu_prox(npx) is numba_cpu.relu_prox
            with pytest.raises(ValueError):
                kernels.relu_prox(strict)
        assert kernels.jit_setting() is False  # the inner block restored the outer setting
    assert kernels.jit_setting() is None
    with pytest.raises(ValueError, match="jit"):
        with kernels.use_jit("yes"):
            pass


def test_with_jit_carries_the_setting_to_another_context():
    """A fresh context (a worker thread or process) starts at None; ``with_jit`` sets the caller's value."""
    import contextvars

    with kernels.use_jit(False):
        setting = kernels.jit_setting()
    fresh = contextvars.Context()
    assert fresh.run(kernels.jit_setting) is None
    assert fresh.run(kernels.with_jit, setting, kernels.jit_setting) is False
    assert fresh.run(kernels.jit_setting) is None


def test_kernel_is_cached_across_processes():
    """Compiled once per environment: the dispatcher writes to Numba's on-disk cache (not a NullCache)."""
    from numba.core.caching import NullCache

    assert not isinstance(numba_cpu._relu_prox._cache, NullCache)


def test_small_arrays_keep_the_reference_by_default():
    """The default setting skips Numba below JIT_MIN_SIZE elements (importing it costs more there); True forces it."""
    npx = get_namespace("numpy")
    assert kernels.relu_prox(npx, size=kernels.JIT_MIN_SIZE - 1) is None
    assert kernels.relu_prox(npx, size=kernels.JIT_MIN_SIZE) is numba_cpu.relu_prox
    with kernels.use_jit(True):
        assert kernels.relu_prox(npx, size=10) is numba_cpu.relu_prox


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("weights", [(1.0, 1.0), (0.02, 10.0), (4.0, 0.25)])
def test_tanh_prox_kernel_reaches_the_reference_minimum(rng, dtype, weights):
    from amref.activations import smooth_prox

    A, B = weights
    c = rng.normal(scale=3, size=(6, 50)).astype(dtype)
    a = rng.normal(scale=1.5, size=(6, 50)).astype(dtype)
    ref = smooth_prox("tanh", c, a, A, B)
    got = numba_cpu.tanh_prox(c, a, A, B, 40)
    assert got.dtype == c.dtype and got.shape == c.shape

    def f(z):
        z = z.astype(np.float64)
        return A * (z - c) ** 2 + B * (a - np.tanh(z)) ** 2

    np.testing.assert_allclose(f(got), f(ref), rtol=1e-6 if dtype == "float32" else 1e-12, atol=1e-12)
