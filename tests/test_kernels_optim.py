"""The optimizer kernels (amref/kernels/numba_optim.py) against the array-API expressions they replace.

Each rule runs a few steps twice from the same start, once with the kernels forced on (``use_jit(True)``,
whatever the size) and once with them off; parameters and every state array must agree bit for bit, in
float32 and float64, over decay styles, schedules, clipping and the branches of each rule, with the kernels
writing new arrays and writing over donated ones (``apply_step(..., donate=True)``).
"""

from __future__ import annotations

import numpy as np
import pytest

from amref import optim
from amref.kernels import use_jit
from amref.kernels import optim_kernel
from amref.optim.base import apply_step

pytest.importorskip("amref.kernels.numba_optim", reason="numba not installed")

CASES = [
    ("adam", {"lr": 0.01, "weight_decay": 0.1}),                                     # l2 decay before the rule
    ("adam", {"lr": 0.01, "eps": 0.0}),                                              # ε = 0
    ("adamw", {"lr": 0.01, "b1": 0.8, "schedule": "cosine", "decay_steps": 3}),      # decoupled, scheduled
    ("adamw", {"lr": 0.01, "weight_decay_style": "fixed", "clip_norm": 1.0}),
    ("lion", {"lr": 0.01, "weight_decay": 0.1, "b2": 0.3}),
    ("adan", {"lr": 0.01}),                                                          # proximal (default)
    ("adan", {"lr": 0.01, "weight_decay_style": "decoupled", "eps": 1e-3}),
    ("adabelief", {"lr": 0.01, "rectify": False, "weight_decay": 0.1}),
    ("adabelief", {"lr": 0.01, "b2": 0.9}),                             # SGD branch (ρ_t < 5), rectified from t = 6
    ("momentum", {"lr": 0.1, "dampening": 0.3, "weight_decay": 0.1}),
    ("nesterov", {"lr": 0.1, "weight_decay": 0.1, "weight_decay_style": "proximal"}),
    ("sgd", {"lr": 0.1, "weight_decay": 0.1, "weight_decay_style": "decoupled"}),   # only the fused tail
    ("adagrad", {"lr": 0.1, "initial_accumulator": 0.1, "weight_decay": 0.1}),
    ("rmsprop", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "eps": 1e-3, "weight_decay": 0.1}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.5}),
]
SHAPES = [(7, 5), (7, 1), (3, 7), (3,)]
STEPS = 7


def _run(name, fields, dtype, jit, donate=False):
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(STEPS)]
    grads[1][0] = np.asfortranarray(grads[1][0])  # a non-contiguous-in-C block goes through the kernel too
    grads[2][2][0, :] = 0.0  # zero gradients: sign(0), 0/ε
    opt = optim.optimizer(name, is_bias=[False, True, False, True], **fields)
    state = opt.init(params)
    with use_jit(jit):
        for k, g in enumerate(grads):
            params, state = apply_step(opt, g, state, params, donate=donate and k > 0)
    return params, state


def _arrays(tree):
    if isinstance(tree, np.ndarray):
        return [tree]
    if isinstance(tree, (list, tuple)):
        return [a for x in tree for a in _arrays(x)]
    return []


@pytest.mark.parametrize("donate", [False, True], ids=["pure", "donated"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, fields", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_kernels_give_the_reference_bit_for_bit(name, fields, dtype, donate):
    p_jit, s_jit = _run(name, fields, dtype, True, donate)
    p_ref, s_ref = _run(name, fields, dtype, False)
    for got, want in zip(p_jit + _arrays(s_jit), p_ref + _arrays(s_ref)):
        assert got.dtype == want.dtype == np.dtype(dtype)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want, err_msg=f"{name} {fields} {dtype}")
    assert len(_arrays(s_jit)) == len(_arrays(s_ref))


def test_fused_step_equals_update_then_apply_updates_and_is_pure():
    rng = np.random.default_rng(1)
    params = [rng.standard_normal(s).astype("float32") for s in SHAPES]
    grads = [rng.standard_normal(s).astype("float32") for s in SHAPES]
    before = [p.copy() for p in params]
    for name, fields in CASES:
        opt = optim.optimizer(name, is_bias=[False, True, False, True], **fields)
        state = opt.init(params)
        for jit in (True, False):
            with use_jit(jit):
                fused, _ = apply_step(opt, grads, state, params)
            deltas, _ = opt.update(grads, state, params)
            for got, want in zip(fused, optim.apply_updates(params, deltas)):
                np.testing.assert_array_equal(got, want, err_msg=f"{name} jit={jit}")
        for p, b in zip(params, before):
            np.testing.assert_array_equal(p, b)


def test_donated_arrays_are_written_over_and_others_left_alone():
    rng = np.random.default_rng(2)
    params = [rng.standard_normal((6, 4)), rng.standard_normal((6, 1))]
    grads = [rng.standard_normal((6, 4)), rng.standard_normal((6, 1))]
    opt = optim.optimizer("adamw")
    with use_jit(True):
        params, state = apply_step(opt, grads, opt.init(params), params)  # step 1: new arrays
        grads_before = [g.copy() for g in grads]
        old_params, old_mu = list(params), list(state[0].mu)
        new_params, new_state = apply_step(opt, grads, state, params, donate=True)
    for new, old in zip(new_params + new_state[0].mu, old_params + old_mu):
        assert new is old  # written over, in place
    for g, b in zip(grads, grads_before):
        np.testing.assert_array_equal(g, b)


def test_a_kernel_is_chosen_only_where_it_applies():
    x32, x64 = np.zeros((4, 3), np.float32), np.zeros((4, 3))
    with use_jit(True):
        for name in ("adam", "lion", "adan", "adabelief", "momentum", "adagrad", "rmsprop", "apply_direction"):
            assert optim_kernel(name, x32, x32) is not None, name
        assert optim_kernel("adam", x32, x64) is None          # mixed dtypes: the reference promotes
        assert optim_kernel("adam", x32, x32[:, :1]) is None   # broadcasting: the reference
        assert optim_kernel("adam", x32.astype(np.int64)) is None
    with use_jit(False):
        assert optim_kernel("adam", x32) is None
    with use_jit(None):  # the default: not below JIT_MIN_SIZE elements
        assert optim_kernel("adam", x32) is None


@pytest.mark.parametrize("name", ["adam", "adan", "lion"])
def test_training_epochs_with_kernels_match_and_leave_the_previous_state_alone(name):
    import amref
    from helpers import synthetic_dataset

    data = synthetic_dataset(np, n_features=8, n_classes=3, n_train=60, n_test=20, seed=3)
    spec = amref.get_solver(name)
    options = spec.options_class(batch_size=16)  # four updates per epoch: three of them donate
    problem = amref.MLP((8, 7, 3))
    start = spec.init_state(problem, data, problem.init_params(0), options)
    states = {}
    for jit in (False, True):
        with use_jit(jit):
            state = spec.step(start, data, options)
            before = [a.copy() for a in list(state.params) + _arrays(state.opt_state)]
            states[jit] = spec.step(state, data, options)
        for a, b in zip(list(state.params) + _arrays(state.opt_state), before):
            np.testing.assert_array_equal(a, b)  # the driver's previous state is intact
    for a, b in zip(list(states[True].params) + _arrays(states[True].opt_state),
                    list(states[False].params) + _arrays(states[False].opt_state)):
        np.testing.assert_array_equal(a, b)
