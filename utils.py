"""Everything below the models: engine set-up, images, datasets, training loops, I/O.

This module holds no model. It is the bottom of the tutorial's import chain::

    utils  <-  logistic_sgd  <-  mlp  <-  SdA
       ^-------------  dA  <-------------'

What lives here, once:

- engine configuration (:func:`configure_engine`): the fastest measured PyTensor set-up
  is chosen before PyTensor is first imported, unless the user's own ``PYTENSOR_FLAGS``
  say otherwise;
- ``tile_raster_images`` and ``scale_to_unit_interval`` with the tutorial's semantics;
- dataset readers (the tutorial's ``mnist.pkl.gz`` through a restricted unpickler,
  MNIST-format IDX files, scikit-learn's bundled digits, a synthetic generator), the
  MNIST download with a sha256 check, and :func:`load_dataset` which picks one;
- arrays -> shared variables (:func:`shared_dataset`), :func:`sgd_updates`,
  :func:`minibatch_givens`;
- the one epoch loop (:func:`train_epochs`) and the one early-stopping loop
  (:func:`early_stopping`);
- atomic ``.npz`` parameter files, the JSON-lines metrics log, PNG writing;
- the command-line options every script shares (:func:`base_parser`).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import io
import json
import math
import os
import pickle
import struct
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

# --------------------------------------------------------------------------------------
# Engine configuration. Must run before the first ``import pytensor``: several PyTensor
# flags (the BLAS link line among them) are read once, at import.
# --------------------------------------------------------------------------------------

#: What the library chose for the engine, and why; filled by :func:`configure_engine`.
ENGINE: dict = {}


_BLAS_DIRS = (
    "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib",
    "/opt/homebrew/opt/openblas/lib", "/usr/local/opt/openblas/lib",
)


def _find_blas() -> str | None:
    """Return linker flags for a system OpenBLAS that can be linked, or None.

    Linking needs the development file (``libopenblas.so`` / ``.dylib``), not only the
    runtime ``.so.0``, so look for that file itself.
    """
    for d in _BLAS_DIRS:
        for ext in (".so", ".dylib"):
            if os.path.exists(os.path.join(d, "libopenblas" + ext)):
                if d.startswith(("/usr/lib", "/usr/local/lib")):
                    return "-lopenblas"
                return f"-L{d} -Wl,-rpath,{d} -lopenblas"
    return None


def configure_engine(environ: Mapping[str, str] | None = None) -> dict:
    """Choose the fastest measured PyTensor configuration, leaving user settings alone.

    Measured on the dA epoch (``python bench/bench.py``, numbers in the README), fastest
    first: JAX (XLA fuses the element-wise work and vectorises its transcendentals), the
    C back end linked against a system OpenBLAS, PyTensor's own default (the Numba back
    end), and far behind, the C back end without BLAS (what a plain ``pip install
    pytensor`` gives). So the library makes two choices:

    - PyTensor's process-wide default, used by every ``pytensor.function`` compiled
      without a mode (yours included): ``mode=CVM`` with ``blas__ldflags`` when a system
      OpenBLAS is found; otherwise the Numba default and one line saying what to install.
    - The mode of the library's training functions (:func:`minibatch_function`, used by
      every script with ``--mode default``): JAX when it is installed (``pip install
      jax``), else the process-wide default. JAX stays out of the process-wide default
      because its functions keep private copies of shared random generators.

    Precision defaults to float32, the tutorial's own advice for speed. Any flag already
    named in ``PYTENSOR_FLAGS`` wins, and naming ``mode`` or ``linker`` there makes both
    choices the user's. When PyTensor was imported before this module, its flags are left
    as they are.
    """
    import importlib.util

    env = os.environ if environ is None else environ
    user_flags = env.get("PYTENSOR_FLAGS", "")
    named = {part.split("=", 1)[0].strip() for part in user_flags.split(",") if "=" in part}
    user_mode = bool({"mode", "linker"} & named)
    has_jax = importlib.util.find_spec("jax") is not None
    ENGINE.update(train_mode="JAX" if has_jax and not user_mode else None)
    if "pytensor" in sys.modules:
        ENGINE.update(backend="as configured before utils was imported", chosen_by="user")
        return ENGINE
    extra = [] if "floatX" in named else ["floatX=float32"]
    blas = None if "blas__ldflags" in named else _find_blas()
    if blas:
        extra.append("blas__ldflags=" + blas)
    if user_mode:
        default = "user PYTENSOR_FLAGS"
    elif blas:
        extra.append("mode=CVM")
        default = "C (CVM) + " + blas.split()[-1][2:]
    else:
        default = "Numba (no system BLAS found)"
        if not has_jax:
            print(
                "note: no system BLAS found; using PyTensor's Numba back end. For full speed install JAX "
                "(pip install jax) or OpenBLAS (Debian/Ubuntu: apt-get install libopenblas-dev; macOS: brew "
                "install openblas).",
                file=sys.stderr,
            )
    ENGINE.update(default=default, blas=blas,
                  backend=f"JAX (training), {default} (other graphs)" if ENGINE["train_mode"] else default)
    ENGINE.update(flags=",".join(filter(None, [user_flags, *extra])), chosen_by="library")
    return ENGINE


configure_engine()
# PyTensor reads PYTENSOR_FLAGS once, at import: hand it the chosen flags for that moment
# only, so that child processes still see the user's own environment.
_user_flags = os.environ.get("PYTENSOR_FLAGS")
if ENGINE.get("chosen_by") == "library":
    os.environ["PYTENSOR_FLAGS"] = ENGINE["flags"]
try:
    import pytensor  # noqa: E402  (configured above on purpose)
finally:
    if _user_flags is None:
        os.environ.pop("PYTENSOR_FLAGS", None)
    else:
        os.environ["PYTENSOR_FLAGS"] = _user_flags

import pytensor.tensor as pt  # noqa: E402
from pytensor.compile.sharedvalue import SharedVariable  # noqa: E402


class TutorialError(ValueError):
    """A problem the user can fix; its message is one line naming the fix."""


class DataError(TutorialError):
    """A dataset file is missing, corrupt, or holds values the model cannot use."""


class TrainingDiverged(TutorialError):
    """The cost became NaN or infinite."""


# --------------------------------------------------------------------------------------
# Randomness
# --------------------------------------------------------------------------------------


def check_random_state(seed) -> np.random.Generator | np.random.RandomState:
    """Normalise ``seed`` (None, int, Generator or RandomState) to a numpy generator.

    A RandomState is passed through unchanged, so code seeded the tutorial's way
    (``numpy.random.RandomState(123)``) draws the tutorial's exact weights.
    """
    if seed is None or isinstance(seed, (int, np.integer)):
        return np.random.default_rng(seed)
    if isinstance(seed, (np.random.Generator, np.random.RandomState)):
        return seed
    raise TypeError(f"expected an int seed, a numpy Generator or RandomState, got {type(seed).__name__}")


def tutorial_rng(seed: int) -> np.random.RandomState:
    """The tutorial's weight generator, ``numpy.random.RandomState(seed)``.

    The ``run_*`` scripts use it so that, from the tutorial's seed, they start from the
    tutorial's exact initial weights.
    """
    return np.random.RandomState(seed)


def _draw_seed(numpy_rng) -> int:
    if isinstance(numpy_rng, np.random.RandomState):
        return int(numpy_rng.randint(2**30))
    return int(numpy_rng.integers(2**30))


def shared_rng(theano_rng, numpy_rng, name: str = "rng"):
    """Return a PyTensor shared random generator for noise.

    ``theano_rng`` may be None (seeded from ``numpy_rng``, as the tutorial does with
    ``numpy_rng.randint(2 ** 30)``), an int seed, a numpy Generator (copied), or an
    existing shared generator (used as is, so layers can share one stream).
    """
    if isinstance(theano_rng, SharedVariable):
        if not isinstance(theano_rng.get_value(borrow=True), np.random.Generator):
            raise TypeError("theano_rng must hold a numpy Generator")
        return theano_rng
    if theano_rng is None:
        theano_rng = _draw_seed(numpy_rng)
    if isinstance(theano_rng, (int, np.integer)):
        gen = np.random.default_rng(int(theano_rng))
    elif isinstance(theano_rng, np.random.Generator):
        gen = generator_from_state(theano_rng.bit_generator.state)  # a copy: the caller's stays untouched
    else:
        raise TypeError(
            "theano_rng must be None, an int seed, a numpy Generator or a shared "
            f"generator, got {type(theano_rng).__name__}"
        )
    return pytensor.shared(gen, name=name)


def generator_from_state(state: Mapping) -> np.random.Generator:
    """A numpy Generator in ``state`` (a ``bit_generator.state`` dict, any bit generator)."""
    bit_gen = getattr(np.random, state["bit_generator"])()
    bit_gen.state = state
    return np.random.Generator(bit_gen)


def shared_param(value, name: str, shape: tuple[int, ...], init: Callable[[], np.ndarray]):
    """``None`` -> a new shared variable from ``init()``; a shared variable -> itself.

    Anything else is a TypeError: weights are shared by identity, never copied.
    """
    if value is None:
        return pytensor.shared(np.asarray(init(), dtype=pytensor.config.floatX), name=name, borrow=True)
    if not isinstance(value, SharedVariable):
        raise TypeError(f"{name} must be None or a shared variable, got {type(value).__name__}")
    got = value.get_value(borrow=True).shape
    if tuple(got) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(got)}")
    return value


# --------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------


def scale_to_unit_interval(ndar, eps=1e-8):
    """Scale all values of ``ndar`` to lie in [0, 1] (the tutorial's helper)."""
    ndar = np.array(ndar, dtype=float, copy=True)
    ndar -= ndar.min()
    ndar *= 1.0 / (ndar.max() + eps)
    return ndar


def tile_raster_images(
    X,
    img_shape,
    tile_shape,
    tile_spacing=(0, 0),
    scale_rows_to_unit_interval=True,
    output_pixel_vals=True,
):
    """Tile the rows of ``X`` (each a flattened image) into one big image.

    The tutorial's function, same semantics.

    Parameters
    ----------
    X : ndarray of shape (n_images, h * w), or a 4-tuple of such arrays or None
        One row per image. A 4-tuple gives the R, G, B and alpha channels; a None channel
        is filled with zeros, or, for alpha, made fully opaque.
    img_shape : (h, w)
    tile_shape : (rows, cols)
        Number of images down and across; missing images leave the tile blank.
    tile_spacing : (h, w)
        Pixels between tiles.
    scale_rows_to_unit_interval : bool
        Scale each row to [0, 1] before tiling.
    output_pixel_vals : bool
        True: uint8 in 0-255 (ready for an image file). False: X's float values.

    Returns
    -------
    ndarray, 2-D (one channel) or 3-D with 4 channels last.
    """
    if len(img_shape) != 2 or len(tile_shape) != 2 or len(tile_spacing) != 2:
        raise ValueError("img_shape, tile_shape and tile_spacing must each have 2 entries")
    out_shape = [
        (ishp + tsp) * tshp - tsp for ishp, tshp, tsp in zip(img_shape, tile_shape, tile_spacing)
    ]

    if isinstance(X, tuple):
        if len(X) != 4:
            raise ValueError(f"a tuple of channels must have 4 entries (RGBA), got {len(X)}")
        dt = "uint8" if output_pixel_vals else next((x.dtype for x in X if x is not None), np.float64)
        out_array = np.zeros((out_shape[0], out_shape[1], 4), dtype=dt)
        channel_defaults = [0, 0, 0, 255] if output_pixel_vals else [0.0, 0.0, 0.0, 1.0]
        for i in range(4):
            if X[i] is None:
                out_array[:, :, i] = np.zeros(out_shape, dtype=dt) + channel_defaults[i]
            else:
                out_array[:, :, i] = tile_raster_images(
                    X[i], img_shape, tile_shape, tile_spacing,
                    scale_rows_to_unit_interval, output_pixel_vals,
                )
        return out_array

    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != img_shape[0] * img_shape[1]:
        raise ValueError(
            f"X must be 2-D with {img_shape[0] * img_shape[1]} columns for images of shape "
            f"{tuple(img_shape)}, got shape {X.shape}"
        )
    H, W = img_shape
    Hs, Ws = tile_spacing
    dt = "uint8" if output_pixel_vals else X.dtype
    out_array = np.zeros(out_shape, dtype=dt)
    for tile_row in range(tile_shape[0]):
        for tile_col in range(tile_shape[1]):
            idx = tile_row * tile_shape[1] + tile_col
            if idx >= X.shape[0]:
                continue
            this_img = X[idx].reshape(img_shape)
            if scale_rows_to_unit_interval:
                this_img = scale_to_unit_interval(this_img)
            c = 255 if output_pixel_vals else 1
            out_array[
                tile_row * (H + Hs): tile_row * (H + Hs) + H,
                tile_col * (W + Ws): tile_col * (W + Ws) + W,
            ] = this_img * c
    return out_array


def save_filters_image(W, img_shape, path, n_filters=100, tile_spacing=(1, 1)) -> Path:
    """Write the first ``n_filters`` columns of ``W`` as a square grid of tiles (PNG)."""
    from PIL import Image

    n = min(n_filters, W.shape[1])
    side = max(1, math.ceil(math.sqrt(n)))
    tiles = tile_raster_images(
        X=np.asarray(W)[:, :n].T, img_shape=img_shape, tile_shape=(side, side), tile_spacing=tile_spacing
    )
    path = Path(path)
    buf = io.BytesIO()
    Image.fromarray(tiles).save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())
    return path


# --------------------------------------------------------------------------------------
# Files: atomic writes, parameters, metrics
# --------------------------------------------------------------------------------------


def ensure_output_dir(path) -> Path:
    """Create ``path`` if needed and check it is writable; one-line error otherwise."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise TutorialError(
            f"output directory {path} is not writable ({exc.strerror or exc}); choose another with --output-dir"
        ) from None
    return path


_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed only once complete."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save_params(path, arrays: Mapping[str, np.ndarray], **meta) -> Path:
    """Save named arrays (and JSON-able ``meta``) as one ``.npz``, atomically. No pickle."""
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    if "__meta__" in payload:
        raise ValueError("'__meta__' is reserved")
    payload["__meta__"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **payload)
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


def keep_previous(path) -> Path | None:
    """Before a run replaces ``path``, move an existing file to ``<name>.previous.npz``.

    So a new (or interrupted) run never destroys the model a finished run left there; one
    previous copy is kept.
    """
    path = Path(path)
    if not path.exists():
        return None
    backup = path.with_name(path.name[: -len(".npz")] + ".previous.npz" if path.name.endswith(".npz")
                            else path.name + ".previous")
    os.replace(path, backup)
    return backup


def load_params(path) -> tuple[dict[str, np.ndarray], dict]:
    """Read a file written by :func:`save_params`: ``(arrays, meta)``. Never unpickles."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"model file {path} not found; train first or pass the right path")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as exc:  # zipfile / numpy raise many kinds on a corrupt file
        raise DataError(f"model file {path} is not a readable .npz ({exc}); retrain or restore it") from None
    meta_raw = arrays.pop("__meta__", None)
    meta = json.loads(meta_raw.tobytes().decode()) if meta_raw is not None else {}
    return arrays, meta


def params_to_arrays(params: Iterable) -> dict[str, np.ndarray]:
    """Shared variables -> {name: copy of value}. Names must be unique."""
    out = {}
    for p in params:
        if p.name in out:
            raise ValueError(f"duplicate parameter name {p.name!r}")
        out[p.name] = np.array(p.get_value(borrow=True))  # a numpy copy, also of a JAX array
    return out


def set_params_from_arrays(params: Iterable, arrays: Mapping[str, np.ndarray], source="file") -> None:
    """Load values into shared variables by name, checking names, shapes and dtypes."""
    params = list(params)
    missing = [p.name for p in params if p.name not in arrays]
    if missing:
        raise DataError(f"{source} lacks parameters {missing}; it was saved from a different model")
    for p in params:
        cur = p.get_value(borrow=True)
        new = arrays[p.name]
        if new.shape != cur.shape:
            raise DataError(
                f"{source}: parameter {p.name} has shape {new.shape}, the model expects {cur.shape}"
            )
    for p in params:
        p.set_value(np.asarray(arrays[p.name], dtype=p.get_value(borrow=True).dtype))


class MetricsLog:
    """Append-only JSON-lines log; each record is flushed as it is written."""

    def __init__(self, path):
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, **record) -> None:
        if self.path is None:
            return
        record.setdefault("time", round(time.time(), 3))
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")


# --------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------

#: Public mirror of the MNIST IDX files (the one torchvision uses), and their sha256.
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
DATASET_NAMES = ("mnist", "fashion-mnist", "digits", "synthetic")


def data_dir() -> Path:
    """Where datasets are found and cached.

    ``$AUTOENCODERS_DATA`` if set; else the ``data/`` folder beside this file when
    running from a clone; else ``~/.cache/autoencoders-tutorial`` for an installed
    library.
    """
    env = os.environ.get("AUTOENCODERS_DATA")
    if env:
        return Path(env).expanduser()
    here = Path(__file__).resolve().parent / "data"
    if here.is_dir():
        return here
    return Path.home() / ".cache" / "autoencoders-tutorial"


@dataclass
class Dataset:
    """Three ``(X, y)`` numpy splits: X float in [0, 1] of shape (n, n_features), y int."""

    train: tuple[np.ndarray, np.ndarray]
    valid: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    name: str = "data"
    image_shape: tuple[int, int] | None = None

    @property
    def n_features(self) -> int:
        return int(self.train[0].shape[1])

    @property
    def n_classes(self) -> int:
        return int(max(int(s[1].max()) for s in self.splits if len(s[1])) + 1)

    @property
    def splits(self):
        return (self.train, self.valid, self.test)


def validate_x(X, what="data", unit_interval=True, n_features=None):
    """Check an input matrix: 2-D, float, finite, width ``n_features``, in [0, 1]."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise DataError(f"{what}: inputs must be 2-D (rows of features), got shape {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise DataError(f"{what}: inputs have {X.shape[1]} features, the model expects {n_features}")
    if not np.issubdtype(X.dtype, np.floating):
        raise DataError(f"{what}: inputs must be floats in [0, 1], got dtype {X.dtype}")
    if not np.all(np.isfinite(X)):
        raise DataError(f"{what}: inputs contain NaN or infinite values; clean the data first")
    if unit_interval and X.size and (X.min() < 0 or X.max() > 1):
        raise DataError(
            f"{what}: inputs must lie in [0, 1], got range [{X.min():.4g}, {X.max():.4g}]; scale them first"
        )
    return X


def validate_xy(X, y, what="data", unit_interval=True, n_features=None):
    """Check one split; return it as (float array, int array). One-line errors."""
    X = validate_x(X, what, unit_interval, n_features)
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise DataError(f"{what}: labels must be 1-D with {X.shape[0]} entries, got shape {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if np.all(np.mod(y, 1) == 0):
            y = y.astype(np.int64)
        else:
            raise DataError(f"{what}: labels must be integers, got dtype {y.dtype}")
    if y.size and y.min() < 0:
        raise DataError(f"{what}: labels must be >= 0, got {y.min()}")
    return X, y


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can build numpy arrays (and tuples, lists, numbers) and nothing else."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
    }

    def find_class(self, module, name):
        if (module, name) == ("_codecs", "encode"):  # protocol-2 pickles encode bytes this way; harmless
            import codecs

            return codecs.encode
        if (module, name) in self._ALLOWED:
            if name == "ndarray":
                return np.ndarray
            if name == "dtype":
                return np.dtype
            mod = module.replace("numpy.core.", "numpy._core.")
            import importlib

            return getattr(importlib.import_module(mod), name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed")


def load_mnist_pkl(path) -> Dataset:
    """Read the tutorial's ``mnist.pkl.gz``: a gzipped pickle of three ``(X, y)`` pairs.

    Loaded with an unpickler that can build only numpy arrays and tuples.
    """
    path = Path(path)
    try:
        with gzip.open(path, "rb") as f:
            obj = _ArrayOnlyUnpickler(f, encoding="latin1").load()
    except FileNotFoundError:
        raise DataError(f"{path} not found") from None
    except pickle.UnpicklingError as exc:
        raise DataError(f"{path} is not a safe dataset pickle: {exc}") from None
    except (OSError, EOFError, gzip.BadGzipFile, ValueError) as exc:
        raise DataError(f"{path} is corrupt or truncated ({exc}); download it again") from None
    if not (isinstance(obj, (tuple, list)) and len(obj) == 3 and all(isinstance(s, (tuple, list)) and len(s) == 2 for s in obj)):
        raise DataError(f"{path} must hold three (X, y) pairs (train, valid, test)")
    splits = [validate_xy(X, y, f"{path.name} {nm}", unit_interval=False) for (X, y), nm in zip(obj, ("train", "valid", "test"))]
    widths = {X.shape[1] for X, _ in splits}
    if len(widths) != 1:
        raise DataError(f"{path}: train, valid and test have different widths {sorted(widths)}")
    return _with_image_shape(Dataset(*splits, name=path.name))


def read_idx(path) -> np.ndarray:
    """Read one IDX file (MNIST's format), gzipped or raw, with its header checked."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError(f"{path} not found") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path} is corrupt or truncated ({exc}); download it again") from None
    if len(raw) < 4:
        raise DataError(f"{path} is too short to be an IDX file")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if zero != 0 or dtype_code not in dtypes or ndim == 0:
        raise DataError(f"{path} has a wrong magic number 0x{raw[:4].hex()}; it is not an IDX file")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path} is truncated (header cut short)")
    shape = struct.unpack(">" + "I" * ndim, raw[4:header])
    dt = np.dtype(dtypes[dtype_code])
    need = int(np.prod(shape)) * dt.itemsize
    if len(raw) - header != need:
        raise DataError(
            f"{path} is truncated or padded: expected {need} data bytes for shape {shape}, got {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=dt, offset=header).reshape(shape)


def _has_idx(directory: Path) -> bool:
    return all(_find_idx(directory, stem) for stem in IDX_NAMES)


def _find_idx(directory: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        if (directory / name).is_file():
            return directory / name
    return None


def load_idx_dataset(directory, name=None, n_valid=10000) -> Dataset:
    """Read the four MNIST-format IDX files in ``directory``; split 50k/10k/10k.

    As in the tutorial's MNIST split, validation is the last ``n_valid`` rows of the
    training file. Pixels are scaled to [0, 1] as float32.
    """
    directory = Path(directory)
    paths = [_find_idx(directory, stem) for stem in IDX_NAMES]
    if None in paths:
        missing = [s for s, p in zip(IDX_NAMES, paths) if p is None]
        raise DataError(f"{directory} lacks IDX files {', '.join(m + '.gz' for m in missing)}")
    tr_x, tr_y, te_x, te_y = (read_idx(p) for p in paths)
    for imgs, labels, p in ((tr_x, tr_y, paths[0]), (te_x, te_y, paths[2])):
        if imgs.ndim != 3 or labels.ndim != 1 or imgs.shape[0] != labels.shape[0]:
            raise DataError(f"{p}: images {imgs.shape} and labels {labels.shape} do not match")
    if tr_x.shape[0] <= n_valid:
        raise DataError(f"{paths[0]} has {tr_x.shape[0]} images, need more than {n_valid} for a validation split")
    img_shape = tuple(int(s) for s in tr_x.shape[1:])
    scale = np.float32(1.0 / 255.0)

    def flat(a):
        return a.reshape(a.shape[0], -1).astype(np.float32) * scale

    X, y = flat(tr_x), tr_y.astype(np.int64)
    cut = X.shape[0] - n_valid
    ds = Dataset(
        (X[:cut], y[:cut]), (X[cut:], y[cut:]), (flat(te_x), te_y.astype(np.int64)),
        name=name or directory.name, image_shape=img_shape,
    )
    for split, nm in zip(ds.splits, ("train", "valid", "test")):
        validate_xy(*split, what=f"{ds.name} {nm}")
    return ds


def load_digits_dataset(seed=0) -> Dataset:
    """scikit-learn's bundled 8x8 digits, scaled to [0, 1], split 60/20/20 by a fixed seed."""
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    perm = np.random.default_rng(seed).permutation(len(y))
    n_tr, n_va = int(0.6 * len(y)), int(0.2 * len(y))
    tr, va, te = perm[:n_tr], perm[n_tr:n_tr + n_va], perm[n_tr + n_va:]
    return Dataset((X[tr], y[tr]), (X[va], y[va]), (X[te], y[te]), name="digits", image_shape=(8, 8))


def make_synthetic(n_train=200, n_valid=50, n_test=50, img_shape=(4, 4), n_classes=3, seed=0) -> Dataset:
    """A small, learnable problem for tests: noisy binary prototypes, one per class."""
    rng = np.random.default_rng(seed)
    n_features = img_shape[0] * img_shape[1]
    protos = (rng.random((n_classes, n_features)) < 0.5).astype(np.float32)

    def split(n):
        y = rng.integers(0, n_classes, size=n)
        flip = rng.random((n, n_features)) < 0.1
        X = np.abs(protos[y] - flip).astype(np.float32)
        return X, y.astype(np.int64)

    return Dataset(split(n_train), split(n_valid), split(n_test), name="synthetic", image_shape=tuple(img_shape))


def _with_image_shape(ds: Dataset) -> Dataset:
    side = int(round(math.sqrt(ds.n_features)))
    if ds.image_shape is None and side * side == ds.n_features:
        ds.image_shape = (side, side)
    return ds


def download(url: str, dest, sha256: str, timeout=60.0, progress=True) -> Path:
    """Download ``url`` to ``dest``, checking its sha256.

    The bytes go to a temporary file beside ``dest`` that is renamed only once complete
    and verified; on any failure (network, cut-off transfer, wrong checksum) nothing is
    left behind and a :class:`DataError` says what happened.
    """
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix="." + dest.name + ".", suffix=".part")
    except OSError as exc:
        raise DataError(f"cannot write to {dest.parent} ({exc.strerror or exc}); set --data-dir or "
                        "AUTOENCODERS_DATA to a writable folder") from None
    h = hashlib.sha256()
    got = 0
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            total = int(resp.headers.get("Content-Length") or 0)
            last = 0.0
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                out.write(chunk)
                h.update(chunk)
                got += len(chunk)
                now = time.monotonic()
                if progress and now - last > 0.5:
                    last = now
                    pct = f" {100 * got / total:5.1f}%" if total else ""
                    print(f"\r  {dest.name}: {got / 1e6:.1f} MB{pct}", end="", file=sys.stderr, flush=True)
            if total and got != total:
                raise DataError(f"download of {url} was cut off at {got} of {total} bytes; try again")
        if progress:
            print(f"\r  {dest.name}: {got / 1e6:.1f} MB done", file=sys.stderr)
        os.chmod(tmp, 0o666 & ~_UMASK)
        if h.hexdigest() != sha256:
            raise DataError(f"{url} has sha256 {h.hexdigest()[:12]}..., expected {sha256[:12]}...; not saved")
        os.replace(tmp, dest)
    except DataError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        reason = getattr(exc, "reason", None) or exc
        raise DataError(f"could not download {url}: {reason}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return dest


def fetch_mnist(directory=None, base_url=None, progress=True) -> Path:
    """Ensure the four MNIST IDX files are in ``directory`` (default ``data_dir()/mnist``)."""
    directory = Path(directory) if directory is not None else data_dir() / "mnist"
    base_url = base_url or os.environ.get("AUTOENCODERS_MNIST_URL", MNIST_URL)
    for fname, digest in MNIST_FILES.items():
        if not (directory / fname).is_file():
            download(base_url.rstrip("/") + "/" + fname, directory / fname, digest, progress=progress)
    return directory


def _local_mnist(root: Path) -> Dataset | None:
    if (root / "mnist.pkl.gz").is_file():
        return load_mnist_pkl(root / "mnist.pkl.gz")
    for d in (root / "mnist", root):
        if _has_idx(d):
            return load_idx_dataset(d, name="mnist")
    return None


def load_dataset(dataset=None, data_root=None, download_ok=True, log=print) -> Dataset:
    """Pick and read a dataset by name or path.

    Parameters
    ----------
    dataset : {None, "mnist", "fashion-mnist", "digits", "synthetic"} or path
        None: MNIST when present or downloadable, else (with one line saying so) the
        bundled digits, so a fresh offline machine still runs. "mnist" never falls back.
        A path may be a ``.pkl.gz`` in the tutorial's format or a folder of IDX files.
    data_root : path, optional
        Where datasets are found and cached; default :func:`data_dir`.
    """
    root = Path(data_root) if data_root is not None else data_dir()
    if dataset is None:
        try:
            return load_dataset("mnist", root, download_ok, log)
        except DataError as exc:
            log(f"MNIST unavailable ({exc}); training on scikit-learn's digits instead")
            return load_dataset("digits", root, download_ok, log)
    if isinstance(dataset, Dataset):
        return dataset
    name = str(dataset)
    if name == "mnist":
        ds = _local_mnist(root)
        if ds is not None:
            return ds
        if not download_ok:
            raise DataError(f"MNIST not found: put mnist.pkl.gz or the four IDX .gz files in {root / 'mnist'}")
        log(f"MNIST not in {root}; downloading from {MNIST_URL}")
        try:
            fetch_mnist(root / "mnist")
        except DataError as exc:
            raise DataError(
                f"MNIST not found and {exc}; put mnist.pkl.gz or the four IDX .gz files in {root / 'mnist'}"
            ) from None
        return load_idx_dataset(root / "mnist", name="mnist")
    if name == "fashion-mnist":
        for d in (root / "fashion-mnist", FASHION_MNIST_SYSTEM_DIR):
            if _has_idx(d):
                return load_idx_dataset(d, name="fashion-mnist")
        raise DataError(
            f"Fashion-MNIST not found in {root / 'fashion-mnist'} or {FASHION_MNIST_SYSTEM_DIR}; "
            "install it (apt-get install dataset-fashion-mnist) or copy its four IDX files there"
        )
    if name == "digits":
        return load_digits_dataset()
    if name == "synthetic":
        return make_synthetic()
    path = Path(name).expanduser()
    if path.is_dir():
        return load_idx_dataset(path)
    if path.is_file():
        if path.name.endswith(".pkl.gz"):
            return load_mnist_pkl(path)
        raise DataError(f"{path}: unknown dataset file type; give a .pkl.gz or a folder of IDX files")
    raise DataError(
        f"unknown dataset {name!r}: use one of {', '.join(DATASET_NAMES)}, a .pkl.gz file or a folder of IDX files"
    )


# --------------------------------------------------------------------------------------
# Arrays -> shared variables; graph helpers
# --------------------------------------------------------------------------------------


def shared_dataset(data_xy, borrow=True, name="data"):
    """Load an ``(X, y)`` pair into shared variables: X in floatX, y as int32.

    The tutorial kept y as floatX for old GPUs and cast it; int32 storage is equivalent
    and saves the cast.
    """
    X, y = data_xy
    shared_x = pytensor.shared(np.asarray(X, dtype=pytensor.config.floatX), name=name + ".x", borrow=borrow)
    shared_y = pytensor.shared(np.asarray(y, dtype="int32"), name=name + ".y", borrow=borrow)
    return shared_x, shared_y


def load_data(dataset=None, **kwargs):
    """The tutorial's entry point: ``[(train_x, train_y), (valid_x, valid_y), (test_x, test_y)]``.

    ``dataset`` is anything :func:`load_dataset` accepts (or a :class:`Dataset`); x comes
    back in floatX, y as int32, all as shared variables.
    """
    return shared_splits(load_dataset(dataset, **kwargs))


def shared_splits(ds: Dataset):
    """A :class:`Dataset`'s three splits as ``[(x, y), ...]`` shared variables."""
    return [shared_dataset(split, name=nm) for split, nm in zip(ds.splits, ("train", "valid", "test"))]


def sgd_updates(cost, params, learning_rate):
    """Plain SGD: ``[(p, p - learning_rate * d cost / d p) for p in params]``."""
    params = list(params)
    for p in params:
        if not isinstance(p, SharedVariable):
            raise ValueError(f"sgd_updates needs shared variables, got {p!r}")
    grads = pytensor.grad(cost, params)
    lr = pt.as_tensor_variable(learning_rate)
    return [(p, p - pt.cast(lr, p.dtype) * g) for p, g in zip(params, grads)]


def minibatch_givens(index, batch_size, pairs):
    """``givens`` that slice each shared dataset to minibatch ``index``.

    ``pairs`` is a sequence of (symbolic variable, shared data).
    """
    return {var: data[index * batch_size: (index + 1) * batch_size] for var, data in pairs}


def is_jax_mode(mode) -> bool:
    """True when functions compiled with ``mode`` run on JAX."""
    if mode in (None, "default"):
        mode = pytensor.config.mode
    return str(mode).upper() == "JAX"


def _split_noise_updates(updates):
    """Separate shared-generator updates (``rng -> next state of a draw``) from the rest."""
    from pytensor.tensor.random.op import RandomVariable
    from pytensor.tensor.random.type import RandomType

    pairs = list(updates.items()) if isinstance(updates, dict) else list(updates or [])
    kept, draws = [], []
    for var, new in pairs:
        if isinstance(var.type, RandomType) and new.owner is not None and isinstance(new.owner.op, RandomVariable):
            draws.append((var, new.owner))
        else:
            kept.append((var, new))
    return kept, draws


def minibatch_function(pairs, outputs, batch_size, updates=None, extra_inputs=(), mode=None):
    """Compile a function of a minibatch index: ``f(index, *extra_inputs)``.

    ``pairs`` are (symbolic variable, shared data) whose rows ``index * batch_size`` to
    ``(index + 1) * batch_size`` stand in for the variable. The C and Numba back ends
    slice the shared data inside the graph (``givens``, as the tutorial does), so the
    data stays where the function runs.

    JAX cannot slice with a traced index, and it runs each compiled function on a private
    copy of a shared random generator (so the generator's state could not be
    checkpointed, and functions sharing one generator would replay the same noise). So in
    JAX mode the minibatch rows are sliced on the host and passed in, and every noise
    draw whose generator is advanced in ``updates`` is made on the host by the same
    random-variable op the C back end runs, from the same shared generator, and passed in
    too: the masks are the C back end's, bit for bit, and the generator's state is
    always the shared variable's. The returned callable hides the difference.
    """
    mode = compile_mode(mode)
    extra_inputs = list(extra_inputs)
    if not is_jax_mode(mode):
        index = pt.lscalar("index")
        return pytensor.function([index, *extra_inputs], outputs, updates=updates, mode=mode,
                                 givens=minibatch_givens(index, batch_size, pairs))
    # JAX without x64 computes float32 uniforms for float32 graphs; expected and harmless.
    warnings.filterwarnings("ignore", message="Explicitly requested dtype")
    warnings.filterwarnings("ignore", message="Skipping Assert")  # shape checks JAX tracing drops
    if pytensor.config.floatX != "float32":
        raise TutorialError("JAX mode runs in float32 here; use --precision float32 or another --mode")
    kept, draws = _split_noise_updates(updates)
    placeholders = [var.type(name=f"{var.name or 'input'}_batch") for var, _ in pairs]
    draw_vars = [node.outputs[1] for _, node in draws]
    noise_inputs = [v.type(name="noise") for v in draw_vars]
    batch_givens = list(zip([var for var, _ in pairs], placeholders))
    f = pytensor.function([*placeholders, *noise_inputs, *extra_inputs], outputs, updates=kept, mode=mode,
                          givens=batch_givens + list(zip(draw_vars, noise_inputs)), on_unused_input="ignore")
    data = [d for _, d in pairs]
    size_fn = None
    if draws:
        # Each draw's size and parameters (shapes of the minibatch, constants): computed on
        # the host with the Python linker, once per input shape.
        from pytensor.compile.mode import Mode

        size_fn = pytensor.function([*placeholders, *extra_inputs], [i for _, n in draws for i in n.inputs[1:]],
                                    givens=batch_givens, mode=Mode(linker="py", optimizer="fast_run"),
                                    on_unused_input="ignore")
    size_cache = {}

    def step(index, *extra):
        lo = index * batch_size
        batch = [d.get_value(borrow=True)[lo: lo + batch_size] for d in data]
        noise = []
        if draws:
            # Sizes depend on the minibatch's shape; a draw's parameters may depend on the
            # scalar extra inputs (a binomial's p, say), so they are part of the key too.
            try:
                key = (tuple(b.shape for b in batch), tuple(float(e) for e in extra))
            except (TypeError, ValueError):  # a non-scalar extra input: no caching
                key = None
            meta = size_cache.get(key) if key is not None else None
            if meta is None:
                meta = size_fn(*batch, *extra)
                if key is not None:
                    size_cache[key] = meta
            pos = 0
            for rng_var, node in draws:
                n_args = len(node.inputs) - 1
                size, *params = meta[pos: pos + n_args]
                pos += n_args
                # What the C back end's in-place random op does: draw from the shared
                # generator itself, advancing it (no copy of the generator per step).
                draw = node.op.rng_fn(rng_var.get_value(borrow=True), *params, None if size is None else tuple(size))
                noise.append(np.asarray(draw, dtype=node.op.dtype))
        return f(*batch, *noise, *extra)

    _JAX_UPDATED.update(var for var, _ in kept)
    return step


#: Shared variables that JAX functions update: between calls they hold JAX arrays, which
#: the C back end cannot read. :func:`sync_shared` turns them back into numpy arrays; the
#: training loops call it after every epoch, so checkpoints, images and any C function
#: compiled afterwards see plain arrays (zero-copy on the CPU).
_JAX_UPDATED: "weakref.WeakSet" = weakref.WeakSet()


def sync_shared() -> None:
    """Give every shared variable updated by a JAX function a numpy value again."""
    for var in list(_JAX_UPDATED):
        value = var.get_value(borrow=True)
        if not isinstance(value, np.ndarray):
            var.set_value(np.asarray(value), borrow=True)


def n_batches(shared_or_array, batch_size) -> int:
    """Number of full minibatches (the tutorial drops the last partial one)."""
    n = (shared_or_array.get_value(borrow=True) if isinstance(shared_or_array, SharedVariable) else shared_or_array).shape[0]
    return n // batch_size


# --------------------------------------------------------------------------------------
# Training loops
# --------------------------------------------------------------------------------------


def _checked_cost(cost, label, epoch, index, note="") -> float:
    """The minibatch cost as a float; a NaN or infinite one stops training with one line."""
    cost = float(cost)
    if not math.isfinite(cost):
        raise TrainingDiverged(f"{label}cost became {cost} at epoch {epoch}, minibatch {index}; {note}"
                               "lower the learning rate")
    return cost


def _report_epoch(log, metrics, label, default_phase, epoch, mean, secs, text) -> None:
    log(text)
    if metrics is not None:
        metrics.write(phase=label.strip(" :") or default_phase, epoch=epoch, cost=mean, seconds=round(secs, 4))


@dataclass
class EpochResult:
    costs: list
    interrupted: bool = False
    seconds: list = field(default_factory=list)


def train_epochs(
    step,
    n_train_batches: int,
    n_epochs: int,
    *,
    start_epoch: int = 0,
    label: str = "",
    log=print,
    metrics: MetricsLog | None = None,
    on_epoch_end=None,
    progress_every: float = 15.0,
) -> EpochResult:
    """The one epoch loop: call ``step(i)`` for every minibatch, ``n_epochs`` times.

    Prints each epoch's mean cost and seconds (and progress inside long epochs), writes a
    metrics record, and calls ``on_epoch_end(epoch, mean_cost)`` (e.g. to checkpoint).
    A NaN or infinite cost raises :class:`TrainingDiverged`; Ctrl-C stops cleanly after
    the current minibatch and returns with ``interrupted=True``.
    """
    if n_train_batches <= 0:
        raise TutorialError("no full minibatch: the training set is smaller than the batch size")
    result = EpochResult(costs=[])
    costs = np.empty(n_train_batches)
    try:
        for epoch in range(start_epoch, n_epochs):
            t0 = last = time.perf_counter()
            for i in range(n_train_batches):
                costs[i] = _checked_cost(step(i), label, epoch, i)
                now = time.perf_counter()
                if now - last > progress_every:
                    last = now
                    log(f"  {label}epoch {epoch}: {i + 1}/{n_train_batches} minibatches, {now - t0:.0f}s")
            sync_shared()
            secs = time.perf_counter() - t0
            mean = float(costs.mean())
            result.costs.append(mean)
            result.seconds.append(secs)
            _report_epoch(log, metrics, label, "train", epoch, mean, secs,
                          f"{label}Training epoch {epoch}, cost {mean:.4f} ({secs:.2f}s)")
            if on_epoch_end is not None:
                on_epoch_end(epoch, mean)
    except KeyboardInterrupt:
        log(f"{label}interrupted; keeping the parameters trained so far")
        result.interrupted = True
    finally:
        sync_shared()
    return result


def mean_error(fn, n: int) -> float:
    """Mean of ``fn(i)`` over minibatches ``0..n-1`` (a validation or test error)."""
    return float(np.mean([fn(i) for i in range(n)]))


@dataclass
class EarlyStoppingState:
    """Everything the early-stopping loop needs to resume exactly (JSON-able)."""

    patience: int
    validation_frequency: int
    epoch: int = 0  # epochs completed
    best_validation_loss: float = math.inf
    best_iter: int = -1
    test_score: float = math.nan
    done: bool = False

    def to_meta(self) -> dict:
        return {k: (repr(v) if isinstance(v, float) and not math.isfinite(v) else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_meta(cls, meta: Mapping) -> "EarlyStoppingState":
        return cls(**{k: (float(v) if isinstance(v, str) else v) for k, v in meta.items()})


@dataclass
class EarlyStoppingResult:
    state: EarlyStoppingState
    interrupted: bool = False
    seconds: float = 0.0
    epoch_seconds: list = field(default_factory=list)

    @property
    def best_validation_loss(self):
        return self.state.best_validation_loss

    @property
    def test_score(self):
        return self.state.test_score

    @property
    def epochs(self):
        return self.state.epoch


def early_stopping(
    train_fn,
    n_train_batches: int,
    validate: Callable[[], float],
    test: Callable[[], float],
    params: Sequence,
    *,
    n_epochs: int = 1000,
    patience: int = 5000,
    patience_increase: float = 2,
    improvement_threshold: float = 0.995,
    validation_frequency: int | None = None,
    state: EarlyStoppingState | None = None,
    best_params: Mapping[str, np.ndarray] | None = None,
    on_improvement=None,
    on_epoch_end=None,
    log=print,
    metrics: MetricsLog | None = None,
    label: str = "",
) -> EarlyStoppingResult:
    """The one early-stopping loop (the tutorial's, exactly), shared by every script.

    Trains with ``train_fn(minibatch_index) -> cost``. Every ``validation_frequency``
    minibatches (default ``min(n_train_batches, patience // 2)``) it calls
    ``validate()``; a new best validation error snapshots ``params``, computes
    ``test()`` (the test error of the best model) and calls ``on_improvement(state)``;
    an improvement by more than ``1 - improvement_threshold`` (relative) extends
    ``patience`` to ``iter * patience_increase``. It stops when ``patience <= iter``
    (counted in minibatch iterations) or after ``n_epochs``.

    At the end the best parameters are restored into ``params``, also after Ctrl-C
    (``interrupted=True`` in the result) and before a :class:`TrainingDiverged` error
    for a NaN or infinite cost. ``on_epoch_end(state, best_params)`` runs after each
    epoch (for checkpoints); passing a saved ``state`` and ``best_params`` resumes.
    """
    if n_train_batches <= 0:
        raise TutorialError("no full minibatch: the training set is smaller than the batch size")
    check_positive(n_epochs=n_epochs, patience=patience)
    params = list(params)
    if state is None:
        freq = validation_frequency or min(n_train_batches, patience // 2)
        state = EarlyStoppingState(patience=patience, validation_frequency=max(1, int(freq)))
    best = dict(best_params) if best_params is not None else None
    result = EarlyStoppingResult(state=state)
    costs = np.empty(n_train_batches)
    t_start = time.perf_counter()
    try:
        while state.epoch < n_epochs and not state.done:
            epoch = state.epoch + 1
            t0 = time.perf_counter()
            n_done = 0
            for minibatch_index in range(n_train_batches):
                costs[minibatch_index] = _checked_cost(train_fn(minibatch_index), label, epoch, minibatch_index,
                                                       "best parameters restored and nothing saved; ")
                n_done += 1
                it = (epoch - 1) * n_train_batches + minibatch_index
                if (it + 1) % state.validation_frequency == 0:
                    this_validation_loss = validate()
                    log(f"{label}epoch {epoch}, minibatch {minibatch_index + 1}/{n_train_batches}, "
                        f"validation error {this_validation_loss * 100:f} %")
                    if metrics is not None:
                        metrics.write(phase=label.strip(" :") or "finetune", epoch=epoch, iter=it,
                                      validation_error=this_validation_loss)
                    if this_validation_loss < state.best_validation_loss:
                        if this_validation_loss < state.best_validation_loss * improvement_threshold:
                            state.patience = max(state.patience, it * patience_increase)
                        state.best_validation_loss = this_validation_loss
                        state.best_iter = it
                        best = params_to_arrays(params)
                        state.test_score = test()
                        log(f"{label}     epoch {epoch}, minibatch {minibatch_index + 1}/{n_train_batches}, "
                            f"test error of best model {state.test_score * 100:f} %")
                        if metrics is not None:
                            metrics.write(phase=label.strip(" :") or "finetune", epoch=epoch, iter=it,
                                          test_error=state.test_score)
                        if on_improvement is not None:
                            on_improvement(state)
                if state.patience <= it:
                    state.done = True
                    break
            state.epoch = epoch
            sync_shared()
            secs = time.perf_counter() - t0
            result.epoch_seconds.append(secs)
            mean_cost = float(costs[:n_done].mean())
            _report_epoch(log, metrics, label, "finetune", epoch, mean_cost, secs,
                          f"{label}epoch {epoch} done: mean cost {mean_cost:.5f}, {secs:.2f}s")
            if on_epoch_end is not None:
                on_epoch_end(state, best)
    except KeyboardInterrupt:
        log(f"{label}interrupted; keeping the best parameters found so far")
        result.interrupted = True
    except TrainingDiverged:
        sync_shared()
        if best is not None:
            set_params_from_arrays(params, best, source="best snapshot")
        raise
    sync_shared()
    if best is not None:
        set_params_from_arrays(params, best, source="best snapshot")
    result.seconds = time.perf_counter() - t_start
    return result


def compile_classifier(x, y, cost, errors, params, datasets, batch_size, learning_rate, mode=None):
    """Compile the tutorial's three functions of a minibatch index: train, validate, test.

    ``datasets`` is what :func:`load_data` returns; ``x`` and ``y`` are the symbolic
    inputs the graphs were built on. Only ``params`` are trained (pass a subset to freeze
    the rest). Returns ``(train_fn, validate_fn, test_fn)``; the last two give the
    minibatch's error rate.
    """
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = datasets
    updates = sgd_updates(cost, params, learning_rate)
    train_fn = minibatch_function([(x, train_x), (y, train_y)], cost, batch_size, updates=updates, mode=mode)
    validate_fn = minibatch_function([(x, valid_x), (y, valid_y)], errors, batch_size, mode=mode)
    test_fn = minibatch_function([(x, test_x), (y, test_y)], errors, batch_size, mode=mode)
    return train_fn, validate_fn, test_fn


def train_classifier(
    build,
    *,
    dataset=None,
    learning_rate,
    n_epochs,
    batch_size,
    patience,
    output_dir,
    model_file,
    precision="float32",
    mode=None,
    data_dir=None,
    seed=1234,
    log=print,
    model_meta=None,
):
    """Load data, build a classifier, train it with :func:`early_stopping`, save the best.

    ``build(x, y, n_in, n_out, numpy_rng) -> (classifier, cost)`` makes the model on the
    symbolic input ``x`` and labels ``y``; the classifier has ``errors(y)`` and ``params``. The best model
    is written (atomically, ``.npz``) to ``output_dir/model_file`` at each improvement,
    so a diverged or interrupted run never replaces it with worse parameters.
    Returns ``(classifier, EarlyStoppingResult, Dataset)``.
    """
    check_positive(learning_rate=learning_rate, n_epochs=n_epochs, batch_size=batch_size)
    out = ensure_output_dir(output_dir)
    with pytensor.config.change_flags(floatX=precision):
        ds = load_dataset(dataset, data_root=data_dir, log=log)
        datasets = shared_splits(ds)
        n_train, n_valid, n_test = (n_batches(d[0], batch_size) for d in datasets)
        if min(n_valid, n_test) <= 0:
            raise TutorialError(f"batch size {batch_size} is larger than the validation or test set")
        x = pt.matrix("x", dtype=precision)
        y = pt.ivector("y")
        classifier, cost = build(x, y, ds.n_features, ds.n_classes, tutorial_rng(seed))
        t0 = time.perf_counter()
        train_fn, validate_fn, test_fn = compile_classifier(
            x, y, cost, classifier.errors(y), classifier.params, datasets, batch_size, learning_rate, mode)
        log(f"dataset {ds.name}: {n_train} training minibatches of {batch_size}; "
            f"compiled in {time.perf_counter() - t0:.1f}s; engine {describe_mode(mode)}, {precision}")
        path = out / model_file
        keep_previous(path)
        meta = dict(model_meta or {}, n_in=ds.n_features, n_out=ds.n_classes, dataset=ds.name)

        def save_best(state):
            save_params(path, params_to_arrays(classifier.params), **meta,
                        validation_error=state.best_validation_loss, test_error=state.test_score)

        result = early_stopping(
            train_fn, n_train, lambda: mean_error(validate_fn, n_valid), lambda: mean_error(test_fn, n_test),
            classifier.params, n_epochs=n_epochs, patience=patience, on_improvement=save_best, log=log,
            metrics=MetricsLog(out / "metrics.jsonl"),
        )
    per_epoch = result.seconds / max(1, len(result.epoch_seconds))
    log(f"Optimization complete with best validation score of {result.best_validation_loss * 100:f} %, "
        f"with test performance {result.test_score * 100:f} %")
    log(f"The code ran for {result.epochs} epochs, with {result.epochs / max(result.seconds, 1e-9):f} epochs/sec "
        f"({per_epoch:.2f}s per epoch); best model saved to {path}")
    return classifier, result, ds


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------

MODES = ("default", "CVM", "C", "NUMBA", "JAX", "FAST_COMPILE")


def base_parser(module_doc: str, epilog: str, **defaults) -> argparse.ArgumentParser:
    """The options every script shares, declared once; ``defaults`` are the tutorial's."""
    doc = (module_doc or "").strip().splitlines()
    p = argparse.ArgumentParser(
        description=doc[0] if doc else None,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dataset", default=defaults.get("dataset"),
                   help="mnist | fashion-mnist | digits | synthetic | PATH (.pkl.gz or IDX folder). "
                        "Default: MNIST if present or downloadable, else digits")
    p.add_argument("--data-dir", default=None, help=f"where datasets are found and cached (default {data_dir()})")
    p.add_argument("--epochs", type=int, default=defaults["epochs"], help="training epochs (default %(default)s)")
    p.add_argument("--learning-rate", type=float, default=defaults["learning_rate"],
                   help="SGD learning rate (default %(default)s)")
    p.add_argument("--batch-size", type=int, default=defaults["batch_size"], help="minibatch size (default %(default)s)")
    p.add_argument("--seed", type=int, default=defaults.get("seed", 123), help="random seed (default %(default)s)")
    if "patience" in defaults:
        p.add_argument("--patience", type=int, default=defaults["patience"],
                       help="early-stopping patience in minibatch iterations (default %(default)s)")
    p.add_argument("--output-dir", default=defaults["output_dir"], help="where outputs go (default %(default)s)")
    p.add_argument("--precision", choices=("float32", "float64"), default="float32",
                   help="floating-point precision (default float32, the tutorial's advice for speed)")
    p.add_argument("--mode", choices=MODES, default="default",
                   help="PyTensor mode; 'default' is the library's measured choice (%s)" % ENGINE.get("backend", "?"))
    return p


def check_positive(**values) -> None:
    """Raise a one-line error for any value that is not > 0."""
    for k, v in values.items():
        if v is None or v <= 0:
            raise TutorialError(f"{k} must be > 0, got {v}")


def compile_mode(mode: str | None):
    """Map the ``--mode`` flag to what ``pytensor.function(mode=...)`` takes.

    None or "default" is the library's measured choice for training functions
    (``ENGINE["train_mode"]``: JAX when installed, else PyTensor's configured default).
    """
    if mode in (None, "default"):
        # JAX here runs in float32 only (enabling its x64 switch is process-wide and turns
        # float32 graphs into float64 ones), so float64 work uses the configured default.
        return ENGINE.get("train_mode") if pytensor.config.floatX == "float32" else None
    if mode not in MODES:
        raise TutorialError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def describe_mode(mode=None) -> str:
    """Which back end the training functions of a run with ``--mode mode`` use, in words."""
    chosen = compile_mode(mode)
    if chosen is None:
        return ENGINE.get("default", str(pytensor.config.mode))
    return str(chosen)


def run_cli(main_body: Callable[[], int]) -> int:
    """Run a script body, turning user-fixable errors into one line and exit code 2."""
    try:
        return main_body()
    except TutorialError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
