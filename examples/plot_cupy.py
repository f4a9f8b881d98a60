"""
The same solver on a GPU with CuPy
==================================

Move the data once with :meth:`amref.Dataset.to`; the solver follows the arrays. On a machine without
CuPy or without a GPU this example says so and does nothing else.
"""

import time

import amref
from amref.solvers.dladmm import DlADMMOptions


def gpu_available() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # CuPy missing, or no driver / device
        return False


data = amref.load_dataset("digits")
problem = amref.MLP((data.n_features, 32, data.n_classes))
options = DlADMMOptions(rho=1.0, nu=1.0, rho_schedule="constant")

if not gpu_available():
    print("CuPy or a GPU is not available here: skipped.")
else:
    for backend in ("numpy", "cupy"):
        d = data.to(backend, dtype="float32")
        start = time.perf_counter()
        result = amref.minimize(amref.get_solver("dladmm"), problem, d, options, max_iter=20)
        seconds = time.perf_counter() - start
        print(f"{backend:6s} {seconds:.2f} s, test accuracy {result.history['test_accuracy'][-1]:.3f}")
