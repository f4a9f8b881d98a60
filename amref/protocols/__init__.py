"""The papers' experiments as named protocols: one small TOML file each, run by ``amref reproduce`` and
:func:`reproduce`.

A protocol holds the dataset and its preprocessing, the network, the solver(s) with their options (the
paper's and the released code's as named variants), greedy stages with per-stage options, iterations, the
epochs at which accuracy is reported, the seeds, a ``quick`` size that runs in minutes on 2 cores, and the
paper's numbers with where they come from. The format is described in :mod:`amref.protocols.spec`; the
files live next to this module (``amref/protocols/*.toml``); copy one, edit it, and pass its path.

Usage::

    import amref
    amref.protocols.names()                                  # the shipped protocols
    p = amref.protocols.load("mdlam-table4", quick=True)     # parsed and checked
    results = amref.reproduce("mdlam-table4", quick=True)    # runs it; writes results.json, report.md
    for row in results["rows"]:
        print(row["dataset"], row["variant"], row["metric"], row["paper"], row["ours"], row["verdict"])

``amref train --protocol NAME [--dataset D] [--variant V]`` runs one run of a protocol (:func:`select`).

Modules: :mod:`~amref.protocols.spec` (the file format, parsing), :mod:`~amref.protocols.build` (options,
data, network, stages of a run; the check that a protocol names only what exists),
:mod:`~amref.protocols.metrics` (reported numbers and verdicts), :mod:`~amref.protocols.runner`
(running, ``results.json``), :mod:`~amref.protocols.report` (``report.md``, ``amref report``).
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from . import build, metrics, report, runner, spec
from .spec import PaperValue, Protocol, ProtocolError, RunSpec, StageSpec

__all__ = ["PROTOCOL_DIR", "PaperValue", "Protocol", "ProtocolError", "RunSpec", "StageSpec", "build", "describe",
           "load", "metrics", "names", "path_of", "report", "reproduce", "runner", "select", "spec"]

PROTOCOL_DIR = os.path.dirname(os.path.abspath(__file__))
"""The folder of the shipped protocol files."""


def names() -> list[str]:
    """Names of the shipped protocols (``quickstart`` first when it exists), sorted otherwise."""
    found = sorted(f[:-5] for f in os.listdir(PROTOCOL_DIR) if f.endswith(".toml"))
    return sorted(found, key=lambda n: (n != "quickstart", n))


def path_of(name: str) -> str:
    """The file of protocol ``name``: a shipped name, or a path to a ``.toml`` file."""
    if name.endswith(".toml") or os.sep in name:
        if not os.path.isfile(name):
            raise ProtocolError(f"no protocol file {name!r}")
        return name
    path = os.path.join(PROTOCOL_DIR, f"{name}.toml")
    if not os.path.isfile(path):
        raise ProtocolError(f"unknown protocol {name!r}; choose from {', '.join(names())} or give a .toml path")
    return path


def load(name: str, *, quick: bool = False, check: bool = True) -> Protocol:
    """Read protocol ``name`` (a shipped name or a ``.toml`` path) at the quick or the full size.

    Parameters
    ----------
    name : str
        See :func:`names`; or the path of a protocol file.
    quick : bool
        The reduced size (minutes on 2 cores) instead of the paper's.
    check : bool
        Check that it names only solvers, options, presets, dataset options and metrics that exist
        (:func:`amref.protocols.build.check`).

    Returns
    -------
    Protocol

    Raises
    ------
    ProtocolError
        An unknown name, invalid TOML, or anything the check refuses (one line).
    """
    path = path_of(name)
    protocol = spec.parse(spec.read(path), quick=quick, path=path)
    if check:
        build.check(protocol)
    return protocol


def describe(name: str) -> str:
    """One line: the protocol's name, then its title."""
    return f"{name:<22} {spec.read(path_of(name)).get('title', '')}"


def select(protocol: Protocol, *, dataset: str | None = None, variant: str | None = None) -> RunSpec:
    """The first run of ``protocol`` on ``dataset`` with ``variant`` (each None: any)."""
    for run in protocol.runs:
        if (dataset is None or run.dataset == dataset) and (variant is None or run.variant == variant):
            return run
    raise ProtocolError(f"protocol {protocol.name!r} has no run" + (f" on {dataset!r}" if dataset else "")
                        + (f" with variant {variant!r}" if variant else "")
                        + f"; datasets: {', '.join(protocol.datasets)}; variants: {', '.join(protocol.variants)}")


def reproduce(
    name: str,
    *,
    quick: bool = False,
    seeds: int | None = None,
    backend: str = "numpy",
    out: str | os.PathLike | None = None,
    overrides: Sequence[str] = (),
    data_dir: Any = None,
    download: bool = True,
    verbose: bool = True,
    argv: Sequence[str] | None = None,
) -> dict:
    """Run protocol ``name`` and write ``results.json``, ``report.md``, plots and run records.

    Parameters
    ----------
    name : str
        A shipped protocol (:func:`names`) or the path of a protocol file.
    quick : bool
        The reduced size (minutes on 2 cores).
    seeds : int, optional
        Run every setting with this many seeds (its own first, then the next unused integers).
    backend : {"numpy", "cupy"}
        Array backend of the runs.
    out : path-like, optional
        Output folder (default ``./amref-reproduce/NAME`` or ``NAME-quick``).
    overrides : sequence of str
        ``KEY=VALUE`` changes to every run (see :func:`amref.protocols.runner.apply_overrides`).
    data_dir, download
        As for :func:`amref.load_dataset`.
    verbose : bool
        Print a line per run and seed.
    argv : sequence of str, optional
        The command line recorded in the provenance (default ``sys.argv``).

    Returns
    -------
    dict
        The content of ``results.json``: ``protocol``, ``quick``, ``provenance``, ``rows`` (one per
        reported number: ``dataset``, ``variant``, ``setting``, ``metric``, ``paper``, ``ours``,
        ``ours_std``, ``seeds``, ``verdict``, …), ``runs``, ``seconds``.
    """
    protocol = load(name, quick=quick, check=False)
    if overrides:
        protocol = runner.apply_overrides(protocol, overrides)
    if seeds is not None:
        protocol = runner.with_seeds(protocol, seeds)
    if out is None:
        out = os.path.join("amref-reproduce", protocol.name + ("-quick" if quick else ""))
    return runner.run_protocol(protocol, out=out, backend=backend, data_dir=data_dir, download=download,
                               verbose=verbose, argv=argv)
