"""The stacked denoising autoencoder's training: its two phases, their options, checkpoints and the run.

``SdA.py`` holds the model (the tutorial's graphs); everything that trains it lives here,
called by ``SdA.py`` (:func:`run_stacked`, behind ``run_SdA``) and by the scikit-learn
``SdAClassifier`` alike:

- :func:`check_options` and :func:`tutorial_corruption_levels`: the options' one check;
- :func:`pretrain` (greedy layer-wise, :func:`pretrain_layers`) and :func:`fine_tune`
  (early stopping, :func:`finetune`): the two phases, on shared datasets, resumable from a
  :class:`~autoencoders_tutorial.checkpoints.Progress`;
- :func:`run_stacked`: the script's run on a :class:`~autoencoders_tutorial.runs.Run`:
  resume or start, pretrain, the filter image and the features table, fine-tune, save;
  a checkpoint after every epoch.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .checkpoints import Progress, resume_or_start, save_checkpoint
from .datasets import shared_dataset
from .engine import describe_build, resolved_backend
from .errors import TutorialError, check_positive, check_precision, check_sparsity, diverged_hint
from .features import features_comparison
from .files import params_to_arrays, set_params_from_arrays
from .graph import n_batches, note_score_batch
from .images import save_filters_image
from .rng import tutorial_rng
from .runs import Run
from .training import EarlyStoppingResult, early_stopping, train_epochs

FINETUNE_MODES = ("all", "top")
TUTORIAL_CORRUPTION = (0.1, 0.2, 0.3)


def tutorial_corruption_levels(n_layers):
    """The tutorial's levels (0.1, 0.2, 0.3) for ``n_layers`` layers: cut, or extended with the last."""
    return tuple((TUTORIAL_CORRUPTION + (TUTORIAL_CORRUPTION[-1],) * n_layers)[:n_layers])


def check_options(*, finetune_lr, pretraining_epochs, pretrain_lr, batch_size, finetune, n_labels=None, **positive):
    """The SdA's training options, one line naming a bad one; ``positive`` are more that must be > 0
    (``training_epochs``, ``max_epochs``, ``patience``)."""
    check_positive(finetune_lr=finetune_lr, **positive, batch_size=batch_size)
    if pretraining_epochs < 0:
        raise TutorialError(f"pretraining_epochs must be >= 0, got {pretraining_epochs}")
    if pretraining_epochs > 0:
        check_positive(pretrain_lr=pretrain_lr)
    if finetune not in FINETUNE_MODES:
        raise TutorialError(f"finetune must be one of {FINETUNE_MODES}, got {finetune!r}")
    if n_labels is not None and n_labels < batch_size:
        raise TutorialError(f"n_labels must be at least the batch size {batch_size}, got {n_labels}")


# -- the two phases ------------------------------------------------------------------------------


def pretrain_layers(fns, n_train_batches, n_epochs, learning_rate, progress: Progress, *, checkpoint, log=print,
                    metrics=None, diverged_hint="lower the learning rate") -> dict | None:
    """Greedy layer-wise pretraining: ``n_epochs`` of ``fns[k](i, lr=learning_rate)`` per layer
    (``fns[k]`` are :class:`~autoencoders_tutorial.steps.Steps` with an extra input ``lr``).

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
        step = fns[k].bind(lr=learning_rate).ready()  # the codes of the layer below first, before the loop
        try:
            res = train_epochs(step, n_train_batches, n_epochs,
                               start_epoch=start, label=f"Pre-training layer {k}: ", log=log, metrics=metrics,
                               on_epoch_end=on_epoch_end, diverged_hint=diverged_hint)
        finally:
            step.release()  # the block path's resident copy of this layer's input
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
    without Ctrl-C (then ``progress.phase`` is "done", the parameters are the best ones, and
    ``progress.last`` holds those of the last epoch when the epoch cap ended the run: what
    :func:`continue_finished` goes on from).
    """
    last = {}

    def on_epoch_end(state, best):
        progress.epoch, progress.early_stopping, progress.best = state.epoch, state, best
        last["params"] = params_to_arrays(params)
        checkpoint(progress)

    res = early_stopping(train_fn, n_train_batches, validate, test, params, n_epochs=n_epochs, patience=patience,
                         patience_increase=2.0, improvement_threshold=0.995, state=progress.early_stopping,
                         best_params=progress.best, on_epoch_end=on_epoch_end, log=log, metrics=metrics)
    if not res.interrupted:
        progress.phase, progress.early_stopping, progress.best = "done", res.state, None
        progress.last = None if res.state.done else last.get("params", progress.last)
        checkpoint(progress)
    return res


def continue_finished(progress: Progress, params, n_epochs: int) -> bool:
    """Turn a finished run that its epoch cap ended into one that goes on to ``n_epochs`` (True), or say
    it cannot (False: patience ran out, or the cap is not larger, or the checkpoint is older than
    ``progress.last``). ``params`` are the fine-tuned ones: they get the last epoch's values back,
    the best so far become the early stopping's snapshot, as an uninterrupted longer run has them."""
    es = progress.early_stopping
    if progress.phase != "done" or es is None or es.done or es.epoch >= n_epochs or not progress.last:
        return False
    progress.best = params_to_arrays(params)
    set_params_from_arrays(params, progress.last, source="the checkpoint's last epoch")
    progress.phase, progress.last = "finetune", None
    return True


def pretrain(sda, train_set_x, batch_size, epochs, learning_rate, progress, *, checkpoint=lambda p: None,
             precompute_codes=True, mode=None, path=None, log=print, metrics=None):
    """Greedy layer-wise pretraining of ``sda`` on ``train_set_x`` from ``progress`` (:func:`pretrain_layers`).

    Compiles ``sda.pretraining_functions``, trains ``epochs`` per layer at ``learning_rate``,
    and frees the precomputed codes. Returns ``{layer: seconds}``, or None when Ctrl-C
    stopped it.
    """
    t0 = time.perf_counter()
    fns = sda.pretraining_functions(train_set_x, batch_size, precompute_codes=precompute_codes, mode=mode,
                                     path=path)
    log(f"... pre-training the model (functions {describe_build(time.perf_counter() - t0, mode)})")
    try:
        return pretrain_layers(fns, n_batches(train_set_x, batch_size), epochs, learning_rate, progress,
                               checkpoint=checkpoint, log=log, metrics=metrics,
                               diverged_hint=diverged_hint(sda.sparsity_weight))
    finally:
        for codes in sda._precomputed:  # free the precomputed codes
            codes.release()


def fine_tune(sda, datasets, batch_size, learning_rate, progress, *, layers="all", n_epochs=1000,
              patience_epochs=10, checkpoint=lambda p: None, mode=None, path=None, log=print, metrics=None):
    """Supervised fine-tuning of ``sda`` with the tutorial's early stopping, from ``progress`` (:func:`finetune`).

    ``datasets`` is ``[(train x, y), (valid x, y)]``, optionally with ``(test x, y)``
    last (then the test error of each new best model is computed); ``layers`` "all"
    trains the whole network, "top" the logistic layer only (``--finetune``). Patience is
    ``patience_epochs`` epochs. Returns the :class:`EarlyStoppingResult`.
    """
    trainable = sda.params if layers == "all" else sda.logLayer.params
    n_ft = n_batches(datasets[0][0], batch_size)
    t0 = time.perf_counter()
    train_fn, valid_score, *test_score = sda.build_finetune_functions(datasets, batch_size, learning_rate,
                                                                      params=trainable, mode=mode, path=path)
    log(f"... fine-tuning {'the whole network' if layers == 'all' else 'the top layer only'} on "
        f"{n_ft * batch_size} labelled rows (functions {describe_build(time.perf_counter() - t0, mode)})")
    note_score_batch(batch_size, datasets, log)
    test = (lambda: float(np.mean(test_score[0]()))) if test_score else (lambda: float("nan"))
    return finetune(train_fn, n_ft, lambda: float(np.mean(valid_score())), test, trainable, progress,
                    checkpoint=checkpoint, n_epochs=n_epochs, patience=patience_epochs * n_ft, log=log,
                    metrics=metrics)


# -- the script's run ---------------------------------------------------------------------------


def _pretrain_phase(run, sda, train_x, progress, checkpoint, o) -> dict | None:
    """Greedy layer-wise pretraining from ``progress``; then the filter image and the features table.

    Returns the phase's results, or None when Ctrl-C stopped it.
    """
    seconds = pretrain(sda, train_x, o["batch_size"], o["pretraining_epochs"], o["pretrain_lr"], progress,
                       checkpoint=checkpoint, precompute_codes=o["precompute_codes"], mode=run.mode, path=run.path,
                       log=run.log, metrics=run.metrics)
    if seconds is None:
        return None
    results = {f"pretrain_layer{k}_seconds": s for k, s in seconds.items()}
    results["pretrain_seconds"] = sum(seconds.values())
    run.log(f"The pretraining code for file SdA.py ran for {results['pretrain_seconds'] / 60:.2f}m")
    if run.ds.image_shape is not None:
        image = run.save_picture("filters_layer0.png", "the first layer's filters", save_filters_image,
                                 sda.sigmoid_layers[0].W.get_value(), run.ds.image_shape)
        run.log(f"wrote {image}")
    if o["features"]:
        run.log("features from the pretrained network, scikit-learn logistic regression on each:")
        results["features"] = features_comparison(sda, run.ds, n_labels=o["n_labels"], log=run.log)
        run.metrics.write(phase="features", **{k.replace(" ", "_"): v for k, v in results["features"].items()})
    return results


def _finetune_phase(run, sda, train_xy, progress, checkpoint, o) -> tuple[dict, bool]:
    """Supervised fine-tuning (all layers or the top only, on all or the first ``n_labels`` rows)."""
    ds, n_labels = run.ds, o["n_labels"]
    if n_labels is None:
        datasets = [train_xy]
    else:
        datasets = [shared_dataset((ds.train[0][:n_labels], ds.train[1][:n_labels]), name="labelled")]
    datasets += [shared_dataset(ds.valid, name="valid"), shared_dataset(ds.test, name="test")]
    res = fine_tune(sda, datasets, o["batch_size"], o["finetune_lr"], progress, layers=o["finetune"],
                    n_epochs=o["training_epochs"], patience_epochs=10, checkpoint=checkpoint, mode=run.mode,
                    path=run.path, log=run.log, metrics=run.metrics)
    results = dict(best_validation_error=res.best_validation_loss, test_error=res.test_score,
                   finetune_epochs=res.epochs, finetune_seconds=res.seconds,
                   finetune_epoch_seconds=float(np.mean(res.epoch_seconds)) if res.epoch_seconds else None)
    if not res.interrupted:
        run.log(f"Optimization complete with best validation score of {res.best_validation_loss * 100:f} %, "
                f"on iteration {res.state.best_iter + 1}, with test performance {res.test_score * 100:f} %")
        run.log(f"The training code for file SdA.py ran for {res.seconds / 60:.2f}m ({res.epochs} epochs)")
    return results, res.interrupted


def run_stacked(SdA, *, dataset, output_dir, data_dir, precision, mode, train_path, noise_source, block_size, resume,
                seed, log, **o):
    """``run_SdA``'s run (see its docstring): ``SdA`` is the model class, ``o`` the training options."""
    check_options(finetune_lr=o["finetune_lr"], pretraining_epochs=o["pretraining_epochs"],
                  pretrain_lr=o["pretrain_lr"], batch_size=o["batch_size"], finetune=o["finetune"],
                  n_labels=o["n_labels"], training_epochs=o["training_epochs"])
    check_sparsity(o["sparsity_target"], o["sparsity_weight"], check_precision(precision))
    sizes = o["hidden_layers_sizes"]
    if o["corruption_levels"] is None:
        o["corruption_levels"] = tutorial_corruption_levels(len(sizes))
        if len(sizes) != len(TUTORIAL_CORRUPTION):
            log(f"corruption levels {list(o['corruption_levels'])}: the tutorial's, cut or extended to "
                f"{len(sizes)} layers (set them with corruption_levels, --corruption)")
    with Run(output_dir, dataset, data_dir=data_dir, precision=precision, mode=mode, train_path=train_path,
             noise_source=noise_source, block_size=block_size, log=log) as run:
        ds, ckpt = run.ds, run.out / "checkpoint.npz"
        resume_hint = f"run again with resume=True (--resume) to continue from {ckpt}"
        if o["n_labels"] is not None and o["n_labels"] > ds.train[0].shape[0]:
            raise TutorialError(f"n_labels {o['n_labels']} is more than the {ds.train[0].shape[0]} training rows")
        sda = SdA(numpy_rng=tutorial_rng(seed), n_ins=ds.n_features, hidden_layers_sizes=sizes,
                  n_outs=ds.n_classes, corruption_levels=o["corruption_levels"], corruption_type=o["corruption_type"],
                  sparsity_target=o["sparsity_target"], sparsity_weight=o["sparsity_weight"])
        config = dict(dataset=ds.name, data_sha256=ds.fingerprint()[:16], n_ins=ds.n_features,
                      hidden_layers_sizes=list(sda.hidden_layers_sizes), n_outs=ds.n_classes,
                      corruption_levels=list(sda.corruption_levels), batch_size=o["batch_size"],
                      corruption_type=o["corruption_type"], sparsity_target=sda.sparsity_target,
                      sparsity_weight=sda.sparsity_weight, pretraining_epochs=o["pretraining_epochs"],
                      pretrain_lr=o["pretrain_lr"], finetune_lr=o["finetune_lr"], finetune=o["finetune"],
                      n_labels=o["n_labels"], seed=seed, precision=precision, backend=resolved_backend(mode),
                      train_path=run.path.name)
        progress = resume_or_start(ckpt, sda.all_params, sda.theano_rng, config, resume,
                                   Progress("pretrain" if o["pretraining_epochs"] > 0 else "finetune"), log)
        if ckpt.exists():
            run.folder.resume_hint = resume_hint
        trainable = sda.params if o["finetune"] == "all" else sda.logLayer.params
        if continue_finished(progress, trainable, o["training_epochs"]):
            log(f"the run in {run.out} stopped at its cap of {progress.early_stopping.epoch} fine-tuning epochs; "
                f"going on to {o['training_epochs']}")
        if progress.phase == "done":
            es = progress.early_stopping
            why = ("early stopping ended it: its patience ran out" if es.done else
                   f"it ran its {es.epoch} fine-tuning epochs; a larger training_epochs (--epochs) goes on")
            log(f"the run in {run.out} is complete (best validation error {es.best_validation_loss * 100:f} %, test "
                f"error {es.test_score * 100:f} %; {why}); nothing to do. Start over with resume=False (--fresh)")
            return {"complete": True, "best_validation_error": es.best_validation_loss, "test_error": es.test_score,
                    "model": sda}
        if o["features"] and progress.phase != "pretrain":
            log("note: --features runs right after pretraining, which this run does not do (resumed past it, "
                "or --pretrain-epochs 0); skipped")

        # What --resume takes back: the options as given (a dataset in memory is not one a resume can name)
        named = {} if dataset is not None and not isinstance(dataset, (str, Path)) else {
            "dataset": str(dataset) if dataset is not None else ds.name}
        options = {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v) for k, v in
                   dict(o, **named, data_dir=data_dir, precision=precision, mode=mode, train_path=train_path,
                        noise_source=noise_source, block_size=block_size, seed=seed).items()}

        def checkpoint(p):
            run.save(ckpt.name, f"the checkpoint: {p.describe()}", save_checkpoint, sda.all_params, sda.theano_rng,
                     config, p, options=options)
            run.folder.resume_hint = resume_hint

        train_x, train_y = shared_dataset(ds.train, name="train")
        run.announce(f"dataset {ds.name}: {ds.train[0].shape[0]} training rows; hidden layers "
                     f"{list(sda.hidden_layers_sizes)}; minibatch {o['batch_size']}")
        results = {}
        if progress.phase == "pretrain":
            pre = _pretrain_phase(run, sda, train_x, progress, checkpoint, o)
            if pre is None:
                run.stop(results)
            results.update(pre)
        interrupted = False
        if progress.phase == "finetune":
            ft, interrupted = _finetune_phase(run, sda, (train_x, train_y), progress, checkpoint, o)
            results.update(ft)
        model = run.save("SdA_model.npz", "the network with the best fine-tuning parameters so far" if interrupted
                         else "the trained network", sda.save, config=config,
                         **({"interrupted": True} if interrupted else {}))
        if interrupted:
            run.stop(dict(results, model=sda))
        log(f"wrote {model}, {ckpt} and {run.metrics.path} (run {run.metrics.run})")
    results["model"] = sda
    return results
