"""Training: the one epoch loop, the one early-stopping loop, and the steps built on them.

- :func:`train_epochs` runs a step function over every minibatch for some epochs (the dA,
  each SdA pretraining layer);
- :func:`early_stopping` is the tutorial's patience loop (logistic regression, the MLP,
  SdA fine-tuning);

``SdA.py``'s two phases are written on these loops, resumable (its ``pretrain_layers`` and ``finetune_loop``).

Both loops stop on a NaN or infinite cost with one line (:class:`TrainingDiverged`),
stop cleanly on Ctrl-C, and give JAX-updated parameters numpy values when they end.
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

# -- what both loops share -----------------------------------------------------------------


#: The step path reads costs back from the device (which waits for it) once per this many
#: minibatches, and at every validation and epoch end; the block path one block behind.
CHECK_EVERY = 100


class _Costs:
    """One epoch's minibatch costs, read back from the device in batches and checked there.

    Host values (the C back end's) are checked as they come; device values (JAX's) wait
    in ``pending`` so that the device is not waited for every minibatch. A NaN or
    infinite cost raises :class:`TrainingDiverged` naming the first bad minibatch.
    """

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


def _ceil(x, cap) -> int:
    """``ceil(x)``, at most ``cap`` (an infinite patience never ends a block)."""
    return cap if not x < cap else math.ceil(x)


def _minibatches_to_next_event(state, it, n_done, n_train_batches) -> int:
    """How far one run of steps may go from iteration ``it`` (``n_done`` minibatches into the epoch):
    to the next validation point, to where patience runs out, or to the epoch's end, whichever
    comes first. Between these nothing happens but steps, so blocks may cover them."""
    to_validation = state.validation_frequency - it % state.validation_frequency
    to_patience = max(it, _ceil(state.patience, it + n_train_batches)) - it + 1
    return min(to_validation, to_patience, n_train_batches - n_done)


#: The most block sizes one steps object compiles: ``k`` and the remainders that recur (an epoch's
#: ``n % k``, the segment before a validation); other remainders run as single steps.
MAX_BLOCK_SIZES = 3


def _run(step, costs, first, last, k):
    """Minibatches ``first .. last - 1``: blocks of ``k`` (``k`` > 1) and one block of what remains,
    when that size is compiled already or fewer than :data:`MAX_BLOCK_SIZES` are (each size is
    compiled once, so an epoch's remainder costs one compilation per run, not a call per
    minibatch), else single steps; without blocks, or for one minibatch, single steps. Yields
    after each call."""
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
    """The loops' Ctrl-C: held (:class:`deferred_interrupts`), polled between minibatches by
    ``stop.received``, so the loop ends at a clean point with ``result.interrupted``; a
    ``KeyboardInterrupt`` raised inside (a callback's, another thread's handler) ends it
    the same way. Whatever ends the loop, JAX values are synced."""
    stop = deferred_interrupts(deliver=False)
    try:
        with stop:
            yield stop
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        sync_shared()
    if stop.received:
        result.interrupted = True
    if result.interrupted:
        log(f"{label}interrupted; keeping the {kept} so far")


def _phase(label, default):
    """The metrics records' phase name: the loop's label without its punctuation, or ``default``."""
    return label.strip(" :") or default


def _end_epoch(result, t0, costs, log, metrics, phase, epoch, line) -> float:
    """The epoch tail of both loops: time, mean cost, the printed ``line(mean, secs)``, the metrics record."""
    secs = time.perf_counter() - t0
    mean = float(np.mean(costs))
    result.epoch_seconds.append(secs)
    log(line(mean, secs))
    if metrics is not None:
        metrics.write(phase=phase, epoch=epoch, cost=mean, seconds=round(secs, 4))
    return mean


def _stalled(before, after, rtol=1e-3) -> bool:
    return abs(after - before) < rtol * abs(before)


class _Progress:
    """Progress inside long epochs: on a terminal (``log`` is ``print`` and stdout is a tty)
    a tqdm bar that disappears at the epoch's end; otherwise (logs, CI) one plain line every
    ``every`` seconds."""

    def __init__(self, n, desc, log, every):
        self.n, self.desc, self.log, self.every = n, desc, log, every
        self.bar = None
        if log is print and sys.stdout.isatty():
            self.bar = tqdm(total=n, desc=f"  {desc}", unit="minibatch", leave=False, mininterval=0.5)
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


def _no_minibatch(n_train_batches):
    if n_train_batches <= 0:
        raise TutorialError("no full minibatch: the training set is smaller than the batch size")


# -- the epoch loop --------------------------------------------------------------------------


@dataclass
class EpochResult:
    costs: list
    interrupted: bool = False
    epoch_seconds: list = field(default_factory=list)


def train_epochs(step, n_train_batches: int, n_epochs: int, *, start_epoch: int = 0, label: str = "",
                 context: RunContext = RunContext(), on_epoch_end=None, progress_every: float = 15.0,
                 stall_hint: str = "another learning rate",
                 diverged_hint: str = "lower the learning rate") -> EpochResult:
    """The one epoch loop: call ``step(i)`` for every minibatch, ``n_epochs`` times.

    Prints each epoch's mean cost and seconds (and progress inside long epochs) to ``context.log``,
    writes a record to ``context.metrics`` (a :class:`~.paths.RunContext`; by default print, no metrics), and calls ``on_epoch_end(epoch, mean_cost)`` (e.g. to checkpoint).
    A NaN or infinite cost raises :class:`TrainingDiverged` ending in ``diverged_hint`` (costs are read back from the
    device every :data:`CHECK_EVERY` minibatches and at the epoch's end, before
    ``on_epoch_end``); Ctrl-C stops cleanly after the current call and returns with
    ``interrupted=True``. ``step`` is :class:`~autoencoders_tutorial.steps.Steps` (or a plain
    function of the index): on the block path it runs blocks of up to ``step.block_size``
    minibatches per call, and the remainder as one block (see :func:`_run`). A cost that moves by less
    than 0.1% from the second to the third epoch of the call gets one warning line
    suggesting ``stall_hint`` (training has most likely collapsed).
    """
    _no_minibatch(n_train_batches)
    log, metrics = context.log, context.metrics
    result = EpochResult(costs=[])
    step = Steps.of(step)
    k = step.block_for(n_train_batches)
    with _stoppable(result, log, label, "parameters trained") as stop:
        for epoch in range(start_epoch, n_epochs):
            t0 = time.perf_counter()
            costs = _Costs(n_train_batches, label, epoch, hint=diverged_hint)
            bar = _Progress(n_train_batches, f"{label}epoch {epoch}", log, progress_every)
            try:
                for done in _run(step, costs, 0, n_train_batches, k):
                    bar.show(done)
                    if stop.received:
                        costs.check()
                        return result
            finally:
                bar.close()
            costs.check()
            mean = _end_epoch(result, t0, costs.values, log, metrics, _phase(label, "train"), epoch,
                              lambda m, t, epoch=epoch: f"{label}Training epoch {epoch}, cost {m:.4f} ({t:.2f}s)")
            result.costs.append(mean)
            if len(result.costs) == 3 and _stalled(*result.costs[1:]):
                log(f"{label}warning: the cost moved by less than 0.1% from epoch {epoch - 1} to {epoch} "
                    f"({result.costs[1]:.6g} -> {mean:.6g}); training has stalled: try {stall_hint}")
            if on_epoch_end is not None:
                on_epoch_end(epoch, mean)
    return result


# -- the early-stopping loop -----------------------------------------------------------------


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

    @property
    def best_validation_loss(self):
        return self.state.best_validation_loss

    @property
    def test_score(self):
        return self.state.test_score

    @property
    def epochs(self):
        return self.state.epoch


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
        """Validate; on a new best validation error extend the patience (for a large enough improvement),
        snapshot the parameters, compute the test error and call ``on_improvement``. Returns the snapshot, or
        None when the error did not improve."""
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

    Trains with ``train_fn(minibatch_index) -> cost`` (on the block path, blocks of
    ``train_fn.block(start, k)`` that end at each validation point, where patience runs out
    and at the epoch's end; the arithmetic and the lines printed are the same). Every ``validation_frequency``
    minibatches (default ``min(n_train_batches, patience // 2)``) it calls
    ``validate()``; a new best validation error snapshots ``params``, computes
    ``test()`` (the test error of the best model) and calls ``on_improvement(state)``;
    an improvement by more than ``1 - improvement_threshold`` (relative) extends
    ``patience`` to ``iter * patience_increase``. It stops when ``patience <= iter``
    (counted in minibatch iterations) or after ``n_epochs``.

    At the end the best parameters are restored into ``params``, also after Ctrl-C
    (``interrupted=True`` in the result) and before a :class:`TrainingDiverged` error
    for a NaN or infinite cost. ``on_epoch_end(state, best_params)`` runs after each
    epoch (for checkpoints); passing a saved ``state`` and ``best_params`` resumes. Lines go to
    ``context.log`` and records to ``context.metrics`` (a :class:`~.paths.RunContext`; by default print, no metrics).
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
    phase = _phase(label, "finetune")
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
                while n_done < n_train_batches:
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
                        break
                if stop.received:
                    break  # mid-epoch: the state stays at the last completed epoch
                state.epoch = epoch
                ran = "done" if n_done == n_train_batches else (
                    f"stopped after {n_done} of {n_train_batches} minibatches (patience ran out)")
                _end_epoch(result, t0, costs.values[:n_done], log, metrics, phase, epoch,
                           lambda m, t, epoch=epoch, ran=ran: f"{label}epoch {epoch} {ran}: mean cost {m:.5f}, {t:.2f}s")
                if on_epoch_end is not None:
                    on_epoch_end(state, best)
    finally:  # also before a TrainingDiverged error leaves
        if best is not None:
            set_params_from_arrays(params, best, source="best snapshot")
    result.seconds = time.perf_counter() - t_start
    return result
