"""Stacked denoising autoencoders (SdA): greedy layer-wise pretraining, then fine-tuning.

An SdA is an MLP of sigmoid hidden layers with a logistic regression on top, where each
hidden layer ``k`` is also the encoder of a denoising autoencoder ``dA_layers[k]`` that
shares its weights ``W`` and hidden bias ``b`` by identity (the dA's visible bias
``b_prime`` is its own). Training has two phases:

1. Greedy layer-wise unsupervised pretraining. Layer 0's dA learns to denoise the input;
   then layer k's dA learns to denoise the codes of layer k-1, whose parameters stay
   fixed and whose decoders are no longer used. No labels are needed.
2. Supervised fine-tuning of the whole network (or only the top classifier) by minibatch
   SGD on the negative log-likelihood, with the tutorial's early stopping.

Because the lower layers are frozen while layer k pretrains, their codes can be computed
once for the whole training set instead of again for every minibatch: the tutorial's
own speed-up, on by default here (``precompute_codes``); both ways give the same result.

References: P. Vincent, H. Larochelle, I. Lajoie, Y. Bengio and P.-A. Manzagol,
"Stacked Denoising Autoencoders: Learning Useful Representations in a Deep Network with a
Local Denoising Criterion", JMLR 11, 2010; Y. Bengio, P. Lamblin, D. Popovici and H.
Larochelle, "Greedy Layer-Wise Training of Deep Networks", NIPS 2006.

Run ``python SdA.py --help`` for the training script (the tutorial's ``test_SdA``).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from autoencoders_tutorial.blocks import resolve_path
from autoencoders_tutorial.cli import add_noise_flags, base_parser, count, level, rate, run_cli, size
from autoencoders_tutorial.datasets import load_dataset, predict_test_rows, shared_dataset, validate_x
from autoencoders_tutorial.engine import (  # PyTensor, configured
    describe_mode,
    host_function,
    pt,
    pytensor,
    resolved_backend,
)
from autoencoders_tutorial.errors import DataError, TutorialError, check_corruption, check_params_fit, check_positive
from autoencoders_tutorial.features import features_comparison
from autoencoders_tutorial.files import (
    MetricsLog,
    load_params,
    params_to_arrays,
    save_params,
    set_params_from_arrays,
)
from autoencoders_tutorial.graph import (
    PrecomputedRows,
    compile_classifier,
    minibatch_function,
    n_batches,
    training_function,
)
from autoencoders_tutorial.images import save_filters_image
from autoencoders_tutorial.layerwise import Progress, finetune, pretrain_layers, resume_or_start, save_checkpoint
from autoencoders_tutorial.rng import check_random_state, shared_rng, tutorial_rng
from autoencoders_tutorial.runs import RunFolder
from autoencoders_tutorial.training import note_score_batch
from dA import dA
from logistic_sgd import LogisticRegression
from mlp import HiddenLayer

FINETUNE_MODES = ("all", "top")
TUTORIAL_CORRUPTION = (0.1, 0.2, 0.3)


class PretrainFunction:
    """One layer's compiled pretraining step: ``fn(index, corruption=level_k, lr=0.1) -> cost``.

    (PyTensor 3 dropped inputs with default values, so the defaults live here.) With
    precomputed codes (``codes``, a :class:`PrecomputedRows`), the first call after the
    codes were released passes the training set through the frozen lower layers once.
    """

    def __init__(self, fn, corruption, lr=0.1, codes=None):
        self.fn, self.corruption, self.lr, self.codes = fn, corruption, lr, codes

    def __call__(self, index, corruption=None, lr=None):
        if self.codes is not None:
            self.codes.ensure()
        return self.fn(index, self.corruption if corruption is None else corruption, self.lr if lr is None else lr)

    def bound(self, lr):
        """The step at this layer's corruption and ``lr`` that the training loop runs: ``step(i)``,
        and on the block path ``step.block(start, k)`` (the codes are computed here if needed)."""
        if self.codes is not None:
            self.codes.ensure()
        if hasattr(self.fn, "bind"):
            return self.fn.bind(self.corruption, lr)
        return lambda index: self.fn(index, self.corruption, lr)


class SdA:
    """Stacked denoising autoencoder, as in the tutorial.

    Parameters
    ----------
    numpy_rng : int, numpy Generator or RandomState
        Draws the initial weights of every layer.
    theano_rng : None, int, numpy Generator or shared generator, optional
        Noise source shared by all dA layers; seeded from ``numpy_rng`` when None.
    n_ins : int
        Input dimension.
    hidden_layers_sizes : sequence of int
        Width of each hidden layer (at least one).
    n_outs : int
        Number of classes.
    corruption_levels : sequence of float
        Corruption level of each layer's dA, one per hidden layer (a fraction in [0, 1)
        for masking noise). These are the levels used by default in pretraining (the
        original code ignored them).
    corruption_type, sparsity_target, sparsity_weight :
        Given to every dA layer (see :class:`dA.dA`): the kind of noise and the sparsity
        penalty of pretraining.

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

    def __init__(
        self,
        numpy_rng,
        theano_rng=None,
        n_ins=784,
        hidden_layers_sizes=(1000, 1000, 1000),
        n_outs=10,
        corruption_levels=(0.1, 0.2, 0.3),
        *,
        corruption_type="masking",
        sparsity_target=0.05,
        sparsity_weight=0.0,
    ):
        hidden_layers_sizes = tuple(int(h) for h in hidden_layers_sizes)
        corruption_levels = tuple(float(c) for c in corruption_levels)
        if not hidden_layers_sizes:
            raise TutorialError("hidden_layers_sizes must name at least one layer, got ()")
        if len(corruption_levels) != len(hidden_layers_sizes):
            raise TutorialError(
                f"corruption_levels must have one entry per hidden layer ({len(hidden_layers_sizes)}), "
                f"got {len(corruption_levels)}"
            )
        for c in corruption_levels:
            check_corruption(c, kind=corruption_type)
        check_positive(n_ins=n_ins, n_outs=n_outs, **{f"hidden layer {i}": h for i, h in enumerate(hidden_layers_sizes)})
        widths = (int(n_ins), *hidden_layers_sizes, int(n_outs))
        check_params_fit([(a, b) for a, b in zip(widths, widths[1:])], np.dtype(pytensor.config.floatX).itemsize,
                         f"an SdA of layers {list(widths)}")
        numpy_rng = check_random_state(numpy_rng)
        self.n_ins, self.n_outs = int(n_ins), int(n_outs)
        self.hidden_layers_sizes = hidden_layers_sizes
        self.corruption_levels = corruption_levels
        self.corruption_type = corruption_type
        self.sparsity_target, self.sparsity_weight = float(sparsity_target), float(sparsity_weight)
        self.n_layers = len(hidden_layers_sizes)
        self.theano_rng = shared_rng(theano_rng, numpy_rng, name="SdA.rng")
        self.sigmoid_layers = []
        self.dA_layers = []
        self.params = []
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
        self._codes_fns = {}
        self._predict_fn = None
        self.saved_meta = {}  # what a loaded model's file said beside its parameters

    @property
    def all_params(self):
        """Every shared parameter: the MLP's, then each dA's own visible bias."""
        return self.params + [d.b_prime for d in self.dA_layers]

    def pretraining_functions(self, train_set_x, batch_size, precompute_codes=False, mode=None, path=None):
        """One compiled function per layer: ``fn(index, corruption=level_k, lr=0.1) -> cost``.

        Function k does one SGD step of layer k's dA on minibatch ``index``; only that
        dA's parameters (``W_k``, ``b_k``, its ``b_prime``) and the noise generator
        change. With ``precompute_codes`` the functions of layers k > 0 read the codes of
        layer k-1, computed once for the whole training set on their first call, instead
        of recomputing the lower layers for every minibatch. ``path`` (a
        :class:`~autoencoders_tutorial.blocks.TrainPath`, None: the step path) may add blocks.
        """
        check_positive(batch_size=batch_size)
        corruption_level = pt.scalar("corruption", dtype=pytensor.config.floatX)
        learning_rate = pt.scalar("lr", dtype=pytensor.config.floatX)
        n_rows = train_set_x.get_value(borrow=True).shape[0]
        fns = []
        for k, da in enumerate(self.dA_layers):
            cost, updates = da.get_cost_updates(corruption_level, learning_rate)
            extra = (corruption_level, learning_rate)
            if k == 0 or not precompute_codes:
                fn = training_function([(self.x, train_set_x)], cost, batch_size, updates, extra, mode, path)
                fns.append(PretrainFunction(fn, self.corruption_levels[k]))
                continue
            below = self.sigmoid_layers[k - 1].output
            buffer = pytensor.shared(np.zeros((0, self.hidden_layers_sizes[k - 1]), dtype=pytensor.config.floatX),
                                     name=f"codes{k - 1}")
            fn = training_function([(below, buffer)], cost, batch_size, updates, extra, mode, path)
            codes_fn = minibatch_function([(self.x, train_set_x)], below, batch_size, mode=mode)
            codes = PrecomputedRows(codes_fn, buffer, n_rows, batch_size, group=self._precomputed)
            fns.append(PretrainFunction(fn, self.corruption_levels[k], codes=codes))
        return fns

    def build_finetune_functions(self, datasets, batch_size, learning_rate, params=None, mode=None, path=None):
        """The tutorial's fine-tuning functions: ``(train_fn, valid_score, test_score)``.

        ``train_fn(index)`` does one SGD step on the fine-tuning cost; ``valid_score()``
        and ``test_score()`` return the list of per-minibatch error rates (in
        minibatches no larger than their split). ``params``
        (default all of ``self.params``) are the ones trained; pass
        ``self.logLayer.params`` to fine-tune only the top classifier; ``path`` may add blocks.
        """
        params = self.params if params is None else list(params)
        return compile_classifier(self.x, self.y, self.finetune_cost, self.errors, params, datasets, batch_size,
                                  learning_rate, mode, path)

    def pretrain(self, train_set_x, batch_size, epochs, learning_rate, progress, *, checkpoint=lambda p: None,
                 precompute_codes=True, mode=None, path=None, log=print, metrics=None):
        """Greedy layer-wise pretraining on ``train_set_x`` from ``progress`` (see :func:`pretrain_layers`).

        Compiles :meth:`pretraining_functions`, trains ``epochs`` per layer at ``learning_rate``,
        and frees the precomputed codes. Returns ``{layer: seconds}``, or None when Ctrl-C
        stopped it.
        """
        t0 = time.perf_counter()
        fns = self.pretraining_functions(train_set_x, batch_size, precompute_codes=precompute_codes, mode=mode,
                                         path=path)
        log(f"... pre-training the model (functions compiled in {time.perf_counter() - t0:.1f}s)")
        try:
            return pretrain_layers(fns, n_batches(train_set_x, batch_size), epochs, learning_rate, progress,
                                   checkpoint=checkpoint, log=log, metrics=metrics)
        finally:
            for codes in self._precomputed:  # free the precomputed codes
                codes.release()

    def fine_tune(self, datasets, batch_size, learning_rate, progress, *, layers="all", n_epochs=1000,
                  patience_epochs=10, checkpoint=lambda p: None, mode=None, path=None, log=print, metrics=None):
        """Supervised fine-tuning with the tutorial's early stopping, from ``progress`` (see :func:`finetune`).

        ``datasets`` is ``[(train x, y), (valid x, y)]``, optionally with ``(test x, y)``
        last (then the test error of each new best model is computed); ``layers`` "all"
        trains the whole network, "top" the logistic layer only (``--finetune``). Patience is
        ``patience_epochs`` epochs. Returns the :class:`EarlyStoppingResult`.
        """
        trainable = self.params if layers == "all" else self.logLayer.params
        n_ft = n_batches(datasets[0][0], batch_size)
        t0 = time.perf_counter()
        train_fn, valid_score, *test_score = self.build_finetune_functions(datasets, batch_size, learning_rate,
                                                                          params=trainable, mode=mode, path=path)
        log(f"... fine-tuning {'the whole network' if layers == 'all' else 'the top layer only'} on "
            f"{n_ft * batch_size} labelled rows (functions compiled in {time.perf_counter() - t0:.1f}s)")
        note_score_batch(batch_size, datasets, log)
        test = (lambda: float(np.mean(test_score[0]()))) if test_score else (lambda: float("nan"))
        return finetune(train_fn, n_ft, lambda: float(np.mean(valid_score())), test, trainable, progress,
                        checkpoint=checkpoint, n_epochs=n_epochs, patience=patience_epochs * n_ft, log=log,
                        metrics=metrics)

    def save(self, path, **meta):
        """Write every parameter and the architecture to ``path`` (``.npz``, atomically, no pickle)."""
        config = dict(meta.pop("config", {}), n_ins=self.n_ins, hidden_layers_sizes=list(self.hidden_layers_sizes),
                      n_outs=self.n_outs, corruption_levels=list(self.corruption_levels),
                      corruption_type=self.corruption_type, sparsity_target=self.sparsity_target,
                      sparsity_weight=self.sparsity_weight)
        return save_params(path, params_to_arrays(self.all_params), config=config, model="SdA", **meta)

    @classmethod
    def load(cls, path):
        """An SdA with the architecture and parameters saved in ``path`` (``SdA_model.npz`` or :meth:`save`).

        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "sda.npz"
        >>> _ = SdA(0, n_ins=16, hidden_layers_sizes=(8, 4), n_outs=3, corruption_levels=(0.1, 0.2)).save(path)
        >>> SdA.load(path).hidden_layers_sizes
        (8, 4)
        """
        arrays, meta = load_params(path)
        config = meta.get("config") or {}
        try:
            sda = cls(0, n_ins=config["n_ins"], hidden_layers_sizes=config["hidden_layers_sizes"],
                      n_outs=config["n_outs"], corruption_levels=config["corruption_levels"],
                      corruption_type=config.get("corruption_type", "masking"),
                      sparsity_target=config.get("sparsity_target", 0.05),
                      sparsity_weight=config.get("sparsity_weight", 0.0))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, TutorialError):
                raise
            raise DataError(f"{path} is not a saved SdA (no valid architecture in it: {exc})") from None
        set_params_from_arrays(sda.all_params, arrays, source=str(path))
        sda.saved_meta = meta
        return sda

    def predict(self, X):
        """Predicted classes of numeric rows ``X`` (values in [0, 1])."""
        if self._predict_fn is None:
            self._predict_fn = host_function([self.x], self.logLayer.y_pred)
        X = validate_x(X, "input", unit_interval=True, n_features=self.n_ins).astype(self.x.dtype, copy=False)
        return self._predict_fn(X)

    def get_codes(self, X, layer=-1, chunk=1000):
        """Codes of hidden layer ``layer`` (default the top) for numeric rows ``X``."""
        X = validate_x(X, "input", unit_interval=True, n_features=self.n_ins)
        layer = range(self.n_layers)[layer]
        fn = self._codes_fns.get(layer)
        if fn is None:
            fn = self._codes_fns[layer] = host_function([self.x], self.sigmoid_layers[layer].output)
        X = X.astype(self.x.dtype, copy=False)
        return np.concatenate([fn(X[i:i + chunk]) for i in range(0, X.shape[0], chunk)] or
                              [np.zeros((0, self.hidden_layers_sizes[layer]), dtype=self.x.dtype)])


# -- the training run -------------------------------------------------------------------


def _check_options(finetune_lr, pretraining_epochs, pretrain_lr, training_epochs, batch_size, finetune, n_labels):
    check_positive(finetune_lr=finetune_lr, training_epochs=training_epochs, batch_size=batch_size)
    if pretraining_epochs < 0:
        raise TutorialError(f"pretraining_epochs must be >= 0, got {pretraining_epochs}")
    if pretraining_epochs > 0:
        check_positive(pretrain_lr=pretrain_lr)
    if finetune not in FINETUNE_MODES:
        raise TutorialError(f"finetune must be one of {FINETUNE_MODES}, got {finetune!r}")
    if n_labels is not None and n_labels < batch_size:
        raise TutorialError(f"n_labels must be at least the batch size {batch_size}, got {n_labels}")


def tutorial_corruption_levels(n_layers):
    """The tutorial's levels (0.1, 0.2, 0.3) for ``n_layers`` layers: cut, or extended with the last."""
    return tuple((TUTORIAL_CORRUPTION + (TUTORIAL_CORRUPTION[-1],) * n_layers)[:n_layers])


def _pretrain_phase(sda, ds, train_x, progress, checkpoint, *, epochs, lr, batch_size, precompute_codes, mode, path,
                    features, n_labels, folder, metrics, log):
    """Greedy layer-wise pretraining from ``progress``; then the filter image and the features table.

    Returns the phase's results, or None when Ctrl-C stopped it.
    """
    seconds = sda.pretrain(train_x, batch_size, epochs, lr, progress, checkpoint=checkpoint,
                           precompute_codes=precompute_codes, mode=mode, path=path, log=log, metrics=metrics)
    if seconds is None:
        return None
    results = {f"pretrain_layer{k}_seconds": s for k, s in seconds.items()}
    results["pretrain_seconds"] = sum(seconds.values())
    log(f"The pretraining code for file SdA.py ran for {results['pretrain_seconds'] / 60:.2f}m")
    if ds.image_shape is not None:
        image = folder.path / "filters_layer0.png"
        folder.save(image, "the first layer's filters", lambda: save_filters_image(
            sda.sigmoid_layers[0].W.get_value(), ds.image_shape, image), keep_previous=False)
        log(f"wrote {image}")
    if features:
        log("features from the pretrained network, scikit-learn logistic regression on each:")
        results["features"] = features_comparison(sda, ds, n_labels=n_labels, log=log)
        metrics.write(phase="features", **{k.replace(" ", "_"): v for k, v in results["features"].items()})
    return results


def _finetune_phase(sda, ds, train_xy, progress, checkpoint, *, finetune_mode, n_labels, batch_size, lr, epochs,
                    mode, path, metrics, log):
    """Supervised fine-tuning (all layers or the top only, on all or the first ``n_labels`` rows)."""
    if n_labels is None:
        datasets = [train_xy]
    else:
        datasets = [shared_dataset((ds.train[0][:n_labels], ds.train[1][:n_labels]), name="labelled")]
    datasets += [shared_dataset(ds.valid, name="valid"), shared_dataset(ds.test, name="test")]
    res = sda.fine_tune(datasets, batch_size, lr, progress, layers=finetune_mode, n_epochs=epochs, patience_epochs=10,
                        checkpoint=checkpoint, mode=mode, path=path, log=log, metrics=metrics)
    results = dict(best_validation_error=res.best_validation_loss, test_error=res.test_score,
                   finetune_epochs=res.epochs, finetune_seconds=res.seconds,
                   finetune_epoch_seconds=float(np.mean(res.epoch_seconds)) if res.epoch_seconds else None)
    if not res.interrupted:
        log(f"Optimization complete with best validation score of {res.best_validation_loss * 100:f} %, "
            f"on iteration {res.state.best_iter + 1}, with test performance {res.test_score * 100:f} %")
        log(f"The training code for file SdA.py ran for {res.seconds / 60:.2f}m ({res.epochs} epochs)")
    return results, res.interrupted


def run_SdA(
    dataset=None,
    finetune_lr=0.1,
    pretraining_epochs=15,
    pretrain_lr=0.001,
    training_epochs=1000,
    batch_size=1,
    hidden_layers_sizes=(1000, 1000, 1000),
    corruption_levels=None,
    finetune="all",
    n_labels=None,
    precompute_codes=True,
    seed=89677,
    output_dir="SdA_out",
    precision="float32",
    mode=None,
    data_dir=None,
    resume=False,
    features=False,
    corruption_type="masking",
    sparsity_target=0.05,
    sparsity_weight=0.0,
    train_path="auto",
    noise_source="auto",
    block_size=None,
    log=print,
):
    """The tutorial's ``test_SdA``: pretrain layer by layer, fine-tune, report, checkpoint.

    Writes to ``output_dir``: ``checkpoint.npz`` after every pretraining and fine-tuning
    epoch (``resume=True`` continues from it and ends with exactly the parameters of an
    uninterrupted run), ``filters_layer0.png`` after pretraining, ``SdA_model.npz`` (the
    final parameters) and ``metrics.jsonl``. ``n_labels`` fine-tunes on only the first N
    labelled training rows (pretraining always uses all rows). ``corruption_levels`` None
    takes the tutorial's levels for as many layers as there are. Without ``resume`` a run
    starts fresh, keeping an earlier checkpoint as ``checkpoint.previous.npz``; resuming a
    finished run rewrites nothing. ``train_path``, ``noise_source`` and ``block_size`` pick the
    step or block path (:func:`~autoencoders_tutorial.blocks.resolve_path`); the path is part
    of the checkpoint, and a resume on another is refused. Returns a dict of results.
    """
    _check_options(finetune_lr, pretraining_epochs, pretrain_lr, training_epochs, batch_size, finetune, n_labels)
    if corruption_levels is None:
        corruption_levels = tutorial_corruption_levels(len(hidden_layers_sizes))
        if len(hidden_layers_sizes) != len(TUTORIAL_CORRUPTION):
            log(f"corruption levels {list(corruption_levels)}: the tutorial's, cut or extended to "
                f"{len(hidden_layers_sizes)} layers (set them with corruption_levels, --corruption)")
    with RunFolder(output_dir) as folder, pytensor.config.change_flags(floatX=precision):
        out = folder.path
        ckpt = out / "checkpoint.npz"
        resume_hint = f"run again with resume=True (--resume) to continue from {ckpt}"
        ds = load_dataset(dataset, data_root=data_dir, log=log)
        validate_x(ds.train[0], what=f"{ds.name} train", unit_interval=True)
        if n_labels is not None and n_labels > ds.train[0].shape[0]:
            raise TutorialError(f"n_labels {n_labels} is more than the {ds.train[0].shape[0]} training rows")
        path = resolve_path(train_path, noise_source, block_size, mode)
        sda = SdA(numpy_rng=tutorial_rng(seed), n_ins=ds.n_features, hidden_layers_sizes=hidden_layers_sizes,
                  n_outs=ds.n_classes, corruption_levels=corruption_levels, corruption_type=corruption_type,
                  sparsity_target=sparsity_target, sparsity_weight=sparsity_weight)
        config = dict(dataset=ds.name, data_sha256=ds.fingerprint()[:16], n_ins=ds.n_features, hidden_layers_sizes=list(sda.hidden_layers_sizes),
                      n_outs=ds.n_classes, corruption_levels=list(sda.corruption_levels), batch_size=batch_size,
                      corruption_type=corruption_type, sparsity_target=sda.sparsity_target,
                      sparsity_weight=sda.sparsity_weight,
                      pretraining_epochs=pretraining_epochs, pretrain_lr=pretrain_lr, finetune_lr=finetune_lr,
                      finetune=finetune, n_labels=n_labels, seed=seed, precision=precision,
                      backend=resolved_backend(mode), train_path=path.name)
        progress = resume_or_start(ckpt, sda.all_params, sda.theano_rng, config, resume,
                                   Progress("pretrain" if pretraining_epochs > 0 else "finetune"), log)
        if ckpt.exists():
            folder.resume_hint = resume_hint
        if progress.phase == "done":
            es = progress.early_stopping
            log(f"the run in {out} is complete (best validation error {es.best_validation_loss * 100:f} %, test "
                f"error {es.test_score * 100:f} %); nothing to do. Start over with resume=False (--fresh)")
            return {"complete": True, "best_validation_error": es.best_validation_loss, "test_error": es.test_score,
                    "model": sda}
        if features and progress.phase != "pretrain":
            log("note: --features runs right after pretraining, which this run does not do (resumed past it, "
                "or --pretrain-epochs 0); skipped")

        def checkpoint(p):
            folder.save(ckpt, f"the checkpoint: {p.describe()}",
                        lambda **kw: save_checkpoint(ckpt, sda.all_params, sda.theano_rng, config, p, **kw))
            folder.resume_hint = resume_hint

        metrics = MetricsLog(out / "metrics.jsonl")
        train_x, train_y = shared_dataset(ds.train, name="train")
        log(f"dataset {ds.name}: {ds.train[0].shape[0]} training rows; hidden layers {list(sda.hidden_layers_sizes)}; "
            f"minibatch {batch_size}; engine {describe_mode(mode)}, {precision}; {path.describe()}")
        if path.note:
            log(path.note)
        results = {}
        if progress.phase == "pretrain":
            pre = _pretrain_phase(sda, ds, train_x, progress, checkpoint, epochs=pretraining_epochs, lr=pretrain_lr,
                                  batch_size=batch_size, precompute_codes=precompute_codes, mode=mode,
                                  path=path, features=features, n_labels=n_labels, folder=folder, metrics=metrics, log=log)
            if pre is None:
                folder.stop(results)
            results.update(pre)
        interrupted = False
        if progress.phase == "finetune":
            ft, interrupted = _finetune_phase(sda, ds, (train_x, train_y), progress, checkpoint,
                                              finetune_mode=finetune, n_labels=n_labels, batch_size=batch_size,
                                              lr=finetune_lr, epochs=training_epochs, mode=mode, path=path,
                                              metrics=metrics, log=log)
            results.update(ft)
        model = out / "SdA_model.npz"
        folder.save(model, "the network with the best fine-tuning parameters so far" if interrupted else "the trained network",
                    lambda **kw: sda.save(model, config=config, **kw, **({"interrupted": True} if interrupted else {})))
        if interrupted:
            folder.stop(dict(results, model=sda))
        log(f"wrote {model}, {ckpt} and {metrics.path} (run {metrics.run})")
    results["model"] = sda
    return results


def test_SdA(finetune_lr=0.1, pretraining_epochs=15, pretrain_lr=0.001, training_epochs=1000, dataset=None,
             batch_size=1, **kwargs):
    """The tutorial's name for :func:`run_SdA`."""
    return run_SdA(dataset=dataset, finetune_lr=finetune_lr, pretraining_epochs=pretraining_epochs,
                   pretrain_lr=pretrain_lr, training_epochs=training_epochs, batch_size=batch_size, **kwargs)


test_SdA.__test__ = False  # a demo, not a pytest test


def predict(model_path="SdA_out/SdA_model.npz", dataset=None, n=10, data_dir=None, log=print):
    """Load a saved SdA and print its predictions for the first ``n`` test rows (as ``logistic_sgd.predict``)."""
    sda = SdA.load(model_path)
    return predict_test_rows(sda.predict, sda.n_ins, model_path,
                             dataset if dataset is not None else sda.saved_meta.get("config", {}).get("dataset"),
                             n, data_dir, log)


def _cli(fresh=False, predict_only=False, **options):
    """The command line refuses to overwrite a checkpoint unless told; a Python call starts fresh."""
    if predict_only:
        return predict(options["output_dir"] / "SdA_model.npz", dataset=options["dataset"],
                       data_dir=options["data_dir"])
    ckpt = options["output_dir"] / "checkpoint.npz"
    if options["resume"] and fresh:
        raise TutorialError("--resume and --fresh contradict each other; pass one")
    if ckpt.exists() and not (options["resume"] or fresh):
        raise TutorialError(f"{ckpt} exists: pass --resume to continue that run, or --fresh to start over")
    return run_SdA(**options)


def main(argv=None) -> int:
    p = base_parser(__doc__, "examples:\n  python SdA.py --dataset fashion-mnist --batch-size 20 --pretrain-lr 0.1\n"
                    "  python SdA.py --dataset fashion-mnist --batch-size 20 --pretrain-lr 0.1 --n-labels 1000 "
                    "--output-dir few\n"
                    "  python SdA.py --resume   # continue an interrupted run",
                    epochs=1000, learning_rate=0.1, batch_size=1, seed=89677, output_dir="SdA_out",
                    epochs_kw="training_epochs", learning_rate_kw="finetune_lr",
                    epochs_help="fine-tuning epochs at most (early stopping)")
    p.add_argument("--pretrain-epochs", dest="pretraining_epochs", type=count, default=15,
                   help="pretraining epochs per layer (default %(default)s)")
    p.add_argument("--pretrain-lr", type=rate, default=0.001, help="pretraining learning rate (default %(default)s)")
    p.add_argument("--hidden", dest="hidden_layers_sizes", type=size, nargs="+", default=[1000, 1000, 1000],
                   help="hidden layer sizes (default 1000 1000 1000)")
    p.add_argument("--corruption", dest="corruption_levels", type=level, nargs="+", default=None,
                   help="corruption level of each layer (default 0.1 0.2 0.3, the last repeated for more layers)")
    add_noise_flags(p)
    p.add_argument("--finetune", choices=FINETUNE_MODES, default="all",
                   help="fine-tune the whole network (default) or only the top classifier")
    p.add_argument("--n-labels", type=size, default=None,
                   help="fine-tune on only the first N labelled training rows (pretraining uses all)")
    p.add_argument("--recompute-codes", dest="precompute_codes", action="store_false",
                   help="recompute lower layers for every minibatch instead of precomputing their codes once")
    p.add_argument("--features", action="store_true",
                   help="after pretraining, compare a logistic regression on raw pixels, codes, raw + codes")
    p.add_argument("--resume", action="store_true", help="continue from OUTPUT_DIR/checkpoint.npz")
    p.add_argument("--predict", dest="predict_only", action="store_true",
                   help="instead of training, load OUTPUT_DIR/SdA_model.npz and print the first test predictions")
    p.add_argument("--fresh", action="store_true",
                   help="start over even if OUTPUT_DIR has a checkpoint (kept as checkpoint.previous.npz)")
    return run_cli(p, argv, _cli)


if __name__ == "__main__":
    sys.exit(main())
