"""amref: reference implementations of alternating-minimization training for neural networks.

Quick start::

    import amref
    data = amref.load_dataset("digits")
    problem = amref.MLP((data.n_features, 64, data.n_classes))
    result = amref.minimize(amref.get_solver("dladmm"), problem, data,
                            amref.solvers.dladmm.DlADMMOptions(rho=1.0, nu=1.0), max_iter=50)
    print(result)

The public API is :data:`__all__` below: the names most programs need, plus the public modules, all
importable after ``import amref`` (``amref.solvers.dladmm``, ``amref.optim.adam``, …). Each module lists
its own public names in its ``__all__``; a name starting with ``_`` is internal.

===================  ==============================================================================
module               what it holds
===================  ==============================================================================
``registry``         every solver name and its spec: ``get_solver``, ``solver_names``, …
``solvers``          the alternating-minimization solvers, one module per paper; ``greedy``
``optim``            the gradient baselines (``init``/``update`` pairs) and their training loop
``contract``         ``SolverSpec``, ``IterationInfo``, ``StateLost``: what a solver declares
``driver``           ``minimize``: the one loop (history, evaluation, callback, divergence, tolerance)
``problem``          ``MLP`` and parameter I/O
``losses``           the output losses and their gradients
``activations``      the hidden activations (ReLU, leaky ReLU, hard tanh, linear, sigmoid, tanh, step)
                     and their exact elementwise subproblems
``backprop``         hand-written gradients and Hessian-vector products of the MLP
``quantize``         quantization grids (pdADMM-G-Q)
``data``             ``Dataset``, ``load_dataset`` and the loaders
``backend``          the array namespace helpers (NumPy, CuPy, array-api-strict)
``checkpoint``       atomic checkpoints of solver states and of runs
``options``          the one validator of every options class, ``show_options``
``protocols``        the papers' experiments as named TOML protocols; ``reproduce``
``provenance``       what a run record says about where and how it ran
``defaults``         the quickstart settings ``amref train`` uses on small data sets
``threads``          the BLAS/Numba thread count chosen from the problem size
``progress``         the iteration table of ``amref train`` and ``minimize(verbose=True)``
``result``           ``Result``, ``Status``, ``History``
``kernels``          optional Numba kernels
``parallel``         runners: serial, and dask (needs the ``distributed`` extra, imported when used);
                     ``minimize_with_restores`` for runs that survive lost workers
``sklearn``          ``AMClassifier``, ``AMRegressor``: scikit-learn estimators over every solver
                     (imported on first access, so ``import amref`` does not import scikit-learn)
===================  ==============================================================================

``amref.cli`` (the command line) and ``amref.plotting`` (needs the ``plot`` extra) are imported when
used.
"""

from . import (activations, backend, backprop, checkpoint, contract, data, defaults, driver, kernels, losses, optim,
               options, parallel, problem, progress, provenance, quantize, registry, result, solvers, threads)
from . import protocols  # noqa: E402 - above the registry: reads solvers and options by name
from .protocols import reproduce
from .contract import IterationInfo, SolverSpec, StateLost
from .data import Dataset, load_dataset
from .driver import minimize
from .options import show_options
from .problem import MLP, load_params, save_params
from .registry import am_solver_names, baseline_names, get_solver, solver_names
from .result import History, Result, Status

__all__ = [
    # functions and classes
    "MLP",
    "Dataset",
    "History",
    "IterationInfo",
    "Result",
    "SolverSpec",
    "StateLost",
    "Status",
    "am_solver_names",
    "baseline_names",
    "get_solver",
    "load_dataset",
    "load_params",
    "minimize",
    "reproduce",
    "save_params",
    "show_options",
    "solver_names",
    # modules
    "activations",
    "backend",
    "backprop",
    "checkpoint",
    "contract",
    "data",
    "defaults",
    "driver",
    "kernels",
    "losses",
    "optim",
    "options",
    "parallel",
    "problem",
    "progress",
    "protocols",
    "provenance",
    "quantize",
    "registry",
    "result",
    "sklearn",
    "solvers",
    "threads",
]


def __getattr__(name: str):
    """``amref.sklearn`` on first access (it imports scikit-learn, an optional extra)."""
    if name == "sklearn":
        import importlib

        return importlib.import_module(".sklearn", __name__)
    raise AttributeError(f"module 'amref' has no attribute {name!r}")

__version__ = "0.1.0"
