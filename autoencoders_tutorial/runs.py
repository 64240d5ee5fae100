"""A run's output folder: one run at a time, what it saved, and how a Ctrl-C ends it.

Every ``run_*`` function trains inside a :class:`RunFolder`:

- it locks the folder (``fcntl.flock`` on ``<folder>/.lock``, released by the kernel when
  the process dies, so a lock is never stale), so a second run into the same folder
  refuses in one line naming the holder's PID. Where ``fcntl`` does not exist (Windows)
  there is no lock: do not point two runs at one folder there;
- it removes the temporary files (``.<name>.<pid>.<n>.part``) that a killed run left;
- it records every file the run saved, so that a Ctrl-C anywhere (loading, compiling,
  training, between phases, saving) ends with one line saying exactly what was saved:
  :class:`RunInterrupted`, a ``KeyboardInterrupt`` whose message is that line. The
  command line prints it and exits with status 130.

The first time a run saves a model file it moves the earlier one to
``<name>.previous.npz``, and only once the new file is complete; later saves in the same
run replace it. A run that stops before it saves anything leaves the folder as it was.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from .errors import TutorialError
from .files import deferred_interrupts, ensure_output_dir, remove_stale_parts

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are not locked there
    fcntl = None


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C ended a run: the message says what was saved.

    ``saved`` maps each file the run wrote to what it holds; ``results`` are the run's
    results so far (what the ``run_*`` function would have returned), or None.
    """

    def __init__(self, message: str, saved: dict | None = None, results=None):
        super().__init__(message)
        self.saved = dict(saved or {})
        self.results = results
        self.interrupted = True


class RunFolder:
    """The output folder of one run: locked, cleaned of dead runs' temporary files, its saves recorded.

    ``resume_hint`` ends the interrupted line (e.g. how to continue).
    """

    def __init__(self, path, resume_hint: str = ""):
        self.path = Path(path)
        self.resume_hint = resume_hint
        self.saved: dict[Path, str] = {}
        self._fd = None

    # -- the lock -------------------------------------------------------------------------

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
        if fcntl is None:
            return
        lock_path = self.path / ".lock"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)  # never a link's target
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
        with contextlib.suppress(OSError):  # the PID is only for the message; a full disk must not stop the lock
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def _unlock(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
            self._fd = None

    # -- what the run saved ---------------------------------------------------------------

    def save(self, path, what: str, write: Callable[..., object], keep_previous: bool = True) -> Path:
        """Save ``path`` with ``write()``, and record it as holding ``what``.

        With ``keep_previous`` (model files) ``write`` is called as
        ``write(keep_previous=...)``: True on the run's first save of ``path`` (the earlier
        run's file becomes ``.previous`` once the new one is complete), False afterwards.
        Ctrl-C is held until the file is written and recorded, so the interrupted line
        names it.
        """
        path = Path(path)
        with deferred_interrupts():
            if keep_previous:
                write(keep_previous=path not in self.saved)
            else:
                write()
            self.saved[path] = what
        return path

    def interrupted_line(self) -> str:
        """One line: what this run saved (or that it saved nothing), and how to go on."""
        if self.saved:
            what = "; ".join(f"{p} ({w})" for p, w in self.saved.items())
            line = f"saved {what}"
        else:
            line = f"nothing was saved; the files in {self.path} are as they were"
        return line + (f"; {self.resume_hint}" if self.resume_hint else "")

    def stop(self, results=None):
        """End an interrupted run: raise :class:`RunInterrupted` with what was saved and ``results``."""
        raise RunInterrupted(self.interrupted_line(), self.saved, results)
