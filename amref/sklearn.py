"""scikit-learn estimators: :class:`AMClassifier` and :class:`AMRegressor` train an amref MLP with any amref
solver or gradient baseline, by name, behind ``fit`` / ``predict`` / ``score``.

They work in pipelines, cross-validation and grid searches like ``MLPClassifier`` / ``MLPRegressor``::

    from sklearn.model_selection import GridSearchCV
    from amref.sklearn import AMClassifier
    search = GridSearchCV(AMClassifier(solver="mdlam", max_iter=30),
                          {"activation": ["relu", "hardtanh", "step"], "rho": [1e-3, 1e-2]})

Parameters are ``solver``, ``hidden_layer_sizes``, ``activation`` (a name of :mod:`amref.activations`, or
one per hidden layer), ``loss`` (None: the solver's paper loss for classification, the squared loss for
regression), ``max_iter`` (solver iterations; epochs for a baseline), ``random_state`` (seed of the
initial weights), ``warm_start`` (continue from the last fit's weights) and ``dtype``; every field of the
solver's options class is a keyword argument as well (``AMClassifier(solver="dladmm", rho=1.0, nu=1.0)``),
reported by ``get_params`` and settable by ``set_params`` and grid searches.

Arrays: samples × features, as scikit-learn has them. Any array the array API accepts works (NumPy, CuPy,
array-api-strict): the estimator trains in that array's namespace and on its device, and ``predict``
returns an array of the same kind. scikit-learn's input validation runs on NumPy inputs (it is what its
error messages and checks expect); other arrays are checked by amref's own ``Dataset`` checks.

scikit-learn is optional (``pip install "amref[sklearn]"``): this module imports without it and the
estimators then still fit, predict and score, but they are not ``BaseEstimator`` subclasses (no ``clone``,
pipelines or searches, which live in scikit-learn anyway).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Sequence

import numpy as np

from .backend import Array, from_host, namespace, to_host
from .data import Dataset
from .driver import minimize
from .problem import MLP
from .registry import get_solver

try:  # scikit-learn is the optional ``sklearn`` extra
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data

    HAVE_SKLEARN = True
except ImportError:  # pragma: no cover - exercised only without the extra
    HAVE_SKLEARN = False

    class BaseEstimator:  # type: ignore[no-redef]
        """Stand-in when scikit-learn is absent."""

    class ClassifierMixin:  # type: ignore[no-redef]
        """Stand-in when scikit-learn is absent."""

    class RegressorMixin:  # type: ignore[no-redef]
        """Stand-in when scikit-learn is absent."""

    class ConvergenceWarning(UserWarning):  # type: ignore[no-redef]
        """Stand-in when scikit-learn is absent."""

__all__ = ["AMClassifier", "AMRegressor", "HAVE_SKLEARN"]

_BASE_PARAMS = ("solver", "hidden_layer_sizes", "activation", "loss", "max_iter", "random_state", "warm_start",
                "dtype")


def _is_numpy(a: Any) -> bool:
    return not hasattr(a, "__array_namespace__") or isinstance(a, np.ndarray)


class _AMEstimator(BaseEstimator):
    """What both estimators share: parameters, solver options, fitting, the forward pass."""

    _task = "classification"

    def __init__(self, solver: str = "mdlam", hidden_layer_sizes: Sequence[int] = (100,), activation: str = "relu",
                 loss: str | None = None, max_iter: int = 50, random_state: Any = None, warm_start: bool = False,
                 dtype: str = "float64", **options: Any) -> None:
        self.solver = solver
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.max_iter = max_iter
        self.random_state = random_state
        self.warm_start = warm_start
        self.dtype = dtype
        for key, value in options.items():
            setattr(self, key, value)

    # ------------------------------------------------------------------ parameters
    @classmethod
    def _get_param_names(cls) -> list[str]:
        return sorted(_BASE_PARAMS)

    def _option_names(self) -> list[str]:
        """The solver options set on this estimator (constructor keywords or ``set_params``): every public
        attribute that is not a base parameter or a fitted attribute (those end with ``_``)."""
        return [k for k in vars(self) if k not in _BASE_PARAMS and not k.startswith("_") and not k.endswith("_")]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The estimator's parameters, the solver options set on it included."""
        out = {name: getattr(self, name) for name in _BASE_PARAMS}
        out.update({name: getattr(self, name) for name in self._option_names()})
        return out

    def set_params(self, **params: Any) -> "_AMEstimator":
        """Set parameters; any name is taken as a solver option, checked against the solver's options class
        by ``fit`` (as scikit-learn validates parameters at fit time)."""
        for key, value in params.items():
            if key.startswith("_") or key.endswith("_"):
                raise ValueError(f"invalid parameter {key!r} for {type(self).__name__}")
            setattr(self, key, value)
        return self

    def _options(self, spec):
        names = self._option_names()
        fields = {f.name for f in dataclasses.fields(spec.options_class)}
        unknown = [n for n in names if n not in fields]
        if unknown:
            raise ValueError(f"solver {spec.name!r} has no option {unknown[0]!r}; its options: "
                             f"{', '.join(sorted(fields))}")
        return spec.options_class(**{n: getattr(self, n) for n in names})

    def __sklearn_tags__(self):  # scikit-learn ≥ 1.6
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        if self._task == "regression":
            tags.target_tags.multi_output = True
        return tags

    # ------------------------------------------------------------------ fitting
    def _check_X(self, X: Any, *, reset: bool) -> Array:
        if _is_numpy(X) and HAVE_SKLEARN:
            X = validate_data(self, X, reset=reset, dtype=np.float64)
        else:
            if getattr(X, "ndim", None) != 2:
                raise ValueError(f"X must be 2-D (samples × features), got shape {getattr(X, 'shape', None)}")
            if reset:
                self.n_features_in_ = int(X.shape[1])
            elif int(X.shape[1]) != self.n_features_in_:
                raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                                 f"{self.n_features_in_} features as input")
        xp = namespace(X)
        return xp.astype(xp.asarray(X), getattr(xp, self.dtype))

    def _targets(self, y: Any, xp, device) -> Array:  # pragma: no cover - overridden
        raise NotImplementedError

    def fit(self, X: Any, y: Any) -> "_AMEstimator":
        """Train the network on ``X`` (samples × features) and ``y``; returns ``self``."""
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if _is_numpy(X) and HAVE_SKLEARN:
            X, y = validate_data(self, X, y, dtype=np.float64, multi_output=self._task == "regression",
                                 y_numeric=self._task == "regression")
            X = X.astype(self.dtype, copy=False)
        else:
            X = self._check_X(X, reset=True)
        xp = namespace(X)
        device = getattr(X, "device", None)
        Y = self._targets(y, xp, device)
        x = X.T
        hidden = (self.hidden_layer_sizes,) if isinstance(self.hidden_layer_sizes, (int, np.integer)) \
            else tuple(self.hidden_layer_sizes)
        spec = get_solver(self.solver)
        if self.loss is not None:
            loss = self.loss
        else:
            loss = "squared" if self._task == "regression" else spec.paper_loss
        problem = MLP((int(x.shape[0]), *(int(h) for h in hidden), int(Y.shape[0])), activation=self.activation,
                      loss=loss, task=self._task)
        options = self._options(spec)
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, (int, np.integer)) or self.max_iter < 1:
            raise ValueError(f"max_iter must be a positive integer, got {self.max_iter!r}")
        params = None
        if self.warm_start and hasattr(self, "params_") and self.problem_.widths == problem.widths:
            params = list(self.params_)
        data = Dataset("fit", x, Y, task=self._task)
        result = minimize(spec, problem, data, options, max_iter=int(self.max_iter), params=params,
                          seed=self._seed(), eval_every=int(self.max_iter))
        if result.status.value == "diverged":
            warnings.warn(f"{self.solver} diverged ({result.message}); the last finite weights are kept",
                          ConvergenceWarning, stacklevel=2)
        self.problem_ = problem
        self.params_ = list(result.params)
        self.result_ = result
        self.n_iter_ = int(result.nit)
        self.loss_ = float(result.history["train_loss"][-1])
        self.coefs_ = [W.T for W in self.params_[0::2]]
        self.intercepts_ = [xp.reshape(b, (-1,)) for b in self.params_[1::2]]
        return self

    def _seed(self) -> int:
        rs = self.random_state
        if rs is None:
            return int(np.random.default_rng().integers(2**31))
        if isinstance(rs, (int, np.integer)) and not isinstance(rs, bool):
            return int(rs)
        if isinstance(rs, np.random.RandomState):
            return int(rs.randint(2**31))
        if isinstance(rs, np.random.Generator):
            return int(rs.integers(2**31))
        raise ValueError(f"random_state must be None, an int, a RandomState or a Generator, got {rs!r}")

    def _forward(self, X: Any) -> Array:
        """Output layer z_L for ``X`` (samples × features), samples × outputs."""
        if HAVE_SKLEARN:
            check_is_fitted(self, "params_")
        X = self._check_X(X, reset=False)
        xp = namespace(X)
        params = self.params_
        if namespace(params[0]) is not xp:  # fitted on another kind of array
            params = [from_host(to_host(p), xp, device=getattr(X, "device", None)) for p in params]
        return self.problem_.forward(params, X.T).T


class AMClassifier(ClassifierMixin, _AMEstimator):
    """An MLP classifier trained by an amref solver (alternating minimization or a gradient baseline).

    Parameters
    ----------
    solver : str
        Any name of :func:`amref.solver_names` (default ``"mdlam"``: fast and accurate at its paper
        defaults).
    hidden_layer_sizes : sequence of int
        Hidden widths (default one layer of 100).
    activation : str
        Hidden activation (:mod:`amref.activations`; ``"relu"``), or one per hidden layer.
    loss : str or None
        Output loss; None: the solver's paper loss.
    max_iter : int
        Iterations of the solver (epochs for a baseline).
    random_state : int, RandomState, Generator or None
        Seed of the initial weights (None: a fresh one per fit).
    warm_start : bool
        Start the next ``fit`` from this fit's weights (same widths).
    dtype : {"float64", "float32"}
        Precision of the training.
    **options
        Fields of the solver's options class (``amref list --options SOLVER``).

    Attributes
    ----------
    classes_ : array
        The class labels, sorted.
    n_features_in_ : int
    params_ : list
        ``[W_1, b_1, …]`` in amref's layout; ``coefs_`` / ``intercepts_`` in scikit-learn's.
    problem_ : MLP
    result_ : amref.Result
        The run (history, status, timings).
    n_iter_ : int
    loss_ : float
        Mean training loss after the last iteration.
    """

    def _targets(self, y, xp, device):
        if _is_numpy(y) and HAVE_SKLEARN:
            check_classification_targets(y)
        if getattr(y, "ndim", 1) != 1:
            raise ValueError(f"y must be 1-D, got shape {y.shape}")
        if _is_numpy(y):  # NumPy labels: classes on the host (labels may be strings)
            classes, idx = np.unique(np.asarray(y), return_inverse=True)
            self.classes_ = classes
            idx = from_host(idx.astype(np.int64), xp, device=device)
        else:  # labels on the device stay there
            self.classes_ = xp.unique_values(y)
            idx = xp.searchsorted(self.classes_, y)
        n_classes = int(self.classes_.shape[0])
        if n_classes < 2:
            raise ValueError(f"the classifier needs samples of at least 2 classes; got 1 class ({self.classes_[0]!r})")
        k = xp.arange(n_classes, device=device) if device is not None else xp.arange(n_classes)
        return xp.astype(xp.reshape(idx, (1, -1)) == xp.reshape(k, (-1, 1)), getattr(xp, self.dtype))

    def decision_function(self, X: Any) -> Array:
        """The network's outputs z_L, samples × classes (two classes: z₂ − z₁, one value per sample)."""
        z = self._forward(X)
        return z[:, 1] - z[:, 0] if z.shape[1] == 2 else z

    def predict(self, X: Any) -> Array:
        """The class of the largest output, for every sample."""
        z = self._forward(X)
        xp = namespace(z)
        idx = xp.argmax(z, axis=1)
        if _is_numpy(self.classes_):  # host labels (fitted from NumPy y)
            return self.classes_[np.asarray(to_host(idx))]
        return xp.take(self.classes_, idx)

    def predict_proba(self, X: Any) -> Array:
        """Softmax of the outputs (the class probabilities of the cross-entropy model)."""
        z = self._forward(X)
        xp = namespace(z)
        e = xp.exp(z - xp.max(z, axis=1, keepdims=True))
        return e / xp.sum(e, axis=1, keepdims=True)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy (in the arrays' own namespace)."""
        if sample_weight is not None or _is_numpy(X):
            return ClassifierMixin.score(self, X, y, sample_weight) if HAVE_SKLEARN else \
                float(np.mean(np.asarray(self.predict(X)) == np.asarray(y)))
        xp = namespace(X)
        return float(xp.mean(xp.astype(self.predict(X) == y, xp.float64)))


class AMRegressor(RegressorMixin, _AMEstimator):
    """An MLP regressor trained by an amref solver with the squared loss.

    Parameters and attributes are those of :class:`AMClassifier` (no ``classes_``); ``y`` may be 1-D or
    samples × targets. ``loss`` must be None or ``"squared"``.
    """

    _task = "regression"

    def _targets(self, y, xp, device):
        if _is_numpy(y):
            y = np.asarray(y, dtype=self.dtype)
            self._y_1d = y.ndim == 1
            Y = y.reshape(-1, 1) if y.ndim == 1 else y
            Y = from_host(np.ascontiguousarray(Y.T), xp, device=device, dtype=self.dtype)
        else:
            self._y_1d = y.ndim == 1
            Y = xp.reshape(y, (1, -1)) if y.ndim == 1 else y.T
            Y = xp.astype(Y, getattr(xp, self.dtype))
        return Y

    def predict(self, X: Any) -> Array:
        """The network's outputs (1-D when ``y`` was)."""
        z = self._forward(X)
        return namespace(z).reshape(z, (-1,)) if self._y_1d else z

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R² (averaged over the targets), in the arrays' own namespace."""
        if sample_weight is not None or _is_numpy(X):
            if HAVE_SKLEARN:
                return RegressorMixin.score(self, X, y, sample_weight)
        xp = namespace(X)
        p = self.predict(X)
        y = xp.asarray(y) if not _is_numpy(y) else from_host(np.asarray(y), xp)
        p2, y2 = (xp.reshape(a, (-1, 1)) if a.ndim == 1 else a for a in (p, y))
        res = xp.sum((y2 - p2) ** 2, axis=0)
        tot = xp.sum((y2 - xp.mean(y2, axis=0)) ** 2, axis=0)
        return float(xp.mean(1.0 - res / tot))

