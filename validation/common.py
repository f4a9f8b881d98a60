"""Shared helpers for the validation scripts: paper-vs-ours tables, markdown reports, run records, plots."""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import sys
from typing import Any, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # run from a checkout without installing

import amref  # noqa: E402


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """``--data-dir`` and ``--backend`` (``numpy``, ``cupy``, or ``array_api_strict`` for a CPU check of the
    generic path): every script loads on the host and makes one explicit move to the chosen namespace."""
    parser.add_argument("--data-dir", default=None, help="dataset folder (default: AMREF_DATA_DIR)")
    parser.add_argument("--backend", default="numpy", choices=("numpy", "cupy", "array_api_strict"),
                        help="array backend for the runs (cupy needs a CUDA device)")


def load(name: str, args: argparse.Namespace, **kwargs: Any) -> "amref.data.Dataset":
    """``amref.load_dataset(name, ...)`` from ``args.data_dir`` without downloading, moved to ``args.backend``."""
    data = amref.load_dataset(name, data_dir=args.data_dir, download=False, **kwargs)
    return data if args.backend == "numpy" else data.to(args.backend)


def out_dir(name: str) -> str:
    """``validation/out/<name>/`` (created)."""
    path = os.path.join(HERE, "out", name)
    os.makedirs(path, exist_ok=True)
    return path


def fmt(v: Any, spec: str = ".4f") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


class Report:
    """A markdown report printed to stdout as it is built and written to ``<out>/report.md``."""

    def __init__(self, title: str, out: str, argv: Sequence[str]):
        self.out = out
        self.lines = [f"# {title}", "",
                      f"Generated {datetime.datetime.now().isoformat(timespec='seconds')} by "
                      f"`python validation/{os.path.basename(sys.argv[0])} {' '.join(argv)}` "
                      f"(amref {amref.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs).", ""]
        print(self.lines[0])

    def text(self, *paragraphs: str) -> None:
        for p in paragraphs:
            self.lines += [p, ""]
            print(p)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        cells = [[fmt(c) for c in row] for row in rows]
        md = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        md += ["| " + " | ".join(r) + " |" for r in cells]
        self.lines += md + [""]
        widths = [max([len(str(h))] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
        print("  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
        for r in cells:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
        print()

    def image(self, path: str, caption: str) -> None:
        self.lines += [f"![{caption}]({os.path.basename(path)})", ""]

    def write(self) -> str:
        path = os.path.join(self.out, "report.md")
        with open(path, "w") as f:
            f.write("\n".join(self.lines))
        print(f"wrote {path}")
        return path


def save_run(result: amref.Result, path: str, **extra: Any) -> dict:
    """Write a run record (the same JSON as ``amref train --out``) and return it as a dict."""
    text = result.to_json(**extra)
    with open(path, "w") as f:
        f.write(text)
    run = json.loads(text)
    run["label"] = extra.get("label", result.solver)
    return run


def monotone_fraction(values: Sequence[float], rtol: float = 1e-12) -> float:
    """Fraction of consecutive pairs with v[k+1] ≤ v[k] (to a relative tolerance)."""
    pairs = list(zip(values, values[1:]))
    if not pairs:
        return math.nan
    return sum(b <= a + rtol * abs(a) for a, b in pairs) / len(pairs)


def protocol_parser(doc: str) -> argparse.ArgumentParser:
    """The options of a wrapper around ``amref reproduce``: ``--quick``, ``--seeds``, ``--backend``,
    ``--set``, ``--data-dir``."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="the protocols' quick size (minutes on 2 cores)")
    p.add_argument("--seeds", type=int, default=None, help="run every setting with this many seeds")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="change every run (see 'amref reproduce --help')")
    add_data_options(p)
    return p


def reproduce(name: str, args: argparse.Namespace) -> dict:
    """``amref.reproduce(name, ...)`` into ``validation/out/<name>[-quick]/``; returns its results."""
    return amref.reproduce(name, quick=args.quick, seeds=args.seeds, backend=args.backend,
                           out=out_dir(name + ("-quick" if args.quick else "")), overrides=args.overrides,
                           data_dir=args.data_dir, download=False)


def print_rows(results: dict) -> None:
    """The rows of a protocol's results, paper beside ours."""
    print(f"\n{results['title']}")
    for r in results["rows"]:
        setting = ", ".join(f"{k}={v}" for k, v in r["setting"].items())
        print(f"  {r['dataset']:<14} {r['variant']:<24} {setting:<22} {r['metric']:<28} paper {fmt(r['paper'])}"
              f"  ours {fmt(r['ours'])}  {r['verdict']}")

