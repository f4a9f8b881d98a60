"""Running a protocol: every run over its seeds, the rows of paper-vs-ours numbers, ``results.json``.

:func:`run_protocol` is what ``amref reproduce`` and :func:`amref.reproduce` call. It writes into its
output folder ``results.json`` (see :data:`RESULT_KEYS`), ``report.md``, one plot per dataset and the run
record of every run and seed under ``runs/`` (the JSON of ``amref train --out``, naming the protocol
and variant).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from typing import Any, Sequence

from .. import parallel, provenance, registry
from ..checkpoint import atomic_write_text
from ..driver import minimize
from ..result import Result
from ..solvers.greedy import train_greedy
from . import build, metrics
from .spec import Protocol, ProtocolError, RunSpec, StageSpec

__all__ = ["RESULT_KEYS", "ROW_KEYS", "apply_overrides", "execute", "rows_for", "run_protocol", "with_seeds"]

RESULT_KEYS = ("protocol", "title", "quick", "provenance", "verdict_rule", "rows", "runs", "seconds")
"""Keys of ``results.json``."""

ROW_KEYS = ("dataset", "variant", "label", "solver", "setting", "metric", "paper", "paper_std", "source", "rule",
            "tolerance", "ours", "ours_std", "seeds", "values", "verdict")
"""Keys of every row of ``results.json``: one row per reported number."""


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def apply_overrides(protocol: Protocol, pairs: Sequence[str]) -> Protocol:
    """``protocol`` with ``KEY=VALUE`` overrides (``--set``) applied to every run.

    Keys: ``iterations`` (also every greedy stage's), ``stage_iterations`` (a list), ``hidden``, ``seeds``,
    ``loss``, ``preset``, ``init``, ``data.KEY`` (a dataset option), ``options.KEY`` (a solver option, dotted
    for nested ones; it also wins over the stages' own), ``eval_every``, ``report_epochs``. Values are JSON
    (``hidden=[50,50]``, ``options.rho=0.1``) or plain strings.
    """
    runs, top = list(protocol.runs), {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ProtocolError(f"--set expects KEY=VALUE, got {pair!r}")
        value = _value(text.strip())
        if key in ("eval_every", "report_epochs"):
            top[key] = tuple(value) if isinstance(value, list) else value
            continue
        new = []
        for run in runs:
            if key == "iterations":
                run = dataclasses.replace(run, iterations=int(value), stages=tuple(
                    dataclasses.replace(s, iterations=int(value)) for s in run.stages))
            elif key == "stage_iterations":
                if not isinstance(value, list) or len(value) != len(run.stages):
                    raise ProtocolError(f"--set stage_iterations needs a list of {len(run.stages)} integers")
                run = dataclasses.replace(run, stages=tuple(
                    dataclasses.replace(s, iterations=int(v)) for s, v in zip(run.stages, value)))
            elif key in ("hidden", "seeds"):
                if not isinstance(value, list):
                    raise ProtocolError(f"--set {key} expects a list, e.g. {key}=[1,2]")
                run = dataclasses.replace(run, **{key: tuple(int(v) for v in value)})
            elif key in ("loss", "preset", "init"):
                run = dataclasses.replace(run, **{key: value})
            elif key.startswith("data."):
                run = dataclasses.replace(run, data={**run.data, key[5:]: value})
            elif key.startswith("options."):
                run = dataclasses.replace(run, options={**run.options, key[8:]: value}, stages=tuple(
                    _stage_override(s, key[8:], value) for s in run.stages))
            else:
                raise ProtocolError(f"--set: unknown key {key!r} (iterations, stage_iterations, hidden, seeds, loss, "
                                    "preset, init, data.KEY, options.KEY, eval_every, report_epochs)")
            new.append(run)
        runs = new
    return dataclasses.replace(protocol, runs=tuple(runs), **top)


def _stage_override(stage: StageSpec, key: str, value: Any) -> StageSpec:
    return dataclasses.replace(stage, options={**stage.options, key: value},
                               by_dataset={d: {k: v for k, v in o.items() if k != key}
                                           for d, o in stage.by_dataset.items()})


def with_seeds(protocol: Protocol, count: int) -> Protocol:
    """Every run with ``count`` seeds: its own, then the next unused integers."""
    if count < 1:
        raise ProtocolError(f"--seeds must be a positive integer, got {count}")

    def pick(seeds: tuple[int, ...]) -> tuple[int, ...]:
        out, k = list(seeds[:count]), 0
        while len(out) < count:
            if k not in seeds and k not in out:
                out.append(k)
            k += 1
        return tuple(out)

    return dataclasses.replace(protocol, runs=tuple(dataclasses.replace(r, seeds=pick(r.seeds)) for r in protocol.runs))


def execute(run: RunSpec, seed: int, data: Any, *, eval_every: int = 1, solver: Any = None) -> tuple[Result, dict]:
    """One run of ``run`` with ``seed`` on ``data``: its :class:`~amref.result.Result` and a context for
    :func:`amref.protocols.metrics.compute` (final network, sizes, options, validation accuracy)."""
    problem = build.problem_for(run, data.n_features, data.n_classes)
    options = build.build_options(run.solver, run.preset, run.options, run.name)
    spec = solver if solver is not None else registry.get_solver(run.solver)
    params = build.initial_params(run, problem, data, seed)
    scheme = "reseed" if run.init == "reseed" else "paper"
    stages = build.stages_for(run)
    if stages:
        result = train_greedy(spec, problem, data, options, stages=stages, params=params, seed=seed,
                              init_scheme=scheme, eval_every=eval_every)
        options = stages[-1].options
    else:
        result = minimize(spec, problem, data, options, max_iter=run.iterations, params=params, seed=seed,
                          init_scheme=scheme, eval_every=eval_every)
    from ..backend import dtype_name

    context = {"widths": problem.widths, "n_train": data.n_train, "dtype": dtype_name(data.x_train),
               "options": options}
    if getattr(data, "x_val", None) is not None:
        context["val_accuracy"] = problem.evaluate(result.params, data.x_val, data.y_val)[1]
    return result, context


def rows_for(protocol: Protocol, run: RunSpec, outcomes: Sequence[tuple[dict, dict]]) -> list[dict]:
    """The rows of ``run``: one per metric (and report epoch), mean and std over the seeds' ``outcomes``
    (``(history, context)`` pairs), the paper's number and the verdict."""
    rows = []
    for metric in run.metrics:
        epochs: Sequence[int | None] = [None]
        if metric in ("train_accuracy", "test_accuracy") and protocol.report_epochs and not run.stages:
            epochs = [e for e in protocol.report_epochs if e <= run.iterations] or [None]
        for epoch in epochs:
            setting = dict(run.setting, **({"epoch": epoch} if epoch is not None else {}))
            values = [metrics.compute(metric, h, epoch=epoch, context=c) for h, c in outcomes]
            mean, std = metrics.mean_std(values)
            paper = next((p for p in protocol.paper if p.matches(run, metric, setting)), None)
            rows.append({
                "dataset": run.dataset, "variant": run.variant, "label": run.label, "solver": run.solver,
                "setting": setting, "metric": metric,
                "paper": None if paper is None else paper.value, "paper_std": None if paper is None else paper.std,
                "source": None if paper is None else paper.source, "rule": None if paper is None else paper.rule,
                "tolerance": None if paper is None else paper.tolerance,
                "ours": mean, "ours_std": std, "seeds": list(run.seeds),
                "values": [v if math.isfinite(v) else None for v in values],
                "verdict": metrics.verdict(paper, math.nan if mean is None else mean, quick=protocol.quick,
                                           comparable=protocol.comparable),
            })
    return rows


def _say(verbose: bool, text: str) -> None:
    if verbose:
        print(text, flush=True)


def run_protocol(
    protocol: Protocol,
    *,
    out: str | os.PathLike,
    backend: str = "numpy",
    data_dir: Any = None,
    download: bool = True,
    verbose: bool = True,
    argv: Sequence[str] | None = None,
) -> dict:
    """Run every run of ``protocol`` over its seeds and write ``results.json``, ``report.md``, plots and the
    run records into ``out``; returns the results (the dict written to ``results.json``)."""
    from . import report

    build.check(protocol)
    out = os.fspath(out)
    os.makedirs(os.path.join(out, "runs"), exist_ok=True)
    prov = provenance.collect(seeds=protocol.seeds, backend=backend, argv=argv)
    cache: dict = {}
    rows, runs_out, t0 = [], [], time.perf_counter()
    total = sum(len(r.seeds) for r in protocol.runs)
    done = 0
    with parallel.open_runner(protocol.runner, workers=protocol.workers) as runner:
        for run in protocol.runs:
            data = build.load_data(run, data_dir=data_dir, download=download, backend=backend, cache=cache)
            outcomes, files = [], []
            for seed in run.seeds:
                done += 1
                t = time.perf_counter()
                result, context = execute(run, seed, data, eval_every=protocol.eval_every,
                                          solver=runner.solver(registry.get_solver(run.solver)))
                path = os.path.join(out, "runs", f"{run.name}-seed{seed}".replace("/", "-") + ".json")
                atomic_write_text(path, result.to_json(
                    protocol=protocol.name, variant=run.variant, quick=protocol.quick, dataset=run.dataset,
                    label=run.name, widths=list(context["widths"]), seed=seed,
                    setting=run.setting, provenance={**prov, "seeds": [seed]}))
                files.append(os.path.relpath(path, out))
                outcomes.append((dict(result.history), context))
                shown = ", ".join(f"{m} {metrics.compute(m, result.history, context=context):.4g}" for m in run.metrics)
                _say(verbose, f"[{done}/{total}] {run.name} seed {seed}: {result.status.value}; {shown} "
                              f"({time.perf_counter() - t:.0f} s)")
            rows += rows_for(protocol, run, outcomes)
            runs_out.append({"name": run.name, "dataset": run.dataset, "variant": run.variant, "label": run.label,
                             "solver": run.solver, "preset": run.preset, "options": run.options,
                             "iterations": run.iterations, "hidden": list(run.hidden), "data": run.data,
                             "stages": [dataclasses.asdict(s) for s in run.stages], "seeds": list(run.seeds),
                             "records": files})
    results = {"protocol": protocol.name, "title": protocol.title, "quick": protocol.quick, "provenance": prov,
               "verdict_rule": protocol.verdict, "rows": rows, "runs": runs_out,
               "seconds": time.perf_counter() - t0}
    atomic_write_text(os.path.join(out, "results.json"), json.dumps(_finite(results), indent=1, allow_nan=False))
    report.write_report(protocol, results, out)
    _say(verbose, f"amref: wrote {os.path.join(out, 'results.json')} and report.md")
    return results


def _finite(x: Any) -> Any:
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x

