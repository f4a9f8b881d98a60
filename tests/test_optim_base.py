"""The optimizer machinery: chain/apply_updates, schedules, weight-decay styles, clipping, option validation."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import amref
from amref import optim
from amref.backend import from_host
from amref.optim import base, transforms
from amref.optim.options import BaselineOptions
from helpers import assert_close, host


def arrays(xp, *values):
    return [from_host(np.asarray(v, dtype=float), xp) for v in values]


def test_chain_applies_in_order_and_apply_updates_adds(xp):
    params = arrays(xp, [1.0, -2.0], [[3.0]])
    grads = arrays(xp, [0.5, 0.5], [[-1.0]])
    opt = base.chain(transforms.add_l2_decay(0.1), transforms.scale_by_learning_rate(2.0))
    state = opt.init(params)
    deltas, state = opt.update(grads, state, params)
    # Δ = −2 (g + 0.1 θ)
    assert_close(deltas[0], from_host(np.array([-1.2, -0.6]), xp))
    assert_close(deltas[1], from_host(np.array([[1.4]]), xp))
    new = base.apply_updates(params, deltas)
    assert_close(new[0], from_host(np.array([-0.2, -2.6]), xp))
    assert state == (base.CountState(1), base.CountState(1))
    assert_close(params[0], from_host(np.array([1.0, -2.0]), xp))  # inputs untouched


def test_tree_helpers(xp):
    a = arrays(xp, [3.0, 0.0], [[4.0]])
    assert float(base.global_norm(a)) == 5.0
    assert float(base.tree_vdot(a, a)) == 25.0
    assert [host(z).tolist() for z in base.tree_zeros_like(a)] == [[0.0, 0.0], [[0.0]]]
    with pytest.raises(ValueError, match="lengths"):
        base.tree_map(lambda x, y: x + y, a, a[:1])
    with pytest.raises(ValueError, match="mask"):
        base.resolve_mask([True], 2)


def test_schedules_known_values():
    assert [transforms.step_schedule(1.0, 2, 0.1)(k) for k in range(5)] == pytest.approx([1, 1, 0.1, 0.1, 0.01])
    assert transforms.exponential_schedule(2.0, 10, 0.5)(20) == pytest.approx(0.5)
    assert transforms.inverse_time_schedule(1.0, 0.5)(4) == pytest.approx(1 / 3)
    assert [transforms.polynomial_schedule(1.0, 4, 2.0)(k) for k in (0, 2, 4, 9)] == pytest.approx([1, 0.25, 0, 0])
    assert [transforms.cosine_schedule(1.0, 4)(k) for k in (0, 2, 4)] == pytest.approx([1, 0.5, 0])
    warm = transforms.warmup_schedule(1.0, 4, transforms.constant_schedule(1.0))
    assert [warm(k) for k in range(6)] == pytest.approx([0.25, 0.5, 0.75, 1, 1, 1])
    opts = BaselineOptions(lr=0.1, schedule="step", decay_rate=0.5, decay_steps=3, warmup_steps=2)
    s = transforms.make_schedule(opts)
    assert [s(k) for k in range(7)] == pytest.approx([0.05, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05])


@pytest.mark.parametrize("style, expected", [
    # θ = [2, 4] (weight), [1] (bias); rule = identity, g = [1, 1], [1]; γ = 0.1, λ = 0.5
    ("l2", ([-0.2, -0.3], [-0.1])),                                   # −γ (g + λθ), bias not decayed
    ("decoupled", ([-0.2, -0.3], [-0.1])),                            # −γ g − γλθ (same at constant γ)
    ("fixed", ([-1.1, -2.1], [-0.1])),                                # −γ g − λθ
    ("proximal", ([(2 - 0.1) / 1.05 - 2, (4 - 0.1) / 1.05 - 4], [-0.1])),  # (θ − γg)/(1 + γλ) − θ
])
def test_weight_decay_styles_and_bias_mask(xp, style, expected):
    params = arrays(xp, [2.0, 4.0], [1.0])
    grads = arrays(xp, [1.0, 1.0], [1.0])
    opts = optim.options_class("sgd")(lr=0.1, weight_decay=0.5, weight_decay_style=style)
    opt = optim.optimizer("sgd", opts, is_bias=[False, True])
    deltas, _ = opt.update(grads, opt.init(params), params)
    assert_close(deltas[0], from_host(np.array(expected[0]), xp))
    assert_close(deltas[1], from_host(np.array(expected[1]), xp))
    # decay_biases=True decays the bias as well
    opts = dataclasses.replace(opts, decay_biases=True)
    opt = optim.optimizer("sgd", opts, is_bias=[False, True])
    deltas, _ = opt.update(grads, opt.init(params), params)
    assert float(deltas[1][0]) != pytest.approx(-0.1)


def test_decoupled_decay_follows_the_schedule_and_l2_enters_the_state():
    import array_api_compat.numpy as xp

    params, grads = arrays(xp, [1.0]), arrays(xp, [0.0])
    opts = optim.options_class("sgd")(lr=1.0, weight_decay=0.1, weight_decay_style="decoupled",
                                      schedule="step", decay_steps=1, decay_rate=0.5)
    opt = optim.optimizer("sgd", opts)
    state = opt.init(params)
    steps = []
    for _ in range(3):
        deltas, state = opt.update(grads, state, params)
        steps.append(float(deltas[0][0]))
    assert steps == pytest.approx([-0.1, -0.05, -0.025])  # γ_k λ θ with γ_k = 0.5^k
    # L2 decay is added to the gradient before the rule, so Adam normalises it away: first step −γ sign(g + λθ)
    opt = optim.optimizer("adam", lr=0.01, weight_decay=0.1)
    deltas, _ = opt.update(grads, opt.init(params), params)
    assert float(deltas[0][0]) == pytest.approx(-0.01, rel=1e-6)


def test_clip_by_global_norm(xp):
    grads = arrays(xp, [3.0], [[4.0]])
    clip = transforms.clip_by_global_norm(1.0)
    out, _ = clip.update(grads, clip.init(grads))
    assert_close(out[0], from_host(np.array([0.6]), xp))
    assert_close(out[1], from_host(np.array([[0.8]]), xp))
    clip = transforms.clip_by_global_norm(10.0)
    out, _ = clip.update(grads, clip.init(grads))
    assert_close(out[0], grads[0])


def test_every_baseline_has_the_command_line_fields_and_validates():
    for name in amref.baseline_names():
        cls = optim.options_class(name)
        fields = {f.name for f in dataclasses.fields(cls)}
        assert {"lr", "weight_decay", "batch_size"} <= fields, name
        defaults = cls()
        assert cls.__dataclass_params__.frozen
        with pytest.raises(ValueError, match="lr"):
            cls(lr=-1e-3)
        with pytest.raises(ValueError, match="weight_decay"):
            cls(weight_decay=-0.1)
        with pytest.raises(ValueError, match="batch_size"):
            cls(batch_size=0)
        with pytest.raises(ValueError, match="weight_decay_style"):
            cls(weight_decay_style="sideways")
        with pytest.raises(ValueError, match="reduction"):
            cls(reduction="median")
        with pytest.raises(ValueError, match="lr"):
            cls(lr=math.nan)
        for beta in [f for f in fields if f in ("b1", "b2", "b3", "rho", "alpha", "beta")]:
            for bad in (1.0, -0.1, 1.5):
                with pytest.raises(ValueError, match=beta):
                    cls(**{beta: bad})
        assert defaults.lr > 0


@pytest.mark.parametrize("name, bad, match", [
    ("sgd", {"momentum": -0.5}, "momentum"),
    ("nesterov", {"dampening": 0.1}, "nesterov"),
    ("sgd", {"nesterov": True}, "nesterov"),
    ("adagrad", {"eps": -1.0}, "eps"),
    ("adadelta", {"eps": 0.0}, "eps"),
    ("rmsprop", {"centered": "yes"}, "centered"),
    ("adagrad-norm", {"b0": 0.0}, "b0"),
    ("adagrad-norm", {"scope": "column"}, "scope"),
    ("adadagrad", {"test": "t-test"}, "test"),
    ("adadagrad", {"eta": 0.0}, "eta"),
    ("adadagrad", {"test_interval": 0}, "test_interval"),
    ("sgd-sai", {"momentum": 1.0}, "momentum"),
    ("adahessian", {"hessian_power": 1.5}, "hessian_power"),
    ("adahessian", {"hessian_average": "column"}, "hessian_average"),
    ("lars", {"trust_coefficient": 0.0}, "trust_coefficient"),
    ("lamb", {"norm_clip_max": -1.0}, "norm_clip_max"),
    ("soaa", {"radius_bound": 1.0}, "radius_bound"),
    ("adafisher", {"damping": 0.0}, "damping"),
    ("adafisher", {"update_every": 0}, "update_every"),
    ("adam", {"schedule": "triangle"}, "schedule"),
    ("adam", {"schedule": "step", "decay_rate": 2.0}, "decay_rate"),
    ("adam", {"clip_norm": 0.0}, "clip_norm"),
    ("adam", {"weight_decay_style": "direction"}, "weight_decay_style"),
])
def test_invalid_hyperparameters_raise_naming_the_option(name, bad, match):
    with pytest.raises(ValueError, match=match):
        optim.options_class(name)(**bad)
