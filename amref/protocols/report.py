"""Markdown from protocol results: a protocol's ``report.md`` and plots, and the combined table of many
``results.json`` files (``amref report DIR… > validation/RESULTS.md``), each row with its hardware and
commit."""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Sequence

from .spec import Protocol

__all__ = ["hardware", "load_results", "markdown_table", "results_markdown", "write_report"]

_HEADER = ("dataset", "variant", "setting", "metric", "paper", "ours", "verdict", "source")


def _num(v: Any, std: Any = None) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        text = f"{v:.4g}" if abs(v) >= 1e4 or (v != 0 and abs(v) < 1e-3) else f"{v:.3f}"
        if std is not None:
            text += f" ± {std:.3f}"
        return text
    return str(v)


def _setting(setting: dict) -> str:
    return ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in setting.items()) or "–"


def hardware(prov: dict) -> str:
    """The hardware of a provenance record in a few words: device (GPU runs) or CPU model, BLAS threads."""
    dev = (prov.get("device") or {}).get("name")
    if dev:
        return dev
    cpu = (prov.get("cpu") or {}).get("model") or "unknown CPU"
    threads = [b.get("threads") for b in prov.get("blas") or [] if b.get("api") == "blas"]
    return cpu + (f", {threads[0]} BLAS threads" if threads else "")


def _commit(prov: dict) -> str:
    git = (prov.get("amref") or {}).get("git")
    if not git:
        return f"amref {(prov.get('amref') or {}).get('version', '?')}"
    return git["commit"][:7] + ("+dirty" if git.get("dirty") else "")


def markdown_table(rows: Sequence[dict], *, provenance: dict | None = None) -> list[str]:
    """The rows of one ``results.json`` as a markdown table (with hardware and commit columns when
    ``provenance`` is given)."""
    header = list(_HEADER) + (["hardware", "commit"] if provenance is not None else [])
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        variant = r["variant"] + (f" ({r['label']})" if r.get("label") else "")
        cells = [r["dataset"], variant, _setting(r["setting"]), r["metric"], _num(r["paper"], r.get("paper_std")),
                 _num(r["ours"], r["ours_std"] if len(r.get("seeds", [])) > 1 else None),
                 f"**{r['verdict']}**" if r["verdict"] == "reproduced" else r["verdict"], r.get("source") or ""]
        if provenance is not None:
            cells += [hardware(provenance), _commit(provenance)]
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return lines


def write_report(protocol: Protocol, results: dict, out: str) -> str:
    """Write ``out/report.md`` and one plot per dataset (when matplotlib is installed); returns the path."""
    prov = results["provenance"]
    lines = [f"# {protocol.title}", "",
             f"Protocol `{protocol.name}`" + (" at its **quick** size" if protocol.quick else "") +
             f"; `{' '.join(prov['command'])}`; {prov['date']}; {hardware(prov)}; {_commit(prov)}.", "",
             protocol.description.strip(), ""]
    if protocol.quick and not protocol.comparable:
        lines += ["**Quick size: the accuracies are not comparable to the paper's full-size numbers** "
                  "(verdict `not comparable`).", ""]
    if protocol.verdict:
        lines += [f"Verdict rule: {protocol.verdict}", ""]
    lines += markdown_table(results["rows"]) + [""]
    for png in _plots(results, out):
        lines += [f"![{png}]({png})", ""]
    path = os.path.join(out, "report.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return path


def _plots(results: dict, out: str) -> list[str]:
    try:
        from ..plotting import load_run, plot_runs
    except ImportError:
        return []
    names = []
    by_dataset: dict[str, list] = {}
    for run in results["runs"]:
        if run["records"]:
            by_dataset.setdefault(run["dataset"], []).append((run, run["records"][0]))
    for dataset, items in by_dataset.items():
        records = []
        for run, rel in items:
            record = load_run(os.path.join(out, rel))
            record["label"] = run["name"].split("/", 1)[-1]
            records.append(record)
        png = f"{dataset}.png"
        try:
            plot_runs(records, os.path.join(out, png), title=f"{results['protocol']} on {dataset}")
        except ImportError:
            return []
        names.append(png)
    return names


def load_results(paths: Iterable[str]) -> list[dict]:
    """``results.json`` of each path (a folder holding one, or the file itself)."""
    out = []
    for path in paths:
        file = os.path.join(path, "results.json") if os.path.isdir(path) else path
        try:
            with open(file, encoding="utf-8") as f:
                results = json.load(f)
        except FileNotFoundError:
            raise FileNotFoundError(f"{file}: no results.json (run 'amref reproduce' first)") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{file}: not JSON ({exc})") from None
        if not isinstance(results, dict) or "rows" not in results or "provenance" not in results:
            raise ValueError(f"{file}: not a results.json of 'amref reproduce'")
        out.append(results)
    return out


def results_markdown(paths: Iterable[str]) -> str:
    """The combined markdown of many ``results.json`` files: one section per protocol, each row with the
    hardware and commit it ran on."""
    lines = ["# Reproducing the papers: results", "",
             "Generated by `amref report` from the `results.json` files of `amref reproduce`. Each row: the paper's "
             "number, ours (mean ± std over the seeds), the verdict by the protocol's rule, where the paper's "
             "number comes from, and the hardware and commit of the run.", ""]
    for results in load_results(paths):
        prov = results["provenance"]
        size = "quick" if results["quick"] else "full"
        lines += [f"## {results['title']}", "",
                  f"`amref reproduce {results['protocol']}{' --quick' if results['quick'] else ''}` ({size} size), "
                  f"{prov['date']}, Python {prov['python']['version']}, NumPy {prov['packages'].get('numpy')}, "
                  f"{results.get('seconds', 0):.0f} s.", ""]
        if results.get("verdict_rule"):
            lines += [f"Verdict rule: {results['verdict_rule']}", ""]
        lines += markdown_table(results["rows"], provenance=prov) + [""]
    return "\n".join(lines)
