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


# ----------------------------------------------------------------------------- mDLAM, pdADMM, pdADMM-G-Q kernels
def _fused_inputs(rng, dtype, shape=(37, 53)):
    """Random arrays with exact zeros and ties, so the branches (band edges, ReLU kinks, grid midpoints) are hit."""
    def arr(scale=1.0):
        x = rng.normal(scale=scale, size=shape)
        x[rng.random(shape) < 0.1] = 0.0
        return x.astype(dtype)
    return arr


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_elementwise_kernels_are_bit_for_bit_the_expressions(rng, dtype):
    """Each kernel against the array-API expression written beside it (its arrays exactly, its sum to rounding)."""
    arr = _fused_inputs(rng, dtype)
    x, g, m, a, T, u, p, q, z = (arr(s) for s in (1, 2, 3, 1, 5, 0.3, 1, 1, 2))
    a[0, :5] = [0.25, 0.5, 0.75, 1.0, 1.25]  # a − ε = tol exactly at 0.75 (the band's lower edge switches on)
    m[0, :5] = -10.0  # below every band: the lower edge is the answer
    t, rho, nu, eps, tol = 0.37, 0.7, 0.2, 0.5, 0.25
    sum_tol = dict(rtol=1e-5 if dtype == "float32" else 1e-12)
    np.testing.assert_array_equal(numba_cpu.sub_div(x, g, t), x - g / t)
    np.testing.assert_array_equal(
        numba_cpu.band_clip(m, a, eps, tol),
        np.maximum(np.minimum(m, a + (eps - tol)), np.where(a - eps > tol, a - (eps - tol), -np.inf)))
    fz = np.maximum(z, 0.0)
    cand = np.clip(x - (-rho * T) / t, fz - (eps - tol), fz + (eps - tol))
    got = numba_cpu.band_trial(x, T, rho, t, z, eps, tol)
    np.testing.assert_array_equal(got[0], cand)
    np.testing.assert_array_equal(got[1], cand - x)
    np.testing.assert_allclose(got[2], np.sum((cand - x).astype(np.float64) ** 2), **sum_tol)
    buffers = (np.full_like(x, np.nan), np.full_like(x, np.nan))  # a rejected trial's arrays, overwritten
    again = numba_cpu.band_trial(x, T, rho, t, z, eps, tol, out=buffers)
    assert again[0] is buffers[0] and again[1] is buffers[1] and again[2] == got[2]
    np.testing.assert_array_equal(again[0], cand)
    np.testing.assert_array_equal(numba_cpu.pdadmm_p_grad(T, u, p, q, nu, rho), -nu * T + u + rho * (p - q))
    for relu, f in ((True, np.maximum(z, 0.0)), (False, np.tanh(z))):
        q_new, u_new = numba_cpu.pdadmm_dual(p, u, z if relu else f, rho, nu, relu)
        q_ref = (rho * p + u + nu * f) / (rho + nu)
        np.testing.assert_array_equal(q_new, q_ref)
        np.testing.assert_array_equal(u_new, u + rho * (p - q_ref))
    np.testing.assert_allclose(numba_cpu.sq_dist(x, m), np.sum((x.astype(np.float64) - m) ** 2), **sum_tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("grid_name", ["paper", "code"])
def test_grid_kernels_pick_the_nearest_level(rng, dtype, grid_name):
    """Uniform-grid projection against a brute-force nearest level (ties to the lower level), and the
    quantized p-step trial against the array-API projection."""
    from amref.quantize import NAMED_GRIDS, levels_like

    grid = NAMED_GRIDS[grid_name]
    lv = np.asarray(grid.levels(dtype))
    span = grid.stop - grid.start
    x = rng.uniform(grid.start - 0.2 * span, grid.stop + 0.2 * span, size=(29, 31)).astype(dtype)
    x[0, : lv.size - 1] = ((lv[:-1] + lv[1:]) / 2)[: x.shape[1]]  # midpoints: ties go to the lower level
    x[1, :5] = lv[:5]
    dist = np.abs(x[..., None] - lv)  # brute force: |Δ| × size distances
    brute = lv[np.argmin(dist, axis=-1)]
    got = numba_cpu.project_uniform(x, levels_like(grid, x), grid.start, grid.step)
    assert got.dtype == x.dtype
    with kernels.use_jit(False):
        from amref.quantize import project

        ref = project(x, grid)
    np.testing.assert_array_equal(got, ref)
    assert np.all(np.abs(got - x) <= np.min(dist, axis=-1))  # as near as the brute-force level
    np.testing.assert_array_equal(got[np.isin(x, lv)], x[np.isin(x, lv)])
    g = rng.normal(size=x.shape).astype(dtype)
    cand, d, dd = numba_cpu.grid_trial(x, g, 0.8, levels_like(grid, x), grid.start, grid.step)
    with kernels.use_jit(False):
        ref = project(x - g / 0.8, grid)
    np.testing.assert_array_equal(cand, ref)
    np.testing.assert_array_equal(d, ref - x)
    again = numba_cpu.grid_trial(x, g, 0.8, levels_like(grid, x), grid.start, grid.step, out=(d, cand))
    np.testing.assert_array_equal(again[0], ref)  # written into the buffers given
    np.testing.assert_array_equal(again[1], ref - x)
    np.testing.assert_allclose(dd, np.sum((ref - x).astype(np.float64) ** 2), rtol=1e-5)


def test_fused_dispatch_rules():
    """``fused`` gives the kernel only for 2-D NumPy arrays of one shape and dtype, per ``use_jit`` and size."""
    big = np.zeros((8, kernels.JIT_MIN_SIZE // 8))
    assert kernels.fused("sub_div", big, big) is numba_cpu.sub_div
    assert kernels.fused("sub_div", big[:4], big[:4]) is None  # below JIT_MIN_SIZE: the reference by default
    assert kernels.fused("sub_div", big, big[:, :-1]) is None  # shapes differ (a broadcast)
    assert kernels.fused("sub_div", big, big.astype(np.float32)) is None
    assert kernels.fused("sub_div", big.ravel(), big.ravel()) is None
    strict = get_namespace("array_api_strict").asarray(big[:1, :4])
    with kernels.use_jit(True):
        assert kernels.fused("sq_dist", big[:1, :4], big[:1, :4]) is numba_cpu.sq_dist
        assert kernels.fused("sq_dist", strict, strict) is None
    with kernels.use_jit(False):
        assert kernels.fused("sub_div", big, big) is None
    with pytest.raises(ValueError, match="unknown fused kernel"):
        kernels.fused("nope", big)


@pytest.mark.parametrize("name", ["mdlam", "pdadmm", "pdadmm-g-q"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_solvers_take_the_same_steps_with_and_without_the_kernels(name, dtype):
    """Three iterations under use_jit(True) and use_jit(False): the same iterates (the kernels' arrays are the
    reference's bits; only the order of a few sums differs, which moves no backtracking decision here)."""
    import amref

    data = amref.load_dataset("digits").subset(train_size=120, test_size=10)
    data = data.to("numpy", dtype=dtype)
    spec = amref.get_solver(name)
    options = spec.options_class(rho=1e-2) if name == "mdlam" else spec.options_class(rho=0.5, nu=0.1)
    problem = amref.MLP((64, 24, 16, 10), loss=spec.paper_loss)
    params = problem.init_params(0, dtype=dtype)
    runs = {}
    for jit in (True, False):
        with kernels.use_jit(jit):
            state = spec.init_state(problem, data, params, options)
            for _ in range(3):
                state = spec.step(state, data, options)
            runs[jit] = [np.asarray(v) for v in spec.params(state)]
    for got, ref in zip(runs[True], runs[False]):
        np.testing.assert_allclose(got, ref, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-6)


# ----------------------------------------------------------------------------- linear-layer blocks (dlADMM)
def _pair(rng, dtype, shape=(37, 53)):
    return [(rng.normal(scale=s, size=shape)).astype(dtype) for s in (1.0, 3.0, 0.5)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_elementwise_block_kernels_are_numpy_bit_for_bit(rng, dtype):
    """p + c(a − b) (and with relu_b, p + c(a − max(b, 0))): the kernel makes the same roundings as NumPy,
    into a new array or in place."""
    x, y, b = _pair(rng, dtype)
    c = 0.3
    np.testing.assert_array_equal(numba_cpu.add_scaled_difference(x, c, y, b), x + c * (y - b))
    ref, x2 = x + c * (y - b), x.copy()
    assert numba_cpu.add_scaled_difference(x2, c, y, b, x2) is x2
    np.testing.assert_array_equal(x2, ref)
    b[0, :3] = [np.nan, -0.0, 0.0]  # np.maximum keeps b when b ≥ 0 or NaN
    np.testing.assert_array_equal(numba_cpu.add_scaled_difference(x, c, y, b, relu_b=True),
                                  x + c * (y - np.maximum(b, 0.0)))
    # strided views (a transposed operand, as a W.T product gives)
    yt = np.ascontiguousarray(y.T).T  # an F-ordered operand
    np.testing.assert_array_equal(numba_cpu.add_scaled_difference(x[:, ::2], c, yt[:, ::2], b[:, ::2]),
                                  x[:, ::2] + c * (y[:, ::2] - b[:, ::2]))


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
    """x − y/t, p + c(a − b), bias_step: the same values with and without Numba; the first argument
    written in place only with ``overwrite``, and the second (x − y/t) only with ``reuse``."""
    from amref.solvers.subproblems import _sub_div, add_scaled_difference, bias_step

    x, y, b = _pair(rng, dtype)
    col = rng.normal(size=(37, 1)).astype(dtype)
    keep = x.copy()
    with kernels.use_jit(jit):
        got = _sub_div(x, y, 2.5, overwrite=overwrite)
        assert (got is x) == overwrite
        np.testing.assert_array_equal(got, keep - y / 2.5)
        x[...] = keep
        y_keep = y.copy()
        got = _sub_div(x, y, 2.5, reuse=True, overwrite=overwrite)
        assert (got is x) == overwrite and (got is y) == (jit and not overwrite)
        np.testing.assert_array_equal(got, keep - y_keep / 2.5)
        x[...], y[...] = keep, y_keep
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
    """fused() gives dlADMM's kernels as it gives the others: per use_jit and JIT_MIN_SIZE, NumPy only."""
    big, small = np.zeros((1, kernels.JIT_MIN_SIZE)), np.zeros((1, kernels.JIT_MIN_SIZE - 1))
    strict = get_namespace("array_api_strict").asarray(big)
    for name in ("add_scaled_difference", "row_mean_difference"):
        assert kernels.fused(name, big, big) is getattr(numba_cpu, name)
        assert kernels.fused(name, small, small) is None
        assert kernels.fused(name, strict, strict) is None
        with kernels.use_jit(False):
            assert kernels.fused(name, big, big) is None
