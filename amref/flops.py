"""Counting the matrix products an iteration performs (for benchmarks that compare against a floor).

A solver or the back-propagation module lists its O(n²N) products as :class:`MatrixProduct` records; a
benchmark can then time exactly those shapes and layouts and report time per iteration beside that floor.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple


class MatrixProduct(NamedTuple):
    """One kind of matrix product performed ``count`` times per iteration.

    Attributes
    ----------
    label : str
        What it computes (for reports).
    shape : (m, k, n)
        An ``m × k`` by ``k × n`` product.
    count : int
        How many times per iteration.
    layout : {"NN", "NT", "TN"}
        How the operands are stored: ``"NN"`` is ``A @ B``; ``"NT"`` is ``A @ B.T`` with B stored
        ``n × k`` (a transposed C-array, as ``(t − m) aᵀ``); ``"TN"`` is ``A.T @ B`` with A stored ``k × m``.
    """

    label: str
    shape: tuple[int, int, int]
    count: int
    layout: str = "NN"


def flops(products: Iterable[MatrixProduct]) -> int:
    """Floating-point operations of the products, 2mkn each."""
    return sum(2 * m * k * n * p.count for p in products for m, k, n in [p.shape])
