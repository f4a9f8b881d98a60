"""amref: reference implementations of alternating-minimization training for neural networks.

Quick start::

    import amref
    data = amref.load_dataset("digits")
    problem = amref.MLP((data.n_features, 64, data.n_classes))
    result = amref.minimize(amref.get_solver("dladmm"), problem, data,
                            amref.solvers.dladmm.DlADMMOptions(rho=1.0, nu=1.0), max_iter=50)
    print(result)
"""

from . import optim, solvers
from .data import Dataset, load_dataset
from .contract import IterationInfo, SolverSpec, StateLost
from .driver import minimize
from .options import show_options
from .problem import MLP, load_params, save_params
from .result import History, Result, Status
from .solvers import get_solver, solver_names

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "Dataset",
    "History",
    "IterationInfo",
    "Result",
    "SolverSpec",
    "StateLost",
    "Status",
    "get_solver",
    "load_dataset",
    "load_params",
    "minimize",
    "optim",
    "save_params",
    "show_options",
    "solver_names",
    "solvers",
]
