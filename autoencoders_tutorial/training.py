"""Training: the one epoch loop and the one early-stopping loop.

:func:`train_epochs` runs a step over every minibatch for some epochs (the dA, each SdA pretraining layer);
:func:`early_stopping` is the tutorial's patience loop (logistic regression, the MLP, SdA fine-tuning).
``SdA.py``'s two resumable phases are written on them. Both stop on a NaN or infinite cost with one line
(:class:`TrainingDiverged`), stop cleanly on Ctrl-C, and give JAX-updated parameters numpy values at the end.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from .engine import sync_shared
from .errors import TrainingDiverged, TutorialError, check_positive
from .files import MetricsLog, params_to_arrays, set_params_from_arrays
from .interrupts import deferred_interrupts
from .paths import RunContext
from .steps import Steps


#: The step path reads costs back from the device (which waits for it) once per this many
#: minibatches, and at every validation and epoch end; the block path one block behind.
CHECK_EVERY = 100


class _Costs:
    """One epoch's minibatch costs, checked as they are read back: host values (the C back end's) at once,
    device values (JAX's) in batches from ``pending``, so the device is not waited for every minibatch. A NaN
    or infinite cost raises :class:`TrainingDiverged` naming the first bad minibatch."""

    def __init__(self, n, label, epoch, note="", hint="lower the learning rate"):
        self.values = np.empty(n)
        self.label, self.epoch, self.note, self.hint = label, epoch, note, hint
        self.pending = []  # (first minibatch, value, how many)

    def add(self, first, value, k=1):
        self.pending.append((first, value, k))
        if isinstance(value, (float, int, np.ndarray, np.generic)):  # on the host already: free to check
            self.check()
        elif sum(n for *_, n in self.pending) >= CHECK_EVERY:
            self.check(keep=1)  # the newest call stays in flight

    def check(self, keep=0):
        """Read back and check every pending cost but the newest ``keep`` calls'."""
        todo = self.pending[:len(self.pending) - keep]
        self.pending = self.pending[len(todo):]
        if not todo:
            return
        lo, hi = todo[0][0], todo[-1][0] + todo[-1][2] - 1
        for first, value, k in todo:
            vals = np.asarray(value, dtype=np.float64).reshape(k)
            self.values[first: first + k] = vals
            bad = np.flatnonzero(~np.isfinite(vals))
            if bad.size:
                read = f" (read back with minibatches {lo}-{hi})" if hi > lo else ""
                raise TrainingDiverged(f"{self.label}cost became {vals[bad[0]]} at epoch {self.epoch}, minibatch "
                                       f"{first + int(bad[0])}{read}; {self.note}{self.hint}")


def _minibatches_to_next_event(state, it, n_done, n_train_batches) -> int:
    """How far steps may run from iteration ``it`` (``n_done`` into the epoch) with nothing else happening,
    so blocks may cover it: to the next validation, to where patience runs out, or to the epoch's end."""
    to_validation = state.validation_frequency - it % state.validation_frequency
    cap = it + n_train_batches  # ceil(patience), at most cap: an infinite patience never ends a block
    to_patience = max(it, cap if not state.patience < cap else math.ceil(state.patience)) - it + 1
    return min(to_validation, to_patience, n_train_batches - n_done)


#: The most block sizes one steps object compiles: ``k`` and the remainders that recur (an epoch's
#: ``n % k``, the segment before a validation); other remainders run as single steps.
MAX_BLOCK_SIZES = 3


def _run(step, costs, first, last, k):
    """Minibatches ``first .. last - 1``, yielding after each call: blocks of ``k`` (> 1) and one block of the
    remainder if that size is compiled or fewer than :data:`MAX_BLOCK_SIZES` are (a remainder then costs one
    compilation per run, not a call per minibatch), else single steps; without blocks, single steps."""
    i = first
    while i < last:
        n = min(k, last - i) if k else 1
        if n > 1 and n != k and n not in step.block_sizes() and len(step.block_sizes()) >= MAX_BLOCK_SIZES:
            n = 1  # a remainder of yet another size: single steps rather than one more compilation
        if n > 1:
            costs.add(i, step.block(i, n), n)
        else:
            costs.add(i, step(i))
        i += n
        yield i - first


@contextlib.contextmanager
def _stoppable(result, log, label, kept):
    """The loops' Ctrl-C: held, polled between minibatches (``stop.received``), so the loop ends at a clean
    point with ``result.interrupted``, as it does on a ``KeyboardInterrupt`` raised inside (a callback's,
    another thread's). Whatever ends the loop, JAX values are synced."""
    stop = deferred_interrupts(deliver=False)
    try:
        with stop:
            yield stop
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        sync_shared()
    result.interrupted = result.interrupted or stop.received
    if result.interrupted:
        log(f"{label}interrupted; keeping the {kept} so far")


def _end_epoch(result, t0, costs, log, metrics, phase, epoch, line) -> float:
    """The epoch tail of both loops: time, mean cost, the printed ``line(mean, secs)``, the metrics record."""
    secs = time.perf_counter() - t0
    mean = float(np.mean(costs))
    result.epoch_seconds.append(secs)
    log(line(mean, secs))
    if metrics is not None:
        metrics.write(phase=phase, epoch=epoch, cost=mean, seconds=round(secs, 4))
    return mean


class _Progress:
    """Progress inside long epochs: a tqdm bar, gone at the epoch's end, where ``log`` is ``print`` to a tty;
    otherwise (logs, CI) a plain line every ``every`` seconds."""

    def __init__(self, n, desc, log, every):
        self.n, self.desc, self.log, self.every = n, desc, log, every
        tty = log is print and sys.stdout.isatty()
        self.bar = tqdm(total=n, desc=f"  {desc}", unit="minibatch", leave=False, mininterval=0.5) if tty else None
        self.t0 = self.last = time.perf_counter()

    def show(self, done):
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
            return
        now = time.perf_counter()
        if now - self.last > self.every:
            self.last = now
            self.log(f"  {self.desc}: {done}/{self.n} minibatches, {now - self.t0:.0f}s")

    def close(self):
        if self.bar is not None:
            self.bar.close()


class _Speed:
    """The seconds a minibatch takes, measured past the calls that compile (the first, and the first epoch's
    remainder block): handed once to ``report`` after ``after`` seconds, or at the end of the second epoch when
    the first was shorter. :meth:`seen` returns ``report`` until it has been called."""

    def __init__(self, report, after):
        self.report, self.after, self.start, self.restarted = report, after, None, False

    def seen(self, done, epoch_end):  # done: minibatches since the loop started
        now = time.perf_counter()
        if self.start is not None and (now - self.start[0] > self.after or epoch_end and self.restarted):
            self.report((now - self.start[0]) / max(1, done - self.start[1]))
            return None
        if self.start is None or epoch_end:
            self.start, self.restarted = (now, done), epoch_end
        return self.report


def _no_minibatch(n_train_batches):
    if n_train_batches <= 0:
        raise TutorialError("no full minibatch: the training set is smaller than the batch size")


@dataclass
class EpochResult:
    costs: list
    interrupted: bool = False
    epoch_seconds: list = field(default_factory=list)


def train_epochs(step, n_train_batches: int, n_epochs: int, *, start_epoch: int = 0, label: str = "",
                 context: RunContext = RunContext(), on_epoch_end=None, progress_every: float = 15.0,
                 stall_hint: str = "another learning rate",
                 diverged_hint: str = "lower the learning rate", on_speed=None) -> EpochResult:
    """The one epoch loop: call ``step(i)`` for every minibatch, ``n_epochs`` times.

    Each epoch's mean cost and seconds (and progress in long epochs) go to ``context.log``, a record to
    ``context.metrics`` (a :class:`~.paths.RunContext`; by default print, no metrics); then
    ``on_epoch_end(epoch, mean_cost)`` runs (e.g. to checkpoint). A NaN or infinite cost raises
    :class:`TrainingDiverged` ending in ``diverged_hint`` (costs are read back every :data:`CHECK_EVERY`
    minibatches and at the epoch's end, before ``on_epoch_end``); Ctrl-C stops after the current call, with
    ``interrupted=True``. ``step`` is :class:`~autoencoders_tutorial.steps.Steps` (or a function of the
    index): on the block path it runs up to ``step.block_size`` minibatches per call (see :func:`_run`). A cost
    moving by less than 0.1% from the call's second to third epoch gets a warning suggesting ``stall_hint``.
    ``on_speed(seconds per minibatch)`` is called once: measured after the first call (which may compile),
    as soon as ``progress_every`` seconds have passed or the first epoch ends.
    """
    _no_minibatch(n_train_batches)
    log, metrics = context.log, context.metrics
    result = EpochResult(costs=[])
    step = Steps.of(step)
    k = step.block_for(n_train_batches)
    speed = _Speed(on_speed, progress_every)
    with _stoppable(result, log, label, "parameters trained") as stop:
        for epoch in range(start_epoch, n_epochs):
            t0 = time.perf_counter()
            costs = _Costs(n_train_batches, label, epoch, hint=diverged_hint)
            bar = _Progress(n_train_batches, f"{label}epoch {epoch}", log, progress_every)
            try:
                for done in _run(step, costs, 0, n_train_batches, k):
                    bar.show(done)
                    if on_speed is not None:
                        on_speed = speed.seen((epoch - start_epoch) * n_train_batches + done, done == n_train_batches)
                    if stop.received:
                        costs.check()
                        return result
            finally:
                bar.close()
            costs.check()
            mean = _end_epoch(result, t0, costs.values, log, metrics, label.strip(" :") or "train", epoch,
                              lambda m, t, epoch=epoch: f"{label}Training epoch {epoch}, cost {m:.4f} ({t:.2f}s)")
            result.costs.append(mean)
            if len(result.costs) == 3 and abs(mean - result.costs[1]) < 1e-3 * abs(result.costs[1]):
                log(f"{label}warning: the cost moved by less than 0.1% from epoch {epoch - 1} to {epoch} "
                    f"({result.costs[1]:.6g} -> {mean:.6g}); training has stalled: try {stall_hint}")
            if on_epoch_end is not None:
                on_epoch_end(epoch, mean)
    return result


@dataclass
class EarlyStoppingState:
    """Everything the early-stopping loop needs to resume exactly (JSON-able)."""

    patience: int
    validation_frequency: int
    epoch: int = 0  # epochs completed
    best_validation_loss: float = math.inf
    best_iter: int = -1
    test_score: float = math.nan
    done: bool = False

    def to_meta(self) -> dict:
        return {k: (repr(v) if isinstance(v, float) and not math.isfinite(v) else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_meta(cls, meta: Mapping) -> EarlyStoppingState:
        """The state :meth:`to_meta` wrote (non-finite floats come back from their ``repr``)."""
        floats = ("best_validation_loss", "test_score")
        return cls(**{k: (float(v) if k in floats and isinstance(v, str) and v in ("inf", "nan") else v)
                      for k, v in meta.items()})


@dataclass
class EarlyStoppingResult:
    state: EarlyStoppingState
    interrupted: bool = False
    seconds: float = 0.0
    epoch_seconds: list = field(default_factory=list)

    best_validation_loss = property(lambda self: self.state.best_validation_loss)
    test_score = property(lambda self: self.state.test_score)
    epochs = property(lambda self: self.state.epoch)


@dataclass
class _Validation:
    """The early-stopping loop at a validation point (the tutorial's arithmetic, exactly)."""

    validate: Callable[[], float]
    test: Callable[[], float]
    params: list
    improvement_threshold: float
    patience_increase: float
    on_improvement: Callable | None
    log: Callable
    metrics: MetricsLog | None
    label: str
    phase: str

    def __call__(self, state, epoch, minibatch_index, n_train_batches) -> dict | None:
        """Validate; on a new best, extend the patience (if improved enough), snapshot the parameters, compute
        the test error and call ``on_improvement``. Returns the snapshot, or None when not improved."""
        it = (epoch - 1) * n_train_batches + minibatch_index
        where = f"epoch {epoch}, minibatch {minibatch_index + 1}/{n_train_batches}"
        this_validation_loss = self.validate()
        self.log(f"{self.label}{where}, validation error {this_validation_loss * 100:f} %")
        if self.metrics is not None:
            self.metrics.write(phase=self.phase, epoch=epoch, iter=it, validation_error=this_validation_loss)
        if not this_validation_loss < state.best_validation_loss:
            return None
        if this_validation_loss < state.best_validation_loss * self.improvement_threshold:
            state.patience = max(state.patience, it * self.patience_increase)
        state.best_validation_loss = this_validation_loss
        state.best_iter = it
        best = params_to_arrays(self.params)
        state.test_score = self.test()
        self.log(f"{self.label}     {where}, test error of best model {state.test_score * 100:f} %")
        if self.metrics is not None:
            self.metrics.write(phase=self.phase, epoch=epoch, iter=it, test_error=state.test_score)
        if self.on_improvement is not None:
            self.on_improvement(state)
        return best


def early_stopping(train_fn, n_train_batches: int, validate: Callable[[], float], test: Callable[[], float],
                   params: Sequence, *, n_epochs: int = 1000, patience: int = 5000, patience_increase: float = 2,
                   improvement_threshold: float = 0.995, validation_frequency: int | None = None,
                   state: EarlyStoppingState | None = None, best_params: Mapping[str, np.ndarray] | None = None,
                   on_improvement=None, on_epoch_end=None, context: RunContext = RunContext(),
                   label: str = "") -> EarlyStoppingResult:
    """The one early-stopping loop (the tutorial's, exactly), shared by every script.

    Trains with ``train_fn(minibatch_index) -> cost`` (on the block path, blocks of ``train_fn.block(start,
    k)`` ending at each validation, where patience runs out and at the epoch's end: the same arithmetic and
    lines). Every ``validation_frequency`` minibatches (default ``min(n_train_batches, patience // 2)``) it
    calls ``validate()``; a new best snapshots ``params``, computes ``test()`` (the best model's test error)
    and calls ``on_improvement(state)``; an improvement by more than ``1 - improvement_threshold`` (relative)
    extends ``patience`` to ``iter * patience_increase``. It stops when ``patience <= iter`` (in minibatch
    iterations) or after ``n_epochs``.

    The best parameters are restored into ``params`` at the end, also after Ctrl-C (``interrupted=True``)
    and before a :class:`TrainingDiverged` error. ``on_epoch_end(state, best_params)`` runs after each epoch
    (for checkpoints); a saved ``state`` and ``best_params`` resume. Lines go to ``context.log``, records to
    ``context.metrics`` (a :class:`~.paths.RunContext`; by default print, no metrics).
    """
    _no_minibatch(n_train_batches)
    log, metrics = context.log, context.metrics
    check_positive(n_epochs=n_epochs, patience=patience)
    params = list(params)
    if state is None:
        freq = validation_frequency or min(n_train_batches, patience // 2)
        state = EarlyStoppingState(patience=patience, validation_frequency=max(1, int(freq)))
    best = dict(best_params) if best_params is not None else None
    result = EarlyStoppingResult(state=state)
    phase = label.strip(" :") or "finetune"  # the metrics records' phase: the label without its punctuation
    at_validation = _Validation(validate, test, params, improvement_threshold, patience_increase, on_improvement, log,
                                metrics, label, phase)
    train_fn = Steps.of(train_fn)
    k = train_fn.block_for(n_train_batches, at_most=state.validation_frequency)
    t_start = time.perf_counter()
    try:
        with _stoppable(result, log, label, "best parameters found") as stop:
            while state.epoch < n_epochs and not state.done and not stop.received:
                epoch = state.epoch + 1
                t0 = time.perf_counter()
                costs = _Costs(n_train_batches, label, epoch, "best parameters restored and nothing saved; ")
                n_done = 0
                while n_done < n_train_batches and not stop.received:
                    it = (epoch - 1) * n_train_batches + n_done
                    span = _minibatches_to_next_event(state, it, n_done, n_train_batches)
                    for done in _run(train_fn, costs, n_done, n_done + span, k):
                        if stop.received:
                            break
                    n_done += done
                    costs.check()
                    if stop.received:
                        break
                    it = (epoch - 1) * n_train_batches + n_done - 1
                    if (it + 1) % state.validation_frequency == 0:
                        improved = at_validation(state, epoch, n_done - 1, n_train_batches)
                        best = best if improved is None else improved
                    if state.patience <= it:
                        state.done = True
                        break
                if stop.received:
                    break  # mid-epoch: the state stays at the last completed epoch
                state.epoch = epoch
                ran = "done" if n_done == n_train_batches else (
                    f"stopped after {n_done} of {n_train_batches} minibatches (patience ran out)")
                _end_epoch(result, t0, costs.values[:n_done], log, metrics, phase, epoch, lambda m, t, epoch=epoch,
                           ran=ran: f"{label}epoch {epoch} {ran}: mean cost {m:.5f}, {t:.2f}s")
                if on_epoch_end is not None:
                    on_epoch_end(state, best)
    finally:  # also before a TrainingDiverged error leaves
        if best is not None:
            set_params_from_arrays(params, best, source="best snapshot")
    result.seconds = time.perf_counter() - t_start
    return result
