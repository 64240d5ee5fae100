"""The scikit-learn ``SdAClassifier``: the tutorial's SdA as a semi-supervised classifier, fitted by the
script's two phases (``SdA.pretrain``, ``SdA.fine_tune``) on arrays, with no files. What both estimators
share is in :mod:`.estimator_base`; :mod:`.estimators` re-exports this class."""

from __future__ import annotations

import numbers

import numpy as np
from scipy.sparse import issparse
from sklearn.base import ClassifierMixin, TransformerMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from autoencoders_tutorial.datasets import shared_dataset
from autoencoders_tutorial.engine import host_function, pt, pytensor
from autoencoders_tutorial.errors import TutorialError, check_corruption, check_precision, check_sparsity, check_whole
from autoencoders_tutorial.memory import check_fits
from autoencoders_tutorial.modelfiles import check_fields
from autoencoders_tutorial.ondisk import is_lazy, open_rows
from autoencoders_tutorial.rng import check_random_state
from SdA import SdA, check_options, tutorial_corruption_levels

from .estimator_base import UNLABELED, TutorialEstimator, numpy_rng


class SdAClassifier(ClassifierMixin, TransformerMixin, TutorialEstimator):
    """The tutorial's ``SdA`` as a semi-supervised scikit-learn classifier.

    ``fit(X, y, *, X_val=None, y_val=None)`` pretrains the dA layers greedily on every row of ``X``, then
    fine-tunes on the labelled ones. An unlabelled row has the label -1 (scikit-learn's convention, as in
    ``SelfTrainingClassifier``), or "-1" / None for string and object labels. Early stopping watches
    ``X_val, y_val`` when given, else ``validation_fraction`` of the labelled rows (drawn with
    ``random_state``), else, with too few labelled rows for that, the training error.

    Parameters follow ``python SdA.py`` (``corruption_levels=None``: the tutorial's 0.1, 0.2, 0.3, cut or
    extended; ``finetune``: "all" or "top"), with the README's measured settings as defaults (minibatch 20,
    pretraining rate 0.1) rather than the tutorial's minibatch of 1; ``patience_epochs`` is the early stopping's
    patience in epochs (the script's 10; the tutorial's logistic regression counts minibatch iterations).

    Attributes: ``classes_``, ``n_features_in_``, ``best_validation_error_``, ``n_epochs_`` (fine-tuning
    epochs run).
    """

    _model_kind = "SdAClassifier"
    _script_model = "SdA"
    _RENAMED = {"patience": "patience_epochs"}
    _params_attr = "all_params"
    _n_codes = property(lambda self: self.hidden_layers_sizes[-1])

    def __init__(self, hidden_layers_sizes=(1000, 1000, 1000), *, corruption_levels=None,
                 corruption_type="masking", pretraining_epochs=15, pretrain_lr=0.1, finetune_lr=0.1,
                 max_epochs=1000, batch_size=20, finetune="all", patience_epochs=10, validation_fraction=0.1,
                 sparsity_target=0.05, sparsity_weight=0.0, scale=True, random_state=None, warm_start=False,
                 precision="float32", mode=None, train_path="auto", verbose=False):
        self._keep_args(locals())

    def _levels(self):
        levels = self.corruption_levels
        return tutorial_corruption_levels(len(tuple(self.hidden_layers_sizes))) if levels is None else tuple(levels)

    def _check_hyper(self):
        for name in ("hidden_layers_sizes", "corruption_levels"):
            value = getattr(self, name)
            sequence = isinstance(value, (list, tuple)) or isinstance(value, np.ndarray) and value.ndim == 1
            if not (sequence or value is None and name == "corruption_levels"):
                raise TutorialError(f"{name} must be a sequence of numbers, one per hidden layer, got {value!r}")
        check_whole(**{f"hidden_layers_sizes[{i}]": h for i, h in enumerate(self.hidden_layers_sizes)},
                    batch_size=self.batch_size, max_epochs=self.max_epochs, patience_epochs=self.patience_epochs)
        check_whole(0, pretraining_epochs=self.pretraining_epochs)
        levels = self._levels()
        if len(levels) != len(self.hidden_layers_sizes):
            raise TutorialError(f"corruption_levels must have one entry per hidden layer "
                                f"({len(self.hidden_layers_sizes)}), got {len(levels)}")
        for c in levels:
            check_corruption(c, "corruption_levels entries", self.corruption_type)
        check_options(finetune_lr=self.finetune_lr, pretraining_epochs=self.pretraining_epochs,  # sizes checked above
                      pretrain_lr=self.pretrain_lr, batch_size=self.batch_size, finetune=self.finetune)
        vf = self.validation_fraction
        if isinstance(vf, bool) or not isinstance(vf, numbers.Real) or not 0 <= vf < 1:
            raise TutorialError(f"validation_fraction must be in [0, 1), got {self.validation_fraction}")
        check_sparsity(self.sparsity_target, self.sparsity_weight, check_precision(self.precision))

    @staticmethod
    def _labelled_mask(y):
        if y.dtype.kind in "iuf":
            return y != UNLABELED
        return np.array([v is not None and str(v) != "-1" for v in y], dtype=bool)

    @staticmethod
    def _plain(y):
        """Labelled rows' labels as scikit-learn's checks and metrics read them: an object array of numbers (ints
        beside None or "-1") as a numeric array; one of numbers and strings both is refused in one line."""
        if y.dtype != object:
            return y
        kinds = {}
        for v in y.tolist():
            kinds.setdefault("strings" if isinstance(v, str) else "numbers" if isinstance(v, numbers.Number)
                             else type(v).__name__, v)
        if len(kinds) > 1:
            (a, va), (b, vb) = sorted(kinds.items())[:2]
            raise TutorialError(f"labels mix {a} ({va!r}) and {b} ({vb!r}); give labelled rows labels of one type "
                                f"(-1, or \"-1\" / None, marks an unlabelled row)")
        return np.array(y.tolist()) if "numbers" in kinds else y

    def _build(self, n_features, rng):
        return SdA(numpy_rng=rng, n_ins=n_features, hidden_layers_sizes=tuple(self.hidden_layers_sizes),
                   n_outs=len(self.classes_), corruption_levels=self._levels(), corruption_type=self.corruption_type,
                   sparsity_target=self.sparsity_target, sparsity_weight=self.sparsity_weight)

    def fit(self, X, y, *, X_val=None, y_val=None):
        """Pretrain on every row of ``X``, fine-tune on the labelled ones; returns ``self``. A Dask array or a memory
        map is read a window at a time as it trains, to the parameters of the same rows in memory (scaled alike,
        the range learned in a first pass; ``y`` and the validation rows in memory)."""
        self._check_hyper()
        if (X_val is None) != (y_val is None):
            raise TutorialError(f"X_val and y_val go together: got {'X_val' if y_val is None else 'y_val'} without "
                                f"{'y_val' if y_val is None else 'X_val'}")
        fresh = not (self.warm_start and hasattr(self, "params_"))
        source = X if is_lazy(X) else None  # a Dask array or a memory map: read a window at a time
        if source is not None:
            X, y = self._streamed(X, reset=fresh), np.asarray(y)
            if y.shape != (len(X),):
                raise TutorialError(f"y must hold one label per row of X ({len(X)}), got shape {y.shape}")
        else:
            X, y = validate_data(self, X, y, reset=fresh, dtype=[np.float64, np.float32], y_numeric=False)
            X = self._scaled(X, reset=fresh)

        def rows(index, whole=False):  # X's rows ``index``: read from the source as they train, or ``whole``
            if source is None:
                return X[index]
            picked = open_rows(source, f"{X.name}'s labelled rows", index)
            picked.transform = X.transform
            if not whole:
                return picked
            check_fits(picked.shape, 8, f"the validation rows of {X.name}", "give X_val and y_val")
            return picked.read(0, len(picked), self._dtype())

        labelled = self._labelled_mask(y)
        if not labelled.any():
            raise TutorialError("no labelled rows: every label is -1 (unlabelled); label some rows")
        y_l = y[labelled]
        check_classification_targets(self._plain(y_l))
        classes, codes = np.unique(y_l, return_inverse=True)
        if not fresh and not np.array_equal(classes, self.classes_):
            raise TutorialError(f"warm_start: the labels {list(classes)} differ from the fitted classes "
                                f"{list(self.classes_)}; fit afresh (warm_start=False)")
        self.classes_ = classes
        lab = np.flatnonzero(labelled)
        if X_val is not None:
            X_val = self._input(X_val)
            y_val = np.asarray(y_val)
            if y_val.ndim != 1 or len(y_val) != len(X_val):
                raise TutorialError(f"y_val must hold one label per row of X_val ({len(X_val)}), "
                                    f"got shape {y_val.shape}")
            known = np.isin(y_val, classes)
            if not known.all():
                raise TutorialError(f"y_val holds labels that y does not: {sorted(set(y_val[~known].tolist()))[:5]}")
            X_fit, y_fit, v_codes = rows(lab), codes, np.searchsorted(classes, y_val)
        else:
            n_val = int(round(self.validation_fraction * len(y_l)))
            if n_val >= 1 and len(y_l) - n_val >= 1:
                rs = self.random_state  # the split's seed: an int or None as given, else 0
                perm = check_random_state(rs if isinstance(rs, (numbers.Integral, type(None))) else 0,
                                          ints="RandomState").permutation(len(y_l))
                val, tr = perm[:n_val], perm[n_val:]
                X_fit, y_fit, X_val, v_codes = rows(lab[tr]), codes[tr], rows(lab[val], whole=True), codes[val]
            else:  # too few labelled rows to hold some out: watch the training error
                X_fit, y_fit, X_val, v_codes = rows(lab), codes, rows(lab, whole=True), codes
        self._run(X, X_fit, y_fit, X_val, v_codes, fresh)
        return self

    def _run(self, X_all, X_fit, y_fit, X_val, y_val, fresh):
        """The script's two phases (``SdA.pretrain``, ``SdA.fine_tune``) on arrays, with no files."""
        batch = min(self.batch_size, len(X_fit), len(X_all))
        with pytensor.config.change_flags(floatX=self._dtype()):
            sda = self._build(X_all.shape[1], numpy_rng(self.random_state) if fresh else 0)
            if not fresh:
                self._set_state(sda.all_params, sda.theano_rng)
            context = self._context()
            if fresh and self.pretraining_epochs:
                train_x, _ = shared_dataset((X_all, None), name="pretrain")
                if sda.pretrain(train_x, batch, self.pretraining_epochs, self.pretrain_lr, context=context) is None:
                    raise KeyboardInterrupt
            datasets = [shared_dataset((X_fit, y_fit), name="labelled"), shared_dataset((X_val, y_val), name="valid")]
            res = sda.fine_tune(datasets, batch, self.finetune_lr, layers=self.finetune, n_epochs=self.max_epochs,
                                patience_epochs=self.patience_epochs, context=context)
        self._keep_state(sda.all_params, sda.theano_rng)
        self.best_validation_error_, self.n_epochs_ = float(res.best_validation_loss), int(res.epochs)
        if res.interrupted:
            raise KeyboardInterrupt

    def _rows(self, X):
        check_is_fitted(self)
        return self._input(X.toarray() if issparse(X) else X)  # a sparse matrix's rows as their dense values

    def decision_function(self, X):
        """The logistic layer's scores (``x W + b`` of the top codes); for two classes, the second minus the first."""
        X, sda = self._rows(X), self._model()
        top = sda.logLayer
        scores = self._host("scores", lambda: host_function([sda.x], pt.dot(top.input, top.W) + top.b))(X)
        return scores[:, 1] - scores[:, 0] if len(self.classes_) == 2 else scores

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``."""
        return self._proba(self._rows(X))

    def _proba(self, rows):
        """Class probabilities of rows already checked and scaled (:meth:`_rows`)."""
        sda = self._model()
        return self._host("proba", lambda: host_function([sda.x], sda.logLayer.p_y_given_x))(rows)

    def predict(self, X):
        return self._labels(self._rows(X))

    def _labels(self, rows):
        """The predicted labels of rows already checked and scaled."""
        return self.classes_[np.argmax(self._proba(rows), axis=1)]

    def __sklearn_tags__(self):
        return self._tags(super().__sklearn_tags__())

    def score(self, X, y, sample_weight=None):
        """Accuracy on the labelled rows of ``(X, y)`` (rows labelled -1 are left out)."""
        rows = self._rows(X)  # the one input path of predict: sparse, frames, lists become checked, scaled rows
        y = np.asarray(y)
        if y.ndim != 1 or len(rows) != len(y):
            raise TutorialError(f"y must hold one label per row of X ({len(rows)}), got shape {y.shape}")
        if sample_weight is not None and np.shape(sample_weight) != y.shape:
            raise TutorialError(f"sample_weight must hold one weight per row ({len(y)}), got shape "
                                f"{np.shape(sample_weight)}")
        keep = self._labelled_mask(y)
        if not keep.any():
            raise TutorialError("y has no labelled rows (every label is -1, unlabelled): score needs labels to count")
        w = None if sample_weight is None else np.asarray(sample_weight)[keep]
        return accuracy_score(self._plain(y[keep]), self._plain(self._labels(rows[keep])), sample_weight=w)

    def transform(self, X, layer=-1):
        """The codes of hidden layer ``layer`` (default the top), or of all layers side by side (``layer="all"``)."""
        X, sda = self._rows(X), self._model()
        if layer == "all":
            return np.hstack([sda.get_codes(X, k) for k in range(sda.n_layers)])
        return sda.get_codes(X, layer)  # a layer out of range is one line there

    def _fitted_arrays(self):
        numeric = self.classes_.dtype.kind in "iuf"
        return dict(super()._fitted_arrays(), **({"classes": self.classes_} if numeric else {}))

    def _fitted_meta(self):
        # labels that are not numbers (strings, objects) go in the file's JSON, as JSON values
        plain = [c.item() if isinstance(c, np.generic) else c for c in self.classes_.tolist()]
        text = None if self.classes_.dtype.kind in "iuf" else [c if isinstance(c, (str, int, float)) else str(c)
                                                                 for c in plain]
        return {"n_features_in": int(self.n_features_in_), "best_validation_error": self.best_validation_error_,
                "n_epochs": self.n_epochs_, "classes": text, "classes_dtype": self.classes_.dtype.str}

    @classmethod
    def _from_script_model(cls, path, meta):
        """A fitted classifier from the network ``python SdA.py`` (or ``SdA.save``) wrote: the same parameters,
        classes 0 .. n_outs - 1."""
        config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
        check_fields(path, config, precision=check_precision)  # before loading in it; SdA.load checks the rest
        with pytensor.config.change_flags(floatX=config.get("precision", "float32")):
            sda = SdA.load(path)
        est = cls(hidden_layers_sizes=sda.hidden_layers_sizes, corruption_levels=sda.corruption_levels,
                  corruption_type=sda.corruption_type, sparsity_target=sda.sparsity_target,
                  sparsity_weight=sda.sparsity_weight, precision=config.get("precision", "float32"),
                  **{k: config[k] for k in ("pretraining_epochs", "pretrain_lr", "finetune_lr", "batch_size",
                                            "finetune") if k in config})
        est._fitted_from(sda.all_params, sda.theano_rng, sda.n_ins)
        est.classes_ = np.arange(sda.n_outs)
        est.best_validation_error_ = float("nan")  # the file does not say
        est.n_epochs_ = 0
        return est

    def _restore(self, arrays, meta):
        super()._restore(arrays, meta)
        if meta.get("classes") is not None:
            kind = meta.get("classes_dtype", "|O")
            self.classes_ = np.array(meta["classes"], dtype=object if kind == "|O" else kind)
            if self.classes_.dtype.kind == "U" and [str(v) for v in self.classes_.ravel()] != [
                    str(v) for v in np.ravel(np.array(meta["classes"], dtype=object))]:
                raise ValueError(f"classes_dtype {kind} cuts the labels {meta['classes'][:3]}")
        else:
            self.classes_ = arrays["classes"]
        self.best_validation_error_ = meta["best_validation_error"]
        self.n_epochs_ = meta["n_epochs"]

    def _check_restored(self):
        """``classes`` first, then the base's checks (the network builds with one output per class)."""
        c = self.classes_
        if c.ndim != 1:
            raise ValueError(f"classes has shape {c.shape}, not a list of labels")
        if c.dtype.kind == "f" and not np.all(np.isfinite(c)):
            raise ValueError("classes hold NaN or infinite labels")
        if len(set(c.tolist())) != len(c):
            raise ValueError(f"classes repeat a label: {c.tolist()[:5]}")
        super()._check_restored()

