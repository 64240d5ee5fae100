"""A run's set-up and output folder: one run at a time, what it saved, and how a Ctrl-C ends it.

Every ``run_*`` function trains inside a :class:`Run`, whose :class:`RunFolder` locks the folder
(``fcntl.flock`` on ``<folder>/.lock``, released by the kernel when the process dies: never stale; no
``fcntl``, as on Windows: no lock), removes the temporary files a killed run left, and records every file
the run saved, so a Ctrl-C anywhere ends with one line saying what was saved (:class:`RunInterrupted`,
status 130 on the command line). A run's first save of a model file keeps the earlier one as
``<name>.previous.npz``; a run that stops before saving anything leaves the folder as it was.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

from .datasets import load_dataset, validate_x
from .engine import describe_mode, pytensor
from .errors import DataError, TutorialError, check_precision
from .files import MetricsLog, ensure_output_dir, remove_stale_parts
from .interrupts import deferred_interrupts
from .ondisk import DiskRows
from .paths import RunContext, resolve_path

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are not locked there
    fcntl = None


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C ended a run: the message says what was saved. ``saved`` maps each file the run wrote to what it
    holds; ``results`` are its results so far (what the ``run_*`` function would have returned), or None."""

    def __init__(self, message: str, saved: dict | None = None, results=None):
        super().__init__(message)
        self.saved, self.results, self.interrupted = dict(saved or {}), results, True


class RunFolder:
    """The output folder of one run: locked, cleaned of dead runs' temporary files, its saves recorded.
    ``resume_hint`` ends the interrupted line (e.g. how to continue)."""

    def __init__(self, path, resume_hint: str = ""):
        self.path, self.resume_hint, self._fd = Path(path), resume_hint, None
        self.saved: dict[Path, str] = {}

    def __enter__(self) -> RunFolder:
        ensure_output_dir(self.path)
        self._lock()
        remove_stale_parts(self.path)
        return self

    def __exit__(self, exc_type, exc, tb):
        self._unlock()
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt) and not isinstance(exc, RunInterrupted):
            raise RunInterrupted(self.interrupted_line(), self.saved) from None
        return False

    def _lock(self) -> None:
        """Hold ``.lock``: the file the path names when the lock is taken (the last holder removes it, still
        holding it; a run that locked the removed file tries again on the new one)."""
        if fcntl is None:
            return
        lock_path = self.path / ".lock"
        while True:
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)  # not a link
            except OSError as exc:
                raise TutorialError(f"cannot create the lock file {lock_path} ({exc.strerror or exc}); "
                                    "choose another output_dir") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
                os.close(fd)
                raise TutorialError(f"{self.path} is in use by another run (pid {holder}); wait for it to end or "
                                    "choose another output_dir") from None
            with contextlib.suppress(OSError):
                if os.fstat(fd).st_ino == os.stat(lock_path).st_ino:
                    break
            os.close(fd)  # removed by the run that held it a moment ago
        with contextlib.suppress(OSError):  # the PID is only for the message; a full disk must not stop the lock
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def _unlock(self) -> None:
        """Remove ``.lock`` (a finished run leaves no lock file), then let it go."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.path / ".lock")
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
            self._fd = None

    def save(self, path, what: str, write: Callable[..., object], keep_previous: bool = True) -> Path:
        """Save ``path`` with ``write()`` and record it as holding ``what``, Ctrl-C held until both are done (so
        the interrupted line names it). With ``keep_previous`` (model files) it is ``write(keep_previous=...)``:
        True on the run's first save of ``path`` (the earlier file becomes ``.previous``), False afterwards."""
        path = Path(path)
        with deferred_interrupts():
            write(**({"keep_previous": path not in self.saved} if keep_previous else {}))
            self.saved[path] = what
        return path

    def interrupted_line(self) -> str:
        """One line: what this run saved (or that it saved nothing), and how to go on."""
        if self.saved:
            line = "saved " + "; ".join(f"{p} ({w})" for p, w in self.saved.items())
        else:
            line = f"nothing was saved; the files in {self.path} are as they were"
        return line + (f"; {self.resume_hint}" if self.resume_hint else "")

    def stop(self, results=None):
        """End an interrupted run: raise :class:`RunInterrupted` with what was saved and ``results``."""
        raise RunInterrupted(self.interrupted_line(), self.saved, results)


#: The options every script's run takes (``**run_options`` of each ``run_*``), with their defaults: the
#: precision, the PyTensor ``--mode``, where the datasets are, and the training path's three flags.
RUN_OPTIONS = {"precision": "float32", "mode": None, "data_dir": None, "train_path": "auto", "noise_source": "auto",
               "block_size": None}


class Run:
    """A script's run set-up, opened once by every ``run_*``: ``with Run(output_dir, dataset, **run_options) as run:``.

    ``run_options`` are :data:`RUN_OPTIONS`' (``run.options``, defaults filled in). Opening it locks the folder
    (``run.folder``, ``run.out``), sets the precision, loads the dataset (``run.ds``; training inputs checked, in
    [0, 1] if ``unit_interval``; None: not; labels required if ``labelled``), resolves ``run.train_path`` and opens
    ``run.metrics``; ``run.context`` carries them down to the steps and loops. Ctrl-C anywhere inside ends with one
    line naming what was saved.
    """

    def __init__(self, output_dir, dataset=None, *, unit_interval=True, labelled=True, log=print, **run_options):
        unknown = sorted(run_options.keys() - RUN_OPTIONS.keys())
        if unknown:
            raise TypeError(f"unknown option {unknown[0]!r}; a run takes {', '.join(RUN_OPTIONS)}")
        self.options = dict(RUN_OPTIONS, **run_options)
        self.output_dir, self.dataset, self.unit_interval, self.log = output_dir, dataset, unit_interval, log
        self.labelled = labelled
        self.precision, self.mode, self.data_dir = (self.options[k] for k in ("precision", "mode", "data_dir"))
        check_precision(self.precision)
        self._path_flags = tuple(self.options[k] for k in ("train_path", "noise_source", "block_size"))
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Run:
        self.folder = self._stack.enter_context(RunFolder(self.output_dir))
        self.out = self.folder.path
        try:
            self._stack.enter_context(pytensor.config.change_flags(floatX=self.precision))
            self.ds = load_dataset(self.dataset, data_root=self.data_dir, log=self.log)
            if self.labelled and self.ds.train[1] is None:
                raise DataError(f"{self.ds.train[0].name} holds rows without labels, and this model learns from "
                                "labels: give a folder holding train_x and train_y (and valid_x, valid_y, test_x, "
                                "test_y)")
            if isinstance(self.ds.train[0], DiskRows):
                self.ds.train[0].unit_interval = self.unit_interval  # rows on disk: each block checked as it is read
            elif self.unit_interval is not None:
                validate_x(self.ds.train[0], what=f"{self.ds.name} train", unit_interval=self.unit_interval)
            self.train_path = resolve_path(*self._path_flags, self.mode)
            self.metrics = MetricsLog(self.out / "metrics.jsonl")
            self.context = RunContext(self.mode, self.train_path, self.log, self.metrics)
        except BaseException:
            if not self._stack.__exit__(*sys.exc_info()):
                raise
        return self

    def __exit__(self, *exc):
        return self._stack.__exit__(*exc)

    def announce(self, what: str) -> None:
        """Log ``what`` (the data and the model) with the engine, the precision and the path; then the path's note."""
        self.log(f"{what}; engine {describe_mode(self.mode)}, {self.precision}; {self.train_path.describe()}")
        if self.train_path.note:
            self.log(self.train_path.note)

    def save(self, name, what: str, write: Callable[..., object], *args, **meta) -> Path:
        """Save the model file ``name`` in the folder as ``write(path, *args, keep_previous=..., **meta)``
        (a model's ``save``, ``save_params``, a checkpoint writer), recorded as holding ``what``."""
        path = self.out / name
        return self.folder.save(path, what, lambda **kw: write(path, *args, **kw, **meta))

    def save_picture(self, name, what: str, draw: Callable[..., object], *args) -> Path:
        """Draw the picture ``name`` in the folder as ``draw(*args, path)``; no ``.previous`` copy is kept."""
        path = self.out / name
        return self.folder.save(path, what, lambda: draw(*args, path), keep_previous=False)

    def stop(self, results=None):
        """End an interrupted run (:meth:`RunFolder.stop`)."""
        self.folder.stop(results)
