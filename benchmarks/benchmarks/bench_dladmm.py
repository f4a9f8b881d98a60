"""asv: one dlADMM iteration over width, sample count, dtype and backend; convergence quality."""

from __future__ import annotations

from amref.problem import MLP
from amref.solvers import dladmm
from amref.solvers.dladmm import DlADMMOptions
from amref.solvers.subproblems import ZLOptions

from .common import grid, mnist_like, namespace_or_skip, synchronize


class DlADMMIteration:
    """One iteration (Algorithm 1) of 784-w-w-10 on N MNIST-shaped samples."""

    params = (grid([256, 1000]), grid([2000, 10000]), grid(["float32", "float64"]), ["numpy", "cupy"],
              ["fista", "newton"])
    param_names = ["width", "samples", "dtype", "backend", "zl_solver"]
    timeout = 300

    def setup(self, width, samples, dtype, backend, zl_solver):
        self.xp = namespace_or_skip(backend)
        self.data = mnist_like(784, samples, 10, dtype, self.xp)
        problem = MLP((784, width, width, 10))
        self.options = DlADMMOptions(zl=ZLOptions(method=zl_solver))
        params = problem.init_params(0, xp=self.xp, dtype=dtype)
        state = dladmm.init_state(problem, self.data, params, self.options)
        self.state = dladmm.step(state, self.data, self.options)  # warm-up: JIT compilation, caches
        synchronize(self.xp)

    def time_iteration(self, *args):
        dladmm.step(self.state, self.data, self.options)
        synchronize(self.xp)

    def peakmem_iteration(self, *args):
        dladmm.step(self.state, self.data, self.options)


class DlADMMConvergence:
    """Quality tracked over commits: L_ρ decrease and accuracy after a fixed number of iterations (ρ = ν = 1)."""

    params = [["fista", "newton"]]
    param_names = ["zl_solver"]
    timeout = 300

    def setup(self, zl_solver):
        import amref

        xp = namespace_or_skip("numpy")
        data = mnist_like(784, 1000, 10, "float64", xp)
        self.result = amref.minimize(amref.get_solver("dladmm"), MLP((784, 64, 64, 10)), data,
                                     DlADMMOptions(rho=1.0, nu=1.0, zl=ZLOptions(method=zl_solver)), max_iter=10)

    def track_lagrangian_ratio(self, zl_solver):
        h = self.result.history["objective"]
        return h[-1] / h[0]

    track_lagrangian_ratio.unit = "L_rho(10)/L_rho(1)"

    def track_train_accuracy(self, zl_solver):
        return self.result.history["train_accuracy"][-1]

    track_train_accuracy.unit = "accuracy"
