"""scikit-learn estimators: scikit-learn's own estimator checks, options as parameters, array-API inputs kept
in their namespace, warm starts, and a Pipeline inside GridSearchCV."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, make_blobs  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from amref.backend import to_host  # noqa: E402
from amref.sklearn import AMClassifier, AMRegressor  # noqa: E402


# every check passes at the default parameters (mDLAM, 100 ReLU units, 50 iterations); the array-API checks
# skip themselves unless SCIPY_ARRAY_API is set (tested directly below with array-api-strict)
@parametrize_with_checks([AMClassifier(random_state=0), AMRegressor(random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_options_are_parameters_and_survive_clone():
    est = AMClassifier(solver="dladmm", rho=1.0, nu=1.0)
    assert est.get_params()["rho"] == 1.0 and clone(est).get_params()["nu"] == 1.0
    est.set_params(solver="mdlam", rho=2.0)
    assert est.get_params()["rho"] == 2.0 and est.get_params()["solver"] == "mdlam"
    X, y = make_blobs(n_samples=40, random_state=0)
    with pytest.raises(ValueError, match="solver 'mdlam' has no option 'nu'"):
        est.fit(X, y)
    with pytest.raises(ValueError, match="rho"):
        AMClassifier(solver="mdlam", rho=-1.0, max_iter=2).fit(X, y)


def test_the_options_reach_the_solver():
    X, y = make_blobs(n_samples=60, random_state=1)
    est = AMClassifier(solver="dladmm", rho=0.5, nu=0.25, max_iter=2, random_state=0).fit(X, y)
    assert est.result_.options["rho"] == 0.5 and est.result_.options["nu"] == 0.25
    assert est.problem_.widths == (2, 100, 3) and est.n_iter_ == 2


@pytest.mark.parametrize("activation", ["hardtanh", "step", "tanh,relu"])
def test_activation_is_passed_on(activation):
    X, y = make_blobs(n_samples=60, random_state=1)
    hidden = (8, 8) if "," in activation else (8,)
    est = AMClassifier(activation=activation, hidden_layer_sizes=hidden, max_iter=3, random_state=0).fit(X, y)
    assert est.problem_.activation == activation


def test_array_api_inputs_stay_in_their_namespace():
    xps = pytest.importorskip("array_api_strict")
    X, y = make_blobs(n_samples=120, random_state=0)
    Xs, ys = xps.asarray(X), xps.asarray(y)
    est = AMClassifier(max_iter=10, random_state=0).fit(Xs, ys)
    pred = est.predict(Xs)
    assert isinstance(pred, type(Xs)) and isinstance(est.classes_, type(Xs))
    ref = AMClassifier(max_iter=10, random_state=0).fit(X, y)
    np.testing.assert_array_equal(np.asarray(to_host(pred)), ref.predict(X))  # same run, another namespace
    assert est.score(Xs, ys) == ref.score(X, y)
    reg = AMRegressor(max_iter=10, random_state=0).fit(Xs, xps.asarray(2.0 * X[:, 0]))
    out = reg.predict(Xs)
    assert isinstance(out, type(Xs)) and out.shape == (120,)
    assert reg.score(Xs, xps.asarray(2.0 * X[:, 0])) == pytest.approx(
        AMRegressor(max_iter=10, random_state=0).fit(X, 2.0 * X[:, 0]).score(X, 2.0 * X[:, 0]), rel=1e-10)


def test_warm_start_continues_from_the_last_weights():
    """Full-batch SGD keeps no state, so 3 + 3 warm epochs are exactly 6 epochs; without warm start, 3."""
    X, y = make_blobs(n_samples=80, random_state=2)
    twice = AMClassifier(solver="sgd", max_iter=3, warm_start=True, random_state=0, lr=1e-2).fit(X, y).fit(X, y)
    six = AMClassifier(solver="sgd", max_iter=6, random_state=0, lr=1e-2).fit(X, y)
    cold = AMClassifier(solver="sgd", max_iter=3, random_state=0, lr=1e-2).fit(X, y).fit(X, y)
    for a, b in zip(twice.params_, six.params_):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert not np.allclose(cold.params_[0], six.params_[0])


def test_pipeline_with_grid_search_on_digits():
    X, y = load_digits(return_X_y=True)
    X, y = X[:600], y[:600]
    pipe = make_pipeline(StandardScaler(), AMClassifier(max_iter=30, hidden_layer_sizes=(64,), random_state=0))
    search = GridSearchCV(pipe, {"amclassifier__activation": ["relu", "hardtanh"],
                                 "amclassifier__rho": [1e-3, 1e-2]}, cv=2)
    search.fit(X, y)
    assert set(search.best_params_) == {"amclassifier__activation", "amclassifier__rho"}
    assert search.best_score_ > 0.8 and search.best_estimator_[-1].result_.options["rho"] in (1e-3, 1e-2)


def test_the_module_works_without_scikit_learn():
    import subprocess
    import sys

    code = ("import sys; sys.modules['sklearn'] = None; import numpy as np; "
            "from amref.sklearn import AMClassifier, AMRegressor, HAVE_SKLEARN; "
            "rng = np.random.default_rng(0); X = rng.normal(size=(60, 3)); y = (X[:, 0] > 0).astype(int); "
            "c = AMClassifier(max_iter=5, hidden_layer_sizes=(8,), random_state=0).fit(X, y); "
            "r = AMRegressor(max_iter=5, hidden_layer_sizes=(8,), random_state=0).fit(X, X[:, 1]); "
            "print(HAVE_SKLEARN, c.score(X, y) > 0.5, r.predict(X).shape, c.get_params()['max_iter'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "(60,)", "5"]
