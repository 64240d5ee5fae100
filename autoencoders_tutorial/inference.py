"""Numeric-level use of a built model (dA.py and SdA.py call these): codes, predictions, the reconstruction sheet.

Compiled functions are cached per model (weakly: they go when the model goes) and run in PyTensor's default
mode, safe after JAX training (:func:`~autoencoders_tutorial.engine.host_function`).
"""

from __future__ import annotations

import weakref

import numpy as np

from .datasets import validate_x
from .engine import host_function, pt, pytensor
from .errors import TutorialError

_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cached_function(model, key, output):
    """The host function ``model.x -> output()``, compiled once per ``model`` and ``key``, kept beside the model."""
    fns = _FUNCTIONS.setdefault(model, {})
    if key not in fns:
        fns[key] = host_function([model.x], output())
    return fns[key]


def check_input(da, X, what="input"):
    """Validate a numeric batch for ``da`` (its width, finite, in [0, 1] for cross-entropy)."""
    return validate_x(X, what, unit_interval=da.loss == "cross_entropy", n_features=da.n_visible)


def dA_codes(da, X, chunk=1000):
    """The codes of numeric rows ``X`` (checked by :func:`check_input`), ``chunk`` rows at a time."""
    X = check_input(da, X).astype(da.x.dtype, copy=False)
    return _chunked(cached_function(da, "codes", lambda: da.get_hidden_values(da.x)), X, chunk, da.n_hidden)


def _chunked(fn, X, chunk, width):
    """``fn`` over the rows of ``X``, ``chunk`` at a time (a (0, width) array of X's dtype for no rows)."""
    return np.concatenate([fn(X[i:i + chunk]) for i in range(0, X.shape[0], chunk)] or
                          [np.zeros((0, width), dtype=X.dtype)])


def reconstruction_rows(da, X, corruption_level):
    """``(X, corrupted X, reconstruction of the corrupted X)`` for numeric rows ``X``: the reconstruction
    sheet's three rows. The noise is drawn from a copy of the generator: training's stream does not move."""
    X = np.asarray(X, dtype=da.x.dtype)
    x = pt.matrix("x", dtype=da.x.dtype)
    rng = pytensor.shared(da.theano_rng.get_value(borrow=False), name="sheet.rng")  # a copy
    tilde = da.get_corrupted_input(x, corruption_level, rng=rng)
    z = da.get_reconstructed_input(da.get_hidden_values(tilde))
    # A few rows, once per run: numpy's ops beat a C compilation that takes seconds on a cold cache.
    tilde_x, rec = host_function([x], [tilde, z], mode="FAST_COMPILE")(X)
    return X, tilde_x, rec


def _sda_rows(sda, X):
    return validate_x(X, "input", unit_interval=True, n_features=sda.n_ins).astype(sda.x.dtype, copy=False)


def predict(sda, X):
    """Predicted classes of numeric rows ``X`` (values in [0, 1])."""
    return cached_function(sda, "predict", lambda: sda.logLayer.y_pred)(_sda_rows(sda, X))


def predict_proba(sda, X):
    """Class probabilities of numeric rows ``X`` (values in [0, 1]), shape (rows, classes)."""
    return cached_function(sda, "proba", lambda: sda.logLayer.p_y_given_x)(_sda_rows(sda, X))


def get_codes(sda, X, layer=-1, chunk=1000):
    """Codes of hidden layer ``layer`` (default the top) for numeric rows ``X``, ``chunk`` rows at a time."""
    X = _sda_rows(sda, X)
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not -sda.n_layers <= layer < sda.n_layers:
        raise TutorialError(f"layer must be a hidden layer's index, 0 to {sda.n_layers - 1} (or -1 for the top), "
                            f"got {layer!r}")
    layer = range(sda.n_layers)[layer]
    fn = cached_function(sda, ("codes", layer), lambda: sda.sigmoid_layers[layer].output)
    return _chunked(fn, X, chunk, sda.hidden_layers_sizes[layer])
