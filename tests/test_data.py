"""load_dataset / dataset_names on tiny files, option checking, and the real datasets.

The real-data tests read ``AMREF_DATA_DIR`` only (via ``require_data``) and are skipped without it:
``AMREF_DATA_DIR=../shared/data python -m pytest tests/test_data.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_data
from fake_data import C, D, N_TRAIN, TEST_IDS, fake_mnist, planetoid_arrays, register, write_planetoid

from amref.data import DataError, Dataset, dataset_names, files, load_dataset, load_graph
from amref.data.graph_files import GNN_BENCHMARK, PLANETOID, PLANETOID_PARTS
from amref.data.graphs import augment_features, normalized_adjacency
from amref.data.image_files import IDX_LABELS, MNIST_LIKE, read_idx


def test_dataset_names():
    assert dataset_names() == ("mnist", "fashion-mnist", "digits", "diabetes", "cora", "citeseer", "pubmed",
                               "amazon-computers", "amazon-photo", "coauthor-cs", "coauthor-physics")


def test_packaged_registry_has_exactly_the_files_the_loaders_ask_for():
    wanted = {f"{name}/{stem}-{kind}-idx{k}-ubyte.gz" for name in MNIST_LIKE for stem in ("train", "t10k")
              for kind, k in (("images", 3), ("labels", 1))}
    wanted |= {f"{name}/ind.{name}.{part}" for name in PLANETOID for part in PLANETOID_PARTS}
    wanted |= {f"{name}/{file}" for name, file in GNN_BENCHMARK.items()}
    assert wanted == set(files.REGISTRY)
    assert all(e.url.startswith(("https://", "http://")) and e.url.endswith(name.split("/")[1])
               for name, e in files.REGISTRY.items())


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A data directory with tiny ``mnist`` and ``cora`` folders, registered as the originals."""
    _, paths = fake_mnist(tmp_path)
    features, labels, edges = planetoid_arrays()
    paths += list(write_planetoid(tmp_path, "cora", features=features, labels=labels, n_classes=C, n_train=N_TRAIN,
                                  test_ids=TEST_IDS, edges=edges).values())
    register(monkeypatch, tmp_path, *paths)
    return tmp_path


def test_load_dataset_images(data_dir):
    ds = load_dataset("mnist", data_dir=data_dir, download=False, train_size=5, dtype="float32", downsample=14)
    assert isinstance(ds, Dataset) and ds.x_train.shape == (196, 5) and ds.x_test.shape == (196, 4)
    assert ds.x_train.dtype == np.float32 and ds.x_val is None


def test_load_dataset_graph_passes_augmentation_options(data_dir):
    graph = load_graph("cora", data_dir=data_dir, download=False)
    ds = load_dataset("cora", data_dir=data_dir, download=False, hops=3, order="descending", extra_identity=True)
    assert ds.x_train.shape == (3 * D, N_TRAIN) and ds.x_val.shape == (3 * D, 500) and ds.x_test.shape == (3 * D, 4)
    H = graph.features.astype(np.float64)
    X = augment_features(H, normalized_adjacency(graph.adjacency, extra_identity=True), 3, "descending")
    np.testing.assert_allclose(ds.x_test, X[:, np.sort(TEST_IDS)], rtol=1e-12)
    np.testing.assert_array_equal(np.argmax(ds.y_train, axis=0), graph.labels[:N_TRAIN])
    assert load_dataset("cora", data_dir=data_dir, download=False).n_features == 4 * D


def test_environment_variable_and_precedence(data_dir, monkeypatch, tmp_path_factory):
    monkeypatch.setenv(files.ENV_VAR, str(data_dir))
    assert load_dataset("mnist", download=False).n_train == 7
    empty = tmp_path_factory.mktemp("empty")
    with pytest.raises(DataError, match=f"not in the data directory {empty} \\(from the data_dir argument\\)"):
        load_dataset("mnist", data_dir=empty, download=False)


@pytest.mark.parametrize("name, options, message", [
    ("mnist", dict(hops=5), "hops=5 does not apply to mnist"),
    ("fashion-mnist", dict(split_seed=3), "split_seed=3 does not apply"),
    ("digits", dict(downsample=14), "downsample=14 does not apply to digits"),
    ("digits", dict(order="descending"), "order='descending' does not apply"),
    ("cora", dict(train_size=10), "train_size=10 does not apply to cora"),
    ("cora", dict(downsample=14), "downsample=14 does not apply to cora"),
    ("cora", dict(split_seed=7), "fixed Planetoid public split"),
    ("mnist", dict(dtype="float16"), "dtype must be 'float32' or 'float64'"),
    ("mnist", dict(downsample=7), "downsample must be None or 14"),
    ("mnist", dict(train_size=100), "has 7 train samples"),
    ("cifar10", {}, "unknown dataset 'cifar10'; expected one of mnist, "),
])
def test_load_dataset_rejects_inapplicable_options(data_dir, name, options, message):
    with pytest.raises(DataError, match=message):
        load_dataset(name, data_dir=data_dir, download=False, **options)


def test_load_dataset_digits_needs_no_files(tmp_path):
    ds = load_dataset("digits", data_dir=tmp_path, download=False, train_size=100)
    assert ds.x_train.shape == (64, 100) and ds.x_test.shape == (64, 360)


# ------------------------------------------------------------------------------------------- real data

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]  # SOURCE.md, all 60,000
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_real_mnist():
    root = require_data("mnist")
    ds = load_dataset("mnist", download=False, dtype="float32")
    assert ds.x_train.shape == (784, 55000) and ds.x_test.shape == (784, 10000)
    assert float(ds.x_train.min()) == 0.0 and float(ds.x_train.max()) == 1.0
    np.testing.assert_array_equal(np.argmax(ds.y_train[:, :10], axis=0), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    np.testing.assert_array_equal(np.argmax(ds.y_test[:, :10], axis=0), [7, 2, 1, 0, 4, 1, 4, 9, 5, 9])
    np.testing.assert_array_equal(ds.y_test.sum(axis=1), MNIST_TEST_COUNTS)
    all_train = read_idx(root / "mnist" / "train-labels-idx1-ubyte.gz", IDX_LABELS)
    np.testing.assert_array_equal(np.bincount(all_train), MNIST_TRAIN_COUNTS)
    np.testing.assert_array_equal(ds.y_train.sum(axis=1), np.bincount(all_train[:55000]))  # first 55,000
    small = load_dataset("mnist", download=False, train_size=50, test_size=20, downsample=14)
    assert small.x_train.shape == (196, 50) and small.x_test.shape == (196, 20)


def test_real_fashion_mnist():
    require_data("fashion-mnist")
    ds = load_dataset("fashion-mnist", download=False, dtype="float32")
    assert ds.x_train.shape == (784, 60000) and ds.x_test.shape == (784, 10000)
    np.testing.assert_array_equal(ds.y_train.sum(axis=1), [6000] * 10)
    np.testing.assert_array_equal(ds.y_test.sum(axis=1), [1000] * 10)


@pytest.mark.parametrize("name, nodes, features, classes, split, edges", [
    ("cora", 2708, 1433, 7, (140, 500, 1000), 10556),
    ("citeseer", 3327, 3703, 6, (120, 500, 1000), 9104),
])
def test_real_planetoid(name, nodes, features, classes, split, edges):
    require_data(name)
    g = load_graph(name, download=False)
    assert (g.n_nodes, g.features.shape[0], g.n_classes) == (nodes, features, classes)
    assert (len(g.train_index), len(g.val_index), len(g.test_index)) == split
    assert g.adjacency.nnz == edges  # directed edges after symmetrising (PyG's counts, SOURCE.md)
    assert set(np.unique(g.features)) == {0.0, 1.0}  # binary bag-of-words
    np.testing.assert_array_equal(np.bincount(g.labels[g.train_index], minlength=classes), [20] * classes)
    assert len(g.info["unlabelled_nodes"]) == (15 if name == "citeseer" else 0)


def test_real_cora_dataset():
    require_data("cora")
    ds = load_dataset("cora", download=False, hops=5, order="descending")
    assert (ds.n_features, ds.n_train, ds.n_classes) == (5 * 1433, 140, 7)
    assert ds.x_val.shape[1] == 500 and ds.x_test.shape[1] == 1000


def test_real_pubmed_is_a_clear_missing_file_error_offline():
    require_data("pubmed")
    with pytest.raises(DataError, match=r"pubmed/ind\.pubmed\.allx is not in the data directory .*download=False"):
        load_dataset("pubmed", download=False)


def test_graph_dataset_float32_end_to_end():
    from conftest import require_data

    require_data("cora")
    import amref

    d = amref.load_dataset("cora", dtype="float32")
    assert d.x_train.dtype == d.y_train.dtype == d.x_test.dtype == np.float32
