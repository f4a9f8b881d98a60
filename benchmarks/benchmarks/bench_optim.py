"""asv: gradient baselines. One full-batch epoch (forward-backward + update), the optimizer update
alone, the exact Hessian-vector product, and convergence quality tracked over commits."""

from __future__ import annotations

import numpy as np

from amref import backprop, get_solver
from amref.optim import apply_step, apply_updates, optimizer, options_class
from amref.problem import MLP

from .common import grid, mnist_like, namespace_or_skip, synchronize


class BaselineEpoch:
    """One epoch of 784-w-w-10 on N MNIST-shaped samples (full batch: one forward-backward and one update)."""

    params = (["adam", "sgd", "adahessian", "adafisher"], grid([256, 1000]), grid([2000, 10000]),
              grid(["float32", "float64"]), ["numpy", "cupy"])
    param_names = ["optimizer", "width", "samples", "dtype", "backend"]
    timeout = 300

    def setup(self, name, width, samples, dtype, backend):
        self.xp = namespace_or_skip(backend)
        self.data = mnist_like(784, samples, 10, dtype, self.xp)
        problem = MLP((784, width, width, 10))
        self.spec = get_solver(name)
        self.options = options_class(name)()
        state = self.spec.init_state(problem, self.data, problem.init_params(0, xp=self.xp, dtype=dtype), self.options)
        self.state = self.spec.step(state, self.data, self.options)  # warm-up
        synchronize(self.xp)

    def time_epoch(self, *args):
        self.spec.step(self.state, self.data, self.options)
        synchronize(self.xp)

    def peakmem_epoch(self, *args):
        self.spec.step(self.state, self.data, self.options)


class MiniBatchEpoch:
    """One epoch of Adam with mini-batches (gathers, per-batch overhead) on 784-256-256-10, 10,000 samples."""

    params = (grid([128, 1024]), ["float32"])
    param_names = ["batch_size", "dtype"]
    timeout = 300

    def setup(self, batch_size, dtype):
        self.xp = namespace_or_skip("numpy")
        self.data = mnist_like(784, 10000, 10, dtype, self.xp)
        problem = MLP((784, 256, 256, 10))
        self.spec = get_solver("adam")
        self.options = options_class("adam")(batch_size=batch_size)
        self.state = self.spec.init_state(problem, self.data, problem.init_params(0, dtype=dtype), self.options)

    def time_epoch(self, *args):
        self.spec.step(self.state, self.data, self.options)


class OptimizerUpdate:
    """One optimizer update alone on the 784-1000-1000-10 parameters (1.8 M entries): ``update`` +
    ``apply_updates`` (the array-API expressions, fused by Numba where a kernel exists), and
    ``apply_step``, the training loop's form, which also fuses the learning rate, decay and θ + Δ.
    ``benchmarks/optim_vs_torch.py`` sets ``apply_step`` beside PyTorch's ``optimizer.step()``."""

    params = (["sgd", "momentum", "adagrad", "adadelta", "rmsprop", "adam", "adamw", "adagrad-norm", "sgd-sai",
               "adan", "adabelief", "diffgrad", "exadam", "lars", "lamb", "lion"], grid(["float32", "float64"]))
    param_names = ["optimizer", "dtype"]

    def setup(self, name, dtype):
        rng = np.random.default_rng(0)
        shapes = MLP((784, 1000, 1000, 10)).param_shapes()
        self.params_ = [rng.standard_normal(s).astype(dtype) for s in shapes]
        self.grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
        self.opt = optimizer(name, is_bias=[False, True] * 3)
        _, self.state = self.opt.update(self.grads, self.opt.init(self.params_), self.params_)  # past step 1
        apply_step(self.opt, self.grads, self.state, self.params_)  # loads the kernels

    def time_update(self, *args):
        deltas, _ = self.opt.update(self.grads, self.state, self.params_)
        apply_updates(self.params_, deltas)

    def time_step(self, *args):
        apply_step(self.opt, self.grads, self.state, self.params_)


class HessianVectorProduct:
    """The exact R-operator HVP (AdaHessian's extra pass) against a plain gradient on the same batch."""

    params = (grid([2000, 10000]), grid(["float32", "float64"]))
    param_names = ["samples", "dtype"]
    timeout = 300

    def setup(self, samples, dtype):
        xp = namespace_or_skip("numpy")
        self.data = mnist_like(784, samples, 10, dtype, xp)
        self.problem = MLP((784, 256, 256, 10))
        self.params_ = self.problem.init_params(0, dtype=dtype)
        self.tape = backprop.forward_backward(self.problem, self.params_, self.data.x_train, self.data.y_train)
        rng = np.random.default_rng(1)
        self.v = [(rng.integers(0, 2, size=p.shape) * 2.0 - 1.0).astype(dtype) for p in self.params_]

    def time_gradient(self, *args):
        backprop.forward_backward(self.problem, self.params_, self.data.x_train, self.data.y_train)

    def time_hvp_reusing_the_tape(self, *args):
        backprop.hessian_vector_product(self.problem, self.params_, None, None, self.v, tape=self.tape)


class BaselineConvergence:
    """Quality tracked over commits: training accuracy after 10 epochs on 784-64-64-10, 1,000 samples."""

    params = [["sgd", "adagrad", "adadelta", "adam"]]
    param_names = ["optimizer"]
    timeout = 300

    def setup(self, name):
        import amref

        xp = namespace_or_skip("numpy")
        data = mnist_like(784, 1000, 10, "float64", xp)
        lr = {"sgd": 0.1, "adagrad": 0.01, "adadelta": 1.0, "adam": 1e-3}[name]
        self.result = amref.minimize(get_solver(name), MLP((784, 64, 64, 10)), data,
                                     options_class(name)(lr=lr, batch_size=100), max_iter=10)

    def track_train_accuracy(self, name):
        return self.result.history["train_accuracy"][-1]

    track_train_accuracy.unit = "accuracy"

    def track_objective_ratio(self, name):
        h = self.result.history["objective"]
        return h[-1] / h[0]

    track_objective_ratio.unit = "objective(10)/objective(1)"
