"""Counting the matrix products (and dense solves / eigendecompositions) a solver really performs.

:class:`Counted` is a thin ``numpy.ndarray`` subclass: every ``@`` / ``matmul`` on it is recorded with its
shape ``(m, k, n)`` and layout (``"T"`` for an operand that is a transposed C-array, i.e. F-contiguous
only), and every result stays ``Counted``. :func:`counting_linalg` wraps ``solve``, ``eigh`` and ``pinv`` of
the array-API NumPy namespace (which call LAPACK without NumPy's dispatch). :func:`count_step` runs one
``step`` of a registered solver on ``Counted`` arrays and returns the records as :class:`floor.MatrixProduct`
counts, for ``test_floor_products.py`` to compare with the lists in :mod:`floor`.
"""

from __future__ import annotations

import collections
import contextlib

import numpy as np

from floor import MatrixProduct


class Counted(np.ndarray):
    """An ndarray whose matrix products are recorded in :attr:`log` (a list shared by all instances)."""

    log: list = []

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc is np.matmul and method == "__call__":
            A, B = inputs[:2]
            Counted.log.append(("matmul", _shape(A, B), _layout(A) + _layout(B)))
        inputs = tuple(_plain(x) for x in inputs)
        if "out" in kwargs:
            kwargs["out"] = tuple(_plain(o) for o in kwargs["out"])
        return _wrap(getattr(ufunc, method)(*inputs, **kwargs))

    def __array_function__(self, func, types, args, kwargs):
        args = tuple(_plain_tree(a) for a in args)
        kwargs = {k: _plain_tree(v) for k, v in kwargs.items()}
        return _wrap(func(*args, **kwargs))


def _shape(A, B):
    m, k = (1, A.shape[0]) if A.ndim == 1 else A.shape[-2:]
    n = 1 if B.ndim == 1 else B.shape[-1]
    return (int(m), int(k), int(n))


def _layout(x) -> str:
    x = np.asarray(x)
    return "T" if x.ndim == 2 and x.flags.f_contiguous and not x.flags.c_contiguous else "N"


def _plain(x):
    return x.view(np.ndarray) if isinstance(x, Counted) else x


def _plain_tree(x):
    if isinstance(x, (list, tuple)):
        return type(x)(_plain_tree(v) for v in x)
    return _plain(x)


def _wrap(out):
    if isinstance(out, np.ndarray) and not isinstance(out, Counted):
        return out.view(Counted)
    if isinstance(out, tuple):
        return type(out)(*(_wrap(o) for o in out)) if hasattr(out, "_fields") else tuple(_wrap(o) for o in out)
    return out


@contextlib.contextmanager
def counting_linalg():
    """Record ``solve`` (shape ``(n, n, k)``: n × n system, k right-hand sides), ``eigh`` and ``pinv`` calls."""
    import array_api_compat.numpy as xp

    originals = {name: getattr(xp.linalg, name) for name in ("solve", "eigh", "pinv")}

    def wrapped(name, f):
        def call(*args, **kwargs):
            a = args[0]
            if name == "solve":
                b = args[1]
                shape = (a.shape[0], a.shape[1], 1 if b.ndim == 1 else b.shape[1])
            else:
                shape = (a.shape[0], a.shape[1], a.shape[0] if name == "eigh" else a.shape[1])
            Counted.log.append((name, tuple(int(s) for s in shape), "NN"))
            return _wrap(f(*args, **kwargs))

        return call

    try:
        for name, f in originals.items():
            setattr(xp.linalg, name, wrapped(name, f))
        yield
    finally:
        for name, f in originals.items():
            setattr(xp.linalg, name, f)


def count_step(solver: str, widths, n_samples: int, warmup: int = 1, options=None, seed: int = 0):
    """The products of ``step`` number ``warmup + 1`` of ``solver`` on random data, as a Counter of
    ``(op, shape, layout)``; also returns the state after it."""
    import amref
    from amref.data import Dataset, one_hot
    from amref.kernels import use_jit

    spec = amref.get_solver(solver)
    rng = np.random.default_rng(seed)
    x = rng.random((widths[0], n_samples)) * (rng.random((widths[0], n_samples)) < 0.5)
    y = one_hot(rng.integers(0, widths[-1], n_samples), widths[-1])
    problem = amref.MLP(tuple(widths), loss=spec.paper_loss)
    options = spec.options_class() if options is None else options
    with use_jit(False), counting_linalg():  # the Numba kernel would see through the subclass
        data = Dataset("counted", x.view(Counted), y.view(Counted))
        params = [p.view(Counted) for p in problem.init_params(seed)]
        state = spec.init_state(problem, data, params, options)
        for _ in range(warmup):
            state = spec.step(state, data, options)
        Counted.log.clear()
        state = spec.step(state, data, options)
        log, Counted.log[:] = list(Counted.log), []
    return collections.Counter(log), state


def as_counter(products) -> collections.Counter:
    """A product list (:class:`floor.MatrixProduct`) as the Counter :func:`count_step` returns."""
    out = collections.Counter()
    for p in products:
        out[(p.op, tuple(p.shape), p.layout)] += p.count
    return out


__all__ = ["Counted", "MatrixProduct", "as_counter", "count_step", "counting_linalg"]
