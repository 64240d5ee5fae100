"""The engine: PyTensor's set-up, the modes, and every JAX/PyTensor workaround, in one place.

Importing this module configures PyTensor (:func:`configure_engine`) *before* PyTensor is first imported
(some flags, the BLAS link line among them, are read only at import); when PyTensor was imported first, what
cannot be set any more is named in one warning. :func:`sync_shared` and :func:`host_function` give shared
variables that JAX functions updated numpy values again; every call into JAX itself is in
:mod:`autoencoders_tutorial.jax_backend`. Nothing is printed at import: :data:`ENGINE` holds what was chosen.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import os
import re
import sys
import warnings
import weakref
from collections.abc import Mapping

import numpy as np

from .errors import TutorialError
from .interrupts import deferred_interrupts

#: What the library chose for the engine, and why; filled by :func:`configure_engine`.
ENGINE: dict = {}

#: The ``--mode`` choices; "default" is the library's measured choice. PyTensor's pure
#: "C" linker is not among them: the noise draw (a random-variable op) has no C code, so
#: it fails for every dA with corruption and every SdA; "CVM" is the C back end with it.
MODES = ("default", "CVM", "NUMBA", "JAX", "FAST_COMPILE")

_BLAS_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib",
              "/opt/homebrew/opt/openblas/lib", "/usr/local/opt/openblas/lib")

_NO_BLAS_NOTE = ("note: no system BLAS found; using PyTensor's Numba back end. For full speed install JAX (pip install "
                 "jax) or OpenBLAS (Debian/Ubuntu: apt-get install libopenblas-dev; macOS: brew install openblas).")


def _find_blas() -> str | None:
    """Linker flags for a system OpenBLAS, or None: linking needs the development file (``libopenblas.so`` /
    ``.dylib``), not only the runtime ``.so.0``, so look for that file itself."""
    for d in _BLAS_DIRS:
        for ext in (".so", ".dylib"):
            if os.path.exists(os.path.join(d, "libopenblas" + ext)):
                if d.startswith(("/usr/lib", "/usr/local/lib")):
                    return "-lopenblas"
                return f"-L{d} -Wl,-rpath,{d} -lopenblas"
    return None


def configure_engine(environ: Mapping[str, str] | None = None) -> dict:
    """Choose the fastest measured PyTensor configuration, leaving user settings alone.

    Measured on the dA epoch (``bench/bench.py``, numbers in the README), fastest first: JAX (XLA fuses the
    element-wise work), the C back end with a system OpenBLAS, PyTensor's default (Numba), and far behind,
    the C back end without BLAS (a plain ``pip install pytensor``). So the library chooses:

    - PyTensor's process-wide default (every ``pytensor.function`` without a mode, yours included):
      ``mode=CVM`` with ``blas__ldflags`` when a system OpenBLAS is found, else Numba and a note on what
      to install;
    - the library's training functions' mode (``--mode default``): JAX when installed, else the
      process-wide default (which JAX stays out of: its functions keep private copies of shared generators).

    Precision defaults to float32 (the tutorial's advice). A flag named in ``PYTENSOR_FLAGS`` wins; naming
    ``mode`` or ``linker`` there makes both choices the user's. Fills and returns :data:`ENGINE`, whose
    ``settings`` are the flags to apply (nothing is applied here).
    """
    env = os.environ if environ is None else environ
    user_flags = env.get("PYTENSOR_FLAGS", "")
    named = {part.split("=", 1)[0].strip() for part in user_flags.split(",") if "=" in part}
    user_mode = bool({"mode", "linker"} & named)
    has_jax = importlib.util.find_spec("jax") is not None
    settings = {} if "floatX" in named else {"floatX": "float32"}
    blas = None if "blas__ldflags" in named else _find_blas()
    if blas:
        settings["blas__ldflags"] = blas
    if user_mode:
        default = "user PYTENSOR_FLAGS"
    elif blas:
        settings["mode"] = "CVM"
        default = "C (CVM) + " + blas.split()[-1][2:]
    else:
        default = "Numba (no system BLAS found)"
    note = None if user_mode or blas or has_jax else _NO_BLAS_NOTE
    train_mode = "JAX" if has_jax and not user_mode else None
    ENGINE.clear()
    ENGINE.update(train_mode=train_mode, default=default, blas=blas, settings=settings, note=note,
                  backend=f"JAX (training), {default} (other graphs)" if train_mode else default,
                  flags=",".join(filter(None, [user_flags, *(f"{k}={v}" for k, v in settings.items())])),
                  chosen_by="library", skipped={})
    return ENGINE


def _apply_after_import(config) -> dict:
    """PyTensor was imported before the library: set what is still PyTensor's default. Returns ``{flag: why
    skipped}`` (set already, by ``PYTENSOR_FLAGS`` or in code, or refused). A lazy default (the BLAS probe) is
    never evaluated here."""
    skipped = {}
    for flag, value in ENGINE["settings"].items():
        param = getattr(type(config), flag, None)  # its ConfigParam, a descriptor
        if param is not None and hasattr(param, "val"):  # read or set already
            current, default = param.val, param.default
            untouched = getattr(param, "is_default", True) and (
                (not callable(default) and str(current) == str(default)) or (flag == "blas__ldflags" and not current))
            if not untouched:
                if str(current) != str(value):
                    skipped[flag] = f"already set to {current!r} in this process"
                continue
        try:
            setattr(config, flag, value)
        except Exception as exc:  # noqa: BLE001  (PyTensor raises several kinds for a frozen flag)
            skipped[flag] = f"PyTensor refused it ({exc})"
    return skipped


def _caller_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside this package and importlib."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(("<frozen", here)):
        # warnings itself skips importlib's frames when it counts the stack
        level += not frame.f_code.co_filename.startswith("<frozen")
        frame = frame.f_back
    return level


def _import_pytensor():
    """Import PyTensor with the chosen flags (or apply them after a user's earlier import)."""
    configure_engine()
    if "pytensor" in sys.modules:
        import pytensor

        ENGINE["skipped"] = _apply_after_import(pytensor.config)
        mode = getattr(type(pytensor.config), "mode", None)  # set in code or PYTENSOR_FLAGS where the library set none
        by_user = "mode" not in ENGINE["settings"] and hasattr(mode, "val") and not callable(mode.default)
        if "mode" in ENGINE["skipped"] or by_user and str(mode.val) != str(mode.default):
            # the process-wide default is not the one chosen (or the library chose none): say which it is
            ENGINE["default"] = f"{pytensor.config.mode} (set before the library was imported)"
            train = ENGINE["train_mode"]
            ENGINE["backend"] = (f"{train} (training), " if train else "") + ENGINE["default"]
        if ENGINE["skipped"]:
            ENGINE["chosen_by"] = "partly the library (PyTensor was imported first)"
            what = "; ".join(f"{k}={ENGINE['settings'][k]} ({why})" for k, why in ENGINE["skipped"].items())
            warnings.warn(
                f"PyTensor was imported before the autoencoder library, which skipped {what}; import dA (or "
                f"autoencoders_tutorial.engine) before pytensor, or set PYTENSOR_FLAGS={ENGINE['flags']}",
                stacklevel=_caller_stacklevel(),
            )
        return pytensor
    # PyTensor reads PYTENSOR_FLAGS once, at import: hand it the chosen flags for that
    # moment only, so that child processes still see the user's own environment.
    user_flags = os.environ.get("PYTENSOR_FLAGS")
    os.environ["PYTENSOR_FLAGS"] = ENGINE["flags"]
    try:
        import pytensor
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # what PyTensor raises for a bad set-up
        message = " ".join(str(exc).split())[:300]
        if "compiledir" in message:
            _refuse_at_import(f"PyTensor cannot use its compile folder ({message}); {_COMPILEDIR_FIX}")
        if user_flags is None:
            raise
        _refuse_at_import(f"PYTENSOR_FLAGS={user_flags!r} is not valid ({message}); fix or unset it")
    finally:
        if user_flags is None:
            os.environ.pop("PYTENSOR_FLAGS", None)
        else:
            os.environ["PYTENSOR_FLAGS"] = user_flags
    return pytensor


_COMPILEDIR_FIX = ("make HOME writable, or set PYTENSOR_FLAGS=base_compiledir=FOLDER to a folder you can write "
                   "(PyTensor keeps its compiled code there)")


def _refuse_at_import(message: str):
    """Raise :class:`TutorialError` for a set-up PyTensor cannot be imported with. A script imports this before
    its own error handling runs: left uncaught, the error ends the process as a bad input on the command line
    does (one line, exit status 2), not with a traceback through the imports; a caller may still catch it."""
    if sys.excepthook is sys.__excepthook__:
        def one_line(kind, exc, tb):
            if not isinstance(exc, TutorialError):
                return sys.__excepthook__(kind, exc, tb)
            print(f"error: {exc}", file=sys.stderr, flush=True)
            sys.stdout.flush()
            os._exit(2)

        sys.excepthook = one_line
    raise TutorialError(message) from None


pytensor = _import_pytensor()

import pytensor.tensor as pt  # noqa: F401  (configured above; the models import it from here)


def compile_mode(mode: str | None):
    """Map the ``--mode`` flag to what ``pytensor.function(mode=...)`` takes. None or "default" is the library's
    choice for training functions (``ENGINE["train_mode"]``: JAX when installed, else PyTensor's default)."""
    if mode in (None, "default"):
        # JAX runs in float32 only (its x64 switch is process-wide and turns float32 graphs into float64
        # ones), so float64 work uses the configured default.
        return ENGINE.get("train_mode") if pytensor.config.floatX == "float32" else None
    if mode not in MODES:
        raise TutorialError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def resolved_backend(mode=None) -> str:
    """The back end ``mode`` means on this machine, as a stable name ("JAX", "CVM", ...): checkpoints store it,
    so a resume refuses a back end that would change the numbers (``--mode default`` differs by machine)."""
    chosen = compile_mode(mode)
    return str(chosen if chosen is not None else pytensor.config.mode)


def describe_mode(mode=None) -> str:
    """Which back end the training functions of a run with ``--mode mode`` use, in words."""
    chosen = compile_mode(mode)
    return str(chosen) if chosen is not None else ENGINE.get("default", str(pytensor.config.mode))


def describe_build(seconds: float, mode=None) -> str:
    """What building a run's functions took, in words that say where the compiling is: the C back end
    compiles as it builds; JAX and Numba compile on the first call, inside the first epoch."""
    name = resolved_backend(mode).upper()
    if name in ("JAX", "NUMBA"):
        return f"graph built in {seconds:.1f}s; {'Numba' if name == 'NUMBA' else name} compiles it in the first epoch"
    return f"compiled in {seconds:.1f}s"


def is_jax_mode(mode) -> bool:
    """True when functions compiled with ``mode`` run on JAX."""
    return str(pytensor.config.mode if mode in (None, "default") else mode).upper() == "JAX"


#: Shared variables that JAX functions update: between calls they hold JAX arrays.
_JAX_UPDATED: weakref.WeakSet = weakref.WeakSet()


def sync_shared() -> None:
    """Give every shared variable updated by a JAX function a numpy value again (zero-copy on the CPU). The
    training loops call it when they end, however they end, so checkpoints, images and C functions see numpy."""
    for var in list(_JAX_UPDATED):
        value = var.get_value(borrow=True)
        if not isinstance(value, np.ndarray):
            var.set_value(np.asarray(value), borrow=True)


def note_jax_updated(mode, variables) -> None:
    """Remember ``variables`` for :func:`sync_shared` when a function compiled in ``mode`` updates them on JAX."""
    if is_jax_mode(mode):
        _JAX_UPDATED.update(variables)


def compile_function(*args, **kwargs):
    """``pytensor.function(*args, **kwargs)``, with Ctrl-C held until it returns and one line for a bad set-up.

    Ctrl-C inside a compilation (above all JAX's first, which loads native libraries) could be lost in a
    garbage-collection callback or crash the process; held, it arrives once the function is built. A
    compile folder PyTensor cannot write is one line before the first build; with ``PYTENSOR_FLAGS`` set,
    so is a failure to compile (a setting PyTensor accepted at import but cannot use), naming the file
    holding the compiler's output instead of printing PyTensor's notes.
    """
    check_compile_folder()
    notes = io.StringIO()
    with deferred_interrupts():
        try:
            with contextlib.redirect_stdout(notes):  # PyTensor prints where a failed compile's code is
                function = pytensor.function(*args, **kwargs)
        except Exception as exc:
            flags = os.environ.get("PYTENSOR_FLAGS")
            if not flags or isinstance(exc, TutorialError):
                sys.stdout.write(notes.getvalue())
                raise
            last = " ".join(str(exc).strip().splitlines()[-1:]).strip()[:200] or type(exc).__name__
            kept = re.search(r"temporary file: (\S+)", notes.getvalue())
            raise TutorialError(f"PyTensor could not compile with PYTENSOR_FLAGS={flags!r} ({type(exc).__name__}: "
                                f"{last}{f'; the compiler output is in {kept[1]}' if kept else ''}); fix or unset it"
                                ) from None
    sys.stdout.write(notes.getvalue())
    return function


@functools.cache
def check_compile_folder() -> None:
    """Refuse in one line a compile folder PyTensor cannot create or write (under HOME, or ``base_compiledir``
    in ``PYTENSOR_FLAGS``), before a first model is trained and saved."""
    try:
        folder = pytensor.config.compiledir  # PyTensor creates it, or says why it cannot
        writable = os.access(folder, os.W_OK | os.X_OK)
    except (ValueError, OSError) as exc:
        message = " ".join(str(exc).split())[:300]
        raise TutorialError(f"PyTensor cannot use its compile folder ({message}); {_COMPILEDIR_FIX}") from None
    if not writable:
        raise TutorialError(f"PyTensor cannot write its compile folder {folder}; {_COMPILEDIR_FIX}")


def host_function(inputs, outputs, mode=None):
    """``pytensor.function(inputs, outputs)`` in PyTensor's default mode (or ``mode``), safe after JAX training:
    each call first syncs JAX-updated shared variables (:func:`sync_shared`), so a C function reads what a JAX
    step just changed. ``mode="FAST_COMPILE"`` runs the ops through numpy, none compiled: seconds sooner on a
    cold compile cache, for a graph that runs once on a few rows."""
    fn = compile_function(inputs, outputs, mode=mode)

    def call(*args):
        sync_shared()
        return fn(*args)

    call.function = fn
    return call
