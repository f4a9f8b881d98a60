"""pdADMM / pdADMM-G / pdADMM-G-Q: closed forms against brute force, the paper's identities and claims."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.optimize as so
import scipy.sparse as sp

import amref
from amref.backend import get_namespace
from amref.data.graphs import Graph, graph_dataset
from amref.losses import cross_entropy
from amref.quantize import CODE_LEVELS, PAPER_LEVELS, boundary_bytes, count_off_grid, project
from amref import get_solver
from amref.solvers import pdadmm as pd
from amref.solvers.pdadmm import PdADMMOptions
from amref.solvers.pdadmm_g import PdADMMGOptions, PdADMMGQOptions
from amref.solvers.subproblems import ZLOptions, doubling_search
from helpers import central_gradient, synthetic_dataset

NP = get_namespace("numpy")
NEWTON = ZLOptions(method="newton")


def relu(v):
    return np.maximum(v, 0.0)


def layer_setup(rng, n_in=4, n_out=3, N=6):
    """Random arrays for one hidden layer's subproblems."""
    return dict(
        p=rng.normal(size=(n_in, N)), W=rng.normal(size=(n_out, n_in)), b=rng.normal(size=(n_out, 1)),
        z=rng.normal(size=(n_out, N)), q_prev=rng.normal(size=(n_in, N)), u_prev=rng.normal(size=(n_in, N)),
        q=rng.normal(size=(n_out, N)), u=rng.normal(size=(n_out, N)), p_next=rng.normal(size=(n_out, N)),
    )


def _p_block(s, rho, nu):
    """φ(p) = (ν/2)‖z − W p − b‖² + ⟨u_{l−1}, p − q_{l−1}⟩ + (ρ/2)‖p − q_{l−1}‖² and its gradient at s["p"]."""

    def phi(p):
        r = s["z"] - s["W"] @ p - s["b"]
        return 0.5 * nu * np.sum(r * r) + np.sum(s["u_prev"] * (p - s["q_prev"])) + 0.5 * rho * np.sum(
            (p - s["q_prev"]) ** 2)

    g = -nu * s["W"].T @ (s["z"] - s["W"] @ s["p"] - s["b"]) + s["u_prev"] + rho * (s["p"] - s["q_prev"])
    np.testing.assert_allclose(g, central_gradient(phi, s["p"]), rtol=1e-7, atol=1e-7)
    return phi, g



# ----------------------------------------------------------------------------- subproblems
@pytest.mark.parametrize("max_doublings", [None, 3])
def test_update_p_equals_literal_backtracking(rng, max_doublings):
    s = layer_setup(rng)
    rho, nu = 0.7, 0.3
    opts = PdADMMOptions(rho=rho, nu=nu, p_step0=0.01, max_doublings=max_doublings)
    m = s["W"] @ s["p"] + s["b"]

    phi, g = _p_block(s, rho, nu)
    want, want_t, ok = doubling_search(phi, s["p"], g, 0.01, max_tests=(max_doublings or 60) + 1)
    p_new, m_new, tau = pd.update_p(s["p"], s["W"], m, s["z"], s["q_prev"], s["u_prev"], rho, nu, opts)
    np.testing.assert_allclose(p_new, want, atol=1e-12)
    np.testing.assert_allclose(m_new, s["W"] @ p_new + s["b"], atol=1e-12)
    if ok:
        assert tau == want_t
        assert phi(p_new) < phi(s["p"])
    else:
        assert max_doublings == 3 and np.array_equal(p_new, s["p"])


@pytest.mark.parametrize("grid", [PAPER_LEVELS, CODE_LEVELS], ids=["paper", "code"])
def test_quantized_update_p_equals_literal_projected_backtracking(rng, grid):
    s = layer_setup(rng)
    s["p"] = project(3 * rng.normal(size=s["p"].shape), grid)  # a previous quantized iterate
    rho, nu = 0.7, 0.3
    opts = PdADMMGQOptions(rho=rho, nu=nu, p_step0=0.05, levels=grid)
    m = s["W"] @ s["p"] + s["b"]

    phi, g = _p_block(s, rho, nu)
    want, want_t, ok = doubling_search(phi, s["p"], g, 0.05, max_tests=65, project=lambda v: project(v, grid))
    assert ok
    p_new, m_new, tau = pd.update_p(s["p"], s["W"], m, s["z"], s["q_prev"], s["u_prev"], rho, nu, opts)
    np.testing.assert_array_equal(p_new, want)
    assert tau == want_t and count_off_grid(p_new, grid) == 0
    np.testing.assert_allclose(m_new, s["W"] @ p_new + s["b"], atol=1e-12)
    assert phi(p_new) <= phi(s["p"]) + 1e-12  # projected step from a point of Δ never increases φ


@pytest.mark.parametrize("mu", [0.0, 0.4])
def test_update_W_equals_literal_backtracking(rng, mu):
    s = layer_setup(rng)
    nu = 0.3
    opts = PdADMMOptions(nu=nu, W_step0=0.01, weight_decay=mu)
    m = s["W"] @ s["p"] + s["b"]

    def phi(W):
        r = s["z"] - W @ s["p"] - s["b"]
        return 0.5 * nu * np.sum(r * r) + 0.5 * mu * np.sum(W * W)

    G = -nu * (s["z"] - m) @ s["p"].T + mu * s["W"]
    np.testing.assert_allclose(G, central_gradient(phi, s["W"]), rtol=1e-7, atol=1e-7)
    want, want_t, ok = doubling_search(phi, s["W"], G, 0.01)
    W_new, m_new, theta = pd.update_W(s["W"], s["p"], m, s["z"], nu, opts)
    assert ok and theta == want_t
    np.testing.assert_allclose(W_new, want, atol=1e-12)
    np.testing.assert_allclose(m_new, W_new @ s["p"] + s["b"], atol=1e-12)


def test_update_b_exact_is_the_block_minimiser(rng):
    s = layer_setup(rng)
    m = s["W"] @ s["p"] + s["b"]
    b_new, m_new = pd.update_b(s["b"], m, s["z"], PdADMMOptions())

    def f(bv):
        r = s["z"] - s["W"] @ s["p"] - bv.reshape(-1, 1)
        return 0.5 * np.sum(r * r)

    ref = so.minimize(f, s["b"].ravel(), method="BFGS", options={"gtol": 1e-10}).x
    np.testing.assert_allclose(b_new.ravel(), ref, atol=1e-6)
    np.testing.assert_allclose(m_new, s["W"] @ s["p"] + b_new, atol=1e-12)
    b_lit, _ = pd.update_b(s["b"], m, s["z"], PdADMMOptions(bias_step="paper-literal"))
    np.testing.assert_allclose(b_lit, s["b"] + np.sum(s["z"] - m, axis=1, keepdims=True), atol=1e-12)


def test_update_z_hidden_is_the_elementwise_minimiser(rng, no_jit):
    m, q, zk = (rng.normal(size=(5, 40)) for _ in range(3))
    z = pd.update_z_hidden(m, q, zk, PdADMMOptions())

    def f(v, i):
        return (v - m.flat[i]) ** 2 + (q.flat[i] - max(v, 0.0)) ** 2 + (v - zk.flat[i]) ** 2

    for i in range(m.size):
        best = min(
            (so.minimize_scalar(lambda v: f(v, i), bounds=bnd, method="bounded", options={"xatol": 1e-12})
             for bnd in ((-10.0, 0.0), (0.0, 10.0))),
            key=lambda r: r.fun,
        )
        assert f(z.flat[i], i) <= best.fun + 1e-10
    # the code's comparison without the proximal term picks a worse point somewhere
    z_code = pd.update_z_hidden(m, q, zk, PdADMMOptions(z_compare="without_prox"))
    full = lambda v: (v - m) ** 2 + (q - relu(v)) ** 2 + (v - zk) ** 2  # noqa: E731
    assert np.all(full(z) <= full(z_code) + 1e-15) and np.any(full(z) < full(z_code) - 1e-6)


def test_update_z_last_is_optimal(rng):
    C, N, nu = 3, 5, 0.4
    y = np.eye(C)[:, rng.integers(0, C, N)]
    m, z0 = rng.normal(size=(C, N)), rng.normal(size=(C, N))
    z, _ = pd.update_z_last(m, y, nu, z0, PdADMMOptions(zl=NEWTON))

    def f(v):
        v = v.reshape(C, N)
        return float(cross_entropy(v, y)) + 0.5 * nu * np.sum((v - m) ** 2)

    ref = so.minimize(f, z0.ravel(), method="BFGS", options={"gtol": 1e-10}).x.reshape(C, N)
    np.testing.assert_allclose(z, ref, atol=1e-5)


def test_update_q_is_the_minimiser_and_quantized_q_the_nearest_level(rng):
    s = layer_setup(rng)
    rho, nu = 0.8, 0.3
    q = pd.update_q(s["p_next"], s["u"], s["z"], rho, nu, PdADMMOptions())

    def f(v):
        v = v.reshape(q.shape)
        return 0.5 * nu * np.sum((v - relu(s["z"])) ** 2) - np.sum(s["u"] * v) + 0.5 * rho * np.sum(
            (s["p_next"] - v) ** 2)

    ref = so.minimize(f, np.zeros(q.size), method="BFGS", options={"gtol": 1e-10}).x.reshape(q.shape)
    np.testing.assert_allclose(q, ref, atol=1e-6)
    # over Δ the objective is separable: brute force over all levels per element
    opts = PdADMMGQOptions(quantize="q")
    qq = pd.update_q(s["p_next"], s["u"], s["z"], rho, nu, opts)
    lv = PAPER_LEVELS.levels()
    per_level = (0.5 * nu * (lv[:, None] - relu(s["z"]).ravel()) ** 2 - s["u"].ravel() * lv[:, None]
                 + 0.5 * rho * (s["p_next"].ravel() - lv[:, None]) ** 2)
    np.testing.assert_array_equal(qq.ravel(), lv[np.argmin(per_level, axis=0)])


# ----------------------------------------------------------------------------- the iteration
def small_problem(N=30, widths=(6, 5, 5, 5, 3), seed=0):
    data = synthetic_dataset(NP, n_features=widths[0], n_classes=widths[-1], n_train=N, n_test=10, seed=seed)
    return amref.MLP(widths), data


def run_states(options, iters, seed=0, **kw):
    problem, data = small_problem(seed=seed, **kw)
    state = pd.init_state(problem, data, problem.init_params(seed), options)
    out = []
    for _ in range(iters):
        state = pd.step(state, data, options)
        out.append(state)
    return out, data


def algorithm1_reference(state, data, o):
    """Algorithm 1 written block type by block type over all layers (independent of the per-layer seam)."""
    B = [dict(dataclasses.asdict(b)) for b in state.blocks]
    L, rho, nu = len(B), state.rho, state.nu
    old = [dict(b) for b in B]
    for i in range(1, L):  # all p with the previous iteration's q, u
        B[i]["p"], B[i]["m"], _ = pd.update_p(B[i]["p"], B[i]["W"], B[i]["m"], B[i]["z"], old[i - 1]["q"],
                                              old[i - 1]["u"], rho, nu, o)
    inputs = [data.x_train] + [B[i]["p"] for i in range(1, L)]
    for i in range(L):  # all W
        B[i]["W"], B[i]["m"], _ = pd.update_W(B[i]["W"], inputs[i], B[i]["m"], B[i]["z"], nu, o)
    for i in range(L):  # all b
        B[i]["b"], B[i]["m"] = pd.update_b(B[i]["b"], B[i]["m"], B[i]["z"], o)
    for i in range(L - 1):  # all z
        B[i]["z"] = pd.update_z_hidden(B[i]["m"], B[i]["q"], B[i]["z"], o)
    B[-1]["z"], _ = pd.update_z_last(B[-1]["m"], data.y_train, nu, B[-1]["z"], o)
    for i in range(L - 1):  # all q with the new p
        B[i]["q"] = pd.update_q(B[i + 1]["p"], B[i]["u"], B[i]["z"], rho, nu, o)
    for i in range(L - 1):  # all u
        B[i]["u"] = pd.update_u(B[i]["u"], B[i + 1]["p"], B[i]["q"], rho)
    return B


@pytest.mark.parametrize("quantize", [None, "p", "pq"])
def test_step_reproduces_algorithm_1(quantize):
    opts = PdADMMOptions(rho=0.5, nu=0.2, zl=NEWTON, quantize=quantize)
    problem, data = small_problem()
    state = pd.init_state(problem, data, problem.init_params(3), opts)
    for _ in range(3):
        ref = algorithm1_reference(state, data, opts)
        state = pd.step(state, data, opts)
        for blk, want in zip(state.blocks, ref):
            for key in ("p", "W", "b", "z", "q", "u", "m"):
                if want[key] is None:
                    assert getattr(blk, key) is None
                else:
                    np.testing.assert_allclose(getattr(blk, key), want[key], rtol=0, atol=1e-13)


def test_layer_functions_are_order_independent():
    """Jacobi: mapping the per-layer functions in any order gives the serial step (what a runner relies on)."""
    opts = PdADMMOptions(rho=0.5, nu=0.2, zl=NEWTON)
    problem, data = small_problem()
    state = pd.init_state(problem, data, problem.init_params(1), opts)
    state = pd.step(state, data, opts)
    blocks, L = state.blocks, len(state.blocks)
    kw = dict(rho=state.rho, nu=state.nu, options=opts)
    primal = {}
    for i in reversed(range(L)):
        primal[i] = pd.update_layer_primal(blocks[i], blocks[i - 1].q if i else None, blocks[i - 1].u if i else None,
                                           x=data.x_train if i == 0 else None,
                                           y=data.y_train if i == L - 1 else None, **kw)
    dual = {i: pd.update_layer_dual(primal[i], primal[i + 1].p if i < L - 1 else None, **kw)
            for i in (1, 0, 3, 2)}
    want = pd.step(state, data, opts)
    for i in range(L):
        for key in ("p", "W", "b", "z", "q", "u"):
            a, b = getattr(dual[i], key), getattr(want.blocks[i], key)
            assert (a is None and b is None) or np.array_equal(a, b)
    # per-layer diagnostics sum to the solver's diagnostics
    parts = [pd.layer_diagnostics(want.blocks[i], want.blocks[i + 1].p if i < L - 1 else None,
                                  y=data.y_train if i == L - 1 else None, **kw) for i in range(L)]
    diag = pd.diagnostics(want, data, opts)
    assert diag["objective"] == pytest.approx(sum(p["objective"] for p in parts), rel=1e-14)
    assert diag["residual"] == pytest.approx(sum(p["residual"] for p in parts), rel=1e-14)


def test_missing_neighbour_arrays_raise():
    opts = PdADMMOptions()
    problem, data = small_problem()
    state = pd.init_state(problem, data, problem.init_params(0), opts)
    kw = dict(rho=1.0, nu=1.0, options=opts)
    with pytest.raises(ValueError, match="input data"):
        pd.update_layer_primal(state.blocks[0], None, None, **kw)
    with pytest.raises(ValueError, match="left neighbour"):
        pd.update_layer_primal(state.blocks[1], None, None, **kw)
    with pytest.raises(ValueError, match="labels"):
        pd.update_layer_primal(state.blocks[-1], state.blocks[-2].q, state.blocks[-2].u, **kw)
    with pytest.raises(ValueError, match="right neighbour"):
        pd.update_layer_dual(state.blocks[0], None, **kw)


@pytest.mark.parametrize("quantize", [None, "p"])
def test_dual_identity_after_every_iteration(quantize):
    """Appendix Lemma 4: u_l = ν(q_l − f(z_l)) after every iteration (also for pdADMM-G-Q with p ∈ Δ)."""
    opts = PdADMMOptions(rho=0.03, nu=0.011, quantize=quantize)
    states, _ = run_states(opts, 15)
    for state in states:
        scale = max(float(np.max(np.abs(b.u))) for b in state.blocks[:-1]) + 1e-300
        assert pd.identity_holds(state) <= 1e-12 * max(scale, 1.0)
    # quantizing q breaks it (expected: q is no longer the unconstrained minimiser)
    states, _ = run_states(dataclasses.replace(opts, quantize="q"), 3)
    assert pd.identity_holds(states[-1]) > 1e-6


@pytest.mark.parametrize("rho,nu,quantize", [(1.0, 0.2, None), (0.5, 0.1, None), (2.0, 0.45, None),
                                             (1.0, 0.2, "p"), (0.5, 0.1, "p")])
def test_objective_non_increasing_when_rho_exceeds_4nu(rho, nu, quantize):
    """Lemma 1 (pdADMM) and its -G-Q version for β_ρ: ρ > 4ν ⇒ L_ρ (β_ρ) non-increasing."""
    assert pd.lemma1_condition(rho, nu)
    opts = PdADMMOptions(rho=rho, nu=nu, zl=NEWTON, quantize=quantize)
    problem, data = small_problem()
    r = amref.minimize(get_solver("pdadmm"), problem, data, opts, max_iter=60, seed=2)
    obj = np.array(r.history["objective"])
    assert np.all(np.diff(obj) <= 1e-10 * np.abs(obj[:-1])), np.max(np.diff(obj))
    assert obj[-1] < obj[0]
    if quantize:
        assert max(r.history["off_grid"]) == 0  # p ∈ Δ after every iteration


def test_residual_goes_to_zero():
    """Theorem 1: p_{l+1} − q_l → 0 (started from a state where the splitting is violated)."""
    opts = PdADMMOptions(rho=1.0, nu=0.2, zl=NEWTON)
    problem, data = small_problem()
    state = pd.init_state(problem, data, problem.init_params(0), opts)
    rng = np.random.default_rng(0)
    blocks = tuple(b if b.p is None else dataclasses.replace(b, p=b.p + rng.normal(size=b.p.shape))
                   for b in state.blocks)
    blocks = tuple(dataclasses.replace(b, m=b.W @ (data.x_train if b.p is None else b.p) + b.b) for b in blocks)
    state = dataclasses.replace(state, blocks=blocks)
    res = []
    for _ in range(100):
        state = pd.step(state, data, opts)
        res.append(pd.diagnostics(state, data, opts)["residual_norm_sum"])
    assert res[-1] < 5e-3 * res[0]  # measured: 5.5 → 0.014 after 100 iterations, still falling
    assert max(res[-10:]) < 0.5 * min(res[10:20])


def test_quantized_q_lies_in_delta():
    states, _ = run_states(PdADMMGQOptions(rho=0.5, nu=0.1, quantize="pq", levels=CODE_LEVELS), 4)
    for state in states:
        for blk in state.blocks[:-1]:
            assert count_off_grid(blk.q, CODE_LEVELS) == 0
        for blk in state.blocks[1:]:
            assert count_off_grid(blk.p, CODE_LEVELS) == 0


def test_diagnostics_bytes_sent():
    problem, data = small_problem()
    for opts, dtype in ((PdADMMOptions(), "float64"), (PdADMMGQOptions(quantize="pq"), "float32")):
        d = data.to("numpy", dtype=dtype)
        r = amref.minimize(get_solver("pdadmm"), problem, d, opts, max_iter=1)
        want = boundary_bytes(problem.widths, d.n_train, dtype=dtype, quantize=opts.quantize, grid=opts.levels)
        assert r.history["bytes_sent"][0] == want["total"]
    assert want["total"] == 15 * 30 * (1 + 1 + 4)  # pq: p and q as uint8 codes, u float32


def test_runs_on_every_backend_and_float32(xp):
    for opts in (PdADMMOptions(rho=0.5, nu=0.1), PdADMMGQOptions(rho=0.5, nu=0.1, quantize="pq")):
        for dtype in ("float64", "float32"):
            data = synthetic_dataset(xp, n_features=6, n_classes=3, n_train=20, n_test=8, dtype=dtype)
            problem = amref.MLP((6, 5, 4, 3))
            r = amref.minimize(get_solver("pdadmm"), problem, data, opts, max_iter=3)
            assert r.success and np.isfinite(r.objective)
            for p in r.params:
                assert p.dtype == getattr(xp, dtype)
            for blk in r.state.blocks:
                assert blk.z.dtype == getattr(xp, dtype)


def test_checkpoint_resume_matches_uninterrupted(tmp_path):
    problem, data = small_problem()
    opts = PdADMMGQOptions(rho=0.5, nu=0.1)
    full = amref.minimize(get_solver("pdadmm-g-q"), problem, data, opts, max_iter=6)
    ck = tmp_path / "pd.npz"
    amref.minimize(get_solver("pdadmm-g-q"), problem, data, opts, max_iter=3, checkpoint=ck)
    resumed = amref.minimize(get_solver("pdadmm-g-q"), problem, data, max_iter=6, resume=ck)
    for a, b in zip(full.params, resumed.params):
        np.testing.assert_array_equal(a, b)
    assert resumed.history["objective"] == full.history["objective"]


def test_registry_and_option_variants():
    assert get_solver("pdadmm").options_class is PdADMMOptions
    assert get_solver("pdadmm-g").options_class is PdADMMGOptions
    q = get_solver("pdadmm-g-q").options_class()
    assert q.quantize == "p" and q.levels == PAPER_LEVELS and isinstance(q, PdADMMOptions)
    code = PdADMMGQOptions.released_code()
    assert code.quantize == "q" and code.levels == CODE_LEVELS and code.max_doublings == 10
    assert code.zl.fista_max_iter == 50 and code.z_compare == "without_prox" and code.nu_equals_rho
    assert PdADMMOptions.released_code().p_step0 == 10 and PdADMMGOptions.released_code().p_step0 == 20
    assert get_solver("pdadmm-g").step is pd.step  # one implementation, other defaults
    assert pd.lemma1_condition(1.0, 0.2) and not pd.lemma1_condition(1e-4, 1e-4)
    assert PdADMMGQOptions(levels="code").levels == CODE_LEVELS  # names, for --option levels=code


@pytest.mark.parametrize("bad", [
    dict(rho=0.0), dict(nu=-1.0), dict(quantize="z"), dict(bias_step="mean"), dict(z_compare="x"),
    dict(max_doublings=-1), dict(weight_decay=-0.1), dict(search_cap=0), dict(rho_schedule="paper"),
    dict(levels="fine"),
])
def test_invalid_options_raise(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        PdADMMOptions(**bad)


def _literal_code_schedule(losses, rho, *, tol=1e-3, tol_first=None, windows=None, factor=10.0, rho_max=1.0):
    """The codes' loop written out: ``for i in range(ITER)`` (0-based), after the i-th iteration's loss c_i,
    ``if i > 2 and c_i > c_{i−1} − tol and c_{i−1} > c_{i−2} − tol_first: ρ = min(10ρ, cap)``, the -G-Q
    10-layer windows as ``20 < i < 50`` (cap 0.01) and ``i > 50`` (cap 1e-3). Returns ρ after each iteration."""
    tol_first = tol if tol_first is None else tol_first
    out = []
    for i, c in enumerate(losses):
        if i > 2 and c > losses[i - 1] - tol and losses[i - 1] > losses[i - 2] - tol_first:
            if windows is None:
                rho = min(factor * rho, rho_max)
            elif 20 < i < 50:
                rho = min(factor * rho, 0.01)
            elif i > 50:
                rho = min(factor * rho, 1e-3)
        out.append(rho)
    return out


def _schedule(losses, opts, rho):
    state = pd.PdADMMState(blocks=(), rho=rho, nu=rho)
    out = []
    for loss in losses:
        state = pd.end_iteration(dataclasses.replace(state, iteration=state.iteration + 1), {"train_loss": loss}, opts)
        out.append(state.rho)
        assert state.nu == state.rho
    return out


def test_cost_schedule_equals_the_codes_loop():
    rng = np.random.default_rng(3)
    # losses that stall from the start (the code cannot fire before its 4th iteration) and then now and then
    losses = [1.0, 0.9995, 0.9993, 0.9992] + list(np.cumsum(rng.choice([0.0, -0.0005, -0.01], size=40)) + 0.99)
    opts = PdADMMGOptions.released_code(rho=1e-6)
    got = _schedule(losses, opts, 1e-6)
    assert got == pytest.approx(_literal_code_schedule(losses, 1e-6))
    assert got[2] == 1e-6 and got[3] == pytest.approx(1e-5)  # the 3rd iteration does not fire, the 4th does
    assert max(got) == 1.0


def test_q_deep_stage_windows_equal_the_codes_loop():
    rng = np.random.default_rng(4)
    losses = list(1.0 + np.cumsum(rng.choice([0.0, 0.0005, -0.0005, -0.01], size=80)))
    opts = PdADMMGQOptions.released_code(rho=1e-4, stage="deep")
    got = _schedule(losses, opts, 1e-4)
    want = _literal_code_schedule(losses, 1e-4, tol_first=0.0, windows=True)
    assert got == pytest.approx(want)
    assert got[19] == 1e-4 and max(got[:50]) == pytest.approx(0.01) and got[-1] == pytest.approx(1e-3)


@pytest.mark.parametrize("tol_first, fires", [(0.0, False), (None, True)])
def test_q_deep_windows_on_a_loss_that_keeps_falling(tol_first, fires):
    # a Cora-like 10-layer -G-Q loss: it falls by 5e-3 per iteration, then by 2e-4; it never rises
    losses = list(2.0 - 5e-3 * np.arange(60)) + list(1.7 - 2e-4 * np.arange(1, 41))
    opts = PdADMMGQOptions.released_code(rho=1e-4, stage="deep", cost_tol_first=tol_first)
    got = _schedule(losses, opts, 1e-4)
    assert got == pytest.approx(_literal_code_schedule(losses, 1e-4, tol_first=tol_first, windows=True))
    # the committed script (no tolerance on c_{i-1} > c_{i-2}) never raises ρ; 0.001 on both does, to 1e-3
    assert (max(got) == pytest.approx(1e-3)) is fires and (max(got) == 1e-4) is not fires


def test_rho_windows_are_validated():
    with pytest.raises(ValueError, match="rho_windows"):
        PdADMMOptions(rho_windows=((5, 3, 0.1),))
    with pytest.raises(ValueError, match="rho_windows"):
        PdADMMOptions(rho_windows=((1, None, -1.0),))
    assert PdADMMOptions(rho_windows=[[2, None, 1]]).rho_windows == ((2, None, 1.0),)


def test_pdadmm_g_on_graph_augmented_features():
    rng = np.random.default_rng(5)
    V, d, C = 60, 8, 3
    labels = rng.integers(0, C, V)
    feats = (rng.random((d, V)) < 0.3).astype(float)
    feats[labels, np.arange(V)] += 1.0  # a class signal for the GA-MLP to find
    A = sp.random(V, V, density=0.08, random_state=1, format="csr")
    A = ((A + A.T) > 0).astype(float)
    A.setdiag(0)
    A.eliminate_zeros()
    g = Graph("toy", feats, sp.csr_matrix(A), labels, C, np.arange(0, 30), np.arange(30, 40), np.arange(40, 60))
    data = graph_dataset(g, hops=4)
    assert data.n_features == 4 * d
    problem = amref.MLP((data.n_features, 8, 8, C))
    r = amref.minimize(get_solver("pdadmm-g"), problem, data, PdADMMGOptions(rho=1.0, nu=0.2), max_iter=20)
    assert r.success and len(r.history) == 20
    r = amref.minimize(get_solver("pdadmm-g-q"), problem, data, PdADMMGQOptions(rho=1.0, nu=0.2), max_iter=20)
    assert r.success and max(r.history["off_grid"]) == 0
