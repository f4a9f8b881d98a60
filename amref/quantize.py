r"""Quantization of boundary arrays (pdADMM-G-Q): projection onto a finite set Δ, integer codes, bytes.

pdADMM-G-Q (Wang et al., TNNLS 2022, Problem 3) constrains the layer inputs p_l to a finite set
``Δ = {δ_1 < … < δ_m}``; its p-step is the elementwise nearest level ``argmin_{δ∈Δ} |δ − x|`` of a
gradient step, and the quantized arrays are what neighbouring layers exchange, so they can travel as
small integer codes instead of floats.

======================  =========================================================================================
name                    what it does
======================  =========================================================================================
:class:`Grid`           Δ: a uniform grid (start, stop, count) or an explicit sorted set of levels
:func:`project`         nearest level of every element, ties to the lower level, values outside saturate
                        to the end points. Uniform grids: one division and ``floor`` give the two
                        neighbours; sorted sets: ``searchsorted`` does. Never a |Δ| × size distance matrix
                        (the released code's method).
:func:`encode`          index of the nearest level as ``uint8`` (|Δ| ≤ 256), ``uint16`` (≤ 65,536) or ``uint32``
:func:`decode`          codes → levels (``decode(encode(x)) == project(x)``)
:func:`boundary_bytes`  bytes the pdADMM boundary arrays p, q, u take per iteration, for a float dtype
                        with or without codes for the quantized variables
======================  =========================================================================================

Grids used by the papers and the code (``docs/papers/pdadmm_g.md``):

* :data:`PAPER_LEVELS` — the paper's integers ``{−1, 0, …, 20}`` (22 levels, codes fit in ``uint8``).
* :data:`CODE_LEVELS` — the released code's ``linspace(−1, 2, 1000)`` (1,000 levels, ``uint16``).
* :data:`FLICKR_LEVELS`, :data:`ARXIV_LEVELS` — the code's commented-out non-uniform sets.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal, Sequence

import numpy as np

from . import kernels
from .backend import Array, device, dtype_name, from_host, namespace

__all__ = [
    "ARXIV_LEVELS",
    "CODE_LEVELS",
    "FLICKR_LEVELS",
    "NAMED_GRIDS",
    "PAPER_LEVELS",
    "as_grid",
    "boundary_bytes",
    "bytes_table",
    "CodeDtype",
    "decode",
    "element_bytes",
    "encode",
    "Grid",
    "count_off_grid",
    "levels_like",
    "project",
]

CodeDtype = Literal["uint8", "uint16", "uint32"]


@dataclasses.dataclass(frozen=True)
class Grid:
    """A finite set of quantization levels Δ.

    Build one with :meth:`uniform`, :meth:`integers` or :meth:`from_values`; the fields are plain
    values so options holding a grid stay hashable and checkpointable.

    Attributes
    ----------
    kind : {"uniform", "sorted"}
        ``"uniform"``: ``count`` levels ``linspace(start, stop, count)``. ``"sorted"``: the
        strictly increasing ``values``.
    start, stop : float
        End points (for ``"sorted"``, the first and last value).
    count : int
        |Δ|.
    values : tuple of float
        The levels of a ``"sorted"`` grid (empty for ``"uniform"``).
    """

    kind: Literal["uniform", "sorted"] = "uniform"
    start: float = -1.0
    stop: float = 20.0
    count: int = 22
    values: tuple = ()

    def __post_init__(self) -> None:
        if self.kind not in ("uniform", "sorted"):
            raise ValueError(f"grid kind must be 'uniform' or 'sorted', got {self.kind!r}")
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise ValueError(f"grid count must be a positive integer, got {self.count!r}")
        if not (math.isfinite(self.start) and math.isfinite(self.stop)):
            raise ValueError("grid end points must be finite")
        if self.kind == "uniform":
            if self.values:
                raise ValueError("a uniform grid takes no explicit values")
            if self.count > 1 and not self.stop > self.start:
                raise ValueError(f"uniform grid needs stop > start, got [{self.start}, {self.stop}]")
            if self.count == 1 and self.stop != self.start:
                raise ValueError("a one-level uniform grid needs start == stop")
        else:
            v = np.asarray(self.values, dtype=np.float64)
            if v.ndim != 1 or v.size != self.count or not np.all(np.isfinite(v)):
                raise ValueError("sorted grid values must be finite and match count")
            if v.size > 1 and not np.all(np.diff(v) > 0):
                raise ValueError("sorted grid values must be strictly increasing")
            if (v[0], v[-1]) != (self.start, self.stop):
                raise ValueError("sorted grid start/stop must equal its first/last value")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def uniform(cls, start: float, stop: float, count: int) -> "Grid":
        """``count`` equally spaced levels from ``start`` to ``stop`` (``numpy.linspace``)."""
        return cls("uniform", float(start), float(stop), int(count))

    @classmethod
    def integers(cls, low: int, high: int) -> "Grid":
        """The integers ``low, low + 1, …, high`` (the paper's Δ is ``integers(-1, 20)``)."""
        if int(high) < int(low):
            raise ValueError(f"integers grid needs high >= low, got {low}, {high}")
        return cls.uniform(int(low), int(high), int(high) - int(low) + 1)

    @classmethod
    def from_values(cls, values: Sequence[float]) -> "Grid":
        """An explicit set of levels (sorted and de-duplicated here); projected by ``searchsorted``."""
        v = np.unique(np.asarray(values, dtype=np.float64).ravel())
        if v.size == 0:
            raise ValueError("a grid needs at least one level")
        return cls("sorted", float(v[0]), float(v[-1]), int(v.size), tuple(float(x) for x in v))

    @classmethod
    def union(cls, *grids: "Grid") -> "Grid":
        """The union of several grids, as a sorted grid."""
        return cls.from_values(np.concatenate([g.levels() for g in grids]))

    # ------------------------------------------------------------------ properties
    @property
    def size(self) -> int:
        """|Δ|."""
        return self.count

    @property
    def step(self) -> float:
        """Spacing of a uniform grid (0 for one level); NaN for a sorted grid."""
        if self.kind != "uniform":
            return math.nan
        return 0.0 if self.count == 1 else (self.stop - self.start) / (self.count - 1)

    @property
    def bits(self) -> int:
        """⌈log₂|Δ|⌉ (at least 1): the bits one element needs when codes are bit-packed."""
        return max(1, math.ceil(math.log2(self.count)))

    @property
    def code_dtype(self) -> CodeDtype:
        """Smallest unsigned integer dtype holding the codes ``0 … |Δ|−1``."""
        if self.count <= 2**8:
            return "uint8"
        if self.count <= 2**16:
            return "uint16"
        return "uint32"

    def levels(self, dtype: str = "float64") -> np.ndarray:
        """The levels as a host array (the values :func:`project` returns, cast to ``dtype``)."""
        if self.kind == "uniform":
            v = np.linspace(self.start, self.stop, self.count)
        else:
            v = np.asarray(self.values, dtype=np.float64)
        return v.astype(dtype)


PAPER_LEVELS = Grid.integers(-1, 20)
"""Δ = {−1, 0, 1, …, 20} of the pdADMM-G-Q paper's experiments (Sec 5)."""

CODE_LEVELS = Grid.uniform(-1.0, 2.0, 1000)
"""Δ = linspace(−1, 2, 1000) of the released pdADMM-G-Q code."""

FLICKR_LEVELS = Grid.union(Grid.uniform(0.0, 1.98, 100), Grid.uniform(2.0, 10.0, 101))
"""The code's commented-out Flickr set ``linspace(0, 1.98, 100) ∪ linspace(2, 10, 101)`` (201 levels)."""

ARXIV_LEVELS = Grid.union(Grid.uniform(0.0, 5.0, 101), Grid.uniform(5.3, 11.0, 20))
"""The code's commented-out ogbn-arxiv set ``linspace(0, 5, 101) ∪ linspace(5.3, 11, 20)`` (121 levels)."""

NAMED_GRIDS = {"paper": PAPER_LEVELS, "code": CODE_LEVELS, "flickr": FLICKR_LEVELS, "arxiv": ARXIV_LEVELS}
"""Grids by name (``--option levels=code`` on the command line)."""


def as_grid(levels: "Grid | str") -> Grid:
    """A :class:`Grid` from a grid or one of the names in :data:`NAMED_GRIDS`."""
    if isinstance(levels, Grid):
        return levels
    if isinstance(levels, str) and levels in NAMED_GRIDS:
        return NAMED_GRIDS[levels]
    raise ValueError(f"levels must be an amref.quantize.Grid or one of {', '.join(NAMED_GRIDS)}, got {levels!r}")


# ----------------------------------------------------------------------------- projection
def levels_like(grid: Grid, x: Array) -> Array:
    """Δ as a 1-D array in ``x``'s namespace, device and dtype (a |Δ|-element host→device copy)."""
    return from_host(grid.levels(dtype_name(x)), namespace(x), device=device(x))


def _neighbours(x: Array, grid: Grid) -> tuple[Array, Array, Array, Array]:
    """``(flat x, lower index i, δ_i, δ_{i+1})`` with δ_i ≤ x < δ_{i+1} (clamped to the grid's ends).

    One division and ``floor`` on a uniform grid (an index off by one through rounding still leaves the
    nearest level among the two candidates) or ``searchsorted`` on a sorted grid. Needs |Δ| ≥ 2.
    """
    xp = namespace(x)
    flat = xp.reshape(x, (-1,))
    lv = levels_like(grid, x)
    if grid.kind == "uniform":
        lower = xp.astype(xp.floor((flat - grid.start) / grid.step), xp.int64)
    else:
        lower = xp.searchsorted(lv, flat) - 1
    lower = xp.clip(lower, 0, grid.count - 2)
    return flat, lower, xp.take(lv, lower), xp.take(lv, lower + 1)


def project(x: Array, grid: Grid) -> Array:
    """``Proj_Δ(x)``: the nearest level of every element (ties → lower level), same shape and dtype.

    Parameters
    ----------
    x
        Any real array (NumPy, CuPy, array-api-strict).
    grid
        The level set Δ.
    """
    xp = namespace(x)
    if grid.count == 1:
        return xp.full_like(x, grid.start)
    kernel = kernels.fused("project_uniform", x) if grid.kind == "uniform" else None
    if kernel is not None:  # the same levels in one pass, without the index and level temporaries
        return kernel(x, levels_like(grid, x), grid.start, grid.step)
    flat, _, lo, hi = _neighbours(x, grid)
    return xp.reshape(xp.where((hi - flat) < (flat - lo), hi, lo), x.shape)


def encode(x: Array, grid: Grid) -> Array:
    """Index of the nearest level of every element, as the grid's :attr:`Grid.code_dtype`.

    For ``x`` on the grid this is lossless: ``decode(encode(x, g), g, dtype) == x``.
    """
    xp = namespace(x)
    dtype = getattr(xp, grid.code_dtype)
    if grid.count == 1:
        return xp.zeros(x.shape, dtype=dtype, device=device(x))
    flat, lower, lo, hi = _neighbours(x, grid)
    idx = lower + xp.astype((hi - flat) < (flat - lo), xp.int64)
    return xp.reshape(xp.astype(idx, dtype), x.shape)


def decode(codes: Array, grid: Grid, dtype: str = "float64") -> Array:
    """Levels of integer ``codes`` (inverse of :func:`encode`) as a ``dtype`` array in the codes' namespace."""
    xp = namespace(codes)
    lv = from_host(grid.levels(dtype), xp, device=device(codes))
    flat = xp.astype(xp.reshape(codes, (-1,)), xp.int64)
    if flat.shape[0] and (int(xp.min(flat)) < 0 or int(xp.max(flat)) >= grid.count):
        raise ValueError(f"codes must lie in [0, {grid.count})")
    return xp.reshape(xp.take(lv, flat), codes.shape)


def count_off_grid(x: Array, grid: Grid) -> int:
    """Number of elements of ``x`` that are **not** levels of Δ (0 means ``x ∈ Δ`` elementwise)."""
    xp = namespace(x)
    return int(xp.sum(xp.astype(project(x, grid) != x, xp.int64)))


# ----------------------------------------------------------------------------- byte accounting
_ITEMSIZE = {"float64": 8, "float32": 4, "uint8": 1, "uint16": 2, "uint32": 4}


def element_bytes(encoding: str, grid: Grid | None = None) -> float:
    """Bytes per element for ``encoding``: ``"float64"``, ``"float32"``, ``"codes"`` (the grid's integer
    dtype) or ``"packed"`` (⌈log₂|Δ|⌉ bits, the ideal a bit-packer reaches)."""
    if encoding in ("float64", "float32"):
        return float(_ITEMSIZE[encoding])
    if grid is None:
        raise ValueError(f"encoding {encoding!r} needs a grid")
    if encoding == "codes":
        return float(_ITEMSIZE[grid.code_dtype])
    if encoding == "packed":
        return grid.bits / 8.0
    raise ValueError(f"unknown encoding {encoding!r}; use float64, float32, codes or packed")


def boundary_bytes(
    widths: Sequence[int],
    n_samples: int,
    *,
    dtype: str = "float64",
    quantize: str | None = None,
    grid: Grid | None = None,
    encoding: Literal["codes", "packed"] = "codes",
) -> dict[str, float]:
    """Bytes the pdADMM boundary arrays cross between neighbouring layers in one iteration.

    Per iteration layer l sends p_l (``n_{l−1} × N``) to layer l − 1 (l = 2…L) and q_l, u_l
    (``n_l × N``) to layer l + 1 (l = 1…L − 1) (pdADMM's Algorithm 1). The variables named in
    ``quantize`` (``"p"``, ``"q"`` or ``"pq"``) travel as codes of ``grid``; everything else (always
    u) in ``dtype``.

    Returns
    -------
    dict
        ``{"p": …, "q": …, "u": …, "total": …}`` in bytes.
    """
    widths = [int(w) for w in widths]
    if len(widths) < 3:
        return {"p": 0.0, "q": 0.0, "u": 0.0, "total": 0.0}
    quantize = quantize or ""
    if quantize not in ("", "p", "q", "pq"):
        raise ValueError(f"quantize must be None, 'p', 'q' or 'pq', got {quantize!r}")
    boundary = sum(widths[1:-1]) * int(n_samples)  # elements of p_2…p_L (= of q_1…q_{L−1}, = of u_1…)
    float_b = element_bytes(dtype)
    code_b = element_bytes(encoding, grid) if quantize else float_b
    out = {
        "p": boundary * (code_b if "p" in quantize else float_b),
        "q": boundary * (code_b if "q" in quantize else float_b),
        "u": boundary * float_b,
    }
    out["total"] = out["p"] + out["q"] + out["u"]
    return out


def bytes_table(
    widths: Sequence[int], n_samples: int, grid: Grid, quantize: str = "p"
) -> list[dict[str, Any]]:
    """Rows ``{"encoding", "quantize", "bytes"}`` comparing float64, float32 and codes per iteration."""
    rows = []
    for dtype in ("float64", "float32"):
        rows.append({"encoding": dtype, "quantize": None,
                     "bytes": boundary_bytes(widths, n_samples, dtype=dtype)["total"]})
    for dtype in ("float64", "float32"):
        for enc in ("codes", "packed"):
            b = boundary_bytes(widths, n_samples, dtype=dtype, quantize=quantize, grid=grid, encoding=enc)
            rows.append({"encoding": f"{dtype}+{enc}({grid.code_dtype if enc == 'codes' else f'{grid.bits} bit'})",
                         "quantize": quantize, "bytes": b["total"]})
    return rows
