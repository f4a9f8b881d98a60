"""Pins the iterates of every solver and baseline: a refactor must leave them bit-identical on NumPy.

For each registered name, a fixed tiny problem (synthetic data, seed 0, float64, BLAS on one thread)
runs for a few iterations; the test compares the SHA-256 of the final weights' bytes and the exact
(hex) values of the objective and residual columns with ``tests/data/pinned_iterates.json``.

A change that is *meant* to change iterates (a bug fix in an update rule) regenerates the file with
``AMREF_REPIN=1 python -m pytest tests/test_pinned_iterates.py`` and says why in its commit message.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import amref
from helpers import synthetic_dataset

PINS = pathlib.Path(__file__).parent / "data" / "pinned_iterates.json"
ITERS = 3


def _options(key: str):
    """``name`` (paper defaults), ``name:code`` (released-code preset) or ``name:batch`` (mini-batches)."""
    name, _, variant = key.partition(":")
    spec = amref.get_solver(name)
    if variant == "code":
        return spec, spec.options_class.released_code()
    if variant == "batch":
        return spec, spec.options_class(batch_size=16)
    return spec, None


def _fingerprint(key: str) -> dict:
    spec, options = _options(key)
    data = synthetic_dataset(np, n_features=8, n_classes=3, n_train=60, n_test=20, seed=3)
    problem = amref.MLP((8, 7, 5, 3), loss=spec.paper_loss)
    with threadpool_limits(limits=1):
        result = amref.minimize(spec, problem, data, options, max_iter=ITERS, seed=0)
    digest = hashlib.sha256()
    for p in result.params:
        digest.update(np.ascontiguousarray(np.asarray(p, dtype=np.float64)).tobytes())
    return {
        "params_sha256": digest.hexdigest(),
        "objective": [float(v).hex() for v in result.history["objective"]],
        "residual": [float(v).hex() for v in result.history["residual"]],
    }


def _names() -> list[str]:
    names = list(amref.solver_names())
    code = [f"{n}:code" for n in names if hasattr(amref.get_solver(n).options_class, "released_code")]
    return names + code + ["adam:batch", "sgd:batch", "adahessian:batch"]


@pytest.mark.parametrize("name", _names())
def test_iterates_pinned(name):
    got = _fingerprint(name)
    if os.environ.get("AMREF_REPIN"):
        pins = json.loads(PINS.read_text()) if PINS.exists() else {}
        pins[name] = got
        PINS.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")
        pytest.skip("re-pinned")
    pins = json.loads(PINS.read_text())
    assert name in pins, f"{name} has no pinned iterates; run with AMREF_REPIN=1 once"
    assert got == pins[name], f"{name}: iterates changed from the pinned ones"
