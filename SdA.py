"""Stacked denoising autoencoders (SdA): greedy layer-wise pretraining, then fine-tuning.

An SdA is an MLP of sigmoid hidden layers with a logistic regression on top; hidden layer ``k`` is
also the encoder of a denoising autoencoder ``dA_layers[k]``, sharing its ``W`` and ``b`` by identity
(the dA's visible bias ``b_prime`` is its own). Training has two phases:

1. Greedy layer-wise unsupervised pretraining, no labels needed: layer 0's dA learns to denoise the
   input, then layer k's dA the codes of layer k-1, whose parameters stay fixed and decoder unused (so
   its codes can be computed once for the training set: ``precompute_codes``, on by default, same result).
2. Supervised fine-tuning of the whole network (or only the top classifier) by minibatch SGD on the
   negative log-likelihood, with the tutorial's early stopping.

References: P. Vincent et al., "Stacked Denoising Autoencoders: Learning Useful Representations in a Deep
Network with a Local Denoising Criterion", JMLR 11, 2010; Y. Bengio, P. Lamblin, D. Popovici and
H. Larochelle, "Greedy Layer-Wise Training of Deep Networks", NIPS 2006.

``python SdA.py --help``: the training script (the tutorial's ``test_SdA``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np

from autoencoders_tutorial.engine import describe_build, pt, pytensor  # first: PyTensor, configured
from autoencoders_tutorial import inference, modelfiles
from autoencoders_tutorial.checkpoints import Checkpoints, Progress, command_line_resume
from autoencoders_tutorial.cli import (add_noise_flags, add_predict_flag, base_parser, nonnegative_float,
                                       nonnegative_int, positive_float, positive_int, run_cli, train_or_predict)
from autoencoders_tutorial.datasets import shared_dataset
from autoencoders_tutorial.errors import TutorialError, check_corruption, check_positive, check_sparsity, diverged_hint
from autoencoders_tutorial.features import features_comparison
from autoencoders_tutorial.memory import check_params_fit
from autoencoders_tutorial.files import params_to_arrays
from autoencoders_tutorial.graph import n_batches, note_score_batch
from autoencoders_tutorial.images import save_filters_image
from autoencoders_tutorial.predict import predict_saved
from autoencoders_tutorial.rng import check_random_state, shared_rng, tutorial_rng
from autoencoders_tutorial.runs import Run
from autoencoders_tutorial.ondisk import stream_of
from autoencoders_tutorial.paths import RunContext, compile_classifier, training_function
from autoencoders_tutorial.steps import PrecomputedRows
from autoencoders_tutorial.training import early_stopping, train_epochs
from dA import dA
from logistic_sgd import LogisticRegression
from mlp import HiddenLayer


class SdA:
    """Stacked denoising autoencoder, as in the tutorial.

    Parameters
    ----------
    numpy_rng : int, numpy Generator or RandomState
        Draws every layer's initial weights.
    theano_rng : None, int, numpy Generator or shared generator, optional
        Noise source of all dA layers (None: seeded from ``numpy_rng``).
    n_ins, n_outs : int
        Input dimension and number of classes.
    hidden_layers_sizes : sequence of int
        Width of each hidden layer (at least one).
    corruption_levels : sequence of float
        Corruption level of each layer's dA (a fraction in [0, 1) for masking): pretraining's defaults,
        which the original code ignored.
    corruption_type, sparsity_target, sparsity_weight :
        Given to every dA layer (see :class:`dA.dA`): pretraining's noise and sparsity penalty.

    Attributes
    ----------
    sigmoid_layers : list of HiddenLayer
    dA_layers : list of dA, ``dA_layers[k].W is sigmoid_layers[k].W``
    logLayer : LogisticRegression
    params : list of the MLP's parameters (hidden layers, then the logistic layer)
    n_layers : int
    x, y : the symbolic input matrix and label vector
    finetune_cost, errors : symbolic scalars

    Examples
    --------
    >>> sda = SdA(0, n_ins=16, hidden_layers_sizes=(8, 4), n_outs=3, corruption_levels=(0.1, 0.2))
    >>> sda.dA_layers[1].W is sda.sigmoid_layers[1].W  # shared by identity
    True
    >>> [p.name for p in sda.params]
    ['layer0.W', 'layer0.b', 'layer1.W', 'layer1.b', 'logreg.W', 'logreg.b']
    """

    def __init__(self, numpy_rng, theano_rng=None, n_ins=784, hidden_layers_sizes=(1000, 1000, 1000), n_outs=10,
                 corruption_levels=(0.1, 0.2, 0.3), *, corruption_type="masking", sparsity_target=0.05,
                 sparsity_weight=0.0):
        hidden_layers_sizes = tuple(int(h) for h in hidden_layers_sizes)
        corruption_levels = tuple(float(c) for c in corruption_levels)
        if not hidden_layers_sizes:
            raise TutorialError("hidden_layers_sizes must name at least one layer, got ()")
        if len(corruption_levels) != len(hidden_layers_sizes):
            raise TutorialError(f"corruption_levels must have one entry per hidden layer ({len(hidden_layers_sizes)}), "
                                f"got {len(corruption_levels)}")
        for c in corruption_levels:
            check_corruption(c, kind=corruption_type)
        check_sparsity(sparsity_target, sparsity_weight, pytensor.config.floatX)
        check_positive(n_ins=n_ins, n_outs=n_outs, **{f"hidden layer {i}": h for i, h in enumerate(hidden_layers_sizes)})
        widths = (int(n_ins), *hidden_layers_sizes, int(n_outs))
        check_params_fit([(a, b) for a, b in zip(widths, widths[1:])], np.dtype(pytensor.config.floatX).itemsize,
                         f"an SdA of layers {list(widths)}")
        numpy_rng = check_random_state(numpy_rng)
        self.n_ins, self.n_outs = int(n_ins), int(n_outs)
        self.hidden_layers_sizes = hidden_layers_sizes
        self.corruption_levels, self.corruption_type = corruption_levels, corruption_type
        self.sparsity_target, self.sparsity_weight = float(sparsity_target), float(sparsity_weight)
        self.n_layers = len(hidden_layers_sizes)
        self.theano_rng = shared_rng(theano_rng, numpy_rng, name="SdA.rng")
        self.sigmoid_layers, self.dA_layers, self.params = [], [], []
        self.x = pt.matrix("x", dtype=pytensor.config.floatX)
        self.y = pt.ivector("y")
        for i, n_out in enumerate(hidden_layers_sizes):
            input_size = n_ins if i == 0 else hidden_layers_sizes[i - 1]
            layer_input = self.x if i == 0 else self.sigmoid_layers[-1].output
            sigmoid_layer = HiddenLayer(rng=numpy_rng, input=layer_input, n_in=input_size, n_out=n_out,
                                        activation=pt.sigmoid, name=f"layer{i}")
            self.sigmoid_layers.append(sigmoid_layer)
            self.params.extend(sigmoid_layer.params)
            self.dA_layers.append(dA(numpy_rng=numpy_rng, theano_rng=self.theano_rng, input=layer_input,
                                     n_visible=input_size, n_hidden=n_out, W=sigmoid_layer.W,
                                     bhid=sigmoid_layer.b, name=f"dA{i}", corruption_type=corruption_type,
                                     sparsity_target=sparsity_target, sparsity_weight=sparsity_weight))
        self.logLayer = LogisticRegression(input=self.sigmoid_layers[-1].output, n_in=hidden_layers_sizes[-1],
                                           n_out=n_outs)
        self.params.extend(self.logLayer.params)
        self.finetune_cost = self.logLayer.negative_log_likelihood(self.y)
        self.errors = self.logLayer.errors(self.y)
        self._precomputed = []  # the PrecomputedRows of the pretraining functions: one filled at a time
        self.saved_meta = {}  # what a loaded model's file said beside its parameters

    @property
    def all_params(self):
        """Every shared parameter: the MLP's, then each dA's own visible bias."""
        return self.params + [d.b_prime for d in self.dA_layers]

    def pretraining_functions(self, train_set_x, batch_size, precompute_codes=False, context=RunContext()):
        """One compiled function per layer: ``fn(index, corruption=level_k, lr=0.1) -> cost``.

        Function k does one SGD step of layer k's dA on minibatch ``index``, changing only that dA's ``W_k``, ``b_k``,
        ``b_prime`` and the noise generator. With ``precompute_codes``, layers k > 0 read layer k-1's codes, computed
        once for the whole training set on their first call (not for rows on disk: they are recomputed). ``context`` (a
        :class:`~autoencoders_tutorial.paths.RunContext`; default the step path) gives the mode and training path.
        """
        check_positive(batch_size=batch_size)
        corruption_level = pt.scalar("corruption", dtype=pytensor.config.floatX)
        learning_rate = pt.scalar("lr", dtype=pytensor.config.floatX)
        n_rows = train_set_x.get_value(borrow=True).shape[0]
        precompute_codes = precompute_codes and stream_of(train_set_x) is None  # rows on disk: codes not kept whole
        fns = []
        for k, da in enumerate(self.dA_layers):
            cost, updates = da.get_cost_updates(corruption_level, learning_rate)
            inputs = dict(extra_inputs=(corruption_level, learning_rate), context=context,
                          names=("corruption", "lr"), defaults=(self.corruption_levels[k], 0.1))
            if k == 0 or not precompute_codes:
                fns.append(training_function([(self.x, train_set_x)], cost, batch_size, updates, **inputs))
                continue
            below = self.sigmoid_layers[k - 1].output
            buffer = pytensor.shared(np.zeros((0, self.hidden_layers_sizes[k - 1]), dtype=pytensor.config.floatX),
                                     name=f"codes{k - 1}")
            # the block path computes a layer's codes in one call, however small its training blocks
            fill = dataclasses.replace(context, train_path=dataclasses.replace(context.train_path, block_size=None))
            codes_fn = training_function([(self.x, train_set_x)], below, batch_size, context=fill)
            codes = PrecomputedRows(codes_fn, buffer, n_rows, batch_size, group=self._precomputed)
            fns.append(training_function([(below, buffer)], cost, batch_size, updates, ensure=codes.ensure, **inputs))
        return fns

    def build_finetune_functions(self, datasets, batch_size, learning_rate, params=None, context=RunContext()):
        """The tutorial's fine-tuning functions: ``(train_fn, valid_score, test_score)``.

        ``train_fn(index)`` does one SGD step on the fine-tuning cost; ``valid_score()`` and ``test_score()``
        return the per-minibatch error rates (minibatches no larger than their split). ``params`` (default
        ``self.params``) are trained: ``self.logLayer.params`` fine-tunes only the top classifier. ``context``'s
        training path may add blocks.
        """
        params = self.params if params is None else list(params)
        return compile_classifier(self.x, self.y, self.finetune_cost, self.errors, params, datasets, batch_size,
                                  learning_rate, context)

    def pretrain(self, train_set_x, batch_size, epochs, learning_rate, progress=None, **options):
        """Greedy layer-wise pretraining of this SdA: :func:`pretrain`."""
        return pretrain(self, train_set_x, batch_size, epochs, learning_rate, progress, **options)

    def fine_tune(self, datasets, batch_size, learning_rate, progress=None, **options):
        """Fine-tuning with the tutorial's early stopping: :func:`fine_tune`."""
        return fine_tune(self, datasets, batch_size, learning_rate, progress, **options)

    def save(self, path, **meta):
        """Write every parameter and the architecture to ``path`` (``.npz``, atomically, no pickle)."""
        return modelfiles.save_SdA(self, path, **meta)

    @classmethod
    def load(cls, path):
        """An SdA with the architecture and parameters saved in ``path`` (``SdA_model.npz`` or :meth:`save`).

        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "sda.npz"
        >>> _ = SdA(0, n_ins=16, hidden_layers_sizes=(8, 4), n_outs=3, corruption_levels=(0.1, 0.2)).save(path)
        >>> SdA.load(path).hidden_layers_sizes
        (8, 4)
        """
        return modelfiles.load_SdA(cls, path)

    def predict(self, X):
        """Predicted classes of numeric rows ``X`` (values in [0, 1])."""
        return inference.predict(self, X)

    def predict_proba(self, X):
        """Class probabilities of numeric rows ``X``, shape (rows, classes)."""
        return inference.predict_proba(self, X)

    def get_codes(self, X, layer=-1, chunk=1000):
        """Codes of hidden layer ``layer`` (default the top) for numeric rows ``X``, ``chunk`` rows at a time."""
        return inference.get_codes(self, X, layer, chunk)


# -- the tutorial's training: greedy layer-wise pretraining, then fine-tuning with early stopping ------

FINETUNE_MODES = ("all", "top")
TUTORIAL_CORRUPTION = (0.1, 0.2, 0.3)


def tutorial_corruption_levels(n_layers):
    """The tutorial's levels (0.1, 0.2, 0.3) for ``n_layers`` layers: cut, or extended with the last."""
    return tuple((TUTORIAL_CORRUPTION + (TUTORIAL_CORRUPTION[-1],) * n_layers)[:n_layers])


def check_options(*, finetune_lr, pretraining_epochs, pretrain_lr, batch_size, finetune, n_labels=None, **positive):
    """Check the SdA's training options (one line names a bad one); ``positive``: more that must be > 0."""
    check_positive(finetune_lr=finetune_lr, **positive, batch_size=batch_size)
    if pretraining_epochs < 0:
        raise TutorialError(f"pretraining_epochs must be >= 0, got {pretraining_epochs}")
    if pretraining_epochs > 0:
        check_positive(pretrain_lr=pretrain_lr)
    if finetune not in FINETUNE_MODES:
        raise TutorialError(f"finetune must be one of {FINETUNE_MODES}, got {finetune!r}")
    if n_labels is not None and n_labels < batch_size:
        raise TutorialError(f"n_labels must be at least the batch size {batch_size}, got {n_labels}")


def pretrain(sda, train_set_x, batch_size, pretraining_epochs, pretrain_lr, progress=None, *, checkpoint=None,
             precompute_codes=True, context=RunContext(), on_speed=None):
    """Greedy layer-wise pretraining of ``sda`` on the shared ``train_set_x``, from ``progress`` (None: the start):
    compiles :meth:`SdA.pretraining_functions`, runs :func:`pretrain_layers` (its result), frees the precomputed codes.
    """
    progress = Progress() if progress is None else progress
    t0 = time.perf_counter()
    pretraining_fns = sda.pretraining_functions(train_set_x, batch_size, precompute_codes, context)
    context.log(f"... pre-training the model (functions {describe_build(time.perf_counter() - t0, context.mode)})")
    try:
        return pretrain_layers(pretraining_fns, n_batches(train_set_x, batch_size), pretraining_epochs,
                               pretrain_lr, progress, checkpoint=checkpoint, context=context,
                               diverged_hint=diverged_hint(sda.sparsity_weight), on_speed=on_speed)
    finally:
        for codes in sda._precomputed:
            codes.release()


def pretrain_layers(pretraining_fns, n_train_batches, pretraining_epochs, pretrain_lr, progress, *, checkpoint=None,
                    context=RunContext(), diverged_hint="lower the learning rate", on_speed=None):
    """The tutorial's pretraining loop: layer by layer, ``pretraining_epochs`` epochs of
    ``pretraining_fns[i](index, lr=pretrain_lr)`` over every minibatch (:func:`train_epochs`, the one epoch loop).

    Starts at ``progress`` (layer and epoch); calls ``checkpoint(progress)`` after every epoch and once more when
    every layer is done (``progress.phase`` then "finetune"). Returns ``{layer: seconds}``, or None on Ctrl-C.
    """
    checkpoint = checkpoint or (lambda p: None)
    seconds = {}
    for i in range(progress.layer, len(pretraining_fns)):
        def epoch_done(epoch, _cost, i=i):
            progress.layer, progress.epoch = i, epoch + 1
            checkpoint(progress)

        t0 = time.perf_counter()
        layer = pretraining_fns[i].bind(lr=pretrain_lr).ready()  # the codes of the layer below first
        try:
            res = train_epochs(layer, n_train_batches, pretraining_epochs,
                               start_epoch=progress.epoch if i == progress.layer else 0,
                               label=f"Pre-training layer {i}: ", context=context, on_epoch_end=epoch_done,
                               diverged_hint=diverged_hint, on_speed=on_speed if i == progress.layer else None)
        finally:
            layer.release()  # the block path's resident copy of this layer's input
        if res.interrupted:
            return None
        seconds[i] = time.perf_counter() - t0
    progress.phase, progress.layer, progress.epoch = "finetune", 0, 0
    checkpoint(progress)
    return seconds


def fine_tune(sda, datasets, batch_size, finetune_lr, progress=None, *, layers="all", n_epochs=1000,
              patience_epochs=10, checkpoint=None, context=RunContext()):
    """Supervised fine-tuning of ``sda`` with the tutorial's early stopping, from ``progress`` (None: the start).

    ``datasets`` is ``[(train x, y), (valid x, y)]``, optionally with ``(test x, y)`` (then each new best model's
    test error is computed); ``layers`` "all" or "top" (the logistic layer only). Returns the EarlyStoppingResult.
    """
    progress = Progress("finetune") if progress is None else progress
    trainable = sda.params if layers == "all" else sda.logLayer.params
    n_train_batches = n_batches(datasets[0][0], batch_size)
    t0 = time.perf_counter()
    train_fn, validate_model, *test_model = sda.build_finetune_functions(datasets, batch_size, finetune_lr,
                                                                         params=trainable, context=context)
    context.log(f"... fine-tuning {'the whole network' if layers == 'all' else 'the top layer only'} on "
                f"{n_train_batches * batch_size} labelled rows (functions "
                f"{describe_build(time.perf_counter() - t0, context.mode)})")
    note_score_batch(batch_size, datasets, context.log)
    test = (lambda: float(np.mean(test_model[0]()))) if test_model else (lambda: float("nan"))
    return finetune_loop(train_fn, n_train_batches, lambda: float(np.mean(validate_model())), test, trainable,
                         progress, checkpoint=checkpoint, n_epochs=n_epochs,
                         patience=patience_epochs * n_train_batches, context=context)


def finetune_loop(train_fn, n_train_batches, validate, test, params, progress, *, n_epochs, patience,
                  checkpoint=None, context=RunContext()):
    """:func:`~autoencoders_tutorial.training.early_stopping` (the tutorial's, written once) from ``progress``.

    ``checkpoint(progress)`` runs after every epoch, and once more when the loop ends without Ctrl-C: then
    ``progress.phase`` is "done", the parameters are the best, and ``progress.last`` holds the last epoch's
    when the epoch cap ended the run (what a larger cap goes on from)."""
    checkpoint = checkpoint or (lambda p: None)
    last = {}

    def epoch_done(state, best):
        progress.epoch, progress.early_stopping, progress.best = state.epoch, state, best
        last["params"] = params_to_arrays(params)
        checkpoint(progress)

    res = early_stopping(train_fn, n_train_batches, validate, test, params, n_epochs=n_epochs, patience=patience,
                         patience_increase=2.0, improvement_threshold=0.995, state=progress.early_stopping,
                         best_params=progress.best, on_epoch_end=epoch_done, context=context)
    if not res.interrupted:
        progress.phase, progress.early_stopping, progress.best = "done", res.state, None
        progress.last = None if res.state.done else last.get("params", progress.last)
        checkpoint(progress)
    return res


#: The practical setting ``--help`` shows, where the tutorial's own (minibatch 1, rate 0.001) takes hours.
PRACTICAL = "python SdA.py --dataset fashion-mnist --batch-size 20 --pretrain-lr 0.1"


def _estimate(log, seconds, n_train_batches, sda, pretrain_epochs, finetune_epochs):
    """Say how long the run takes at this speed (``seconds`` per minibatch of one layer; a fine-tuning step
    costs about one per layer), when that is more than ten minutes, and a much shorter setting."""
    pre, fine = (seconds * n_train_batches * e for e in (pretrain_epochs, sda.n_layers * finetune_epochs))
    if pre + fine > 600:
        log(f"at this speed pretraining takes about {_duration(pre)} and fine-tuning up to {_duration(fine)} (early "
            f"stopping usually ends it sooner); a much shorter run: {PRACTICAL}")


def _duration(seconds) -> str:
    """``seconds`` in the unit a reader plans with: minutes, hours or days."""
    for unit, size in (("days", 86400), ("h", 3600)):
        if seconds >= 2 * size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds / 60:.0f} min"


def run_SdA(dataset=None, finetune_lr=0.1, pretraining_epochs=15, pretrain_lr=0.001, training_epochs=1000, batch_size=1,
            hidden_layers_sizes=(1000, 1000, 1000), corruption_levels=None, finetune="all", n_labels=None,
            precompute_codes=True, seed=89677, output_dir="SdA_out", *, resume=False, features=False,
            corruption_type="masking", sparsity_target=0.05, sparsity_weight=0.0, log=print, **run_options):
    """The tutorial's ``test_SdA``: pretrain layer by layer, fine-tune with early stopping, report.

    Writes to ``output_dir``: ``checkpoint.npz`` after every pretraining and fine-tuning epoch (``resume=True``
    continues from it and ends with exactly the parameters of an uninterrupted run), ``filters_layer0.png`` after
    pretraining, ``SdA_model.npz`` (the final parameters) and ``metrics.jsonl``. Without ``resume`` a run starts
    fresh, keeping an earlier checkpoint as ``checkpoint.previous.npz``; resuming a finished run rewrites nothing.
    ``n_labels`` fine-tunes on the first N labelled rows (pretraining uses all); ``corruption_levels`` None: the
    tutorial's, one per layer. ``run_options`` are every script's (:data:`~autoencoders_tutorial.runs.RUN_OPTIONS`); the
    training path they pick is part of the checkpoint (a resume on another is refused). Returns a dict of results.
    """
    check_options(finetune_lr=finetune_lr, pretraining_epochs=pretraining_epochs, pretrain_lr=pretrain_lr,
                  batch_size=batch_size, finetune=finetune, n_labels=n_labels, training_epochs=training_epochs)
    run = Run(output_dir, dataset, log=log, **run_options)
    check_sparsity(sparsity_target, sparsity_weight, run.precision)
    if corruption_levels is None:
        corruption_levels = tutorial_corruption_levels(len(hidden_layers_sizes))
        if len(hidden_layers_sizes) != len(TUTORIAL_CORRUPTION):
            log(f"corruption levels {list(corruption_levels)}: the tutorial's, cut or extended to "
                f"{len(hidden_layers_sizes)} layers (set them with corruption_levels, --corruption)")
    options = dict(  # what --resume takes back
        finetune_lr=finetune_lr, pretraining_epochs=pretraining_epochs, pretrain_lr=pretrain_lr,
        training_epochs=training_epochs, batch_size=batch_size, hidden_layers_sizes=hidden_layers_sizes,
        corruption_levels=corruption_levels, finetune=finetune, n_labels=n_labels, precompute_codes=precompute_codes,
        seed=seed, features=features, corruption_type=corruption_type, sparsity_target=sparsity_target,
        sparsity_weight=sparsity_weight, **run.options)
    with run:
        ds = run.ds
        if n_labels is not None and n_labels > ds.train[0].shape[0]:
            raise TutorialError(f"n_labels {n_labels} is more than the {ds.train[0].shape[0]} training rows")
        sda = SdA(numpy_rng=tutorial_rng(seed), n_ins=ds.n_features, hidden_layers_sizes=hidden_layers_sizes,
                  n_outs=ds.n_classes, corruption_levels=corruption_levels, corruption_type=corruption_type,
                  sparsity_target=sparsity_target, sparsity_weight=sparsity_weight)
        ckpt = Checkpoints(run, sda, dict(options, dataset=dataset))
        progress = ckpt.start(resume, Progress("pretrain" if pretraining_epochs > 0 else "finetune"),
                              sda.params if finetune == "all" else sda.logLayer.params, training_epochs)
        if progress.phase == "done":
            return dict(ckpt.complete(progress), model=sda)
        if features and progress.phase != "pretrain":
            log("note: --features runs right after pretraining, which this run does not do (resumed past it, "
                "or --pretrain-epochs 0); skipped")
        train_set_x, train_set_y = shared_dataset(ds.train, name="train")
        run.announce(f"dataset {ds.name}: {ds.train[0].shape[0]} training rows; hidden layers "
                     f"{list(sda.hidden_layers_sizes)}; minibatch {batch_size}")
        results = {}
        if progress.phase == "pretrain":  # PRETRAINING THE MODEL
            left = (len(hidden_layers_sizes) - progress.layer) * pretraining_epochs - progress.epoch, training_epochs
            seconds = pretrain(sda, train_set_x, batch_size, pretraining_epochs, pretrain_lr, progress,
                               checkpoint=ckpt.epoch_done, precompute_codes=precompute_codes, context=run.context,
                               on_speed=lambda s: _estimate(log, s, n_batches(train_set_x, batch_size), sda, *left))
            if seconds is None:
                run.stop(results)
            results.update(_pretrained(run, sda, seconds, features, n_labels))
        interrupted = False
        if progress.phase == "finetune":  # FINETUNING THE MODEL
            datasets = _finetune_sets(ds, (train_set_x, train_set_y), n_labels)
            res = fine_tune(sda, datasets, batch_size, finetune_lr, progress, layers=finetune, n_epochs=training_epochs,
                            patience_epochs=10, checkpoint=ckpt.epoch_done, context=run.context)
            results.update(_finetuned(log, res))
            interrupted = res.interrupted
        model = run.save("SdA_model.npz", "the network with the best fine-tuning parameters so far" if interrupted
                         else "the trained network", sda.save, config=ckpt.config,
                         **({"interrupted": True} if interrupted else {}))
        if interrupted:
            run.stop(dict(results, model=sda))
        log(f"wrote {model}, {ckpt.path} and {run.metrics.path} (run {run.metrics.run})")
    return dict(results, model=sda)


def _pretrained(run, sda, seconds, features, n_labels) -> dict:
    """After pretraining: its times, the first layer's filters and (``features``) the features table."""
    results = {f"pretrain_layer{k}_seconds": s for k, s in seconds.items()}
    results["pretrain_seconds"] = sum(seconds.values())
    run.log(f"The pretraining code for file SdA.py ran for {results['pretrain_seconds'] / 60:.2f}m")
    if run.ds.image_shape is not None:
        image = run.save_picture("filters_layer0.png", "the first layer's filters", save_filters_image,
                                 sda.sigmoid_layers[0].W.get_value(), run.ds.image_shape)
        run.log(f"wrote {image}")
    if features:
        run.log("features from the pretrained network, scikit-learn logistic regression on each:")
        results["features"] = features_comparison(sda, run.ds, n_labels=n_labels, log=run.log)
        run.metrics.write(phase="features", **{k.replace(" ", "_"): v for k, v in results["features"].items()})
    return results


def _finetune_sets(ds, train_xy, n_labels):
    """The shared ``[train, valid, test]`` of fine-tuning: the training split, or its first ``n_labels`` rows."""
    if n_labels is not None:
        train_xy = shared_dataset((ds.train[0][:n_labels], ds.train[1][:n_labels]), name="labelled")
    return [train_xy, shared_dataset(ds.valid, name="valid"), shared_dataset(ds.test, name="test")]


def _finetuned(log, res) -> dict:
    """Fine-tuning's results, and the tutorial's closing lines when it ran to its end."""
    if not res.interrupted:
        log(f"Optimization complete with best validation score of {res.best_validation_loss * 100:f} %, "
            f"on iteration {res.state.best_iter + 1}, with test performance {res.test_score * 100:f} %")
        ran = len(res.epoch_seconds)  # this run's epochs: a resumed run did the others before
        log(f"The training code for file SdA.py ran for {res.seconds / 60:.2f}m ({ran} epoch{'s' * (ran != 1)}"
            f"{'' if ran == res.epochs else f', {res.epochs} in all'})")
    return dict(best_validation_error=res.best_validation_loss, test_error=res.test_score,
                finetune_epochs=res.epochs, finetune_seconds=res.seconds,
                finetune_epoch_seconds=float(np.mean(res.epoch_seconds)) if res.epoch_seconds else None)


def test_SdA(finetune_lr=0.1, pretraining_epochs=15, pretrain_lr=0.001, training_epochs=1000, dataset=None,
             batch_size=1, **kwargs):
    """The tutorial's name for :func:`run_SdA`."""
    return run_SdA(dataset=dataset, finetune_lr=finetune_lr, pretraining_epochs=pretraining_epochs,
                   pretrain_lr=pretrain_lr, training_epochs=training_epochs, batch_size=batch_size, **kwargs)


test_SdA.__test__ = False  # a demo, not a pytest test


def predict(model_path="SdA_out/SdA_model.npz", dataset=None, n=10, data_dir=None, log=print, inputs=None, frame=True):
    """Load a saved SdA and predict as ``logistic_sgd.predict`` does: the first ``n`` test rows, or ``inputs``."""
    sda = SdA.load(model_path)
    return predict_saved(sda.predict_proba, sda.n_ins, model_path, sda.saved_meta.get("config", {}).get("dataset"),
                         dataset, n, data_dir, log, inputs, frame=frame)


def build_parser() -> argparse.ArgumentParser:
    """The command line: one flag per keyword argument of the run function (the docs render it)."""
    p = base_parser(__doc__, f"examples:\n  {PRACTICAL}\n"
                    "  python SdA.py --dataset fashion-mnist --batch-size 20 --pretrain-lr 0.1 --n-labels 1000 "
                    "--output-dir few\n"
                    "  python SdA.py --resume   # continue an interrupted run, with its own options\n"
                    "  python SdA.py --resume --epochs 2000   # a finished run goes on to 2000 fine-tuning epochs",
                    epochs=1000, learning_rate=0.1, batch_size=1, seed=89677, output_dir="SdA_out",
                    epochs_kw="training_epochs", learning_rate_kw="finetune_lr",
                    epochs_help="fine-tuning epochs at most (early stopping; with --resume, a larger cap goes on with a "
                                "finished run)")
    p.add_argument("--pretrain-epochs", dest="pretraining_epochs", type=nonnegative_int, default=15,
                   help="pretraining epochs per layer (default %(default)s)")
    p.add_argument("--pretrain-lr", type=positive_float, default=0.001, help="pretraining learning rate (default %(default)s)")
    p.add_argument("--hidden", dest="hidden_layers_sizes", type=positive_int, nargs="+", default=[1000, 1000, 1000],
                   help="hidden layer sizes (default 1000 1000 1000)")
    p.add_argument("--corruption", dest="corruption_levels", type=nonnegative_float, nargs="+", default=None,
                   help="corruption level of each layer (default 0.1 0.2 0.3, the last repeated for more layers)")
    add_noise_flags(p)
    p.add_argument("--finetune", choices=FINETUNE_MODES, default="all",
                   help="fine-tune the whole network (default) or only the top classifier")
    p.add_argument("--n-labels", type=positive_int, default=None,
                   help="fine-tune on only the first N labelled training rows (pretraining uses all)")
    p.add_argument("--recompute-codes", dest="precompute_codes", action="store_false",
                   help="recompute lower layers for every minibatch instead of precomputing their codes once")
    p.add_argument("--features", action="store_true",
                   help="after pretraining, compare a logistic regression on raw pixels, codes, raw + codes")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUTPUT_DIR/checkpoint.npz with the options it was made with: give none but "
                        "--output-dir, --epochs (a larger cap goes on with a finished run) and --data-dir")
    add_predict_flag(p, "SdA_model.npz")
    p.add_argument("--fresh", action="store_true",
                   help="start over even if OUTPUT_DIR has a checkpoint (kept as checkpoint.previous.npz)")
    return p


def main(argv=None) -> int:
    def cli(fresh=False, given=(), **options):  # command_line_resume settles --resume and --fresh
        return run_SdA(**command_line_resume(options, given, fresh))

    return run_cli(build_parser(), argv, train_or_predict(cli, predict, "SdA_model.npz"), pass_given=True)


if __name__ == "__main__":
    sys.exit(main())
