"""Datasets: which file a name means, the checks every dataset passes, and the tutorial's ``load_data``.

dataset file -> reader (:mod:`.readers`: numpy, validated) -> :class:`Dataset` ->
:func:`load_data` (shared variables, resident where the compiled functions run).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import download, ondisk
from .engine import pytensor
from .errors import DataError
from .readers import (  # noqa: F401  (Dataset, the validators and the readers are this module's API too)
    IDX_NAMES, Dataset, empty_aligned, _idx_dir, load_digits_dataset, load_idx_dataset, load_mnist_pkl,
    make_synthetic, read_idx, validate_x, validate_xy,
)

FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
DATASET_NAMES = ("mnist", "fashion-mnist", "digits", "synthetic")


def data_dir() -> Path:
    """Where datasets are found and cached: ``$AUTOENCODERS_DATA`` if set; else, in a clone, the ``data/``
    folder beside ``dA.py``; else (an installed library) ``~/.cache/autoencoders-tutorial``."""
    env = os.environ.get("AUTOENCODERS_DATA")
    if env:
        try:
            return Path(env).expanduser()
        except RuntimeError as exc:  # ~user of no such user, or no home directory
            raise DataError(f"AUTOENCODERS_DATA={env} cannot be expanded ({exc}); give a full path") from None
    clone = Path(__file__).resolve().parent.parent  # the folder holding dA.py in a clone
    if (clone / "dA.py").is_file() and (clone / "data").is_dir():
        return clone / "data"
    return Path.home() / ".cache" / "autoencoders-tutorial"


#: The number of classes of the named datasets.
NAMED_CLASSES = {"mnist": 10, "fashion-mnist": 10, "digits": 10}
#: The names of the classes of the named datasets that have names (MNIST's and the digits' classes are the digits).
CLASS_NAMES = {"fashion-mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                                 "Bag", "Ankle boot")}


def check_dataset(ds: Dataset, n_classes: int | None = None) -> Dataset:
    """Check a dataset before anything is built on it; one-line :class:`DataError` otherwise. Sets
    ``ds.classes``.

    Every split has the same width; labels are the integers ``0..K-1``, every class present in the training
    split, K being ``n_classes`` (10 for the named datasets) or else the number of distinct training labels;
    validation and test labels are among them. A gap or a stray label is named with its count.
    """
    widths = {nm: s[0].shape[1] if s[0].ndim == 2 else None for nm, s in zip(("train", "valid", "test"), ds.splits)}
    if len(set(widths.values())) != 1:
        raise DataError(f"{ds.name}: the splits have different widths "
                        f"({', '.join(f'{k} {v}' for k, v in widths.items())} features); every row must have the "
                        "same features")
    if len(ds.train[0]) == 0:
        raise DataError(f"{ds.name}: the training split has no rows")
    if ds.train[1] is None:  # rows on disk without labels: for the autoencoders only
        return ds
    labels, counts = _label_counts(ds.train[1])
    k = int(n_classes if n_classes is not None else ds.classes if ds.classes is not None else len(labels))
    if k < 2:
        raise DataError(f"{ds.name} train: every row has the label {labels[0]}; a classifier needs at least two "
                        "classes")
    if ds.n_features == 0:
        raise DataError(f"{ds.name}: the rows have no features")
    stray = [(int(lab), int(c)) for lab, c in zip(labels, counts) if not 0 <= lab < k]
    missing = sorted(set(range(k)) - {int(v) for v in labels if 0 <= v < k})
    if stray:
        lab, c = stray[0]
        gap = f", and class {missing[0]} has no rows" if missing else ""
        raise DataError(f"{ds.name} train: label {lab} ({c} row{'s' * (c != 1)}) is outside 0..{k - 1} "
                        f"({k} classes){gap}; labels must be 0..K-1: fix, renumber or drop those rows")
    if missing:
        raise DataError(f"{ds.name} train: class {missing[0]} has no rows ({len(missing)} of {k} classes missing); "
                        "labels must be 0..K-1 with every class present: renumber them")
    for nm, split in (("valid", ds.valid), ("test", ds.test)):
        bad = [(int(lab), int(c)) for lab, c in zip(*np.unique(np.asarray(split[1]), return_counts=True))
               if not 0 <= lab < k]
        if bad:
            lab, c = bad[0]
            raise DataError(f"{ds.name} {nm}: label {lab} ({c} row{'s' * (c != 1)}) is not a training class "
                            f"(0..{k - 1}); fix or drop those rows")
    ds.classes = k
    if isinstance(ds.train[1], ondisk.DiskRows):
        ds.train[1].classes = k  # each block read is checked against them
    return ds


def _label_counts(y):
    """The distinct labels and their counts (labels on disk read a window at a time)."""
    if not isinstance(y, ondisk.DiskRows):
        return np.unique(np.asarray(y), return_counts=True)
    counts: dict = {}
    for _, block in y.blocks():
        for lab, c in zip(*np.unique(block, return_counts=True)):
            counts[lab] = counts.get(lab, 0) + int(c)
    labels = np.array(sorted(counts), dtype=np.int64)
    return labels, np.array([counts[lab] for lab in labels])


def _local_mnist(root: Path) -> Dataset | None:
    if (root / "mnist.pkl.gz").is_file():
        return load_mnist_pkl(root / "mnist.pkl.gz")
    d = _idx_dir(root / "mnist", root)
    return None if d is None else load_idx_dataset(d, name="mnist")


def load_dataset(dataset=None, data_root=None, download_ok=True, log=print) -> Dataset:
    """Pick, read and check (:func:`check_dataset`) a dataset by name or path.

    Parameters
    ----------
    dataset : {None, "mnist", "fashion-mnist", "digits", "synthetic"} or path
        None: MNIST when present or downloadable; else, with one line saying which and
        why, Fashion-MNIST when installed, else the bundled digits, so a fresh offline
        machine still runs. A MNIST file that is present but unreadable is an error,
        never a reason to switch. "mnist" never falls back. A path may be a ``.pkl.gz`` in
        the tutorial's format, a folder of IDX files, or rows on disk (:func:`.ondisk.disk_dataset`);
        a bare file name not found in the working directory is looked up in the data folder (the
        tutorial's ``dataset='mnist.pkl.gz'``).
    data_root : path, optional
        Where datasets are found and cached; default :func:`data_dir`.
    """
    ds = _read_dataset(dataset, data_root, download_ok, log)
    return check_dataset(ds, NAMED_CLASSES.get(ds.name))


def _data_root(data_root, needs_writing) -> Path:
    """The data folder, refused in one line when it is a file or, where a download may need it,
    cannot be created: a bad folder is never a reason to train on another dataset."""
    root = Path(data_root) if data_root is not None else data_dir()
    where = ("data_dir" if data_root is not None else
             "AUTOENCODERS_DATA" if os.environ.get("AUTOENCODERS_DATA") else "the data folder")
    if root.exists() and not root.is_dir():
        raise DataError(f"{where} {root} is a file, not a folder; point it at a folder")
    if needs_writing and not root.exists():
        made = [p for p in (root, *root.parents) if not p.exists()]
        try:
            root.mkdir(parents=True)
        except OSError as exc:
            raise DataError(f"{where} {root} cannot be created ({exc.strerror or exc}); point it at a folder you "
                            "can write") from None
        for folder in made:  # only a check: what a download needs is made again then
            folder.rmdir()
    return root


def _default_dataset(root, download_ok, log) -> Dataset:
    """MNIST when present or downloadable; else, with one line saying which and why, Fashion-MNIST or digits."""
    ds = _local_mnist(root)  # present but unreadable raises: never a reason to switch
    if ds is not None:
        return ds
    names = ("mnist.pkl.gz", *(s + ".gz" for s in IDX_NAMES), *IDX_NAMES)  # complete or not: the user's MNIST
    present = [d / n for d in (root, root / "mnist") for n in names if (d / n).is_file()]
    try:
        return _read_dataset("mnist", root, download_ok, log)
    except DataError as exc:
        if present:  # a partial or damaged MNIST: the user's data, never a reason to switch
            raise DataError(f"{exc} (MNIST is partly in the data folder: {present[0]}; complete it or remove "
                            "it to use another dataset)") from None
        fallback = "fashion-mnist" if _idx_dir(root / "fashion-mnist", FASHION_MNIST_SYSTEM_DIR) else "digits"
        log(f"MNIST unavailable ({exc}); training on {fallback} instead "
            f"({'installed here' if fallback == 'fashion-mnist' else 'bundled with scikit-learn'})")
        return _read_dataset(fallback, root, download_ok, log)


def _read_dataset(dataset, data_root, download_ok, log) -> Dataset:
    root = _data_root(data_root, needs_writing=download_ok and dataset is None)  # "mnist" says it itself
    if dataset is None:
        return _default_dataset(root, download_ok, log)
    if isinstance(dataset, Dataset):
        return dataset
    name = str(dataset)
    if name == "mnist":
        ds = _local_mnist(root)
        if ds is not None:
            return ds
        if not download_ok:
            raise DataError(f"MNIST not found: put mnist.pkl.gz or the four IDX .gz files in {root / 'mnist'}")
        log(f"MNIST not in {root}; downloading from {os.environ.get('AUTOENCODERS_MNIST_URL', download.MNIST_URL)}")
        try:
            download.fetch_mnist(root / "mnist")
        except DataError as exc:
            raise DataError(f"MNIST not found and {exc}; put mnist.pkl.gz or the four IDX .gz files in "
                            f"{root / 'mnist'}") from None
        return load_idx_dataset(root / "mnist", name="mnist")
    if name == "fashion-mnist":
        d = _idx_dir(root / "fashion-mnist", FASHION_MNIST_SYSTEM_DIR)
        if d is not None:
            return load_idx_dataset(d, name="fashion-mnist")
        raise DataError(f"Fashion-MNIST not found in {root / 'fashion-mnist'} or {FASHION_MNIST_SYSTEM_DIR}; "
                        "install it (apt-get install dataset-fashion-mnist) or copy its four IDX files there")
    if name in ("digits", "synthetic"):
        return load_digits_dataset() if name == "digits" else make_synthetic()
    try:
        path = Path(name).expanduser()
    except RuntimeError as exc:  # ~user of no such user
        raise DataError(f"dataset {name}: cannot expand it ({exc}); give a full path") from None
    if not path.exists() and path.name == name and (root / name).exists():
        path = root / name  # the tutorial's dataset='mnist.pkl.gz': a file in the data folder
    if ondisk.is_disk_dataset(path):  # training rows read from disk a window at a time
        return ondisk.disk_dataset(path)
    if path.is_dir():
        return load_idx_dataset(path)
    if path.is_file():
        if path.name.endswith(".pkl.gz"):
            return load_mnist_pkl(path)
        raise DataError(f"{path}: unknown dataset file type; give a .pkl.gz, a .npy of rows, a Zarr store or a "
                        "folder of IDX files or of train_x.npy, ... (docs: how-to, data larger than memory)")
    if path.suffix or len(path.parts) > 1:  # it looks like a path
        raise DataError(f"dataset {name}: no such file or folder (nor in the data folder {root})")
    raise DataError(f"unknown dataset {name!r}: use one of {', '.join(DATASET_NAMES)}, a .pkl.gz file or a "
                    "folder of IDX files")


def shared_dataset(data_xy, borrow=True, name="data"):
    """Load an ``(X, y)`` pair into shared variables: X in floatX, y as int32 (the tutorial kept y as floatX
    for old GPUs and cast it; int32 is equivalent and saves the cast)."""
    X, y = data_xy
    if isinstance(X, ondisk.DiskRows):  # rows on disk: one window at a time
        return ondisk.stream(X, y, name)
    if getattr(X, "dtype", None) != np.dtype(pytensor.config.floatX):  # converted once, into an aligned array
        X, given = empty_aligned(np.shape(X), pytensor.config.floatX), X
        np.copyto(X, given, casting="unsafe")
    shared_x = pytensor.shared(np.asarray(X, dtype=pytensor.config.floatX), name=name + ".x", borrow=borrow)
    y = np.zeros(len(X), dtype="int32") if y is None else y  # unlabelled rows (an autoencoder's)
    shared_y = pytensor.shared(np.asarray(y, dtype="int32"), name=name + ".y", borrow=borrow)
    return shared_x, shared_y


def load_data(dataset=None, **kwargs):
    """The tutorial's entry point: ``[(train_x, train_y), (valid_x, valid_y), (test_x, test_y)]``, shared
    variables (x in floatX, y int32) of anything :func:`load_dataset` accepts (or a :class:`Dataset`)."""
    return shared_splits(load_dataset(dataset, **kwargs))


def shared_splits(ds: Dataset):
    """A :class:`Dataset`'s three splits as ``[(x, y), ...]`` shared variables."""
    return [shared_dataset(split, name=nm) for split, nm in zip(ds.splits, ("train", "valid", "test"))]
