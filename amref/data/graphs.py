r"""Graphs for node classification and the GA-MLP feature augmentation of pdADMM-G and mDLAM.

A graph-augmented MLP (GA-MLP) turns node classification into plain classification: each node's
input is the stack of its features propagated over 0, 1, …, K−1 hops,
``X = [H; H Â; H Â²; …]`` (features × nodes, blocks stacked by rows), after which nodes are
independent samples and any MLP solver applies (``docs/papers/pdadmm_g.md``).

==========  ==========================================================================================
symbol      meaning
==========  ==========================================================================================
H           node features, ``d × V`` (columns are nodes)
A           adjacency, ``V × V`` symmetric 0/1 (scipy.sparse)
Â           ``(D + I)^{-1/2}(A + I)(D + I)^{-1/2}``, D_ii = Σ_j A_ij (the paper's Ã; equal to PyG's
            ``gcn_norm`` for graphs without self-loops)
K           number of blocks: the paper's K = 4 is ``{I, Â, Â², Â³}``; the released code uses five
            blocks ``[Â⁴H, Â³H, Â²H, ÂH, H]``; mDLAM's code propagates with ``Â + I`` instead of Â
==========  ==========================================================================================
"""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from ..backend import Array, from_host, get_namespace, spmm
from .dataset import one_hot
from .dataset import Dataset

__all__ = ["augment_features", "Graph", "graph_dataset", "normalized_adjacency"]


@dataclasses.dataclass(frozen=True)
class Graph:
    """A node-classification graph as stored on disk (host arrays).

    Attributes
    ----------
    name : str
    features : numpy.ndarray, ``d × V``
        Node features, columns are nodes.
    adjacency : scipy.sparse.csr_matrix, ``V × V``
        Symmetric 0/1 adjacency without self-loops.
    labels : numpy.ndarray, ``(V,)`` int64
        Class of every node, in ``[0, n_classes)``.
    n_classes : int
    train_index, val_index, test_index : numpy.ndarray of int64
        Node ids of each split (disjoint).
    info : dict
        Provenance (files, split rule).
    """

    name: str
    features: np.ndarray
    adjacency: Any
    labels: np.ndarray
    n_classes: int
    train_index: np.ndarray
    val_index: np.ndarray
    test_index: np.ndarray
    info: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        V = self.features.shape[1] if self.features.ndim == 2 else -1
        if self.features.ndim != 2 or not np.all(np.isfinite(self.features)):
            raise ValueError(f"{self.name}: features must be a finite d × V matrix")
        if not sp.issparse(self.adjacency) or self.adjacency.shape != (V, V):
            raise ValueError(f"{self.name}: adjacency must be a sparse {V} × {V} matrix")
        if self.labels.shape != (V,):
            raise ValueError(f"{self.name}: labels must have shape ({V},)")
        if self.labels.min() < 0 or self.labels.max() >= self.n_classes:
            raise ValueError(f"{self.name}: labels must lie in [0, {self.n_classes})")
        splits = [self.train_index, self.val_index, self.test_index]
        for idx in splits:
            if idx.ndim != 1 or (idx.size and (idx.min() < 0 or idx.max() >= V)):
                raise ValueError(f"{self.name}: split indices must be 1-D node ids in [0, {V})")
        if len(np.intersect1d(self.train_index, self.test_index)) or len(np.intersect1d(self.train_index, self.val_index)):
            raise ValueError(f"{self.name}: train, val and test nodes must be disjoint")

    @property
    def n_nodes(self) -> int:
        """V."""
        return int(self.features.shape[1])


def normalized_adjacency(adjacency: Any, extra_identity: bool = False) -> sp.csr_matrix:
    """Â = (D + I)^{-1/2}(A + I)(D + I)^{-1/2} (self-loops added where missing, as ``gcn_norm``).

    ``extra_identity=True`` returns Â + I, the operator mDLAM's released code propagates with.
    """
    A = sp.csr_matrix(adjacency, dtype=np.float64)
    A = A - sp.diags(A.diagonal()) + sp.identity(A.shape[0], format="csr")
    deg = np.asarray(A.sum(axis=1)).ravel()
    d = sp.diags(1.0 / np.sqrt(deg))
    out = (d @ A @ d).tocsr()
    return (out + sp.identity(A.shape[0], format="csr")).tocsr() if extra_identity else out


def augment_features(
    features: Array, operator: Any, hops: int, order: Literal["ascending", "descending"] = "ascending"
) -> Array:
    """GA-MLP input ``[H; H Â; …; H Â^{hops−1}]`` (``order="descending"`` gives the code's ``[H Â^{K−1}; …; H]``).

    ``features`` (``d × V``) may live in any namespace; ``operator`` is a host scipy.sparse matrix
    (symmetric), applied with :func:`amref.backend.spmm`.
    """
    if isinstance(hops, bool) or not isinstance(hops, int) or hops < 1:
        raise ValueError(f"hops must be a positive integer, got {hops!r}")
    if order not in ("ascending", "descending"):
        raise ValueError(f"order must be 'ascending' or 'descending', got {order!r}")
    from ..backend import namespace

    xp = namespace(features)
    blocks = [features]
    for _ in range(hops - 1):
        blocks.append(spmm(operator, blocks[-1].T).T)  # H Â = (Â Hᵀ)ᵀ since Â is symmetric
    if order == "descending":
        blocks = blocks[::-1]
    return xp.concat(blocks, axis=0)


def graph_dataset(
    graph: Graph,
    *,
    hops: int = 4,
    order: Literal["ascending", "descending"] = "ascending",
    extra_identity: bool = False,
    xp: ModuleType | None = None,
    device: Any = None,
    dtype: str = "float64",
) -> Dataset:
    """GA-MLP :class:`Dataset` of a graph: augmented features, columns of the train/test/val nodes.

    Defaults follow pdADMM-G's paper (K = 4 blocks I, Â, Â², Â³). The released pdADMM-G code is
    ``hops=5, order="descending"``; mDLAM's code adds ``extra_identity=True``.
    The augmentation runs in namespace ``xp`` (features are moved there once).
    """
    xp = get_namespace("numpy") if xp is None else xp
    H = from_host(graph.features, xp, device=device, dtype=dtype)
    X = augment_features(H, normalized_adjacency(graph.adjacency, extra_identity), hops, order)
    Y = from_host(one_hot(graph.labels, graph.n_classes), xp, device=device, dtype=dtype)

    def cols(M: Array, idx: np.ndarray) -> Array:
        return xp.take(M, from_host(idx.astype(np.int64), xp, device=device), axis=1)

    has_val = graph.val_index.size > 0
    info = dict(graph.info, hops=hops, order=order, extra_identity=extra_identity)
    return Dataset(
        graph.name,
        cols(X, graph.train_index), cols(Y, graph.train_index),
        cols(X, graph.test_index), cols(Y, graph.test_index),
        cols(X, graph.val_index) if has_val else None, cols(Y, graph.val_index) if has_val else None,
        info=info,
    )
