"""Array backends: the one place that knows about NumPy, CuPy and array-api-strict.

Rules that hold everywhere in amref (``CONTRIBUTING.md``):

* **The data decide.** Every computational function starts from the arrays it is given
  (``xp = namespace(*arrays)``) and only calls ``xp`` functions, so the same solver code runs on
  NumPy, CuPy or array-api-strict arrays.
* **No silent transfers.** Nothing moves between host and device unless the caller asks:
  :func:`to_host` and :func:`from_host` are the only crossings, and they are explicit.
* **Random numbers on the host.** The array API has no random module. Initial weights and shuffles
  are drawn from a seeded :class:`numpy.random.Generator` and moved once with :func:`from_host`, so a
  CPU run and a GPU run start from bit-identical values.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "BACKENDS",
    "Array",
    "backend_name",
    "BackendUnavailable",
    "cupy_available",
    "device",
    "dtype_name",
    "eps",
    "float_dtype",
    "from_host",
    "get_namespace",
    "inner",
    "solve_spd",
    "is_cupy",
    "is_numpy",
    "namespace",
    "scalar",
    "spmm",
    "sum_of_squares",
    "synchronize",
    "to_host",
]

Array = Any
"""Type alias for an array of any supported namespace (NumPy, CuPy, array-api-strict)."""

BACKENDS = ("numpy", "cupy", "array_api_strict")


class BackendUnavailable(RuntimeError):
    """Raised when a requested backend cannot be used on this machine."""


def namespace(*arrays: Array) -> ModuleType:
    """Array-API namespace shared by ``arrays`` (raises on mixed namespaces).

    Parameters
    ----------
    *arrays
        Arrays (``None`` entries and Python scalars are ignored).

    Returns
    -------
    module
        ``array_api_compat.numpy`` for NumPy arrays, ``array_api_compat.cupy`` for CuPy arrays,
        ``array_api_strict`` for strict arrays.
    """
    return array_api_compat.array_namespace(*[a for a in arrays if a is not None and not _is_scalar(a)])


def _is_scalar(a: Any) -> bool:
    return isinstance(a, (int, float, bool, complex))


def get_namespace(name: str) -> ModuleType:
    """Namespace module for a backend name (``"numpy"``, ``"cupy"`` or ``"array_api_strict"``).

    Raises
    ------
    BackendUnavailable
        If the backend is not installed, or (for CuPy) no CUDA device can be used.
    ValueError
        If ``name`` is not a known backend.
    """
    if name == "numpy":
        return array_api_compat.array_namespace(np.empty(0))
    if name == "cupy":
        if not cupy_available():
            raise BackendUnavailable("backend 'cupy' needs CuPy and a working CUDA device; none was found")
        import cupy

        return array_api_compat.array_namespace(cupy.empty(0))
    if name in ("array_api_strict", "array-api-strict"):
        try:
            return importlib.import_module("array_api_strict")
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise BackendUnavailable("backend 'array_api_strict' is not installed") from exc
    raise ValueError(f"unknown backend {name!r}; expected one of {', '.join(BACKENDS)}")


def cupy_available() -> bool:
    """True when CuPy imports and at least one CUDA device answers."""
    try:
        import cupy
    except Exception:
        return False
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def is_numpy(xp: ModuleType) -> bool:
    """True for the NumPy namespace (plain or array-api-compat wrapped)."""
    return array_api_compat.is_numpy_namespace(xp)


def is_cupy(xp: ModuleType) -> bool:
    """True for the CuPy namespace (plain or array-api-compat wrapped)."""
    return array_api_compat.is_cupy_namespace(xp)


def backend_name(xp: ModuleType) -> str:
    """Short name of a namespace: ``"numpy"``, ``"cupy"``, ``"array_api_strict"`` or the module name."""
    if is_numpy(xp):
        return "numpy"
    if is_cupy(xp):
        return "cupy"
    if array_api_compat.is_array_api_strict_namespace(xp):
        return "array_api_strict"
    return getattr(xp, "__name__", str(xp))


def device(x: Array) -> Any:
    """Device an array lives on (array-api-compat's portable ``device``)."""
    return array_api_compat.device(x)


def float_dtype(xp: ModuleType, name: str) -> Any:
    """The ``xp`` dtype object for ``"float32"`` or ``"float64"``.

    Raises
    ------
    ValueError
        For any other name.
    """
    if name not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {name!r}")
    return getattr(xp, name)


def dtype_name(x: Array) -> str:
    """``"float32"`` or ``"float64"`` for a floating array (raises otherwise)."""
    xp = namespace(x)
    for name in ("float32", "float64"):
        if x.dtype == getattr(xp, name):
            return name
    raise TypeError(f"expected a float32 or float64 array, got dtype {x.dtype}")


def eps(x: Array) -> float:
    """Machine epsilon of a floating array's dtype."""
    return float(np.finfo(dtype_name(x)).eps)


def to_host(x: Array) -> np.ndarray:
    """Copy an array to a NumPy array on the host (an explicit, deliberate transfer).

    Used for saving checkpoints and weights, and in tests; solver code never calls it.
    """
    if isinstance(x, np.ndarray):
        return x
    xp = namespace(x)
    if is_cupy(xp):
        return x.get()
    return np.from_dlpack(x) if hasattr(x, "__dlpack__") else np.asarray(x)


def from_host(a: np.ndarray | Any, xp: ModuleType, *, device: Any = None, dtype: str | None = None) -> Array:
    """Move a host array into namespace ``xp`` (optionally onto ``device`` and cast to ``dtype``).

    This is the one way host data (datasets, initial weights, checkpoints) enters a backend.
    """
    a = np.asarray(a)
    if dtype is not None:
        a = a.astype(dtype, copy=False)
    if is_numpy(xp):
        return a
    kwargs = {} if device is None else {"device": device}
    return xp.asarray(a, **kwargs)


def synchronize(xp: ModuleType) -> None:
    """Wait for queued device work (CuPy); a no-op on host backends. Call before reading a timer."""
    if is_cupy(xp):
        import cupy

        cupy.cuda.get_current_stream().synchronize()


def scalar(x: Array) -> float:
    """A 0-d array as a Python float (a device→host sync on GPUs)."""
    return float(x)


def spmm(A: Any, X: Array) -> Array:
    """Sparse (host ``scipy.sparse``) matrix ``A`` times dense ``X`` in ``X``'s namespace.

    NumPy: ``scipy.sparse`` product. CuPy: ``A`` is copied once to ``cupyx.scipy.sparse`` (the caller
    asked for a product with device data). Other namespaces: ``A`` is densified (small graphs only).
    """
    import scipy.sparse as sp

    if not sp.issparse(A):
        raise TypeError("spmm expects a scipy.sparse matrix as its first argument")
    xp = namespace(X)
    if is_numpy(xp):
        return np.asarray(A.astype(X.dtype, copy=False) @ X)  # a float64 A would promote float32 X
    if is_cupy(xp):
        import cupyx.scipy.sparse as csp

        return csp.csr_matrix(A.tocsr().astype(X.dtype)) @ X
    return from_host(A.toarray(), xp, device=device(X), dtype=dtype_name(X)) @ X


def sum_of_squares(x: Array) -> float:
    """‖x‖² (Frobenius) as a Python float.

    NumPy: ``einsum`` over the flat array, one pass without a temporary and with pairwise-like accuracy
    (relative error ~1e-6 in float32 over 5·10⁷ terms; BLAS ``dot`` loses ~1e-3 there). Other
    namespaces: ``sum(x * x)``.
    """
    return inner(x, x)


def inner(x: Array, y: Array) -> float:
    """⟨x, y⟩ = Σ x∘y as a Python float (see :func:`sum_of_squares` for the NumPy fast path)."""
    xp = namespace(x, y)
    if is_numpy(xp) and x.shape == y.shape and x.ndim <= 26:
        letters = "abcdefghijklmnopqrstuvwxyz"[: x.ndim]
        return float(np.einsum(f"{letters},{letters}->", x, y))
    return float(xp.sum(x * y))


def solve_spd(M: Array, B: Array, *, overwrite_b: bool = False) -> Array:
    """``M⁻¹B`` for a symmetric positive definite ``M`` (n × n) and ``B`` (n × k).

    ``xp.linalg.solve`` (an LU solve) for every namespace and dtype except NumPy float32: NumPy's
    ``linalg`` computes float32 in float64 (B and the result are copied to float64 and back: three more
    arrays of B's size, the largest at twice its bytes). There, ``M = LLᵀ`` is factored in float32 and the
    two triangular solves run on Bᵀ in place (BLAS ``strsm`` from the right on a copy of B, which is
    C-ordered, so Bᵀ is the Fortran array BLAS wants): no float64 copy, and the result keeps B's layout
    (``overwrite_b=True``: B, when C-ordered, is overwritten instead of copied). The relative error is that of a float32 Cholesky solve, about cond(M)·1e-7 (``tests/test_backend.py``
    checks it against the float64 solve); use it where M is well conditioned.
    """
    xp = namespace(M, B)
    if not (is_numpy(xp) and M.dtype == np.float32 and B.dtype == np.float32 and B.ndim == 2):
        return xp.linalg.solve(M, B)
    from scipy.linalg import blas, cholesky

    L = cholesky(M, lower=True, check_finite=False)
    Xt = (B if overwrite_b and B.flags.c_contiguous else np.array(B, order="C")).T  # Bᵀ, Fortran-ordered
    # Xᵀ = Bᵀ M⁻¹ = Bᵀ L⁻ᵀ L⁻¹: solve Y Lᵀ = Bᵀ, then Xᵀ L = Y (side=1: from the right)
    Xt = blas.strsm(1.0, L, Xt, side=1, lower=1, trans_a=1, overwrite_b=1)
    Xt = blas.strsm(1.0, L, Xt, side=1, lower=1, trans_a=0, overwrite_b=1)
    return Xt.T
