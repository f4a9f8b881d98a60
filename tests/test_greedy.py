"""Greedy layer-wise training: growing keeps the trained layers and the forward pass; stages chain."""

from __future__ import annotations

import numpy as np
import pytest

import amref
from amref.backend import get_namespace
from amref import get_solver
from amref.solvers.greedy import Stage, default_stages, grow_params, paper_stages, stage_problem, train_greedy
from amref.solvers.pdadmm import PdADMMOptions
from helpers import assert_close, synthetic_dataset

NP = get_namespace("numpy")


def test_stage_problem_and_schedules():
    big = amref.MLP((12, 9, 9, 9, 9, 9, 9, 9, 9, 9, 4))
    assert stage_problem(big, 2).widths == (12, 9, 4)
    assert stage_problem(big, 10) == big
    assert [(s.depth, s.iterations, s.output_init, s.handover) for s in paper_stages("pdadmm-g", 10, 200)] == [
        (2, 200, "random", "weights"), (5, 10, "random", "state"), (10, 200, "identity", "state")]
    assert [s.depth for s in paper_stages("pdadmm", 10, 50)] == [5, 10]
    assert [s.depth for s in paper_stages("pdadmm-g", 4)] == [2, 4]
    assert [s.depth for s in default_stages(10, 7)] == [2, 5, 10]
    assert [s.depth for s in default_stages(2, 7)] == [2]
    with pytest.raises(ValueError):
        Stage(0, 10)
    with pytest.raises(ValueError):
        paper_stages("dladmm")


def test_grow_params_keeps_hidden_layers_and_the_forward_pass(xp):
    data = synthetic_dataset(xp, n_features=6, n_classes=3, n_train=15)
    big = amref.MLP((6, 5, 5, 5, 5, 3))
    small = stage_problem(big, 3)
    p_small = small.init_params(1, xp=xp)
    for out in ("identity", "random"):
        p_big = grow_params(p_small, small, big, output_init=out, seed=4)
        big.check_params(p_big)
        for a, b in zip(p_small[:4], p_big[:4]):
            assert_close(a, b)
        # identity hidden layers pass the ReLU output of layer 2 through unchanged
        _, acts_small = small.hidden(p_small, data.x_train)
        _, acts_big = big.hidden(p_big, data.x_train)
        assert_close(acts_big[-1], acts_small[-1])
    assert_close(p_big[-2], big.init_params(4, xp=xp)[-2])
    p_id = grow_params(p_small, small, big, output_init="identity")
    assert_close(p_id[-2], xp.eye(3, 5, dtype=xp.float64))


def test_train_greedy_chains_stages():
    data = synthetic_dataset(NP, n_features=8, n_classes=3, n_train=60, n_test=20)
    problem = amref.MLP((8,) + (10,) * 5 + (3,))
    seen = []
    r = train_greedy(get_solver("pdadmm"), problem, data, PdADMMOptions(rho=1.0, nu=1.0),
                     stages=[Stage(2, 8), Stage(4, 3, options=PdADMMOptions(rho=0.5, nu=0.5)),
                             Stage(6, 5, output_init="identity")],
                     callback=lambda info: seen.append(len(info.params)))
    assert r.success and r.nit == 16 and len(r.history) == 16
    assert r.history["stage"] == [1.0] * 8 + [2.0] * 3 + [3.0] * 5
    assert r.history["iteration"] == list(map(float, range(1, 17)))
    assert r.history["rho"][8:11] == [0.5] * 3
    assert seen == [4] * 8 + [8] * 3 + [12] * 5
    problem.check_params(r.params)
    assert [s["depth"] for s in r.options["greedy_stages"]] == [2, 4, 6]
    # the default schedule 2 → 5 → L
    r = train_greedy(get_solver("mdlam"), problem, data, max_iter=2)
    assert r.history["depth"] == [2.0, 2.0, 5.0, 5.0, 6.0, 6.0]


def test_greedy_helps_a_deep_pdadmm_net():
    """The reason for the strategy: a 10-layer pdADMM net trained from scratch barely moves in a few
    iterations, the greedily grown one keeps what its shallow stage learned."""
    data = synthetic_dataset(NP, n_features=8, n_classes=3, n_train=80, n_test=20, seed=3)
    problem = amref.MLP((8,) + (12,) * 9 + (3,))
    opts = PdADMMOptions(rho=1.0, nu=1.0)
    greedy = train_greedy(get_solver("pdadmm"), problem, data, opts, max_iter=20)
    plain = amref.minimize(get_solver("pdadmm"), problem, data, opts, max_iter=60)
    assert greedy.history["train_accuracy"][-1] > plain.history["train_accuracy"][-1] + 0.1


def test_invalid_schedules():
    data = synthetic_dataset(NP, n_features=4, n_classes=2, n_train=10)
    problem = amref.MLP((4, 3, 3, 2))
    with pytest.raises(ValueError, match="full network"):
        train_greedy(get_solver("pdadmm"), problem, data, stages=[Stage(2, 1)])
    with pytest.raises(ValueError, match="increase"):
        train_greedy(get_solver("pdadmm"), problem, data, stages=[Stage(3, 1), Stage(3, 1)])
    with pytest.raises(ValueError, match="carry_state"):
        train_greedy(get_solver("mdlam"), problem, data, stages=[Stage(2, 1), Stage(3, 1, handover="state")])
    with pytest.raises(ValueError, match="handover"):
        Stage(2, 1, handover="z")


@pytest.mark.parametrize("zl_init", ["labels", "zeros"])
def test_state_handover_is_the_codes(zl_init):
    """``handover="state"`` builds what the pdADMM-G code builds between stages, written out here: layer 1
    keeps p, z, q of the 2-layer run, layers 2…L−1 are identity layers fed forward from the kept q_1, the
    output layer's input is the last new q, z_L per zl_init, every dual 0."""
    data = synthetic_dataset(NP, n_features=6, n_classes=3, n_train=30, seed=2)
    problem = amref.MLP((6, 5, 5, 5, 3))
    opts = PdADMMOptions(rho=1.0, nu=0.5, weight_decay=2.0, zl_init=zl_init)
    small = stage_problem(problem, 2)
    first = amref.minimize(get_solver("pdadmm"), small, data, opts, max_iter=6)
    r = train_greedy(get_solver("pdadmm"), problem, data, opts,
                     stages=[Stage(2, 6), Stage(4, 0, handover="state")])
    old, new = first.state.blocks, r.state.blocks
    np.testing.assert_array_equal(new[0].z, old[0].z)
    np.testing.assert_array_equal(new[0].q, old[0].q)
    # the 2-layer run's q_1 is not the forward pass of its weights: the two hand-overs differ
    assert np.max(np.abs(old[0].q - np.maximum(old[0].W @ data.x_train + old[0].b, 0))) > 1e-3
    h = old[0].q
    for l in (1, 2):
        np.testing.assert_array_equal(new[l].W, np.eye(5))
        np.testing.assert_array_equal(new[l].p, h)
        np.testing.assert_allclose(new[l].z, h, atol=1e-15)
        h = np.maximum(h, 0.0)
        np.testing.assert_allclose(new[l].q, h, atol=1e-15)
    np.testing.assert_array_equal(new[3].p, h)
    np.testing.assert_allclose(new[3].m, new[3].W @ h + new[3].b, atol=1e-15)
    np.testing.assert_array_equal(new[3].z, 2 * data.y_train - 1 if zl_init == "labels" else 0 * data.y_train)
    for blk in new[:3]:
        np.testing.assert_array_equal(blk.u, 0 * blk.u)
    assert r.options["greedy_stages"][1]["handover"] == "state"
    weights = train_greedy(get_solver("pdadmm"), problem, data, opts, stages=[Stage(2, 6), Stage(4, 0)])
    np.testing.assert_allclose(weights.state.blocks[0].q, np.maximum(old[0].W @ data.x_train + old[0].b, 0))
