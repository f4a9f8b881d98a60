"""A complete amref solver in about 60 lines: proximal least squares on the output layer.

The hidden layers stay at their initial weights (random features); each iteration fits the output layer
to the one-hot labels by the proximal step  W⁺ = argmin_W ½‖Y − W H‖² + (α/2)‖W − W^k‖²  (b is one more
column of W, H has a row of ones), i.e. the linear solve  (H Hᵀ + αI) W⁺ᵀ = H Yᵀ + α W^kᵀ.
Each step minimises the objective plus a proximal term, so the objective never increases.
"""

from __future__ import annotations

import dataclasses

from amref.backend import Array, namespace
from amref.contract import SolverSpec
from amref.options import Options, positive
from amref.problem import MLP, Params


@dataclasses.dataclass(frozen=True)
class ToyOptions(Options):
    """Options of the toy solver (validated from the annotations by :class:`amref.options.Options`).

    Attributes
    ----------
    alpha : float
        Proximal weight α > 0 of the output-layer step.
    """

    alpha: float = positive(1.0)


@dataclasses.dataclass(frozen=True)
class ToyState:
    params: tuple        # (W_1, b_1, …, W_L, b_L)
    H: Array             # [a_{L-1}; 1ᵀ], the fixed features of the output layer
    y: Array
    change: float = float("inf")


def features(problem: MLP, params: Params, x: Array) -> Array:
    xp = namespace(x)
    a = x
    for l in range(problem.n_layers - 1):
        a = xp.maximum(params[2 * l] @ a + params[2 * l + 1], 0.0)
    return xp.concat([a, xp.ones((1, a.shape[1]), dtype=a.dtype, device=a.device)], axis=0)


def init_state(problem: MLP, data, params: Params, options: ToyOptions) -> ToyState:
    return ToyState(tuple(params), features(problem, params, data.x_train), data.y_train)


def update_output(Wb: Array, H: Array, y: Array, alpha: float) -> Array:
    """The output-layer step: (H Hᵀ + αI) W⁺ᵀ = H Yᵀ + α W^kᵀ."""
    xp = namespace(Wb)
    A = H @ H.T + alpha * xp.eye(H.shape[0], dtype=H.dtype, device=H.device)
    return xp.linalg.solve(A, H @ y.T + alpha * Wb.T).T


def step(state: ToyState, data, options: ToyOptions) -> ToyState:
    xp = namespace(state.H)
    W, b = state.params[-2], state.params[-1]
    new = update_output(xp.concat([W, b], axis=1), state.H, state.y, options.alpha)
    W1, b1 = new[:, :-1], new[:, -1:]
    change = float(xp.linalg.vector_norm(W1 - W) + xp.linalg.vector_norm(b1 - b))
    return dataclasses.replace(state, params=state.params[:-2] + (W1, b1), change=change)


def diagnostics(state: ToyState, data, options: ToyOptions) -> dict:
    xp = namespace(state.H)
    r = state.y - (state.params[-2] @ state.H[:-1, :] + state.params[-1])
    return {"objective": 0.5 * float(xp.sum(r * r)), "residual": state.change}


def params(state: ToyState) -> Params:
    return list(state.params)


SOLVER = SolverSpec(name="toy-lsq", options_class=ToyOptions, init_state=init_state, step=step,
                    diagnostics=diagnostics, params=params, paper_loss="squared")
