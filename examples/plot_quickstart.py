"""
Quick start: dlADMM on digits
=============================

Train a 64-100-100-10 ReLU network on scikit-learn's 8×8 digits with dlADMM, the KDD 2019 algorithm, and
plot its augmented Lagrangian and its accuracy per iteration. No gradients are computed: every block of
the problem is updated by a closed form or a linearised step.

This is the job ``amref train`` runs with no flags: the ``quickstart`` settings for digits
(``amref/protocols/quickstart.toml``: ρ = ν = 0.2 held constant, 50 iterations), which reach about 0.94
test accuracy with an objective that falls every iteration. The paper's ρ = ν = 1e-6 is tuned for 55,000
MNIST images; on 1,437 digits its objective rises (``amref train --preset paper``: about 0.76).
"""

import matplotlib.pyplot as plt
from threadpoolctl import threadpool_limits

import amref

run = amref.defaults.quickstart_run("dladmm", "digits")
print(run.describe())                      # what differs from the paper's defaults

data = amref.load_dataset("digits")
problem = amref.MLP((data.n_features, *run.hidden, data.n_classes))
options = run.build_options()              # DlADMMOptions(rho=0.2, nu=0.2, rho_schedule="constant")

# %%
# A problem this small loses to BLAS threads on a busy machine; ``amref train`` picks the thread count
# from the size of the largest matrix product (here one thread) and the machine's load.

choice = amref.threads.choose_threads(problem.widths, data.n_train)
print(choice.reason)
with threadpool_limits(limits=choice.threads):
    result = amref.minimize(amref.get_solver("dladmm"), problem, data, options, max_iter=run.iterations)
print(result)

# %%
# ``result.history`` holds one value per iteration for every recorded column.

h = result.history
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
ax1.plot(h["objective"])
ax1.set(xlabel="iteration", ylabel="augmented Lagrangian $L_\\rho$", title="objective")
ax2.plot(h["train_accuracy"], label="train")
ax2.plot(h["test_accuracy"], label="test")
ax2.set(xlabel="iteration", ylabel="accuracy", title="accuracy")
ax2.legend()
fig.tight_layout()
