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


# ----------------------------------------------------------------------------- linear-layer blocks (dlADMM)
def _pair(rng, dtype, shape=(37, 53)):
    return [(rng.normal(scale=s, size=shape)).astype(dtype) for s in (1.0, 3.0, 0.5)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_elementwise_block_kernels_are_numpy_bit_for_bit(rng, dtype):
    """x − y/t and p + c(a − b): the kernels make the same roundings as NumPy, into a new array or in place."""
    x, y, b = _pair(rng, dtype)
    t, c = 3.7, 0.3
    np.testing.assert_array_equal(numba_cpu.subtract_scaled(x, y, t), x - y / t)
    np.testing.assert_array_equal(numba_cpu.add_scaled_difference(x, c, y, b), x + c * (y - b))
    ref, x2 = x - y / t, x.copy()
    assert numba_cpu.subtract_scaled(x2, y, t, x2) is x2
    np.testing.assert_array_equal(x2, ref)
    ref, x2 = x + c * (y - b), x.copy()
    assert numba_cpu.add_scaled_difference(x2, c, y, b, x2) is x2
    np.testing.assert_array_equal(x2, ref)
    b[0, :3] = [np.nan, -0.0, 0.0]  # np.maximum keeps b when b ≥ 0 or NaN
    np.testing.assert_array_equal(numba_cpu.add_scaled_difference(x, c, y, b, relu_b=True),
                                  x + c * (y - np.maximum(b, 0.0)))
    # strided views (a transposed operand, as a W.T product gives)
    yt = np.ascontiguousarray(y.T).T  # an F-ordered operand
    np.testing.assert_array_equal(numba_cpu.subtract_scaled(x[:, ::2], yt[:, ::2], t), x[:, ::2] - y[:, ::2] / t)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cols", [5, 8, 53])
def test_row_mean_difference_kernel(rng, dtype, cols):
    """Row means and sums of t − m: t − m rounded in the dtype as NumPy does, then summed in float64 (the
    exact sum of those differences, to float64 rounding) — so NumPy's pairwise sum agrees to its own accuracy."""
    t, m, _ = _pair(rng, dtype, (9, cols))
    d = (t - m).astype(np.float64)
    for mean in (True, False):
        got = numba_cpu.row_mean_difference(t, m, mean)
        exact = (d.mean(axis=1) if mean else d.sum(axis=1)).astype(dtype).reshape(-1, 1)
        assert got.dtype == np.dtype(dtype) and got.shape == (9, 1)
        np.testing.assert_allclose(got, exact, rtol=1e-15, atol=0)
        numpy_ref = np.mean(t - m, axis=1, keepdims=True) if mean else np.sum(t - m, axis=1, keepdims=True)
        tol = 1e-5 if dtype == "float32" else 1e-13
        np.testing.assert_allclose(got, numpy_ref, rtol=tol, atol=tol * np.abs(d).max() * cols)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("jit", [True, False])
@pytest.mark.parametrize("overwrite", [True, False])
def test_block_helpers_with_and_without_kernels(rng, dtype, jit, overwrite):
    """subtract_scaled, add_scaled_difference, bias_step: the same values with and without Numba; the
    first argument written in place only with ``overwrite``."""
    from amref.solvers.subproblems import add_scaled_difference, bias_step, subtract_scaled

    x, y, b = _pair(rng, dtype)
    col = rng.normal(size=(37, 1)).astype(dtype)
    keep = x.copy()
    with kernels.use_jit(jit):
        got = subtract_scaled(x, y, 2.5, overwrite=overwrite)
        assert (got is x) == overwrite
        np.testing.assert_array_equal(got, keep - y / 2.5)
        x[...] = keep
        got = add_scaled_difference(x, 0.7, y, b, overwrite=overwrite)
        assert (got is x) == overwrite
        np.testing.assert_array_equal(got, keep + 0.7 * (y - b))
        x[...] = keep
        got = add_scaled_difference(x, 0.7, y, b, relu_b=True, overwrite=overwrite)
        assert (got is x) == overwrite
        np.testing.assert_array_equal(got, keep + 0.7 * (y - np.maximum(b, 0.0)))
        x[...] = keep
        for rule in ("exact", "paper-literal"):
            b_new, m_new = bias_step(col, x, y, rule, overwrite_m=overwrite)
            assert (m_new is x) == overwrite
            r = (y - keep).astype(np.float64)
            delta = (r.mean(axis=1) if rule == "exact" else r.sum(axis=1)).reshape(-1, 1)
            tol = 2e-6 if dtype == "float32" else 1e-13
            np.testing.assert_allclose(b_new, col + delta, rtol=tol, atol=tol * np.abs(r).sum(axis=1).max())
            np.testing.assert_allclose(m_new, keep + delta, rtol=tol, atol=tol * np.abs(r).sum(axis=1).max())
            x[...] = keep
    if not overwrite:
        np.testing.assert_array_equal(x, keep)


def test_block_kernels_dispatch():
    """The dispatchers follow use_jit and JIT_MIN_SIZE like relu_prox; array-API arrays never get one."""
    npx, strict = get_namespace("numpy"), get_namespace("array_api_strict")
    for name in ("subtract_scaled", "add_scaled_difference", "row_mean_difference"):
        pick = getattr(kernels, name)
        assert pick(npx, size=kernels.JIT_MIN_SIZE) is getattr(numba_cpu, name)
        assert pick(npx, size=kernels.JIT_MIN_SIZE - 1) is None
        assert pick(strict, size=kernels.JIT_MIN_SIZE) is None
        with kernels.use_jit(False):
            assert pick(npx, size=kernels.JIT_MIN_SIZE) is None
