"""The one guarded way in for every file a user hands over: models, checkpoints, estimator files, grids,
metrics, images, ``.npy`` / ``.csv`` rows, IDX and ``.pkl.gz`` datasets.

Before anything is built from a file, in this order: it is a regular file (:func:`user_file`: a FIFO would hang
the reader, a device never end); its size is known and bounded before it is read (:func:`read_bytes`,
:func:`gunzip`, :func:`check_npy`, :func:`check_npz`, :data:`MAX_PIXELS`: a gzip bomb or a ``.npy`` header
claiming 46 TiB is refused before any allocation); then its schema (the readers' own, such as
:func:`~autoencoders_tutorial.modelfiles.check_arrays`). Every refusal is a one-line
:class:`~autoencoders_tutorial.errors.DataError` naming the file (and the field). This module needs numpy only.
"""

from __future__ import annotations

import gzip
import math
import os
import stat
import tokenize
import warnings
import zipfile
import zlib
from pathlib import Path

from numpy.lib import format as npy_format

from .errors import DataError

#: The largest file of each kind read whole (bytes): far above any real one, far below a machine's memory.
MAX_BYTES = {"model file": 8 << 30, "dataset": 8 << 30, "grid file": 1 << 20, "metrics file": 1 << 30,
             "image": 256 << 20, "rows file": 8 << 30}
#: The most pixels an image may have (PIL's own bomb limit, made an error instead of a warning).
MAX_PIXELS = 89_478_485
#: How many times its own size a gzipped file may unpack to (a dataset's images pack 3-10 times; a bomb, 1000).
MAX_GZIP_RATIO = 64


def _kind(mode) -> str | None:
    """What a file that is not a regular one is, in words; None for a regular file."""
    for test, words in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                        (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return words
    return None if stat.S_ISREG(mode) else "not a regular file"


def user_file(path, what: str, max_bytes: int | None = None, missing: str = "check the path") -> int:
    """Check that ``path`` (a ``what``: "model file", "image", ...) is a regular file (links followed) of at most
    ``max_bytes`` (default :data:`MAX_BYTES` of ``what``); its size."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise DataError(f"{what} {path} not found; {missing}") from None
    except OSError as exc:
        raise DataError(f"{what} {path} cannot be read ({exc.strerror or exc})") from None
    kind = _kind(st.st_mode)
    if kind is not None:
        raise DataError(f"{what} {path} is {kind}, not a file; give the path of a file")
    limit = MAX_BYTES[what] if max_bytes is None else max_bytes
    if st.st_size > limit:
        raise DataError(f"{what} {path} is {st.st_size} bytes, more than the {limit} a {what} may have")
    return st.st_size


def read_bytes(path, what: str, max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file of bounded size (:func:`user_file`)."""
    user_file(path, what, max_bytes)
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"{what} {path} cannot be read ({exc.strerror or exc})") from None


def gunzip(path, what: str = "dataset", max_bytes: int | None = None) -> bytes:
    """A gzipped regular file, unpacked in chunks to at most ``max_bytes`` (default: :data:`MAX_GZIP_RATIO` times
    its size, at least 256 MiB, at most :data:`MAX_BYTES` of ``what``): a gzip bomb stops there, refused in one line."""
    size = user_file(path, what)
    if max_bytes is None:
        max_bytes = min(MAX_BYTES[what], max(256 << 20, MAX_GZIP_RATIO * size))
    chunks, got = [], 0
    try:
        with gzip.open(path, "rb") as f:
            while got <= max_bytes and (chunk := f.read(1 << 20)):
                chunks.append(chunk)
                got += len(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path} is corrupt or truncated ({' '.join(str(exc).split())[:120]}); get it again") from None
    if got > max_bytes:
        raise DataError(f"{path} unpacks to more than {max_bytes} bytes, more than a {what} may have; it is not one")
    return b"".join(chunks)


def _npy_header(f, path, name=""):
    """``(shape, dtype, bytes the data needs)`` of the ``.npy`` header at ``f``'s position."""
    where = f"{path}" + (f": array {name!r}" if name else "")
    try:
        major, _ = npy_format.read_magic(f)
        read = npy_format.read_array_header_1_0 if major == 1 else npy_format.read_array_header_2_0
        with warnings.catch_warnings():  # Python >= 3.12 warns of a backslash in the header it parses
            warnings.simplefilter("ignore", SyntaxWarning)
            shape, _, dtype = read(f, max_header_size=10_000)
    except (ValueError, OSError, SyntaxError, TypeError, EOFError, tokenize.TokenError) as exc:
        raise DataError(f"{where} is not a readable .npy array ({' '.join(str(exc).split())[:120]})") from None
    if dtype.hasobject:
        raise DataError(f"{where} holds Python objects (pickled data); only numeric arrays are read")
    return shape, dtype, math.prod(shape) * dtype.itemsize


def check_npy(path, what: str = "rows file", max_bytes: int | None = None) -> None:
    """A ``.npy`` file whose header's shape and dtype fit the bytes the file has, checked before it is read
    (``max_bytes``: :func:`user_file`'s; a file read a block at a time may be of any size)."""
    size = user_file(path, what, max_bytes)
    with open(path, "rb") as f:
        shape, dtype, need = _npy_header(f, path)
        have = size - f.tell()
    if need > have:
        raise DataError(f"{what} {path}: its header says {shape} of {dtype} ({need} bytes), the file has {have}; "
                        "it is truncated or damaged")


def check_npz(path, what: str = "model file", missing: str = "train first or pass the right path") -> None:
    """An ``.npz`` file whose every array's header fits the bytes its member holds, checked before any is read."""
    user_file(path, what, missing=missing)
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                with zf.open(info) as f:
                    shape, dtype, need = _npy_header(f, path, info.filename.removesuffix(".npy"))
                    have = info.file_size - f.tell()
                if need > have:
                    raise DataError(f"{what} {path}: array {info.filename.removesuffix('.npy')!r} claims {shape} of "
                                    f"{dtype} ({need} bytes), its data is {have}; the file is damaged")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error, NotImplementedError,
            RuntimeError) as exc:  # RuntimeError: a member flagged as encrypted
        raise DataError(f"{what} {path} is not a readable .npz ({' '.join(str(exc).split())[:120]}); retrain or "
                        "restore it") from None
