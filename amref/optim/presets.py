"""The papers' baseline learning rates as named presets (the experiment sections of the dlADMM, mDLAM, pdADMM and pdADMM-G papers).

Every AM paper compares with full-batch GD, Adagrad, Adadelta and Adam at learning rates "chosen by
training (or validation) performance"; only the learning rates are published. A preset maps a
baseline name to its options::

    preset("dladmm", "adam")            # AdamOptions(lr=1e-3, reduction="sum")
    preset("mdlam-cora", "sgd")         # SGDOptions(lr=0.01, reduction="sum")
    preset_names()                      # ["dladmm", "mdlam-cora", …, "pdadmm-g-500-ogbn-arxiv"]

GD is amref's ``sgd`` with full batches (``batch_size=None``). The papers give no other
hyperparameter, and for Adadelta the defaults decide the step size (ε sets it: the first step is
≈ γ sqrt(ε/(1 − ρ))). The presets take them from the framework each paper's code base uses (also an
inference): dlADMM's repository requires TensorFlow and Keras, so its preset has Keras 2's defaults
(Adadelta ρ = 0.95, ε = 1e-7; Adagrad and Adam ε = 1e-7, Adagrad's accumulator starting at 0); the
later papers' code is PyTorch, so theirs keep torch's defaults (amref's: Adadelta ρ = 0.9, ε = 1e-6;
Adagrad ε = 1e-10; Adam ε = 1e-8). Keras' Adam puts ε in the uncorrected place; with summed-loss
gradients far above ε the difference is nil.

**Reduction (an inference, not a published fact).** The authors' codes sum every loss over the samples
(a sum of cross-entropies in every released code), and dlADMM's GD rate of 1e-6 only trains on MNIST if the gradient is of the
*summed* loss (it is a step of 0.055 on the mean loss with 55,000 samples; on the mean loss it would
not move in 200 iterations, while the paper's GD reaches ≈ 0.94 training accuracy). All presets
therefore use ``reduction="sum"``; Adam, Adagrad and Adadelta are nearly invariant to that choice,
GD is not. Pass ``reduction="mean"`` to :func:`preset` to try the other reading.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from . import options_class

__all__ = ["KERAS_DEFAULTS", "PRESETS", "get_preset", "Preset", "preset", "preset_names"]

_PAPER_NAMES = ("sgd", "adadelta", "adagrad", "adam")  # GD, Adadelta, Adagrad, Adam, the tables' order


@dataclasses.dataclass(frozen=True)
class Preset:
    """One paper setting: where it comes from and the learning rate of each baseline."""

    name: str
    source: str
    lr: dict
    defaults: dict = dataclasses.field(default_factory=dict)

    def options(self, solver: str, **overrides: Any) -> Any:
        """The options of ``solver`` under this preset (full batch, summed loss), with ``overrides``."""
        if solver not in self.lr:
            raise ValueError(f"preset {self.name!r} has no setting for {solver!r}; it has {', '.join(self.lr)}")
        values = {"lr": self.lr[solver], "reduction": "sum", "batch_size": None, **self.defaults.get(solver, {})}
        values.update(overrides)
        return options_class(solver)(**values)


#: Keras 2 defaults (TensorFlow/Keras code bases)
KERAS_DEFAULTS = {"adadelta": {"rho": 0.95, "eps": 1e-7}, "adagrad": {"eps": 1e-7}, "adam": {"eps": 1e-7}}


def _row(name: str, source: str, gd: float, adadelta: float, adagrad: float, adam: float,
         defaults: dict | None = None) -> Preset:
    return Preset(name, source, dict(zip(_PAPER_NAMES, (gd, adadelta, adagrad, adam))), defaults or {})


_MDLAM = {  # Table 3: GD, Adadelta, Adagrad, Adam
    "cora": (0.01, 0.01, 5e-3, 1e-3),
    "pubmed": (0.01, 0.1, 5e-3, 5e-4),
    "citeseer": (0.01, 0.01, 0.01, 1e-3),
    "coauthor-cs": (5e-3, 0.05, 5e-3, 1e-3),
}
_PDADMM_G_DATASETS = ("cora", "pubmed", "citeseer", "amazon-computers", "amazon-photo", "coauthor-cs",
                      "coauthor-physics", "flickr", "ogbn-arxiv")
_PDADMM_G = {  # Tables V (100 neurons) and VI (500 neurons): rows GD, Adadelta, Adagrad, Adam per dataset
    100: ((1e-1, 5e-2, 1e-1, 1e-2, 1e-2, 1e-1, 1e-1, 1e-3, 1e-2),
          (1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-2, 1e-1),
          (1e-3,) * 9,
          (1e-4, 1e-4, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3)),
    500: ((1e-1, 5e-3, 1e-1, 1e-2, 1e-2, 1e-1, 1e-2, 1e-2, 1e-2),
          (1e-3, 1e-4, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-2, 1e-1),
          (1e-3,) * 9,
          (1e-4,) * 7 + (1e-3, 1e-3)),
}


def _build() -> dict[str, Preset]:
    out = [_row("dladmm", "dlADMM (KDD 2019) Sec 5, MNIST and Fashion-MNIST, 784-1000-1000-10", 1e-6, 0.1, 1e-3, 1e-3,
                KERAS_DEFAULTS)]
    for dataset, rates in _MDLAM.items():
        out.append(_row(f"mdlam-{dataset}", f"mDLAM (Neurocomputing 2022) Table 3, {dataset}", *rates))
    out.append(_row("pdadmm", "pdADMM (ICDM 2020) Sec 5, all datasets, 9x500 hidden", 0.01, 1.0, 0.1, 1e-3))
    for width, table in _PDADMM_G.items():
        label = "V" if width == 100 else "VI"
        for i, dataset in enumerate(_PDADMM_G_DATASETS):
            rates = [row[i] for row in table]
            out.append(_row(f"pdadmm-g-{width}-{dataset}",
                            f"pdADMM-G (TNNLS 2022) Table {label}, {width} neurons, {dataset}", *rates))
    return {p.name: p for p in out}


PRESETS: dict[str, Preset] = _build()


def preset_names() -> list[str]:
    """Names of the presets."""
    return list(PRESETS)


def get_preset(name: str) -> Preset:
    """The :class:`Preset` called ``name``."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return PRESETS[name]


def preset(name: str, solver: str, **overrides: Any) -> Any:
    """Options of baseline ``solver`` under preset ``name`` (e.g. ``preset("dladmm", "adam")``)."""
    return get_preset(name).options(solver, **overrides)
