"""
dlADMM's Fig 2 vs Fig 3 in miniature
====================================

The dlADMM paper proves that the augmented Lagrangian decreases monotonically when ρ exceeds twice the
Lipschitz constant of the loss's gradient (ρ > 2H, H ≤ 1/2 for the softmax cross-entropy), and shows in
its Fig 3 that with a tiny ρ it does not. The same contrast on digits: ρ = ν = 1 against ρ = ν = 1e-6,
both held constant.
"""

import matplotlib.pyplot as plt
import numpy as np

import amref
from amref.solvers.dladmm import DlADMMOptions

data = amref.load_dataset("digits")
problem = amref.MLP((data.n_features, 32, data.n_classes))
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
for rho in (1.0, 1e-6):
    options = DlADMMOptions(rho=rho, nu=rho, rho_schedule="constant")
    h = amref.minimize(amref.get_solver("dladmm"), problem, data, options, max_iter=30).history
    objective = np.asarray(h["objective"])
    monotone = float(np.mean(np.diff(objective) <= 1e-9 * np.abs(objective[:-1])))
    print(f"rho = {rho:g}: L_rho non-increasing in {monotone:.0%} of the iterations")
    ax1.plot(objective, label=f"ρ = {rho:g}")
    ax2.semilogy(h["residual"], label=f"ρ = {rho:g}")
ax1.set(xlabel="iteration", ylabel="$L_\\rho$", title="objective")
ax1.set_yscale("symlog")
ax2.set(xlabel="iteration", ylabel="residual", title="$\\|z_L - W_L a_{L-1} - b_L\\|^2$")
ax1.legend()
fig.tight_layout()
