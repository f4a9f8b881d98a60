"""The alternating-minimization solvers, one module per paper.

===============  =====================================================================  =================
name             paper                                                                  module
===============  =====================================================================  =================
``dladmm``       Wang, Yu, Chen, Zhao. ADMM for Efficient Deep Learning with Global      :mod:`.dladmm`
                 Convergence. KDD 2019.
``taylor-admm``  Taylor, Burmeister, Xu, Singh, Patel, Goldstein. Training Neural        :mod:`.taylor_admm`
                 Networks Without Gradients: A Scalable ADMM Approach. ICML 2016.
``bcd``          Zeng, Lau, Lin, Yao. Global Convergence of Block Coordinate Descent     :mod:`.bcd`
                 in Deep Learning. ICML 2019.
``mdlam``        Wang, Li, Zhao. Accelerated Gradient-free Neural Network Training by    :mod:`.mdlam`
                 Multi-convex Alternating Optimization. Neurocomputing 2022.
``pdadmm``       Wang, Chai, Cheng, Zhao. Toward Model Parallelism for Deep Neural       :mod:`.pdadmm`
                 Network based on Gradient-free ADMM Framework. ICDM 2020.
``pdadmm-g``     Wang, Li, Chai, Wang, Cheng, Zhao. Towards Quantized Model              :mod:`.pdadmm_g`
                 Parallelism for Graph-Augmented MLPs Based on Gradient-Free ADMM
                 Framework. TNNLS 2022 (pdADMM with that paper's defaults, on GA-MLP
                 features).
``pdadmm-g-q``   the same paper's quantized variant (p_l in a finite set Δ).            :mod:`.pdadmm_g`
===============  =====================================================================  =================

Every solver is a :class:`~amref.contract.SolverSpec`; :func:`get_solver` looks one up by name.
:mod:`.greedy` trains any of them layer-wise (shallow net first, then deeper ones).
"""

from __future__ import annotations

import importlib

from ..contract import SolverSpec

#: name → module that defines ``SOLVER``, or ``"module:attribute"`` (imported on first use).
_REGISTRY: dict[str, str] = {
    "dladmm": "amref.solvers.dladmm",
    "taylor-admm": "amref.solvers.taylor_admm",
    "bcd": "amref.solvers.bcd",
    "mdlam": "amref.solvers.mdlam",
    "pdadmm": "amref.solvers.pdadmm",
    "pdadmm-g": "amref.solvers.pdadmm_g:SOLVER_G",
    "pdadmm-g-q": "amref.solvers.pdadmm_g:SOLVER_Q",
}


def am_solver_names() -> list[str]:
    """Names of the alternating-minimization solvers."""
    return list(_REGISTRY)


def solver_names() -> list[str]:
    """Every name :func:`get_solver` accepts: the AM solvers, then the gradient baselines."""
    from .. import optim

    return am_solver_names() + optim.baseline_names()


def get_solver(name: str) -> SolverSpec:
    """The :class:`~amref.contract.SolverSpec` called ``name``: an AM solver, else a gradient baseline
    (:func:`amref.optim.get_baseline`), so ``get_solver("adam")`` works too.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    """
    if name in _REGISTRY:
        module, _, attribute = _REGISTRY[name].partition(":")
        return getattr(importlib.import_module(module), attribute or "SOLVER")
    from .. import optim

    if name in optim.baseline_names():
        return optim.get_baseline(name)
    raise ValueError(f"unknown solver {name!r}; choose from {', '.join(_REGISTRY)} "
                     f"or the gradient baselines {', '.join(optim.baseline_names())}")
