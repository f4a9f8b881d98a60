"""The alternating-minimization solvers, one module per paper.

==============  =====================================================================  =================
name            paper                                                                  module
==============  =====================================================================  =================
``dladmm``      Wang, Yu, Chen, Zhao. ADMM for Efficient Deep Learning with Global      :mod:`.dladmm`
                Convergence. KDD 2019.
``taylor-admm`` Taylor, Burmeister, Xu, Singh, Patel, Goldstein. Training Neural        :mod:`.taylor_admm`
                Networks Without Gradients: A Scalable ADMM Approach. ICML 2016.
``bcd``         Zeng, Lau, Lin, Yao. Global Convergence of Block Coordinate Descent     :mod:`.bcd`
                in Deep Learning. ICML 2019.
==============  =====================================================================  =================

Every solver is a :class:`~amref.driver.SolverSpec`; :func:`get_solver` looks one up by name.
"""

from __future__ import annotations

import importlib

from ..driver import SolverSpec

#: name → module that defines ``SOLVER`` (imported on first use).
_REGISTRY: dict[str, str] = {
    "dladmm": "amref.solvers.dladmm",
    "taylor-admm": "amref.solvers.taylor_admm",
    "bcd": "amref.solvers.bcd",
}


def solver_names() -> list[str]:
    """Names of the AM solvers."""
    return list(_REGISTRY)


def get_solver(name: str) -> SolverSpec:
    """The :class:`~amref.driver.SolverSpec` called ``name``.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown solver {name!r}; choose from {', '.join(_REGISTRY)}")
    return importlib.import_module(_REGISTRY[name]).SOLVER
