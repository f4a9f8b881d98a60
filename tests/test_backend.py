"""Backend layer: namespaces, explicit transfers, no silent mixing, sparse products."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from amref import backend


def test_round_trip_and_dtypes(xp):
    a = np.arange(6.0).reshape(2, 3)
    x = backend.from_host(a, xp, dtype="float32")
    assert backend.namespace(x) is not None and backend.dtype_name(x) == "float32"
    np.testing.assert_array_equal(backend.to_host(x), a.astype(np.float32))
    assert backend.eps(x) == np.finfo(np.float32).eps


def test_mixed_namespaces_raise():
    strict = backend.get_namespace("array_api_strict")
    with pytest.raises(TypeError):
        backend.namespace(np.ones(2), strict.ones(2))


def test_unknown_and_unavailable_backends():
    with pytest.raises(ValueError):
        backend.get_namespace("tensorflow")
    if not backend.cupy_available():
        with pytest.raises(backend.BackendUnavailable):
            backend.get_namespace("cupy")


def test_float_dtype_names(xp):
    assert backend.float_dtype(xp, "float64") == xp.float64
    with pytest.raises(ValueError):
        backend.float_dtype(xp, "float16")


def test_spmm_matches_dense(xp, rng):
    A = sp.random(7, 7, density=0.3, random_state=1, format="csr")
    X = rng.normal(size=(7, 4))
    got = backend.spmm(A, backend.from_host(X, xp))
    np.testing.assert_allclose(backend.to_host(got), A.toarray() @ X, rtol=1e-12)
    with pytest.raises(TypeError):
        backend.spmm(A.toarray(), X)


def test_spmm_keeps_the_dense_dtype(xp, rng):
    A = sp.random(5, 5, density=0.5, random_state=2, format="csr")  # float64
    X = backend.from_host(rng.normal(size=(5, 3)), xp, dtype="float32")
    assert backend.spmm(A, X).dtype == xp.float32


@pytest.mark.parametrize("layout", ["C", "F"])
def test_solve_spd_float32_against_the_float64_solve(rng, layout):
    """NumPy float32 stays in float32 (Cholesky + two triangular solves) and agrees with the float64 solve to
    float32 accuracy times cond(M); float64 is ``linalg.solve`` bit for bit; B is only overwritten on request."""
    from amref.backend import solve_spd

    W = rng.normal(scale=0.3, size=(40, 30))
    M64 = 2.0 * W.T @ W + 10.0 * np.eye(30)  # Taylor ADMM's T2 matrix: eigenvalues ≥ γ = 10
    B64 = np.asarray(rng.normal(size=(30, 70)), order=layout)
    M, B = M64.astype(np.float32), B64.astype(np.float32)
    ref = np.linalg.solve(M.astype(np.float64), B.astype(np.float64))
    kept = B.copy()
    X = solve_spd(M, B)
    assert X.dtype == np.float32 and X.shape == B.shape
    np.testing.assert_array_equal(B, kept)
    cond = np.linalg.cond(M64)
    assert np.max(np.abs(X - ref)) <= 8 * cond * np.finfo(np.float32).eps * np.max(np.abs(ref))
    np.testing.assert_array_equal(solve_spd(M64, B64), np.linalg.solve(M64, B64))
    X2 = solve_spd(M, B, overwrite_b=True)
    np.testing.assert_array_equal(X2, X)
