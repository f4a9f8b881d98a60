"""Load any amref dataset by name: :func:`load_dataset` returns a :class:`~amref.data.Dataset` of host
NumPy arrays (features × samples, one-hot labels), :func:`dataset_names` lists the names.

Datasets
--------
==================  ==========================================================================================
name                what :func:`load_dataset` returns
==================  ==========================================================================================
``mnist``           784 × 55,000 train (the first 55,000 images, as dlADMM/pdADMM), 784 × 10,000 test, /255
``fashion-mnist``   784 × 60,000 train, 784 × 10,000 test, /255
``digits``          scikit-learn's 8×8 digits (bundled, no file): 64 × 1,437 / 64 × 360, /16, stratified
                    80/20 split with ``random_state=0``
``diabetes``        regression: scikit-learn's diabetes data (bundled, no file): 10 × 353 / 10 × 89,
                    random 80/20 split with ``random_state=0``; features and the target standardised
                    with the training split's mean and standard deviation (``info`` holds them)
``cora``,           GA-MLP features (:func:`amref.data.graphs.graph_dataset`) of the Planetoid graphs,
``citeseer``,       public split (140/120/60 train, 500 val, 1,000 test)
``pubmed``
``amazon-*``,       GA-MLP features of the gnn-benchmark graphs (``amazon-computers``, ``amazon-photo``,
``coauthor-*``      ``coauthor-cs``, ``coauthor-physics``); 20 train nodes per class, 1,000 test, 1,000 val
==================  ==========================================================================================

:func:`amref.data.load_graph` gives the raw graphs (features, adjacency, labels, split).
The file formats, preprocessing and splits are described in :mod:`amref.data.image_files` and
:mod:`amref.data.graph_files`.

Where the files are
-------------------
The data directory is, in this order:

1. the ``data_dir`` argument,
2. the ``AMREF_DATA_DIR`` environment variable,
3. the user cache, ``pooch.os_cache("amref")`` (e.g. ``~/.cache/amref`` on Linux).

Inside it each dataset has a folder holding its original files, names unchanged::

    <data directory>/
        mnist/              train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
                            t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz
        fashion-mnist/      (the same four names)
        cora/               ind.cora.{x,y,tx,ty,allx,ally,graph,test.index}
        citeseer/           ind.citeseer.*   (same eight parts)
        pubmed/             ind.pubmed.*     (same eight parts)
        amazon-computers/   amazon_electronics_computers.npz
        amazon-photo/       amazon_electronics_photo.npz
        coauthor-cs/        ms_academic_cs.npz
        coauthor-physics/   ms_academic_phy.npz

Every file is checked against the sha256 in ``amref/data/registry.txt`` each time it is loaded; a
mismatch is an error that names the file and both hashes. A missing file is downloaded from the URL in
the registry into that folder when ``download=True`` (the default), and refused otherwise. All errors
are :class:`~amref.data.files.DataError` (a ``ValueError``) with a one-line message.
"""

from __future__ import annotations

import os

import numpy as np

from .dataset import Dataset
from .files import DataError, sklearn_dataset
from .graph_files import DEFAULT_SPLIT_SEED, GRAPH_NAMES, load_graph
from .graphs import graph_dataset
from .image_files import MNIST_LIKE, load_digits, load_mnist_like

__all__ = ["IMAGE_NAMES", "REGRESSION_NAMES", "dataset_names", "load_dataset", "load_diabetes"]

IMAGE_NAMES = (*MNIST_LIKE, "digits")
#: Regression datasets (real-valued targets, ``Dataset.task == "regression"``).
REGRESSION_NAMES = ("diabetes",)


def dataset_names() -> tuple[str, ...]:
    """Names accepted by :func:`load_dataset`: image datasets first, then regression, then graphs."""
    return IMAGE_NAMES + REGRESSION_NAMES + GRAPH_NAMES


def load_diabetes(*, train_size: int | None = None, test_size: int | None = None, dtype: str = "float64") -> Dataset:
    """scikit-learn's bundled diabetes regression data (442 patients, 10 features, no download).

    A random 80/20 split (``train_test_split(test_size=0.2, random_state=0)``: 353 / 89); features and
    target are standardised with the training split's mean and standard deviation, recorded in ``info``
    (``target_mean``, ``target_std``) so predictions can be mapped back. ``train_size`` / ``test_size``
    keep the first ``k`` of each split.

    Raises
    ------
    ImportError
        Without scikit-learn (the ``sklearn`` extra).
    """
    sklearn_diabetes, train_test_split = sklearn_dataset("diabetes")
    if dtype not in ("float32", "float64"):
        raise DataError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    bunch = sklearn_diabetes()
    x_tr, x_te, y_tr, y_te = train_test_split(bunch.data, bunch.target, test_size=0.2, random_state=0)
    sizes = []
    for what, size, have in (("train", train_size, len(y_tr)), ("test", test_size, len(y_te))):
        if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer))
                                 or not 1 <= size <= have):
            raise DataError(f"diabetes: {what} size must be an integer in [1, {have}], got {size!r}")
        sizes.append(have if size is None else int(size))
    mu, sd = x_tr.mean(axis=0), x_tr.std(axis=0)
    t_mu, t_sd = float(y_tr.mean()), float(y_tr.std())

    def columns(x, y, n):
        return (np.ascontiguousarray(((x[:n] - mu) / sd).T, dtype=dtype),
                np.ascontiguousarray(((y[:n] - t_mu) / t_sd)[None, :], dtype=dtype))

    info = {"source": "sklearn.datasets.load_diabetes", "split": "train_test_split(test_size=0.2, random_state=0)",
            "preprocessing": "features and target standardised with the training split's statistics",
            "target_mean": t_mu, "target_std": t_sd}
    return Dataset("diabetes", *columns(x_tr, y_tr, sizes[0]), *columns(x_te, y_te, sizes[1]), info=info,
                   task="regression")


def _reject(name: str, kind: str, **options: tuple[object, object]) -> None:
    """Raise for the first option that differs from its default although it does not apply to ``name``."""
    for option, (value, default) in options.items():
        if value != default:
            raise DataError(f"{option}={value!r} does not apply to {name} ({kind})")


def load_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    train_size: int | None = None,
    test_size: int | None = None,
    dtype: str = "float64",
    downsample: int | None = None,
    hops: int = 4,
    order: str = "ascending",
    extra_identity: bool = False,
    split_seed: int = DEFAULT_SPLIT_SEED,
) -> Dataset:
    """Load a dataset by name as host NumPy arrays in the papers' layout.

    Parameters
    ----------
    name : str
        One of :func:`dataset_names`.
    data_dir : path-like, optional
        Data directory; defaults to ``$AMREF_DATA_DIR``, then the user cache (see the module docstring).
    download : bool
        Download missing files (verified by sha256). ``False`` makes a missing file an error.
        (``digits`` reads no files and ignores both.)
    train_size, test_size : int, optional
        Image datasets: keep the first ``k`` training / test samples.
    dtype : {"float64", "float32"}
        Floating type of features and one-hot labels.
    downsample : {None, 14}
        MNIST / Fashion-MNIST: pdADMM's bilinear 28×28 → 14×14 down-sampling (196 features).
    hops, order, extra_identity
        Graph datasets: GA-MLP augmentation, passed to :func:`amref.data.graphs.graph_dataset`
        (defaults: the pdADMM-G paper's ``[H; HÂ; HÂ²; HÂ³]``; the released code is ``hops=5,
        order="descending"``, mDLAM's code adds ``extra_identity=True``).
    split_seed : int
        Seed of the random split of the Amazon / Coauthor graphs (default 100 reproduces the papers' code).

    Returns
    -------
    Dataset
        ``x_*`` are ``features × samples``, ``y_*`` one-hot ``classes × samples``; graph datasets also
        have ``x_val`` / ``y_val``. ``info`` records files, preprocessing and split.

    Raises
    ------
    DataError
        Unknown name, an option that does not apply to the dataset, an impossible size, a bad ``dtype``,
        or a missing / corrupt / malformed file.
    """
    if dtype not in ("float32", "float64"):
        raise DataError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    graph_options = dict(hops=(hops, 4), order=(order, "ascending"), extra_identity=(extra_identity, False),
                         split_seed=(split_seed, DEFAULT_SPLIT_SEED))
    if name in MNIST_LIKE:
        _reject(name, "an image dataset", **graph_options)
        return load_mnist_like(name, data_dir=data_dir, download=download, train_size=train_size,
                               test_size=test_size, dtype=dtype, downsample=downsample)
    if name == "digits":
        _reject(name, "8×8 images bundled with scikit-learn", downsample=(downsample, None), **graph_options)
        return load_digits(train_size=train_size, test_size=test_size, dtype=dtype)
    if name == "diabetes":
        _reject(name, "a regression table bundled with scikit-learn", downsample=(downsample, None), **graph_options)
        return load_diabetes(train_size=train_size, test_size=test_size, dtype=dtype)
    if name in GRAPH_NAMES:
        _reject(name, "a graph dataset with a fixed split", train_size=(train_size, None),
                test_size=(test_size, None), downsample=(downsample, None))
        graph = load_graph(name, data_dir=data_dir, download=download, split_seed=split_seed)
        return graph_dataset(graph, hops=hops, order=order, extra_identity=extra_identity, dtype=dtype)
    raise DataError(f"unknown dataset {name!r}; expected one of {', '.join(dataset_names())}")
