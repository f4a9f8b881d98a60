"""IDX parsing, MNIST-like loaders (on tiny files written here) and scikit-learn's digits."""

from __future__ import annotations

import gzip
import sys

import numpy as np
import pytest
from fake_data import fake_mnist, register, write_idx_gz
from scipy import ndimage

import amref
from amref.data import image_files
from amref.data.files import DataError
from amref.data.image_files import IDX_IMAGES, IDX_LABELS, load_digits, load_mnist_like, read_idx


@pytest.fixture
def mnist_dir(tmp_path, monkeypatch):
    arrays, paths = fake_mnist(tmp_path)
    register(monkeypatch, tmp_path, *paths)
    return tmp_path, arrays


# ------------------------------------------------------------------------------------------------- IDX


def test_read_idx_round_trip(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint32).reshape(2, 28, 28).astype(np.uint8)
    labels = np.array([3, 9, 0], dtype=np.uint8)
    assert np.array_equal(read_idx(write_idx_gz(tmp_path / "i.gz", images), IDX_IMAGES), images)
    assert np.array_equal(read_idx(write_idx_gz(tmp_path / "l.gz", labels), IDX_LABELS), labels)


def _good_idx() -> bytes:
    return (0x0803).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (2, 28, 28)) + bytes(2 * 784)


@pytest.mark.parametrize("raw, message", [
    (b"this is not gzip at all", "not a readable gzip file"),
    (gzip.compress(_good_idx())[:-12], "not a readable gzip file"),  # truncated stream
    (gzip.compress(b""), "header is truncated"),
    (gzip.compress(_good_idx()[:10]), "header is truncated"),
    (gzip.compress((0x0801).to_bytes(4, "big") + bytes(8)), "magic number is 2049, expected 2051"),
    (gzip.compress(_good_idx()[:-1]), r"announces shape \(2, 28, 28\) \(1584 bytes\) but the file holds 1583"),
    (gzip.compress(_good_idx() + b"\0"), "but the file holds 1585"),
], ids=["not-gzip", "truncated-gzip", "empty", "short-header", "wrong-magic", "short-data", "long-data"])
def test_read_idx_rejects_bad_files(tmp_path, raw, message):
    path = tmp_path / "bad.gz"
    path.write_bytes(raw)
    with pytest.raises(DataError, match=message) as info:
        read_idx(path, IDX_IMAGES)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------------------------------------ MNIST-like loader


def test_mnist_loader_layout_scaling_and_labels(mnist_dir):
    root, arrays = mnist_dir
    ds = load_mnist_like("mnist", data_dir=root, download=False)
    images, labels = arrays["train"]
    assert ds.x_train.shape == (784, 7) and ds.x_test.shape == (784, 4) and ds.x_train.dtype == np.float64
    assert ds.x_train.flags.c_contiguous
    np.testing.assert_array_equal(ds.x_train[:, 2], images[2].ravel() / 255.0)  # column = one image, row-major
    np.testing.assert_array_equal(np.argmax(ds.y_train, axis=0), labels)
    np.testing.assert_array_equal(np.argmax(ds.y_test, axis=0), arrays["t10k"][1])
    assert ds.n_classes == 10 and len(ds.info["files"]) == 4


def test_mnist_keeps_the_first_training_images_only(mnist_dir, monkeypatch):
    root, arrays = mnist_dir
    monkeypatch.setitem(image_files.MNIST_LIKE, "mnist", (5, None))  # stands in for 55,000 of 60,000
    ds = load_mnist_like("mnist", data_dir=root, download=False)
    np.testing.assert_array_equal(np.argmax(ds.y_train, axis=0), arrays["train"][1][:5])


def test_sizes_dtype_and_impossible_sizes(mnist_dir):
    root, arrays = mnist_dir
    ds = load_mnist_like("mnist", data_dir=root, download=False, train_size=3, test_size=2, dtype="float32")
    assert ds.x_train.shape == (784, 3) and ds.y_test.shape == (10, 2)
    assert ds.x_train.dtype == ds.y_train.dtype == np.float32
    np.testing.assert_array_equal(ds.x_test[:, 1], (arrays["t10k"][0][1].ravel() / 255.0).astype(np.float32))
    for bad, message in [(0, "positive integer"), (-2, "positive integer"), (2.0, "positive integer"),
                         (True, "positive integer"), (8, "has 7 train samples, cannot take train_size=8")]:
        with pytest.raises(DataError, match=message):
            load_mnist_like("mnist", data_dir=root, download=False, train_size=bad)
    with pytest.raises(DataError, match="has 4 test samples"):
        load_mnist_like("mnist", data_dir=root, download=False, test_size=5)


def test_downsample_14_is_pdadmm_bilinear_zoom(mnist_dir):
    root, arrays = mnist_dir
    ds = load_mnist_like("mnist", data_dir=root, download=False, downsample=14)
    assert ds.x_train.shape == (196, 7) and ds.info["image_shape"] == (14, 14)
    image = arrays["train"][0][3] / 255.0
    small = ds.x_train[:, 3].reshape(14, 14)
    # bilinear interpolation at input coordinates 27/13 · (i, j), computed by hand
    r = np.arange(13) * 27 / 13
    r0 = np.floor(r).astype(int)
    f = r - r0
    rows = image[r0] * (1 - f)[:, None] + image[np.minimum(r0 + 1, 27)] * f[:, None]
    expected = rows[:, r0] * (1 - f) + rows[:, np.minimum(r0 + 1, 27)] * f
    np.testing.assert_allclose(small[:13, :13], expected, rtol=0, atol=1e-14)
    # scipy's quirk, kept as in pdADMM's code: 13 · (27/13) rounds to just above 27, outside the image,
    # so mode="constant" fills the last row and column with 0
    assert not small[13].any() and not small[:, 13].any()
    # the stacked zoom of the code equals zooming each image on its own
    np.testing.assert_array_equal(small, ndimage.zoom(image, 0.5, order=1))
    with pytest.raises(DataError, match="downsample must be None or 14"):
        load_mnist_like("mnist", data_dir=root, download=False, downsample=7)


def test_inconsistent_idx_files_are_rejected(tmp_path, monkeypatch):
    arrays, paths = fake_mnist(tmp_path)
    write_idx_gz(paths[1], np.arange(6, dtype=np.uint8))  # 6 train labels for 7 images
    write_idx_gz(paths[3], np.array([1, 2, 3, 10], dtype=np.uint8))  # label 10
    register(monkeypatch, tmp_path, *paths)
    with pytest.raises(DataError, match="6 labels for 7 images"):
        load_mnist_like("mnist", data_dir=tmp_path, download=False)
    write_idx_gz(paths[1], arrays["train"][1])
    register(monkeypatch, tmp_path, paths[1])
    with pytest.raises(DataError, match="labels must lie in 0..9, found 10"):
        load_mnist_like("mnist", data_dir=tmp_path, download=False)
    write_idx_gz(paths[0], np.zeros((7, 28, 27), dtype=np.uint8))
    register(monkeypatch, tmp_path, paths[0])
    with pytest.raises(DataError, match=r"expected N × 28 × 28 images, got shape \(7, 28, 27\)"):
        load_mnist_like("mnist", data_dir=tmp_path, download=False)


# ------------------------------------------------------------------------------------------------ digits


def test_digits_stratified_fixed_split():
    ds = load_digits()
    assert ds.x_train.shape == (64, 1437) and ds.x_test.shape == (64, 360)
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    train_counts, test_counts = ds.y_train.sum(axis=1), ds.y_test.sum(axis=1)
    np.testing.assert_allclose(test_counts / (train_counts + test_counts), 0.2, atol=0.02)  # stratified
    again = load_digits(train_size=10, test_size=5, dtype="float32")
    np.testing.assert_array_equal(again.x_train, ds.x_train[:, :10].astype(np.float32))
    np.testing.assert_array_equal(again.y_test, ds.y_test[:, :5].astype(np.float32))


def test_digits_without_scikit_learn_is_one_line_naming_the_extra(monkeypatch):
    for module in ("sklearn", "sklearn.datasets", "sklearn.model_selection"):
        monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    for name in ("digits", "diabetes"):
        with pytest.raises(ImportError, match=rf'the {name} dataset .*pip install "amref\[sklearn\]"') as info:
            amref.load_dataset(name)
        assert "\n" not in str(info.value)
