"""Files: atomic writes, ``.npz`` parameter files (no pickle), the metrics log, output folders (numpy only).

Every file the library writes goes through :func:`atomic_write_bytes` (a temporary file in the same folder,
fsync, rename), so an interrupted write never leaves half a file.
"""

from __future__ import annotations

import contextlib
import errno
import io
import itertools
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from .errors import DataError, TutorialError
from .interrupts import deferred_interrupts
from .userfiles import check_npz


def ensure_output_dir(path) -> Path:
    """Create ``path`` if needed and check it is writable; one-line error otherwise."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-").close()
    except OSError as exc:
        raise TutorialError(f"output directory {path} is not writable ({exc.strerror or exc}); choose another "
                            "output_dir") from None
    return path


_UMASK = os.umask(0)
os.umask(_UMASK)

#: The ``.npz`` layout :func:`save_params` writes (``format_version`` in its metadata; files without one
#: predate it and load the same way).
FORMAT_VERSION = 1

#: Suffix of every temporary file the library writes beside its target.
PART_SUFFIX = ".part"


class SaveError(TutorialError):
    """A file could not be written (disk full, no permission, ...); the earlier file is untouched."""


def save_failed(path, exc: OSError, kept=True) -> SaveError:
    """The one-line error for an ``OSError`` while saving ``path``."""
    cause = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        cause += "; free some space"
    tail = f"the earlier {Path(path).name} is untouched" if kept and Path(path).exists() else "nothing was written"
    return SaveError(f"could not save {path} ({cause}); {tail}")


def _fsync_dir(directory) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a folder
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


#: The temporary files this process is writing now: a stale one with this PID (reused, an earlier failure)
#: is told from a live one.
_WRITING: set[str] = set()
_WRITING_LOCK = threading.RLock()


def part_name(path) -> Path:
    """A new temporary name beside ``path``: ``.<name>.<pid>.<n>.part``, recognised by :func:`remove_stale_parts`."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{next(_PART_COUNTER)}{PART_SUFFIX}")


@contextlib.contextmanager
def open_part(path):
    """Create :func:`part_name` of ``path`` exclusively and yield ``(file, part path)``; listed as being written
    while the block runs (no clean-up removes it), removed on any error."""
    with _WRITING_LOCK:
        tmp = part_name(path)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 & ~_UMASK)
        _WRITING.add(os.path.abspath(tmp))
    try:
        with os.fdopen(fd, "wb") as f:
            yield f, tmp
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        _WRITING.discard(os.path.abspath(tmp))


def remove_stale_parts(directory, name: str | None = None) -> list[Path]:
    """Remove from ``directory`` the temporary files (of ``name`` only, if given) of writers that are gone, and
    return them: a part ``.<name>.<pid>.<n>.part`` whose PID no process has, or this process's that it is not
    writing. Every other file (a user's ``.notes.part`` included) is kept."""
    stem = re.escape(name) if name is not None else ".+?"
    pattern = re.compile(rf"\.{stem}\.(\d+)\.\w+{re.escape(PART_SUFFIX)}")
    removed = []
    try:
        entries = list(Path(directory).iterdir())
    except OSError:
        return removed
    with _WRITING_LOCK:
        for p in entries:
            m = pattern.fullmatch(p.name)
            if m is None or os.path.abspath(p) in _WRITING or int(m[1]) != os.getpid() and _alive(int(m[1])):
                continue
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    return removed


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (when in doubt: yes, so its file is kept)."""
    if pid <= 0 or os.name != "posix":  # os.kill(0, 0) is the process group; on Windows it kills
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, another user's
        pass
    return True


def atomic_write_bytes(path, data: bytes, keep_previous: bool = False) -> Path | None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, fsynced, then renamed over it,
    with Ctrl-C held until the rename is done.

    With ``keep_previous`` an existing ``path`` becomes ``<name>.previous<suffix>`` once the new file is
    complete (a hard link: ``path`` exists at every moment). Any ``OSError`` is a one-line
    :class:`SaveError`, the earlier file untouched, no temporary file left. Returns the previous copy's path,
    if one was made.
    """
    path = Path(path)
    backup = None
    with deferred_interrupts():
        try:
            with open_part(path) as (f, tmp):
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
                f.close()
                if keep_previous and path.exists():
                    backup = previous_path(path)
                    _replace_by_copy(path, backup)
                os.replace(tmp, path)
            _fsync_dir(path.parent)
        except OSError as exc:
            raise save_failed(path, exc) from None
    return backup


def _replace_by_copy(src: Path, dest: Path) -> None:
    """Make ``dest`` a complete copy of ``src`` (a hard link where possible), atomically."""
    tmp = part_name(dest)
    try:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def previous_path(path) -> Path:
    """``best_model.npz`` -> ``best_model.previous.npz``: where the one earlier copy is kept."""
    path = Path(path)
    return path.with_name(f"{path.stem}.previous{path.suffix}")


def save_params(path, arrays: Mapping[str, np.ndarray], *, keep_previous: bool = False, **meta) -> Path:
    """Save named arrays (and JSON-able ``meta``, with ``format_version``) as one ``.npz``, atomically, no
    pickle. ``keep_previous`` moves an existing file to ``<name>.previous.npz`` once the new one is complete."""
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    if "__meta__" in payload:
        raise ValueError("'__meta__' is reserved")
    for k, v in payload.items():
        if v.dtype.hasobject:
            raise ValueError(f"array {k!r} holds Python objects; only numeric arrays are saved")
    meta = dict(meta, format_version=FORMAT_VERSION)
    payload["__meta__"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **payload)
    atomic_write_bytes(path, buf.getvalue(), keep_previous=keep_previous)
    return Path(path)


def load_params(path) -> tuple[dict[str, np.ndarray], dict]:
    """Read a file written by :func:`save_params`: ``(arrays, meta)``. Never unpickles; a ``format_version``
    newer than this library knows is refused in one line."""
    path = Path(path)
    check_npz(path, "model file")  # a regular file, each array's header against its bytes
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as exc:  # zipfile / numpy raise many kinds on a corrupt or object-array file
        raise DataError(f"model file {path} is not a readable .npz ({_one_line(exc)}); retrain or restore it") from None
    meta_raw = arrays.pop("__meta__", None)
    try:
        meta = json.loads(meta_raw.tobytes().decode()) if meta_raw is not None else {}
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise DataError(f"model file {path} has unreadable metadata ({_one_line(exc)}); retrain or restore "
                        "it") from None
    version = meta.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version > FORMAT_VERSION:
        raise DataError(f"model file {path} has format_version {version!r}, this library reads up to "
                        f"{FORMAT_VERSION}; upgrade the library")
    for k, v in arrays.items():
        if v.dtype.kind not in "biuf":  # no complex, dates, strings or objects
            raise DataError(f"model file {path}: array {k!r} has dtype {v.dtype}, not real numbers; retrain or "
                            "restore it")
    return arrays, meta


def _one_line(exc) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


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
        shape, expected = arrays[p.name].shape, p.get_value(borrow=True).shape
        if shape != expected:
            raise DataError(f"{source}: parameter {p.name} has shape {shape}, the model expects {expected}")
    cast = {}
    for p in params:
        with np.errstate(over="ignore", invalid="ignore"):
            cast[p.name] = np.asarray(arrays[p.name], dtype=p.get_value(borrow=True).dtype)
        if not np.all(np.isfinite(cast[p.name])):
            raise DataError(f"{source}: parameter {p.name} holds NaN or infinite values (or values too large for "
                            f"{cast[p.name].dtype}); it cannot predict anything, retrain or restore the file")
    for p in params:
        p.set_value(cast[p.name])


class MetricsLog:
    """Append-only JSON-lines log, each record flushed as written. Every record carries ``run``, an id of this
    log object (time and process), so runs appended to one file can be told apart."""

    def __init__(self, path, run: str | None = None):
        self.path = Path(path) if path is not None else None
        self.run = run or f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{next(_RUN_COUNTER)}"
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, **record) -> None:
        """Append one record; a failed write (disk full) is one line and leaves no partial record."""
        if self.path is None:
            return
        record.setdefault("time", round(time.time(), 3))
        record.setdefault("run", self.run)
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        with deferred_interrupts():
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666 & ~_UMASK)
            except OSError as exc:
                raise save_failed(self.path, exc, kept=False) from None
            size = os.fstat(fd).st_size
            try:
                if os.write(fd, line) != len(line):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)  # no half record
                raise SaveError(f"could not append to {self.path} ({exc.strerror or exc}); its earlier records "
                                "are kept") from None
            finally:
                os.close(fd)


_RUN_COUNTER = itertools.count()
_PART_COUNTER = itertools.count()
