"""Training rows that stay on disk: a ``.npy`` file read through a memory map, a Zarr array, or a Dask array.

:func:`open_rows` opens one (:class:`DiskRows`: its shape, and :meth:`~DiskRows.read` of a block of rows, checked
as it is read); :func:`disk_dataset` makes a :class:`~.readers.Dataset` of a file or of a folder of splits. The
training split of such a dataset reaches the compiled steps through :func:`stream`: its shared variables hold one
window of rows at a time, and :class:`StreamedSteps` shows each minibatch's window before its step runs, while a
thread reads the next window. The minibatches run in the order an in-memory run takes them, so a run from disk
gives the same parameters, bit for bit; memory holds two windows (:data:`WINDOW_BYTES` each), whatever the rows.
"""

from __future__ import annotations

import math
import weakref
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .engine import pytensor
from .errors import DataError
from .memory import check_fits
from .readers import Dataset, empty_aligned
from .steps import Steps
from .userfiles import check_npy

#: The bytes of one window of training rows (two are held: the one training and the next, being read).
WINDOW_BYTES = 32 << 20


class DiskRows:
    """Rows on disk (``name``: the file, in messages), of ``shape`` and ``dtype``, read a block at a time by
    ``read_block(lo, hi)``. Every block is checked as it is read: finite, then (inputs) mapped by ``transform``
    (an estimator's scaling) and in [0, 1] when ``unit_interval`` (set by the run); labels whole numbers in
    ``0..classes-1`` (``classes`` set once checked)."""

    def __init__(self, name, shape, dtype, read_block, index=None):
        self.name, self.shape, self.dtype = str(name), tuple(int(s) for s in shape), np.dtype(dtype)
        self._read, self._index = read_block, index  # index: the source's rows these are, named in messages
        self.unit_interval, self.classes, self.transform = None, None, None
        labels = len(self.shape) == 1
        if len(self.shape) not in (1, 2) or not (self.dtype.kind in "iu" if labels else self.dtype.kind in "fiu"):
            raise DataError(f"{self.name} holds {self.dtype} of shape {self.shape}; rows must be a 2-D array of "
                            "numbers (labels a 1-D array of whole numbers)")

    ndim = property(lambda self: len(self.shape))

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, rows):
        """A slice of rows, read (and checked) now: ``rows[:10]``."""
        lo, hi, step = rows.indices(len(self)) if isinstance(rows, slice) else (None, None, None)
        if step != 1:
            raise TypeError("rows on disk are read by a slice of consecutive rows")
        return self.read(lo, max(lo, hi))

    def read(self, lo, hi, dtype=None) -> np.ndarray:
        """Rows ``lo .. hi - 1`` (inputs in ``dtype``, default floatX; labels int32), checked."""
        what = f"{self.name}: rows {lo}-{hi - 1}"
        try:
            raw = np.asarray(self._read(lo, hi))
        except DataError:
            raise
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise DataError(f"{what} cannot be read ({' '.join(str(exc).split())[:100]}): the file changed or went "
                            "away during the run; what was saved is kept, restore it and run again") from None
        if raw.shape != (hi - lo, *self.shape[1:]):
            raise DataError(f"{what} came back with shape {raw.shape}, not {(hi - lo, *self.shape[1:])}: the file "
                            "changed during the run; what was saved is kept, restore it and run again")
        if self.ndim == 1:
            return self._labels(raw, what, lo)
        self._finite(raw, raw, what, lo)
        scaled = raw if self.transform is None else self.transform(raw)
        out = empty_aligned(raw.shape, dtype or pytensor.config.floatX)
        with np.errstate(over="ignore"):
            np.copyto(out, scaled, casting="unsafe")
        self._finite(out, raw, what, lo, f", too large for {out.dtype}")
        if self.unit_interval and out.size and (out.min() < 0 or out.max() > 1):
            r, c = np.argwhere((out < 0) | (out > 1))[0]
            raise DataError(f"{what}: row {self._row(lo + r)}, column {c} is {raw[r, c]:.4g}, outside [0, 1]; scale "
                            "the rows first (nothing was trained on these rows)")
        return out

    def _finite(self, values, raw, what, lo, why=""):
        bad = ~np.isfinite(values)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise DataError(f"{what}: row {self._row(lo + r)}, column {c} is {raw[r, c]}{why}; clean the file "
                            "(nothing was trained on these rows)")

    def _row(self, i) -> int:
        return int(i if self._index is None else self._index[i])

    def _labels(self, raw, what, lo):
        if self.classes is not None and raw.size and (raw.min() < 0 or raw.max() >= self.classes):
            r = int(np.flatnonzero((raw < 0) | (raw >= self.classes))[0])
            raise DataError(f"{what}: label {raw[r]} at row {self._row(lo + r)} is outside 0..{self.classes - 1}; fix "
                            "the labels")
        return raw.astype(np.int32)

    def blocks(self, dtype=None):
        """Every row, a window at a time: ``(lo, rows)``."""
        step = max(1, WINDOW_BYTES // max(1, math.prod(self.shape[1:]) * self.dtype.itemsize))
        for lo in range(0, len(self), step):
            yield lo, self.read(lo, min(len(self), lo + step), dtype)


def _npy(path) -> DiskRows:
    check_npy(path, "rows file", max_bytes=math.inf)
    try:
        mapped = np.load(path, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise DataError(f"rows file {path} cannot be mapped ({' '.join(str(exc).split())[:100]})") from None
    if mapped.ndim == 2 and not mapped.flags.c_contiguous and mapped.shape[0] > 1:
        raise DataError(f"rows file {path} is stored column by column (Fortran order); save it row by row: "
                        "np.save(path, np.ascontiguousarray(rows))")
    shape, dtype, offset = mapped.shape, mapped.dtype, mapped.offset
    row = math.prod(shape[1:]) * dtype.itemsize
    del mapped

    def read(lo, hi):  # a map of these rows only, dropped once copied: memory does not grow with the file
        if hi <= lo:
            return np.empty((0, *shape[1:]), dtype)
        return np.memmap(path, dtype, "r", offset=offset + lo * row, shape=(hi - lo, *shape[1:]))

    return DiskRows(path, shape, dtype, read)


def _zarr(path) -> DiskRows:
    try:
        import zarr
    except ImportError:
        raise DataError(f"{path} is a Zarr store and zarr is not installed: pip install zarr") from None
    try:
        arr = zarr.open_array(str(path), mode="r")
    except Exception as exc:  # noqa: BLE001  (zarr's errors differ by version and store)
        raise DataError(f"{path} is not a readable Zarr array ({' '.join(str(exc).split())[:100]})") from None
    return DiskRows(path, arr.shape, arr.dtype, lambda lo, hi: arr[lo:hi])


def is_zarr(path) -> bool:
    path = Path(path)
    return path.is_dir() and ((path / "zarr.json").is_file() or (path / ".zarray").is_file())


def is_lazy(source) -> bool:
    """A Dask array or a numpy memory map: rows read a window at a time rather than whole."""
    return isinstance(source, np.memmap) or (hasattr(source, "dask") and hasattr(source, "compute"))


def open_rows(source, name=None, index=None) -> DiskRows:
    """A ``.npy`` file (read through a memory map), a Zarr array (a store's path), a Dask array or a numpy memory
    map, as rows; of the last two, ``index`` picks rows (in its order)."""
    if is_lazy(source):
        dask = not isinstance(source, np.memmap)
        if dask and any(math.isnan(s) for s in source.shape):
            raise DataError("the Dask array's row count is unknown; call .compute_chunk_sizes() on it first")
        name = name or ("the Dask array" if dask else f"the memory map of {source.filename}")

        def read(lo, hi):
            rows = source[lo:hi] if index is None else source[index[lo:hi]]
            return rows.compute() if dask else rows

        n = source.shape[0] if index is None else len(index)
        return DiskRows(name, (n, *source.shape[1:]), source.dtype, read, index)
    path = Path(source)
    if is_zarr(path):
        return _zarr(path)
    if path.suffix == ".npy":
        return _npy(path)
    raise DataError(f"{path}: rows on disk are a .npy file or a Zarr store")


def _split_path(folder, stem):
    for candidate in (folder / f"{stem}.npy", folder / f"{stem}.zarr"):
        if candidate.exists():
            return candidate
    return None


def _in_memory(path, what, width):
    """A small split (validation, test) read whole: refused in one line when it does not fit."""
    if path is None:
        return np.zeros((0, width) if width else (0,), dtype=np.float32 if width else np.int32)
    rows = open_rows(path)
    check_fits(rows.shape, rows.dtype.itemsize * 2, f"the {what} split {path}",
               "keep the validation and test splits small: they are read whole")
    return rows.read(0, len(rows), np.float32) if width else rows.read(0, len(rows))


def is_disk_dataset(path) -> bool:
    """A path :func:`disk_dataset` reads: a ``.npy`` file, a Zarr store, or a folder holding ``train_x``."""
    path = Path(path)
    return (path.suffix == ".npy" and path.is_file()) or is_zarr(path) or (
        path.is_dir() and _split_path(path, "train_x") is not None)


def disk_dataset(path) -> Dataset:
    """A dataset whose training rows stay on disk: a ``.npy`` file or Zarr store of rows (unlabelled: no
    validation or test split), or a folder holding ``train_x`` (``.npy`` or ``.zarr``; on disk) and optionally
    ``train_y`` (on disk), ``valid_x``, ``valid_y``, ``test_x``, ``test_y`` (read whole)."""
    path = Path(path)
    folder = path.is_dir() and not is_zarr(path)
    train_x = open_rows(_split_path(path, "train_x") if folder else path)
    if train_x.ndim != 2:
        raise DataError(f"{train_x.name} holds shape {train_x.shape}; training rows are a 2-D array")
    width = train_x.shape[1]
    train_y = open_rows(_split_path(path, "train_y")) if folder and _split_path(path, "train_y") else None
    if train_y is not None and len(train_y) != len(train_x):
        raise DataError(f"{train_y.name} has {len(train_y)} labels for {len(train_x)} rows; give one label per row")
    splits = [(_in_memory(_split_path(path, f"{s}_x") if folder else None, s, width),
               _in_memory(_split_path(path, f"{s}_y") if folder else None, s, 0)) for s in ("valid", "test")]
    side = math.isqrt(width)
    return Dataset((train_x, train_y), *splits, name=path.stem,
                   image_shape=(side, side) if side * side == width else None)


class _Stream:
    """A training set on disk behind shared variables (``pairs``: ``(shared, DiskRows or None)``) that hold one
    window of rows at a time; the next window is read by a thread while the current one trains."""

    def __init__(self, pairs, n_rows):
        self.pairs, self.n_rows = pairs, n_rows
        self.row_bytes = sum(np.dtype(shared.dtype).itemsize * math.prod(shared.get_value(borrow=True).shape[1:])
                             for shared, _ in pairs)
        self.shown, self._next, self._pool = None, None, None

    def _read(self, lo, hi):
        return [rows.read(lo, hi, shared.dtype) if rows is not None else np.zeros(hi - lo, dtype=shared.dtype)
                for shared, rows in self.pairs]

    def show(self, lo, hi) -> None:
        """Put rows ``lo .. hi - 1`` in the shared variables; start reading the window after them."""
        if self.shown == (lo, hi):
            return
        if self._next is not None and self._next[0] == (lo, hi):
            values = self._next[1].result()  # a bad block is raised here, before any step reads it
        else:
            values = self._read(lo, hi)
        for (shared, _), value in zip(self.pairs, values):
            shared.set_value(value, borrow=True)
        self.shown = (lo, hi)
        after = (hi, min(self.n_rows, 2 * hi - lo)) if hi < self.n_rows else (0, hi - lo)  # the next epoch's first
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="rows-on-disk")
        self._next = (after, self._pool.submit(self._read, *after))

    def release(self) -> None:
        """Drop the windows and the reading thread (made again by the next :meth:`show`)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = self._next = self.shown = None
        for shared, _ in self.pairs:
            value = shared.get_value(borrow=True)
            shared.set_value(np.zeros((0, *value.shape[1:]), dtype=value.dtype), borrow=True)


_STREAMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # shared variable -> its _Stream


def stream(X: DiskRows, y: DiskRows | None, name="data"):
    """Shared variables ``(x, y)`` fed from rows on disk (``y``: labels on disk or in memory; None: zeros), one
    window at a time."""
    if isinstance(y, np.ndarray):
        labels = y
        y = DiskRows("the labels", labels.shape, labels.dtype, lambda lo, hi: labels[lo:hi])
    floatX = pytensor.config.floatX
    shared_x = pytensor.shared(np.zeros((0, X.shape[1]), dtype=floatX), name=name + ".x", borrow=True)
    shared_y = pytensor.shared(np.zeros(0, dtype=np.int32), name=name + ".y", borrow=True)
    return tuple(feed([(shared_x, X), (shared_y, y)]))


def feed(pairs) -> list:
    """Feed shared variables from rows on disk (``pairs``: ``(shared, DiskRows or None)``); the shared variables."""
    s = _Stream(pairs, len(pairs[0][1]))
    for shared, _ in pairs:
        _STREAMS[shared] = s
    return [shared for shared, _ in pairs]


def forget(shared) -> None:
    """Stop feeding ``shared`` (and the variables fed with it) from disk; free their windows."""
    s = _STREAMS.get(shared)
    if s is not None:
        s.release()
        for other, _ in s.pairs:
            _STREAMS.pop(other, None)


def stream_of(shared):
    """The stream feeding a shared variable, or None (a resident one)."""
    try:
        return _STREAMS.get(shared)
    except TypeError:
        return None


class StreamedSteps(Steps):
    """Steps whose training rows come from disk: before minibatch ``i`` runs, its window of rows is shown, and
    the step runs on its index inside the window. Windows are whole multiples of the block size, so blocks
    run as they do in memory; a block that still crosses a window runs as single steps."""

    def __init__(self, inner: Steps, rows: _Stream, batch_size: int):
        super().__init__(None, inner.names, inner.defaults)
        self.inner, self.rows, self.batch = inner, rows, batch_size
        self.block_size = inner.block_size
        self.per_window = max(1, WINDOW_BYTES // max(1, rows.row_bytes * batch_size))
        self.n = rows.n_rows // batch_size

    def _local(self, first, k):
        lo = first // self.per_window * self.per_window
        if first + k > lo + self.per_window:
            return None
        self.rows.show(lo * self.batch, min(lo + self.per_window, self.n) * self.batch)
        return first - lo

    def __call__(self, index, *args, **kwargs):
        return self.inner(self._local(int(index), 1), *args, **kwargs)

    def block_for(self, n, at_most=None):
        k = self.inner.block_for(min(n, self.per_window), at_most)
        if k:
            self.per_window = max(1, self.per_window // k) * k
        return k

    def prepare(self, k):
        self.inner.prepare(k)

    def block(self, start, k, *args, **kwargs):
        local = self._local(start, k)
        if local is not None:
            return self.inner.block(local, k, *args, **kwargs)
        return np.array([np.asarray(self(i, *args, **kwargs)) for i in range(start, start + k)])

    def bind(self, **values):
        bound = super().bind(**values)
        bound.inner = self.inner.bind(**values)
        return bound

    def ready(self):
        self.inner.ready()
        return self

    def release(self):
        self.inner.release()
        self.rows.release()

    def block_sizes(self):
        return self.inner.block_sizes()
