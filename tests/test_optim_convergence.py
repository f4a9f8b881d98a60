"""Every optimizer converges on a small convex quadratic and on Rosenbrock, and trains a small MLP.

Settings per optimizer (learning rate, schedule, budget) were tuned once; sign-based and trust-ratio
methods need a decaying learning rate to settle (a constant one makes them oscillate). AdaFisher has no
Kronecker factors on these problems, so it runs with F̃ = 1 (momentum SGD with its bias correction);
AdAdaGrad without its batch controller is AdaGrad-Norm.
"""

from __future__ import annotations

import numpy as np
import pytest

import amref
from amref import optim
from amref.optim import apply_updates

H_QUAD = np.array([1.0, 10.0])
C_QUAD = np.array([1.0, -1.0])


def quadratic(x):
    """f = ½ Σ h_i (x_i − c_i)², condition number 10; minimiser c."""
    return 0.5 * float((H_QUAD * (x - C_QUAD) ** 2).sum()), H_QUAD * (x - C_QUAD), np.diag(H_QUAD)


def rosenbrock(x, b=100.0):
    """(1 − x)² + b (y − x²)², minimiser (1, 1); value, gradient and Hessian."""
    r = x[1] - x[0] ** 2
    g = np.array([-2 * (1 - x[0]) - 4 * b * x[0] * r, 2 * b * r])
    H = np.array([[2 - 4 * b * x[1] + 12 * b * x[0] ** 2, -4 * b * x[0]], [-4 * b * x[0], 2 * b]])
    return float((1 - x[0]) ** 2 + b * r**2), g, H


def minimise(name, fields, fn, x0, steps, seed=0):
    rng = np.random.default_rng(seed)
    opt = optim.optimizer(name, weight_decay=0.0, **fields)
    x = [np.array(x0, dtype=float)]
    state = opt.init(x)
    for _ in range(steps):
        value, g, H = fn(x[0])
        extras = {}
        if name == "adahessian":  # Hutchinson sample with the exact Hessian
            z = rng.integers(0, 2, size=x[0].shape) * 2.0 - 1.0
            extras["hessian_diag"] = [z * (H @ z)]
        if name == "soaa":
            extras["loss"] = value
        deltas, state = opt.update([g], state, x, **extras)
        x = apply_updates(x, deltas)
    return x[0]


def cosine(lr, steps):
    return {"lr": lr, "schedule": "cosine", "decay_steps": steps}


QUADRATIC = {  # name: (fields, steps); from (−1, 10) to (1, −1) within 1e-3
    "sgd": ({"lr": 0.15}, 300),
    "momentum": ({"lr": 0.05}, 300),
    "nesterov": ({"lr": 0.05}, 300),
    "adagrad": ({"lr": 1.0}, 500),
    "adadelta": ({"lr": 3.0}, 1000),
    "rmsprop": (cosine(0.1, 500), 500),
    "adam": (cosine(0.3, 500), 500),
    "adamw": (cosine(0.3, 500), 500),
    "adagrad-norm": ({"lr": 3.0}, 1000),
    "adadagrad": ({"lr": 3.0}, 1000),
    "sgd-sai": (cosine(0.1, 500), 500),
    "adan": ({"lr": 1.0}, 500),
    "adabelief": (cosine(0.3, 500), 500),
    "diffgrad": (cosine(0.3, 500), 500),
    "adahessian": ({"lr": 0.5}, 300),
    "exadam": (cosine(0.1, 500), 500),
    "lars": (cosine(3.0, 500), 500),
    "lamb": (cosine(0.1, 500), 500),
    "lion": (cosine(0.3, 500), 500),
    "soaa": ({"lr": 3.0}, 2000),  # F ∝ g² wins the max for |g| > 1: steps ∝ 1/|g| early
    "adafisher": ({"lr": 0.05}, 300),
}

ROSENBROCK = {  # name: (fields, steps); from (0, 0) to (1, 1) within 3e-2 (optax's test)
    "sgd": ({"lr": 1e-3}, 10000),
    "momentum": ({"lr": 3e-3}, 3000),
    "nesterov": ({"lr": 1e-3}, 3000),
    "adagrad": ({"lr": 0.03}, 5000),
    "adadelta": (cosine(0.5, 5000), 5000),
    "rmsprop": (cosine(3e-3, 5000), 5000),
    "adam": (cosine(0.01, 3000), 3000),
    "adamw": (cosine(0.01, 3000), 3000),
    "adagrad-norm": ({"lr": 0.1}, 5000),
    "adadagrad": ({"lr": 0.1}, 5000),
    "sgd-sai": (cosine(0.03, 3000), 3000),
    "adan": (cosine(3e-3, 3000), 3000),
    "adabelief": (cosine(3e-3, 3000), 3000),
    "diffgrad": (cosine(0.1, 3000), 3000),
    "adahessian": ({"lr": 1.0}, 5000),
    "exadam": ({"lr": 1e-3}, 3000),
    "lars": (cosine(0.5, 3000), 3000),
    "lamb": (cosine(0.01, 3000), 3000),
    "lion": (cosine(0.01, 3000), 3000),
    "soaa": (cosine(0.01, 3000), 3000),
    "adafisher": ({"lr": 0.03}, 3000),
}


def test_every_baseline_has_a_setting():
    assert set(QUADRATIC) == set(ROSENBROCK) == set(amref.baseline_names())


@pytest.mark.parametrize("name", list(QUADRATIC))
def test_converges_on_a_quadratic(name):
    fields, steps = QUADRATIC[name]
    x = minimise(name, fields, quadratic, [-1.0, 10.0], steps)
    np.testing.assert_allclose(x, C_QUAD, atol=1e-3)


@pytest.mark.parametrize("name", list(ROSENBROCK))
def test_converges_on_rosenbrock(name):
    fields, steps = ROSENBROCK[name]
    x = minimise(name, fields, rosenbrock, [0.0, 0.0], steps)
    np.testing.assert_allclose(x, [1.0, 1.0], atol=3e-2)
