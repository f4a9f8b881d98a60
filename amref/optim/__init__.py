"""Gradient-based baselines: hand-written backprop and optax-style ``(init, update)`` optimizers.

=================  =======================================================  =====================
name               method                                                   module
=================  =======================================================  =====================
``sgd``            gradient descent (full batch) / SGD (mini-batches)       :mod:`.sgd`
``momentum``       heavy-ball momentum                                      :mod:`.sgd`
``nesterov``       Nesterov momentum                                        :mod:`.sgd`
``adagrad``        Adagrad                                                  :mod:`.adagrad`
``adadelta``       Adadelta                                                 :mod:`.adadelta`
``rmsprop``        RMSprop                                                  :mod:`.rmsprop`
``adam``           Adam                                                     :mod:`.adam`
``adamw``          AdamW (decoupled decay)                                  :mod:`.adam`
``adagrad-norm``   AdaGrad-Norm (scalar or per-row)                         :mod:`.adagrad_norm`
``adadagrad``      AdAdaGrad / AdAdaGrad-Norm (adaptive batch sizes)        :mod:`.adadagrad`
``sgd-sai``        SGD-SaI (frozen g-SNR step sizes)                        :mod:`.sgd_sai`
``adan``           Adan (Nesterov momentum estimation)                      :mod:`.adan`
``adabelief``      AdaBelief                                                :mod:`.adabelief`
``diffgrad``       diffGrad                                                 :mod:`.diffgrad`
``adahessian``     AdaHessian (Hutchinson diagonal, exact HVP)              :mod:`.adahessian`
``exadam``         EXAdam                                                   :mod:`.exadam`
``lars``           LARS                                                     :mod:`.lars`
``lamb``           LAMB                                                     :mod:`.lamb`
``lion``           Lion                                                     :mod:`.lion`
``soaa``           SOAA (uncertain rule, see its module)                    :mod:`.soaa`
``adafisher``      AdaFisher / AdaFisherW                                   :mod:`.adafisher`
=================  =======================================================  =====================

Each module holds one optimizer's whole rule (its algorithm in the docstring, one ``scale_by_*``
transformation) and its options; :mod:`.transforms` holds the shared add-ons (schedules, weight-decay
styles with a bias mask, clipping); :mod:`.train` is the training loop that makes every optimizer a
:class:`~amref.contract.SolverSpec`; :mod:`.presets` has the papers' baseline learning rates.

Two ways in::

    amref.minimize(amref.get_solver("adam"), problem, data, AdamOptions(lr=1e-3), max_iter=200)

    opt = amref.optim.optimizer("adam", lr=1e-3)       # the bare (init, update) pair
    state = opt.init(params)
    deltas, state = opt.update(grads, state, params)
    params = amref.optim.apply_updates(params, deltas)
    # or both at once, fused where a kernel exists (the training loop's form):
    params, state = amref.optim.apply_step(opt, grads, state, params)
"""

from __future__ import annotations

from typing import Any, Sequence

from . import (adabelief, adadagrad, adadelta, adafisher, adagrad, adagrad_norm, adahessian, adam, adan, base,
               diffgrad, exadam, lamb, lars, lion, options, rmsprop, sgd, sgd_sai, soaa, train, transforms)
from .base import GradientTransformation, apply_step, apply_updates, chain
from .train import Baseline

#: Every gradient baseline's record, in the order of the table above: each module declares its own in a
#: ``BASELINES`` tuple, and :mod:`amref.registry` makes one :class:`~amref.contract.SolverSpec` of each.
BASELINES: tuple[Baseline, ...] = (
    *sgd.BASELINES, *adagrad.BASELINES, *adadelta.BASELINES, *rmsprop.BASELINES, *adam.BASELINES,
    *adagrad_norm.BASELINES, *adadagrad.BASELINES, *sgd_sai.BASELINES, *adan.BASELINES, *adabelief.BASELINES,
    *diffgrad.BASELINES, *adahessian.BASELINES, *exadam.BASELINES, *lars.BASELINES, *lamb.BASELINES,
    *lion.BASELINES, *soaa.BASELINES, *adafisher.BASELINES,
    # a new baseline: import its module above and add *module.BASELINES here
)


def get_baseline_info(name: str) -> Baseline:
    """The :class:`~amref.optim.train.Baseline` record (options class, builder, extras) called ``name``.

    Raises
    ------
    ValueError
        For a name that is not a gradient baseline.
    """
    for baseline in BASELINES:
        if baseline.name == name:
            return baseline
    raise ValueError(f"unknown baseline {name!r}; choose from {', '.join(b.name for b in BASELINES)}")


def options_class(name: str) -> type:
    """The options dataclass of the baseline ``name``."""
    return get_baseline_info(name).options_class


def optimizer(name: str, options: Any = None, *, is_bias: Sequence[bool] | None = None,
              **fields: Any) -> GradientTransformation:
    """The bare ``(init, update)`` optimizer ``name``.

    Parameters
    ----------
    name
        A baseline name.
    options
        Its options instance (default: built from ``fields`` over the defaults).
    is_bias
        Per parameter block, whether it is a bias (excluded from weight decay unless
        ``decay_biases``); ``None``: no block is.
    **fields
        Option values, e.g. ``lr=0.1``, when ``options`` is not given.
    """
    info = get_baseline_info(name)
    if options is None:
        options = info.options_class(**fields)
    elif fields:
        raise TypeError("give either options or option fields, not both")
    return info.build(options, None if is_bias is None else list(is_bias))


from . import presets  # noqa: E402  (uses options_class above)
from .presets import get_preset, preset, preset_names  # noqa: E402

__all__ = [
    "BASELINES",
    "Baseline",
    "GradientTransformation",
    "apply_step",
    "apply_updates",
    "chain",
    "get_baseline_info",
    "get_preset",
    "optimizer",
    "options_class",
    "preset",
    "preset_names",
    # modules
    "adabelief", "adadagrad", "adadelta", "adafisher", "adagrad", "adagrad_norm", "adahessian", "adam", "adan",
    "base", "diffgrad", "exadam", "lamb", "lars", "lion", "options", "presets", "rmsprop", "sgd", "sgd_sai", "soaa",
    "train", "transforms",
]
