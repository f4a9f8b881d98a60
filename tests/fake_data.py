"""Writers for tiny dataset files in the exact on-disk formats the loaders read (tests only).

* :func:`write_idx_gz` — gzip-compressed IDX (MNIST / Fashion-MNIST).
* :func:`write_planetoid` — the eight ``ind.<name>.*`` files, pickled as Python 2 wrote them: protocol 2,
  ``numpy.core.multiarray._reconstruct`` / ``scipy.sparse.csr.csr_matrix`` / ``__builtin__.list``
  globals, byte strings as ``BINSTRING`` (see :class:`Py2Pickler`).
* :func:`write_npz` — a gnn-benchmark ``.npz`` with CSR components.
* :func:`fake_mnist`, :func:`planetoid_arrays` — small random contents for those formats.
* :func:`register` — put files' sha256 into the loaders' registry (``monkeypatch``), as if they were the
  originals.
"""

from __future__ import annotations

import collections
import copyreg
import gzip
import io
import pathlib
import pickle
import struct

import numpy as np
import scipy.sparse as sp

from amref.data import files


def write_idx_gz(path: pathlib.Path, array: np.ndarray, magic: int | None = None) -> pathlib.Path:
    """Write a uint8 array as gzip-compressed IDX (magic = 0x0800 + ndim unless given)."""
    array = np.asarray(array, dtype=np.uint8)
    magic = 0x0800 + array.ndim if magic is None else magic
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(header + array.tobytes()))
    return path


class OldCSR:
    """Pickles like a scipy ``csr_matrix`` pickled by Python 2 scipy (``__dict__`` state, NEWOBJ)."""

    def __init__(self, m: sp.csr_matrix):
        self.__dict__.update(format="csr", _shape=m.shape, indptr=m.indptr.astype(np.int32),
                             indices=m.indices.astype(np.int32), data=m.data.astype(np.float32), maxprint=50)

    def __reduce_ex__(self, protocol):
        return copyreg.__newobj__, (OldCSR,), self.__dict__


_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]
_PY2_GLOBALS = {
    _RECONSTRUCT: ("numpy.core.multiarray", "_reconstruct"),
    np.ndarray: ("numpy", "ndarray"),
    np.dtype: ("numpy", "dtype"),
    OldCSR: ("scipy.sparse.csr", "csr_matrix"),
    collections.defaultdict: ("collections", "defaultdict"),
    list: ("__builtin__", "list"),
}


class Py2Pickler(pickle._Pickler):
    """Protocol-2 pickler writing Python 2's global names and its ``str`` opcodes (BINSTRING)."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_global(self, obj, name=None):
        module, qualname = _PY2_GLOBALS[obj]
        self.write(pickle.GLOBAL + f"{module}\n{qualname}\n".encode())
        self.memoize(obj)

    def _binstring(self, raw: bytes) -> None:
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)

    def save_bytes(self, obj):
        self._binstring(obj)
        self.memoize(obj)

    def save_str(self, obj):
        self._binstring(obj.encode("latin1"))
        self.memoize(obj)

    def save_type(self, obj):
        return self.save_global(obj)

    dispatch[bytes] = save_bytes
    dispatch[str] = save_str
    dispatch[type] = save_type


def py2_pickle(obj) -> bytes:
    """``obj`` pickled as Python 2 (numpy, scipy, defaultdict) pickled it."""
    buffer = io.BytesIO()
    Py2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def write_planetoid(root: pathlib.Path, name: str, *, features: np.ndarray, labels: np.ndarray, n_classes: int,
                    n_train: int, test_ids: np.ndarray, edges: dict[int, list[int]]) -> dict[str, pathlib.Path]:
    """Write ``ind.<name>.*`` under ``root/name`` for nodes ``0 … n_known−1`` (features/labels rows) and
    ``test_ids`` (rows of tx/ty in the order given, taken from ``features[len(ally) + i]``).

    ``features`` is ``(n_known + len(test_ids)) × d``: first the allx rows, then the tx rows.
    """
    n_test = len(test_ids)
    n_known = features.shape[0] - n_test
    onehot = np.eye(n_classes, dtype=np.int32)[labels]
    csr = sp.csr_matrix(features.astype(np.float32))
    parts = {
        "x": OldCSR(csr[:n_train]), "y": onehot[:n_train],
        "allx": OldCSR(csr[:n_known]), "ally": onehot[:n_known],
        "tx": OldCSR(csr[n_known:]), "ty": onehot[n_known:],
        "graph": collections.defaultdict(list, {k: list(v) for k, v in edges.items()}),
    }
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for part, obj in parts.items():
        paths[part] = folder / f"ind.{name}.{part}"
        paths[part].write_bytes(py2_pickle(obj))
    paths["test.index"] = folder / f"ind.{name}.test.index"
    paths["test.index"].write_text("".join(f"{i}\n" for i in test_ids))
    return paths


def write_npz(path: pathlib.Path, *, adjacency: sp.spmatrix, attributes: sp.spmatrix, labels: np.ndarray,
              **extra) -> pathlib.Path:
    """A gnn-benchmark npz: CSR components of adjacency and attributes, labels (and ``extra`` arrays)."""
    A, X = sp.csr_matrix(adjacency, dtype=np.float32), sp.csr_matrix(attributes, dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:  # an open file keeps np.savez from appending ".npz"
        np.savez(f, adj_data=A.data, adj_indices=A.indices, adj_indptr=A.indptr, adj_shape=np.array(A.shape),
                 attr_data=X.data, attr_indices=X.indices, attr_indptr=X.indptr, attr_shape=np.array(X.shape),
                 labels=np.asarray(labels), **extra)
    return path


def fake_mnist(root, name="mnist", n_train=7, n_test=4, seed=0):
    """Random images / labels written as ``root/name``'s four IDX files: ``(arrays, paths)``."""
    rng = np.random.default_rng(seed)
    arrays = {stem: (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8))
              for stem, n in (("train", n_train), ("t10k", n_test))}
    paths = []
    for stem, (images, labels) in arrays.items():
        paths.append(write_idx_gz(root / name / f"{stem}-images-idx3-ubyte.gz", images))
        paths.append(write_idx_gz(root / name / f"{stem}-labels-idx1-ubyte.gz", labels))
    return arrays, paths


N_TRAIN, N_KNOWN, D, C = 6, 500 + 10, 5, 3  # allx must hold train + 500 validation nodes
TEST_IDS = np.array([N_KNOWN + 3, N_KNOWN, N_KNOWN + 5, N_KNOWN + 1])  # file order; N_KNOWN+2, +4 missing


def planetoid_arrays(seed=0):
    """Rows of allx then tx (``N_KNOWN + len(TEST_IDS)`` × D), labels, and adjacency lists with a
    duplicate, a self-loop and one-way edges."""
    rng = np.random.default_rng(seed)
    n_rows = N_KNOWN + len(TEST_IDS)
    features = (rng.random((n_rows, D)) < 0.4).astype(np.float32)
    labels = rng.integers(0, C, n_rows)
    labels[:N_TRAIN] = np.arange(N_TRAIN) % C
    edges = {0: [1, 1, 2, 0], 2: [N_KNOWN + 5], N_KNOWN + 2: [3], 7: [8], 8: [7]}  # duplicate, self-loop, one-way
    return features, labels, edges


def register(monkeypatch, root: pathlib.Path, *paths: pathlib.Path) -> None:
    """Record the current sha256 of ``paths`` (under ``root``) in the loaders' registry for this test."""
    for path in paths:
        name = path.relative_to(root).as_posix()
        entry = files.FileEntry(files.sha256sum(path), f"http://127.0.0.1:9/{name}")  # the URL is never used
        monkeypatch.setitem(files.REGISTRY, name, entry)
