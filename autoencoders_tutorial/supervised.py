"""Logistic regression's and the MLP's run: :func:`train_classifier`, the whole ``logistic_sgd.py`` /
``mlp.py`` script on the early-stopping loop of :mod:`.training`."""

from __future__ import annotations

import time

import numpy as np

from .datasets import shared_splits
from .engine import describe_build, pt
from .errors import check_positive
from .files import params_to_arrays, save_params
from .graph import n_batches, note_score_batch
from .rng import tutorial_rng
from .runs import Run
from .paths import compile_classifier
from .training import early_stopping


def train_classifier(build, *, dataset=None, learning_rate, n_epochs, batch_size, patience, output_dir, model_file,
                     precision="float32", mode=None, data_dir=None, seed=1234, log=print, model_meta=None,
                     train_path="auto", noise_source="auto", block_size=None):
    """Load data, build a classifier, train it with :func:`early_stopping`, save the best.

    ``build(x, y, n_in, n_out, numpy_rng) -> (classifier, cost)`` makes the model on the
    symbolic input ``x`` and labels ``y``; the classifier has ``errors(y)`` and
    ``params``. The best model is written (atomically, ``.npz``) to
    ``output_dir/model_file`` at each improvement, so a diverged or interrupted run never
    replaces it with worse parameters. ``train_path``, ``noise_source`` and ``block_size``
    pick the step or block path (:func:`~autoencoders_tutorial.paths.resolve_path`). Returns ``(classifier, EarlyStoppingResult, Dataset)``.
    """
    check_positive(learning_rate=learning_rate, n_epochs=n_epochs, batch_size=batch_size)
    with Run(output_dir, dataset, data_dir=data_dir, precision=precision, mode=mode, train_path=train_path,
             noise_source=noise_source, block_size=block_size, unit_interval=None, log=log) as run:
        ds = run.ds
        datasets = shared_splits(ds)
        n_train = n_batches(datasets[0][0], batch_size)
        x = pt.matrix("x", dtype=precision)
        y = pt.ivector("y")
        classifier, cost = build(x, y, ds.n_features, ds.n_classes, tutorial_rng(seed))
        t0 = time.perf_counter()
        train_fn, valid_score, test_score = compile_classifier(
            x, y, cost, classifier.errors(y), classifier.params, datasets, batch_size, learning_rate, mode, run.path)
        run.announce(f"dataset {ds.name}: {n_train} training minibatches of {batch_size}; "
                     f"{describe_build(time.perf_counter() - t0, mode)}")
        note_score_batch(batch_size, datasets, log)
        meta = dict(model_meta or {}, n_in=ds.n_features, n_out=ds.n_classes, dataset=ds.name)

        def save_best(state):
            run.save(model_file, f"the best model: validation error {state.best_validation_loss * 100:f} %, test "
                     f"error {state.test_score * 100:f} %", save_params, params_to_arrays(classifier.params), **meta,
                     validation_error=state.best_validation_loss, test_error=state.test_score)

        result = early_stopping(
            train_fn, n_train, lambda: float(np.mean(valid_score())), lambda: float(np.mean(test_score())),
            classifier.params, n_epochs=n_epochs, patience=patience, on_improvement=save_best, log=log,
            metrics=run.metrics,
        )
        if result.interrupted:
            run.stop((classifier, result, ds))
        per_epoch = result.seconds / max(1, len(result.epoch_seconds))
        model_path = run.out / model_file
        log(f"Optimization complete with best validation score of {result.best_validation_loss * 100:f} %, "
            f"with test performance {result.test_score * 100:f} %")
        log(f"The code ran for {result.epochs} epochs, with {result.epochs / max(result.seconds, 1e-9):f} epochs/sec "
            f"({per_epoch:.2f}s per epoch); best model saved to {model_path}")
        log(f"wrote {model_path} and {run.metrics.path}")  # inside the folder: a Ctrl-C here still names what was saved
    return classifier, result, ds
