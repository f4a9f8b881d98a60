r"""The training problem every solver and baseline shares: an MLP (ReLU by default) with a summed loss.

=============  =====================================================================================
symbol         meaning (paper notation, 1-based layers; Python lists are 0-based: ``W[l-1]`` is W_l)
=============  =====================================================================================
L              number of layers (hidden layers + the linear output layer)
n_l            width of layer l; n_0 = number of features, n_L = number of classes C
W_l            weight, ``n_l × n_{l-1}``
b_l            bias, stored as a column ``n_l × 1`` (the papers' ``b_l 1ᵀ`` broadcast)
a_0 = x        data, ``n_0 × N`` (columns are samples)
z_l            ``W_l a_{l-1} + b_l``; a_l = h_l(z_l) for l < L; z_L are the logits
h_l            hidden activation of layer l, ``MLP.activation`` (:mod:`amref.activations`; ReLU default)
R(z_L; y)      summed output loss, ``MLP.loss``: softmax cross-entropy (default), squared or hinge
               (:mod:`amref.losses`)
=============  =====================================================================================

Parameters travel as one flat list ``[W_1, b_1, …, W_L, b_L]`` (:data:`Params`), which the gradient
baselines use directly and the AM solvers split with :func:`split_params`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal, Sequence

import numpy as np

from . import losses
from .activations import Activation, canonical, layer_activations
from .backend import Array, from_host, get_namespace, namespace, to_host
from .data.dataset import check_xy

__all__ = [
    "INIT_SCHEMES",
    "MLP",
    "join_params",
    "label_targets",
    "load_params",
    "Params",
    "save_params",
    "split_params",
]

Params = list
"""Flat parameter list ``[W_1, b_1, …, W_L, b_L]``."""

INIT_SCHEMES = ("paper", "reseed")


@dataclass(frozen=True)
class MLP:
    """A fully connected network with a linear output layer and a summed loss.

    Parameters
    ----------
    widths
        Layer widths ``(n_0, n_1, …, n_L)``: features, hidden widths, classes.
    activation
        Hidden activation, a name of :mod:`amref.activations` (``"relu"``, the papers' choice;
        ``"leaky_relu"`` or ``"leaky_relu:0.2"``, ``"hardtanh"``, ``"linear"``, ``"sigmoid"``, ``"tanh"``,
        ``"step"``), or one name per hidden layer (a list, or commas: ``"relu,tanh"``). Stored as the
        canonical comma-separated string.
    loss
        Output loss, a name known to :func:`amref.losses.get`: ``"cross_entropy"`` (summed softmax
        cross-entropy, every Wang et al. paper), ``"squared"`` (½‖z − y‖², Zeng et al.) or
        ``"hinge"`` (per-output binary hinge, Taylor et al.).
    task
        ``"classification"`` (y one-hot, scored by accuracy) or ``"regression"`` (y real ``n_L × N``,
        scored by R² and MSE; the loss must be ``"squared"``, the only regression loss amref has).
    """

    widths: tuple[int, ...]
    activation: str | Sequence[str] = "relu"
    loss: str = "cross_entropy"
    task: Literal["classification", "regression"] = "classification"

    def __post_init__(self) -> None:
        widths = tuple(self.widths)
        if len(widths) < 2:
            raise ValueError(f"an MLP needs at least an input and an output width, got {widths}")
        for n in widths:
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"layer widths must be positive integers, got {widths}")
        object.__setattr__(self, "widths", tuple(int(n) for n in widths))
        object.__setattr__(self, "activation", canonical(self.activation))
        self.activations  # raises ValueError for a per-layer list of the wrong length
        losses.get(self.loss)  # raises ValueError for an unknown name
        if self.task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {self.task!r}")
        if self.task == "regression" and self.loss != "squared":
            raise ValueError(f"regression needs the squared loss, not {self.loss!r}")

    @property
    def n_layers(self) -> int:
        """L, the number of weight layers."""
        return len(self.widths) - 1

    @property
    def activations(self) -> tuple[Activation, ...]:
        """The :class:`~amref.activations.Activation` record of each hidden layer (length L − 1)."""
        return layer_activations(self.activation, self.n_layers - 1)

    @property
    def n_features(self) -> int:
        """n_0."""
        return self.widths[0]

    @property
    def n_classes(self) -> int:
        """n_L = C."""
        return self.widths[-1]

    def param_shapes(self) -> list[tuple[int, int]]:
        """Shapes of ``[W_1, b_1, …, W_L, b_L]``."""
        shapes: list[tuple[int, int]] = []
        for n_in, n_out in zip(self.widths[:-1], self.widths[1:]):
            shapes += [(n_out, n_in), (n_out, 1)]
        return shapes

    # ------------------------------------------------------------------ initialisation
    def init_params(
        self,
        seed: int = 0,
        *,
        xp: ModuleType | None = None,
        device: Any = None,
        dtype: str = "float64",
        std: float = 0.1,
        scheme: str = "paper",
    ) -> Params:
        """Draw initial weights and biases N(0, std²) on the host and move them once.

        Parameters
        ----------
        seed
            Seed of the host :class:`numpy.random.Generator`.
        xp, device
            Target namespace and device (default NumPy on the host).
        dtype
            ``"float64"`` (default) or ``"float32"``.
        std
            Standard deviation; the papers use 0.1.
        scheme
            ``"paper"``: every tensor drawn independently from one seeded stream, in the order
            W_1, b_1, W_2, …. ``"reseed"``: the authors' recipe,
            which re-seeds the generator with the same seed before every tensor, so every tensor is a
            prefix of the same stream (b_1 equals the first n_1 entries of W_1, and so on). The stream
            is NumPy's, not torch's, so values differ from the released code but the correlation
            structure is the same.

        Returns
        -------
        Params
            ``[W_1, b_1, …, W_L, b_L]`` in namespace ``xp``.
        """
        if scheme not in INIT_SCHEMES:
            raise ValueError(f"init scheme must be one of {INIT_SCHEMES}, got {scheme!r}")
        if not (std > 0 and np.isfinite(std)):
            raise ValueError(f"init std must be positive and finite, got {std}")
        xp = get_namespace("numpy") if xp is None else xp
        shapes = self.param_shapes()
        if scheme == "paper":
            rng = np.random.default_rng(seed)
            host = [rng.normal(0.0, std, size=s) for s in shapes]
        else:
            stream = np.random.default_rng(seed).normal(0.0, std, size=max(r * c for r, c in shapes))
            host = [stream[: r * c].reshape(r, c).copy() for r, c in shapes]
        return [from_host(h, xp, device=device, dtype=dtype) for h in host]

    # ------------------------------------------------------------------ forward pass
    def forward(self, params: Params, x: Array) -> Array:
        """Logits z_L of the plain forward pass a_l = h_l(W_l a_{l-1} + b_l) (keeps one layer at a time)."""
        Ws, bs = split_params(params)
        a = x
        for W, b, act in zip(Ws[:-1], bs[:-1], self.activations):
            a = act.value(W @ a + b)
        return Ws[-1] @ a + bs[-1]

    def hidden(self, params: Params, x: Array) -> tuple[list[Array], list[Array]]:
        """Forward pass keeping every layer: ``(zs, as_)`` with z_1…z_L and a_0=x, a_1…a_{L-1}."""
        hs = self.activations
        Ws, bs = split_params(params)
        zs: list[Array] = []
        acts: list[Array] = [x]
        for l, (W, b) in enumerate(zip(Ws, bs)):
            z = W @ acts[-1] + b
            zs.append(z)
            if l < self.n_layers - 1:
                acts.append(hs[l].value(z))
        return zs, acts

    def loss_value(self, params: Params, x: Array, y: Array) -> float:
        """Summed loss R(forward(x); y) as a Python float."""
        return float(losses.get(self.loss).value(self.forward(params, x), y))

    def evaluate(self, params: Params, x: Array, y: Array) -> tuple[float, float]:
        """(mean loss per sample, accuracy) of the plain forward pass on ``(x, y)`` (regression: R² for
        the accuracy)."""
        s = self.scores(params, x, y)
        return s["loss"], s["r2" if self.task == "regression" else "accuracy"]

    def scores(self, params: Params, x: Array, y: Array) -> dict[str, float]:
        """Scores of the plain forward pass: ``loss`` (mean per sample) and ``accuracy`` (classification),
        or ``loss``, ``r2`` (coefficient of determination averaged over the targets, as scikit-learn's
        ``r2_score``) and ``mse`` (mean over samples and targets) for regression."""
        z = self.forward(params, x)
        n = x.shape[1]
        loss = float(losses.get(self.loss).value(z, y)) / n
        if self.task == "classification":
            return {"loss": loss, "accuracy": losses.accuracy(z, y)}
        xp = namespace(z, y)
        res = xp.sum((y - z) ** 2, axis=1)
        tot = xp.sum((y - xp.mean(y, axis=1, keepdims=True)) ** 2, axis=1)
        safe = xp.where(tot > 0, tot, xp.ones_like(tot))
        r2 = xp.where(tot > 0, 1.0 - res / safe, xp.astype(res == 0, res.dtype))  # constant target: 1 iff exact
        return {"loss": loss, "r2": float(xp.mean(r2)), "mse": float(xp.mean((y - z) ** 2))}

    def output_targets(self, y: Array) -> Array:
        """The AM solvers' initial z_L: :func:`label_targets` (±1) for classification, y for regression."""
        return y if self.task == "regression" else label_targets(y)

    # ------------------------------------------------------------------ checks
    def check_params(self, params: Params) -> None:
        """Raise ``ValueError`` unless ``params`` has this network's shapes and finite values."""
        shapes = self.param_shapes()
        if len(params) != len(shapes):
            raise ValueError(f"expected {len(shapes)} parameter arrays for widths {self.widths}, got {len(params)}")
        for i, (p, s) in enumerate(zip(params, shapes)):
            name = f"{'Wb'[i % 2]}{i // 2 + 1}"
            if tuple(p.shape) != s:
                raise ValueError(f"{name} has shape {tuple(p.shape)}, expected {s}")
            xp = namespace(p)
            if not bool(xp.all(xp.isfinite(p))):
                raise ValueError(f"{name} contains NaN or inf")

    def check_data(self, x: Array, y: Array, what: str = "data") -> None:
        """Raise ``ValueError`` unless ``x`` is ``n_0 × N`` finite and ``y`` is a ``C × N`` one-hot matrix
        (regression: finite ``n_L × N`` targets)."""
        check_xy(x, y, what=what, task=self.task)
        if x.shape[0] != self.n_features:
            raise ValueError(f"{what}: x has {x.shape[0]} features, the network expects {self.n_features}")
        if y.shape[0] != self.n_classes:
            raise ValueError(f"{what}: y has {y.shape[0]} classes, the network expects {self.n_classes}")


def label_targets(y: Array) -> Array:
    """The papers' initial output pre-activation: +1 on the true class, −1 elsewhere (``2y − 1``)."""
    return 2.0 * y - 1.0


def split_params(params: Sequence[Array]) -> tuple[list[Array], list[Array]]:
    """``[W_1, b_1, …]`` → ``([W_1, …], [b_1, …])``."""
    return list(params[0::2]), list(params[1::2])


def join_params(Ws: Sequence[Array], bs: Sequence[Array]) -> Params:
    """``([W_1, …], [b_1, …])`` → ``[W_1, b_1, …]``."""
    return [p for pair in zip(Ws, bs) for p in pair]


def save_params(path: str | os.PathLike, params: Params, *, activation: str | None = None) -> None:
    """Write weights to ``.npz`` with keys ``W1..WL``, ``b1..bL`` (biases 1-D), atomically.

    The arrays are copied to the host (the caller asked for a file). ``activation`` (the network's
    ``MLP.activation``) is recorded under the key ``activation`` when given, and :func:`load_params`
    then checks it.
    """
    Ws, bs = split_params(params)
    arrays = {f"W{l + 1}": to_host(W) for l, W in enumerate(Ws)}
    arrays.update({f"b{l + 1}": to_host(b).reshape(-1) for l, b in enumerate(bs)})
    if activation is not None:
        arrays["activation"] = np.asarray(canonical(activation))
    from .checkpoint import atomic_savez

    atomic_savez(path, arrays)


def load_params(
    path: str | os.PathLike, mlp: MLP, *, xp: ModuleType | None = None, device: Any = None, dtype: str = "float64"
) -> Params:
    """Read ``W1..WL``, ``b1..bL`` from ``.npz`` (biases ``(n,)`` or ``(n, 1)``) and check them against ``mlp``.

    Raises
    ------
    ValueError
        Missing keys, unexpected keys, wrong shapes or non-finite values; the message names the key. A
        file that records an activation different from ``mlp.activation``.
    """
    xp = get_namespace("numpy") if xp is None else xp
    try:
        with np.load(path, allow_pickle=False) as f:
            stored = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ValueError(f"{path}: not a readable .npz weights file ({exc})") from exc
    L = mlp.n_layers
    recorded = stored.pop("activation", None)
    if recorded is not None and str(recorded) != mlp.activation:
        raise ValueError(f"{path}: weights of a {str(recorded)!r} network, not {mlp.activation!r}")
    expected = [f"W{l}" for l in range(1, L + 1)] + [f"b{l}" for l in range(1, L + 1)]
    missing = [k for k in expected if k not in stored]
    extra = sorted(set(stored) - set(expected))
    if missing or extra:
        raise ValueError(
            f"{path}: weights for widths {mlp.widths} need keys {', '.join(expected)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unexpected {', '.join(extra)}" if extra else "")
        )
    host = []
    for l in range(1, L + 1):
        W, b = stored[f"W{l}"], stored[f"b{l}"]
        if b.ndim == 1:
            b = b.reshape(-1, 1)
        host += [W, b]
    params_np = [np.asarray(h, dtype=dtype) for h in host]
    mlp.check_params(params_np)
    return [from_host(h, xp, device=device) for h in params_np]
