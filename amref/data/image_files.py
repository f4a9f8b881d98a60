"""Image datasets: MNIST and Fashion-MNIST from their IDX files, and scikit-learn's 8×8 digits.

IDX (the MNIST file format, gzip-compressed here) is a big-endian header — two zero bytes, a type code
(``0x08`` = unsigned byte), the number of dimensions k — then k uint32 sizes and the data. Images have
magic 2051 (k = 3: N × 28 × 28), labels 2049 (k = 1: N).

Preprocessing follows the papers' code: pixels / 255 (no mean/std
normalisation), MNIST keeps the **first 55,000** training images (dlADMM, pdADMM; the last 5,000 were
TensorFlow's old validation split), Fashion-MNIST keeps all 60,000; ``downsample=14`` is pdADMM's 28→14
bilinear down-sampling, ``scipy.ndimage.zoom(x, (1, 0.5, 0.5), order=1)`` on the /255 images. That call
maps output pixel ``i`` to input coordinate ``i · 27/13``; for ``i = 13`` this rounds to just above 27,
outside the image, so (default ``mode="constant"``) the last row and column of every 14×14 image are 0.
This is what the pdADMM code computes, and it is kept: 169 of the 196 features carry information.
"""

from __future__ import annotations

import gzip
import os
import pathlib
import zlib

import numpy as np

from .dataset import one_hot
from .dataset import Dataset
from .files import DataError, fetch, sklearn_dataset

__all__ = [
    "DIGITS_SPLIT_SEED",
    "IDX_IMAGES",
    "IDX_LABELS",
    "MNIST_LIKE",
    "load_digits",
    "load_mnist_like",
    "read_idx",
]

IDX_IMAGES = 2051
IDX_LABELS = 2049

MNIST_LIKE = {
    # name: (number of training images kept, class names or None)
    "mnist": (55_000, None),
    "fashion-mnist": (60_000, ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                               "Sneaker", "Bag", "Ankle boot")),
}

DIGITS_SPLIT_SEED = 0
"""``random_state`` of the stratified 80/20 split of the digits data."""


def read_idx(path: str | os.PathLike, magic: int) -> np.ndarray:
    """Read a gzip-compressed IDX file of unsigned bytes, checking its header and size.

    Parameters
    ----------
    path : path-like
        The ``.gz`` file.
    magic : int
        Expected magic number: :data:`IDX_IMAGES` (2051) or :data:`IDX_LABELS` (2049).

    Returns
    -------
    numpy.ndarray of uint8
        Shape as given in the header (``N × rows × cols`` or ``N``).

    Raises
    ------
    DataError
        If the file is not valid gzip, the magic number differs, or the data size does not match the header.
    """
    path = pathlib.Path(path)
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path} is not a readable gzip file ({type(exc).__name__}: {exc})") from exc
    if len(raw) < 4:
        raise DataError(f"{path}: IDX header is truncated ({len(raw)} bytes)")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise DataError(f"{path}: IDX magic number is {found}, expected {magic}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: IDX header is truncated ({len(raw)} bytes, needs {header})")
    shape = tuple(int(n) for n in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise DataError(
            f"{path}: IDX header announces shape {shape} ({expected} bytes) but the file holds {len(raw)} bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _read_images(path: pathlib.Path) -> np.ndarray:
    images = read_idx(path, IDX_IMAGES)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{path}: expected N × 28 × 28 images, got shape {images.shape}")
    return images


def _read_labels(path: pathlib.Path, n_images: int) -> np.ndarray:
    labels = read_idx(path, IDX_LABELS)
    if labels.shape != (n_images,):
        raise DataError(f"{path}: {labels.shape[0]} labels for {n_images} images")
    if labels.size and labels.max() > 9:
        raise DataError(f"{path}: labels must lie in 0..9, found {labels.max()}")
    return labels.astype(np.int64)


def _check_size(name: str, what: str, size: int | None, available: int) -> int:
    """``size`` (or all ``available`` when None) after checking it is an integer in ``[1, available]``."""
    if size is None:
        return available
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise DataError(f"{what}_size must be a positive integer, got {size!r}")
    if size > available:
        raise DataError(f"{name} has {available} {what} samples, cannot take {what}_size={size}")
    return int(size)


def _columns(images: np.ndarray, downsample: int | None, dtype: str) -> np.ndarray:
    """``features × samples`` matrix of images / 255, optionally zoomed to ``downsample × downsample``."""
    x = images / 255.0
    if downsample is not None:
        from scipy import ndimage

        size = images.shape[1]
        x = ndimage.zoom(x, (1, downsample / size, downsample / size), order=1)
    return np.ascontiguousarray(x.reshape(x.shape[0], -1).T, dtype=dtype)


def load_mnist_like(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    train_size: int | None = None,
    test_size: int | None = None,
    dtype: str = "float64",
    downsample: int | None = None,
) -> Dataset:
    """MNIST or Fashion-MNIST as a :class:`Dataset` (host NumPy arrays, ``784 × N`` or ``196 × N``).

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
    data_dir, download
        See :func:`amref.data.files.fetch`.
    train_size, test_size : int, optional
        Keep the first ``k`` training (of 55,000 for MNIST, 60,000 for Fashion-MNIST) / test (of 10,000)
        samples.
    dtype : {"float64", "float32"}
    downsample : {None, 14}
        ``14`` applies pdADMM's bilinear 28→14 down-sampling.

    Returns
    -------
    Dataset
        Pixels / 255 as columns, one-hot labels ``10 × N``; ``info`` records files and preprocessing.
    """
    n_keep, classes = MNIST_LIKE[name]
    if downsample not in (None, 14):
        raise DataError(f"downsample must be None or 14 (pdADMM's 28→14), got {downsample!r}")
    files = {}
    for split, stem in (("train", "train"), ("test", "t10k")):
        for kind, k in (("images", 3), ("labels", 1)):
            files[split, kind] = fetch(f"{name}/{stem}-{kind}-idx{k}-ubyte.gz", data_dir=data_dir, download=download)
    arrays = {}
    for split in ("train", "test"):
        images = _read_images(files[split, "images"])
        labels = _read_labels(files[split, "labels"], images.shape[0])
        if split == "train":
            images, labels = images[:n_keep], labels[:n_keep]
        size = _check_size(name, split, train_size if split == "train" else test_size, images.shape[0])
        arrays[split] = (_columns(images[:size], downsample, dtype), one_hot(labels[:size], 10, dtype))
    info = {
        "files": [str(p) for p in files.values()],
        "preprocessing": "pixels / 255" + ("" if downsample is None else
                                            ", zoom 28→14 (scipy.ndimage.zoom, order=1)"),
        "split": f"the first {n_keep} training images, the 10000 test images (then train_size / test_size)",
        "image_shape": (28, 28) if downsample is None else (downsample, downsample),
    }
    if classes is not None:
        info["classes"] = classes
    return Dataset(name, *arrays["train"], *arrays["test"], info=info)


def load_digits(*, train_size: int | None = None, test_size: int | None = None, dtype: str = "float64") -> Dataset:
    """scikit-learn's bundled 8×8 digits (1,797 images, no download) as a :class:`Dataset`.

    Pixels (0..16) are divided by 16. The split is fixed: a stratified 80/20 split,
    ``sklearn.model_selection.train_test_split(test_size=0.2, stratify=labels, random_state=0)``,
    giving 1,437 training and 360 test images; ``train_size`` / ``test_size`` keep the first ``k`` of each.

    Raises
    ------
    ImportError
        Without scikit-learn (the ``sklearn`` extra).
    """
    sklearn_digits, train_test_split = sklearn_dataset("digits")

    bunch = sklearn_digits()
    x_tr, x_te, y_tr, y_te = train_test_split(bunch.data, bunch.target, test_size=0.2, stratify=bunch.target,
                                              random_state=DIGITS_SPLIT_SEED)
    n_tr = _check_size("digits", "train", train_size, len(y_tr))
    n_te = _check_size("digits", "test", test_size, len(y_te))

    def columns(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray((x / 16.0).T, dtype=dtype)

    info = {
        "source": "sklearn.datasets.load_digits",
        "preprocessing": "pixels / 16",
        "split": f"stratified 80/20, train_test_split(random_state={DIGITS_SPLIT_SEED}); first {n_tr} / {n_te} kept",
        "image_shape": (8, 8),
    }
    return Dataset("digits", columns(x_tr[:n_tr]), one_hot(y_tr[:n_tr], 10, dtype),
                   columns(x_te[:n_te]), one_hot(y_te[:n_te], 10, dtype), info=info)
