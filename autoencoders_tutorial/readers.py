"""Dataset files read into numpy, and the :class:`Dataset` they become.

Readers: the tutorial's ``mnist.pkl.gz`` (by an unpickler that builds only numpy arrays), MNIST-format IDX
files, scikit-learn's digits, a small synthetic problem for tests; every split is validated
(:func:`validate_xy`, one-line errors). :mod:`.datasets` finds which file to read and makes shared variables.
"""

from __future__ import annotations

import codecs
import hashlib
import importlib
import io
import math
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError
from .userfiles import gunzip, read_bytes

IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclass
class Dataset:
    """Three ``(X, y)`` numpy splits: X float in [0, 1] of shape (n, n_features), y int."""

    train: tuple[np.ndarray, np.ndarray]
    valid: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    name: str = "data"
    image_shape: tuple[int, int] | None = None
    classes: int | None = None  # K, the number of classes; None: the distinct training labels

    @property
    def n_features(self) -> int:
        return int(self.train[0].shape[1])

    @property
    def n_classes(self) -> int:
        if self.classes is not None:
            return int(self.classes)
        return int(max(int(s[1].max()) for s in self.splits if len(s[1])) + 1)

    @property
    def splits(self):
        return (self.train, self.valid, self.test)

    def fingerprint(self) -> str:
        """sha256 of every split's inputs and labels (what a checkpoint stores, so a resume on
        different data of the same name is refused)."""
        h = hashlib.sha256()
        for a in (*self.train, *self.valid, *self.test):  # each split's inputs, then its labels
            if a is None:
                continue
            h.update(f"{a.dtype.str}{a.shape}".encode())
            for block in (b for _, b in a.blocks(a.dtype)) if hasattr(a, "blocks") else [a]:  # on disk: by blocks
                h.update(memoryview(np.ascontiguousarray(block)).cast("B"))
        return h.hexdigest()


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
        raise DataError(f"{what}: inputs must lie in [0, 1], got range [{X.min():.4g}, {X.max():.4g}]; scale them "
                        "first")
    return X


def validate_xy(X, y, what="data", unit_interval=True, n_features=None):
    """Check one split; return it as (float array, int array). One-line errors."""
    X = validate_x(X, what, unit_interval, n_features)
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise DataError(f"{what}: labels must be 1-D with {X.shape[0]} entries, got shape {y.shape}")
    if y.size and y.dtype.kind not in "iuf":  # strings, objects, dates, booleans
        raise DataError(f"{what}: labels must be integers 0..K-1, got dtype {y.dtype} (e.g. {y[0]!r}); "
                        "map them to class numbers first")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if np.all(np.isfinite(y)) and np.all(np.mod(y, 1) == 0) and np.abs(y).max() < 2**31:
            y = y.astype(np.int64)
        else:
            raise DataError(f"{what}: labels must be integers, got dtype {y.dtype}")
    if y.size and y.min() < 0:
        raise DataError(f"{what}: labels must be >= 0, got {y.min()}")
    return X, y


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can build numpy arrays (and tuples, lists, numbers) and nothing else."""

    _ALLOWED = {
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    }

    def find_class(self, module, name):
        if (module, name) == ("_codecs", "encode"):  # protocol-2 pickles encode bytes this way; harmless
            return codecs.encode
        if (module, name) in self._ALLOWED:
            return getattr(importlib.import_module(module.replace("numpy.core.", "numpy._core.")), name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed")


def load_mnist_pkl(path) -> Dataset:
    """Read the tutorial's ``mnist.pkl.gz``, a gzipped pickle of three ``(X, y)`` pairs, with an unpickler
    that can build only numpy arrays and tuples."""
    path = Path(path)
    data = gunzip(path, "dataset")  # a regular file, unpacked with a cap
    try:
        obj = _ArrayOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        raise DataError(f"{path} is not a safe dataset pickle: {exc}") from None
    except (EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        raise DataError(f"{path} is corrupt or truncated ({exc}); download it again") from None
    if not (isinstance(obj, (tuple, list)) and len(obj) == 3
            and all(isinstance(s, (tuple, list)) and len(s) == 2 for s in obj)):
        raise DataError(f"{path} must hold three (X, y) pairs (train, valid, test)")
    splits = [validate_xy(X, y, f"{path.name} {nm}", unit_interval=False)
              for (X, y), nm in zip(obj, ("train", "valid", "test"))]
    widths = {X.shape[1] for X, _ in splits}
    if len(widths) != 1:
        raise DataError(f"{path}: train, valid and test have different widths {sorted(widths)}")
    side = int(round(math.sqrt(splits[0][0].shape[1])))
    return Dataset(*splits, name=path.name, image_shape=(side, side) if side * side == splits[0][0].shape[1] else None)


def read_idx(path) -> np.ndarray:
    """Read one IDX file (MNIST's format), gzipped or raw, with its header checked."""
    path = Path(path)
    raw = gunzip(path, "dataset") if path.suffix == ".gz" else read_bytes(path, "dataset")
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
    need = math.prod(shape) * dt.itemsize  # Python integers: a hostile header cannot overflow it
    if len(raw) - header != need:
        raise DataError(f"{path} is truncated or padded: expected {need} data bytes for shape {shape}, got "
                        f"{len(raw) - header}")
    return np.frombuffer(raw, dtype=dt, offset=header).reshape(shape)


def _idx_dir(*folders) -> Path | None:
    """The first of ``folders`` that holds the four IDX files, or None."""
    return next((d for d in folders if all(_find_idx(d, stem) for stem in IDX_NAMES)), None)


def _find_idx(directory: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        if (directory / name).is_file():
            return directory / name
    return None


#: The alignment JAX on a CPU needs to read a numpy array in place (``jax.device_put`` then copies nothing).
ALIGNMENT = 64


def empty_aligned(shape, dtype=np.float32) -> np.ndarray:
    """``np.empty(shape, dtype)`` starting on a :data:`ALIGNMENT`-byte boundary: the block path hands a
    training set (and each layer's precomputed codes) to JAX, which reads an aligned array in place and
    copies an unaligned one (doubling a run's memory).

    >>> empty_aligned((3, 5)).ctypes.data % ALIGNMENT
    0
    """
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + ALIGNMENT, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start:start + nbytes].view(dtype).reshape(shape)


def load_idx_dataset(directory, name=None, n_valid=10000) -> Dataset:
    """Read the four MNIST-format IDX files in ``directory``, split 50k/10k/10k (as the tutorial's MNIST:
    validation is the last ``n_valid`` rows of the training file); pixels scaled to [0, 1] as float32."""
    directory = Path(directory)
    paths = [_find_idx(directory, stem) for stem in IDX_NAMES]
    if None in paths:
        missing = [s for s, p in zip(IDX_NAMES, paths) if p is None]
        raise DataError(f"{directory} lacks IDX files {', '.join(m + '.gz' for m in missing)}")
    tr_x, tr_y, te_x, te_y = (read_idx(p) for p in paths)
    for imgs, labels, p, lp in ((tr_x, tr_y, paths[0], paths[1]), (te_x, te_y, paths[2], paths[3])):
        if imgs.ndim != 3 or labels.ndim != 1 or imgs.shape[0] != labels.shape[0]:
            raise DataError(f"{p}: images {imgs.shape} and labels {labels.shape} do not match")
        if imgs.shape[0] == 0 or 0 in imgs.shape[1:]:
            raise DataError(f"{p} holds no images (shape {imgs.shape})")
        validate_xy(np.zeros((len(labels), 1), np.float32), labels, what=str(lp))  # integer labels before any cast
    if tr_x.shape[0] <= n_valid:
        raise DataError(f"{paths[0]} has {tr_x.shape[0]} images, need more than {n_valid} for a validation split")
    img_shape = tuple(int(s) for s in tr_x.shape[1:])
    scale = np.float32(1.0 / 255.0)

    def flat(a):  # one float32 array, written in place: no temporary copy of the set
        return np.multiply(a.reshape(a.shape[0], -1), scale, out=empty_aligned((a.shape[0], a[0].size)))

    X, y = flat(tr_x), tr_y.astype(np.int64)
    cut = X.shape[0] - n_valid
    ds = Dataset((X[:cut], y[:cut]), (X[cut:], y[cut:]), (flat(te_x), te_y.astype(np.int64)),
                 name=name or directory.name, image_shape=img_shape)
    for split, nm in zip(ds.splits, ("train", "valid", "test")):
        validate_xy(*split, what=f"{ds.name} {nm}")
    return ds


def load_digits_dataset(seed=0) -> Dataset:
    """scikit-learn's bundled 8x8 digits, scaled to [0, 1], split 60/20/20 by a fixed seed."""
    from sklearn.datasets import load_digits

    d = load_digits()
    X, y = (d.data / 16.0).astype(np.float32), d.target.astype(np.int64)
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
        return np.abs(protos[y] - flip).astype(np.float32), y.astype(np.int64)

    return Dataset(split(n_train), split(n_valid), split(n_test), name="synthetic", image_shape=tuple(img_shape),
                   classes=n_classes)
