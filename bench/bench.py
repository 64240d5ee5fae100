"""The project's benchmark: rows/s of the dA epoch (and SdA phases), against references.

    python bench/bench.py                 # dA epoch: every configuration + NumPy + floor
    python bench/bench.py --sda           # instead: SdA's every phase, JAX by hand, the default, the step path
    python bench/bench.py --script        # python dA.py's own epochs beside NumPy and JAX by hand
    python bench/bench.py --quick         # 10,000 rows, 1 repeat: a smoke test
    python bench/bench.py --jax-devices   # a GPU machine: JAX on its default device and on its CPU
    python bench/bench.py --only "block path"   # only the rows whose name has that text (+ NumPy)

The "dA epoch" is the tutorial's: 784 visible, 500 hidden, tied weights, 30% masking
noise, cross-entropy, SGD at learning rate 0.1, minibatch 20, float32, on the 50,000
Fashion-MNIST training rows (from the clone's ``data/fashion-mnist/`` or Debian's
``/usr/share/datasets/fashion-mnist/``; uniform random data of the same shape when neither
is there: speed does not depend on the values).

Every variant runs in a fresh child process (its own PyTensor flags, its own peak memory).
The library's rows time what ``python dA.py`` runs: the step function that
``paths.training_function`` returns for a ``paths.resolve_path`` path, driven by the
scripts' own loop, ``training.train_epochs`` (which reads costs back from the device every
100 minibatches and at the epoch's end, and runs blocks where the step has them).
Compilation (``resolve_path`` + ``training_function``) is timed apart; the warm-up is the
first epoch of the same ``train_epochs`` call, untimed (JAX compiles each block shape, and
the step path its step, on its first call); neither is in the rate. The hand-written rows
(NumPy, PyTorch) run their own loop, which turns every cost into a Python float, after a
warm-up of 5 minibatches.
Each row reports the median over ``--repeats`` epochs as rows/s, the ratio to the NumPy
implementation written below at the same minibatch and width in the same run, the
fraction of the matmul floor (the epoch's GEMM flops at the large float32 matmul rate
NumPy reaches in the same run: a CPU figure, for GPU rows only a scale), the child's peak
resident memory (host), the device it ran on, and the mean cost of its last timed epoch
(the library's rows start from the same weights on the same data: the step path and the
block path with host noise draw the same masks, so their costs agree up to rounding, and the
block size does not change them; device noise draws other masks).

The rows (default run):

- ``numpy (hand-written, in this file)``: the reference of the "x numpy" column.
- ``jax by hand, host noise`` and ``jax by hand, device noise``: the same step written in plain
  JAX (about 60 lines, ``child_jax``): the data resident on the device, one jitted ``lax.scan``
  over 250 minibatches with masks drawn on the host by numpy (as the library's CPU default), or
  over the whole epoch with masks drawn in the scan (threefry). They are the ceiling for what
  the engine can do; the "x jax" column of a library row is its rate over the one that draws
  its noise where it does.
- ``library default (...)``: ``resolve_path("auto")`` in the default mode, what the
  scripts run (on a CPU with JAX: the block path, host noise, at most 250 minibatches per
  call); its full description is printed under the table.
- ``step path``: ``train_path="step"``, one compiled call per minibatch, in the default mode.
- ``block path, host|device noise, K=250|whole epoch``: the block path with the noise
  drawn on the host (numpy, the step path's masks) or on the device (the counter-based
  generator), at most 250 minibatches per call or the whole epoch in one call.
- ``C + OpenBLAS (CVM)`` (all BLAS threads, and one), ``NUMBA mode``, ``C without BLAS``
  (on at most 5,000 rows: it is slow): the other back ends, each with the default path of
  its mode (the step path off JAX).
- ``PyTorch eager (CPU)`` when torch is installed: a hand-written reference like NumPy's.
- ``minibatch 128`` and ``1000 hidden``: NumPy and the library default at those settings.

``--jax-devices`` (a GPU machine) runs instead: NumPy; on JAX's default device the hand-written
JAX row with device noise (the ceiling there), the library
default (device noise, whole-epoch blocks on a GPU), the step path, the block path with
device noise at K=250 and K=whole epoch; the library default on the CPU
(``JAX_PLATFORMS=cpu``); and NumPy, the hand-written JAX row, the library default and the step
path at minibatch 128.
These rows pass ``--mode JAX`` (the default wherever JAX is installed), so a
``PYTENSOR_FLAGS`` that the machine needs for its other graphs does not take JAX away.

``--sda`` runs instead the SdA (784-1000-1000-1000, the tutorial's corruption 10/20/30%): one
epoch of each of the three pretraining layers plus one fine-tuning epoch (its validation and
test included, on a fifth as many rows as training each), run by ``SdA.pretrain`` /
``SdA.fine_tune`` as ``python SdA.py`` runs them (codes precomputed once per layer), once with
the default path and once with the step path, beside the same phases written by hand in plain
JAX (``child_jax_sda``: each layer's codes computed once on the device, the noise drawn where the
library default draws it). Each phase runs ``1 + --repeats`` epochs; its time is the median of
all but the first, plus the pass that computes the codes of the layer below; "untimed s" is the
rest (compilation, each phase's first epoch). Rows/s is over the phases' total training rows
(4 x rows); the last lines are the ratios default / step and default / JAX by hand.
``--results FILE`` writes the table.

A child can be run alone, e.g. ``--child library --mode JAX --path block --noise-source
device --block-size epoch`` (prints one JSON line).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LR, LEVEL = 0.1, 0.3
WARMUP = 5  # minibatches of warm-up on the step path and in the hand-written loops
SDA_HIDDEN = (1000, 1000, 1000)


def quiet(*_):
    pass


def flops_per_row(n_visible, n_hidden):
    # 5 GEMMs per step (encode, decode, decoder grad, back-prop to hidden, encoder grad).
    return 5 * 2 * n_visible * n_hidden


def load_splits(rows):
    """``(train, valid, test, source)``: ``rows`` training rows and a fifth as many validation and
    test rows (Fashion-MNIST's proportions), as ``(X float32, y)`` pairs."""
    sys.path.insert(0, str(ROOT))
    n_other = max(1, rows // 5)
    if rows > 50000 or os.environ.get("BENCH_SYNTHETIC"):  # more rows than Fashion-MNIST has: random ones
        from autoencoders_tutorial.readers import empty_aligned

        rng = np.random.default_rng(0)
        out = []
        for n in (rows, n_other, n_other):
            X = empty_aligned((n, 784))
            for i in range(0, n, 50000):
                X[i:i + 50000] = rng.random((min(50000, n - i), 784), dtype=np.float32)
            out.append((X, rng.integers(0, 10, n)))
        return (*out, "random")
    try:
        from autoencoders_tutorial.datasets import load_dataset

        ds = load_dataset("fashion-mnist", download_ok=False, log=quiet)
        splits, source = (ds.train, ds.valid, ds.test), "fashion-mnist"
    except Exception:  # noqa: BLE001  (any failure: fall back to random data of the same shape)
        rng = np.random.default_rng(0)
        splits = tuple((rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)) for n in (50000, 10000, 10000))
        source = "random"
    out = [(np.ascontiguousarray(X[:n], dtype=np.float32), np.asarray(y[:n]))
           for (X, y), n in zip(splits, (rows, n_other, n_other))]
    return (*out, source)


def timed_epochs(step, n_batches, repeats):
    """The hand-written rows' loop: ``WARMUP`` minibatches, then ``repeats`` timed epochs."""
    t0 = time.perf_counter()
    for i in range(WARMUP):
        step(i)
    warm = time.perf_counter() - t0
    times, costs = [], []
    for _ in range(repeats):
        costs = []
        t0 = time.perf_counter()
        for i in range(n_batches):
            costs.append(step(i))
        times.append(time.perf_counter() - t0)
    return {"epoch_s": float(np.median(times)), "warmup_s": warm, "cost": float(np.mean(costs))}


def library_epochs(step, n_batches, repeats):
    """The scripts' loop: one ``train_epochs`` call of ``1 + repeats`` epochs, as ``python dA.py``
    runs them; the first is the untimed warm-up (on the block path JAX compiles each block shape
    there), the rate is the median of the others'."""
    from autoencoders_tutorial.paths import RunContext
    from autoencoders_tutorial.training import train_epochs

    res = train_epochs(step, n_batches, 1 + repeats, context=RunContext(log=quiet))
    secs = res.epoch_seconds
    return {"epoch_s": float(np.median(secs[1:])), "warmup_s": secs[0], "cost": float(res.costs[-1])}


# -- the variants, each run in a child process -------------------------------------------


def child_numpy(X, args):
    batch, hidden = args.batch, args.hidden
    rng = np.random.default_rng(123)
    n_vis = X.shape[1]
    bound = 4 * np.sqrt(6.0 / (hidden + n_vis))
    W = rng.uniform(-bound, bound, (n_vis, hidden)).astype(np.float32)
    b = np.zeros(hidden, np.float32)
    bp = np.zeros(n_vis, np.float32)
    lr = np.float32(LR)
    noise = np.random.default_rng(1)

    def step(i):
        x = X[i * batch:(i + 1) * batch]
        tx = x * (noise.random(x.shape, dtype=np.float32) >= LEVEL)
        h = tx @ W
        h += b
        np.negative(h, out=h)
        np.exp(h, out=h)
        h += 1
        np.reciprocal(h, out=h)
        a = h @ W.T
        a += bp
        cost = float(np.mean(np.sum(np.logaddexp(0, a) - x * a, axis=1)))
        z = 1 / (1 + np.exp(-a))
        da = (z - x) / np.float32(batch)
        dh = da @ W
        dh *= h * (1 - h)
        gW = tx.T @ dh
        gW += (h.T @ da).T
        np.subtract(W, lr * gW, out=W)
        np.subtract(b, lr * dh.sum(0), out=b)
        np.subtract(bp, lr * da.sum(0), out=bp)
        return cost

    return dict(timed_epochs(step, X.shape[0] // batch, args.repeats), compile_s=0.0)


def child_torch(X, args):
    import torch

    batch, hidden = args.batch, args.hidden
    torch.manual_seed(0)
    n_vis = X.shape[1]
    bound = 4 * np.sqrt(6.0 / (hidden + n_vis))
    W = ((torch.rand(n_vis, hidden) * 2 - 1) * bound).requires_grad_()
    b = torch.zeros(hidden, requires_grad=True)
    bp = torch.zeros(n_vis, requires_grad=True)
    Xt = torch.from_numpy(X)
    opt = torch.optim.SGD([W, b, bp], lr=LR)

    def step(i):
        x = Xt[i * batch:(i + 1) * batch]
        tx = x * (torch.rand_like(x) >= LEVEL)
        h = torch.sigmoid(tx @ W + b)
        a = h @ W.T + bp
        cost = (torch.nn.functional.softplus(a) - x * a).sum(1).mean()
        opt.zero_grad(set_to_none=True)
        cost.backward()
        opt.step()
        return cost.item()

    return dict(timed_epochs(step, X.shape[0] // batch, args.repeats), compile_s=0.0)


def _jax_blocks(noise, n, batch, width, level, sgd, params, data, seed=1):
    """The hand-written JAX training loop of one epoch: ``sgd(params, x, keep)`` over the
    ``n`` minibatches of ``data`` (on the device, shaped (n, batch, width)) in jitted
    ``lax.scan`` blocks, the parameters carried and donated. ``noise="device"``: the masks are
    drawn inside the scan (threefry), the whole epoch in one call; ``"host"``: drawn by numpy,
    250 minibatches per call, as the library's CPU default; ``None``: no masks (fine-tuning,
    in ``"host"``'s blocks on a CPU, one block on a device). Returns ``epoch()``, which runs an
    epoch and returns its mean cost, and ``state``, whose "p" holds the parameters."""
    import jax
    import jax.numpy as jnp

    on_device = noise == "device" or (noise is None and jax.default_backend() != "cpu")
    k = n if on_device else min(n, 250)
    ones = jnp.ones((batch, width), jnp.float32)
    at = lambda data, t: jax.tree.map(lambda a: a[t], data)  # noqa: E731  (minibatch t of each array)

    @functools.partial(jax.jit, static_argnums=3, donate_argnums=0)
    def device_block(p, data, key, count, start):
        def body(p, t):
            if noise is None:
                return sgd(p, at(data, t), ones)
            keep = jax.random.uniform(jax.random.fold_in(key, t), (batch, width)) >= level
            return sgd(p, at(data, t), keep.astype(jnp.float32))
        return jax.lax.scan(body, p, start + jnp.arange(count))

    @functools.partial(jax.jit, donate_argnums=0)
    def host_block(p, data, start, keeps):
        def body(p, tk):
            t, keep = tk
            return sgd(p, at(data, t), keep)
        return jax.lax.scan(body, p, (start + jnp.arange(keeps.shape[0]), keeps))

    key, host_rng = jax.random.key(seed), np.random.default_rng(seed)
    state = {"p": params}

    def epoch():
        costs = []
        for start in range(0, n, k):
            count = min(k, n - start)
            if noise == "host":
                keeps = (host_rng.random((count, batch, width), dtype=np.float32) >= level).astype(np.float32)
                state["p"], c = host_block(state["p"], data, start, keeps)
            else:
                state["p"], c = device_block(state["p"], data, key, count, start)
            costs.append(c)
        return float(jnp.concatenate(costs).mean())

    return epoch, state


def _jax_dA(data, n_vis, hidden, level, noise, rng, batch):
    """A tied-weight dA (sigmoid, cross-entropy, SGD) written in plain JAX, on ``data`` shaped
    (minibatches, batch, n_vis): ``(epoch, state)`` as :func:`_jax_blocks` returns them."""
    import jax
    import jax.numpy as jnp

    bound = 4 * np.sqrt(6.0 / (hidden + n_vis))
    params = (jnp.asarray(rng.uniform(-bound, bound, (n_vis, hidden)).astype(np.float32)),
              jnp.zeros(hidden, jnp.float32), jnp.zeros(n_vis, jnp.float32))

    def cost_of(p, x, tx):
        W, b, bp = p
        h = jax.nn.sigmoid(tx @ W + b)
        a = h @ W.T + bp
        return jnp.mean(jnp.sum(jax.nn.softplus(a) - x * a, axis=1))

    def sgd(p, x, keep):
        c, g = jax.value_and_grad(cost_of)(p, x, x * keep)
        return tuple(v - LR * gv for v, gv in zip(p, g)), c

    return _jax_blocks(noise, data.shape[0], batch, n_vis, level, sgd, params, data)


def child_jax(X, args, noise):
    """The dA epoch written by hand in plain JAX: the ceiling for what the library's engine can do.

    The data is resident on the device as (minibatches, batch, features); jitted ``lax.scan``
    blocks run the SGD steps with the parameters carried through them, the masks drawn in the
    scan (``noise="device"``, the whole epoch in one call) or by numpy on the host (``"host"``,
    250 minibatches per call, as the library's CPU default).
    """
    import jax

    batch, n_vis = args.batch, X.shape[1]
    n = X.shape[0] // batch
    data = jax.device_put(np.ascontiguousarray(X[:n * batch]).reshape(n, batch, n_vis))
    epoch, _ = _jax_dA(data, n_vis, args.hidden, LEVEL, noise, np.random.default_rng(123), batch)
    t0 = time.perf_counter()
    epoch()  # warm-up: traces and compiles each block shape
    warm = time.perf_counter() - t0
    times, cost = [], 0.0
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        cost = epoch()
        times.append(time.perf_counter() - t0)
    return {"epoch_s": float(np.median(times)), "warmup_s": warm, "cost": cost, "compile_s": 0.0,
            "device": jax.devices()[0].platform, "path": f"jax by hand, {noise} noise"}


def child_jax_sda(X, y, valid, test, args):
    """Every phase of the SdA run written by hand in plain JAX, timed as :func:`child_sda_all`
    times the library's: each pretraining layer on the codes of the one below (computed once,
    on the device), then fine-tuning of the whole network (sigmoid layers, softmax, negative
    log-likelihood, SGD) with the validation and test errors after each epoch. The noise is
    drawn where the library default draws it: on the device on a GPU, by numpy on a CPU."""
    import jax
    import jax.numpy as jnp

    epochs, batch = 1 + args.repeats, args.batch
    n = X.shape[0] // batch
    noise = "host" if jax.default_backend() == "cpu" else "device"
    hidden = SDA_HIDDEN[:1] * args.depth
    levels = ((0.1, 0.2, 0.3) + (0.3,) * args.depth)[:args.depth]
    rng = np.random.default_rng(89677)
    t_all = time.perf_counter()
    codes = jax.device_put(np.ascontiguousarray(X[:n * batch]))
    encode = jax.jit(lambda W, b, x: jax.nn.sigmoid(x @ W + b))
    layers, out, timed = [], {}, 0.0
    for k, (width, level) in enumerate(zip(hidden, levels)):
        t0 = time.perf_counter()
        if layers:
            codes = encode(*layers[-1], codes).block_until_ready()
        outside = time.perf_counter() - t0
        epoch, state = _jax_dA(codes.reshape(n, batch, -1), codes.shape[1], width, level, noise, rng, batch)
        secs = []
        for _ in range(epochs):
            t0 = time.perf_counter()
            epoch()
            secs.append(time.perf_counter() - t0)
        layers.append(state["p"][:2])
        out[f"layer{k}"] = outside + float(np.median(secs[1:]))
        timed += outside + sum(secs[1:])
    params = tuple(layers) + ((jnp.zeros((hidden[-1], 10), jnp.float32), jnp.zeros(10, jnp.float32)),)

    def logits(p, x):
        for W, b in p[:-1]:
            x = jax.nn.sigmoid(x @ W + b)
        return x @ p[-1][0] + p[-1][1]

    def nll(p, x, t):
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits(p, x)), t[:, None], axis=1))

    ys = jax.device_put(np.asarray(y[:n * batch], dtype=np.int32).reshape(n, batch))
    xs = jax.device_put(np.ascontiguousarray(X[:n * batch]).reshape(n, batch, -1))

    def sgd(p, xt, _keep):
        x, t = xt
        c, g = jax.value_and_grad(nll)(p, x, t)
        return jax.tree.map(lambda v, gv: v - LR * gv, p, g), c

    epoch, state = _jax_blocks(None, n, batch, X.shape[1], 0.0, sgd, params, (xs, ys))
    error = jax.jit(lambda p, x, t: jnp.mean(jnp.argmax(logits(p, x), axis=1) != t))
    sets = [(jax.device_put(v[0]), jax.device_put(np.asarray(v[1], np.int32))) for v in (valid, test)]
    secs, best = [], 1.0
    for _ in range(epochs):
        t0 = time.perf_counter()
        epoch()
        best = min(best, float(error(state["p"], *sets[0])))
        float(error(state["p"], *sets[1]))
        secs.append(time.perf_counter() - t0)
    out["finetune"] = float(np.median(secs[1:]))
    timed += sum(secs[1:])
    return {"": dict(out, epoch_s=sum(out.values()), warmup_s=time.perf_counter() - t_all - timed, compile_s=0.0,
                     train_rows=(args.depth + 1) * n * batch, validation_error=best,
                     device=jax.devices()[0].platform, path=f"jax by hand, {noise} noise")}


def _mode(args):
    return None if args.mode == "default" else args.mode


def _path(args, n_batches, mode):
    """The :class:`TrainPath` the child's flags ask for (``--block-size epoch``: ``n_batches``)."""
    from autoencoders_tutorial.paths import resolve_path

    size = args.block_size
    size = n_batches if size == "epoch" else (int(size) if size else None)
    return resolve_path(args.path, args.noise_source, size, mode)


def _short(path) -> str:
    """A path in a few words, for a row's name: "step", "block/host, K<=250", "block/device, K=whole epoch"."""
    if path.kind == "step":
        return "step"
    return f"{path.name}, " + (f"K<={path.block_size}" if path.block_size else "K=whole epoch")


def _device(mode) -> str:
    from autoencoders_tutorial.engine import compile_mode, is_jax_mode

    if not is_jax_mode(compile_mode(mode)):
        return "cpu"
    import jax

    d = jax.devices()[0]
    return d.platform if d.device_kind.lower() == d.platform else f"{d.platform} ({d.device_kind})"


def _path_info(path, mode):
    return {"path": _short(path), "path_full": path.describe(), "note": path.note, "device": _device(mode)}


def child_library(X, args):
    """The dA epoch through ``training_function`` + ``train_epochs``, on the path the flags ask for."""
    sys.path.insert(0, str(ROOT))
    from autoencoders_tutorial.engine import pt, pytensor  # the library's engine set-up first
    from autoencoders_tutorial.paths import RunContext, training_function
    from dA import dA

    mode = _mode(args)
    n = X.shape[0] // args.batch
    train_x = pytensor.shared(X, borrow=True, name="train.x")
    x = pt.matrix("x", dtype="float32")
    da = dA(np.random.default_rng(123), input=x, n_visible=X.shape[1], n_hidden=args.hidden)
    cost, updates = da.get_cost_updates(LEVEL, LR)
    t0 = time.perf_counter()
    path = _path(args, n, mode)
    step = training_function([(x, train_x)], cost, args.batch, updates, context=RunContext(mode, path, quiet))
    compile_s = time.perf_counter() - t0
    return dict(library_epochs(step, n, args.repeats), compile_s=compile_s, **_path_info(path, mode))


def _sda(X, depth=len(SDA_HIDDEN)):
    from SdA import SdA

    return SdA(np.random.default_rng(89677), n_ins=X.shape[1], hidden_layers_sizes=SDA_HIDDEN[:1] * depth, n_outs=10,
               corruption_levels=(0.1, 0.2, 0.3)[:depth] + (0.3,) * max(0, depth - 3))


class _Records:
    """A stand-in for the metrics log: keeps the records the loops write (each epoch's seconds)."""

    def __init__(self):
        self.rows = []

    def write(self, **record):
        self.rows.append(record)


def child_sda_all(X, y, valid, test, args):
    """Every phase of ``python SdA.py`` through ``SdA.pretrain`` and ``SdA.fine_tune``: 1 + repeats
    epochs per pretraining layer and of fine-tuning; each phase's time is the median of its
    timed epochs (the first is the warm-up: JAX compiles there), plus, for a pretraining layer,
    the pass that computes the codes of the layer below, once (timed around
    ``PrecomputedRows.ensure``, its compilation included, as the hand-written row times its own).
    Compiling the training steps, the first epochs and everything else are "untimed"."""
    sys.path.insert(0, str(ROOT))
    from autoencoders_tutorial import steps
    from autoencoders_tutorial.datasets import shared_dataset
    from autoencoders_tutorial.checkpoints import Progress
    from autoencoders_tutorial.paths import RunContext

    fills, ensure = [], steps.PrecomputedRows.ensure

    def timed_ensure(self):
        t0, filled = time.perf_counter(), self.ready
        ensure(self)
        if not filled:
            fills.append(time.perf_counter() - t0)

    steps.PrecomputedRows.ensure = timed_ensure

    mode = _mode(args)
    epochs = 1 + args.repeats
    n = X.shape[0] // args.batch
    sda = _sda(X, args.depth)
    train = shared_dataset((X, y), name="train")
    t_all = time.perf_counter()
    path = _path(args, n, mode)
    records, progress = _Records(), Progress()
    seconds = sda.pretrain(train[0], args.batch, epochs, LR, progress, context=RunContext(mode, path, quiet, records))
    if seconds is None:
        raise RuntimeError("pretraining was interrupted")
    phases = {}
    for r in records.rows:
        if "seconds" in r:
            phases.setdefault(r["phase"], []).append(r["seconds"])
    layer_epochs = list(phases.values())
    if len(layer_epochs) != args.depth or any(len(e) != epochs for e in layer_epochs):
        raise RuntimeError(f"unexpected pretraining records: {records.rows[:3]}")
    if len(fills) != args.depth - 1:
        raise RuntimeError(f"{len(fills)} codes passes for {args.depth} layers")
    out, timed = {}, 0.0
    for k, eps in enumerate(layer_epochs):
        codes = fills[k - 1] if k else 0.0
        out[f"layer{k}"] = codes + float(np.median(eps[1:]))
        timed += codes + sum(eps[1:])
    datasets = [train, shared_dataset(valid, name="valid"), shared_dataset(test, name="test")]
    res = sda.fine_tune(datasets, args.batch, LR, progress, n_epochs=epochs,
                        context=RunContext(mode, path, quiet, _Records()))
    if res.interrupted or len(res.epoch_seconds) != epochs:
        raise RuntimeError(f"fine-tuning ran {len(res.epoch_seconds)} epochs, not {epochs}")
    out["finetune"] = float(np.median(res.epoch_seconds[1:]))
    timed += sum(res.epoch_seconds[1:])
    total = sum(out.values())
    untimed = time.perf_counter() - t_all - timed  # compilation, the first epoch of each phase, set-up
    return {"": dict(out, epoch_s=total, warmup_s=untimed, compile_s=0.0,
                     train_rows=(args.depth + 1) * n * args.batch,
                     validation_error=float(res.best_validation_loss), **_path_info(path, mode))}


def run_child(args):
    (X, y), valid, test, _ = load_splits(args.rows)
    kind = args.child
    if kind == "numpy":
        res = {"": child_numpy(X, args)}
    elif kind == "torch":
        res = {"": child_torch(X, args)}
    elif kind == "sda-all":
        res = child_sda_all(X, y, valid, test, args)
    elif kind == "jax-sda":
        res = child_jax_sda(X, y, valid, test, args)
    elif kind.startswith("jax-"):
        res = {"": child_jax(X, args, kind[4:])}
    elif kind == "library":
        res = {"": child_library(X, args)}
    else:
        raise SystemExit(f"unknown child {kind!r}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({k: dict(v, peak_mb=peak_mb, rows=X.shape[0] // args.batch * args.batch)
                      for k, v in res.items()}))


def matmul_gflops(n=2048, reps=5, trials=5):
    """Best of ``trials`` large float32 matmul rates: the machine's capability, not its noise."""
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    a @ a
    best = 0.0
    for _ in range(trials):
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ a
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9)
    return best


def spawn(kind, args, env=None, *, rows=None, batch=None, hidden=None, mode="default", path="auto",
          noise="auto", block=None, depth=None, repeats=None):
    cmd = [sys.executable, __file__, "--child", kind, "--rows", str(rows or args.rows),
           "--repeats", str(repeats or args.repeats), "--depth", str(depth or args.depth),
           "--batch", str(batch or args.batch), "--hidden", str(hidden or args.hidden), "--mode", mode,
           "--path", path, "--noise-source", noise]
    if block is not None:
        cmd += ["--block-size", str(block)]
    p = subprocess.run(cmd, check=False, env=dict(os.environ, **(env or {})), capture_output=True, text=True)
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or ["failed"])[-1][:160]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def row(name, kind, env=None, **kw):
    return name, kind, env or {}, kw


def dA_plan(args, has_jax, has_torch):
    one_thread = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    blas_off = {"PYTENSOR_FLAGS": "mode=CVM,blas__ldflags=,floatX=float32"}
    slow_rows = min(args.rows, 5000)
    if args.jax_devices:
        cpu = {"JAX_PLATFORMS": "cpu"}
        return [
            row("numpy (hand-written, in this file)", "numpy"),
            row("jax by hand, device noise (threefry)", "jax-device"),
            row("library default ({path})", "library", mode="JAX"),
            row("step path", "library", mode="JAX", path="step"),
            row("block path, device noise, K=250", "library", mode="JAX", path="block", noise="device", block=250),
            row("block path, device noise, K=whole epoch", "library", mode="JAX", path="block", noise="device",
                block="epoch"),
            row("library default ({path})", "library", cpu, mode="JAX"),
            row("numpy, minibatch 128", "numpy", batch=128),
            row("jax by hand, device noise, minibatch 128", "jax-device", batch=128),
            row("library default ({path}), minibatch 128", "library", mode="JAX", batch=128),
            row("step path, minibatch 128", "library", mode="JAX", path="step", batch=128),
        ]
    refs = [row("jax by hand, host noise (K=250)", "jax-host"), row("jax by hand, device noise (threefry)", "jax-device")]
    plan = [
        row("numpy (hand-written, in this file)", "numpy"),
        *(refs if has_jax else []),
        row("library default ({path})", "library"),
        row("step path", "library", path="step"),
        row("block path, host noise, K=250", "library", path="block", noise="host", block=250),
        row("block path, host noise, K=whole epoch", "library", path="block", noise="host", block="epoch"),
        row("block path, device noise, K=250", "library", path="block", noise="device", block=250),
        row("block path, device noise, K=whole epoch", "library", path="block", noise="device", block="epoch"),
        row(f"C + OpenBLAS (CVM), {os.cpu_count()} BLAS threads ({{path}})", "library", mode="CVM"),
        row("C + OpenBLAS (CVM), 1 BLAS thread ({path})", "library", one_thread, mode="CVM"),
        row("NUMBA mode ({path})", "library", mode="NUMBA"),
        row("C without BLAS, plain pip install ({path})", "library", blas_off, mode="CVM", rows=slow_rows),
    ]
    if has_torch:
        plan.append(row("PyTorch eager (CPU)", "torch"))
    for kw in ({"batch": 128}, {"hidden": 1000}):
        plan += settings_rows(has_jax, **kw)
    return plan


def settings_rows(has_jax, batch=None, hidden=None):
    """NumPy, the two hand-written JAX rows and the library default at one setting."""
    what = f"minibatch {batch}" if batch else f"{hidden} hidden"
    kw = {k: v for k, v in (("batch", batch), ("hidden", hidden)) if v}
    rows = [row(f"numpy, {what}", "numpy", **kw)]
    if has_jax:
        rows += [row(f"jax by hand, host noise, {what}", "jax-host", **kw),
                 row(f"jax by hand, device noise, {what}", "jax-device", **kw)]
    return rows + [row(f"library default ({{path}}), {what}", "library", **kw)]


#: ``--settings``: one axis at a time around the tutorial's (minibatch 20, 500 hidden).
SETTINGS = [{"batch": b, "hidden": 500} for b in (1, 20, 128, 512)] + [{"batch": 20, "hidden": h} for h in (1000, 2000)]


def settings_plan(args, has_jax):
    plan = []
    for st in SETTINGS:
        what = f"minibatch {st['batch']}, {st['hidden']} hidden"
        rows = args.rows if st["batch"] > 1 and st["hidden"] < 2000 else min(args.rows, 10000)  # slow references
        plan += [row(f"numpy, {what}", "numpy", rows=rows, **st)]
        if has_jax:
            plan += [row(f"jax by hand, host noise, {what}", "jax-host", rows=rows, **st),
                     row(f"jax by hand, device noise, {what}", "jax-device", rows=rows, **st)]
        plan += [row(f"library default ({{path}}), {what}", "library", rows=rows, **st)]
    return plan


def selected(plan, only):
    """The rows whose name has one of the texts ``only`` (case-insensitive), and the reference rows."""
    if not only:
        return plan
    return [r for r in plan if r[1] in ("numpy", "jax-host", "jax-device") or any(t.lower() in r[0].lower() for t in only)]


def run_dA_table(args, gflops, has_jax, has_torch):
    """Print the dA table; return its rows (name, device, rows/s, x numpy, x jax, peak MB, cost) for a result file."""
    plan = settings_plan(args, has_jax) if args.settings else dA_plan(args, has_jax, has_torch)
    plan = selected(plan, args.only)
    width = 58
    header = (f"{'variant':{width}s} {'device':>6s} {'rows/s':>9s} {'x numpy':>8s} {'x jax':>6s} {'% floor':>8s} "
              f"{'peak MB':>8s} {'compile s':>9s} {'warm-up s':>9s} {'cost':>9s}")
    print(header)
    print("-" * len(header))
    ref, notes, devices, table = {}, [], set(), []
    for name, kind, env, kw in plan:
        r = spawn(kind, args, env, **kw)
        if "error" in r:
            print(f"{name.replace('({path})', '').strip():{width}s} failed: {r['error']}", flush=True)
            continue
        r = r[""]
        label = name.format(path=r.get("path", ""))
        rate = r["rows"] / r["epoch_s"]
        key = (kw.get("batch", args.batch), kw.get("hidden", args.hidden))
        if kind in ("numpy", "jax-host", "jax-device"):
            ref[key, kind] = rate
        floor = gflops * 1e9 / flops_per_row(784, key[1])
        ratio = rate / ref[key, "numpy"] if (key, "numpy") in ref else float("nan")
        # a library row against the hand-written JAX row that draws its noise where it does
        match = "jax-device" if "device" in r.get("path", "") else "jax-host"
        vs_jax = rate / ref[key, match] if kind == "library" and (key, match) in ref else float("nan")
        device = r.get("device", "cpu")
        devices.add(device)
        print(f"{label:{width}s} {device.split()[0]:>6s} {rate:9.0f} {ratio:8.2f} {vs_jax:6.2f} "
              f"{100 * rate / floor:7.1f}% {r['peak_mb']:8.0f} {r['compile_s']:9.2f} {r['warmup_s']:9.2f} "
              f"{r['cost']:9.3f}", flush=True)
        table.append([label, device.split()[0], round(rate), round(ratio, 2), None if vs_jax != vs_jax else round(vs_jax, 2),
                      round(r["peak_mb"]), round(r["cost"], 3)])
        if r.get("note"):
            notes.append(f"{label}: {r['note']}")
        if "{path}" in name and r.get("path_full") and ("default" in name):
            line = f"library default on {device}: {r['path_full']}"
            if line not in notes:
                notes.append(line)
    print(f"devices: {'; '.join(sorted(devices))}")
    for line in notes:
        print(line)
    return table


def script_epochs(batch, epochs=3):
    """``python dA.py`` itself at 30% masking and minibatch ``batch`` on Fashion-MNIST (the
    default path, a fresh process): the median of its epochs after the first, from its
    metrics.jsonl, as ``{"epoch_s", "rows"}``; or ``{"error"}``."""
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, str(ROOT / "dA.py"), "--dataset", "fashion-mnist", "--epochs", str(epochs),
               "--corruption", str(LEVEL), "--batch-size", str(batch), "--output-dir", out]
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if p.returncode != 0:
            return {"error": (p.stderr.strip().splitlines() or ["failed"])[-1][:160]}
        records = [json.loads(line) for line in (Path(out) / "metrics.jsonl").read_text().splitlines()]
    secs = [r["seconds"] for r in records if "seconds" in r]
    return {"epoch_s": float(np.median(secs[1:])), "rows": 50000 // batch * batch}


def run_script_table(args):
    """``python dA.py``'s own epoch time at minibatch 20 and 128, beside NumPy and the hand-written
    JAX rows of the same run; returns the rows for a result file."""
    print(f"\npython dA.py --dataset fashion-mnist --epochs 3 --corruption {LEVEL} --batch-size B: the median of "
          "its epochs after the first (metrics.jsonl), beside the references in the same run")
    table = []
    for batch in (20, 128):
        ref = {}
        for kind in ("numpy", "jax-host", "jax-device"):
            r = spawn(kind, args, batch=batch, rows=50000)
            if "error" not in r:
                ref[kind] = r[""]["rows"] / r[""]["epoch_s"]
        r = script_epochs(batch)
        if "error" in r:
            print(f"  minibatch {batch}: python dA.py failed: {r['error']}", flush=True)
            continue
        rate = r["rows"] / r["epoch_s"]
        x_np, x_jax = rate / ref.get("numpy", float("nan")), rate / ref.get("jax-host", float("nan"))
        print(f"  minibatch {batch:4d}: python dA.py {rate:9.0f} rows/s   numpy {ref.get('numpy', 0):9.0f}   jax by hand "
              f"(host noise) {ref.get('jax-host', 0):9.0f}   (device noise) {ref.get('jax-device', 0):9.0f}   "
              f"x numpy {x_np:.2f}   x jax {x_jax:.2f}", flush=True)
        table.append([f"python dA.py, minibatch {batch}", round(rate), round(ref.get("numpy", 0)),
                      round(ref.get("jax-host", 0)), round(x_np, 2), round(x_jax, 2)])
    return table


def run_sda_phases(args):
    """The SdA all-phases table (hand-written JAX, the library default, the step path); returns its
    rows for a result file."""
    print(f"\nSdA all phases (SdA.pretrain + SdA.fine_tune, as python SdA.py runs them): one epoch of each of "
          f"{len(SDA_HIDDEN)} pretraining layers + one fine-tuning epoch with validation and test on "
          f"{max(1, args.rows // 5)} rows each; median of {args.repeats} timed epoch(s) per phase after an untimed one")
    header = (f"  {'path':30s} {'device':>6s} {'layer0 s':>8s} {'layer1 s':>8s} {'layer2 s':>8s} {'finetune s':>10s} "
              f"{'total s':>8s} {'rows/s':>8s} {'untimed s':>9s} {'peak MB':>8s} {'valid err':>9s}")
    print(header)
    print("  " + "-" * (len(header) - 2))
    rates, table = {}, []
    runs = [("default ({path})", "sda-all", "auto"), ("step path", "sda-all", "step")]
    if importlib.util.find_spec("jax"):
        runs.insert(0, ("{path}", "jax-sda", "auto"))
    for label, kind, path in runs:
        r = spawn(kind, args, path=path)
        if "error" in r:
            print(f"  {label.replace('({path})', '').strip():30s} failed: {r['error']}", flush=True)
            continue
        v = r[""]
        rate = v["train_rows"] / v["epoch_s"]
        rates[kind if kind == "jax-sda" else path] = rate
        table.append([label.format(path=v["path"]), v["device"].split()[0], *(round(v[f"layer{k}"], 2) for k in range(3)),
                      round(v["finetune"], 2), round(v["epoch_s"], 2), round(rate), None, round(v["peak_mb"]),
                      round(100 * v["validation_error"], 2)])
        print(f"  {label.format(path=v['path']):30s} {v['device'].split()[0]:>6s} {v['layer0']:8.2f} {v['layer1']:8.2f} "
              f"{v['layer2']:8.2f} {v['finetune']:10.2f} {v['epoch_s']:8.2f} {rate:8.0f} {v['warmup_s']:9.1f} "
              f"{v['peak_mb']:8.0f} {100 * v['validation_error']:8.2f}%", flush=True)
        if v.get("note"):
            print(f"  {v['note']}")
    if "auto" in rates and "step" in rates:
        print(f"  default / step: {rates['auto'] / rates['step']:.2f}x "
              f"({(len(SDA_HIDDEN) + 1)} x {args.rows // args.batch * args.batch} training rows)")
    if "auto" in rates and "jax-sda" in rates:
        print(f"  default / jax by hand: {rates['auto'] / rates['jax-sda']:.2f}x")
    for r in table:  # each row's rate over the hand-written one
        r[8] = round(r[7] / rates["jax-sda"], 2) if "jax-sda" in rates else None
    return table


def median_of_runs(tables):
    """One row per variant from the tables of several runs: the median rate, the medians of the
    same-run ratios, and each run's ratio to the hand-written JAX row (or to NumPy)."""
    by = {}
    for table in tables:
        for label, device, rate, x_np, x_jax, peak, cost in table:
            by.setdefault(label, []).append((rate, x_np, x_jax, peak, device, cost))
    med = lambda v: None if not v else float(np.median(v))  # noqa: E731
    out = []
    print(f"\nmedian of {len(tables)} runs (ratios: the median of the same-run ratios)")
    for label, rs in by.items():
        jax_r = [r[2] for r in rs if r[2] is not None]
        runs = " / ".join(f"{r[2] if r[2] is not None else r[1]:.2f}" for r in rs)
        row = [label, rs[0][4], round(med([r[0] for r in rs])), round(med([r[1] for r in rs]), 2),
               None if not jax_r else round(med(jax_r), 2), runs, round(med([r[3] for r in rs]))]
        out.append(row)
        print(f"  {label:58s} {row[2]:9,} rows/s  x numpy {row[3]:.2f}  x jax {row[4] if row[4] is not None else '':>4}"
              f"  ({runs})  peak {row[6]} MB")
    return out


def machine() -> str:
    """This machine in a few words: CPU model and cores, memory, and the engine's versions."""
    import platform

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor() or "CPU") if Path("/proc/cpuinfo").exists() else ""
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = []
    for mod in ("pytensor", "jax", "numpy"):
        if importlib.util.find_spec(mod):
            versions.append(f"{mod} {__import__(mod).__version__}")
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, " + ", ".join(versions)


def run_scaling(args):
    """How the library default's cost grows, one axis at a time (random data): rows/s and peak memory
    against the minibatch, the hidden size, the number of rows, and the SdA's depth."""
    points = ([("minibatch", b, dict(batch=b, rows=50000)) for b in (1, 20, 128, 512)]
              + [("hidden units", h, dict(hidden=h, rows=50000)) for h in (250, 500, 1000, 2000)]
              + [("training rows", r, dict(rows=r)) for r in (10000, 100000, 1000000)])
    print(f"\nscaling: the library default, one axis at a time around minibatch {args.batch}, {args.hidden} hidden, "
          f"50,000 random rows; {args.repeats} timed epoch(s) after an untimed one")
    table = []
    for axis, value, kw in points:
        r = spawn("library", args, {"BENCH_SYNTHETIC": "1"}, **kw)
        if "error" in r:
            print(f"  {axis} {value}: failed: {r['error']}", flush=True)
            continue
        r = r[""]
        rate = r["rows"] / r["epoch_s"]
        table.append([f"dA, {axis}", value, round(rate), round(r["peak_mb"]), r["path"]])
        print(f"  dA  {axis:14s} {value:>8,}  {rate:9.0f} rows/s  peak {r['peak_mb']:7.0f} MB  ({r['path']})", flush=True)
    for depth in (1, 2, 3):
        r = spawn("sda-all", args, {"BENCH_SYNTHETIC": "1"}, depth=depth, rows=min(args.rows, 20000))
        if "error" in r:
            print(f"  SdA depth {depth}: failed: {r['error']}", flush=True)
            continue
        v = r[""]
        rate = v["train_rows"] / v["epoch_s"]
        table.append(["SdA (1000 units per layer), all phases, layers", depth, round(rate), round(v["peak_mb"]), v["path"]])
        print(f"  SdA layers        {depth:>8}  {rate:9.0f} rows/s  peak {v['peak_mb']:7.0f} MB  ({v['path']})", flush=True)
    return table


def write_results(args, path, title, columns, table, notes, argv, script="bench/bench.py", machine_note=""):
    """``table`` as a result file at ``path``: the rows with the command, machine and date that made them."""
    command = f"python {script} " + " ".join(argv if argv is not None else sys.argv[1:])
    data = {"title": title, "command": command, "machine": machine() + machine_note, "date": time.strftime("%Y-%m-%d"),
            "columns": columns, "rows": table, "notes": notes}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)
    print(f"wrote {path}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--rows", type=int, default=50000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch", type=int, default=20)
    p.add_argument("--hidden", type=int, default=500)
    p.add_argument("--quick", action="store_true", help="10,000 rows, 1 repeat")
    p.add_argument("--sda", action="store_true",
                   help="instead: every phase of the SdA run, the library default and the step path beside the same "
                        "phases hand-written in JAX")
    p.add_argument("--script", action="store_true",
                   help="instead: python dA.py's own epoch time at minibatch 20 and 128 beside NumPy and the "
                        "hand-written JAX rows (Fashion-MNIST)")
    p.add_argument("--jax-devices", action="store_true",
                   help="only NumPy and JAX: JAX on its default device (a GPU if present) and on the CPU")
    p.add_argument("--only", action="append", metavar="TEXT",
                   help="run only the rows whose name contains TEXT (and the NumPy rows); repeatable")
    p.add_argument("--settings", action="store_true",
                   help="one axis at a time: minibatch 1, 20, 128, 512 (500 hidden) and 500, 1000, 2000 hidden "
                        "(minibatch 20): NumPy, the hand-written JAX rows and the library default at each")
    p.add_argument("--runs", type=int, default=1,
                   help="run the whole table this many times and report the medians of the same-run ratios")
    p.add_argument("--scaling", action="store_true",
                   help="instead: rows/s and peak memory of the library default against minibatch, hidden units, "
                        "rows (10,000 to 1,000,000 random) and SdA depth")
    p.add_argument("--depth", type=int, default=len(SDA_HIDDEN), help=argparse.SUPPRESS)
    p.add_argument("--results", type=Path, metavar="FILE",
                   help="also write the dA table as a result file (JSON) that the documentation renders")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--mode", default="default", help=argparse.SUPPRESS)
    p.add_argument("--path", default="auto", choices=("auto", "step", "block"), help=argparse.SUPPRESS)
    p.add_argument("--noise-source", default="auto", choices=("auto", "host", "device"), help=argparse.SUPPRESS)
    p.add_argument("--block-size", help=argparse.SUPPRESS)  # a number, or "epoch" (the whole epoch)
    args = p.parse_args(argv)
    if args.quick:
        args.rows, args.repeats = 10000, 1
    if args.child:
        return run_child(args)

    *_, source = load_splits(10)
    gflops = matmul_gflops()
    has_jax = importlib.util.find_spec("jax") is not None  # not imported here: a child owns the GPU
    has_torch = importlib.util.find_spec("torch") is not None
    print(f"data: {source}, {args.rows} rows, minibatch {args.batch}, {args.hidden} hidden, float32, "
          f"{args.repeats} timed epoch(s) per row (median); {os.cpu_count()} cores")
    print(f"large float32 matmul (numpy): {gflops:.1f} GFLOP/s")
    if args.scaling:
        table = run_scaling(args)
        if args.results:
            write_results(args, args.results, "How the cost grows: the library default (random data), rows/s and peak memory",
                          ["what", "value", "rows/s", "peak MB", "path"], table,
                          f"median of {args.repeats} epoch(s) after an untimed one, each point in a fresh process; "
                          "the SdA rows time one epoch of each layer plus one fine-tuning epoch on 20,000 rows", argv)
        return 0
    if args.script:
        tables = [run_script_table(args) for _ in range(args.runs)]
        if args.results:
            rows = []
            for i, first in enumerate(tables[0]):
                runs = [t[i] for t in tables if i < len(t)]
                med = lambda j: float(np.median([r[j] for r in runs]))  # noqa: E731
                rows.append([first[0], round(med(1)), round(med(2)), round(med(3)), round(med(4), 2), round(med(5), 2),
                             " / ".join(f"{r[5]:.2f}" for r in runs)])
            write_results(args, args.results, "python dA.py's own epoch (30% masking, Fashion-MNIST) beside the "
                          "hand-written references of the same run, rows/s",
                          ["command", "rows/s", "NumPy rows/s", "hand-written JAX (host noise) rows/s", "x NumPy",
                           "x hand-written JAX", "each run's x JAX"], rows,
                          f"the medians of {args.runs} run(s): the rates are the median rates, the ratios the medians of "
                          f"each run's ratios (not the ratios of the median rates); in each run, the script's epochs "
                          f"after the first and the references' {args.repeats} epoch(s) after an untimed one, each in a "
                          f"fresh process", argv)
        return 0
    if args.sda:
        table = run_sda_phases(args)
        if args.results:
            write_results(args, args.results, f"SdA 784-{'-'.join(map(str, SDA_HIDDEN))}, all phases (one epoch of each "
                          f"pretraining layer + one fine-tuning epoch), minibatch {args.batch}, {source} rows",
                          ["path", "device", "layer 0 s", "layer 1 s", "layer 2 s", "fine-tuning s", "total s", "rows/s",
                           "x hand-written JAX", "peak MB", "best validation error (%)"], table,
                          f"each phase the median of {args.repeats} epochs after an untimed one, each row in a fresh "
                          "process; a pretraining layer's time includes computing the codes of the layer below once; "
                          "fine-tuning's includes the validation and test errors", argv)
        return 0
    table = run_dA_table(args, gflops, has_jax, has_torch)
    if args.runs > 1:
        table = median_of_runs([table] + [run_dA_table(args, gflops, has_jax, has_torch) for _ in range(args.runs - 1)])
    if args.results:
        columns = ["variant", "device", "rows/s", "x NumPy", "x hand-written JAX", "peak MB", "last cost"]
        if args.runs > 1:
            columns = ["variant", "device", "rows/s (median)", "x NumPy (median)", "x hand-written JAX (median)",
                       "each run's ratio (to JAX, else NumPy)", "peak MB"]
        write_results(args, args.results,
                      f"dA epoch (784 visible, 30% masking, cross-entropy, SGD 0.1, float32; {source} rows), rows/s",
                      columns, table,
                      f"{args.runs} run(s); each rate the median of {args.repeats} epochs after an untimed one, each row "
                      f"in a fresh process; the ratios are to the rows of the same run at the same setting; large "
                      f"float32 matmul {gflops:.0f} GFLOP/s", argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
