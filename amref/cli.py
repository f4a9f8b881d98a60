"""Command line: ``amref train``, ``amref reproduce``, ``amref report``, ``amref plot``, ``amref list`` (also
``python -m amref ...``).

``amref train`` maps its named hyperparameter flags onto the chosen solver's options dataclass
(``--rho`` → ``rho``, ``--nu`` → ``nu``, ``--lr`` → ``lr``, ``--weight-decay`` → ``weight_decay``,
``--batch-size`` → ``batch_size``, ``--quantize`` → ``quantize``, ``--zl-solver`` → ``zl.method``) and
``--option KEY=VALUE`` onto any field (dotted keys reach nested options, e.g. ``zl.fista_step=4``).
A flag that the solver has no option for is an error, not silently ignored. ``amref train --protocol NAME``
starts from one run of a protocol (``amref reproduce --list``) and applies the flags given on top. With
no ``--preset`` and no hyperparameter flag, on a data set the ``quickstart`` protocol covers
(:mod:`amref.defaults`), a run uses that protocol's settings and says so; ``--preset paper`` gives the
papers' values. BLAS and Numba threads come from the problem size (:mod:`amref.threads`) unless
``--threads`` says otherwise. Every error ends with a single ``amref: error: …`` line and a non-zero exit
status.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import re
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
    "cmd_report",
    "cmd_reproduce",
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
    """argparse with one-line errors (no usage dump); ``-1e-6`` and ``-inf`` are values, not flags."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$",
                                                   re.IGNORECASE)

    def error(self, message: str) -> typing.NoReturn:  # noqa: D401
        self.exit(EXIT_USAGE, f"amref: error: {message} (see '{self.prog} --help')\n")


# ----------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The ``amref`` argument parser."""
    parser = _Parser(prog="amref", description="Alternating-minimization training of neural networks.")
    sub = parser.add_subparsers(dest="command", metavar="{train,reproduce,report,plot,list}")
    sub.required = True

    t = sub.add_parser("train", help="train a network with a solver on a dataset",
                       description="Train an MLP with an AM solver or a gradient baseline; prints a progress "
                                   "bar and an iteration table, optionally writes a JSON run record.")
    t.add_argument("--solver", default="dladmm", help="solver name (see 'amref list'); default dladmm")
    t.add_argument("--dataset", default="digits", help="dataset name (see 'amref list'); default digits")
    t.add_argument("--data-dir", default=None,
                   help="directory with dataset files (else $AMREF_DATA_DIR, else a user cache)")
    t.add_argument("--no-download", action="store_true", help="never download missing dataset files")
    t.add_argument("--train-size", type=int, default=None, help="use the first N training samples")
    t.add_argument("--test-size", type=int, default=None, help="use the first N test samples")
    t.add_argument("--downsample", type=int, default=None, help="image side after down-sampling (pdADMM: 14)")
    t.add_argument("--hidden", default=None,
                   help="comma-separated hidden widths, e.g. 1000,1000 ('' for none); default 100,100 "
                        "(or the quickstart run's)")
    t.add_argument("--loss", choices=("cross_entropy", "squared", "hinge"), default=None,
                   help="output loss (default: the one the solver's paper uses)")
    t.add_argument("--activation", default="relu", help="hidden activation: relu (default), leaky_relu[:SLOPE], "
                   "hardtanh, linear, sigmoid, tanh, step; or one per hidden layer, comma-separated")
    t.add_argument("--iters", type=int, default=None,
                   help="iterations (epochs for gradient baselines); default 50 (or the quickstart run's)")
    t.add_argument("--rho", type=float, default=None, help="ADMM penalty ρ (solver option 'rho')")
    t.add_argument("--nu", type=float, default=None, help="relaxation penalty ν (solver option 'nu')")
    t.add_argument("--lr", type=float, default=None, help="learning rate of a gradient baseline")
    t.add_argument("--weight-decay", type=float, default=None, help="weight decay of a gradient baseline; the ridge "
                   "(option 'weight_decay') of mac, mdlam, pdadmm")
    t.add_argument("--batch-size", type=int, default=None, help="mini-batch size (full batch when omitted)")
    t.add_argument("--quantize", choices=("p", "q", "pq"), default=None, help="pdADMM-G-Q: quantized variables")
    t.add_argument("--zl-solver", choices=("fista", "newton"), default=None, help="z_L subproblem solver")
    t.add_argument("--greedy", action="store_true",
                   help="greedy layer-wise training: shallow nets first, then add layers (pdADMM §III, "
                        "pdADMM-G §IV); the papers' stage schedule where one exists, else depths 2, 5, L; "
                        "--iters per stage")
    t.add_argument("--preset", default=None,
                   help="'paper' (the papers' option values), 'code' (the authors' released-code choices), or "
                        "for a gradient baseline one of the papers' baseline settings (see 'amref list'). "
                        "Default: on a data set the quickstart protocol covers (digits) and without any "
                        "hyperparameter flag, its per-solver settings (options, iterations, widths, loss; "
                        "amref/protocols/quickstart.toml; the banner says which), else 'paper'")
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
    t.add_argument("--checkpoint", default=None, metavar="FILE.npz",
                   help="checkpoint file (atomic; may be the --resume file, which the run then continues); "
                        "without it, an interrupted run with --out saves its state beside RUN.json as RUN.ckpt.npz")
    t.add_argument("--checkpoint-every", type=int, default=0, help="checkpoint period in iterations (0: at the end)")
    t.add_argument("--resume", default=None, metavar="FILE.npz",
                   help="continue from a checkpoint of the same solver, network and data, with its options "
                        "(flags that would change them are refused)")
    t.add_argument("--threads", type=int, default=None,
                   help="BLAS and Numba threads, at most the cores available (default: chosen from the "
                        "problem size, 1 for small problems; see amref.threads)")
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
    t.add_argument("--connect-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="--scheduler: seconds to wait for the scheduler to answer (default 10)")
    t.add_argument("--protocol", default=None, metavar="NAME",
                   help="start from a run of this protocol (see 'amref reproduce --list'); other flags override it")
    t.add_argument("--variant", default=None, help="--protocol: the variant to run (default: its first run)")
    _add_reproduce_parsers(sub)

    p = sub.add_parser("plot", help="plot convergence and accuracy curves of JSON run records")
    p.add_argument("runs", nargs="+", metavar="RUN.json")
    p.add_argument("-o", "--output", default="amref-curves.png",
                   help="image file to write (.png added when the name has no extension)")
    p.add_argument("--title", default=None)
    p.add_argument("--label", action="append", default=None, metavar="TEXT",
                   help="legend label of each run, in order (repeat once per run)")

    ls = sub.add_parser("list", help="list solvers and datasets, or one solver's options")
    ls.add_argument("--options", default=None, metavar="NAME",
                    help="print every option of solver NAME: its default, accepted values and meaning")
    return parser


# ----------------------------------------------------------------------------- options
#: The hyperparameter flags of ``amref train`` and the option each sets (dotted for nested options).
_FLAG_FIELDS = {"rho": "rho", "nu": "nu", "lr": "lr", "weight_decay": "weight_decay",
                "batch_size": "batch_size", "quantize": "quantize", "zl_solver": "zl.method"}


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _set_option(options: Any, key: str, value: Any, origin: str) -> Any:
    """:func:`amref.options.replace_option`, its key errors said as the flag ``origin`` not applying."""
    from amref.options import OptionKeyError, replace_option

    try:
        return replace_option(options, key, value)
    except OptionKeyError as exc:
        raise CLIError(f"{origin} does not apply: {exc}") from None


def build_options(solver: Any, args: argparse.Namespace, base: Any = None) -> Any:
    """The solver's options from the preset (or ``base``, a protocol's), the named flags and ``--option``
    pairs (validated)."""
    cls = solver.options_class
    base = getattr(args, "protocol_options", None) if base is None else base
    preset = args.preset or "paper"
    try:
        if base is not None:
            options = base
        elif preset == "paper":
            options = cls()
        elif preset == "code":
            if not hasattr(cls, "released_code"):
                raise CLIError(f"solver {solver.name!r} has no 'code' preset")
            kwargs = {"rho": args.rho} if args.rho is not None and "rho" in _field_names(cls) else {}
            options = cls.released_code(**kwargs)
        else:
            from amref import optim, registry

            if solver.name not in registry.baseline_names():
                raise CLIError(f"--preset {preset!r}: solver {solver.name!r} has the presets 'paper' and 'code'")
            if preset not in optim.preset_names():
                raise CLIError(f"unknown preset {preset!r}; choose from paper, {', '.join(optim.preset_names())}")
            options = optim.preset(preset, solver.name)
        for flag, field in _FLAG_FIELDS.items():
            value = getattr(args, flag)
            if value is not None:
                options = _set_option(options, field, value, f"--{flag.replace('_', '-')}")
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
    """``amref train``: check every argument and output, build the run, train, write what was asked for."""
    import amref
    from amref import parallel

    if getattr(args, "protocol", None):
        _apply_protocol(args)
    quick = _quickstart(args)
    iters = 50 if args.iters is None else args.iters
    _check_counts(args, iters)
    saves_on_interrupt = _check_paths(args)
    hidden = _hidden(args.hidden)
    solver = amref.get_solver(args.solver)
    try:
        parallel.check_runner(args.runner, solver, workers=args.workers, scheduler=args.scheduler)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    options = None if args.resume else quick.build_options() if quick else build_options(solver, args)
    if args.resume and args.greedy:
        raise CLIError("--greedy does not support --checkpoint/--resume (each stage is a separate run)")
    if args.resume and args.init is not None:
        raise CLIError("--init and --resume both give the starting point; give one")
    data, problem, params = _build_run(args, solver, hidden)
    resumed_options = _resume_options(solver, problem, data, args) if args.resume else None
    threads = _choose_threads(args, problem, data)
    t0 = time.perf_counter()
    result, stop = _run(args, solver, problem, data, options, resumed_options, params, iters, threads,
                        saves_on_interrupt)
    wall = time.perf_counter() - t0
    h = result.history
    metric, label = ("r2", "R²") if "train_r2" in h else ("accuracy", "acc")
    print(f"amref: {result.status.value}: {result.message}; train {label} {h.last('train_' + metric):.4f}, "
          f"test {label} {h.last('test_' + metric):.4f}, {wall:.1f} s")
    _write_outputs(args, result, data, problem, wall,
                   settings="quickstart" if quick else (args.preset or "paper"), threads=threads)
    return _exit_status(args, result, stop)


def _check_counts(args: argparse.Namespace, iters: int) -> None:
    """The integer and numeric flags of ``amref train``, one line each."""
    if iters < 1:
        raise CLIError(f"--iters must be a positive integer, got {iters}")
    for flag in ("train_size", "test_size", "checkpoint_every", "print_every", "threads", "workers", "eval_every",
                 "seed"):
        v = getattr(args, flag)
        if v is not None and v < (0 if flag in ("checkpoint_every", "seed") else 1):
            raise CLIError(f"--{flag.replace('_', '-')} must be "
                           f"{'>= 0' if flag in ('seed', 'checkpoint_every') else 'positive'}, got {v}")
    if not (math.isfinite(args.connect_timeout) and args.connect_timeout > 0):
        raise CLIError(f"--connect-timeout must be a positive number of seconds, got {args.connect_timeout}")
    if args.tol is not None and not (math.isfinite(args.tol) and args.tol >= 0):
        raise CLIError(f"--tol must be a finite number >= 0, got {args.tol}")


def _build_run(args: argparse.Namespace, solver: Any, hidden: tuple[int, ...]) -> tuple[Any, Any, Any]:
    """``(data, problem, params)``: the data set on its backend, the network, the starting weights (or None)."""
    import amref
    from amref.backend import device as array_device
    from amref.backend import get_namespace
    from amref.problem import MLP, load_params

    xp = get_namespace(args.backend)
    load_kwargs: dict[str, Any] = dict(data_dir=args.data_dir, download=not args.no_download,
                                       train_size=args.train_size, test_size=args.test_size, dtype=args.dtype)
    if args.downsample is not None:
        load_kwargs["downsample"] = args.downsample
    load_kwargs.update(getattr(args, "data_options", {}))
    data = amref.load_dataset(args.dataset, **load_kwargs)
    if args.backend != "numpy":
        data = data.to(xp)
    loss = args.loss or ("squared" if data.task == "regression" else solver.paper_loss)
    problem = MLP((data.n_features, *hidden, data.n_classes), loss=loss, activation=args.activation, task=data.task)
    params = None
    if args.init is not None:
        if not os.path.exists(args.init):
            raise CLIError(f"--init: no such file {args.init!r}")
        params = load_params(args.init, problem, xp=xp, device=array_device(data.x_train), dtype=args.dtype)
    elif getattr(args, "protocol_init", None) is not None:
        params = args.protocol_init(problem, data, args.seed)
    return data, problem, params


def _run(args: argparse.Namespace, solver: Any, problem: Any, data: Any, options: Any, resumed_options: Any,
         params: Any, iters: int, threads: int, saves_on_interrupt: str | None) -> tuple[Any, Any]:
    """Train under the run's guards (signals, floating-point warnings, threads, kernels, runner);
    ``(result, the signal guard)``. An interrupted run saves its state where ``saves_on_interrupt`` says."""
    import amref
    from amref import kernels, parallel, runguard
    from amref.progress import ProgressTable

    banner = (f"amref: {solver.name} on {data.name} ({data.n_train} train samples), widths "
              f"{'-'.join(map(str, problem.widths))}, {args.dtype}, {args.backend}")
    progress = None if args.quiet else ProgressTable(iters, every=args.print_every, banner=banner,
                                                     regression=getattr(data, "task", "") == "regression")
    try:
        with runguard.stop_on_signals() as stop, _quiet_floating_point(), _thread_limit(threads), \
                kernels.use_jit(False if args.no_jit else None), \
                parallel.open_runner(args.runner, workers=args.workers, scheduler=args.scheduler,
                                     connect_timeout=args.connect_timeout) as runner:
            solver = runner.solver(solver)
            if args.greedy:
                result = _train_greedy(solver, problem, data, options, iters, params, args, progress)
            else:
                result = parallel.minimize_with_restores(
                    solver, problem, data, options, max_iter=iters, params=params, seed=args.seed,
                    init_scheme=args.init_scheme, callback=progress, checkpoint=args.checkpoint,
                    checkpoint_every=args.checkpoint_every, resume=args.resume, eval_every=args.eval_every,
                    tol=args.tol)
            if result.status is amref.Status.INTERRUPTED and saves_on_interrupt and result.state is not None:
                runguard.save_interrupted(saves_on_interrupt, solver, problem, data, options or resumed_options,
                                          result)
                result.checkpoint = {"path": saves_on_interrupt, "nit": result.nit}
    finally:
        if progress is not None:
            progress.close()
    return result, stop


def _write_outputs(args: argparse.Namespace, result: Any, data: Any, problem: Any, wall: float, **record: Any) -> None:
    """``--save-weights`` and the run record ``--out`` (with provenance and ``record``'s keys)."""
    import amref
    from amref.checkpoint import atomic_write_text
    from amref.problem import save_params

    if args.save_weights:
        save_params(args.save_weights, result.params, activation=problem.activation)
    if args.out:
        extra = {"dataset": data.name, "widths": list(problem.widths), "seed": args.seed, "dtype": args.dtype,
                 "backend": args.backend, "n_train": data.n_train, "wall_seconds": wall,
                 "argv": sys.argv[1:], "amref_version": amref.__version__, "runner": args.runner,
                 "provenance": amref.provenance.collect(seeds=[args.seed], backend=args.backend),
                 "activation": problem.activation, "loss": problem.loss,
                 **record, **getattr(args, "record_extra", {})}
        atomic_write_text(args.out, result.to_json(**extra))


def _exit_status(args: argparse.Namespace, result: Any, stop: Any) -> int:
    """0, or the status that says how the run ended (diverged 3, interrupted 130/143/129, state lost 1)."""
    import amref

    if result.status is amref.Status.DIVERGED:
        return EXIT_DIVERGED
    if result.status is amref.Status.INTERRUPTED:
        where = [f"checkpoint {result.checkpoint['path']} (iteration {result.checkpoint['nit']})"
                 if result.checkpoint else "no checkpoint"]
        where.append(f"run record {args.out}" if args.out else "no run record (no --out)")
        print(f"amref: interrupted{' by ' + stop.name if stop.name else ''} after iteration {result.nit}; "
              f"{', '.join(where)}", file=sys.stderr)
        return stop.exit_status if stop.signum is not None else EXIT_INTERRUPTED
    if result.status is amref.Status.STATE_LOST:
        return EXIT_FAILURE
    return 0


def _check_paths(args: argparse.Namespace) -> str | None:
    """Check every output before anything runs; the checkpoint an interrupted run writes (None: none)."""
    from amref import runguard

    on_interrupt = args.checkpoint
    if on_interrupt is None and args.out and not args.greedy:
        on_interrupt = runguard.interrupted_checkpoint_path(args.out)
    outputs = {"--out": args.out, "--save-weights": args.save_weights, "--checkpoint": args.checkpoint}
    if on_interrupt is not None and args.checkpoint is None:
        outputs["the interrupt checkpoint (beside --out)"] = on_interrupt
    try:
        runguard.check_outputs(outputs, {"--resume": args.resume, "--init": args.init},
                               may_overwrite={"--checkpoint": "--resume",
                                              "the interrupt checkpoint (beside --out)": "--resume"})
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    return None if args.checkpoint else on_interrupt


def _resume_options(solver: Any, problem: Any, data: Any, args: argparse.Namespace) -> Any:
    """The checkpoint's options, after checking it resumes this run; flags that would change them are refused."""
    from amref import checkpoint as ckpt
    from amref import runguard

    try:
        saved, nit = runguard.resume_point(args.resume, solver=solver.name, widths=problem.widths, data=data,
                                           network=ckpt.network_identity(problem))
    except FileNotFoundError as exc:
        raise CLIError(str(exc)) from None
    except ValueError as exc:
        raise CLIError(f"--resume {exc}") from None
    iters = 50 if args.iters is None else args.iters
    if iters < nit:
        raise CLIError(f"--iters {iters} is below the {nit} iterations the checkpoint has done "
                       "(--iters counts the total)")
    given = [f"--{f.replace('_', '-')}" for f in _FLAG_FIELDS if getattr(args, f) is not None]
    given += [f"--option {pair}" for pair in args.option] + ([f"--preset {args.preset}"] if args.preset else [])
    if not given:
        return saved
    wanted = build_options(solver, args, base=None if args.preset else saved)
    changes = runguard.option_differences(saved, wanted)
    if changes:
        raise CLIError(f"--resume continues with the checkpoint's options, but {' '.join(given)} would change "
                       f"{'; '.join(changes)} (drop the flags, or start a new run)")
    return saved


def _quickstart(args: argparse.Namespace):
    """The quickstart run for ``--solver``/``--dataset`` when no preset and no hyperparameter flag is given.

    Fills ``--iters``, ``--hidden`` and ``--loss`` from it where the user gave none, prints the banner
    saying so (and why the objective may rise), and returns the
    :class:`~amref.defaults.QuickstartRun`; None otherwise (the paper's defaults).
    """
    from amref.defaults import not_monotone_reason, quickstart_run

    flags = [getattr(args, flag) for flag in _FLAG_FIELDS]
    if args.preset is not None or args.resume or args.option or any(v is not None for v in flags):
        return None
    run = quickstart_run(args.solver, args.dataset)
    if run is None:
        return None
    if args.iters is None:
        args.iters = run.iterations
    if args.hidden is None:
        args.hidden = ",".join(map(str, run.hidden))
    if args.loss is None and run.loss is not None:
        args.loss = run.loss
    shown = dataclasses.replace(run, iterations=args.iters)
    print(f"amref: quickstart settings for {run.dataset} ({shown.describe()}); --preset paper gives the paper's")
    reason = not_monotone_reason(run)
    if reason:
        print(f"amref: the objective may rise: {reason}")
    return run


def _choose_threads(args: argparse.Namespace, problem: Any, data: Any) -> int:
    """``--threads`` capped at the cores (with a note), or the count :func:`amref.threads.choose_threads` picks."""
    from amref.threads import choose_threads

    choice = choose_threads(problem.widths, data.n_train, args.threads)
    if choice.capped:
        print(f"amref: {choice.reason}", file=sys.stderr)
    return choice.threads


def _train_greedy(solver, problem, data, options, iters, params, args, progress):
    """``--greedy``: :func:`amref.solvers.greedy.train_greedy` with the paper's stages where known."""
    from amref.solvers import greedy

    if args.checkpoint or args.resume:
        raise CLIError("--greedy does not support --checkpoint/--resume (each stage is a separate run)")
    if getattr(args, "protocol_stages", None) is not None:  # a protocol's stages, the flags on each one's options
        stages = [dataclasses.replace(s, options=build_options(solver, args, base=s.options))
                  for s in args.protocol_stages]
    else:
        try:
            stages = greedy.paper_stages(solver.name, problem.n_layers, iters)
        except ValueError:
            stages = greedy.default_stages(problem.n_layers, iters)
    if progress is not None:
        progress.set_total(sum(s.iterations for s in stages))
    return greedy.train_greedy(solver, problem, data, options, stages=stages, params=params, seed=args.seed,
                               init_scheme=args.init_scheme, callback=progress, eval_every=args.eval_every)


@contextlib.contextmanager
def _quiet_floating_point():
    """No NumPy overflow/invalid warnings during a run: the driver detects non-finite values itself and
    ends the run with status ``diverged`` and one line saying so."""
    import numpy as np

    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        yield


@contextlib.contextmanager
def _thread_limit(threads: int | None):
    """Set BLAS (threadpoolctl) and Numba threads for the duration of a run; no-op when None."""
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
    from amref.plotting import load_run, plot_runs, run_labels

    runs = [load_run(path) for path in args.runs]
    if args.label and len(args.label) != len(runs):
        raise CLIError(f"--label given {len(args.label)} times for {len(runs)} runs (one per run)")
    labels = args.label or run_labels(runs, args.runs)
    written = plot_runs(runs, args.output, title=args.title, labels=labels)
    print(f"amref: wrote {written}")
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


# ----------------------------------------------------------------------------- protocols
def _add_reproduce_parsers(sub: Any) -> None:
    r = sub.add_parser("reproduce", help="run a paper experiment (a protocol); paper beside ours",
                       description="Run a protocol: every run over its seeds; writes DIR/results.json, "
                                   "DIR/report.md, plots and run records.")
    r.add_argument("name", nargs="?", help="protocol name (see --list) or a protocol .toml file")
    r.add_argument("--list", action="store_true", help="print the protocols, one a line")
    r.add_argument("--quick", action="store_true", help="the reduced size (minutes on 2 cores)")
    r.add_argument("--seeds", type=int, default=None, metavar="K", help="run every setting with K seeds")
    r.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    r.add_argument("--out", default=None, metavar="DIR", help="output folder (default ./amref-reproduce/NAME[-quick])")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="change every run: iterations, hidden, data.KEY, options.KEY, … (repeatable)")
    r.add_argument("--data-dir", default=None, help="directory with dataset files (else $AMREF_DATA_DIR)")
    r.add_argument("--no-download", action="store_true", help="never download missing dataset files")
    r.add_argument("--quiet", action="store_true", help="no line per run")
    rp = sub.add_parser("report", help="markdown table of many results.json (paper beside ours)")
    rp.add_argument("dirs", nargs="+", metavar="DIR", help="folders written by 'amref reproduce' (or results.json)")
    rp.add_argument("-o", "--output", default=None, help="write here instead of stdout")


def cmd_reproduce(args: argparse.Namespace) -> int:
    """``amref reproduce``: list the protocols, or run one."""
    from amref import protocols

    if args.list:
        for name in protocols.names():
            print(protocols.describe(name))
        return 0
    if not args.name:
        raise CLIError("reproduce needs a protocol name (see 'amref reproduce --list')")
    protocols.reproduce(args.name, quick=args.quick, seeds=args.seeds, backend=args.backend, out=args.out,
                        overrides=args.overrides, data_dir=args.data_dir, download=not args.no_download,
                        verbose=not args.quiet, argv=["amref"] + list(getattr(args, "argv", [])))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """``amref report DIR…``: the combined markdown of ``results.json`` files."""
    from amref.protocols.report import results_markdown

    text = results_markdown(args.dirs)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text)
    return 0


def _explicit_dests(argv: Sequence[str]) -> set[str]:
    """The ``amref train`` options given on the command line (parsed again with every default suppressed)."""
    parser = build_parser()
    train = next(a for a in parser._subparsers._group_actions if isinstance(a, argparse._SubParsersAction))
    for action in train.choices["train"]._actions:
        action.default = argparse.SUPPRESS
    return set(vars(parser.parse_args(list(argv))))


def _apply_protocol(args: argparse.Namespace) -> None:
    """``--protocol``: fill every train option not given on the command line from the protocol's run."""
    from amref import protocols
    from amref.protocols import build

    protocol = protocols.load(args.protocol)
    given = _explicit_dests(getattr(args, "argv", None) or sys.argv[1:])
    run = protocols.select(protocol, dataset=args.dataset if "dataset" in given else None, variant=args.variant)
    fill = {"solver": run.solver, "dataset": run.dataset, "iters": run.iterations, "loss": run.loss,
            "hidden": ",".join(map(str, run.hidden)), "seed": run.seeds[0], "activation": run.activation}
    data = dict(run.data)
    for key in ("dtype", "train_size", "test_size", "downsample"):
        if key in data:
            fill[key] = data.pop(key)
    if run.init == "reseed":
        fill["init_scheme"] = "reseed"
    for key, value in fill.items():
        if key not in given:
            setattr(args, key, value)
    args.data_options = data
    if run.solver != getattr(args, "solver"):
        return  # another solver than the protocol's: only the data and network carry over
    args.record_extra = {"protocol": protocol.name, "variant": run.variant, "setting": run.setting}
    if "preset" not in given:  # the protocol's options; naming its preset keeps other defaults (quickstart) off
        args.preset = run.preset
        args.protocol_options = build.build_options(run.solver, run.preset, run.options, run.name)
    if run.stages and "greedy" not in given:
        args.greedy = True
        args.protocol_stages = build.stages_for(run)
    if run.init == "bcd-code" and "init" not in given:
        args.protocol_init = lambda problem, data, seed: build.initial_params(run, problem, data, seed)


# ----------------------------------------------------------------------------- entry point
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error already reported on one line (2)
        return int(exc.code or 0)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    handlers = {"train": cmd_train, "reproduce": cmd_reproduce, "report": cmd_report, "plot": cmd_plot,
                "list": cmd_list}
    try:
        status = handlers[args.command](args)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except CLIError as exc:
        print(f"amref: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("amref: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`amref list --options dladmm | head`): stop quietly
        try:
            sys.stdout = open(os.devnull, "w")  # so that flushing at exit does not raise again
        except OSError:
            pass
        return 0
    except (ValueError, TypeError, OSError, ImportError, RuntimeError, MemoryError) as exc:  # ProtocolError too
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"amref: error: {message}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
