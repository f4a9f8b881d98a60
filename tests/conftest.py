"""Shared fixtures: the ``xp`` backend fixture, tiny synthetic problems, and the offline data directory.

Backends: every test that takes ``xp`` runs on NumPy, array-api-strict and (when a CUDA device
answers) CuPy. ``AMREF_TEST_BACKENDS=numpy,cupy`` narrows the list. Tests that need the real
datasets read them from ``AMREF_DATA_DIR`` (CI sets it to ``../shared/data``) and are skipped with a
reason when it is unset; nothing in the test suite touches the network.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest

from amref.backend import BackendUnavailable, get_namespace

_DEFAULT_BACKENDS = ("numpy", "array_api_strict", "cupy")

# a relative AMREF_DATA_DIR (the README's ../shared/data) must survive tests that change directory
if os.environ.get("AMREF_DATA_DIR"):
    os.environ["AMREF_DATA_DIR"] = os.path.abspath(os.environ["AMREF_DATA_DIR"])


def _backends() -> list[str]:
    env = os.environ.get("AMREF_TEST_BACKENDS")
    return [b.strip() for b in env.split(",")] if env else list(_DEFAULT_BACKENDS)


@pytest.fixture(params=_backends())
def xp(request):
    """Array namespace under test (skips cleanly when a backend is unavailable)."""
    try:
        return get_namespace(request.param)
    except BackendUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def no_jit():
    """Run the test with the array-API code only (no Numba kernel), e.g. to compare it bit for bit."""
    from amref import kernels

    with kernels.use_jit(False):
        yield


@pytest.fixture
def rng():
    """A seeded host generator."""
    return np.random.default_rng(12345)


def data_dir() -> pathlib.Path | None:
    """``AMREF_DATA_DIR`` as a path, or None."""
    value = os.environ.get("AMREF_DATA_DIR")
    return pathlib.Path(value) if value else None


def require_data(*relative: str) -> pathlib.Path:
    """Skip the calling test unless ``AMREF_DATA_DIR`` holds all of ``relative`` (e.g. ``"mnist"``)."""
    root = data_dir()
    if root is None:
        pytest.skip("AMREF_DATA_DIR is not set (CI sets it to ../shared/data)")
    for rel in relative:
        if not (root / rel).exists():
            pytest.skip(f"{rel} is not in AMREF_DATA_DIR={root}")
    return root
