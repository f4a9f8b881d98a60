"""Each optimizer's rule against values computed by hand from its written algorithm.

Two kinds of known values:

* first steps in closed form: the numbers follow from the rule in one
  line, and they are where implementations differ (ε placement, bias correction, decay style);
* three-step traces against a plain NumPy transcription of each module's algorithm box, written
  independently here, on a weight block and a bias block with the bias excluded from decay.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import amref
from amref import optim
from amref.backend import from_host
from amref.optim import apply_updates
from helpers import host

# ----------------------------------------------------------------------------- first steps in closed form
THETA = np.array([1.0, -2.0, 0.5, 3.0])
G = np.array([0.5, -2.0, 1.5, -0.3])  # |g| ≫ ε everywhere
S = np.sign(G)
sigmoid = lambda x: 1.0 / (1.0 + np.exp(-x))  # noqa: E731


def first_step(name, extras=None, **fields):
    import array_api_compat.numpy as xp

    theta = [from_host(THETA, xp)]
    opt = optim.optimizer(name, **fields)
    deltas, _ = opt.update([from_host(G, xp)], opt.init(theta), theta, **(extras or {}))
    return host(deltas[0])


def _sai_expected():
    snr = np.linalg.norm(G) / (np.std(G, ddof=1) + 1e-8)
    return (1 - 0.01 * 0.01) * THETA - 0.01 * snr * G - THETA


def _soaa_expected():
    fisher = (1 + (G**2).sum() / (G**2 + 1e-8).sum()) * G**2  # m̂ = g, v̂ = g², d_1 = 1
    return -0.01 * G / (np.maximum(fisher, np.abs(G)) + 1e-8)


D = np.array([2.0, -0.5, 0.1, 4.0])
FIRST_STEPS = [
    ("sgd", {"lr": 0.1}, None, -0.1 * G, 1e-15),
    ("momentum", {"lr": 0.1}, None, -0.1 * G, 1e-15),                     # b_1 = g_1
    ("nesterov", {"lr": 0.1}, None, -0.1 * 1.9 * G, 1e-15),               # g + μ b_1
    ("adagrad", {"lr": 0.01}, None, -0.01 * S, 1e-9),                      # G_0 = 0
    ("adadelta", {"lr": 1.0}, None, -np.sqrt(1e-6 / (0.1 * G**2 + 1e-6)) * G, 1e-12),
    ("rmsprop", {"lr": 0.01}, None, -0.1 * S, 1e-6),                       # γ sign g / sqrt(1 − α)
    ("adam", {"lr": 0.01}, None, -0.01 * S, 1e-6),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1}, None, -0.01 * S - 0.001 * THETA, 1e-6),
    ("adagrad-norm", {"lr": 1.0}, None, -G / np.sqrt(0.01 + (G**2).sum()), 1e-9),
    ("adagrad-norm", {"lr": 1.0, "scope": "row"}, None, -G / np.sqrt(0.01 + G**2), 1e-9),  # 1-D: per element
    ("sgd-sai", {"lr": 0.01, "weight_decay": 0.01}, None, _sai_expected(), 1e-12),
    ("adan", {"lr": 0.01, "weight_decay": 0.02}, None,
     (THETA - 0.01 * G / (np.abs(G) + 1e-8)) / (1 + 0.01 * 0.02) - THETA, 1e-12),
    ("adabelief", {"lr": 0.01, "rectify": False}, None, -0.01 / 0.9 * S, 1e-9),   # g − m_1 = β_1 g
    ("adabelief", {"lr": 0.01}, None, -0.01 * G, 1e-12),                            # ρ_1 = 1 < 5: SGD branch
    ("diffgrad", {"lr": 0.01}, None, -0.01 * sigmoid(np.abs(G)) * G / (np.abs(G) + 1e-8 / np.sqrt(1e-3)), 1e-12),
    ("adahessian", {"lr": 0.15}, {"hessian_diag": D}, -0.15 * G / (np.abs(D) + 1e-4), 1e-12),
    ("exadam", {"lr": 0.01}, None, -0.01 * 15.95 * S, 3e-3),                 # ≈ 15.95 γ for |g| ≳ 0.1
    ("lars", {"lr": 1.0}, None, -1e-3 * np.linalg.norm(THETA) / np.linalg.norm(G) * G, 1e-12),
    ("lamb", {"lr": 0.01, "weight_decay": 0.0}, None, -0.01 * np.linalg.norm(THETA) / 2 * S, 1e-5),
    ("lion", {"lr": 0.01}, None, -0.01 * S, 0.0),
    ("soaa", {"lr": 0.01}, {"loss": 1.0}, _soaa_expected(), 1e-12),
    ("adafisher", {"lr": 0.01}, None, -0.01 * G, 1e-12),                       # no factors: F̃ = 1
    ("adadagrad", {"lr": 1.0}, None, -G / np.sqrt(0.01 + (G**2).sum()), 1e-9),  # the AdaGrad-Norm update
]


@pytest.mark.parametrize("name, fields, extras, expected, rtol", FIRST_STEPS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(FIRST_STEPS)])
def test_first_step_closed_form(name, fields, extras, expected, rtol):
    if extras and "hessian_diag" in extras:
        import array_api_compat.numpy as xp

        extras = {"hessian_diag": [from_host(extras["hessian_diag"], xp)]}
    got = first_step(name, extras, **fields)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=0.0)


def test_exadam_step_shrinks_towards_two_gamma():
    """Spec §16: for a constant gradient the step in units of γ sign(g) is ≈ 16, 9.3, …, 4.3 at t = 10."""
    import array_api_compat.numpy as xp

    theta, g = [from_host(np.array([1.0]), xp)], [from_host(np.array([1.0]), xp)]
    opt = optim.optimizer("exadam", lr=1.0)
    state, steps = opt.init(theta), []
    for _ in range(10):
        d, state = opt.update(g, state, theta)
        steps.append(-float(d[0][0]))
    assert steps[0] == pytest.approx(15.95, abs=0.01)
    assert steps[1] == pytest.approx(9.3, abs=0.05)
    assert steps[9] == pytest.approx(4.3, abs=0.05)


# ----------------------------------------------------------------------------- three-step traces
W0 = np.array([[0.5, -1.0, 2.0], [0.0, 1.5, -0.3]])
B0 = np.array([[0.2], [-0.4]])
GRADS = [
    [np.array([[0.3, -1.2, 0.7], [2.0, -0.1, 0.4]]), np.array([[-0.5], [1.1]])],
    [np.array([[-0.2, -0.9, 1.0], [1.5, 0.3, -0.6]]), np.array([[0.4], [0.8]])],
    [np.array([[0.1, -0.5, 0.2], [1.0, 0.6, -0.2]]), np.array([[0.9], [-0.3]])],
]
DECAYED = [True, False]  # the weight is decayed, the bias is not
LAM = 0.05


def wd(theta, lam=LAM):
    """λθ on decayed blocks, 0 on the bias."""
    return [lam * p if keep else 0.0 * p for p, keep in zip(theta, DECAYED)]


def ref_sgd(momentum=0.0, dampening=0.0, nesterov=False, lr=0.1):
    theta, buf, out = [W0.copy(), B0.copy()], None, []
    for t, g in enumerate(GRADS, 1):
        g = [gi + d for gi, d in zip(g, wd(theta))]  # L2
        if momentum:
            buf = list(g) if t == 1 else [momentum * b + (1 - dampening) * gi for b, gi in zip(buf, g)]
            u = [gi + momentum * b for gi, b in zip(g, buf)] if nesterov else buf
        else:
            u = g
        theta = [p - lr * ui for p, ui in zip(theta, u)]
        out.append(theta)
    return out


def ref_adagrad(lr=0.1, tau0=0.1, eps=1e-10):
    theta, acc, out = [W0.copy(), B0.copy()], [np.full_like(W0, tau0), np.full_like(B0, tau0)], []
    for g in GRADS:
        g = [gi + d for gi, d in zip(g, wd(theta))]
        acc = [a + gi**2 for a, gi in zip(acc, g)]
        theta = [p - lr * gi / (np.sqrt(a) + eps) for p, gi, a in zip(theta, g, acc)]
        out.append(theta)
    return out


def ref_adadelta(lr=0.5, rho=0.95, eps=1e-6):
    theta, v, u, out = [W0.copy(), B0.copy()], [0 * W0, 0 * B0], [0 * W0, 0 * B0], []
    for g in GRADS:
        g = [gi + d for gi, d in zip(g, wd(theta))]
        v = [rho * vi + (1 - rho) * gi**2 for vi, gi in zip(v, g)]
        delta = [np.sqrt(ui + eps) / np.sqrt(vi + eps) * gi for ui, vi, gi in zip(u, v, g)]
        u = [rho * ui + (1 - rho) * di**2 for ui, di in zip(u, delta)]
        theta = [p - lr * di for p, di in zip(theta, delta)]
        out.append(theta)
    return out


def ref_rmsprop(lr=0.01, alpha=0.9, eps=1e-8, momentum=0.5):
    theta, v, gbar, b, out = [W0.copy(), B0.copy()], [0 * W0, 0 * B0], [0 * W0, 0 * B0], [0 * W0, 0 * B0], []
    for g in GRADS:
        g = [gi + d for gi, d in zip(g, wd(theta))]
        v = [alpha * vi + (1 - alpha) * gi**2 for vi, gi in zip(v, g)]
        gbar = [alpha * m + (1 - alpha) * gi for m, gi in zip(gbar, g)]
        d = [gi / (np.sqrt(vi - m**2) + eps) for gi, vi, m in zip(g, v, gbar)]
        b = [momentum * bi + di for bi, di in zip(b, d)]
        theta = [p - lr * bi for p, bi in zip(theta, b)]
        out.append(theta)
    return out


def ref_adam(lr=0.01, b1=0.8, b2=0.99, eps=1e-8, decoupled=False):
    theta, m, v, out = [W0.copy(), B0.copy()], [0 * W0, 0 * B0], [0 * W0, 0 * B0], []
    for t, g in enumerate(GRADS, 1):
        if not decoupled:
            g = [gi + d for gi, d in zip(g, wd(theta))]
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        v = [b2 * vi + (1 - b2) * gi**2 for vi, gi in zip(v, g)]
        step = [(mi / (1 - b1**t)) / (np.sqrt(vi / (1 - b2**t)) + eps) for mi, vi in zip(m, v)]
        decay = wd(theta) if decoupled else [0, 0]
        theta = [p - lr * s - lr * dc for p, s, dc in zip(theta, step, decay)]
        out.append(theta)
    return out


def ref_adagrad_norm(lr=0.5, b0=0.3, scope="global"):
    theta, out = [W0.copy(), B0.copy()], []
    acc = b0**2 if scope == "global" else [np.full((2, 1), b0**2), np.full((2, 1), b0**2)]
    for g in GRADS:
        g = [gi + d for gi, d in zip(g, wd(theta))]
        if scope == "global":
            acc = acc + sum((gi**2).sum() for gi in g)
            theta = [p - lr * gi / (np.sqrt(acc) + 1e-10) for p, gi in zip(theta, g)]
        else:
            acc = [a + (gi**2).sum(axis=1, keepdims=True) for a, gi in zip(acc, g)]
            theta = [p - lr * gi / (np.sqrt(a) + 1e-10) for p, gi, a in zip(theta, g, acc)]
        out.append(theta)
    return out


def ref_sgd_sai(lr=0.01, mu=0.9, eps=1e-8):
    theta, out = [W0.copy(), B0.copy()], []
    snr = [np.linalg.norm(g) / (np.std(g, ddof=1) + eps) for g in GRADS[0]]
    m = None
    for t, g in enumerate(GRADS, 1):
        m = list(g) if t == 1 else [mu * mi + (1 - mu) * gi for mi, gi in zip(m, g)]
        theta = [p - lr * dc - lr * s * mi for p, dc, s, mi in zip(theta, wd(theta), snr, m)]
        out.append(theta)
    return out


def ref_adan(lr=0.01, b1=0.98, b2=0.92, b3=0.99, eps=1e-8):
    theta, out = [W0.copy(), B0.copy()], []
    m, v, n, prev = [0 * W0, 0 * B0], [0 * W0, 0 * B0], [0 * W0, 0 * B0], None
    for t, g in enumerate(GRADS, 1):
        diff = [0 * gi for gi in g] if t == 1 else [gi - pi for gi, pi in zip(g, prev)]
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        v = [b2 * vi + (1 - b2) * di for vi, di in zip(v, diff)]
        n = [b3 * ni + (1 - b3) * (gi + b2 * di) ** 2 for ni, gi, di in zip(n, g, diff)]
        u = [(mi / (1 - b1**t) + b2 * vi / (1 - b2**t)) / (np.sqrt(ni / (1 - b3**t)) + eps)
             for mi, vi, ni in zip(m, v, n)]
        theta = [(p - lr * ui) / (1 + lr * LAM) if keep else p - lr * ui for p, ui, keep in zip(theta, u, DECAYED)]
        prev = g
        out.append(theta)
    return out


def ref_adabelief(lr=0.01, b1=0.9, b2=0.999, eps=1e-16, rectify=False):
    theta, m, s, out = [W0.copy(), B0.copy()], [0 * W0, 0 * B0], [0 * W0, 0 * B0], []
    for t, g in enumerate(GRADS, 1):
        theta = [p - lr * dc for p, dc in zip(theta, wd(theta))]  # decoupled, applied first
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        s = [b2 * si + (1 - b2) * (gi - mi) ** 2 + eps for si, gi, mi in zip(s, g, m)]
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if not rectify:
            step = [lr / (1 - b1**t) * mi / (np.sqrt(si) / np.sqrt(1 - b2**t) + eps) for mi, si in zip(m, s)]
        elif rho_t >= 5:
            r = math.sqrt((1 - b2**t) * (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            step = [lr * r / (1 - b1**t) * mi / (np.sqrt(si) + eps) for mi, si in zip(m, s)]
        else:
            step = [lr * mi / (1 - b1**t) for mi in m]
        theta = [p - st for p, st in zip(theta, step)]
        out.append(theta)
    return out


def ref_diffgrad(lr=0.01, b1=0.9, b2=0.999, eps=1e-8):
    theta, m, v, prev, out = [W0.copy(), B0.copy()], [0 * W0, 0 * B0], [0 * W0, 0 * B0], [0 * W0, 0 * B0], []
    for t, g in enumerate(GRADS, 1):
        g = [gi + d for gi, d in zip(g, wd(theta))]
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        v = [b2 * vi + (1 - b2) * gi**2 for vi, gi in zip(v, g)]
        xi = [1 / (1 + np.exp(-np.abs(pi - gi))) for pi, gi in zip(prev, g)]
        c = math.sqrt(1 - b2**t) / (1 - b1**t)
        theta = [p - lr * c * x * mi / (np.sqrt(vi) + eps) for p, x, mi, vi in zip(theta, xi, m, v)]
        prev = g
        out.append(theta)
    return out


HESSIANS = [[np.array([[1.0, -2.0, 0.5], [0.3, 4.0, -1.0]]), np.array([[2.0], [-0.1]])],
            [np.array([[0.8, -1.0, 0.7], [0.2, 3.0, -2.0]]), np.array([[1.5], [0.4]])],
            None]  # step 3 reuses step 2's sample


def ref_adahessian(lr=0.15, b1=0.9, b2=0.999, eps=1e-4, k=0.5, average="row"):
    theta, m, v, out, D = [W0.copy(), B0.copy()], [0 * W0, 0 * B0], [0 * W0, 0 * B0], [], None
    for t, (g, h) in enumerate(zip(GRADS, HESSIANS), 1):
        if h is not None:
            D = [np.abs(hi).mean(axis=1, keepdims=True) * np.ones_like(hi) if average == "row" else hi for hi in h]
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        v = [b2 * vi + (1 - b2) * di**2 for vi, di in zip(v, D)]
        step = [(mi / (1 - b1**t)) / ((np.sqrt(vi) / math.sqrt(1 - b2**t)) ** k + eps) for mi, vi in zip(m, v)]
        theta = [p - lr * (s + dc) for p, s, dc in zip(theta, step, wd(theta))]
        out.append(theta)
    return out


def ref_exadam(lr=0.01, b1=0.9, b2=0.999, eps=1e-8):
    theta, m, v, out = [W0.copy(), B0.copy()], [0 * W0, 0 * B0], [0 * W0, 0 * B0], []
    for t, g in enumerate(GRADS, 1):
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        v = [b2 * vi + (1 - b2) * gi**2 for vi, gi in zip(v, g)]
        new = []
        for p, gi, mi, vi, dc in zip(theta, g, m, v, wd(theta)):
            d1 = 1 + vi / (vi + eps) * b2**t
            d2 = 1 + mi**2 / (mi**2 + eps) * b1**t
            mt, vt, gt = mi / (1 - b1**t) * d1, vi / (1 - b2**t) * d2, gi / (1 - b1**t) * d1
            new.append(p - lr * dc - lr * (mt + gt) / (np.sqrt(vt) + eps))
        theta = new
        out.append(theta)
    return out


def ref_lars(lr=0.5, eta=0.01, mu=0.9):
    theta, b, out = [W0.copy(), B0.copy()], [0 * W0, 0 * B0], []
    for g in GRADS:
        d = []
        for p, gi, keep in zip(theta, g, DECAYED):
            beta = LAM if keep else 0.0
            rho = eta * np.linalg.norm(p) / (np.linalg.norm(gi) + beta * np.linalg.norm(p))
            d.append(rho * (gi + beta * p))
        b = [mu * bi + di for bi, di in zip(b, d)]
        theta = [p - lr * bi for p, bi in zip(theta, b)]
        out.append(theta)
    return out


def ref_lamb(lr=0.01, b1=0.9, b2=0.999, eps=1e-6, clip_max=1.5):
    theta, m, v, out = [W0.copy(), B0.copy()], [0 * W0, 0 * B0], [0 * W0, 0 * B0], []
    for t, g in enumerate(GRADS, 1):
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        v = [b2 * vi + (1 - b2) * gi**2 for vi, gi in zip(v, g)]
        new = []
        for p, mi, vi, dc in zip(theta, m, v, wd(theta)):
            u = (mi / (1 - b1**t)) / (np.sqrt(vi / (1 - b2**t)) + eps) + dc
            phi = min(np.linalg.norm(p), clip_max)
            new.append(p - lr * phi / np.linalg.norm(u) * u)
        theta = new
        out.append(theta)
    return out


def ref_lion(lr=0.01, b1=0.9, b2=0.99):
    theta, m, out = [W0.copy(), B0.copy()], [0 * W0, 0 * B0], []
    for g in GRADS:
        c = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        theta = [p - lr * dc - lr * np.sign(ci) for p, dc, ci in zip(theta, wd(theta), c)]
        m = [b2 * mi + (1 - b2) * gi for mi, gi in zip(m, g)]
        out.append(theta)
    return out


LOSSES = [2.0, 1.96, 1.94]  # actual/predicted ratios inside the clip interval, so p_t matters


def ref_soaa(lr=0.01, b1=0.9, b2=0.999, eps=1e-8, c=0.1, T=10):
    theta, m, v, out = [W0.copy(), B0.copy()], [0 * W0, 0 * B0], [0 * W0, 0 * B0], []
    d, prev_loss, pred = 1.0, None, None
    for t, (g, loss) in enumerate(zip(GRADS, LOSSES), 1):
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        v = [b2 * vi + (1 - b2) * gi**2 for vi, gi in zip(v, g)]
        if prev_loss is not None:
            d = d * (prev_loss - loss) / max(pred, eps)
        d = min(max(d, (1 - c) ** ((t - 1) / T)), 1 + c ** ((t - 1) / T))
        pred = 0.0
        new = []
        for p, gi, mi, vi, dc in zip(theta, g, m, v, wd(theta)):
            mh, vh = mi / (1 - b1**t), vi / (1 - b2**t)
            F = (1 + (mh**2).sum() / (vh + eps).sum()) * vh
            u = d * mh / (np.maximum(d * F, np.sqrt(vh)) + eps)
            pred += lr * (gi * u).sum() - 0.5 * lr**2 * (F * u * u).sum()
            new.append(p - lr * dc - lr * u)
        theta, prev_loss = new, loss
        out.append(theta)
    return out


# AdaFisher: per layer (S: n_out × 1, H: 1 × (n_in + 1)); refreshed at k = 0 and k = 2 (update_every = 2)
FISHER = [[(np.array([[0.2], [0.05]]), np.array([[1.0, 0.3, 2.0, 1.0]]))],
          [(np.array([[9.0], [9.0]]), np.array([[9.0, 9.0, 9.0, 9.0]]))],   # ignored: k = 1 is no refresh step
          [(np.array([[0.1], [0.4]]), np.array([[0.5, 0.6, 0.2, 1.0]]))]]


def ref_adafisher(lr=0.01, beta=0.9, damping=1e-3, gamma=0.8, every=2):
    theta, m, out = [W0.copy(), B0.copy()], [0 * W0, 0 * B0], []
    norm = lambda x: (x - x.min()) / (x.max() - x.min() + 1e-6)  # noqa: E731
    S, H = np.ones((2, 1)), np.ones((1, 4))
    for k, (g, fisher) in enumerate(zip(GRADS, FISHER)):
        if k % every == 0:
            S_new, H_new = fisher[0]
            S, H = 0.1 * gamma * S + 0.01 * gamma * norm(S_new), 0.1 * gamma * H + 0.01 * gamma * norm(H_new)
        g = [gi + d for gi, d in zip(g, wd(theta))]  # AdaFisher's L2 decay
        m = [beta * mi + (1 - beta) * gi for mi, gi in zip(m, g)]
        F = [S * H[:, :3] + damping, S * H[:, 3:] + damping]
        theta = [p - lr * (mi / (1 - beta ** (k + 1))) / f for p, mi, f in zip(theta, m, F)]
        out.append(theta)
    return out


TRACES = [
    ("sgd", {"lr": 0.1, "weight_decay": LAM}, ref_sgd, {}),
    ("momentum", {"lr": 0.1, "weight_decay": LAM, "dampening": 0.3}, lambda: ref_sgd(0.9, 0.3), {}),
    ("nesterov", {"lr": 0.1, "weight_decay": LAM, "momentum": 0.8}, lambda: ref_sgd(0.8, 0.0, True), {}),
    ("adagrad", {"lr": 0.1, "weight_decay": LAM, "initial_accumulator": 0.1, "eps": 1e-3},
     lambda: ref_adagrad(eps=1e-3), {}),
    ("adadelta", {"lr": 0.5, "weight_decay": LAM, "rho": 0.95, "eps": 1e-3}, lambda: ref_adadelta(eps=1e-3), {}),
    ("rmsprop", {"lr": 0.01, "weight_decay": LAM, "alpha": 0.9, "momentum": 0.5, "centered": True, "eps": 1e-3},
     lambda: ref_rmsprop(eps=1e-3), {}),
    ("adam", {"lr": 0.01, "weight_decay": LAM, "b1": 0.8, "b2": 0.99, "eps": 1e-3}, lambda: ref_adam(eps=1e-3), {}),
    ("adamw", {"lr": 0.01, "weight_decay": LAM, "b1": 0.8, "b2": 0.99, "eps": 1e-3},
     lambda: ref_adam(eps=1e-3, decoupled=True), {}),
    ("adagrad-norm", {"lr": 0.5, "weight_decay": LAM, "b0": 0.3}, ref_adagrad_norm, {}),
    ("adagrad-norm", {"lr": 0.5, "weight_decay": LAM, "b0": 0.3, "scope": "row"},
     lambda: ref_adagrad_norm(scope="row"), {}),
    ("sgd-sai", {"lr": 0.01, "weight_decay": LAM}, ref_sgd_sai, {}),
    ("adan", {"lr": 0.01, "weight_decay": LAM, "eps": 1e-3}, lambda: ref_adan(eps=1e-3), {}),
    ("adabelief", {"lr": 0.01, "weight_decay": LAM, "rectify": False, "eps": 1e-3},
     lambda: ref_adabelief(eps=1e-3), {}),
    ("adabelief", {"lr": 0.01, "weight_decay": LAM, "b2": 0.5, "eps": 1e-3},
     lambda: ref_adabelief(b2=0.5, eps=1e-3, rectify=True), {}),
    ("diffgrad", {"lr": 0.01, "weight_decay": LAM, "eps": 1e-3}, lambda: ref_diffgrad(eps=1e-3), {}),
    ("adahessian", {"lr": 0.15, "weight_decay": LAM, "hessian_power": 0.5, "hessian_average": "row", "eps": 1e-4},
     ref_adahessian, {"hessian_diag": HESSIANS}),
    ("exadam", {"lr": 0.01, "weight_decay": LAM, "eps": 1e-2}, lambda: ref_exadam(eps=1e-2), {}),
    ("lars", {"lr": 0.5, "weight_decay": LAM, "trust_coefficient": 0.01}, ref_lars, {}),
    ("lamb", {"lr": 0.01, "weight_decay": LAM, "norm_clip_max": 1.5}, ref_lamb, {}),
    ("lion", {"lr": 0.01, "weight_decay": LAM, "b2": 0.3}, lambda: ref_lion(b2=0.3), {}),  # β_1 ≠ β_2 visible in signs
    ("soaa", {"lr": 0.01, "weight_decay": LAM, "total_steps": 10, "eps": 1e-3}, lambda: ref_soaa(eps=1e-3),
     {"loss": LOSSES}),
    ("adafisher", {"lr": 0.01, "weight_decay": LAM, "update_every": 2}, ref_adafisher, {"fisher": FISHER}),
]


@pytest.mark.parametrize("name, fields, reference, extras", TRACES, ids=[f"{c[0]}-{i}" for i, c in enumerate(TRACES)])
def test_three_step_trace_matches_the_written_rule(xp, name, fields, reference, extras):
    def move(value):
        if isinstance(value, np.ndarray):
            return from_host(value, xp)
        if isinstance(value, (list, tuple)):
            return type(value)(move(v) for v in value)
        return value

    theta = [from_host(W0, xp), from_host(B0, xp)]
    opt = optim.optimizer(name, is_bias=[False, True], **fields)
    state = opt.init(theta)
    expected = reference()
    for k, g in enumerate(GRADS):
        kw = {key: move(seq[k]) for key, seq in extras.items()}
        if name == "soaa":
            kw["loss"] = from_host(np.asarray(LOSSES[k]), xp)
        deltas, state = opt.update(move(g), state, theta, **kw)
        theta = apply_updates(theta, deltas)
        for got, want in zip(theta, expected[k]):
            assert got.dtype == xp.float64
            np.testing.assert_allclose(host(got), want, rtol=1e-12, atol=1e-14, err_msg=f"{name} step {k + 1}")


def test_update_is_pure():
    import array_api_compat.numpy as xp

    for name in amref.baseline_names():
        theta = [from_host(W0.copy(), xp), from_host(B0.copy(), xp)]
        grads = [from_host(g.copy(), xp) for g in GRADS[0]]
        opt = optim.optimizer(name, is_bias=[False, True])
        state = opt.init(theta)
        kw = {"adahessian": {"hessian_diag": grads}, "soaa": {"loss": 1.0}}.get(name, {})
        opt.update(grads, state, theta, **kw)
        np.testing.assert_array_equal(host(theta[0]), W0, err_msg=name)
        np.testing.assert_array_equal(host(grads[0]), GRADS[0][0], err_msg=name)


def test_adahessian_needs_a_hessian_sample_and_soaa_a_loss():
    import array_api_compat.numpy as xp

    theta = [from_host(THETA, xp)]
    for name, message in (("adahessian", "hessian_diag"), ("soaa", "loss")):
        opt = optim.optimizer(name)
        with pytest.raises(ValueError, match=message):
            opt.update([from_host(G, xp)], opt.init(theta), theta)


def test_zero_gradient_leaves_stateless_at_start_methods_in_place():
    import array_api_compat.numpy as xp

    theta = [from_host(THETA, xp)]
    zero = [from_host(np.zeros_like(G), xp)]
    for name in amref.baseline_names():
        if name in ("adagrad-norm", "adadagrad", "adafisher"):
            continue  # fine: a zero gradient divided by b_0 or F̃ is zero too; checked below
        fields = {"weight_decay": 0.0}
        kw = {"adahessian": {"hessian_diag": [from_host(D, xp)]}, "soaa": {"loss": 1.0}}.get(name, {})
        opt = optim.optimizer(name, **fields)
        deltas, _ = opt.update(zero, opt.init(theta), theta, **kw)
        np.testing.assert_array_equal(host(deltas[0]), 0.0, err_msg=name)
    for name in ("adagrad-norm", "adadagrad", "adafisher"):
        opt = optim.optimizer(name)
        deltas, _ = opt.update(zero, opt.init(theta), theta)
        np.testing.assert_array_equal(host(deltas[0]), 0.0, err_msg=name)


def test_sgd_sai_guards_and_lars_lamb_zero_norm_guard():
    import array_api_compat.numpy as xp
    from amref.optim.sgd_sai import gradient_snr

    # one-entry block: G = 1 (amref's guard); zero-mean block: G = sqrt(n − 1); zero gradient: G = 0
    assert float(gradient_snr(from_host(np.array([[3.0]]), xp), 1e-8)) == 1.0
    g = from_host(np.array([1.0, -1.0, 2.0, -2.0]), xp)
    assert float(gradient_snr(g, 0.0)) == pytest.approx(math.sqrt(3))
    assert float(gradient_snr(from_host(np.zeros(4), xp), 1e-8)) == 0.0
    # a zero weight block: trust ratio 1 (plain momentum SGD / Adam direction)
    zero = [from_host(np.zeros(4), xp)]
    for name, want in (("lars", -0.1 * G), ("lamb", -0.1 * S)):
        opt = optim.optimizer(name, lr=0.1, weight_decay=0.0)
        deltas, _ = opt.update([from_host(G, xp)], opt.init(zero), zero)
        np.testing.assert_allclose(host(deltas[0]), want, rtol=1e-5)
