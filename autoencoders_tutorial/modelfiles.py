"""The model files: the one schema every model file is read through, and the dA's and SdA's save and load.

The four kinds of model file (``logistic_sgd.py``'s and ``mlp.py``'s ``best_model.npz``, ``dA.py``'s
``dA_corruption_*.npz``, ``SdA.py``'s ``SdA_model.npz``) come in through :mod:`.userfiles` (by way of
:func:`~.files.load_params`); their arrays are read through :func:`check_arrays`, their options through
:func:`check_fields`. Each refusal is one line naming the file and the field.
"""

from __future__ import annotations

import numpy as np

from .engine import pytensor
from .errors import (DataError, TutorialError, check_corruption, check_positive, check_precision, check_sparsity,
                     check_whole)
from .files import load_params, params_to_arrays, save_params, set_params_from_arrays
from .memory import check_params_fit

#: The dtypes a model file's arrays may have: what the models compute in, in this machine's byte order.
PARAM_DTYPES = (np.dtype("float32"), np.dtype("float64"))
#: The layers of the classifiers ``logistic_sgd.py`` and ``mlp.py`` save, bottom up: each a ``W`` and a ``b``.
CLASSIFIER_LAYERS = {"LogisticRegression": ("logreg",), "MLP": ("hidden", "logreg")}
LOSSES = ("cross_entropy", "squared_error")
DECODERS = ("sigmoid", "linear")
#: The options a dA file stores beside its parameters, with the value a file without one means.
DA_OPTIONS = {"loss": "cross_entropy", "decoder": "sigmoid", "corruption_type": "masking",
              "sparsity_target": 0.05, "sparsity_weight": 0.0}
#: The architecture options an SdA file stores in its ``config``, with the value a file without one means.
SDA_OPTIONS = {"corruption_type": "masking", "sparsity_target": 0.05, "sparsity_weight": 0.0}


def _damaged(path, what, fix="save the model again") -> DataError:
    return DataError(f"{path}: {what}; the file is damaged, {fix}")


def _load(path, model) -> tuple[dict, dict]:
    """``path``'s ``(arrays, meta)``, refused unless a saved ``model`` (a classifier's file must say so)."""
    arrays, meta = load_params(path)
    if meta.get("model", None if model in CLASSIFIER_LAYERS else model) != model:
        raise DataError(f"{path} is not a saved {model} (model={meta.get('model')!r})")
    return arrays, meta


def _must(ok, name, value, what) -> None:
    if not ok:
        raise TutorialError(f"{name} must be {what}, got {value!r}")


def _entries(name, value, n=None) -> dict:
    """A list field's entries by name (``name[0]``, ...); it must be a non-empty list (of ``n`` entries)."""
    if not isinstance(value, list) or not value or n is not None and len(value) != n:
        raise TutorialError(f"{name} must be a list of {f'one entry per hidden layer ({n})' if n else 'entries'}, "
                            f"got {value!r}")
    return {f"{name}[{i}]": v for i, v in enumerate(value)}


def check_fields(path, fields: dict, required=(), **checks) -> None:
    """Every field of ``checks`` that ``fields`` holds passes its check (a library check that raises one
    line naming it), and the ``required`` ones are there; else one line naming ``path`` and the field."""
    for name in required:
        if name not in fields:
            raise _damaged(path, f"no field {name!r}")
    for name, check in checks.items():
        if name in fields:
            try:
                check(fields[name])
            except (TypeError, ValueError) as exc:  # a TutorialError is a ValueError
                raise _damaged(path, " ".join(str(exc).split())[:200]) from None


def check_arrays(path, arrays: dict, shapes: dict, fix: str = "save the model again") -> None:
    """The one schema of arrays of the four model kinds and of checkpoints: ``arrays`` are exactly those ``shapes``
    names, of :data:`PARAM_DTYPES`, of those shapes; else one line naming ``path`` and the array, ending in ``fix``."""
    for name in sorted(shapes.keys() | arrays.keys()):
        if name not in arrays:
            raise _damaged(path, f"no array {name!r}", fix)
        if name not in shapes:
            raise _damaged(path, f"an array {name!r} this model does not have", fix)
        dtype, shape = arrays[name].dtype, arrays[name].shape
        if dtype not in PARAM_DTYPES:
            raise _damaged(path, f"array {name!r} is {dtype.str} ({dtype.name}), not float32 or float64 in this "
                                 "machine's byte order", fix)
        if shape != tuple(shapes[name]):
            raise _damaged(path, f"array {name!r} is {dtype} of shape {shape}, not of shape {tuple(shapes[name])}",
                           fix)


def read_classifier(path, model) -> tuple[dict, dict]:
    """A logistic regression's or an MLP's file (``model``): exactly each layer's ``W`` (a matrix, its rows the
    columns below) and ``b`` (:func:`check_arrays`)."""
    arrays, meta = _load(path, model)
    shapes, width = {}, None
    for layer in CLASSIFIER_LAYERS[model]:
        W = arrays.get(f"{layer}.W")
        if W is None or W.ndim != 2 or 0 in W.shape:
            raise _damaged(path, f"array '{layer}.W' is {'missing' if W is None else f'of shape {W.shape}'}, "
                                 "not a matrix of weights with rows and columns")
        shapes.update({f"{layer}.W": (W.shape[0] if width is None else width, W.shape[1]), f"{layer}.b": W.shape[1:]})
        width = W.shape[1]
    check_arrays(path, arrays, shapes)
    return arrays, meta


def check_dA_options(n_visible, n_hidden, new_W, tied_weights, W_prime, loss, decoder, corruption_type,
                     sparsity_target, sparsity_weight) -> None:
    """The dA constructor's checks: one line naming a bad option (and that new weights fit in memory)."""
    check_positive(n_visible=n_visible, n_hidden=n_hidden)
    check_corruption(0.0, kind=corruption_type)
    check_sparsity(sparsity_target, sparsity_weight, pytensor.config.floatX)
    if new_W:
        check_params_fit([(n_visible, n_hidden)] * (1 if tied_weights else 2),
                         np.dtype(pytensor.config.floatX).itemsize, f"a dA of {n_visible} x {n_hidden}")
    if loss not in LOSSES:
        raise TutorialError(f"loss must be one of {LOSSES}, got {loss!r}")
    if decoder not in DECODERS:
        raise TutorialError(f"decoder must be one of {DECODERS}, got {decoder!r}")
    if decoder == "linear" and loss == "cross_entropy":
        raise TutorialError("a linear decoder needs loss='squared_error' (cross-entropy needs outputs in (0, 1))")
    if tied_weights and W_prime is not None:
        raise TutorialError("W_prime is only used with tied_weights=False")


def save_dA(da, path, **meta):
    """Write ``da``'s parameters and options to ``path`` (``.npz``, atomically, no pickle), ``meta`` beside them."""
    arrays = {p.name.split(".", 1)[1]: np.asarray(p.get_value()) for p in da.params}
    options = {k: getattr(da, k) for k in DA_OPTIONS}
    return save_params(path, arrays, **meta, model="dA", n_hidden=da.n_hidden, tied_weights=da.tied_weights, **options)


def read_dA(path) -> tuple[dict, dict]:
    """A dA file's ``(arrays, meta)``, read through its schema: the arrays of the shapes ``W`` makes, the fields
    the script saves of the types and values they can have (the options of :data:`DA_OPTIONS`: building checks them).
    """
    arrays, meta = _load(path, "dA")
    if "W" not in arrays or arrays["W"].ndim != 2:
        raise DataError(f"{path} is not a saved dA (no 2-D W in it)")
    n_visible, n_hidden = arrays["W"].shape
    tied = meta.get("tied_weights", "W_prime" not in arrays)
    if not isinstance(tied, bool) or tied == ("W_prime" in arrays):
        raise _damaged(path, f"tied_weights is {tied!r} with{'' if 'W_prime' in arrays else 'out'} a W_prime")
    check_fields(path, meta, n_hidden=lambda v: _must(type(v) is int and v == n_hidden, "n_hidden", v,
                                                      f"{n_hidden}, the columns of W"),
                 corruption_level=lambda v: check_corruption(v, kind=meta.get("corruption_type", "masking")),
                 precision=check_precision)
    check_arrays(path, arrays, dict(W=(n_visible, n_hidden), b=(n_hidden,), b_prime=(n_visible,),
                                    **({} if tied else {"W_prime": (n_hidden, n_visible)})))
    return arrays, meta


def load_dA(cls, path, input=None, theano_rng=None):
    """A ``cls`` (the dA class) with the parameters and options saved in ``path`` (:func:`read_dA`)."""
    arrays, meta = read_dA(path)
    n_visible, n_hidden = arrays["W"].shape
    try:
        da = cls(0, theano_rng=theano_rng, input=input, n_visible=n_visible, n_hidden=n_hidden,
                 tied_weights="W_prime" not in arrays, **{k: meta.get(k, default) for k, default in DA_OPTIONS.items()})
    except TutorialError as exc:
        raise DataError(f"{path} holds a dA this library cannot build: {exc}") from None
    set_params_from_arrays(da.params, {f"dA.{k}": v for k, v in arrays.items()}, source=str(path))
    return da


def level_name(level) -> str:
    """A corruption level as file names and labels show it: percent for levels up to 100 (the tutorial's
    ``filters_corruption_30.png``), else the number itself, short (a large Gaussian noise's deviation)."""
    level = float(level)
    return str(int(round(level * 100))) if level <= 100 else f"{level:.3g}".replace("+", "").replace(".", "_")


def save_SdA(sda, path, **meta):
    """Write every parameter of ``sda`` and its architecture to ``path`` (``.npz``, atomically, no pickle)."""
    config = dict(meta.pop("config", {}), n_ins=sda.n_ins, hidden_layers_sizes=list(sda.hidden_layers_sizes),
                  n_outs=sda.n_outs, corruption_levels=list(sda.corruption_levels),
                  **{k: getattr(sda, k) for k in SDA_OPTIONS})
    return save_params(path, params_to_arrays(sda.all_params), config=config, model="SdA", **meta)


def read_SdA(path) -> tuple[dict, dict]:
    """An SdA file's ``(arrays, meta)``, read through its schema: a ``config`` table with the architecture and the
    fields the script saves, of the types and values they can have, and exactly the arrays of that architecture
    (the options of :data:`SDA_OPTIONS` are the SdA's own arguments: building checks them)."""
    arrays, meta = _load(path, "SdA")
    if "phase" in meta:  # a checkpoint: the network is its current parameters, not its early stopping's copies
        arrays = {k: v for k, v in arrays.items() if not k.startswith(("best.", "last."))}
    config = meta.get("config")
    if not isinstance(config, dict):
        raise DataError(f"{path} is not a saved SdA (no config table in it)")
    kind = config.get("corruption_type", "masking")
    check_fields(path, config, required=("n_ins", "hidden_layers_sizes", "n_outs", "corruption_levels"),
                 n_ins=lambda v: check_whole(n_ins=v), n_outs=lambda v: check_whole(n_outs=v),
                 hidden_layers_sizes=lambda v: check_whole(**_entries("hidden_layers_sizes", v)),
                 corruption_levels=lambda v: [check_corruption(c, name, kind) for name, c in _entries(
                     "corruption_levels", v, len(config["hidden_layers_sizes"])).items()],
                 precision=check_precision,
                 dataset=lambda v: _must(v is None or isinstance(v, str), "dataset", v, "a dataset's name"))
    widths = (config["n_ins"], *config["hidden_layers_sizes"], config["n_outs"])
    shapes = {"logreg.W": widths[-2:], "logreg.b": widths[-1:]}
    for i, (a, b) in enumerate(zip(widths[:-2], widths[1:-1])):
        shapes.update({f"layer{i}.W": (a, b), f"layer{i}.b": (b,), f"dA{i}.b_prime": (a,)})
    check_arrays(path, arrays, shapes)
    return arrays, meta


def load_SdA(cls, path):
    """A ``cls`` (the SdA class) with the architecture and parameters saved in ``path`` (:func:`read_SdA`)."""
    arrays, meta = read_SdA(path)
    config = meta["config"]
    try:
        sda = cls(0, n_ins=config["n_ins"], hidden_layers_sizes=config["hidden_layers_sizes"],
                  n_outs=config["n_outs"], corruption_levels=config["corruption_levels"],
                  **{k: config.get(k, default) for k, default in SDA_OPTIONS.items()})
    except TutorialError as exc:
        raise DataError(f"{path} holds an SdA this library cannot build: {exc}") from None
    set_params_from_arrays(sda.all_params, arrays, source=str(path))
    sda.saved_meta = meta
    return sda
