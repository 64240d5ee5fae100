"""scikit-learn estimators on the tutorial's models: ``DenoisingAutoencoder`` and ``SdAClassifier``.

They follow scikit-learn's conventions (``get_params`` / ``set_params``, nothing computed in ``__init__``,
fitted attributes ending in ``_``, its validation helpers, ``clone``, ``warm_start``), so they fit in a
``Pipeline`` or a grid search (``docs/howto/sklearn.md``), and run the ``dA`` / ``SdA`` classes on the
library's loops: no second implementation. The fitted state is numpy arrays only; compiled functions are
cached per estimator and never pickled: an unpickled (or ``load``-ed) estimator recompiles on first use, on
this machine's back end. ``est.save(path)`` / ``Cls.load(path)`` use the library's ``.npz`` files (no pickle).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

from autoencoders_tutorial import ondisk
from autoencoders_tutorial.datasets import shared_dataset
from autoencoders_tutorial.engine import host_function, pt, pytensor
from autoencoders_tutorial.errors import (TutorialError, check_corruption, check_positive, check_precision,
                                         check_sparsity, check_whole, diverged_hint)
from autoencoders_tutorial.graph import n_batches
from autoencoders_tutorial.modelfiles import check_fields
from autoencoders_tutorial.noise import reset_device_noise
from autoencoders_tutorial.paths import training_function
from autoencoders_tutorial.training import train_epochs
from dA import dA

from .estimator_base import UNLABELED, Compiled, TutorialEstimator, numpy_rng
from .sda_classifier import SdAClassifier

__all__ = ["DenoisingAutoencoder", "SdAClassifier", "UNLABELED"]


class DenoisingAutoencoder(TransformerMixin, TutorialEstimator):
    """A tied-weight denoising autoencoder (the tutorial's ``dA``) as a scikit-learn transformer.

    ``fit(X)`` trains it on unlabelled rows (``n_epochs`` of minibatch SGD; the minibatch is clipped to the
    rows given), ``partial_fit(X)`` runs one epoch, ``transform(X)`` gives the codes,
    ``inverse_transform(codes)`` the reconstructions, ``score(X)`` minus the mean reconstruction cost
    (higher is better).

    Cross-entropy needs inputs in [0, 1]: inputs outside it are min-max scaled per feature with the range
    learned in ``fit`` (later inputs are clipped to that range); ``scale=False`` refuses them, in one line.

    Parameters are those of ``dA`` and ``python dA.py``; ``random_state`` is None, an int, a RandomState or a
    Generator, ``precision`` "float32" or "float64", ``mode`` a ``--mode``, ``train_path`` "auto", "step" or
    "block" (a ``--train-path``).

    Attributes
    ----------
    components_ : ndarray (n_hidden, ``n_features_in_``), the encoder's weights ``W.T``
    n_features_in_ : int
    cost_curve_ : list of each epoch's mean training cost
    """

    _model_kind = "DenoisingAutoencoder"
    _script_model = "dA"
    _n_codes = property(lambda self: self.n_hidden)

    def __init__(self, n_hidden=500, *, corruption_level=0.3, corruption_type="masking", learning_rate=0.1,
                 n_epochs=15, batch_size=20, tied_weights=True, loss="cross_entropy", decoder="sigmoid",
                 sparsity_target=0.05, sparsity_weight=0.0, scale=True, random_state=None, warm_start=False,
                 precision="float32", mode=None, train_path="auto", verbose=False):
        self._keep_args(locals())

    def _check_hyper(self):
        check_whole(n_hidden=self.n_hidden, n_epochs=self.n_epochs, batch_size=self.batch_size)
        check_positive(learning_rate=self.learning_rate)
        check_corruption(self.corruption_level, kind=self.corruption_type)
        check_sparsity(self.sparsity_target, self.sparsity_weight, check_precision(self.precision))

    _scales = property(lambda self: self.loss == "cross_entropy")  # other losses take inputs as they are

    def _build(self, n_features, rng):
        x = pt.matrix("x", dtype=self._dtype())
        return dA(rng, input=x, n_visible=n_features, n_hidden=self.n_hidden, tied_weights=self.tied_weights,
                  loss=self.loss, decoder=self.decoder, corruption_type=self.corruption_type,
                  sparsity_target=self.sparsity_target, sparsity_weight=self.sparsity_weight)

    def _compiled_for(self, X, batch, fresh):
        key = (X.shape[1], batch, self.n_hidden, self.corruption_level, self.corruption_type, self.learning_rate,
               self.tied_weights, self.loss, self.decoder, self.sparsity_target, self.sparsity_weight,
               self.precision, self.mode, self.train_path)
        compiled = self._cache().get("compiled")
        with pytensor.config.change_flags(floatX=self._dtype()):
            if compiled is None or compiled.key != key:
                da = self._build(X.shape[1], numpy_rng(self.random_state) if fresh else 0)
                data, _ = shared_dataset((np.zeros((0, X.shape[1]), self._dtype()), None), name="X")  # set below
                cost, updates = da.get_cost_updates(self.corruption_level, self.learning_rate)
                step = training_function([(da.x, data)], cost, batch, updates, context=self._context())
                compiled = self._cache()["compiled"] = Compiled(key, da, data, step)
            elif fresh:  # same graph, new initial weights: drawn by a model that is never compiled
                init = self._build(X.shape[1], numpy_rng(self.random_state))
                for p, q in zip(compiled.model.params, init.params):
                    p.set_value(q.get_value(borrow=True))
                compiled.model.theano_rng.set_value(init.theano_rng.get_value(borrow=True), borrow=True)
                reset_device_noise(compiled.model.theano_rng)
        if not fresh:
            self._set_state(compiled.model.params, compiled.model.theano_rng)
        if isinstance(X, ondisk.DiskRows):  # a window at a time, in the order the rows in memory would run
            ondisk.feed([(compiled.data, X)])
            return compiled._replace(step=ondisk.StreamedSteps(compiled.step, ondisk.stream_of(compiled.data), batch))
        compiled.data.set_value(X, borrow=True)
        return compiled

    def _train(self, X, n_epochs, fresh):
        X = self._streamed(X, reset=fresh) if ondisk.is_lazy(X) else self._input(X, reset=fresh)
        self._check_hyper()
        batch = min(self.batch_size, X.shape[0])
        compiled = self._compiled_for(X, batch, fresh)
        try:
            res = train_epochs(compiled.step, n_batches(compiled.data, batch), n_epochs, context=self._context(),
                               label="[dA] ", diverged_hint=diverged_hint(self.sparsity_weight))
        finally:
            ondisk.forget(compiled.data)
        self._keep_state(compiled.model.params, compiled.model.theano_rng)
        compiled.data.set_value(np.zeros((0, X.shape[1]), dtype=self._dtype()))  # no stale copy of X
        compiled.step.release()  # nor on the device
        self.cost_curve_ = (getattr(self, "cost_curve_", []) if not fresh else []) + list(res.costs)
        if res.interrupted:
            raise KeyboardInterrupt
        return self

    def fit(self, X, y=None):
        """Train on the rows of ``X`` (``y`` is ignored) for ``n_epochs``; returns ``self``. A Dask array or a
        memory map is read a window at a time as it trains (scaled as rows in memory are, the range found in a
        first pass)."""
        return self._train(X, self.n_epochs, fresh=not (self.warm_start and hasattr(self, "params_")))

    def partial_fit(self, X, y=None):
        """One epoch over ``X``, continuing from the current parameters (starting them if unfitted)."""
        return self._train(X, 1, fresh=not hasattr(self, "params_"))

    @property
    def components_(self):
        check_is_fitted(self)
        return next(v for k, v in self.params_.items() if k.endswith(".W")).T

    def transform(self, X):
        """The codes of ``X``: ``sigmoid(X W + b)``, shape (n_samples, n_hidden)."""
        X, da = self._input(X), self._model()
        return self._host("transform", lambda: host_function([da.x], da.get_hidden_values(da.x)))(X)

    def inverse_transform(self, X):
        """Reconstructions of codes ``X`` (n_samples, n_hidden), in the fitted input scale."""
        da = self._model()
        try:
            given = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TutorialError(f"codes must be numbers, shape (n_samples, {self.n_hidden}): {exc}") from None
        if given.ndim != 2 or given.shape[1] != self.n_hidden:
            raise TutorialError(f"codes must have shape (n_samples, {self.n_hidden}), got {given.shape}")
        with np.errstate(over="ignore"):
            codes = given.astype(self._dtype())
        bad = np.argwhere(~np.isfinite(codes))
        if bad.size:  # as transform refuses NaN and infinity in its input
            v = given[tuple(bad[0])]
            raise TutorialError(f"codes must be finite numbers, got {'NaN' if np.isnan(v) else f'{v:g}'} in row "
                                f"{bad[0][0]}{f', too large for {self._dtype()}' if np.isfinite(v) else ''}")
        h = pt.matrix("h", dtype=self._dtype())
        Z = self._host("inverse", lambda: host_function([h], da.get_reconstructed_input(h)))(codes)
        if getattr(self, "data_min_", None) is not None:
            Z = Z * self.data_range_ + self.data_min_
        return Z

    def score(self, X, y=None):
        """Minus the mean reconstruction cost of ``X`` (clean, no noise): higher is better; the score a search
        (``GridSearchCV``, dask-ml's ``HyperbandSearchCV``) maximises. A Dask array or a memory map is scored a
        window at a time."""
        da = self._model()
        cost = pt.mean(da.get_reconstruction_cost(da.x, da.get_hidden_values(da.x)))
        fn = self._host("score", lambda: host_function([da.x], cost))
        if not ondisk.is_lazy(X):
            return -float(fn(self._input(X)))
        rows = self._lazy_rows(X)
        return -sum(float(fn(self._scaled(b, False))) * len(b) for _, b in rows.blocks(self._dtype())) / len(rows)

    def __sklearn_tags__(self):
        return self._tags(super().__sklearn_tags__())

    def _fitted_meta(self):
        return {"n_features_in": int(self.n_features_in_), "cost_curve": [float(c) for c in self.cost_curve_]}

    def _restore(self, arrays, meta):
        super()._restore(arrays, meta)
        self.cost_curve_ = list(meta.get("cost_curve", []))

    @classmethod
    def _from_script_model(cls, path, meta):
        """A fitted estimator from a dA that ``python dA.py`` (or ``dA.save``) wrote: the same parameters."""
        check_fields(path, meta, precision=check_precision)  # before loading in it; dA.load checks the rest
        with pytensor.config.change_flags(floatX=meta.get("precision", "float32")):
            da = dA.load(path)
        est = cls(n_hidden=da.n_hidden, corruption_level=float(meta.get("corruption_level", 0.3)),
                  corruption_type=da.corruption_type, tied_weights=da.tied_weights, loss=da.loss, decoder=da.decoder,
                  sparsity_target=da.sparsity_target, sparsity_weight=da.sparsity_weight,
                  precision=meta.get("precision", "float32"))
        est._fitted_from(da.params, da.theano_rng, da.n_visible)
        est.cost_curve_ = []
        return est
