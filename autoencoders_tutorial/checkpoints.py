"""Checkpoints of a pretrain-then-fine-tune run: where it stands, written and read back.

``SdA.py``'s loops keep a :class:`Progress` that :func:`save_checkpoint` writes after every epoch (with every
parameter and the noise generators' states) and :func:`load_checkpoint` restores, so a resumed run ends with
exactly an uninterrupted one's parameters. :class:`Checkpoints` is all that ``run_SdA`` calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .engine import resolved_backend
from .errors import DataError, TutorialError
from .files import load_params, params_to_arrays, previous_path, save_params, set_params_from_arrays
from .modelfiles import check_arrays
from .noise import device_noise_state, set_device_noise_state
from .rng import generator_from_state
from .training import EarlyStoppingState


@dataclass
class Progress:
    """Where a pretrain-then-fine-tune run stands; what a checkpoint saves and a resume continues."""

    phase: str = "pretrain"  # "pretrain", "finetune" or "done"
    layer: int = 0  # pretraining: the layer in progress
    epoch: int = 0  # epochs completed in that layer, or of fine-tuning
    early_stopping: EarlyStoppingState | None = None
    best: dict | None = None  # fine-tuning's best parameters so far
    last: dict | None = None  # a finished run's parameters after its last epoch (to go on with more epochs)

    def describe(self) -> str:
        done = self.phase == "done"
        return "the run is finished" if done else f"phase {self.phase}, layer {self.layer}, epoch {self.epoch}"


def save_checkpoint(path, params, rng, config: Mapping, progress: Progress, keep_previous=False, options=None) -> None:
    """Write ``params``, the noise generator ``rng``'s state (and its device generator's, with device noise)
    and ``progress`` atomically; ``options`` (the run's, JSON-able) beside them, for a resume that names none.
    ``keep_previous`` moves an existing checkpoint to ``checkpoint.previous.npz`` once the new one is complete
    (a fresh run's first checkpoint)."""
    arrays = params_to_arrays(params)
    arrays.update({"best." + k: v for k, v in (progress.best or {}).items()})
    arrays.update({"last." + k: v for k, v in (progress.last or {}).items()})
    es = progress.early_stopping
    save_params(path, arrays, keep_previous=keep_previous, config=dict(config), phase=progress.phase,
                layer=progress.layer, epoch=progress.epoch, rng_state=rng.get_value(borrow=True).bit_generator.state,
                device_noise_state=device_noise_state(rng), early_stopping=es.to_meta() if es is not None else None,
                **({"options": dict(options)} if options is not None else {}))


_FRESH = "start over with --fresh (resume=False)"
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
    shapes = {p.name: p.get_value(borrow=True).shape for p in params}  # and the early stopping's copies they have
    shapes.update({n: shapes[n[5:]] for n in arrays if n.startswith(("best.", "last.")) and n[5:] in shapes})
    check_arrays(path, arrays, shapes, fix=_FRESH)
    set_params_from_arrays(params, arrays, source=str(path))
    try:
        kind = type(rng.get_value(borrow=True).bit_generator).__name__
        if not isinstance(meta["rng_state"], dict) or meta["rng_state"].get("bit_generator") != kind:
            raise ValueError(f"rng_state is not the state of a {kind} generator, which this run draws its noise from")
        rng_state = generator_from_state(meta["rng_state"])
        es = meta.get("early_stopping")
        best, last = ({k[5:]: v for k, v in arrays.items() if k.startswith(s)} or None for s in ("best.", "last."))
        progress = Progress(meta["phase"], meta.get("layer", 0), meta.get("epoch", 0),
                            EarlyStoppingState.from_meta(es) if es else None, best, last)
        _check_progress(progress, config)
        if meta.get("device_noise_state") is not None:
            set_device_noise_state(rng, meta["device_noise_state"])
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
        raise DataError(f"checkpoint {path} is damaged ({type(exc).__name__}: {' '.join(str(exc).split())[:160]}); "
                        f"{_FRESH}") from None
    rng.set_value(rng_state, borrow=True)
    return progress


def _whole(value, name, lo=0, hi=None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        raise ValueError(f"{name} is {value!r}, not an integer in [{lo}, {'inf' if hi is None else hi}]")


def _check_progress(progress: Progress, config: Mapping) -> None:
    """A checkpoint's progress must be one a run could have reached with ``config``."""
    if progress.phase not in ("pretrain", "finetune", "done"):
        raise ValueError(f"phase is {progress.phase!r}")
    _whole(progress.layer, "layer", 0, len(config.get("hidden_layers_sizes") or [None]) - 1)
    _whole(progress.epoch, "epoch", 0, config.get("pretraining_epochs") if progress.phase == "pretrain" else None)
    es = progress.early_stopping
    if progress.phase == "done" and es is None:
        raise ValueError("a finished run without its early-stopping state")
    if es is not None:
        _whole(es.validation_frequency, "validation_frequency", 1)
        _whole(es.epoch, "early_stopping.epoch", 0)
        _whole(es.best_iter, "best_iter", -1)
        for name in ("patience", "best_validation_loss", "test_score"):
            v = getattr(es, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or (name == "patience" and not v >= 0):
                raise ValueError(f"{name} is {v!r}")
        if not isinstance(es.done, bool):
            raise ValueError(f"done is {es.done!r}")


def resume_or_start(path, params, rng, config: Mapping, resume: bool, start: Progress, log=print) -> Progress:
    """Where a run begins: with ``resume``, the checkpoint at ``path`` (restored into ``params`` and ``rng``),
    else ``start``; an earlier checkpoint is kept as ``.previous`` by the fresh run's first save."""
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


class Checkpoints:
    """What ``run_SdA`` calls that is not the tutorial, in ``run``'s folder: where the run starts
    (:meth:`start`), the checkpoint after every epoch (:meth:`epoch_done`), a finished run (:meth:`complete`).

    A checkpoint holds ``sda``'s parameters and noise generator, and ``options``, the run's as given (what
    ``--resume`` takes back); :attr:`config`, what a resume must match, is made of them, the dataset and the
    architecture.
    """

    def __init__(self, run, sda, options: Mapping):
        ds, o = run.ds, options
        self.run, self.params, self.rng = run, sda.all_params, sda.theano_rng
        self.path = run.out / "checkpoint.npz"
        self.hint = f"run again with resume=True (--resume) to continue from {self.path}"
        self.config = dict(dataset=ds.name, data_sha256=ds.fingerprint()[:16], n_ins=ds.n_features,
                           hidden_layers_sizes=list(sda.hidden_layers_sizes), n_outs=ds.n_classes,
                           corruption_levels=list(sda.corruption_levels), batch_size=o["batch_size"],
                           corruption_type=o["corruption_type"], sparsity_target=sda.sparsity_target,
                           sparsity_weight=sda.sparsity_weight, pretraining_epochs=o["pretraining_epochs"],
                           pretrain_lr=o["pretrain_lr"], finetune_lr=o["finetune_lr"], finetune=o["finetune"],
                           n_labels=o["n_labels"], seed=o["seed"], precision=o["precision"],
                           backend=resolved_backend(o["mode"]), train_path=run.train_path.name)
        o = dict(o)
        dataset = o.pop("dataset", None)
        if dataset is None or isinstance(dataset, (str, Path)):  # a dataset in memory is not one a resume can name
            o["dataset"] = str(dataset) if dataset is not None else ds.name
        self.options = {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                        for k, v in o.items()}

    def start(self, resume: bool, fresh: Progress, trainable, n_epochs: int) -> Progress:
        """The checkpoint's progress with ``resume`` (restored into the parameters), else ``fresh``; a finished run
        that its epoch cap ended goes on when ``n_epochs`` is larger (``trainable`` are the fine-tuned parameters)."""
        progress = resume_or_start(self.path, self.params, self.rng, self.config, resume, fresh, self.run.log)
        if self.path.exists():
            self.run.folder.resume_hint = self.hint
        es = progress.early_stopping  # a finished run that its cap ended goes on as an uninterrupted longer run
        if progress.phase == "done" and es is not None and not es.done and es.epoch < n_epochs and progress.last:
            progress.best = params_to_arrays(trainable)  # the best so far: the early stopping's snapshot
            set_params_from_arrays(trainable, progress.last, source="the checkpoint's last epoch")
            progress.phase, progress.last = "finetune", None
            self.run.log(f"the run in {self.run.out} stopped at its cap of {es.epoch} fine-tuning epochs; going on "
                         f"to {n_epochs}")
        return progress

    def epoch_done(self, progress: Progress) -> None:
        """Write the checkpoint of ``progress`` (atomically, named in the line a Ctrl-C prints)."""
        self.run.save(self.path.name, f"the checkpoint: {progress.describe()}", save_checkpoint, self.params, self.rng,
                      self.config, progress, options=self.options)
        self.run.folder.resume_hint = self.hint

    def complete(self, progress: Progress) -> dict:
        """Say that the run is finished and why; its results."""
        es = progress.early_stopping
        why = ("early stopping ended it: its patience ran out" if es.done else
               f"it ran its {es.epoch} fine-tuning epochs; a larger training_epochs (--epochs) goes on")
        self.run.log(f"the run in {self.run.out} is complete (best validation error {es.best_validation_loss * 100:f} "
                     f"%, test error {es.test_score * 100:f} %; {why}); nothing to do. Start over with resume=False "
                     "(--fresh)")
        return {"complete": True, "best_validation_error": es.best_validation_loss, "test_error": es.test_score}


#: What ``--resume`` may change: the fine-tuning cap (a finished run goes on) and where the data is.
RESUME_MAY_CHANGE = ("training_epochs", "data_dir")


def command_line_resume(options: dict, given, fresh: bool) -> dict:
    """The options ``python SdA.py`` runs with. It overwrites a checkpoint only with ``--fresh`` (a Python call
    starts fresh); ``--resume`` takes every option from the checkpoint, refusing a folder without one, or an
    option ``given`` on the command line that contradicts it (except :data:`RESUME_MAY_CHANGE`)."""
    ckpt = Path(options["output_dir"]) / "checkpoint.npz"
    if options["resume"] and fresh:
        raise TutorialError("--resume and --fresh contradict each other; pass one")
    if options["resume"] and not ckpt.exists():  # a typo in --output-dir must not start hours of a default run
        raise TutorialError(f"nothing to resume in {ckpt.parent}: it holds no checkpoint.npz; check --output-dir, "
                            "or leave --resume out to start a run there")
    if ckpt.exists() and not (options["resume"] or fresh):
        raise TutorialError(f"{ckpt} exists: pass --resume to continue that run, or --fresh to start over")
    if options["resume"]:
        saved = load_params(ckpt)[1].get("options")  # none in a checkpoint from before they were kept
        if saved is not None and not isinstance(saved, dict):
            raise DataError(f"checkpoint {ckpt} is damaged (its options are {type(saved).__name__}, not a table); "
                            f"{_FRESH}")
        saved = saved or {}
        for key in sorted(given & saved.keys()):
            value = options[key]
            mine = list(value) if isinstance(value, tuple) else str(value) if key == "dataset" and value else value
            if key not in RESUME_MAY_CHANGE and mine != saved[key]:
                raise TutorialError(f"checkpoint {ckpt} was made with {key}={saved[key]!r}, this run has {mine!r}; "
                                    "leave the option out to resume, or start over with --fresh")
        options = dict(options, **{k: v for k, v in saved.items()
                                   if k in options and not (k in given and k in RESUME_MAY_CHANGE)})
    return options
