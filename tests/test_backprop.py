"""Hand-written backprop against independent truth: central differences, brute-force per-sample gradients."""

from __future__ import annotations

import numpy as np
import pytest

from amref import backprop
from amref.backend import from_host
from amref.data import one_hot
from amref.problem import MLP
from helpers import host

WIDTHS = (4, 5, 3, 3)
N = 7


LOSSES = ("cross_entropy", "squared", "hinge")


def tiny(xp, seed=0, loss="cross_entropy"):
    """A 4-5-3-3 ReLU net with weights large enough that several ReLUs are off, and a batch of 7."""
    rng = np.random.default_rng(seed)
    mlp = MLP(WIDTHS, loss=loss)
    params = mlp.init_params(seed + 1, xp=xp, std=0.7)
    x = from_host(rng.normal(size=(WIDTHS[0], N)), xp)
    y = from_host(one_hot(rng.integers(0, WIDTHS[-1], N), WIDTHS[-1]), xp)
    return mlp, params, x, y


def flat(tree):
    return np.concatenate([host(a).ravel() for a in tree])


def unflat(vec, like, xp):
    out, i = [], 0
    for a in like:
        n = int(np.prod(a.shape))
        out.append(from_host(vec[i:i + n].reshape(a.shape), xp))
        i += n
    return out


def loss_at(mlp, vec, like, x, y, xp, reduction):
    return float(backprop.forward_backward(mlp, unflat(vec, like, xp), x, y, reduction).loss)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_gradient_matches_central_differences(xp, reduction, loss):
    mlp, params, x, y = tiny(xp, loss=loss)
    tape = backprop.forward_backward(mlp, params, x, y, reduction)
    theta = flat(params)
    h = 1e-6
    fd = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        fd[i] = (loss_at(mlp, theta + e, params, x, y, xp, reduction)
                 - loss_at(mlp, theta - e, params, x, y, xp, reduction)) / (2 * h)
    np.testing.assert_allclose(flat(tape.grads), fd, rtol=1e-6, atol=1e-8)
    # the loss itself is the summed (or mean) output loss of the plain forward pass
    summed = mlp.loss_value(params, x, y)
    assert float(tape.loss) == pytest.approx(summed if reduction == "sum" else summed / N, rel=1e-12)
    # at least one hidden unit is off somewhere, so the ReLU mask is exercised
    assert any((host(a) == 0).any() for a in tape.activations[1:])


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_hvp_matches_differences_of_gradients(xp, reduction, loss):
    mlp, params, x, y = tiny(xp, loss=loss)
    rng = np.random.default_rng(3)
    v = unflat(rng.normal(size=flat(params).size), params, xp)
    hv = backprop.hessian_vector_product(mlp, params, x, y, v, reduction)
    h = 1e-5
    plus = backprop.loss_and_grad(mlp, [p + h * d for p, d in zip(params, v)], x, y, reduction)[1]
    minus = backprop.loss_and_grad(mlp, [p - h * d for p, d in zip(params, v)], x, y, reduction)[1]
    fd = (flat(plus) - flat(minus)) / (2 * h)
    np.testing.assert_allclose(flat(hv), fd, rtol=1e-6, atol=1e-8)
    for got, p in zip(hv, params):  # layout, namespace and dtype follow the parameters
        assert got.shape == p.shape and got.dtype == p.dtype


@pytest.mark.parametrize("loss", LOSSES)
def test_hvp_is_symmetric_and_reuses_the_tape(loss):
    import array_api_compat.numpy as xp

    mlp, params, x, y = tiny(xp, seed=4, loss=loss)
    rng = np.random.default_rng(5)
    u = unflat(rng.normal(size=flat(params).size), params, xp)
    v = unflat(rng.normal(size=flat(params).size), params, xp)
    hu = backprop.hessian_vector_product(mlp, params, x, y, u)
    hv = backprop.hessian_vector_product(mlp, params, x, y, v)
    assert flat(u) @ flat(hv) == pytest.approx(flat(v) @ flat(hu), rel=1e-10)
    tape = backprop.forward_backward(mlp, params, x, y)
    again = backprop.hessian_vector_product(mlp, params, None, None, v, tape=tape)
    np.testing.assert_array_equal(flat(again), flat(hv))


def test_hutchinson_mean_approaches_the_exact_diagonal():
    """E[z ∘ Hz] = diag H for Rademacher z; the error of a K-probe mean is checked at 5 standard errors."""
    import array_api_compat.numpy as xp

    mlp, params, x, y = tiny(xp, seed=6)
    d = flat(params).size
    columns = []
    for i in range(d):  # the exact Hessian, one unit vector at a time
        e = np.zeros(d)
        e[i] = 1.0
        columns.append(flat(backprop.hessian_vector_product(mlp, params, x, y, unflat(e, params, xp))))
    H = np.stack(columns, axis=1)
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    rng = np.random.default_rng(7)
    K = 600
    tape = backprop.forward_backward(mlp, params, x, y)
    total = np.zeros(d)
    for _ in range(K):
        z = rng.integers(0, 2, size=d) * 2.0 - 1.0
        total += z * flat(backprop.hessian_vector_product(mlp, params, x, y, unflat(z, params, xp), tape=tape))
    estimate = total / K
    off = (H**2).sum(axis=1) - np.diag(H) ** 2  # Var[z_i (Hz)_i] = Σ_{j≠i} H_ij²
    assert np.all(np.abs(estimate - np.diag(H)) <= 5 * np.sqrt(off / K) + 1e-12)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_per_sample_statistics_match_brute_force(xp, reduction):
    mlp, params, x, y = tiny(xp, seed=8)
    tape = backprop.forward_backward(mlp, params, x, y, reduction)
    per_sample = np.stack([flat(backprop.loss_and_grad(mlp, params, x[:, i:i + 1], y[:, i:i + 1])[1])
                           for i in range(N)])  # row i = ∇f_i
    np.testing.assert_allclose(host(backprop.per_sample_sq_norms(tape))[0], (per_sample**2).sum(axis=1), rtol=1e-12)
    v = unflat(np.random.default_rng(9).normal(size=per_sample.shape[1]), params, xp)
    np.testing.assert_allclose(host(backprop.per_sample_dots(tape, v))[0], per_sample @ flat(v), rtol=1e-10)
    np.testing.assert_allclose(flat(backprop.per_sample_coordinate_sq(tape)), (per_sample**2).sum(axis=0),
                               rtol=1e-12, atol=1e-300)
    # the batch gradient is the sum (or mean) of the per-sample ones
    scale = 1.0 if reduction == "sum" else 1.0 / N
    np.testing.assert_allclose(flat(tape.grads), scale * per_sample.sum(axis=0), rtol=1e-12, atol=1e-15)


def test_fisher_factors_match_brute_force(xp):
    mlp, params, x, y = tiny(xp, seed=10)
    tape = backprop.forward_backward(mlp, params, x, y, "sum")
    zs, acts = mlp.hidden(params, x)
    mean_tape = backprop.forward_backward(mlp, params, x, y, "mean")
    for l, (S, H) in enumerate(backprop.fisher_factors(tape)):
        a = host(acts[l])
        a_bar = np.vstack([a, np.ones((1, N))])
        np.testing.assert_allclose(host(H)[0], (a_bar**2).mean(axis=1), rtol=1e-12)
        s = host(mean_tape.deltas[l])  # ∂(mean loss)/∂z_l, column b = s_b
        np.testing.assert_allclose(host(S)[:, 0], (s**2).mean(axis=1), rtol=1e-12, atol=1e-300)
        assert S.shape == (WIDTHS[l + 1], 1) and H.shape == (1, WIDTHS[l] + 1)


def test_unknown_loss_or_reduction_raises():
    import array_api_compat.numpy as xp

    mlp, params, x, y = tiny(xp)
    with pytest.raises(ValueError, match="reduction"):
        backprop.forward_backward(mlp, params, x, y, "average")
    with pytest.raises(ValueError, match="loss"):
        backprop.output_loss("hinge-ish", x, x)
    with pytest.raises(ValueError, match="loss"):
        backprop.output_loss_hvp("hinge-ish", x, x, x)


def test_check_supported_takes_every_loss():
    for loss in LOSSES:
        backprop.check_supported(MLP(WIDTHS, loss=loss))
