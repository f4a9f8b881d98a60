r"""Hidden activations h, one :class:`Activation` record each, and their exact elementwise subproblems.

==============  =====================================  ========================  =================================
name            h(z)                                   h′ (a.e.)                 pieces / property
==============  =====================================  ========================  =================================
``relu``        max(z, 0)                              1{z > 0}                  2 linear pieces, 1-Lipschitz
``leaky_relu``  z (z ≥ 0), s·z (z < 0)                 1 or s                    2 linear pieces, max(1, s)-Lipschitz
                (``leaky_relu:S`` sets s = S ≥ 0;
                default 0.01)
``hardtanh``    clip(z, −1, 1)                         1{|z| < 1}                3 linear pieces, 1-Lipschitz
``linear``      z                                      1                         1 piece
``sigmoid``     1/(1 + e^{−z})                         h(1 − h)                  smooth, ¼-Lipschitz
``tanh``        tanh z                                 1 − h²                    smooth, 1-Lipschitz
``step``        +1 (z ≥ 0), −1 (z < 0) (binary sign)   0                         2 constant pieces, discontinuous
==============  =====================================  ========================  =================================

Every h here is non-decreasing. The AM solvers need two elementwise problems of h, both solved to
global optimality here:

* :func:`prox` — ``argmin_z α(z − m)² + β(a − h(z))² + δ(z − z₀)²`` (dlADMM/pdADMM z-steps, Taylor's T3,
  BCD's U-step). For a piecewise-linear h the best point of each piece is a clipped closed form and the
  pieces are compared on the full objective (no iteration). For ``sigmoid`` and ``tanh`` the bounded
  solver :func:`smooth_prox` enumerates every stationary point: they lie within ``(β/α)(|a| + 1)`` of the
  centre, the objective's inflection points are the roots of a quartic in t = tanh z whose real roots
  are isolated through its derivatives (closed-form quadratic → cubic → quartic), so the objective's
  derivative is monotone between consecutive knots and each piece holds at most one root, found by
  bisection; the smallest objective over the roots and knots is the global minimum. Each bisection runs
  exactly ``steps`` halvings (a named argument every solver exposes as an option).
* :func:`preimage` — the interval ``{z : lo ≤ h(z) ≤ hi}`` (mDLAM's band-constrained z-step projects onto
  it; for a non-decreasing h it is an interval).

The binary step has no minimiser on its open piece when the optimum sits at its boundary (z → 0⁻); the
solvers then return ``−tiny`` (the dtype's smallest normal), whose objective equals the infimum to
rounding. Gradient methods see h′ = 0 everywhere; :attr:`Activation.surrogate_from_output` is the
straight-through estimator (h′ := 1, Bengio, Léonard & Courville 2013) the baselines take on request.

Per-layer activations are a comma-separated spec, ``"relu,tanh"``: one name per hidden layer, or one name
for all (:func:`layer_activations`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Sequence

from .backend import Array, namespace

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "BISECTION_STEPS",
    "LEAKY_SLOPE",
    "activation",
    "canonical",
    "get",
    "layer_activations",
    "preimage",
    "prox",
    "relu",
    "smooth_prox",
]

#: Activation names (``leaky_relu:S`` sets the negative slope S).
ACTIVATIONS = ("relu", "leaky_relu", "hardtanh", "linear", "sigmoid", "tanh", "step")
#: Default negative slope of ``leaky_relu``.
LEAKY_SLOPE = 0.01
#: Default number of halvings of every bisection in :func:`smooth_prox` (a bracket shrinks by 2⁻⁴⁰ ≈ 1e-12;
#: the objective's excess over the minimum is quadratic in that distance).
BISECTION_STEPS = 40


def relu(x: Array) -> Array:
    """max(x, 0), elementwise."""
    xp = namespace(x)
    return xp.maximum(x, 0.0)


@dataclasses.dataclass(frozen=True)
class Activation:
    """One hidden activation h: value, derivatives, and what its subproblems need.

    Attributes
    ----------
    name : str
        Canonical spec (``"leaky_relu:0.01"`` carries its slope).
    value : callable
        h(z), elementwise.
    derivative : callable
        h′(z) almost everywhere (0 at the kinks; the step's is 0 everywhere).
    lipschitz : float or None
        sup |h′| (the bound MAC's step sizes and every Lipschitz-based guarantee need); None for the
        discontinuous step.
    derivative_from_output : callable
        h′(z) computed from a = h(z) (what back-propagation keeps).
    second_from_output : callable or None
        h″(z) from a = h(z); None where h″ = 0 a.e. (piecewise-linear units).
    surrogate_from_output : callable
        The derivative gradient methods use with ``straight_through=True``: h′ itself for every unit but
        the step, whose straight-through estimate is 1.
    pieces : tuple
        ``(lo, hi, slope, intercept)`` per linear piece in increasing order (h = slope·z + intercept on
        it); empty for sigmoid and tanh. An ``hi`` of ``-0.0`` marks a piece open at 0 (the step's).
    """

    name: str
    value: Callable[[Array], Array]
    derivative: Callable[[Array], Array]
    lipschitz: float | None
    derivative_from_output: Callable[[Array], Array] | None = None
    second_from_output: Callable[[Array], Array] | None = None
    surrogate_from_output: Callable[[Array], Array] | None = None
    pieces: tuple[tuple[float, float, float, float], ...] = ()

    @property
    def kind(self) -> str:
        """Base name without the slope (``"leaky_relu"``)."""
        return self.name.split(":")[0]

    @property
    def piecewise_linear(self) -> bool:
        """True when h is piecewise linear (its prox is a closed form)."""
        return bool(self.pieces)


# ----------------------------------------------------------------------------- the records
def _mask(cond: Array, like: Array) -> Array:
    return namespace(like).astype(cond, like.dtype)


def _ones(a: Array) -> Array:
    return namespace(a).ones_like(a)


def _zeros(a: Array) -> Array:
    return namespace(a).zeros_like(a)


def _sigmoid(z: Array) -> Array:
    xp = namespace(z)
    return 0.5 * (1.0 + xp.tanh(0.5 * z))  # no overflow for any z


def _leaky(slope: float) -> Activation:
    def value(z):
        xp = namespace(z)
        return xp.where(z >= 0.0, z, slope * z)

    def derivative(z):
        xp = namespace(z)
        return xp.where(z > 0.0, _ones(z), slope * _ones(z))

    def from_output(a):
        xp = namespace(a)
        return xp.where(a > 0.0, _ones(a), slope * _ones(a))

    return Activation(f"leaky_relu:{slope!r}", value, derivative, max(1.0, slope), from_output, None, from_output,
                      ((-math.inf, 0.0, slope, 0.0), (0.0, math.inf, 1.0, 0.0)))


def _step_value(z: Array) -> Array:
    xp = namespace(z)
    return xp.where(z >= 0.0, _ones(z), -_ones(z))


_RECORDS: dict[str, Activation] = {
    "relu": Activation("relu", relu, lambda z: _mask(z > 0.0, z), 1.0, lambda a: _mask(a > 0.0, a), None,
                       lambda a: _mask(a > 0.0, a), ((-math.inf, 0.0, 0.0, 0.0), (0.0, math.inf, 1.0, 0.0))),
    "hardtanh": Activation(
        "hardtanh", lambda z: namespace(z).clip(z, -1.0, 1.0), lambda z: _mask(namespace(z).abs(z) < 1.0, z), 1.0,
        lambda a: _mask(namespace(a).abs(a) < 1.0, a), None, lambda a: _mask(namespace(a).abs(a) < 1.0, a),
        ((-math.inf, -1.0, 0.0, -1.0), (-1.0, 1.0, 1.0, 0.0), (1.0, math.inf, 0.0, 1.0))),
    "linear": Activation("linear", lambda z: z, _ones, 1.0, _ones, None, _ones, ((-math.inf, math.inf, 1.0, 0.0),)),
    "sigmoid": Activation("sigmoid", _sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z)), 0.25,
                          lambda a: a * (1.0 - a), lambda a: a * (1.0 - a) * (1.0 - 2.0 * a), lambda a: a * (1.0 - a)),
    "tanh": Activation("tanh", lambda z: namespace(z).tanh(z), lambda z: 1.0 - namespace(z).tanh(z) ** 2, 1.0,
                       lambda a: 1.0 - a * a, lambda a: -2.0 * a * (1.0 - a * a), lambda a: 1.0 - a * a),
    "step": Activation("step", _step_value, _zeros, None, _zeros, None, _ones,
                       ((-math.inf, -0.0, 0.0, -1.0), (0.0, math.inf, 0.0, 1.0))),
}


def get(name: str | Activation) -> Activation:
    """The :class:`Activation` record called ``name`` (``"leaky_relu:0.2"`` sets the slope)."""
    if isinstance(name, Activation):
        return name
    if not isinstance(name, str):
        raise ValueError(f"an activation is a name, got {name!r}")
    base, _, arg = name.strip().partition(":")
    if base == "leaky_relu":
        try:
            slope = float(arg) if arg else LEAKY_SLOPE
        except ValueError:
            raise ValueError(f"leaky_relu's slope must be a number, got {arg!r}") from None
        if not (slope >= 0.0 and math.isfinite(slope)):
            raise ValueError(f"leaky_relu's slope must be finite and >= 0, got {arg!r}")
        return _leaky(slope)
    if base in _RECORDS and not arg:
        return _RECORDS[base]
    raise ValueError(f"unknown activation {name!r}; amref implements {', '.join(ACTIVATIONS)}")


def activation(name: str) -> Callable[[Array], Array]:
    """The activation function h called ``name`` (its record's ``value``)."""
    return get(name).value


def canonical(spec: str | Activation | Sequence[str | Activation]) -> str:
    """Normalise an activation spec (a name, a comma-separated list, or a sequence of names) to one string.

    Raises ``ValueError`` for an unknown name.
    """
    names = [spec] if isinstance(spec, (str, Activation)) else list(spec)
    names = [n.name if isinstance(n, Activation) else n for n in names]
    if not all(isinstance(n, str) for n in names):
        raise ValueError(f"an activation spec is a name or a list of names, got {spec!r}")
    parts = [p.strip() for n in names for p in n.split(",")]
    if not parts or any(not p for p in parts):
        raise ValueError(f"an activation spec needs at least one name, got {spec!r}")
    return ",".join(get(p).name for p in parts)


def layer_activations(spec: str | Activation | Sequence[str], n_hidden: int) -> tuple[Activation, ...]:
    """The records of the ``n_hidden`` hidden layers: one name for all, or one per layer."""
    if isinstance(spec, Activation):
        return (spec,) * n_hidden
    parts = canonical(spec).split(",")
    if len(parts) == 1:
        return (get(parts[0]),) * n_hidden
    if len(parts) != n_hidden:
        raise ValueError(f"{len(parts)} activations given for {n_hidden} hidden layers")
    return tuple(get(p) for p in parts)


# ----------------------------------------------------------------------------- the prox
def prox(
    act: str | Activation,
    m: Array,
    a: Array,
    *,
    alpha: float = 1.0,
    beta: float = 1.0,
    z_prev: Array | None = None,
    delta: float = 0.0,
    compare: str = "full",
    steps: int = BISECTION_STEPS,
    kernel: Callable | None = None,
) -> Array:
    r"""Elementwise global ``argmin_z α(z − m)² + β(a − h(z))² + δ(z − z_prev)²``.

    Piecewise-linear h: on a piece ``h = s z + t`` over [lo, hi] the objective is a quadratic, minimised at
    ``clip((αm + δz_prev + βs(a − t))/(α + δ + βs²), lo, hi)``; the pieces' points are compared on the full
    objective (ties → the lower piece). ``compare="without_prox"`` drops the δ term from that comparison
    (the pdADMM released code's ReLU rule, extended to every piece). Sigmoid and tanh: :func:`smooth_prox`
    (``compare`` does not apply: there is one branch).

    Parameters
    ----------
    act
        The activation (name or record).
    m, a
        Linear target and layer output (broadcastable, same dtype).
    alpha, beta, delta
        Weights, α > 0, β > 0, δ ≥ 0.
    z_prev
        Proximal centre (needed when δ > 0).
    compare
        ``"full"`` or ``"without_prox"``.
    steps
        Bisection halvings (smooth units only).
    kernel
        A compiled replacement of the tanh enumeration (:func:`smooth_prox`'s ``kernel``).
    """
    rec = get(act)
    if not (alpha > 0 and beta > 0 and delta >= 0):
        raise ValueError(f"prox needs alpha > 0, beta > 0, delta >= 0; got {alpha}, {beta}, {delta}")
    if delta > 0 and z_prev is None:
        raise ValueError("prox: delta > 0 needs z_prev")
    if compare not in ("full", "without_prox"):
        raise ValueError(f"compare must be 'full' or 'without_prox', got {compare!r}")
    xp = namespace(m, a, z_prev)
    if delta == 0:
        z_prev = None
    A = alpha + delta
    c = m if z_prev is None else (alpha * m + delta * z_prev) / A
    if not rec.piecewise_linear:
        return smooth_prox(rec, c, a, A, beta, steps=steps, kernel=kernel)
    tiny = xp.finfo(m.dtype).smallest_normal
    best = best_f = None
    for lo, hi, s, t in rec.pieces:
        z = (A * c + (beta * s) * (a - t)) / (A + beta * s * s)
        if hi == 0.0 and math.copysign(1.0, hi) < 0:  # open at 0: the closest point below it
            hi = -tiny
        z = xp.clip(z, lo if math.isfinite(lo) else None, hi if math.isfinite(hi) else None)
        f = alpha * (z - m) ** 2 + beta * (a - (s * z + t)) ** 2
        if z_prev is not None and compare == "full":
            f = f + delta * (z - z_prev) ** 2
        if best is None:
            best, best_f = z, f
        else:
            better = f < best_f
            best, best_f = xp.where(better, z, best), xp.where(better, f, best_f)
    return best


def _bisect(fun: Callable[[Array], Array], lo: Array, hi: Array, steps: int) -> Array:
    """A point of [lo, hi] (elementwise) where the monotone ``fun`` changes sign, after ``steps`` halvings;
    where it keeps its sign the returned point is some point of the interval (harmless as a knot or
    candidate)."""
    xp = namespace(lo, hi)
    s_lo = xp.sign(fun(lo))
    w = hi - lo
    for _ in range(steps):
        w = 0.5 * w
        mid = lo + w
        lo = xp.where(xp.sign(fun(mid)) == s_lo, mid, lo)
    return lo + 0.5 * w


def _piece_points(fun, knots: list, steps: int) -> list:
    """One bisected point per piece ``[knots[i], knots[i+1]]`` (``fun`` monotone on each; knots sorted).

    Every root of ``fun`` in the span is one of the returned points (each piece holds at most one), and the
    points are sorted, so ``fun`` keeps its sign strictly between consecutive points.
    """
    xp = namespace(*knots)
    K = xp.stack(knots)
    mids = _bisect(fun, K[:-1, ...], K[1:, ...], steps)
    return [mids[i, ...] for i in range(len(knots) - 1)]


def smooth_prox(act: str | Activation, c: Array, a: Array, A: float, B: float, *, steps: int = BISECTION_STEPS,
                kernel: Callable | None = None) -> Array:
    r"""Global ``argmin_z A(z − c)² + B(a − h(z))²`` for h = tanh or sigmoid, by enumeration (bounded).

    For tanh, with t = tanh z: (i) every stationary point satisfies ``A(z − c) = B(a − t)(1 − t²)``, so
    ``|z − c| ≤ (B/A)(|a| + 1) = r``; (ii) the objective's second derivative is
    ``2A + 2B(1 − t²)(1 + 2at − 3t²)``, which vanishes where the quartic
    ``q(t) = 3t⁴ − 2at³ − 4t² + 2at + 1 + A/B`` does; its real roots in [−1, 1] are isolated by the roots
    of q″ (closed form), then of q′ (one bisection per monotone piece), then of q; (iii) between
    consecutive knots atanh(root) the derivative ``2A(z − c) + 2B(t − a)(1 − t²)`` is monotone, so each
    of the five pieces of [c − r, c + r] holds at most one stationary point, found by bisection; (iv) the
    objective is evaluated at the five points and the smallest wins (ties → the leftmost). A piece without
    a sign change contributes some point of itself, which cannot win over the true minimiser. Sigmoid reduces to tanh
    through σ(z) = (1 + tanh(z/2))/2: A → 4A, c → c/2, B → B/4, a → 2a − 1, and z = 2w.

    Parameters
    ----------
    act
        ``"tanh"`` or ``"sigmoid"``.
    c, a
        Centre and target (broadcastable arrays).
    A, B
        Positive weights.
    steps
        Halvings per bisection (the only loop; ``3 × steps`` passes over stacked arrays).
    kernel
        ``kernel(c, a, A, B, steps)``: the same enumeration for tanh, compiled (the Numba kernel
        :func:`amref.kernels.tanh_prox` passes in for NumPy arrays); None: the array-API code here.
    """
    rec = get(act)
    xp = namespace(c, a)
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if rec.kind == "sigmoid":
        return 2.0 * smooth_prox("tanh", 0.5 * c, 2.0 * a - 1.0, 4.0 * A, 0.25 * B, steps=steps, kernel=kernel)
    if rec.kind != "tanh":
        raise ValueError(f"smooth_prox handles tanh and sigmoid, not {rec.name!r}")
    if kernel is not None:
        return kernel(c, a, A, B, steps)
    c, a = xp.broadcast_arrays(c, a)
    k = A / B
    one = xp.ones_like(c)
    # q″(t) = 36t² − 12at − 8: two real roots (closed form), clipped to [−1, 1]
    disc = xp.sqrt(144.0 * a * a + 1152.0)
    knots = [-one, xp.clip((12.0 * a - disc) / 72.0, -1.0, 1.0), xp.clip((12.0 * a + disc) / 72.0, -1.0, 1.0), one]
    roots = _piece_points(lambda t: ((12.0 * t - 6.0 * a) * t - 8.0) * t + 2.0 * a, knots, steps)  # q′
    roots = _piece_points(lambda t: (((3.0 * t - 2.0 * a) * t - 4.0) * t + 2.0 * a) * t + (1.0 + k),
                          [-one] + roots + [one], steps)  # q: the objective's inflection points
    r = (1.0 / k) * (xp.abs(a) + 1.0)
    lo, hi = c - r, c + r
    e = 1.0 - xp.finfo(c.dtype).eps
    zk = [lo] + [xp.clip(xp.atanh(xp.clip(t, -e, e)), lo, hi) for t in roots] + [hi]

    def dfun(z):
        t = xp.tanh(z)
        return A * (z - c) + B * (t - a) * (1.0 - t * t)

    cands = _piece_points(dfun, zk, steps)  # every stationary point is one of these
    best = best_f = None
    for z in cands:
        f = A * (z - c) ** 2 + B * (a - xp.tanh(z)) ** 2
        if best is None:
            best, best_f = z, f
        else:
            better = f < best_f
            best, best_f = xp.where(better, z, best), xp.where(better, f, best_f)
    return best


# ----------------------------------------------------------------------------- band preimage (mDLAM)
def preimage(act: str | Activation, lo: Array, hi: Array) -> tuple[Array, Array]:
    r"""The interval ``[B1, B2]`` = ``{z : lo ≤ h(z) ≤ hi}`` for a non-decreasing h, elementwise.

    ``B1 = inf{z : h(z) ≥ lo}``, ``B2 = sup{z : h(z) ≤ hi}`` (±∞ where every or no z qualifies). The set
    is empty where ``B1 > B2``, ``B1 = +∞`` or ``B2 = −∞`` (the band misses h's range). For the step the supremum of its open negative
    piece is returned as ``−tiny``. Projection onto the set is ``clip(m, B1, B2)``.
    """
    rec = get(act)
    xp = namespace(lo, hi)
    inf = math.inf
    kind = rec.kind
    lo, hi = xp.broadcast_arrays(lo, hi)
    full = lambda v: xp.full_like(lo, v)  # noqa: E731
    if kind == "linear":
        return lo, hi
    if kind in ("relu", "leaky_relu"):
        s = rec.pieces[0][2]
        if s > 0:
            inv = lambda v: xp.where(v >= 0.0, v, v / s)  # noqa: E731
            return inv(lo), inv(hi)
        B1 = xp.where(lo > 0.0, lo, full(-inf))
        B2 = xp.where(hi >= 0.0, hi, full(-inf))
        return B1, B2
    if kind in ("hardtanh", "sigmoid", "tanh"):
        bottom, top = (0.0, 1.0) if kind == "sigmoid" else (-1.0, 1.0)
        if kind == "hardtanh":
            inv = lambda v: v  # noqa: E731
            B1 = xp.where(lo <= bottom, full(-inf), xp.where(lo > top, full(inf), inv(lo)))
            B2 = xp.where(hi >= top, full(inf), xp.where(hi < bottom, full(-inf), inv(hi)))
            return B1, B2
        inside = lambda v: xp.clip(v, bottom + 0.25, top - 0.25)  # noqa: E731  (a safe argument; masked below)
        inv = (lambda v: xp.log(v / (1.0 - v))) if kind == "sigmoid" else xp.atanh  # noqa: E731
        safe = lambda v: xp.where((v > bottom) & (v < top), v, inside(v))  # noqa: E731
        B1 = xp.where(lo <= bottom, full(-inf), xp.where(lo >= top, full(inf), inv(safe(lo))))
        B2 = xp.where(hi >= top, full(inf), xp.where(hi <= bottom, full(-inf), inv(safe(hi))))
        return B1, B2
    if kind == "step":
        tiny = xp.finfo(lo.dtype).smallest_normal
        B1 = xp.where(lo <= -1.0, full(-inf), xp.where(lo <= 1.0, full(0.0), full(inf)))
        B2 = xp.where(hi >= 1.0, full(inf), xp.where(hi >= -1.0, full(-tiny), full(-inf)))
        return B1, B2
    raise ValueError(f"no preimage for activation {rec.name!r}")
