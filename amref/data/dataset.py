"""The in-memory dataset every solver takes: features × samples matrices and one-hot labels (classification)
or real targets (regression), and the checks and conversions of that layout (:func:`check_xy`,
:func:`one_hot`)."""

from __future__ import annotations

import dataclasses
from types import ModuleType
from typing import Any

import numpy as np

from ..backend import Array, from_host, get_namespace, namespace

__all__ = ["check_xy", "Dataset", "one_hot", "TASKS"]

#: What a dataset's targets are: one-hot labels, or real-valued targets (``n_targets × N``).
TASKS = ("classification", "regression")


def check_xy(x: Array, y: Array, what: str = "data", *, task: str = "classification") -> None:
    """Validate a features × samples matrix and its targets: one-hot labels (``task="classification"``) or
    finite real targets (``"regression"``), with matching sample counts."""
    if task not in TASKS:
        raise ValueError(f"{what}: task must be one of {TASKS}, got {task!r}")
    xp = namespace(x, y)
    if x.ndim != 2 or y.ndim != 2:
        raise ValueError(f"{what}: x and y must be 2-D (features × samples, classes × samples)")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"{what}: x has {x.shape[1]} samples but y has {y.shape[1]}")
    if x.shape[1] == 0:
        raise ValueError(f"{what}: no samples")
    if not bool(xp.all(xp.isfinite(x))):
        raise ValueError(f"{what}: x contains NaN or inf")
    if task == "regression":
        if not bool(xp.all(xp.isfinite(y))):
            raise ValueError(f"{what}: y contains NaN or inf")
        return
    ok = xp.all((y == 0) | (y == 1)) & xp.all(xp.sum(y, axis=0) == 1)
    if not bool(ok):
        raise ValueError(f"{what}: y must be one-hot (each column a single 1, zeros elsewhere)")


def one_hot(labels: np.ndarray, n_classes: int, dtype: str = "float64") -> np.ndarray:
    """Host one-hot matrix ``C × N`` from integer labels, rejecting labels outside ``[0, C)``."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
            raise ValueError("labels must be integers")
        labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), got range [{labels.min()}, {labels.max()}]")
    out = np.zeros((n_classes, labels.size), dtype=dtype)
    out[labels, np.arange(labels.size)] = 1
    return out


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Training (and optional test / validation) data in the papers' layout.

    Attributes
    ----------
    name : str
        Dataset name (``"mnist"``, ``"digits"``, ``"cora"``, …).
    x_train : array, ``n_features × N_train``
        Training features, columns are samples.
    y_train : array, ``C × N_train``
        One-hot training labels; real targets (``n_targets × N_train``) when ``task="regression"``.
    x_test, y_test : array or None
        Test split in the same layout.
    x_val, y_val : array or None
        Validation split (graph datasets).
    info : dict
        Provenance: source files, split sizes, preprocessing.
    task : {"classification", "regression"}
        What ``y`` holds.

    The constructor validates shapes, finiteness and one-hot labels, and that all splits share the
    namespace, the feature count and the class count.
    """

    name: str
    x_train: Array
    y_train: Array
    x_test: Array | None = None
    y_test: Array | None = None
    x_val: Array | None = None
    y_val: Array | None = None
    info: dict = dataclasses.field(default_factory=dict)
    task: str = "classification"

    def __post_init__(self) -> None:
        namespace(self.x_train, self.y_train, self.x_test, self.y_test, self.x_val, self.y_val)
        check_xy(self.x_train, self.y_train, what=f"{self.name} train", task=self.task)
        for split in ("test", "val"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if (x is None) != (y is None):
                raise ValueError(f"{self.name}: x_{split} and y_{split} must be given together")
            if x is None:
                continue
            check_xy(x, y, what=f"{self.name} {split}", task=self.task)
            if x.shape[0] != self.x_train.shape[0]:
                raise ValueError(f"{self.name}: {split} has {x.shape[0]} features, train has {self.x_train.shape[0]}")
            if y.shape[0] != self.y_train.shape[0]:
                raise ValueError(f"{self.name}: {split} has {y.shape[0]} classes, train has {self.y_train.shape[0]}")
        if self.x_train.dtype != self.y_train.dtype:
            raise ValueError(f"{self.name}: x and y must share a dtype")

    @property
    def n_features(self) -> int:
        """Number of input features n_0."""
        return int(self.x_train.shape[0])

    @property
    def n_classes(self) -> int:
        """Number of classes C (regression: the number of targets)."""
        return int(self.y_train.shape[0])

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return int(self.x_train.shape[1])

    @property
    def xp(self) -> ModuleType:
        """Namespace of the arrays."""
        return namespace(self.x_train)

    def to(self, xp: ModuleType | str, *, device: Any = None, dtype: str | None = None) -> "Dataset":
        """A copy in namespace ``xp`` (a module or a backend name), optionally on ``device`` / cast to ``dtype``.

        This is an explicit host→device move; solvers never move data themselves.
        """
        if isinstance(xp, str):
            xp = get_namespace(xp)
        from ..backend import to_host

        def move(a: Array | None) -> Array | None:
            return None if a is None else from_host(to_host(a), xp, device=device, dtype=dtype)

        return dataclasses.replace(
            self,
            x_train=move(self.x_train),
            y_train=move(self.y_train),
            x_test=move(self.x_test),
            y_test=move(self.y_test),
            x_val=move(self.x_val),
            y_val=move(self.y_val),
        )

    def subset(self, train_size: int | None = None, test_size: int | None = None) -> "Dataset":
        """First ``train_size`` training and ``test_size`` test columns (``None`` keeps all)."""
        for what, size, have in (("train", train_size, self.n_train),
                                 ("test", test_size, 0 if self.x_test is None else self.x_test.shape[1])):
            if size is None:
                continue
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
                raise ValueError(f"{what} size must be a positive integer, got {size!r}")
            if size > have:
                raise ValueError(f"{self.name}: asked for {size} {what} samples but only {have} exist")
        x_tr, y_tr = self.x_train, self.y_train
        if train_size is not None:
            x_tr, y_tr = x_tr[:, :train_size], y_tr[:, :train_size]
        x_te, y_te = self.x_test, self.y_test
        if test_size is not None and x_te is not None:
            x_te, y_te = x_te[:, :test_size], y_te[:, :test_size]
        return dataclasses.replace(self, x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
