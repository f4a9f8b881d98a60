"""A protocol file, read and checked: :class:`Protocol`, :class:`RunSpec`, :class:`StageSpec`, :class:`PaperValue`.

A protocol is one TOML file (read with :mod:`tomllib`). Top-level keys:

``name``, ``title``, ``description``, ``source``
    Its name (the file's stem), a one-line title, what it shows and where the numbers come from.
``seeds``
    Seeds of every run (default ``[0]``); a run may name its own.
``metrics``
    What each run reports (default ``["test_accuracy"]``), see :mod:`amref.protocols.metrics`.
``report_epochs``
    Iterations at which the accuracy metrics are reported (default: the last one).
``eval_every``, ``runner``, ``workers``
    Evaluation period; ``"serial"`` (default) or ``"dask"`` with ``workers`` local workers.
``tolerance``, ``verdict``
    Default tolerance of the verdicts and the rule in words (see :class:`PaperValue`).
``[data]``
    The keyword arguments of :func:`amref.load_dataset` (``dataset`` is the name; ``dtype``, ``train_size``,
    ``test_size``, ``downsample``, ``hops``, ``order``, ``extra_identity``, …).
``[model]``
    ``hidden`` widths (and ``loss``, and ``activation``: the hidden activation, a name of
    :mod:`amref.activations` such as ``"relu"`` (default), ``"hardtanh"``, ``"step"``, ``"leaky_relu:0.1"``,
    or a comma-separated per-layer list).
``[quick]``
    The reduced size: it replaces ``seeds``, ``metrics``, ``report_epochs``, ``hidden`` or ``iterations`` and
    updates ``[data]`` with its ``data`` table; ``comparable = false`` marks quick numbers as not comparable
    to the paper's; ``variants``/``datasets`` keep only those runs.
``[[runs]]``
    One setting each: ``solver``, ``variant``, ``dataset`` (a name or a list), ``iterations``, ``loss``,
    ``hidden``, ``activation``, ``preset`` (``"paper"``, ``"code"`` = ``released_code()``, another classmethod
    of the options class such as ``"dladmm_paper"``, or a gradient-baseline preset such as ``"dladmm"``),
    ``options``
    (fields of the options class; dotted or nested keys for nested options; a grid as
    ``{uniform = [start, stop, count]}`` or ``{integers = [low, high]}``), ``by_dataset`` (options per
    dataset), ``init`` (``"paper"``, ``"reseed"`` or ``"bcd-code"``), ``setting`` (what the rows show),
    ``label``, ``seeds``, ``data`` (dataset options of this run), ``stages`` (greedy training: ``depth``,
    ``iterations``, ``output_init``, ``handover`` (``"weights"`` or ``"state"``, see
    :class:`amref.solvers.greedy.Stage`), ``options``, ``by_dataset``) and ``quick`` (this run's reduced size:
    ``iterations``, ``stage_iterations``, ``options``, ``hidden``, ``skip``).
``[[paper]]``
    The paper's reported numbers: ``dataset``, ``variant`` (omit: every variant), ``setting``, ``metric``,
    ``value``, ``std``, ``source`` (table/figure and how it was read), ``rule``, ``tolerance``,
    ``quick_comparable``.
"""

from __future__ import annotations

import dataclasses
import tomllib
from typing import Any

__all__ = ["PaperValue", "Protocol", "ProtocolError", "RunSpec", "StageSpec", "parse", "read"]

_RULES = ("within", "at_least", "at_most")
_TOP = {"name", "title", "description", "source", "seeds", "metrics", "report_epochs", "eval_every", "runner",
        "workers", "tolerance", "verdict", "data", "model", "quick", "runs", "paper"}
_RUN = {"solver", "variant", "dataset", "iterations", "loss", "hidden", "activation", "preset", "options", "by_dataset",
        "init", "setting", "label", "seeds", "data", "stages", "quick", "metrics"}
_STAGE = {"depth", "iterations", "output_init", "handover", "options", "by_dataset"}
_RUN_QUICK = {"iterations", "stage_iterations", "options", "hidden", "skip", "seeds"}
_QUICK = {"seeds", "metrics", "report_epochs", "hidden", "iterations", "data", "comparable", "variants", "datasets",
          "eval_every"}
_PAPER = {"dataset", "variant", "setting", "metric", "value", "std", "source", "rule", "tolerance",
          "quick_comparable"}
_INITS = ("paper", "reseed", "bcd-code")


class ProtocolError(ValueError):
    """A protocol file that cannot be read or names something that does not exist (one line)."""


@dataclasses.dataclass(frozen=True)
class StageSpec:
    """One greedy stage: depth, iterations, how the output layer starts, options over the run's, and how it
    continues the previous stage (``handover``: ``"weights"`` or ``"state"``, see
    :class:`amref.solvers.greedy.Stage`)."""

    depth: int
    iterations: int
    output_init: str = "random"
    options: dict = dataclasses.field(default_factory=dict)
    by_dataset: dict = dataclasses.field(default_factory=dict)
    handover: str = "weights"


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One setting of a protocol, for one dataset (``dataset`` lists are expanded by :func:`parse`)."""

    solver: str
    variant: str
    dataset: str
    iterations: int
    hidden: tuple[int, ...]
    loss: str | None = None
    preset: str = "paper"
    options: dict = dataclasses.field(default_factory=dict)
    init: str = "paper"
    setting: dict = dataclasses.field(default_factory=dict)
    label: str = ""
    seeds: tuple[int, ...] = (0,)
    data: dict = dataclasses.field(default_factory=dict)
    stages: tuple[StageSpec, ...] = ()
    metrics: tuple[str, ...] = ("test_accuracy",)
    activation: str = "relu"

    @property
    def name(self) -> str:
        """``dataset/variant[/label or setting]``: how reports and run files name this run."""
        tag = self.label or ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                                     for k, v in self.setting.items())
        return "/".join(p for p in (self.dataset, self.variant, tag) if p)


@dataclasses.dataclass(frozen=True)
class PaperValue:
    """A number the paper reports, where it comes from, and the rule that judges ours against it.

    ``rule``: ``"within"`` (|ours − value| ≤ tolerance), ``"at_least"`` (ours ≥ value − tolerance: the
    paper's figure reached or beaten), ``"at_most"`` (ours ≤ value + tolerance).
    """

    dataset: str
    metric: str
    value: float | None
    source: str
    variant: tuple[str, ...] = ()
    setting: dict = dataclasses.field(default_factory=dict)
    std: float | None = None
    rule: str = "within"
    tolerance: float = 0.01
    quick_comparable: bool | None = None

    def matches(self, run: RunSpec, metric: str, setting: dict) -> bool:
        """Whether this is the paper's number for ``metric`` of ``run`` in ``setting``."""
        return (self.dataset == run.dataset and self.metric == metric
                and (not self.variant or run.variant in self.variant)
                and all(setting.get(k) == v for k, v in self.setting.items()))


@dataclasses.dataclass(frozen=True)
class Protocol:
    """A parsed protocol: its runs at one size (``quick`` or full) and the paper's numbers."""

    name: str
    title: str
    description: str
    source: str
    quick: bool
    comparable: bool
    runs: tuple[RunSpec, ...]
    paper: tuple[PaperValue, ...]
    report_epochs: tuple[int, ...] = ()
    eval_every: int = 1
    runner: str = "serial"
    workers: int | None = None
    verdict: str = ""
    path: str | None = None
    raw: dict = dataclasses.field(default_factory=dict, repr=False)

    @property
    def variants(self) -> list[str]:
        """The variants, in the order the runs name them."""
        return list(dict.fromkeys(r.variant for r in self.runs))

    @property
    def datasets(self) -> list[str]:
        """The datasets, in the order the runs name them."""
        return list(dict.fromkeys(r.dataset for r in self.runs))

    @property
    def seeds(self) -> list[int]:
        """Every seed any run uses."""
        return sorted({s for r in self.runs for s in r.seeds})


def read(path: str) -> dict:
    """The TOML of a protocol file as a dict (:class:`ProtocolError` when it is not valid TOML)."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(f"{path}: not valid TOML ({exc})") from None


def _unknown(where: str, keys: Any, allowed: set) -> None:
    extra = sorted(set(keys) - allowed)
    if extra:
        raise ProtocolError(f"{where}: unknown key(s) {', '.join(extra)}; allowed: {', '.join(sorted(allowed))}")


def _ints(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ProtocolError(f"{where} must be a list of integers, got {value!r}")
    return tuple(value)


def _positive(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProtocolError(f"{where} must be a non-negative integer, got {value!r}")
    return value


def parse(raw: dict, *, quick: bool = False, path: str | None = None) -> Protocol:
    """Check a protocol's dict and build the :class:`Protocol` of the chosen size.

    Raises
    ------
    ProtocolError
        A missing or unknown key, a value of the wrong kind. Options are checked against the solvers by
        :func:`amref.protocols.build.check`.
    """
    where = path or raw.get("name", "protocol")
    _unknown(where, raw, _TOP)
    for key in ("name", "title"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ProtocolError(f"{where}: needs a string {key!r}")
    q = raw.get("quick", {}) if quick else {}
    _unknown(f"{where} [quick]", raw.get("quick", {}), _QUICK)
    pick = (lambda key, default: q.get(key, raw.get(key, default))) if quick else raw.get
    data = dict(raw.get("data", {}))
    if quick:
        data.update(q.get("data", {}))
    model = raw.get("model", {})
    _unknown(f"{where} [model]", model, {"hidden", "loss", "activation"})
    hidden = q.get("hidden", model.get("hidden", [100, 100]))
    seeds = _ints(pick("seeds", [0]), f"{where}: seeds")
    metrics = tuple(pick("metrics", ["test_accuracy"]))
    default_dataset = data.pop("dataset", None)
    runs = [spec for i, r in enumerate(raw.get("runs", []))
            for spec in _parse_run(r, f"{where} runs[{i}]", quick=quick, q=q, data=data, model=model, hidden=hidden,
                                   seeds=seeds, metrics=metrics, default_dataset=default_dataset)]
    if not runs:
        raise ProtocolError(f"{where}: no runs" + (" at the quick size" if quick else ""))
    paper = _parse_paper(raw, where)
    runner = raw.get("runner", "serial")
    if runner not in ("serial", "dask"):
        raise ProtocolError(f"{where}: runner must be 'serial' or 'dask', got {runner!r}")
    return Protocol(
        name=raw["name"], title=raw["title"], description=raw.get("description", ""), source=raw.get("source", ""),
        quick=quick, comparable=bool(q.get("comparable", True)) if quick else True, runs=tuple(runs),
        paper=tuple(paper), report_epochs=_ints(pick("report_epochs", []), f"{where}: report_epochs"),
        eval_every=int(pick("eval_every", 1)), runner=runner, workers=raw.get("workers"),
        verdict=raw.get("verdict", ""), path=path, raw=raw)


def _parse_run(r: dict, rw: str, *, quick: bool, q: dict, data: dict, model: dict, hidden: list, seeds: tuple,
               metrics: tuple, default_dataset: Any) -> list[RunSpec]:
    """The :class:`RunSpec` of one ``[[runs]]`` entry, one per data set it names (none when the quick
    size skips it)."""
    _unknown(rw, r, _RUN)
    if "solver" not in r:
        raise ProtocolError(f"{rw}: needs a 'solver'")
    rq = r.get("quick", {})
    _unknown(f"{rw} quick", rq, _RUN_QUICK)
    if quick and rq.get("skip", False):
        return []
    datasets = r.get("dataset", default_dataset)
    if datasets is None:
        raise ProtocolError(f"{rw}: no dataset ([data] dataset or the run's 'dataset')")
    datasets = datasets if isinstance(datasets, list) else [datasets]
    if quick and "datasets" in q:
        datasets = [d for d in datasets if d in q["datasets"]]
    variant = r.get("variant", "paper")
    if quick and "variants" in q and variant not in q["variants"]:
        return []
    iterations = rq.get("iterations", q.get("iterations", r.get("iterations", 100))) if quick \
        else r.get("iterations", 100)
    options = dict(r.get("options", {}))
    if quick:
        options.update(rq.get("options", {}))
    stages = _parse_stages(r, rw, rq.get("stage_iterations") if quick else None)
    if r.get("init", "paper") not in _INITS:
        raise ProtocolError(f"{rw}: init must be one of {', '.join(_INITS)}, got {r['init']!r}")
    run_seeds = rq["seeds"] if quick and "seeds" in rq else r.get("seeds")
    run_hidden = (rq.get("hidden") if quick and "hidden" in rq else None) or r.get("hidden", hidden)
    activation = _activation(r.get("activation", model.get("activation", "relu")), len(run_hidden),
                             f"{rw} ({variant})")
    return [RunSpec(
        solver=r["solver"], variant=variant, dataset=name,
        iterations=_positive(iterations, f"{rw}: iterations"),
        hidden=_ints(list(run_hidden), f"{rw}: hidden"), loss=r.get("loss", model.get("loss")),
        preset=r.get("preset", "paper"), options={**options, **r.get("by_dataset", {}).get(name, {})},
        init=r.get("init", "paper"), setting=dict(r.get("setting", {})), label=r.get("label", ""),
        seeds=_ints(run_seeds, f"{rw}: seeds") if run_seeds is not None else seeds,
        data={**data, **r.get("data", {})}, stages=stages,
        metrics=tuple(r.get("metrics", metrics)), activation=activation) for name in datasets]


def _activation(spec: Any, n_hidden: int, rw: str) -> str:
    """The canonical activation spec of a run, checked as :class:`amref.problem.MLP` checks it (a name of
    :mod:`amref.activations`, or one per hidden layer)."""
    from ..activations import canonical, layer_activations

    try:
        spec = canonical(spec)
        layer_activations(spec, n_hidden)
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"{rw}: activation: {exc}") from None
    return spec


def _parse_stages(r: dict, rw: str, stage_iters: list | None) -> tuple:
    """The greedy stages of a run (``stage_iters``: the quick size's iterations per stage)."""
    stages = []
    for k, s in enumerate(r.get("stages", [])):
        _unknown(f"{rw} stages[{k}]", s, _STAGE)
        if "depth" not in s or "iterations" not in s:
            raise ProtocolError(f"{rw} stages[{k}]: needs 'depth' and 'iterations'")
        its = stage_iters[k] if stage_iters else s["iterations"]
        if s.get("output_init", "random") not in ("random", "identity"):
            raise ProtocolError(f"{rw} stages[{k}]: output_init must be 'random' or 'identity'")
        if s.get("handover", "weights") not in ("weights", "state"):
            raise ProtocolError(f"{rw} stages[{k}]: handover must be 'weights' or 'state', got {s['handover']!r}")
        stages.append(StageSpec(_positive(s["depth"], f"{rw} stages[{k}].depth"), _positive(its, f"{rw} stages"),
                                s.get("output_init", "random"), dict(s.get("options", {})),
                                dict(s.get("by_dataset", {})), s.get("handover", "weights")))
    return tuple(stages)


def _parse_paper(raw: dict, where: str) -> list[PaperValue]:
    """The paper's reported numbers (``[[paper]]``), each with its source and verdict rule."""
    tolerance = float(raw.get("tolerance", 0.01))
    paper = []
    for i, p in enumerate(raw.get("paper", [])):
        pw = f"{where} paper[{i}]"
        _unknown(pw, p, _PAPER)
        for key in ("dataset", "metric", "source"):
            if key not in p:
                raise ProtocolError(f"{pw}: needs {key!r}")
        if p.get("rule", "within") not in _RULES:
            raise ProtocolError(f"{pw}: rule must be one of {', '.join(_RULES)}, got {p['rule']!r}")
        variant = p.get("variant", [])
        paper.append(PaperValue(
            dataset=p["dataset"], metric=p["metric"], value=None if p.get("value") is None else float(p["value"]),
            source=p["source"], variant=tuple(variant if isinstance(variant, list) else [variant]),
            setting=dict(p.get("setting", {})), std=None if p.get("std") is None else float(p["std"]),
            rule=p.get("rule", "within"), tolerance=float(p.get("tolerance", tolerance)),
            quick_comparable=p.get("quick_comparable")))
    return paper
