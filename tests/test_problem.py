"""The MLP problem: initialisation recipes, forward pass, checks and weight files."""

from __future__ import annotations

import numpy as np
import pytest

from amref.backend import get_namespace, to_host
from amref.data import one_hot
from amref.problem import MLP, join_params, load_params, save_params, split_params
from helpers import synthetic_dataset


def test_init_shapes_and_distribution(xp):
    mlp = MLP((784, 300, 10))
    p = mlp.init_params(0, xp=xp, dtype="float32")
    assert [tuple(a.shape) for a in p] == [(300, 784), (300, 1), (10, 300), (10, 1)]
    assert all(a.dtype == xp.float32 for a in p)
    W1 = to_host(p[0])
    assert abs(W1.std() - 0.1) < 0.002 and abs(W1.mean()) < 0.002


def test_init_is_identical_across_backends():
    mlp = MLP((5, 4, 3))
    a = mlp.init_params(7)
    b = mlp.init_params(7, xp=get_namespace("array_api_strict"))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, to_host(y))


def test_reseed_scheme_makes_prefixes_of_one_stream():
    """The authors' recipe: every tensor starts the same stream (b_1 = first entries of W_1, ...)."""
    p = MLP((6, 5, 4)).init_params(13, scheme="reseed")
    W1, b1, W2, b2 = p
    np.testing.assert_array_equal(b1.ravel(), W1.ravel()[:5])
    np.testing.assert_array_equal(W2.ravel(), W1.ravel()[:20])
    np.testing.assert_array_equal(b2.ravel(), W1.ravel()[:4])
    indep = MLP((6, 5, 4)).init_params(13)
    assert not np.array_equal(indep[1].ravel(), indep[0].ravel()[:5])


def test_forward_matches_manual(xp):
    mlp = MLP((4, 3, 2))
    p = mlp.init_params(1, xp=xp)
    x = get_namespace("numpy").asarray(np.random.default_rng(0).normal(size=(4, 6)))
    from amref.backend import from_host

    xx = from_host(x, xp)
    W1, b1, W2, b2 = (to_host(a) for a in p)
    manual = W2 @ np.maximum(W1 @ x + b1, 0) + b2
    np.testing.assert_allclose(to_host(mlp.forward(p, xx)), manual, rtol=1e-13)


@pytest.mark.parametrize("widths", [(3,), (3, 0, 2), (3, 2.5, 2), (3, True, 2)])
def test_bad_widths(widths):
    with pytest.raises(ValueError):
        MLP(widths)


def test_check_data_errors():
    npx = get_namespace("numpy")
    d = synthetic_dataset(npx)
    mlp = MLP((12, 4, 3))
    mlp.check_data(d.x_train, d.y_train)
    x = np.array(d.x_train)
    x[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        mlp.check_data(x, d.y_train)
    y = np.array(d.y_train)
    y[:, 0] = 0
    with pytest.raises(ValueError, match="one-hot"):
        mlp.check_data(d.x_train, y)
    with pytest.raises(ValueError, match="features"):
        MLP((11, 3)).check_data(d.x_train, d.y_train)
    with pytest.raises(ValueError, match="samples"):
        mlp.check_data(d.x_train, d.y_train[:, :5])


def test_one_hot_rejects_bad_labels():
    np.testing.assert_array_equal(one_hot(np.array([2, 0]), 3), [[0, 1], [0, 0], [1, 0]])
    with pytest.raises(ValueError, match="range"):
        one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="range"):
        one_hot(np.array([-1]), 3)
    with pytest.raises(ValueError, match="integers"):
        one_hot(np.array([0.5]), 3)


def test_weights_file_round_trip_and_errors(tmp_path):
    mlp = MLP((5, 4, 3))
    p = mlp.init_params(2)
    save_params(tmp_path / "w.npz", p)
    with np.load(tmp_path / "w.npz") as f:
        assert sorted(f.files) == ["W1", "W2", "b1", "b2"] and f["b1"].shape == (4,)
    back = load_params(tmp_path / "w.npz", mlp, dtype="float32")
    for a, b in zip(p, back):
        np.testing.assert_allclose(a, b, rtol=1e-6)
        assert b.dtype == np.float32
    with pytest.raises(ValueError, match="shape"):
        load_params(tmp_path / "w.npz", MLP((5, 6, 3)))
    with pytest.raises(ValueError, match="missing W3"):
        load_params(tmp_path / "w.npz", MLP((5, 4, 3, 2)))
    Ws, bs = split_params(p)
    Ws[0] = Ws[0] * np.nan
    save_params(tmp_path / "nan.npz", join_params(Ws, bs))
    with pytest.raises(ValueError, match="NaN"):
        load_params(tmp_path / "nan.npz", mlp)
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="readable"):
        load_params(tmp_path / "junk.npz", mlp)
