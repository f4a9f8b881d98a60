"""Command line: ``amref train``, ``amref plot``, ``amref list`` (also ``python -m amref ...``).

``amref train`` maps its named hyperparameter flags onto the chosen solver's options dataclass
(``--rho`` → ``rho``, ``--nu`` → ``nu``, ``--lr`` → ``lr``, ``--weight-decay`` → ``weight_decay``,
``--batch-size`` → ``batch_size``, ``--quantize`` → ``quantize``, ``--zl-solver`` → ``zl.method``) and
``--option KEY=VALUE`` onto any field (dotted keys reach nested options, e.g. ``zl.fista_step=4``).
A flag that the solver has no option for is an error, not silently ignored. Every error ends with a
single ``amref: error: …`` line and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import sys
import time
import typing
from typing import Any, Sequence

__all__ = [
    "EXIT_DIVERGED",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "build_options",
    "build_parser",
    "CLIError",
    "cmd_list",
    "cmd_plot",
    "cmd_train",
    "main",
]

EXIT_USAGE = 2
EXIT_FAILURE = 1
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130


class CLIError(Exception):
    """A user error reported as one line."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump)."""

    def error(self, message: str) -> typing.NoReturn:  # noqa: D401
        self.exit(EXIT_USAGE, f"amref: error: {message} (see '{self.prog} --help')\n")


# ----------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The ``amref`` argument parser."""
    parser = _Parser(prog="amref", description="Alternating-minimization training of neural networks.")
    sub = parser.add_subparsers(dest="command", metavar="{train,plot,list}")
    sub.required = True

    t = sub.add_parser("train", help="train a network with a solver on a dataset",
                       description="Train an MLP with an AM solver or a gradient baseline; prints a progress "
                                   "bar and an iteration table, optionally writes a JSON run record.")
    t.add_argument("--solver", default="dladmm", help="solver name (see 'amref list'); default dladmm")
    t.add_argument("--dataset", default="digits", help="dataset name (see 'amref list'); default digits")
    t.add_argument("--data-dir", default=None, help="directory with dataset files (else $AMREF_DATA_DIR, else a user cache)")
    t.add_argument("--no-download", action="store_true", help="never download missing dataset files")
    t.add_argument("--train-size", type=int, default=None, help="use the first N training samples")
    t.add_argument("--test-size", type=int, default=None, help="use the first N test samples")
    t.add_argument("--downsample", type=int, default=None, help="image side after down-sampling (pdADMM: 14)")
    t.add_argument("--hidden", default=None,
                   help="comma-separated hidden widths, e.g. 1000,1000 ('' for none); default 100,100")
    t.add_argument("--loss", choices=("cross_entropy", "squared", "hinge"), default=None,
                   help="output loss (default: the one the solver's paper uses)")
    t.add_argument("--activation", default="relu", help="hidden activation: relu (default), leaky_relu[:SLOPE], "
                   "hardtanh, linear, sigmoid, tanh, step; or one per hidden layer, comma-separated")
    t.add_argument("--iters", type=int, default=None, help="iterations (epochs for gradient baselines); default 50")
    t.add_argument("--rho", type=float, default=None, help="ADMM penalty ρ (solver option 'rho')")
    t.add_argument("--nu", type=float, default=None, help="relaxation penalty ν (solver option 'nu')")
    t.add_argument("--lr", type=float, default=None, help="learning rate of a gradient baseline")
    t.add_argument("--weight-decay", type=float, default=None, help="weight decay of a gradient baseline")
    t.add_argument("--batch-size", type=int, default=None, help="mini-batch size (full batch when omitted)")
    t.add_argument("--quantize", choices=("p", "q", "pq"), default=None, help="pdADMM-G-Q: quantized variables")
    t.add_argument("--zl-solver", choices=("fista", "newton"), default=None, help="z_L subproblem solver")
    t.add_argument("--greedy", action="store_true",
                   help="greedy layer-wise training: shallow nets first, then add layers (pdADMM §III, "
                        "pdADMM-G §IV); the papers' stage schedule where one exists, else depths 2, 5, L; "
                        "--iters per stage")
    t.add_argument("--preset", default="paper",
                   help="'paper' (default), 'code' (the authors' released-code choices), or for a gradient "
                        "baseline one of the papers' baseline settings (see 'amref list')")
    t.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="set any solver option (repeatable; dotted keys for nested options)")
    t.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    t.add_argument("--seed", type=int, default=0, help="seed of the initial weights (and shuffles)")
    t.add_argument("--init-scheme", choices=("paper", "reseed"), default="paper",
                   help="initialisation recipe (see MLP.init_params)")
    t.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    t.add_argument("--init", default=None, metavar="FILE.npz", help="start from these weights (W1..WL, b1..bL)")
    t.add_argument("--save-weights", default=None, metavar="FILE.npz", help="write the final weights")
    t.add_argument("--out", default=None, metavar="RUN.json", help="write the run record as JSON")
    t.add_argument("--checkpoint", default=None, metavar="FILE.npz", help="checkpoint file (atomic)")
    t.add_argument("--checkpoint-every", type=int, default=0, help="checkpoint period in iterations (0: at the end)")
    t.add_argument("--resume", default=None, metavar="FILE.npz", help="continue from a checkpoint")
    t.add_argument("--threads", type=int, default=None,
                   help="limit BLAS and Numba threads (useful on shared or oversubscribed machines)")
    t.add_argument("--eval-every", type=int, default=1,
                   help="evaluate train/test loss and accuracy every K iterations and at the end (default 1)")
    t.add_argument("--tol", type=float, default=None,
                   help="stop when the residual is <= TOL (gradient baselines: the relative objective change)")
    t.add_argument("--no-jit", action="store_true", help="never use the Numba kernels (amref.kernels.use_jit(False))")
    t.add_argument("--print-every", type=int, default=None, help="iteration-table period (default: about 10 rows)")
    t.add_argument("--quiet", action="store_true", help="no progress bar and no table")
    # layer-parallel runner (amref.parallel)
    t.add_argument("--runner", choices=("serial", "dask"), default="serial",
                   help="'serial' (default) or 'dask': pdADMM solvers layer-parallel on dask workers")
    t.add_argument("--workers", type=int, default=None, help="--runner dask: start a local cluster of N workers")
    t.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="--runner dask: use a running dask scheduler instead, e.g. tcp://host:8786")

    p = sub.add_parser("plot", help="plot convergence and accuracy curves of JSON run records")
    p.add_argument("runs", nargs="+", metavar="RUN.json")
    p.add_argument("-o", "--output", default="amref-curves.png", help="PNG file to write")
    p.add_argument("--title", default=None)

    ls = sub.add_parser("list", help="list solvers and datasets, or one solver's options")
    ls.add_argument("--options", default=None, metavar="NAME",
                    help="print every option of solver NAME: its default, accepted values and meaning")
    return parser


# ----------------------------------------------------------------------------- options
_FLAG_FIELDS = {"rho": "rho", "nu": "nu", "lr": "lr", "weight_decay": "weight_decay",
                "batch_size": "batch_size", "quantize": "quantize"}


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _coerce(options_class: type, field: dataclasses.Field, value: Any, key: str) -> Any:
    """Make JSON-ish ``value`` fit a field: ints become floats for float fields, strings stay strings."""
    hints = typing.get_type_hints(options_class)
    hint = hints.get(field.name)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if hint is float and isinstance(value, str) and value.lower() in ("inf", "infinity", "nan"):
        return float(value)
    return value


def _set_option(options: Any, key: str, value: Any, origin: str) -> Any:
    head, _, rest = key.partition(".")
    fields = {f.name: f for f in dataclasses.fields(options)}
    if head not in fields:
        raise CLIError(f"{origin} does not apply: {type(options).__name__} has no option {head!r} "
                       f"(options: {', '.join(fields)})")
    if rest:
        inner = getattr(options, head)
        if not dataclasses.is_dataclass(inner):
            raise CLIError(f"{origin}: option {head!r} has no sub-options")
        return dataclasses.replace(options, **{head: _set_option(inner, rest, value, origin)})
    return dataclasses.replace(options, **{head: _coerce(type(options), fields[head], value, key)})


def build_options(solver: Any, args: argparse.Namespace) -> Any:
    """The solver's options from the preset, the named flags and ``--option`` pairs (validated)."""
    cls = solver.options_class
    try:
        if args.preset == "paper":
            options = cls()
        elif args.preset == "code":
            if not hasattr(cls, "released_code"):
                raise CLIError(f"solver {solver.name!r} has no 'code' preset")
            kwargs = {"rho": args.rho} if args.rho is not None and "rho" in _field_names(cls) else {}
            options = cls.released_code(**kwargs)
        else:
            from amref import optim, registry

            if solver.name not in registry.baseline_names():
                raise CLIError(f"--preset {args.preset!r}: solver {solver.name!r} has the presets 'paper' and 'code'")
            if args.preset not in optim.preset_names():
                raise CLIError(f"unknown preset {args.preset!r}; choose from paper, {', '.join(optim.preset_names())}")
            options = optim.preset(args.preset, solver.name)
        for flag, field in _FLAG_FIELDS.items():
            value = getattr(args, flag)
            if value is not None:
                options = _set_option(options, field, value, f"--{flag.replace('_', '-')}")
        if args.zl_solver is not None:
            options = _set_option(options, "zl.method", args.zl_solver, "--zl-solver")
        for pair in args.option:
            key, sep, text = pair.partition("=")
            if not sep or not key:
                raise CLIError(f"--option expects KEY=VALUE, got {pair!r}")
            options = _set_option(options, key.strip(), _parse_value(text.strip()), f"--option {key.strip()}")
    except (TypeError, ValueError) as exc:
        raise CLIError(str(exc)) from exc
    return options


def _field_names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def _hidden(text: str | None) -> tuple[int, ...]:
    if text is None:
        return (100, 100)
    if text.strip() == "":
        return ()
    try:
        widths = tuple(int(w) for w in text.split(","))
    except ValueError:
        raise CLIError(f"--hidden expects comma-separated integers, got {text!r}") from None
    if any(w < 1 for w in widths):
        raise CLIError(f"--hidden widths must be positive, got {text!r}")
    return widths


# ----------------------------------------------------------------------------- train
def cmd_train(args: argparse.Namespace) -> int:
    import amref
    from amref import kernels, parallel
    from amref.backend import device as array_device
    from amref.backend import get_namespace
    from amref.problem import MLP, load_params, save_params
    from amref.progress import ProgressTable

    iters = 50 if args.iters is None else args.iters
    if iters < 1:
        raise CLIError(f"--iters must be a positive integer, got {iters}")
    for flag in ("train_size", "test_size", "checkpoint_every", "print_every", "threads", "workers", "eval_every"):
        v = getattr(args, flag)
        if v is not None and v < (0 if flag == "checkpoint_every" else 1):
            raise CLIError(f"--{flag.replace('_', '-')} must be positive, got {v}")
    hidden = _hidden(args.hidden)
    solver = amref.get_solver(args.solver)
    try:
        parallel.check_runner(args.runner, solver, workers=args.workers, scheduler=args.scheduler)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    options = None if args.resume else build_options(solver, args)
    xp = get_namespace(args.backend)

    load_kwargs: dict[str, Any] = dict(data_dir=args.data_dir, download=not args.no_download,
                                       train_size=args.train_size, test_size=args.test_size, dtype=args.dtype)
    if args.downsample is not None:
        load_kwargs["downsample"] = args.downsample
    data = amref.load_dataset(args.dataset, **load_kwargs)
    if args.backend != "numpy":
        data = data.to(xp)
    problem = MLP((data.n_features, *hidden, data.n_classes), loss=args.loss or ("squared" if data.task == "regression" else solver.paper_loss), activation=args.activation, task=data.task)
    params = None
    if args.init is not None:
        if not os.path.exists(args.init):
            raise CLIError(f"--init: no such file {args.init!r}")
        params = load_params(args.init, problem, xp=xp, device=array_device(data.x_train), dtype=args.dtype)

    if args.tol is not None and not (math.isfinite(args.tol) and args.tol >= 0):
        raise CLIError(f"--tol must be a finite number >= 0, got {args.tol}")
    banner = (f"amref: {solver.name} on {data.name} ({data.n_train} train samples), widths "
              f"{'-'.join(map(str, problem.widths))}, {args.dtype}, {args.backend}")
    progress = None if args.quiet else ProgressTable(iters, every=args.print_every, banner=banner)
    t0 = time.perf_counter()
    try:
        with _thread_limit(args.threads), kernels.use_jit(False if args.no_jit else None), \
                parallel.open_runner(args.runner, workers=args.workers, scheduler=args.scheduler) as runner:
            solver = runner.solver(solver)
            if args.greedy:
                result = _train_greedy(solver, problem, data, options, iters, params, args, progress)
            else:
                result = parallel.minimize_with_restores(
                    solver, problem, data, options, max_iter=iters, params=params, seed=args.seed,
                    init_scheme=args.init_scheme, callback=progress, checkpoint=args.checkpoint,
                    checkpoint_every=args.checkpoint_every, resume=args.resume, eval_every=args.eval_every,
                    tol=args.tol)
    finally:
        if progress is not None:
            progress.close()
    wall = time.perf_counter() - t0
    h = result.history
    print(f"amref: {result.status.value}: {result.message}; train acc {h.last('train_accuracy'):.4f}, "
          f"test acc {h.last('test_accuracy'):.4f}, {wall:.1f} s")
    if args.save_weights:
        save_params(args.save_weights, result.params, activation=problem.activation)
    if args.out:
        from amref.checkpoint import atomic_write_text

        extra = {"dataset": data.name, "widths": list(problem.widths), "seed": args.seed, "dtype": args.dtype,
                 "backend": args.backend, "n_train": data.n_train, "wall_seconds": wall,
                 "argv": sys.argv[1:], "amref_version": amref.__version__, "runner": args.runner,
                 "activation": problem.activation, "loss": problem.loss}
        atomic_write_text(args.out, result.to_json(**extra))
    if result.status is amref.Status.DIVERGED:
        return EXIT_DIVERGED
    if result.status is amref.Status.INTERRUPTED:
        return EXIT_INTERRUPTED
    if result.status is amref.Status.STATE_LOST:
        return EXIT_FAILURE
    return 0


def _train_greedy(solver, problem, data, options, iters, params, args, progress):
    """``--greedy``: :func:`amref.solvers.greedy.train_greedy` with the paper's stages where known."""
    from amref.solvers import greedy

    if args.checkpoint or args.resume:
        raise CLIError("--greedy does not support --checkpoint/--resume (each stage is a separate run)")
    try:
        stages = greedy.paper_stages(solver.name, problem.n_layers, iters)
    except ValueError:
        stages = greedy.default_stages(problem.n_layers, iters)
    if progress is not None:
        progress.set_total(sum(s.iterations for s in stages))
    return greedy.train_greedy(solver, problem, data, options, stages=stages, params=params, seed=args.seed,
                               init_scheme=args.init_scheme, callback=progress, eval_every=args.eval_every)


@contextlib.contextmanager
def _thread_limit(threads: int | None):
    """Limit BLAS (threadpoolctl) and Numba threads for the duration of a run; no-op when None."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    numba_before = None
    try:
        import numba

        numba_before = numba.get_num_threads()
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        if numba_before is not None:
            import numba

            numba.set_num_threads(numba_before)


# ----------------------------------------------------------------------------- plot, list
def cmd_plot(args: argparse.Namespace) -> int:
    from amref.plotting import load_run, plot_runs

    runs = [load_run(path) for path in args.runs]
    plot_runs(runs, args.output, title=args.title)
    print(f"amref: wrote {args.output}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    import amref
    from amref.data import loaders

    from amref import optim

    if args.options is not None:
        if args.options not in amref.solver_names():
            raise CLIError(f"unknown solver {args.options!r}; choose from {', '.join(amref.solver_names())}")
        amref.show_options(args.options, echo=True)
        return 0
    print("AM solvers: " + ", ".join(amref.am_solver_names()))
    print("gradient baselines: " + ", ".join(amref.baseline_names()))
    print("baseline presets (--preset): " + ", ".join(optim.preset_names()))
    print("datasets: " + ", ".join(loaders.dataset_names()))
    return 0


# ----------------------------------------------------------------------------- entry point
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error already reported on one line (2)
        return int(exc.code or 0)
    handlers = {"train": cmd_train, "plot": cmd_plot, "list": cmd_list}
    try:
        return handlers[args.command](args)
    except CLIError as exc:
        print(f"amref: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("amref: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, TypeError, OSError, ImportError, RuntimeError, MemoryError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"amref: error: {message}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
