"""
Quick start: dlADMM on digits
=============================

Train a 64-32-10 ReLU network on scikit-learn's 8×8 digits with dlADMM, the KDD 2019 algorithm, and plot
its augmented Lagrangian and its accuracy per iteration. No gradients are computed: every block of the
problem is updated by a closed form or a linearised step.
"""

import matplotlib.pyplot as plt

import amref
from amref.solvers.dladmm import DlADMMOptions

data = amref.load_dataset("digits")
problem = amref.MLP((data.n_features, 32, data.n_classes))
options = DlADMMOptions(rho=1.0, nu=1.0, rho_schedule="constant")
result = amref.minimize(amref.get_solver("dladmm"), problem, data, options, max_iter=30)
print(result)

# %%
# ``result.history`` holds one value per iteration for every recorded column.

h = result.history
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
ax1.semilogy(h["objective"])
ax1.set(xlabel="iteration", ylabel="augmented Lagrangian $L_\\rho$", title="objective")
ax2.plot(h["train_accuracy"], label="train")
ax2.plot(h["test_accuracy"], label="test")
ax2.set(xlabel="iteration", ylabel="accuracy", title="accuracy")
ax2.legend()
fig.tight_layout()
