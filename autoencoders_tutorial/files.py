"""Files: atomic writes, ``.npz`` parameter files (no pickle), the metrics log, output folders.

Every file the library writes goes through :func:`atomic_write_bytes` (a temporary file
in the same folder, fsync, rename), so an interrupted write never leaves half a file.
This module needs numpy only.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from .errors import DataError, TutorialError


def ensure_output_dir(path) -> Path:
    """Create ``path`` if needed and check it is writable; one-line error otherwise."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise TutorialError(
            f"output directory {path} is not writable ({exc.strerror or exc}); choose another output_dir"
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
    """Append-only JSON-lines log; each record is flushed as it is written.

    Every record carries ``run``, an id of this log object (time and process), so the
    records of runs appended to one file can be told apart.
    """

    def __init__(self, path, run: str | None = None):
        self.path = Path(path) if path is not None else None
        self.run = run or f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{next(_RUN_COUNTER)}"
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, **record) -> None:
        if self.path is None:
            return
        record.setdefault("time", round(time.time(), 3))
        record.setdefault("run", self.run)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")


_RUN_COUNTER = itertools.count()
