"""What both scikit-learn estimators share: floatX scope, input checks and scaling, the compiled-function
cache, the fitted state and its ``.npz`` files. The estimators: :mod:`.estimators`, :mod:`.sda_classifier`."""

from __future__ import annotations

import weakref
from collections import namedtuple

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from autoencoders_tutorial import ondisk
from autoencoders_tutorial.engine import pytensor, sync_shared
from autoencoders_tutorial.errors import DataError, TutorialError
from autoencoders_tutorial.files import load_params, params_to_arrays, save_params, set_params_from_arrays
from autoencoders_tutorial.modelfiles import PARAM_DTYPES
from autoencoders_tutorial.noise import device_noise_state, set_device_noise_state
from autoencoders_tutorial.paths import RunContext, resolve_path
from autoencoders_tutorial.rng import check_random_state, generator_from_state


#: The label of an unlabelled row: -1 for numeric labels; "-1" or None for string / object labels.
UNLABELED = -1
#: What one fit compiles: the model, its shared data and training step; cached by ``key``, never pickled.
Compiled = namedtuple("Compiled", "key model data step")
#: Each estimator's compiled functions and models, outside it: never pickled or copied; predicting leaves it as is.
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _to_json(params: dict) -> dict:
    """Hyper-parameters as JSON values: numpy numbers as numbers, sequences as lists, a random state as its state."""
    def value(v):
        if isinstance(v, np.random.RandomState):
            state = v.get_state(legacy=False)
            return {"numpy_random_state": "RandomState", "state": dict(state, state=dict(
                state["state"], key=np.asarray(state["state"]["key"]).tolist()))}
        if isinstance(v, np.random.Generator):
            return {"numpy_random_state": "Generator", "state": v.bit_generator.state}
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, (np.ndarray, tuple, list)):
            return [value(x) for x in (v.tolist() if isinstance(v, np.ndarray) else v)]
        return v
    return {k: value(v) for k, v in params.items()}


def _from_json(v):
    """What :func:`_to_json` wrote, back: lists as tuples, a random state as a generator in that state."""
    if isinstance(v, list):
        return tuple(_from_json(x) for x in v)
    if isinstance(v, dict) and v.get("numpy_random_state") == "Generator":
        return generator_from_state(v["state"])
    if isinstance(v, dict) and v.get("numpy_random_state") == "RandomState":
        rs = np.random.RandomState()
        rs.set_state(dict(v["state"], state=dict(v["state"]["state"], key=np.asarray(v["state"]["state"]["key"],
                                                                                        dtype=np.uint32))))
        return rs
    return v


def numpy_rng(random_state):
    """The initial weights' generator: an int seeds the tutorial's ``RandomState``, a Generator gives a child."""
    try:
        return check_random_state(random_state, ints="RandomState", child=True, name="random_state")
    except TypeError as exc:
        raise TutorialError(str(exc)) from None


class TutorialEstimator(BaseEstimator):
    """What both estimators share: the floatX scope, input scaling, the cache and ``.npz`` files."""

    _model_kind = ""
    #: The ``model`` of the files the matching script writes, which :meth:`load` reads too.
    _script_model = ""
    #: Hyper-parameters renamed since a file could have been saved: {old name: new name}.
    _RENAMED: dict = {}
    #: The built model's attribute that lists its parameters.
    _params_attr = "params"

    def _keep_args(self, args):
        """``__init__``'s arguments (its ``locals()``) as attributes, as given: scikit-learn's convention."""
        for name, value in args.items():
            if name != "self":
                setattr(self, name, value)

    def __setstate__(self, state):
        """Unpickle, reading a hyper-parameter saved under an older name by its new one."""
        state = dict(state)
        for old, new in self._RENAMED.items():
            if old in state and new not in state:
                state[new] = state.pop(old)
        super().__setstate__(state)

    def _cache(self) -> dict:
        return _CACHE.setdefault(self, {})

    def _dtype(self):
        return "float32" if self.precision == "float32" else "float64"

    def _context(self) -> RunContext:
        """A fit's run context (made in its floatX scope, for each fit: ``verbose`` may change between fits):
        the mode, the training path, and its lines, printed when ``verbose``."""
        log = print if self.verbose else (lambda *_: None)
        with pytensor.config.change_flags(floatX=self._dtype()):
            return RunContext(self.mode, resolve_path(self.train_path, mode=self.mode), log)

    def _host(self, name, build):
        """A C function (safe after JAX training) or model, built once per fitted state."""
        fns = self._cache().setdefault("host", {})
        if name not in fns:
            fns[name] = build()
        return fns[name]

    def _keep_state(self, params, rng):
        """The fitted state: the trained ``params`` and the noise generator ``rng``, as numpy values."""
        sync_shared()
        self.params_ = params_to_arrays(params)
        self.noise_state_ = rng.get_value(borrow=True).bit_generator.state
        self.device_noise_state_ = device_noise_state(rng)  # the block path's device generator, if it ran
        self._cache().pop("host", None)  # a new fitted state: what was built from the old one is stale

    def _set_state(self, params, rng):
        """Put the fitted state back into a model's ``params`` and ``rng`` (to continue training)."""
        set_params_from_arrays(params, self.params_, source="fitted state")
        rng.set_value(generator_from_state(self.noise_state_), borrow=True)
        if getattr(self, "device_noise_state_", None) is not None:
            set_device_noise_state(rng, self.device_noise_state_)

    def _model(self):
        """The model with the fitted parameters, built once per fitted state (:meth:`_host`)."""
        check_is_fitted(self)

        def build():
            with pytensor.config.change_flags(floatX=self._dtype()):
                model = self._build(self.n_features_in_, 0)
            set_params_from_arrays(getattr(model, self._params_attr), self.params_, source="fitted state")
            return model

        return self._host("model", build)

    def _fitted_arrays(self) -> dict:
        """Fitted arrays beside the parameters: the min-max scaling, when ``fit`` learned one."""
        scaled = getattr(self, "data_min_", None) is not None
        return {"data_min": self.data_min_, "data_range": self.data_range_} if scaled else {}

    def _restore(self, arrays, meta) -> None:
        self.n_features_in_ = meta["n_features_in"]  # checked as it is, not made an int: 6.7 or "6" is damage
        self.data_min_, self.data_range_ = arrays.get("data_min"), arrays.get("data_range")

    def _input(self, X, reset=False):
        """``X`` checked by scikit-learn's ``validate_data`` (learning its width when ``reset``), then scaled."""
        return self._scaled(validate_data(self, X, reset=reset, dtype=[np.float64, np.float32]), reset)

    def _lazy_rows(self, X, reset=False):
        """A Dask array or a memory map as :class:`~autoencoders_tutorial.ondisk.DiskRows`, its shape checked."""
        rows = ondisk.open_rows(X)
        if rows.ndim != 2 or rows.dtype.kind != "f" or 0 in rows.shape:
            raise TutorialError(f"{rows.name} holds {rows.dtype} of shape {rows.shape}; give rows of floats")
        if not reset and rows.shape[1] != self.n_features_in_:
            raise TutorialError(f"{rows.name} has {rows.shape[1]} features, the model {self.n_features_in_}")
        return rows

    def _streamed(self, X, reset):
        """A Dask array or a memory map, read a window at a time as it trains, each window scaled as
        :meth:`_scaled` scales rows in memory (the range learned, when ``reset``, in a pass over the windows)."""
        rows = self._lazy_rows(X, reset)
        if reset:
            self.n_features_in_ = rows.shape[1]
            self.__dict__.pop("feature_names_in_", None)  # a Dask array's columns have no names
            lo = hi = None
            for _, block in rows.blocks(rows.dtype) if self._scales else ():
                lo = block.min(axis=0) if lo is None else np.minimum(lo, block.min(axis=0))
                hi = block.max(axis=0) if hi is None else np.maximum(hi, block.max(axis=0))
            self._learn_range(lo, hi)
        rows.transform = lambda block: self._scaled(block, False)
        return rows

    #: Whether inputs are scaled to [0, 1], the cross-entropy cost's range (:meth:`_scaled`).
    _scales = True

    def _learn_range(self, lo, hi):
        """Keep the range ``lo .. hi`` of each feature to scale inputs by, if it lies outside [0, 1] (None: not)."""
        outside = lo is not None and (lo.min() < 0 or hi.max() > 1)
        if outside and not self.scale:
            raise TutorialError(f"inputs must lie in [0, 1] for cross-entropy, got range [{lo.min():.4g}, "
                                f"{hi.max():.4g}]; scale them first, or use scale=True")
        self.data_min_ = lo if outside else None
        self.data_range_ = np.where(hi > lo, hi - lo, 1.0) if outside else None

    def _scaled(self, X, reset):
        """``X`` in [0, 1], in the model's precision: min-max scaled per feature with the range learned
        when ``reset`` (``fit``) if it lies outside [0, 1] and ``scale`` is on; else refused in one line."""
        if self._scales and reset:
            self._learn_range(*((X.min(axis=0), X.max(axis=0)) if X.size else (None, None)))
        if self._scales and getattr(self, "data_min_", None) is not None:
            with np.errstate(over="ignore"):  # far outside a tiny range: +-inf, clipped to the range's ends
                X = np.clip((X - self.data_min_) / self.data_range_, 0.0, 1.0)
        elif self._scales and not reset and X.size and (X.min() < 0 or X.max() > 1):
            X = np.clip(X, 0.0, 1.0)  # fitted on [0, 1] data: keep later inputs in the same range
        # aligned for PyTensor's C code: rows Dask hands over from another process may not be
        return np.require(X.astype(self._dtype(), copy=False), requirements="A")

    def get_feature_names_out(self, input_features=None):
        """The names of :meth:`transform`'s columns (the top layer's codes): ``dA0``, ... or ``SdA0``, ..."""
        check_is_fitted(self)
        return np.asarray([f"{self._script_model}{i}" for i in range(self._n_codes)], dtype=object)

    def _tags(self, tags):
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = [self._dtype()]  # the model's precision, whatever comes in
        return tags

    def save(self, path):
        """Write the hyper-parameters and fitted arrays to ``path`` (``.npz``, atomically, no pickle)."""
        check_is_fitted(self)
        arrays = {"param." + k: v for k, v in self.params_.items()}
        arrays.update({"fitted." + k: np.asarray(v) for k, v in self._fitted_arrays().items()})
        return save_params(path, arrays, model=self._model_kind, estimator=_to_json(self.get_params()),
                           noise_state=self.noise_state_, device_noise_state=getattr(self, "device_noise_state_", None),
                           **self._fitted_meta())

    @classmethod
    def load(cls, path):
        """An estimator with the hyper-parameters and fitted state saved in ``path`` by :meth:`save`, or
        the fitted estimator of a model its script saved (``python dA.py``, ``python SdA.py``)."""
        arrays, meta = load_params(path)
        if meta.get("model") == cls._script_model:  # the model file read through its schema, then these checks
            try:
                est = cls._from_script_model(path, meta)
                est._check_hyper()
            except DataError:
                raise
            except TutorialError as exc:
                raise DataError(f"{path} holds a {cls._script_model} with settings no {cls.__name__} takes ({exc}); "
                                "the file is damaged, save the model again") from None
            return est
        if meta.get("model") != cls._model_kind or not isinstance(meta.get("estimator"), dict):
            raise DataError(f"{path} is not a saved {cls.__name__} (model={meta.get('model')!r})")
        try:
            hyper = {cls._RENAMED.get(k, k): _from_json(v) for k, v in meta["estimator"].items()}
            unknown = sorted(set(hyper) - set(cls().get_params()))
            if unknown:
                raise ValueError(f"unknown hyper-parameters {unknown}")
            est = cls(**hyper)
            est._check_hyper()
            est.params_ = {k[6:]: v for k, v in arrays.items() if k.startswith("param.")}
            est.noise_state_ = meta["noise_state"]
            generator_from_state(est.noise_state_)
            est.device_noise_state_ = meta.get("device_noise_state")
            est._restore({k[7:]: v for k, v in arrays.items() if k.startswith("fitted.")}, meta)
            est._check_restored()
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, StopIteration, OverflowError) as exc:
            what = f"no field {exc.args[0]!r}" if isinstance(exc, KeyError) else " ".join(str(exc).split())[:160]
            raise DataError(f"{path} is a damaged saved {cls.__name__} ({what}); fit and save it again") from None
        return est

    def _check_restored(self) -> None:
        """A loaded fitted state must fit together; the model builds from it (names and shapes checked as set)."""
        n = self.n_features_in_
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n_features_in is {n!r}, not a whole number of features")
        for name, value in self.params_.items():
            if value.dtype not in PARAM_DTYPES:
                raise ValueError(f"parameter {name} is {value.dtype.str}, not float32 or float64")
        for name in ("data_min_", "data_range_"):
            value = getattr(self, name, None)
            if value is None:
                continue
            if value.dtype.kind != "f" or np.shape(value) != (n,) or not np.all(np.isfinite(value)):
                raise ValueError(f"{name[:-1]} is {value.dtype} of shape {np.shape(value)}, not {n} finite numbers")
            if name == "data_range_" and not np.all(value > 0):
                raise ValueError("data_range holds a range <= 0; each feature's range is > 0")
        if (self.data_min_ is None) != (self.data_range_ is None):
            raise ValueError("data_min and data_range go together")
        self._model()

    def _fitted_meta(self) -> dict:
        return {}

    def _fitted_from(self, params, rng, n_features) -> None:
        """The fitted state of a model loaded from a script's file (:meth:`_keep_state`), with no input scaling."""
        self._keep_state(params, rng)  # a model just loaded has no device generator: its state is None
        self.n_features_in_ = int(n_features)
        self.data_min_ = self.data_range_ = None
