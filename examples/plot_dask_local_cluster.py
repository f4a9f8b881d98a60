"""
Layer-parallel pdADMM on a dask LocalCluster
============================================

pdADMM updates every layer independently, so each layer's block can live on its own dask worker; only the
boundary arrays travel between neighbours. The iterates are exactly those of the serial run, which this
example checks. (Needs ``pip install ".[distributed]"``.)
"""

import matplotlib.pyplot as plt
import numpy as np
from dask.distributed import Client

import amref
from amref.parallel import DaskRunner
from amref.parallel.dask import local_cluster
from amref.solvers.pdadmm import PdADMMOptions

data = amref.load_dataset("digits")
problem = amref.MLP((data.n_features, 32, 32, data.n_classes))
options = PdADMMOptions(rho=0.5, nu=0.1)
serial = amref.minimize(amref.get_solver("pdadmm"), problem, data, options, max_iter=10)

with local_cluster(2, processes=False) as cluster, Client(cluster) as client:
    solver = DaskRunner(client).solver(amref.get_solver("pdadmm"))
    parallel = amref.minimize(solver, problem, data, options, max_iter=10)

same = all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(serial.params, parallel.params))
print(f"serial and dask runs give identical weights: {same}")
print(f"bytes between workers per iteration: {parallel.history['bytes_sent'][-1]:.0f}")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(serial.history["objective"], label="serial")
ax.plot(parallel.history["objective"], "--", label="dask, 2 workers")
ax.set(xlabel="iteration", ylabel="$L_\\rho$", title="pdADMM, 64-32-32-10")
ax.legend()
fig.tight_layout()
