"""Graph datasets from their original files: Planetoid (Cora, Citeseer, PubMed) and gnn-benchmark npz
(Amazon Computers / Photo, Coauthor CS / Physics), returned as raw :class:`~amref.data.graphs.Graph` objects.

Planetoid (``ind.<name>.{x,y,tx,ty,allx,ally,graph,test.index}``)
    Python 2 pickles of scipy CSR matrices (x, tx, allx), one-hot NumPy arrays (y, ty, ally) and a
    ``defaultdict`` of adjacency lists (graph); ``test.index`` is text, one node id per line. They are read
    with a restricted unpickler that only builds NumPy arrays, dtypes, CSR matrices (rebuilt from their
    arrays, so old and new scipy versions read them alike) and the dict of lists. Node ``i < len(allx)``
    is row i of allx/ally; node ``test.index[i]`` is row i of tx/ty. The ids in the test range that
    test.index leaves out (15 in Citeseer) get zero features and no label, as in Kipf's ``load_data``
    and PyG; they are in no split (their ``labels`` entry is 0, listed in ``info["unlabelled_nodes"]``).
    Public split (GCN, PyG ``split="public"``, used by mDLAM and pdADMM-G): train = the first ``len(y)``
    nodes (140 / 120 / 60), val = the next 500, test = the ``test.index`` nodes. Features as stored
    (binary bag-of-words for Cora and Citeseer, TF-IDF for PubMed).

gnn-benchmark npz (``shchur/gnn-benchmark``)
    CSR components ``adj_*`` and ``attr_*`` and a ``labels`` vector. Read as PyG's ``Amazon`` /
    ``Coauthor`` read them, which is what the papers' code used: features binarised (``x > 0 → 1``), the
    **full** graph (no largest-connected-component restriction — the node counts in pdADMM-G's Table II
    are LCC counts, its code does not restrict). Split of pdADMM-G's ``split_dataset`` (mDLAM's Coauthor
    CS split is the same without the validation part): for each class ``c`` in turn, 20 nodes
    ``idx_c[randperm(n_c)[:20]]`` after ``torch.manual_seed(100)``; then the remaining nodes (ascending)
    are permuted after ``torch.manual_seed(100)`` again, test = the first 1,000, val = the next 1,000.
    :func:`torch_randperm` reproduces ``torch.randperm`` on the CPU exactly (same MT19937 stream and
    Fisher–Yates loop), so ``split_seed=100`` gives the authors' nodes.

Every graph: adjacency symmetrised, 0/1, without self-loops; split indices sorted ascending (boolean
masks in the reference code keep node order).
"""

from __future__ import annotations

import collections
import os
import pathlib
import pickle
import zipfile
from typing import Any

import numpy as np
import scipy.sparse as sp

from .files import DataError, fetch
from .graphs import Graph

__all__ = [
    "DEFAULT_SPLIT_SEED",
    "GNN_BENCHMARK",
    "GRAPH_NAMES",
    "NPZ_KEYS",
    "PLANETOID",
    "PLANETOID_PARTS",
    "clean_adjacency",
    "load_graph",
    "random_split",
    "read_gnn_benchmark",
    "read_planetoid",
    "torch_randperm",
]

PLANETOID = ("cora", "citeseer", "pubmed")
PLANETOID_PARTS = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")

GNN_BENCHMARK = {
    "amazon-computers": "amazon_electronics_computers.npz",
    "amazon-photo": "amazon_electronics_photo.npz",
    "coauthor-cs": "ms_academic_cs.npz",
    "coauthor-physics": "ms_academic_phy.npz",
}

GRAPH_NAMES = PLANETOID + tuple(GNN_BENCHMARK)

DEFAULT_SPLIT_SEED = 100
"""``torch.manual_seed`` value of pdADMM-G's and mDLAM's random splits."""

N_TRAIN_PER_CLASS, N_TEST, N_VAL, N_VAL_PLANETOID = 20, 1000, 1000, 500


# --------------------------------------------------------------------------------------------- Planetoid


class _PickledCSR:
    """Stand-in for a pickled ``scipy.sparse.csr_matrix``: receives its ``__dict__``, nothing else."""


def _np_reconstruct() -> Any:
    return np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's _reconstruct, wherever this version keeps it


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _np_reconstruct(),
    ("numpy._core.multiarray", "_reconstruct"): _np_reconstruct(),
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("scipy.sparse.csr", "csr_matrix"): _PickledCSR,
    ("scipy.sparse._csr", "csr_matrix"): _PickledCSR,
    ("collections", "defaultdict"): collections.defaultdict,
    ("__builtin__", "list"): list,
    ("builtins", "list"): list,
}


class _PlanetoidUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals the Planetoid files use (see ``_ALLOWED``)."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[module, name]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}") from None


def _unpickle(path: pathlib.Path) -> Any:
    try:
        with open(path, "rb") as f:
            obj = _PlanetoidUnpickler(f, encoding="latin1").load()
    except Exception as exc:  # any malformed pickle: truncated, garbage, forbidden global
        raise DataError(f"{path} is not a valid Planetoid pickle ({type(exc).__name__}: {exc})") from exc
    if isinstance(obj, _PickledCSR):
        return _csr_from_state(path, vars(obj))
    return obj


def _csr_from_state(path: pathlib.Path, state: dict) -> sp.csr_matrix:
    try:
        shape = tuple(int(n) for n in state["_shape"])
        return sp.csr_matrix((state["data"], state["indices"], state["indptr"]), shape=shape)
    except Exception as exc:
        raise DataError(f"{path}: not a valid pickled CSR matrix ({type(exc).__name__}: {exc})") from exc


def _sparse(path: pathlib.Path, obj: Any) -> sp.csr_matrix:
    if not sp.issparse(obj):
        raise DataError(f"{path}: expected a sparse feature matrix, got {type(obj).__name__}")
    return obj


def _one_hot_rows(path: pathlib.Path, obj: Any) -> tuple[np.ndarray, int]:
    """Class ids and class count C of a one-hot ``N × C`` label array (every row exactly one 1)."""
    if not isinstance(obj, np.ndarray) or obj.ndim != 2 or obj.dtype == object:
        raise DataError(f"{path}: expected a 2-D one-hot label array, got {type(obj).__name__}")
    if not (np.all((obj == 0) | (obj == 1)) and np.all(obj.sum(axis=1) == 1)):
        raise DataError(f"{path}: label rows must be one-hot")
    return np.argmax(obj, axis=1), obj.shape[1]


def _test_index(path: pathlib.Path) -> np.ndarray:
    try:
        ids = np.array([int(line) for line in path.read_text(encoding="ascii").split()], dtype=np.int64)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: expected one integer node id per line ({exc})") from exc
    if ids.size == 0 or len(np.unique(ids)) != ids.size:
        raise DataError(f"{path}: test ids must be a non-empty list without repeats")
    return ids


def clean_adjacency(rows: np.ndarray, cols: np.ndarray, n_nodes: int) -> sp.csr_matrix:
    """Symmetric 0/1 CSR adjacency of the edges ``rows[k] — cols[k]``, without self-loops or duplicates."""
    keep = rows != cols
    rows, cols = rows[keep], cols[keep]
    A = sp.csr_matrix((np.ones(2 * rows.size), (np.concatenate([rows, cols]), np.concatenate([cols, rows]))),
                      shape=(n_nodes, n_nodes))
    A.sum_duplicates()
    A.data[:] = 1.0
    return A


def read_planetoid(name: str, paths: dict[str, pathlib.Path]) -> Graph:
    """Build a Planetoid :class:`Graph` with the public split from its eight files.

    Parameters
    ----------
    name : str
        Dataset name (``"cora"``, ``"citeseer"``, ``"pubmed"``), used for messages and the Graph name.
    paths : dict
        Part (``"x"``, ``"y"``, ``"tx"``, ``"ty"``, ``"allx"``, ``"ally"``, ``"graph"``, ``"test.index"``)
        → file path.

    Raises
    ------
    DataError
        If a file is malformed or the files disagree with each other.
    """
    x, tx, allx = (_sparse(paths[p], _unpickle(paths[p])) for p in ("x", "tx", "allx"))
    (y, c_y), (ty, c_ty), (ally, c_ally) = (_one_hot_rows(paths[p], _unpickle(paths[p])) for p in ("y", "ty", "ally"))
    adjacency_lists = _unpickle(paths["graph"])
    test_ids = _test_index(paths["test.index"])

    def check(ok: bool, message: str) -> None:
        if not ok:
            raise DataError(f"{name}: {message}")

    check(x.shape[1] == tx.shape[1] == allx.shape[1], "x, tx and allx have different feature counts")
    check(c_y == c_ty == c_ally, "y, ty and ally have different class counts")
    check(x.shape[0] == len(y) and tx.shape[0] == len(ty) and allx.shape[0] == len(ally),
          "feature and label files have different row counts")
    check(len(test_ids) == len(ty), f"test.index lists {len(test_ids)} ids for {len(ty)} rows of tx/ty")
    n_known = len(ally)
    check(len(y) + N_VAL_PLANETOID <= n_known, f"allx has {n_known} rows, fewer than train + 500 validation nodes")
    check(np.array_equal(y, ally[: len(y)]), "y is not the first rows of ally")
    check(int(test_ids.min()) == n_known, f"test ids must start right after the {n_known} allx nodes")
    n_nodes = int(test_ids.max()) + 1  # the test range may have gaps (Citeseer): zero rows, as in PyG

    features = np.zeros((allx.shape[1], n_nodes), dtype=np.result_type(allx.dtype, tx.dtype))
    features[:, :n_known] = allx.T.toarray()
    features[:, test_ids] = tx.T.toarray()
    labels = np.zeros(n_nodes, dtype=np.int64)
    labels[:n_known] = ally
    labels[test_ids] = ty
    unlabelled = np.setdiff1d(np.arange(n_known, n_nodes), test_ids)

    if not isinstance(adjacency_lists, dict):
        raise DataError(f"{paths['graph']}: expected a dict of adjacency lists, got {type(adjacency_lists).__name__}")
    try:
        rows = np.array([node for node, neighbours in adjacency_lists.items() for _ in neighbours], dtype=np.int64)
        cols = np.array([n for neighbours in adjacency_lists.values() for n in neighbours], dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{paths['graph']}: adjacency lists must map node ids to lists of node ids ({exc})") from exc
    check(rows.size == 0 or (min(rows.min(), cols.min()) >= 0 and max(rows.max(), cols.max()) < n_nodes),
          f"graph refers to node ids outside [0, {n_nodes})")

    train = np.arange(len(y))
    return Graph(
        name,
        features,
        clean_adjacency(rows, cols, n_nodes),
        labels,
        c_y,
        train,
        np.arange(len(y), len(y) + N_VAL_PLANETOID),
        np.sort(test_ids),
        info={
            "files": [str(paths[p]) for p in PLANETOID_PARTS],
            "format": "planetoid",
            "split": f"Planetoid public split: train = first {len(y)} nodes, val = next {N_VAL_PLANETOID}, "
                     f"test = the {len(test_ids)} test.index nodes",
            "unlabelled_nodes": unlabelled,
        },
    )


# ------------------------------------------------------------------------------------ gnn-benchmark npz


NPZ_KEYS = ("adj_data", "adj_indices", "adj_indptr", "adj_shape", "attr_data", "attr_indices", "attr_indptr",
            "attr_shape", "labels")


def read_gnn_benchmark(name: str, path: str | os.PathLike, split_seed: int = DEFAULT_SPLIT_SEED) -> Graph:
    """Build a :class:`Graph` from a gnn-benchmark ``.npz`` file, as PyG reads it, with pdADMM-G's split.

    Parameters
    ----------
    name : str
        Dataset name for messages and the Graph.
    path : path-like
        The ``.npz`` file.
    split_seed : int
        Seed of :func:`random_split` (the reference code's ``torch.manual_seed(100)``).

    Raises
    ------
    DataError
        If the file is not a valid npz of the expected layout.
    """
    path = pathlib.Path(path)
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as f:  # our handle: closed on any error
            missing = [k for k in NPZ_KEYS if k not in f.files]
            if missing:
                raise DataError(f"{path}: npz lacks the arrays {', '.join(missing)}")
            a = {k: f[k] for k in NPZ_KEYS}
        adjacency, attributes = (
            sp.csr_matrix((a[f"{m}_data"], a[f"{m}_indices"], a[f"{m}_indptr"]), shape=tuple(a[f"{m}_shape"]))
            for m in ("adj", "attr"))
    except DataError:
        raise
    except (OSError, ValueError, TypeError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path} is not a valid gnn-benchmark npz ({type(exc).__name__}: {exc})") from exc
    n_nodes = adjacency.shape[0]
    labels = a["labels"]
    if adjacency.shape != (n_nodes, n_nodes) or attributes.shape[0] != n_nodes:
        raise DataError(f"{path}: adjacency {adjacency.shape} and attributes {attributes.shape} do not match")
    if labels.shape != (n_nodes,) or not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
        raise DataError(f"{path}: labels must be {n_nodes} non-negative integers")
    attributes.data = np.where(attributes.data > 0, 1, attributes.data).astype(np.float32)  # PyG: x[x > 0] = 1
    coo = adjacency.tocoo()
    labels = labels.astype(np.int64)
    n_classes = int(labels.max()) + 1
    train, val, test = random_split(labels, n_classes, split_seed)
    return Graph(
        name,
        attributes.T.toarray(),
        clean_adjacency(coo.row.astype(np.int64), coo.col.astype(np.int64), n_nodes),
        labels,
        n_classes,
        train,
        val,
        test,
        info={
            "files": [str(path)],
            "format": "gnn-benchmark npz",
            "features": "binarised (x > 0 → 1), as PyG's Amazon/Coauthor",
            "split": f"{N_TRAIN_PER_CLASS} train nodes per class, {N_TEST} test, {N_VAL} val "
                     f"(pdADMM-G split_dataset, torch-compatible randperm, seed {split_seed})",
            "split_seed": split_seed,
        },
    )


def _mt19937(seed: int) -> np.random.MT19937:
    """NumPy MT19937 in the state ``torch.manual_seed(seed)`` gives torch's CPU generator (init_genrand)."""
    key = np.empty(624, dtype=np.uint32)
    value = seed
    for j in range(624):
        key[j] = value
        value = (1812433253 * (value ^ (value >> 30)) + j + 1) & 0xFFFFFFFF
    bits = np.random.MT19937()
    bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": 624}}
    return bits


def torch_randperm(n: int, seed: int) -> np.ndarray:
    """``torch.manual_seed(seed); torch.randperm(n)`` (CPU), reproduced in NumPy.

    PyTorch's CPU ``randperm`` (``aten/src/ATen/native/TensorFactories.cpp``, ``randperm_cpu``, n below
    2³²/20) swaps ``r[i]`` with ``r[i + random() % (n − i)]`` for ``i = 0 … n−2``, where ``random()`` is
    the next 32-bit output of its MT19937 engine, seeded by ``manual_seed`` with the standard
    ``init_genrand``. NumPy's :class:`numpy.random.MT19937` produces the same 32-bit stream from the same
    state.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise DataError(f"split_seed must be an integer in [0, 2**32), got {seed!r}")
    raw = _mt19937(int(seed)).random_raw(max(n - 1, 0)).tolist()
    perm = list(range(n))
    for i in range(n - 1):
        z = i + raw[i] % (n - i)
        perm[i], perm[z] = perm[z], perm[i]
    return np.array(perm, dtype=np.int64)


def random_split(labels: np.ndarray, n_classes: int, seed: int = DEFAULT_SPLIT_SEED,
                 n_per_class: int = N_TRAIN_PER_CLASS, n_test: int = N_TEST, n_val: int = N_VAL
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pdADMM-G's ``split_dataset``: ``n_per_class`` train nodes per class, then ``n_test`` test and
    ``n_val`` validation nodes from the rest, each draw after re-seeding with ``seed``.

    Returns sorted ``(train, val, test)`` node ids.
    """
    is_train = np.zeros(labels.size, dtype=bool)
    for c in range(n_classes):
        idx = np.flatnonzero(labels == c)
        is_train[idx[torch_randperm(idx.size, seed)[:n_per_class]]] = True
    remaining = np.flatnonzero(~is_train)
    if remaining.size < n_test + n_val:
        raise DataError(f"only {remaining.size} nodes are left for {n_test} test and {n_val} validation nodes")
    remaining = remaining[torch_randperm(remaining.size, seed)]
    return np.flatnonzero(is_train), np.sort(remaining[n_test:n_test + n_val]), np.sort(remaining[:n_test])


# --------------------------------------------------------------------------------------------- load_graph


def load_graph(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    split_seed: int = DEFAULT_SPLIT_SEED,
) -> Graph:
    """A node-classification graph with its standard split, read from the data directory.

    Parameters
    ----------
    name : str
        ``"cora"``, ``"citeseer"``, ``"pubmed"`` (Planetoid public split) or ``"amazon-computers"``,
        ``"amazon-photo"``, ``"coauthor-cs"``, ``"coauthor-physics"`` (gnn-benchmark npz, random split).
    data_dir, download
        See :func:`amref.data.files.fetch` (directory layout in :mod:`amref.data.loaders`).
    split_seed : int
        Seed of the random split of the npz datasets (default 100, the papers' ``torch.manual_seed(100)``,
        reproduced exactly). The Planetoid split is fixed, so there it must stay at its default.

    Returns
    -------
    Graph
        Host arrays: features ``d × V``, symmetric 0/1 adjacency without self-loops, labels, split ids.

    Raises
    ------
    DataError
        For an unknown name, an inapplicable ``split_seed``, or a missing / corrupt / malformed file.
    """
    if name in PLANETOID:
        if split_seed != DEFAULT_SPLIT_SEED:
            raise DataError(f"{name} uses the fixed Planetoid public split; split_seed applies only to "
                            f"{', '.join(GNN_BENCHMARK)}")
        paths = {p: fetch(f"{name}/ind.{name}.{p}", data_dir=data_dir, download=download) for p in PLANETOID_PARTS}
        return read_planetoid(name, paths)
    if name in GNN_BENCHMARK:
        path = fetch(f"{name}/{GNN_BENCHMARK[name]}", data_dir=data_dir, download=download)
        return read_gnn_benchmark(name, path, split_seed)
    raise DataError(f"unknown graph dataset {name!r}; expected one of {', '.join(GRAPH_NAMES)}")
