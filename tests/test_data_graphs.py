"""Planetoid pickles and gnn-benchmark npz (on tiny files written here), the restricted unpickler, and
the torch-compatible random split."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from fake_data import (
    C,
    D,
    N_KNOWN,
    N_TRAIN,
    TEST_IDS,
    OldCSR,
    planetoid_arrays,
    py2_pickle,
    register,
    write_npz,
    write_planetoid,
)

from amref.data.files import DataError
from amref.data.graph_files import (
    _mt19937,
    _unpickle,
    load_graph,
    random_split,
    read_gnn_benchmark,
    read_planetoid,
    torch_randperm,
)

# ------------------------------------------------------------------------------------------- Planetoid

@pytest.fixture
def planetoid(tmp_path):
    features, labels, edges = planetoid_arrays()
    paths = write_planetoid(tmp_path, "cora", features=features, labels=labels, n_classes=C, n_train=N_TRAIN,
                            test_ids=TEST_IDS, edges=edges)
    return paths, features, labels


def test_planetoid_nodes_features_labels(planetoid):
    paths, features, labels = planetoid
    g = read_planetoid("cora", paths)
    n_nodes = N_KNOWN + 6
    assert g.features.shape == (D, n_nodes) and g.n_classes == C and g.labels.shape == (n_nodes,)
    np.testing.assert_array_equal(g.features[:, :N_KNOWN], features[:N_KNOWN].T)
    for row, node in enumerate(TEST_IDS):  # row i of tx/ty is node test.index[i]
        np.testing.assert_array_equal(g.features[:, node], features[N_KNOWN + row])
        assert g.labels[node] == labels[N_KNOWN + row]
    missing = [N_KNOWN + 2, N_KNOWN + 4]  # in the test range but not in test.index: zero rows, no label
    np.testing.assert_array_equal(g.info["unlabelled_nodes"], missing)
    assert not g.features[:, missing].any() and not g.labels[missing].any()


def test_planetoid_public_split(planetoid):
    g = read_planetoid("cora", planetoid[0])
    np.testing.assert_array_equal(g.train_index, np.arange(N_TRAIN))
    np.testing.assert_array_equal(g.val_index, np.arange(N_TRAIN, N_TRAIN + 500))
    np.testing.assert_array_equal(g.test_index, np.sort(TEST_IDS))
    assert not np.isin(g.info["unlabelled_nodes"], np.concatenate([g.train_index, g.val_index, g.test_index])).any()


def test_planetoid_adjacency_symmetric_binary_without_self_loops(planetoid):
    A = read_planetoid("cora", planetoid[0]).adjacency
    edges = {(0, 1), (0, 2), (2, N_KNOWN + 5), (N_KNOWN + 2, 3), (7, 8)}
    expected = {(i, j) for a, b in edges for i, j in ((a, b), (b, a))}
    rows, cols = A.nonzero()
    assert set(zip(rows.tolist(), cols.tolist())) == expected
    assert np.all(A.data == 1) and (A != A.T).nnz == 0 and not A.diagonal().any()


@pytest.mark.parametrize("part, obj, message", [
    ("y", np.eye(C, dtype=np.int32)[[0, 1, 2, 0, 1, 1]], "y is not the first rows of ally"),
    ("ty", np.full((4, C), 1, dtype=np.int32), "label rows must be one-hot"),
    ("tx", sp.csr_matrix(np.ones((4, D + 1))), "different feature counts"),
    ("graph", [1, 2, 3], "expected a dict of adjacency lists"),
    ("x", np.zeros((N_TRAIN, D)), "expected a sparse feature matrix"),
], ids=["y-vs-ally", "not-one-hot", "feature-count", "graph-type", "dense-x"])
def test_planetoid_inconsistent_files(planetoid, part, obj, message):
    paths = planetoid[0]
    if sp.issparse(obj):
        obj = OldCSR(obj)
    paths[part].write_bytes(py2_pickle(obj))
    with pytest.raises(DataError, match=message):
        read_planetoid("cora", paths)


def test_planetoid_bad_test_index_and_graph_ids(planetoid):
    paths = planetoid[0]
    paths["test.index"].write_text("12\nthirteen\n")
    with pytest.raises(DataError, match="one integer node id per line"):
        read_planetoid("cora", paths)
    paths["test.index"].write_text("".join(f"{i}\n" for i in TEST_IDS))
    paths["graph"].write_bytes(py2_pickle({0: [N_KNOWN + 99]}))
    with pytest.raises(DataError, match=r"node ids outside \[0, 516\)"):
        read_planetoid("cora", paths)


def test_restricted_unpickler_refuses_other_globals_and_garbage(tmp_path):
    path = tmp_path / "evil"
    path.write_bytes(b"cos\nsystem\n(S'echo pwned'\ntR.")  # os.system("echo pwned") if unrestricted
    with pytest.raises(DataError, match="refusing to load os.system"):
        _unpickle(path)
    path.write_bytes(pickle.dumps(np.float64(1.0), protocol=2))  # numpy scalars are not in the files
    with pytest.raises(DataError, match="refusing to load"):
        _unpickle(path)
    path.write_bytes(py2_pickle(np.arange(40, dtype=np.int32))[:50])  # truncated
    with pytest.raises(DataError, match="is not a valid Planetoid pickle"):
        _unpickle(path)
    path.write_bytes(b"\x00garbage")
    with pytest.raises(DataError, match="is not a valid Planetoid pickle"):
        _unpickle(path)


def test_load_graph_planetoid_through_the_registry(planetoid, tmp_path, monkeypatch):
    paths = planetoid[0]
    register(monkeypatch, tmp_path, *paths.values())
    g = load_graph("cora", data_dir=tmp_path, download=False)
    assert g.name == "cora" and g.n_nodes == N_KNOWN + 6
    with pytest.raises(DataError, match="fixed Planetoid public split"):
        load_graph("cora", data_dir=tmp_path, download=False, split_seed=1)
    paths["ally"].write_bytes(paths["ally"].read_bytes()[:-1])
    with pytest.raises(DataError, match="does not match its registered checksum"):
        load_graph("cora", data_dir=tmp_path, download=False)
    with pytest.raises(DataError, match="unknown graph dataset 'corra'"):
        load_graph("corra")


# ------------------------------------------------------------------------------------ gnn-benchmark npz


def npz_graph(n_nodes=2100, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, n_nodes, 3000)
    cols = rng.integers(0, n_nodes, 3000)
    rows[:3], cols[:3] = [0, 0, 5], [0, 9, 9]  # a self-loop; 0→9 and 5→9 stored one way only
    adjacency = sp.csr_matrix((np.ones(3000), (rows, cols)), shape=(n_nodes, n_nodes))
    attributes = sp.random(n_nodes, 4, density=0.5, random_state=seed, format="csr") * 3  # counts, not 0/1
    labels = rng.integers(0, n_classes, n_nodes)
    return adjacency, attributes, labels


def test_npz_graph_is_read_as_pyg_does(tmp_path):
    adjacency, attributes, labels = npz_graph()
    path = write_npz(tmp_path / "g.npz", adjacency=adjacency, attributes=attributes, labels=labels,
                     class_names=np.array(["a", "b", "c"], dtype=object))  # object arrays are never read
    g = read_gnn_benchmark("amazon-photo", path)
    np.testing.assert_array_equal(g.features, (attributes.T.toarray() > 0).astype(np.float32))
    np.testing.assert_array_equal(g.labels, labels)
    assert g.n_classes == 3 and g.features.dtype == np.float32
    A = g.adjacency
    expected = ((adjacency + adjacency.T) > 0).astype(float).tolil()
    expected.setdiag(0)
    assert (A != expected.tocsr()).nnz == 0 and np.all(A.data == 1)
    assert A[9, 0] == 1 and A[0, 0] == 0


def test_npz_split_sizes_per_class_and_seed(tmp_path):
    adjacency, attributes, labels = npz_graph()
    path = write_npz(tmp_path / "g.npz", adjacency=adjacency, attributes=attributes, labels=labels)
    g = read_gnn_benchmark("coauthor-cs", path)
    np.testing.assert_array_equal(np.bincount(g.labels[g.train_index]), [20, 20, 20])
    assert len(g.val_index) == len(g.test_index) == 1000
    everything = np.concatenate([g.train_index, g.val_index, g.test_index])
    assert len(np.unique(everything)) == 2060
    for idx in (g.train_index, g.val_index, g.test_index):
        assert np.all(np.diff(idx) > 0)  # sorted: the reference selects with boolean masks
    again = read_gnn_benchmark("coauthor-cs", path)
    other = read_gnn_benchmark("coauthor-cs", path, split_seed=101)
    np.testing.assert_array_equal(g.test_index, again.test_index)
    assert not np.array_equal(g.test_index, other.test_index)
    assert g.info["split_seed"] == 100


def test_random_split_follows_the_reference_procedure():
    labels = np.array([0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0])
    train, val, test = random_split(labels, 2, seed=0, n_per_class=2, n_test=3, n_val=4)
    class0, class1 = np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)  # 7 and 5 nodes
    # per class: idx_c[randperm(n_c)[:2]] after manual_seed(0); then the rest permuted after manual_seed(0)
    expected_train = np.sort(np.concatenate([class0[torch_randperm(7, 0)[:2]], class1[torch_randperm(5, 0)[:2]]]))
    np.testing.assert_array_equal(train, expected_train)
    rest = np.setdiff1d(np.arange(12), expected_train)[torch_randperm(8, 0)]
    np.testing.assert_array_equal(test, np.sort(rest[:3]))
    np.testing.assert_array_equal(val, np.sort(rest[3:7]))
    with pytest.raises(DataError, match="only 8 nodes are left"):
        random_split(labels, 2, seed=0, n_per_class=2, n_test=5, n_val=4)


def test_torch_randperm_matches_pytorch():
    # std::mt19937 (hence torch's engine) after seeding 5489: the 10000th output is 4123659995 (C++ standard)
    assert _mt19937(5489).random_raw(10000)[-1] == 4123659995
    # values printed by torch.manual_seed(s); torch.randperm(10) on the CPU
    assert torch_randperm(10, 0).tolist() == [4, 1, 7, 5, 3, 9, 0, 8, 6, 2]
    assert torch_randperm(10, 1).tolist() == [5, 6, 1, 2, 0, 8, 9, 3, 7, 4]
    assert torch_randperm(10, 42).tolist() == [2, 6, 1, 8, 4, 5, 0, 9, 3, 7]
    assert torch_randperm(0, 0).size == 0 and torch_randperm(1, 0).tolist() == [0]
    for bad in (-1, 2**32, 1.5, True):
        with pytest.raises(DataError, match="split_seed"):
            torch_randperm(5, bad)


@pytest.mark.parametrize("change, message", [
    (dict(drop="labels"), "lacks the arrays labels"),
    (dict(labels=np.zeros(5, dtype=np.int64)), "labels must be 2100 non-negative integers"),
    (dict(adj_indptr=np.zeros(3, dtype=np.int32)), "not a valid gnn-benchmark npz"),
], ids=["missing-key", "label-count", "bad-csr"])
def test_npz_malformed(tmp_path, change, message):
    adjacency, attributes, labels = npz_graph()
    path = write_npz(tmp_path / "g.npz", adjacency=adjacency, attributes=attributes, labels=labels)
    with np.load(path) as f:
        arrays = dict(f)
    arrays.pop(change.pop("drop", None), None)
    arrays.update(change)
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(DataError, match=message):
        read_gnn_benchmark("amazon-photo", path)


def test_npz_garbage_and_truncated(tmp_path):
    path = tmp_path / "g.npz"
    path.write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="not a valid gnn-benchmark npz"):
        read_gnn_benchmark("amazon-photo", path)
    adjacency, attributes, labels = npz_graph()
    write_npz(path, adjacency=adjacency, attributes=attributes, labels=labels)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(DataError, match="not a valid gnn-benchmark npz"):
        read_gnn_benchmark("amazon-photo", path)
