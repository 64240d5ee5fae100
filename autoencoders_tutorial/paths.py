"""Which path the training steps take (one call per minibatch, or blocks of many), and the run context.

:func:`resolve_path` turns ``--train-path``, ``--noise-source`` and ``--block-size`` into a :class:`TrainPath`
once per run; a :class:`RunContext` carries it down with the ``--mode``, the log and the metrics to
:func:`training_function`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from .engine import check_compile_folder, compile_mode, is_jax_mode, pt, pytensor, resolved_backend
from .errors import TutorialError
from .files import MetricsLog, atomic_write_bytes
from .jax_backend import platform
from .blocks import block_steps
from .ondisk import StreamedSteps, stream_of
from .graph import minibatch_function, n_batches, score_batch_size, sgd_updates
from .steps import Steps

PATHS = ("auto", "step", "block")
NOISE_SOURCES = ("auto", "host", "device")

#: The largest block on a CPU by default: one call per ~5,000 rows keeps Ctrl-C and progress
#: prompt and the host noise draw small, and measured faster than whole-epoch blocks (README).
CPU_BLOCK = 250


@dataclass(frozen=True)
class TrainPath:
    """How the loops run the steps: ``kind`` "step" or "block"; the block path's ``noise`` ("host" or "device")
    and largest ``block_size`` (None: as the loop needs); ``note``, a line to print when the path asked for
    is not what runs."""

    kind: str = "step"
    noise: str | None = None
    block_size: int | None = None
    note: str | None = None

    @property
    def name(self) -> str:
        """What checkpoints store and a resume must match: "step", "block/host" or "block/device"."""
        return self.kind if self.kind == "step" else f"block/{self.noise}"

    def describe(self) -> str:
        if self.kind == "step":
            return "one call per minibatch (step path)"
        size = f"up to {self.block_size}" if self.block_size else "as many as the loop runs"
        return f"{size} minibatches per call (block path), noise drawn on the {self.noise}"


@dataclass(frozen=True)
class RunContext:
    """What a run carries down to its steps and loops, resolved once (a script's is ``Run.context``): its
    ``--mode``, :class:`TrainPath`, ``log`` and ``metrics`` (a :class:`~.files.MetricsLog` or None).
    ``RunContext()`` is the step path in the default mode, printing, without metrics."""

    mode: str | None = None
    train_path: TrainPath = field(default_factory=TrainPath)
    log: Callable = print
    metrics: MetricsLog | None = None


#: Where a passed probe is remembered: beside PyTensor's compile cache, which lives as long.
PROBE_FILE = "autoencoders_tutorial_block_probe.json"


def _probe_key(mode) -> str:
    """What a probe's outcome depends on: versions, back end, platform, precision, ``PYTENSOR_FLAGS``."""
    parts = [f"pytensor {pytensor.__version__}", resolved_backend(mode), platform(mode), pytensor.config.floatX,
             f"PYTENSOR_FLAGS={os.environ.get('PYTENSOR_FLAGS', '')}"]
    for dist in ("jax", "jaxlib", "jax-cuda12-plugin", "jax-cuda13-plugin"):
        with contextlib.suppress(PackageNotFoundError):
            parts.append(f"{dist} {version(dist)}")
    return " | ".join(parts)


def _probe_file() -> Path:
    return Path(pytensor.config.compiledir) / PROBE_FILE


def _known_passes() -> list:
    """The probe keys remembered as passed: none when the file is missing, unreadable or not ours."""
    try:
        known = json.loads(_probe_file().read_text())
    except (OSError, ValueError):
        return []
    return known if isinstance(known, list) else []


def _remember_pass(key) -> None:
    with contextlib.suppress(Exception):  # a cache that cannot be written only costs the next run the probe
        atomic_write_bytes(_probe_file(), json.dumps(sorted({*_known_passes(), key})).encode())


@functools.cache
def _block_failure(mode) -> str | None:
    """Why this PyTensor cannot compile a (tiny) block in ``mode``, or None. A pass is remembered in PyTensor's
    compile folder per :func:`_probe_key`, so only a machine's first run pays the probe (about a second)."""
    key = _probe_key(mode)
    if key in _known_passes():
        return None
    failure = _probe(mode)
    if failure is None:
        _remember_pass(key)
    return failure


def _probe(mode) -> str | None:
    try:
        w = pytensor.shared(np.ones(2, dtype=pytensor.config.floatX), name="probe.w")
        data = pytensor.shared(np.ones((4, 2), dtype=pytensor.config.floatX), name="probe.x")
        x = pt.matrix("x", dtype=pytensor.config.floatX)
        steps = block_steps(None, [(x, data)], pt.sum(w * x), 2, [(w, w - 0.5 * x.sum(axis=0))], mode=mode, noise=None)
        return None if np.allclose(np.asarray(steps.block(0, 2)), [4.0, 0.0]) else "it computed the wrong costs"
    except Exception as exc:  # noqa: BLE001  (any failure to build or run means: not here)
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:120]}"


def resolve_path(train_path="auto", noise_source="auto", block_size=None, mode=None) -> TrainPath:
    """The :class:`TrainPath` for ``--train-path``, ``--noise-source`` and ``--block-size`` in ``mode``.

    "auto" is the measured choice (``bench/bench.py``): the block path on JAX, noise drawn on the device on
    a GPU, on the host on a CPU (the step path's masks, bit for bit); the step path on the C back end, whose
    blocks measured slower. The block path runs on JAX and the C back end; elsewhere, or where this PyTensor
    cannot compile it, the step path runs and ``note`` says why (when the block path was asked for or would
    have been the default).
    """
    for name, value, choices in (("train_path", train_path, PATHS), ("noise_source", noise_source, NOISE_SOURCES)):
        if value not in choices:
            raise TutorialError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    if block_size is not None and (isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer))
                                   or block_size < 1):
        raise TutorialError(f"block_size must be a whole number >= 1, got {block_size!r}")
    if train_path == "step" and (noise_source != "auto" or block_size is not None):
        given = "noise_source" if noise_source != "auto" else "block_size"
        raise TutorialError(f"{given} is for the block path; train_path step takes neither noise_source nor "
                            "block_size: leave them out or use train_path block (or auto)")
    check_compile_folder()  # every run resolves its path first: a folder PyTensor cannot use is refused here
    chosen = compile_mode(mode)
    jax_mode = is_jax_mode(chosen)
    if jax_mode and pytensor.config.floatX != "float32":  # before JAX's float64 switch could flip process-wide
        raise TutorialError("JAX mode runs in float32 here; use precision float32 or another mode")
    if train_path == "step" or (train_path == "auto" and not jax_mode):
        return TrainPath()
    backend = str(chosen if chosen is not None else pytensor.config.mode)
    if not jax_mode and backend.upper() not in ("CVM", "FAST_RUN"):
        return TrainPath(note=f"note: the block path runs on JAX and the C back end, not {backend}; using the step "
                              "path")
    failure = _block_failure(chosen)
    if failure is not None:
        return TrainPath(note=f"note: this PyTensor ({pytensor.__version__}) cannot compile the block path "
                              f"({failure}); using the step path")
    gpu = platform(mode) != "cpu"
    noise = noise_source if noise_source != "auto" else ("device" if gpu else "host")
    block_size = CPU_BLOCK if block_size is None and not gpu else block_size
    return TrainPath("block", noise, None if block_size is None else int(block_size))


def training_function(pairs, cost, batch_size, updates=None, extra_inputs=(), context=RunContext(), *,
                      names=(), defaults=(), ensure=None) -> Steps:
    """The steps the training loops run: ``steps(index, *extra_inputs) -> cost``.

    ``context`` (a :class:`RunContext`; by default the step path in the default mode) gives the mode and
    the training path: :class:`~.steps.Steps` around :func:`~autoencoders_tutorial.graph.minibatch_function`,
    or :class:`~.blocks.BlockSteps`; for a training set on disk, those inside :class:`~.ondisk.StreamedSteps`.
    ``names``, ``defaults`` and ``ensure`` are :class:`~.steps.Steps`'.
    """
    train_path = context.train_path

    def make_step():
        return minibatch_function(pairs, cost, batch_size, updates, extra_inputs, context.mode)

    if train_path.kind == "step":
        steps = Steps(make_step(), names, defaults, ensure)
    else:
        steps = block_steps(make_step, pairs, cost, batch_size, updates, extra_inputs, context.mode,
                            noise=train_path.noise, block_size=train_path.block_size, names=names, defaults=defaults,
                            ensure=ensure)
    rows = next((r for r in map(stream_of, (source for _, source in pairs)) if r is not None), None)
    return steps if rows is None else StreamedSteps(steps, rows, batch_size)


def compile_classifier(x, y, cost, errors, params, datasets, batch_size, learning_rate, context=RunContext()):
    """Compile the tutorial's three functions: ``(train_fn, valid_score, test_score)``.

    ``datasets`` is what :func:`autoencoders_tutorial.datasets.load_data` returns; ``x`` and ``y`` are the
    graphs' symbolic inputs. ``train_fn(index)`` does one SGD step of ``params`` only (a subset freezes the
    rest) and returns the cost (on ``context``'s block path, it runs blocks too); ``valid_score()`` and
    ``test_score()`` return the error rate of every full minibatch of their split, in minibatches of
    :func:`~.graph.score_batch_size` (a split smaller than ``batch_size`` is still scored; on the block path,
    all in one call).
    """
    mode = context.mode
    (train_x, train_y), *scored = datasets
    eval_batch = score_batch_size(batch_size, datasets)
    if eval_batch <= 0:
        raise TutorialError("the validation or test set is empty")
    updates = sgd_updates(cost, params, learning_rate)
    train_fn = training_function([(x, train_x), (y, train_y)], cost, batch_size, updates, context=context)

    def scorer(split_x, split_y):
        n = n_batches(split_x, eval_batch)
        if context.train_path.kind == "block":  # every minibatch's error in one call, the split resident
            scores = block_steps(None, [(x, split_x), (y, split_y)], errors, eval_batch, [], mode=mode, noise=None)
            return lambda: list(np.asarray(scores.block(0, n)))  # numpy scalars, as the step path gives
        fn = minibatch_function([(x, split_x), (y, split_y)], errors, eval_batch, mode=mode)
        return lambda: [fn(i) for i in range(n)]

    return (train_fn, *(scorer(sx, sy) for sx, sy in scored))
