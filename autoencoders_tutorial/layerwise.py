"""Layer-wise runs: greedy pretraining, then fine-tuning, checkpointed after every epoch.

:func:`pretrain_layers` and :func:`finetune` are the two phases of ``SdA.py``, built on
the loops of :mod:`.training`. They keep a :class:`Progress` that :func:`save_checkpoint`
writes (with every parameter and the noise generator's state) and :func:`load_checkpoint`
restores, so a resumed run ends with exactly the parameters of an uninterrupted one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from .blocks import device_noise_state, set_device_noise_state
from .errors import DataError
from .files import load_params, params_to_arrays, previous_path, save_params, set_params_from_arrays
from .rng import generator_from_state
from .training import EarlyStoppingResult, EarlyStoppingState, early_stopping, train_epochs


@dataclass
class Progress:
    """Where a pretrain-then-fine-tune run stands; what a checkpoint saves and a resume continues."""

    phase: str = "pretrain"  # "pretrain", "finetune" or "done"
    layer: int = 0  # pretraining: the layer in progress
    epoch: int = 0  # epochs completed in that layer, or of fine-tuning
    early_stopping: EarlyStoppingState | None = None
    best: dict | None = None  # fine-tuning's best parameters so far

    def describe(self) -> str:
        if self.phase == "done":
            return "the run is finished"
        return f"phase {self.phase}, layer {self.layer}, epoch {self.epoch}"


def save_checkpoint(path, params, rng, config: Mapping, progress: Progress, keep_previous=False) -> None:
    """Write ``params``, the noise generator ``rng``'s state (and its device generator's, on the
    block path with device noise) and ``progress``, atomically.

    ``keep_previous`` moves an existing checkpoint to ``checkpoint.previous.npz`` once
    the new one is complete (a fresh run's first checkpoint)."""
    arrays = params_to_arrays(params)
    arrays.update({"best." + k: v for k, v in (progress.best or {}).items()})
    es = progress.early_stopping
    save_params(path, arrays, keep_previous=keep_previous, config=dict(config), phase=progress.phase, layer=progress.layer,
                epoch=progress.epoch, rng_state=rng.get_value(borrow=True).bit_generator.state,
                device_noise_state=device_noise_state(rng), early_stopping=es.to_meta() if es is not None else None)


#: What a config key meant in checkpoints written before it existed.
_BEFORE = {"train_path": "step"}


def load_checkpoint(path, params, rng, config: Mapping) -> Progress:
    """Restore a checkpoint made with the same ``config`` into ``params`` and ``rng``."""
    arrays, meta = load_params(path)
    saved = meta.get("config")
    if "rng_state" not in meta or "phase" not in meta or not isinstance(saved, dict):
        raise DataError(f"{path} is not a checkpoint (no training progress in it); use another output_dir")
    for key, value in config.items():
        was = saved.get(key, _BEFORE.get(key))
        if was != value:
            raise DataError(f"checkpoint {path} was made with {key}={was!r}, this run has {value!r}; "
                            "use the same options or another output_dir")
    set_params_from_arrays(params, arrays, source=str(path))
    try:
        rng_state = generator_from_state(meta["rng_state"])
        es = meta.get("early_stopping")
        best = {k[5:]: v for k, v in arrays.items() if k.startswith("best.")} or None
        progress = Progress(meta["phase"], meta.get("layer", 0), meta.get("epoch", 0),
                            EarlyStoppingState.from_meta(es) if es else None, best)
        _check_progress(progress, config)
        if meta.get("device_noise_state") is not None:
            set_device_noise_state(rng, meta["device_noise_state"])
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
        raise DataError(f"checkpoint {path} is damaged ({type(exc).__name__}: {' '.join(str(exc).split())[:160]}); "
                        "start over with --fresh (resume=False)") from None
    rng.set_value(rng_state, borrow=True)
    return progress


def _whole(value, name, lo=0, hi=None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        raise ValueError(f"{name} is {value!r}, not an integer in [{lo}, {'inf' if hi is None else hi}]")


def _check_progress(progress: Progress, config: Mapping) -> None:
    """A checkpoint's progress must be one a run could have reached with ``config``."""
    if progress.phase not in ("pretrain", "finetune", "done"):
        raise ValueError(f"phase is {progress.phase!r}")
    n_layers = len(config.get("hidden_layers_sizes") or [None])
    _whole(progress.layer, "layer", 0, n_layers - 1)
    epochs = config.get("pretraining_epochs") if progress.phase == "pretrain" else None
    _whole(progress.epoch, "epoch", 0, epochs)
    es = progress.early_stopping
    if progress.phase == "done" and es is None:
        raise ValueError("a finished run without its early-stopping state")
    if es is not None:
        _whole(es.validation_frequency, "validation_frequency", 1)
        _whole(es.epoch, "early_stopping.epoch", 0)
        _whole(es.best_iter, "best_iter", -1)
        if isinstance(es.patience, bool) or not isinstance(es.patience, (int, float)) or not es.patience >= 0:
            raise ValueError(f"patience is {es.patience!r}")
        for name in ("best_validation_loss", "test_score"):
            v = getattr(es, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"{name} is {v!r}")
        if not isinstance(es.done, bool):
            raise ValueError(f"done is {es.done!r}")


def resume_or_start(path, params, rng, config: Mapping, resume: bool, start: Progress, log=print) -> Progress:
    """Where a run begins: the checkpoint at ``path`` with ``resume`` (restored into ``params``
    and ``rng``), else ``start``. A fresh run does not touch an earlier checkpoint here: its
    first :func:`save_checkpoint` (``keep_previous=True``) keeps it as ``.previous``."""
    if resume and path.exists():
        progress = load_checkpoint(path, params, rng, config)
        log(f"resuming from {path}: {progress.describe()}")
        return progress
    if resume:
        log(f"no checkpoint in {path.parent}; starting a fresh run")
    elif path.exists():
        log(f"starting a fresh run; the earlier checkpoint stays in {path} until this run writes its first, then it "
            f"is kept as {previous_path(path)}")
    return start


def pretrain_layers(fns, n_train_batches, n_epochs, learning_rate, progress: Progress, *, checkpoint, log=print,
                    metrics=None) -> dict | None:
    """Greedy layer-wise pretraining: ``n_epochs`` of ``fns[k](i, lr=learning_rate)`` per layer
    (``fns[k].bound(learning_rate)``, the step with its blocks, where it has that method).

    Starts at ``progress`` (layer and epoch), updates it and calls
    ``checkpoint(progress)`` after every epoch and once more when every layer is done
    (then ``progress.phase`` is "finetune"). Returns ``{layer: seconds}``, or None when
    Ctrl-C stopped it.
    """
    seconds = {}
    for k in range(progress.layer, len(fns)):
        start = progress.epoch if k == progress.layer else 0

        def on_epoch_end(epoch, _cost, k=k):
            progress.layer, progress.epoch = k, epoch + 1
            checkpoint(progress)

        t0 = time.perf_counter()
        fn = fns[k]
        step = fn.bound(learning_rate) if hasattr(fn, "bound") else (lambda i, fn=fn: fn(i, lr=learning_rate))
        res = train_epochs(step, n_train_batches, n_epochs,
                           start_epoch=start, label=f"Pre-training layer {k}: ", log=log, metrics=metrics,
                           on_epoch_end=on_epoch_end)
        if hasattr(step, "release"):  # the block path's resident copy of this layer's input
            step.release()
        if res.interrupted:
            return None
        seconds[k] = time.perf_counter() - t0
    progress.phase, progress.layer, progress.epoch = "finetune", 0, 0
    checkpoint(progress)
    return seconds


def finetune(train_fn, n_train_batches, validate, test, params, progress: Progress, *, checkpoint, n_epochs,
             patience, log=print, metrics=None) -> EarlyStoppingResult:
    """Supervised fine-tuning with :func:`early_stopping`, resumable from ``progress``.

    ``checkpoint(progress)`` runs after every epoch, and once more when the loop ends
    without Ctrl-C (then ``progress.phase`` is "done").
    """
    def on_epoch_end(state, best):
        progress.epoch, progress.early_stopping, progress.best = state.epoch, state, best
        checkpoint(progress)

    res = early_stopping(train_fn, n_train_batches, validate, test, params, n_epochs=n_epochs, patience=patience,
                         patience_increase=2.0, improvement_threshold=0.995, state=progress.early_stopping,
                         best_params=progress.best, on_epoch_end=on_epoch_end, log=log, metrics=metrics)
    if not res.interrupted:
        progress.phase, progress.early_stopping, progress.best = "done", res.state, None
        checkpoint(progress)
    return res
