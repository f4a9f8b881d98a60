"""
An AM solver beside Adam on the same problem
============================================

The gradient baselines run through the same driver as the AM solvers, so the two results have the same
history columns and can be plotted together. Both start from the same initial weights (seed 0); the
baseline is full batch, so one iteration is one epoch for both.
"""

import matplotlib.pyplot as plt

import amref
from amref.optim.adam import AdamOptions
from amref.solvers.dladmm import DlADMMOptions

data = amref.load_dataset("digits")
problem = amref.MLP((data.n_features, 32, data.n_classes))
runs = {
    "dlADMM (ρ = ν = 1)": amref.minimize(amref.get_solver("dladmm"), problem, data,
                                        DlADMMOptions(rho=1.0, nu=1.0, rho_schedule="constant"), max_iter=30),
    "Adam (lr 1e-2)": amref.minimize(amref.get_solver("adam"), problem, data, AdamOptions(lr=1e-2), max_iter=30),
}

fig, ax = plt.subplots(figsize=(6, 3.5))
for label, result in runs.items():
    print(f"{label:20s} test accuracy {result.history['test_accuracy'][-1]:.3f}")
    ax.plot(result.history["test_accuracy"], label=label)
ax.set(xlabel="iteration (epoch)", ylabel="test accuracy", title="digits, 64-32-10")
ax.legend()
fig.tight_layout()
