"""Predicting on your own data: images, ``.npy`` / ``.csv`` rows, or a dataset, through any trained classifier.

:func:`predict_inputs` is what ``--predict FILE...`` of ``SdA.py``, ``logistic_sgd.py`` and ``mlp.py`` runs,
and what a Python user calls with a model's class probabilities::

    import SdA  # a model file: this module never imports one
    from autoencoders_tutorial.predict import predict_inputs
    sda = SdA.SdA.load("SdA_out/SdA_model.npz")
    predict_inputs(sda.predict_proba, sda.n_ins, ["seven.png", "two.jpg"])

Each input becomes rows of the model's width in [0, 1]: an image (:func:`image_rows`, one line saying what was
done to it), a ``.npy`` or ``.csv`` file's rows (:func:`array_rows`), or a dataset's test split, whose labels
are known, so the accuracy and the confusion matrix are printed too.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .datasets import CLASS_NAMES, load_dataset
from .errors import DataError
from .images import FRAMINGS, INK, frame_ink
from .userfiles import MAX_PIXELS, check_npy, user_file

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def _eight_bit_gray(img) -> tuple:
    """``img`` (loaded) as an 8-bit grayscale image, and the conversions that took, in words (transparency onto white,
    a drawing's background; 16-bit and float images scaled by their own range, not clipped to 255)."""
    done = []
    orientation = img.getexif().get(0x0112, 1)  # EXIF Orientation
    if orientation not in (None, 1):
        img = ImageOps.exif_transpose(img)
        done.append(f"turned upright (EXIF orientation {orientation})")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info:
        img = Image.alpha_composite(Image.new("RGBA", img.size, (255, 255, 255, 255)), img.convert("RGBA"))
        done.append("transparency composited onto white")
    if img.mode in ("I", "F") or img.mode.startswith("I;"):
        a = np.asarray(img, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        scaled = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
        img = Image.fromarray(np.uint8(np.round(scaled * 255)))
        done.append(f"scaled by its own range [{lo:.6g}, {hi:.6g}]")
    elif img.mode != "L":
        img = img.convert("L")
        done.append("grayscale")
    return img, done


def image_rows(path, image_shape, frame=True, trained_on=None) -> tuple[np.ndarray, str]:
    """One image file (PNG, JPEG, ... any size and mode) as one row of ``image_shape`` pixels in [0, 1], and a line
    saying what was done to it: made 8-bit grayscale, inverted when it is dark strokes on a light background (the
    datasets are light strokes on black), for a 28x28 model ``frame``d as the images of ``trained_on`` (a dataset's
    name; MNIST's framing unless Fashion-MNIST: :func:`~.images.frame_ink`), otherwise (and without ink) resized
    with a box filter (each pixel the mean of the area it covers)."""
    user_file(path, "image")
    try:
        with warnings.catch_warnings():  # Pillow's own warnings (sizes, damaged tags): the size is checked here,
            warnings.simplefilter("ignore")  # in one line; a damaged file is refused below, in one line
            with Image.open(path) as img:
                if img.size[0] * img.size[1] > MAX_PIXELS:
                    raise DataError(f"image {path} is {img.size[0]}x{img.size[1]} pixels, more than the {MAX_PIXELS} "
                                    "an image may have; scale it down first")
                img.load()
                gray, conversions = _eight_bit_gray(img)
                done = [f"{img.size[0]}x{img.size[1]} {img.mode}", *conversions]
    except DataError:
        raise
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise DataError(f"cannot read {path} as an image ({' '.join(str(exc).split())[:120]})") from None
    pixels = np.asarray(gray, dtype=np.float64) / 255.0
    if pixels.mean() > 0.5:  # mostly light: dark strokes on a light background
        gray = Image.fromarray(np.uint8(np.round(255 - pixels * 255)))
        done.append("inverted (dark strokes on a light background)")
    rows, cols = image_shape
    if frame and image_shape == (28, 28):
        box_side, by_mass = FRAMINGS.get(trained_on, FRAMINGS["mnist"])
        framed = frame_ink(np.asarray(gray) / 255.0, box_side, by_mass)
        if framed is not None:
            (w, h), (w2, h2) = framed[1]
            done.append(f"framed as {'MNIST' if by_mass else 'Fashion-MNIST'}: the ink's {w}x{h} box scaled to "
                        f"{w2}x{h2}, centred in 28x28 by its {'centre of mass' if by_mass else 'middle'}")
            return framed[0].reshape(1, -1), " -> ".join(done)
        done.append(f"not framed: no ink (no pixel above {INK})")
    if gray.size != (cols, rows):
        gray = gray.resize((cols, rows), Image.BOX)
        done.append(f"resized to {cols}x{rows}")
    done.append("scaled to [0, 1]")
    return (np.asarray(gray, dtype=np.float64) / 255.0).reshape(1, -1), " -> ".join(done)


def array_rows(path, n_features) -> np.ndarray:
    """The rows of a ``.npy`` or ``.csv`` file, checked to be ``n_features`` wide."""
    path = Path(path)
    if path.suffix == ".npy":
        check_npy(path)  # a regular file whose header fits its bytes
    else:
        user_file(path, "rows file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # numpy's "input contained no data": said below, in one line
            rows = np.load(path, allow_pickle=False) if path.suffix == ".npy" else np.loadtxt(path, delimiter=",",
                                                                                              ndmin=2)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path} ({' '.join(str(exc).split())[:120]})") from None
    if rows.dtype.kind not in "biuf":  # dates, durations, strings, complex numbers
        raise DataError(f"{path} holds {rows.dtype} values, not real numbers")
    if rows.size == 0:
        raise DataError(f"{path} holds no rows; give at least one row of {n_features} values")
    rows = np.atleast_2d(rows)
    if rows.ndim != 2 or rows.shape[1] != n_features:
        raise DataError(f"{path} holds rows of shape {rows.shape[1:]}, the model takes rows of {n_features} values")
    rows = rows.astype(np.float64)
    if not np.all(np.isfinite(rows)):  # NaN or infinity would be predicted as NaN
        i, j = np.argwhere(~np.isfinite(rows))[0]
        raise DataError(f"{path} holds {rows[i, j]:g} in row {i}, column {j}; give finite numbers")
    return rows


def read_inputs(sources, n_features, data_root=None, log=print, frame=True, trained_on=None):
    """``(X, names, labels)`` for a list of files and dataset names: ``labels`` are the datasets' test labels
    when every source is a dataset, else None."""
    side = math.isqrt(n_features)
    image_shape = (side, side) if side * side == n_features else None
    blocks, names, labels = [], [], []
    for source in sources:
        path, y = Path(source), None
        if path.suffix.lower() in IMAGE_SUFFIXES:
            if image_shape is None:
                raise DataError(f"the model takes {n_features} values, not a square image; give {path} as .npy rows")
            X, done = image_rows(path, image_shape, frame, trained_on)
            log(f"{path}: {done}")
            names.append(str(path))
        elif path.suffix.lower() in (".npy", ".csv"):
            X = array_rows(path, n_features)
            names += [f"{path}[{i}]" for i in range(len(X))]
        else:
            ds = load_dataset(source, data_root=data_root, log=log)
            if ds.n_features != n_features:
                raise DataError(f"dataset {ds.name} has {ds.n_features} features, the model takes {n_features}")
            X, y = ds.test
            names += [f"{ds.name} test[{i}]" for i in range(len(X))]
        blocks.append(X)
        labels += [None] * len(X) if y is None else [int(v) for v in y]
    X = np.concatenate(blocks) if blocks else np.zeros((0, n_features))
    known = bool(labels) and all(v is not None for v in labels)
    return X, names, (np.asarray(labels) if known else None)


def predict_inputs(predict_proba, n_features, sources, data_root=None, log=print, show=10, frame=True,
                   trained_on=None):
    """Predict every input of ``sources`` (see the module) with ``predict_proba(X) -> (n, classes)``; print one
    line per input, its label (with its name, when ``trained_on``, the model's dataset, names its classes) and
    probability (the first ``show`` of a labelled dataset), and for labelled inputs the accuracy and the confusion
    matrix. Images: :func:`image_rows`. Returns ``(labels predicted, their probabilities)``."""
    X, names, labels = read_inputs(sources, n_features, data_root, log, frame, trained_on)
    with np.errstate(over="ignore", invalid="ignore"):
        proba = np.asarray(predict_proba(X))
    bad = np.flatnonzero(~np.all(np.isfinite(proba), axis=1))
    if bad.size:  # finite inputs too large for the model's precision (its own range checks are the model's)
        raise DataError(f"{names[bad[0]]} gives the model non-finite outputs: its values are too large for it; scale "
                        "them as its training rows were")
    predicted, p = np.argmax(proba, axis=1), np.max(proba, axis=1)
    class_names = CLASS_NAMES.get(trained_on, ())
    named = (lambda k: f"{k} {class_names[k]}") if len(class_names) == proba.shape[1] else str
    for i, (name, label, prob) in enumerate(zip(names, predicted, p)):
        if labels is None or i < show:
            log(f"{name}: {named(label)} (p={prob:.3f})" + (f", true {named(labels[i])}" if labels is not None else ""))
    if labels is not None:
        log(f"accuracy {np.mean(predicted == labels) * 100:.2f} % on {len(labels)} labelled rows")
        log(confusion_table(labels, predicted, proba.shape[1]))
    return predicted, p


def confusion_table(true, predicted, n_classes) -> str:
    """The confusion matrix as text: a row per true class, a column per predicted one."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(true), np.asarray(predicted)), 1)
    width = max(5, len(str(m.max())) + 1)
    head = "true\\pred" + "".join(f"{k:>{width}}" for k in range(n_classes))
    return "\n".join([head] + [f"{t:>9}" + "".join(f"{v:>{width}}" for v in row) for t, row in enumerate(m)])


def predict_saved(predict_proba, n_features, model_path, saved_dataset, dataset=None, n=10, data_dir=None, log=print,
                  inputs=None, frame=True):
    """What ``predict`` of ``logistic_sgd.py``, ``mlp.py`` and ``SdA.py`` does with a loaded model's ``predict_proba``:
    for ``inputs``, :func:`predict_inputs` (``trained_on`` the model's ``saved_dataset``); else the tutorial's
    ``predict``: print and return the predicted labels of the first ``n`` test rows of ``dataset`` (default
    ``saved_dataset``)."""
    if inputs:
        trained_on = saved_dataset if isinstance(saved_dataset, str) else None  # a model file's, any value
        return predict_inputs(predict_proba, n_features, inputs, data_dir, log, frame=frame, trained_on=trained_on)
    ds = load_dataset(dataset if dataset is not None else saved_dataset, data_root=data_dir, log=log)
    if not len(ds.test[0]):
        raise DataError(f"dataset {ds.name} has no test rows to predict; give a dataset with a test split, or the "
                        "rows to predict (--predict FILE)")
    if ds.n_features != n_features:
        raise DataError(f"{model_path} expects {n_features} input features, dataset {ds.name} has {ds.n_features}")
    everything = np.asarray(np.argmax(predict_proba(ds.test[0]), axis=1))
    predicted = everything[:n]
    log(f"{model_path} on the test set of {ds.name}:")
    log(f"Predicted values for the first {len(predicted)} examples in test set:")
    log(str(predicted))
    log(f"accuracy {np.mean(everything == ds.test[1]) * 100:.2f} % on all {len(everything)} test rows")
    return predicted
