"""Quantization: nearest level against brute force, codes round trip, byte accounting."""

from __future__ import annotations

import numpy as np
import pytest

from amref.backend import from_host
from amref.quantize import (
    ARXIV_LEVELS,
    CODE_LEVELS,
    FLICKR_LEVELS,
    PAPER_LEVELS,
    Grid,
    boundary_bytes,
    bytes_table,
    decode,
    element_bytes,
    encode,
    count_off_grid,
    project,
)
from helpers import assert_close, host

GRIDS = {
    "paper": PAPER_LEVELS,
    "code": CODE_LEVELS,
    "flickr": FLICKR_LEVELS,
    "arxiv": ARXIV_LEVELS,
    "uneven": Grid.from_values([-3.0, -0.25, 0.0, 0.1, 7.5]),
    "single": Grid.uniform(0.5, 0.5, 1),
}


def brute_force(x: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The released code's method: a |Δ| × size distance matrix, argmin (first index on ties)."""
    dist = np.abs(x.reshape(1, -1) - levels.reshape(-1, 1))
    idx = np.argmin(dist, axis=0)
    return levels[idx].reshape(x.shape), idx.reshape(x.shape)


def sample(grid: Grid, rng, shape=(7, 45)) -> np.ndarray:
    """Values inside, outside, on and exactly between levels (ties)."""
    lv = grid.levels()
    span = max(lv[-1] - lv[0], 1.0)
    x = rng.uniform(lv[0] - 0.3 * span, lv[-1] + 0.3 * span, size=shape)
    flat = x.reshape(-1)
    k = min(lv.size, 20)
    flat[:k] = lv[rng.integers(0, lv.size, k)]  # on the grid
    if lv.size > 1:
        i = rng.integers(0, lv.size - 1, k)
        flat[k:2 * k] = (lv[i] + lv[i + 1]) / 2  # midpoints: ties go to the lower level
    return x


@pytest.mark.parametrize("name", list(GRIDS))
def test_project_matches_brute_force(xp, rng, name):
    grid = GRIDS[name]
    x = sample(grid, rng)
    want, want_idx = brute_force(x, grid.levels())
    got = project(from_host(x, xp), grid)
    assert_close(got, from_host(want, xp), rtol=0, atol=0)
    codes = encode(from_host(x, xp), grid)
    assert str(codes.dtype).endswith(grid.code_dtype)
    np.testing.assert_array_equal(host(codes).astype(np.int64), want_idx)


def test_uniform_and_sorted_paths_agree(rng):
    for grid in (PAPER_LEVELS, CODE_LEVELS):
        as_sorted = Grid.from_values(grid.levels())
        assert as_sorted.kind == "sorted" and grid.kind == "uniform"
        x = sample(grid, rng, (1000,))
        np.testing.assert_array_equal(project(x, grid), project(x, as_sorted))


def test_float32_projection_lands_on_float32_levels(xp, rng):
    x = from_host(sample(CODE_LEVELS, rng), xp, dtype="float32")
    p = project(x, CODE_LEVELS)
    assert p.dtype == xp.float32
    assert np.isin(host(p), CODE_LEVELS.levels("float32")).all()
    assert count_off_grid(p, CODE_LEVELS) == 0


@pytest.mark.parametrize("name", list(GRIDS))
def test_codes_round_trip(xp, rng, name):
    grid = GRIDS[name]
    p = project(from_host(sample(grid, rng), xp), grid)
    codes = encode(p, grid)
    assert_close(decode(codes, grid, "float64"), p, rtol=0, atol=0)
    # codes of an arbitrary x decode to its projection
    x = from_host(sample(grid, rng), xp)
    assert_close(decode(encode(x, grid), grid), project(x, grid), rtol=0, atol=0)


def test_code_dtypes_and_bits():
    assert PAPER_LEVELS.count == 22 and PAPER_LEVELS.code_dtype == "uint8" and PAPER_LEVELS.bits == 5
    assert CODE_LEVELS.count == 1000 and CODE_LEVELS.code_dtype == "uint16" and CODE_LEVELS.bits == 10
    assert FLICKR_LEVELS.count == 201 and FLICKR_LEVELS.code_dtype == "uint8"
    assert ARXIV_LEVELS.count == 121 and ARXIV_LEVELS.bits == 7
    assert Grid.uniform(0, 1, 256).code_dtype == "uint8"
    assert Grid.uniform(0, 1, 257).code_dtype == "uint16"
    assert Grid.uniform(0, 1, 70000).code_dtype == "uint32"
    np.testing.assert_array_equal(PAPER_LEVELS.levels(), np.arange(-1, 21))


def test_on_grid_counts_off_grid_entries():
    x = np.array([[0.0, 1.0, 1.5], [2.0, -1.0, 30.0]])
    assert count_off_grid(x, PAPER_LEVELS) == 2


def test_decode_rejects_out_of_range_codes():
    with pytest.raises(ValueError, match="codes"):
        decode(np.array([0, 22], dtype=np.uint8), PAPER_LEVELS)


@pytest.mark.parametrize("bad", [
    dict(kind="cubic"), dict(count=0), dict(start=1.0, stop=0.0), dict(kind="sorted", values=(1.0, 0.0), count=2,
                                                                       start=1.0, stop=0.0),
])
def test_grid_validation(bad):
    with pytest.raises(ValueError):
        Grid(**bad)


def test_boundary_bytes_by_hand():
    widths, N = (10, 100, 50, 3), 140
    # p_2 (100×N), p_3 (50×N) go back; q_1, u_1 (100×N), q_2, u_2 (50×N) go forward
    elems = 150 * N
    b = boundary_bytes(widths, N, dtype="float64")
    assert b == {"p": 8.0 * elems, "q": 8.0 * elems, "u": 8.0 * elems, "total": 24.0 * elems}
    b = boundary_bytes(widths, N, dtype="float32", quantize="pq", grid=PAPER_LEVELS)
    assert b["p"] == b["q"] == elems and b["u"] == 4 * elems and b["total"] == 6 * elems
    b = boundary_bytes(widths, N, dtype="float32", quantize="p", grid=PAPER_LEVELS, encoding="packed")
    assert b["p"] == elems * 5 / 8
    assert boundary_bytes((4, 3), 10)["total"] == 0.0  # one layer: nothing to exchange
    with pytest.raises(ValueError):
        element_bytes("codes")
    rows = bytes_table(widths, N, PAPER_LEVELS)
    assert rows[0]["bytes"] == 24.0 * elems and rows[1]["bytes"] == 12.0 * elems
