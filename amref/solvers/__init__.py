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
``mac``          Carreira-Perpiñán, Wang. Distributed Optimization of Deeply Nested      :mod:`.mac`
                 Systems. AISTATS 2014 (the method of auxiliary coordinates).
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

Every solver module declares a :class:`~amref.contract.SolverSpec` (``SOLVER``); :mod:`amref.registry`
lists them, and :func:`amref.get_solver` looks one up by name.
:mod:`.greedy` trains any of them layer-wise (shallow net first, then deeper ones).
"""

from . import bcd, dladmm, greedy, mac, mdlam, pdadmm, pdadmm_g, subproblems, taylor_admm

__all__ = ["bcd", "dladmm", "greedy", "mac", "mdlam", "pdadmm", "pdadmm_g", "subproblems", "taylor_admm"]
