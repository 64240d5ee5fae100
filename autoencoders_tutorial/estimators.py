"""scikit-learn estimators on the tutorial's models: ``DenoisingAutoencoder`` and ``SdAClassifier``.

They follow scikit-learn's conventions (``get_params`` / ``set_params``, nothing
computed in ``__init__``, fitted attributes ending in ``_``, validation with its
helpers, ``clone`` gives an unfitted copy, ``warm_start``) and are built on the existing
``dA`` / ``SdA`` classes and the library's loops (:func:`.training.train_epochs`,
:meth:`SdA.pretrain`, :meth:`SdA.fine_tune`, the script's own phases): no second
implementation. So they fit in a ``Pipeline``, a ``FeatureUnion`` or a grid search::

    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC
    from autoencoders_tutorial.estimators import DenoisingAutoencoder
    model = make_pipeline(DenoisingAutoencoder(n_hidden=500, corruption_level=0.3), SVC())

The fitted state is numpy arrays only. Compiled functions are cached per estimator by
the shapes and hyper-parameters they were built for and are never pickled: an
unpickled (or ``load``-ed) estimator recompiles on first use, on whatever back end this
machine has. ``est.save(path)`` / ``Cls.load(path)`` use the library's ``.npz`` files (no
pickle on disk).

This module imports the model files (``dA.py``, ``SdA.py``); the package's ``__init__``
does not import it.
"""

from __future__ import annotations

import numbers
import weakref

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils import check_random_state as sk_check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .blocks import device_noise_state, reset_device_noise, resolve_path, set_device_noise_state
from .datasets import shared_dataset
from .engine import host_function, pt, pytensor, sync_shared
from .errors import TutorialError, check_corruption, check_positive, check_sparsity
from .files import load_params, params_to_arrays, save_params, set_params_from_arrays
from .graph import n_batches, training_function
from .layerwise import Progress
from .rng import generator_from_state
from .training import train_epochs

#: The label of an unlabelled row: -1 for numeric labels; "-1" or None for string / object labels.
UNLABELED = -1


def _quiet(*_):
    pass


def _numpy_rng(random_state):
    """A numpy generator for initial weights: an int seeds the tutorial's ``RandomState``."""
    if isinstance(random_state, np.random.Generator):
        return np.random.default_rng(random_state.integers(2**32))  # a child: the caller's is advanced once
    if random_state is None or isinstance(random_state, (numbers.Integral, np.random.RandomState)):
        return sk_check_random_state(random_state)
    raise TutorialError(f"random_state must be None, an int, a RandomState or a Generator, got {random_state!r}")


class _Compiled:
    """What one fit compiles: the model, its shared data and training step; cached by ``key``, never pickled."""

    def __init__(self, key, model, data, step):
        self.key, self.model, self.data, self.step = key, model, data, step


#: Each estimator's compiled functions and models, outside the estimator itself: so they are
#: never pickled or copied, and predicting does not change the estimator's ``__dict__``.
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _TutorialEstimator(BaseEstimator):
    """What both estimators share: the floatX scope, input scaling, the cache and ``.npz`` files."""

    _model_kind = ""

    def _cache(self) -> dict:
        return _CACHE.setdefault(self, {})

    def _dtype(self):
        return "float32" if self.precision == "float32" else "float64"

    def _host(self, name, build):
        """A C function (safe after JAX training) or model, built once per fitted state."""
        fns = self._cache().setdefault("host", {})
        if name not in fns:
            fns[name] = build()
        return fns[name]

    def _fitted_now(self):
        """A new fitted state: what was built from the old one is stale."""
        self._cache().pop("host", None)

    def _keep_state(self, params, rng):
        """The fitted state: the trained ``params`` and the noise generator ``rng``, as numpy values."""
        sync_shared()
        self.params_ = params_to_arrays(params)
        self.noise_state_ = rng.get_value(borrow=True).bit_generator.state
        self.device_noise_state_ = device_noise_state(rng)  # the block path's device generator, if it ran
        self._fitted_now()

    def _set_state(self, params, rng):
        """Put the fitted state back into a model's ``params`` and ``rng`` (to continue training)."""
        set_params_from_arrays(params, self.params_, source="fitted state")
        rng.set_value(generator_from_state(self.noise_state_), borrow=True)
        if getattr(self, "device_noise_state_", None) is not None:
            set_device_noise_state(rng, self.device_noise_state_)

    def _fitted_arrays(self) -> dict:
        """Fitted arrays beside the parameters: the min-max scaling, when ``fit`` learned one."""
        if getattr(self, "data_min_", None) is None:
            return {}
        return {"data_min": self.data_min_, "data_range": self.data_range_}

    def _restore(self, arrays, meta) -> None:
        self.n_features_in_ = int(meta["n_features_in"])
        self.data_min_ = arrays.get("data_min")
        self.data_range_ = arrays.get("data_range")

    def _scaled(self, X, reset):
        """``X`` in [0, 1], in the model's precision: min-max scaled per feature with the range learned
        when ``reset`` (``fit``) if it lies outside [0, 1] and ``scale`` is on; else refused in one line."""
        if reset:
            lo, hi = X.min(axis=0), X.max(axis=0)
            outside = bool(X.size) and (lo.min() < 0 or hi.max() > 1)
            if outside and not self.scale:
                raise TutorialError(f"inputs must lie in [0, 1] for cross-entropy, got range [{lo.min():.4g}, "
                                    f"{hi.max():.4g}]; scale them first, or use scale=True")
            self.data_min_ = lo if outside else None
            self.data_range_ = np.where(hi > lo, hi - lo, 1.0) if outside else None
        if getattr(self, "data_min_", None) is not None:
            X = np.clip((X - self.data_min_) / self.data_range_, 0.0, 1.0)
        elif not reset and X.size and (X.min() < 0 or X.max() > 1):
            X = np.clip(X, 0.0, 1.0)  # fitted on [0, 1] data: keep later inputs in the same range
        return X.astype(self._dtype(), copy=False)

    def _tags(self, tags):
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = [self._dtype()]  # the model's precision, whatever comes in
        return tags

    # -- files ---------------------------------------------------------------------------

    def save(self, path):
        """Write the hyper-parameters and fitted arrays to ``path`` (``.npz``, atomically, no pickle)."""
        check_is_fitted(self)
        arrays = {"param." + k: v for k, v in self.params_.items()}
        arrays.update({"fitted." + k: np.asarray(v) for k, v in self._fitted_arrays().items()})
        return save_params(path, arrays, model=self._model_kind, estimator=self.get_params(),
                           noise_state=self.noise_state_, device_noise_state=getattr(self, "device_noise_state_", None),
                           **self._fitted_meta())

    @classmethod
    def load(cls, path):
        """An estimator with the hyper-parameters and fitted state saved in ``path`` by :meth:`save`."""
        from .errors import DataError

        arrays, meta = load_params(path)
        if meta.get("model") != cls._model_kind or not isinstance(meta.get("estimator"), dict):
            raise DataError(f"{path} is not a saved {cls.__name__} (model={meta.get('model')!r})")
        est = cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in meta["estimator"].items()})
        est.params_ = {k[6:]: v for k, v in arrays.items() if k.startswith("param.")}
        est.noise_state_ = meta["noise_state"]
        est.device_noise_state_ = meta.get("device_noise_state")
        est._restore({k[7:]: v for k, v in arrays.items() if k.startswith("fitted.")}, meta)
        return est

    def _fitted_meta(self) -> dict:
        return {}


# -- the denoising autoencoder ---------------------------------------------------------------------


class DenoisingAutoencoder(TransformerMixin, _TutorialEstimator):
    """A tied-weight denoising autoencoder (the tutorial's ``dA``) as a scikit-learn transformer.

    ``fit(X)`` trains it on unlabelled rows (``n_epochs`` of minibatch SGD; the
    minibatch is clipped to the rows given), ``partial_fit(X)`` runs one epoch,
    ``transform(X)`` gives the codes, ``inverse_transform(codes)`` the reconstructions,
    ``score(X)`` minus the mean reconstruction cost (higher is better).

    Cross-entropy needs inputs in [0, 1]: inputs outside it are min-max scaled per
    feature with the range learned in ``fit`` (later inputs are clipped to that range);
    ``scale=False`` refuses them instead, in one line.

    Parameters are those of ``dA`` and ``python dA.py``: ``n_hidden``,
    ``corruption_level``, ``corruption_type``, ``learning_rate``, ``n_epochs``,
    ``batch_size``, ``tied_weights``, ``loss``, ``decoder``, ``sparsity_target``,
    ``sparsity_weight``; ``random_state`` (None, int, RandomState or Generator),
    ``warm_start``, ``precision`` ("float32" or "float64"), ``mode`` (a ``--mode``),
    ``train_path`` ("auto", "step" or "block", a ``--train-path``).

    Attributes
    ----------
    components_ : ndarray (n_hidden, n_features_in_), the encoder's weights ``W.T``
    n_features_in_ : int
    cost_curve_ : list of each epoch's mean training cost
    """

    _model_kind = "DenoisingAutoencoder"

    def __init__(self, n_hidden=500, *, corruption_level=0.3, corruption_type="masking", learning_rate=0.1,
                 n_epochs=15, batch_size=20, tied_weights=True, loss="cross_entropy", decoder="sigmoid",
                 sparsity_target=0.05, sparsity_weight=0.0, scale=True, random_state=None, warm_start=False,
                 precision="float32", mode=None, train_path="auto", verbose=False):
        self.n_hidden = n_hidden
        self.corruption_level = corruption_level
        self.corruption_type = corruption_type
        self.learning_rate = learning_rate
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.tied_weights = tied_weights
        self.loss = loss
        self.decoder = decoder
        self.sparsity_target = sparsity_target
        self.sparsity_weight = sparsity_weight
        self.scale = scale
        self.random_state = random_state
        self.warm_start = warm_start
        self.precision = precision
        self.mode = mode
        self.train_path = train_path
        self.verbose = verbose

    # -- input ------------------------------------------------------------------------------

    def _check_hyper(self):
        check_positive(n_hidden=self.n_hidden, learning_rate=self.learning_rate, n_epochs=self.n_epochs,
                       batch_size=self.batch_size)
        check_corruption(self.corruption_level, kind=self.corruption_type)
        check_sparsity(self.sparsity_target, self.sparsity_weight)
        if self.precision not in ("float32", "float64"):
            raise TutorialError(f"precision must be float32 or float64, got {self.precision!r}")

    def _input(self, X, reset):
        X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])
        if self.loss != "cross_entropy":
            return X.astype(self._dtype(), copy=False)
        return self._scaled(X, reset)

    # -- the model and its compiled step -----------------------------------------------------

    def _build(self, n_features, rng):
        from dA import dA

        x = pt.matrix("x", dtype=self._dtype())
        return dA(rng, input=x, n_visible=n_features, n_hidden=self.n_hidden, tied_weights=self.tied_weights,
                  loss=self.loss, decoder=self.decoder, corruption_type=self.corruption_type,
                  sparsity_target=self.sparsity_target, sparsity_weight=self.sparsity_weight)

    def _compiled_for(self, X, batch, fresh):
        key = (X.shape[1], batch, self.n_hidden, self.corruption_level, self.corruption_type, self.learning_rate,
               self.tied_weights, self.loss, self.decoder, self.sparsity_target, self.sparsity_weight,
               self.precision, self.mode, self.train_path)
        compiled = self._cache().get("compiled")
        if compiled is None or compiled.key != key:
            with pytensor.config.change_flags(floatX=self._dtype()):
                da = self._build(X.shape[1], _numpy_rng(self.random_state) if fresh else 0)
                data, _ = shared_dataset((X, np.zeros(len(X))), name="X")
                cost, updates = da.get_cost_updates(self.corruption_level, self.learning_rate)
                step = training_function([(da.x, data)], cost, batch, updates, mode=self.mode,
                                         path=resolve_path(self.train_path, mode=self.mode))
            compiled = self._cache()["compiled"] = _Compiled(key, da, data, step)
        elif fresh:  # same graph, new initial weights: drawn by a model that is never compiled
            with pytensor.config.change_flags(floatX=self._dtype()):
                init = self._build(X.shape[1], _numpy_rng(self.random_state))
            for p, q in zip(compiled.model.params, init.params):
                p.set_value(q.get_value(borrow=True))
            compiled.model.theano_rng.set_value(init.theano_rng.get_value(borrow=True), borrow=True)
            reset_device_noise(compiled.model.theano_rng)
        if not fresh:
            self._set_state(compiled.model.params, compiled.model.theano_rng)
        compiled.data.set_value(X, borrow=True)
        return compiled

    def _train(self, X, n_epochs, fresh):
        self._check_hyper()
        batch = min(self.batch_size, X.shape[0])
        compiled = self._compiled_for(X, batch, fresh)
        log = print if self.verbose else _quiet
        res = train_epochs(compiled.step, n_batches(compiled.data, batch), n_epochs, log=log,
                           label="[dA] ")
        self._keep_state(compiled.model.params, compiled.model.theano_rng)
        compiled.data.set_value(np.zeros((0, X.shape[1]), dtype=self._dtype()))  # no stale copy of X
        if hasattr(compiled.step, "release"):
            compiled.step.release()  # nor on the device
        self.cost_curve_ = (getattr(self, "cost_curve_", []) if not fresh else []) + list(res.costs)
        if res.interrupted:
            raise KeyboardInterrupt
        return self

    def fit(self, X, y=None):
        """Train on the rows of ``X`` (``y`` is ignored) for ``n_epochs``; returns ``self``."""
        fresh = not (self.warm_start and hasattr(self, "params_"))
        X = self._input(X, reset=fresh)
        return self._train(X, self.n_epochs, fresh)

    def partial_fit(self, X, y=None):
        """One epoch over ``X``, continuing from the current parameters (starting them if unfitted)."""
        fresh = not hasattr(self, "params_")
        X = self._input(X, reset=fresh)
        return self._train(X, 1, fresh)

    # -- fitted ----------------------------------------------------------------------------

    def _model(self):
        check_is_fitted(self)

        def build():
            with pytensor.config.change_flags(floatX=self._dtype()):
                da = self._build(self.n_features_in_, 0)
            set_params_from_arrays(da.params, self.params_, source="fitted state")
            return da

        return self._host("model", build)

    def _W(self):
        return next(v for k, v in self.params_.items() if k.endswith(".W"))

    @property
    def components_(self):
        check_is_fitted(self)
        return self._W().T

    def transform(self, X):
        """The codes of ``X``: ``sigmoid(X W + b)``, shape (n_samples, n_hidden)."""
        X = self._input(X, reset=False)
        da = self._model()
        return self._host("transform", lambda: host_function([da.x], da.get_hidden_values(da.x)))(X)

    def inverse_transform(self, X):
        """Reconstructions of codes ``X`` (n_samples, n_hidden), in the fitted input scale."""
        check_is_fitted(self)
        da = self._model()
        codes = np.asarray(X, dtype=self._dtype())
        if codes.ndim != 2 or codes.shape[1] != self.n_hidden:
            raise TutorialError(f"codes must have shape (n_samples, {self.n_hidden}), got {codes.shape}")
        h = pt.matrix("h", dtype=self._dtype())
        Z = self._host("inverse", lambda: host_function([h], da.get_reconstructed_input(h)))(codes)
        if getattr(self, "data_min_", None) is not None:
            Z = Z * self.data_range_ + self.data_min_
        return Z

    def score(self, X, y=None):
        """Minus the mean reconstruction cost of ``X`` (clean, no noise): higher is better."""
        X = self._input(X, reset=False)
        da = self._model()
        cost = pt.mean(da.get_reconstruction_cost(da.x, da.get_hidden_values(da.x)))
        return -float(self._host("score", lambda: host_function([da.x], cost))(X))

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self)
        return np.asarray([f"dA{i}" for i in range(self.n_hidden)], dtype=object)

    def __sklearn_tags__(self):
        return self._tags(super().__sklearn_tags__())

    def _fitted_meta(self):
        return {"n_features_in": int(self.n_features_in_), "cost_curve": [float(c) for c in self.cost_curve_]}

    def _restore(self, arrays, meta):
        super()._restore(arrays, meta)
        self.cost_curve_ = list(meta.get("cost_curve", []))


# -- the stacked denoising autoencoder as a classifier ------------------------------------------------


class SdAClassifier(ClassifierMixin, TransformerMixin, _TutorialEstimator):
    """The tutorial's ``SdA`` as a semi-supervised scikit-learn classifier.

    ``fit(X, y, *, X_val=None, y_val=None)`` pretrains the dA layers greedily on every
    row of ``X``, then fine-tunes on the labelled ones. An unlabelled row has the label
    -1 (scikit-learn's convention, as in ``SelfTrainingClassifier``), or "-1" / None
    for string and object labels. Early stopping watches ``X_val, y_val`` when given,
    else ``validation_fraction`` of the labelled rows (drawn with ``random_state``), else,
    with too few labelled rows for that, the training error.

    Parameters follow ``python SdA.py`` (``hidden_layers_sizes``, ``corruption_levels``
    (None: the tutorial's 0.1, 0.2, 0.3, cut or extended), ``corruption_type``,
    ``pretraining_epochs``, ``pretrain_lr``, ``finetune_lr``, ``max_epochs``,
    ``batch_size``, ``finetune`` ("all" or "top"), ``sparsity_*``), with the README's
    measured settings as defaults (minibatch 20, pretraining rate 0.1) rather than the
    tutorial's minibatch of 1. ``patience`` is in epochs (the script's 10).

    Attributes: ``classes_``, ``n_features_in_``, ``best_validation_error_``,
    ``n_epochs_`` (fine-tuning epochs run).
    """

    _model_kind = "SdAClassifier"

    def __init__(self, hidden_layers_sizes=(1000, 1000, 1000), *, corruption_levels=None,
                 corruption_type="masking", pretraining_epochs=15, pretrain_lr=0.1, finetune_lr=0.1,
                 max_epochs=1000, batch_size=20, finetune="all", patience=10, validation_fraction=0.1,
                 sparsity_target=0.05, sparsity_weight=0.0, scale=True, random_state=None, warm_start=False,
                 precision="float32", mode=None, train_path="auto", verbose=False):
        self.hidden_layers_sizes = hidden_layers_sizes
        self.corruption_levels = corruption_levels
        self.corruption_type = corruption_type
        self.pretraining_epochs = pretraining_epochs
        self.pretrain_lr = pretrain_lr
        self.finetune_lr = finetune_lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.finetune = finetune
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.sparsity_target = sparsity_target
        self.sparsity_weight = sparsity_weight
        self.scale = scale
        self.random_state = random_state
        self.warm_start = warm_start
        self.precision = precision
        self.mode = mode
        self.train_path = train_path
        self.verbose = verbose

    def _levels(self):
        from SdA import tutorial_corruption_levels

        sizes = tuple(self.hidden_layers_sizes)
        return tuple(self.corruption_levels) if self.corruption_levels is not None else tutorial_corruption_levels(len(sizes))

    def _check_hyper(self):
        from SdA import FINETUNE_MODES

        check_positive(finetune_lr=self.finetune_lr, max_epochs=self.max_epochs, batch_size=self.batch_size,
                       patience=self.patience)
        if self.pretraining_epochs < 0:
            raise TutorialError(f"pretraining_epochs must be >= 0, got {self.pretraining_epochs}")
        if self.pretraining_epochs:
            check_positive(pretrain_lr=self.pretrain_lr)
        if self.finetune not in FINETUNE_MODES:
            raise TutorialError(f"finetune must be one of {FINETUNE_MODES}, got {self.finetune!r}")
        if not 0 <= self.validation_fraction < 1:
            raise TutorialError(f"validation_fraction must be in [0, 1), got {self.validation_fraction}")
        check_sparsity(self.sparsity_target, self.sparsity_weight)

    @staticmethod
    def _labelled_mask(y):
        if y.dtype.kind in "iuf":
            return y != UNLABELED
        return np.array([v is not None and str(v) != "-1" for v in y], dtype=bool)

    def _build(self, n_features, n_classes, rng):
        from SdA import SdA

        with pytensor.config.change_flags(floatX=self._dtype()):
            return SdA(numpy_rng=rng, n_ins=n_features, hidden_layers_sizes=tuple(self.hidden_layers_sizes),
                       n_outs=n_classes, corruption_levels=self._levels(), corruption_type=self.corruption_type,
                       sparsity_target=self.sparsity_target, sparsity_weight=self.sparsity_weight)

    def fit(self, X, y, *, X_val=None, y_val=None):
        """Pretrain on every row of ``X``, fine-tune on the labelled ones; returns ``self``."""
        self._check_hyper()
        fresh = not (self.warm_start and hasattr(self, "params_"))
        X, y = validate_data(self, X, y, reset=fresh, dtype=[np.float64, np.float32], y_numeric=False)
        X = self._scaled(X, reset=fresh)
        labelled = self._labelled_mask(y)
        if not labelled.any():
            raise TutorialError("no labelled rows: every label is -1 (unlabelled); label some rows")
        y_l = y[labelled]
        check_classification_targets(y_l)
        classes, codes = np.unique(y_l, return_inverse=True)
        if not fresh and not np.array_equal(classes, self.classes_):
            raise TutorialError(f"warm_start: the labels {list(classes)} differ from the fitted classes "
                                f"{list(self.classes_)}; fit afresh (warm_start=False)")
        self.classes_ = classes
        X_l = X[labelled]
        if X_val is not None:
            X_val = self._scaled(validate_data(self, X_val, reset=False, dtype=[np.float64, np.float32]), reset=False)
            y_val = np.asarray(y_val)
            known = np.isin(y_val, classes)
            if not known.all():
                raise TutorialError(f"y_val holds labels that y does not: {sorted(set(y_val[~known].tolist()))[:5]}")
            X_fit, y_fit, v_codes = X_l, codes, np.searchsorted(classes, y_val)
        else:
            n_val = int(round(self.validation_fraction * len(y_l)))
            if n_val >= 1 and len(y_l) - n_val >= 1:
                perm = sk_check_random_state(self._split_seed()).permutation(len(y_l))
                val, tr = perm[:n_val], perm[n_val:]
                X_fit, y_fit, X_val, v_codes = X_l[tr], codes[tr], X_l[val], codes[val]
            else:  # too few labelled rows to hold some out: watch the training error
                X_fit, y_fit, X_val, v_codes = X_l, codes, X_l, codes
        rng = _numpy_rng(self.random_state) if fresh else 0
        sda = self._build(X.shape[1], len(classes), rng)
        if not fresh:
            self._set_state(sda.all_params, sda.theano_rng)
        self._run(sda, X, X_fit, y_fit, X_val, v_codes, pretrain=fresh)
        return self

    def _split_seed(self):
        rs = self.random_state
        return rs if isinstance(rs, (numbers.Integral, type(None))) else 0

    def _run(self, sda, X_all, X_fit, y_fit, X_val, y_val, pretrain):
        """The script's two phases (``SdA.pretrain``, ``SdA.fine_tune``) on arrays, with no files."""
        log = print if self.verbose else _quiet
        batch = min(self.batch_size, len(X_fit), len(X_all))
        with pytensor.config.change_flags(floatX=self._dtype()):
            path = resolve_path(self.train_path, mode=self.mode)
            if pretrain and self.pretraining_epochs:
                train_x, _ = shared_dataset((X_all, np.zeros(len(X_all))), name="pretrain")
                if sda.pretrain(train_x, batch, self.pretraining_epochs, self.pretrain_lr, Progress(), mode=self.mode,
                                path=path, log=log) is None:
                    raise KeyboardInterrupt
            datasets = [shared_dataset((X_fit, y_fit), name="labelled"), shared_dataset((X_val, y_val), name="valid")]
            res = sda.fine_tune(datasets, batch, self.finetune_lr, Progress("finetune"), layers=self.finetune,
                                n_epochs=self.max_epochs, patience_epochs=self.patience, mode=self.mode, path=path,
                                log=log)
        self._keep_state(sda.all_params, sda.theano_rng)
        self.best_validation_error_ = float(res.best_validation_loss)
        self.n_epochs_ = int(res.epochs)
        if res.interrupted:
            raise KeyboardInterrupt

    # -- fitted ----------------------------------------------------------------------------

    def _model(self):
        check_is_fitted(self)

        def build():
            sda = self._build(self.n_features_in_, len(self.classes_), 0)
            set_params_from_arrays(sda.all_params, self.params_, source="fitted state")
            return sda

        return self._host("model", build)

    def _rows(self, X):
        check_is_fitted(self)
        return self._scaled(validate_data(self, X, reset=False, dtype=[np.float64, np.float32]), reset=False)

    def decision_function(self, X):
        """The logistic layer's scores (``x W + b`` of the top codes); for two classes, the second minus the first."""
        X = self._rows(X)
        sda = self._model()
        top = sda.logLayer
        scores = self._host("scores", lambda: host_function([sda.x], pt.dot(top.input, top.W) + top.b))(X)
        return scores[:, 1] - scores[:, 0] if len(self.classes_) == 2 else scores

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``."""
        X = self._rows(X)
        sda = self._model()
        return self._host("proba", lambda: host_function([sda.x], sda.logLayer.p_y_given_x))(X)

    def predict(self, X):
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        return self._tags(super().__sklearn_tags__())

    def score(self, X, y, sample_weight=None):
        """Accuracy on the labelled rows of ``(X, y)`` (rows labelled -1 are left out)."""
        y = np.asarray(y)
        keep = self._labelled_mask(y)
        X = np.asarray(X)[keep] if not hasattr(X, "iloc") else X.iloc[keep]
        w = None if sample_weight is None else np.asarray(sample_weight)[keep]
        return super().score(X, y[keep], sample_weight=w)

    def transform(self, X, layer=-1):
        """The codes of hidden layer ``layer`` (default the top), or of all layers side by side (``layer="all"``)."""
        X = self._rows(X)
        sda = self._model()
        if layer == "all":
            return np.hstack([sda.get_codes(X, k) for k in range(sda.n_layers)])
        return sda.get_codes(X, layer)

    def _fitted_arrays(self):
        return dict(super()._fitted_arrays(), classes=self.classes_)

    def _fitted_meta(self):
        return {"n_features_in": int(self.n_features_in_), "best_validation_error": self.best_validation_error_,
                "n_epochs": self.n_epochs_}

    def _restore(self, arrays, meta):
        super()._restore(arrays, meta)
        self.classes_ = arrays["classes"]
        self.best_validation_error_ = meta["best_validation_error"]
        self.n_epochs_ = meta["n_epochs"]


__all__ = ["DenoisingAutoencoder", "SdAClassifier", "UNLABELED"]
