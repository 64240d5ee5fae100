"""The block path: K SGD steps in one compiled call, over data resident where the call runs.

The step path (:func:`autoencoders_tutorial.graph.minibatch_function`) makes one Python
call per minibatch; on a GPU the call, the host noise draw and the copy cost more than the
step. A block runs ``K`` steps inside one ``pytensor.scan``: the training set is stored
once in a shared array of shape ``(n_batches, batch, ...)`` (on JAX, a device array: one
transfer per dataset), step ``j`` reads ``data[start + j]``, the parameters are carried
through the scan and written back once, and the ``K`` costs come back as one array that
stays on the device until the loop checks it.

Noise comes from one of two sources, named in checkpoints:

- ``"host"``: drawn on the host from the model's shared numpy generator, ``K`` minibatches
  at once, and fed to the scan as a sequence. A bulk draw of ``K`` minibatches is the same
  stream as ``K`` draws of one, so the masks are the step path's, bit for bit.
- ``"device"``: drawn inside the call by :class:`DeviceNoise`, a counter-based generator
  whose whole state is three ``uint32`` (key, key, minibatches drawn) in a shared
  variable: an explicit input and output of every call, saved in checkpoints. A value
  depends only on the key, the minibatch's number in the stream and the element, so a
  block of ``K`` and ``K`` blocks of one give the same noise.

The early-stopping and epoch loops of :mod:`.training` split their work into blocks (a
block ends at a validation point, the epoch's end or where patience runs out) and run a
remainder shorter than ``K`` on the step path.
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass

import numpy as np

from .engine import (
    _quiet_jax,
    _split_noise_updates,
    compile_function,
    compile_mode,
    draw_on_host,
    draw_parameters,
    is_jax_mode,
    pt,
    pytensor,
)
from .errors import TutorialError
from .rng import generator_from_state

_U32 = np.uint32


def _u32(v):
    return pt.constant(_U32(v))


def _shr(x, k):
    return pt.int_div(x, _u32(1 << k))  # a right shift: PyTensor has no shift op


def lowbias32(x):
    """Chris Wellons' ``lowbias32`` integer hash (2018) on a ``uint32`` tensor, element-wise."""
    x = pt.bitwise_xor(x, _shr(x, 16))
    x = x * _u32(0x7FEB352D)
    x = pt.bitwise_xor(x, _shr(x, 15))
    x = x * _u32(0x846CA68B)
    return pt.bitwise_xor(x, _shr(x, 16))


class DeviceNoise:
    """A counter-based generator for noise drawn inside a compiled call.

    The state is a shared ``uint32`` vector ``[key0, key1, counter]``; ``counter`` counts
    the minibatches drawn so far. Element ``e`` of draw ``d`` for minibatch ``t`` is
    ``lowbias32(lowbias32(e * G ^ s) + key1)`` with ``s`` a hash of ``(key0, t, d)``,
    whose top 24 bits give a float32 uniform in [0, 1); normals are Box-Muller pairs of
    two such uniforms.
    """

    def __init__(self, seed_generator: np.random.Generator, name="device_noise"):
        self.state = pytensor.shared(self.initial_state(seed_generator), name=name)

    @staticmethod
    def initial_state(seed_generator: np.random.Generator) -> np.ndarray:
        """``[key0, key1, 0]``, the key drawn from a copy of ``seed_generator`` (whose stream does not move)."""
        keys = generator_from_state(seed_generator.bit_generator.state).integers(0, 2**32, 2, dtype=np.uint32)
        return np.array([keys[0], keys[1], 0], dtype=_U32)

    @staticmethod
    def bits(state, counter, draw, shape):
        """``uint32`` hashes of static ``shape`` for minibatch ``counter``, draw ``draw``; ``state`` is
        the symbolic state vector (the shared one, or scan's inner copy)."""
        key0, key1 = state[0], state[1]
        s = lowbias32(pt.bitwise_xor(key0, lowbias32(counter * _u32(0x9E3779B9) + _u32((draw * 0x85EBCA6B) & 0xFFFFFFFF))))
        n = int(np.prod(shape))
        e = pt.constant(np.arange(n, dtype=_U32).reshape(shape))
        return lowbias32(lowbias32(pt.bitwise_xor(e * _u32(0x9E3779B9), s)) + key1)

    @classmethod
    def uniform(cls, state, counter, draw, shape, dtype):
        return pt.cast(_shr(cls.bits(state, counter, draw, shape), 8), dtype) * np.asarray(2.0**-24, dtype=dtype)

    @classmethod
    def normal(cls, state, counter, draw, shape, dtype):
        u1 = 1 - cls.uniform(state, counter, 2 * draw, shape, dtype)  # (0, 1]
        u2 = cls.uniform(state, counter, 2 * draw + 1, shape, dtype)
        return pt.sqrt(-2 * pt.log(u1)) * pt.cos(np.asarray(2 * np.pi, dtype=dtype) * u2)


#: The device generator of each shared numpy generator (layers sharing one stream share it).
_DEVICE_NOISE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def device_noise(rng_var) -> DeviceNoise:
    """The :class:`DeviceNoise` paired with the shared numpy generator ``rng_var`` (made once)."""
    dn = _DEVICE_NOISE.get(rng_var)
    if dn is None:
        dn = _DEVICE_NOISE[rng_var] = DeviceNoise(rng_var.get_value(borrow=True), name=f"{rng_var.name or 'rng'}.device")
    return dn


def device_noise_state(rng_var) -> list | None:
    """The state of ``rng_var``'s :class:`DeviceNoise` as three ints (for a checkpoint), or None if it has none."""
    dn = _DEVICE_NOISE.get(rng_var)
    return None if dn is None else [int(v) for v in np.asarray(dn.state.get_value())]


def reset_device_noise(rng_var) -> None:
    """Re-key ``rng_var``'s :class:`DeviceNoise` (if it has one) from the generator's state now, counter 0:
    what a new one made now would hold."""
    dn = _DEVICE_NOISE.get(rng_var)
    if dn is not None:
        dn.state.set_value(DeviceNoise.initial_state(rng_var.get_value(borrow=True)))


def set_device_noise_state(rng_var, state) -> None:
    """Restore a state :func:`device_noise_state` returned (ValueError if it is not three uint32)."""
    if not isinstance(state, list) or len(state) != 3 or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**32 for v in state):
        raise ValueError(f"device noise state is {state!r}, not three integers in [0, 2**32)")
    device_noise(rng_var).state.set_value(np.array(state, dtype=_U32))


def _draw_value(node, state, counter, d, shape):
    """What a uniform or normal draw ``node`` gives for minibatch ``counter``, from :class:`DeviceNoise`."""
    name = type(node.op).__name__
    dtype = node.outputs[1].dtype
    *_, a, b = node.inputs
    if name == "UniformRV":  # draw d hashes with stream 2d, a normal with 2d and 2d + 1: never the same
        return pt.cast(a, dtype) + pt.cast(b - a, dtype) * DeviceNoise.uniform(state, counter, 2 * d, shape, dtype)
    if name == "NormalRV":
        return pt.cast(a, dtype) + pt.cast(b, dtype) * DeviceNoise.normal(state, counter, d, shape, dtype)
    raise TutorialError(f"the block path draws uniform and normal noise on the device, not {name}")


class BlockSteps:
    """One model's compiled steps on one training set: ``steps(i, *extra)`` is one SGD step
    (the step path), :meth:`block` runs ``k`` of them in one call.

    ``state`` is the shared device-generator state a checkpoint saves ("device" noise), else None. ``block_size`` is the
    largest block the loops may run (None: as large as they need).
    """

    def __init__(self, make_step, build, mode, state, stores, block_size=None, extra=()):
        self._make_step, self._build, self.mode, self.state = make_step, build, mode, state
        self.block_size, self.extra = block_size, tuple(extra)
        self._stores = stores  # [[source shared, store shared, weak reference to the value uploaded]]
        self._fns = {}  # "step" and each block size k: compiled when first called

    def bind(self, *extra) -> BlockSteps:
        """The same steps with the extra inputs fixed: ``bound(i)``, ``bound.block(start, k)``."""
        bound = BlockSteps(self._make_step, self._build, self.mode, self.state, self._stores,
                           self.block_size, self.extra + extra)
        bound._fns = self._fns
        return bound

    @property
    def step(self):
        """The step path's function (compiled on first use: a loop whose blocks cover every epoch never needs it)."""
        fn = self._fns.get("step")
        if fn is None:
            fn = self._fns["step"] = self._make_step()
        return fn

    def __call__(self, index, *extra):
        return self.step(index, *self.extra, *extra)

    def prepare(self, k):
        """Compile the block of ``k`` steps now (the loops do, before training: a Ctrl-C while compiling
        then stops the run before any step, as on the step path)."""
        fn = self._fns.get(k)
        if fn is None:
            fn = self._fns[k] = _first_call_held(self._build(k))
        return fn

    def block(self, start, k, *extra):
        """Steps ``start .. start + k - 1`` in one call (compiled once per ``k``): their costs, an array
        left on the device."""
        fn = self.prepare(k)
        self._upload()
        return fn(start, *self.extra, *extra)

    def release(self):
        """Free the resident copies of the data (uploaded again by the next call)."""
        for entry in self._stores:
            store = entry[1]
            store.container.storage[0] = np.zeros((0, *store.type.shape[1:]), dtype=store.dtype)
            entry[2] = None

    def _upload(self):
        """Copy a source whose value changed (a new dataset, refilled codes) to its store: one transfer."""
        for entry in self._stores:
            source, store, uploaded = entry
            value = source.get_value(borrow=True)
            if uploaded is not None and uploaded() is value:
                continue
            batch = store.type.shape[1]
            n = value.shape[0] // batch
            rows = value[: n * batch].reshape((n, batch, *value.shape[1:]))
            if is_jax_mode(self.mode):
                import jax

                rows = jax.device_put(rows)
            store.container.storage[0] = rows  # as PyTensor stores a JAX function's updates: no host filter
            entry[2] = weakref.ref(value)


def _first_call_held(fn):
    """``fn``, whose first call (JAX traces and compiles it) holds Ctrl-C and JAX's expected warnings."""
    done = []

    def call(*args):
        if done:
            return fn(*args)
        from .files import deferred_interrupts

        with _quiet_jax(), deferred_interrupts():
            out = fn(*args)
        done.append(True)
        return out

    return call


def block_steps(make_step, pairs, cost, batch_size, updates, extra_inputs=(), mode=None, *, noise="host",
                block_size=None) -> BlockSteps:
    """The block path beside the step path that ``make_step()`` compiles from the same arguments
    (:func:`autoencoders_tutorial.graph.minibatch_function`), when a remainder first needs it.

    ``noise`` "host" or "device" says where the graph's noise draws (those whose generator
    ``updates`` advances) are made; with "device" the step path is replaced by a one-step
    call of the same kind, so that block sizes never change the numbers.
    """
    from pytensor.graph.replace import clone_replace  # after the engine's set-up, as every PyTensor import

    mode = compile_mode(mode)
    extra_inputs = list(extra_inputs)
    kept, draws = _split_noise_updates(updates)
    if not draws:
        noise = None
    elif noise not in ("host", "device"):
        raise TutorialError(f"noise must be 'host' or 'device', got {noise!r}")
    stores, batch_vars = [], []
    for var, source in pairs:
        value = source.get_value(borrow=True)
        rest = tuple(value.shape[1:])
        store = pytensor.shared(np.zeros((0, batch_size, *rest), dtype=value.dtype),
                                shape=(None, batch_size, *rest), name=f"{source.name or 'data'}.blocks")
        stores.append([source, store, None])
        batch_vars.append(var.type.clone(shape=(batch_size, *rest))())
    draw_outs = [node.outputs[1] for _, node in draws]
    shapes, host_params = _draw_shapes(pairs, batch_vars, draws, extra_inputs)
    carried = [var for var, _ in kept]
    news = [new for _, new in kept]
    dn = device_noise(draws[0][0]) if noise == "device" else None
    n_host = len(draws) if noise == "host" else 0

    def inner(j, start, noise_vals, carried_in, extra_in, store_in, state_in):
        """One step's cost and new carried values, reading minibatch ``start + j``."""
        rep = {var: st[start + j] for (var, _), st in zip(pairs, store_in)}
        rep.update(zip(carried, carried_in))
        rep.update(zip(extra_inputs, extra_in))
        if noise == "host":
            rep.update(zip(draw_outs, noise_vals))
        elif noise == "device":
            counter = state_in[2] + pt.cast(j, "uint32")
            for d, ((_, node), shape) in enumerate(zip(draws, shapes)):
                rep[node.outputs[1]] = _draw_value(node, state_in, counter, d, shape)
        return clone_replace([cost, *news], replace=rep)

    store_vars = [st for _, st, _ in stores]
    state_vars = [dn.state] if dn is not None else []

    def advanced(state, k):
        return [(dn.state, pt.concatenate([state[:2], pt.atleast_1d(state[2] + _u32(k))]))] if dn is not None else []

    def build(k):
        start = pt.lscalar("start")
        host_noise = [out.type.clone(shape=(k, *shape))(name="noise") for out, shape in zip(draw_outs, shapes)][:n_host]

        def fn(j, *args):
            noise_vals, args = args[:n_host], args[n_host:]
            carried_in, args = args[:len(carried)], args[len(carried):]
            start_in, args = args[0], args[1:]
            extra_in, args = args[:len(extra_inputs)], args[len(extra_inputs):]
            store_in, state_in = args[:len(store_vars)], (args[len(store_vars)] if dn is not None else None)
            cost_j, *new = inner(j, start_in, noise_vals, carried_in, extra_in, store_in, state_in)
            return [*new, cost_j]

        outs = pytensor.scan(fn, sequences=[pt.arange(k, dtype="int64"), *host_noise],
                                outputs_info=[*carried, None],
                                non_sequences=[start, *extra_inputs, *store_vars, *state_vars], n_steps=k,
                                return_updates=False)  # frozen shared parameters join as inputs
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        *finals, costs = outs
        upd = [(var, f[-1]) for var, f in zip(carried, finals)] + advanced(dn.state if dn else None, k)
        with _quiet_jax():
            f = compile_function([start, *host_noise, *extra_inputs], costs, updates=upd, mode=mode)
        _note_updated(mode, [v for v, _ in upd])
        if not n_host:
            return f

        def call(start, *extra):
            return f(start, *_host_draws(draws, host_params, k, shapes, extra), *extra)

        return call

    if dn is None:
        return BlockSteps(make_step, build, mode, None, stores, block_size)

    def make_device_step():  # the step path draws from the same counter as the blocks
        index = pt.lscalar("index")
        cost1, *new1 = inner(pt.constant(0, dtype="int64"), index, [], carried, extra_inputs, store_vars, dn.state)
        upd = list(zip(carried, new1)) + advanced(dn.state, 1)
        with _quiet_jax():
            one = _first_call_held(compile_function([index, *extra_inputs], cost1, updates=upd, mode=mode))
        _note_updated(mode, [v for v, _ in upd])

        def step(index, *extra):
            steps._upload()
            return one(index, *extra)

        return step

    steps = BlockSteps(make_device_step, build, mode, dn.state, stores, block_size)
    return steps


def _note_updated(mode, variables):
    if is_jax_mode(mode):
        from .engine import _JAX_UPDATED

        _JAX_UPDATED.update(variables)


def _draw_shapes(pairs, batch_vars, draws, extra_inputs):
    """Each draw's static shape for one minibatch, and ``params(extra)``: each draw's ``[size, *parameters]``."""
    if not draws:
        return [], None
    fn = draw_parameters(draws, [*batch_vars, *extra_inputs], list(zip([v for v, _ in pairs], batch_vars)))
    zeros = [np.zeros(v.type.shape, dtype=v.dtype) for v in batch_vars]

    def params(extra):
        return fn(*zeros, *extra)

    shapes = []
    for size, *_ in params([np.zeros((), dtype=v.dtype) for v in extra_inputs]):
        if size is None:
            raise TutorialError("the block path needs noise draws with an explicit size")
        shapes.append(tuple(int(s) for s in size))
    return shapes, params


def _host_draws(draws, params, k, shapes, extra):
    """``k`` minibatches of every draw from the shared numpy generator, in one draw each: the
    stream ``k`` step-path draws would take, bit for bit."""
    return [draw_on_host(rng_var, node, (k, *shape), p)
            for (rng_var, node), (_, *p), shape in zip(draws, params(extra), shapes)]


# -- which path ---------------------------------------------------------------------------

PATHS = ("auto", "step", "block")
NOISE_SOURCES = ("auto", "host", "device")

#: The largest block on a CPU by default: one call per ~5,000 rows keeps Ctrl-C and progress
#: prompt and the host noise draw small, and measured faster than whole-epoch blocks (README).
CPU_BLOCK = 250


@dataclass(frozen=True)
class TrainPath:
    """How the training loops run the steps: ``kind`` "step" or "block", the block path's
    ``noise`` source ("host" or "device"), its largest ``block_size`` (None: as large as the
    loop needs), and ``note``, one line to print when a path asked for is not what runs."""

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


def _platform(mode) -> str:
    if not is_jax_mode(compile_mode(mode)):
        return "cpu"
    import jax

    return jax.default_backend()


@functools.cache
def _block_failure(mode) -> str | None:
    """Why this PyTensor cannot compile a block in ``mode`` (a tiny one, compiled once), or None."""
    try:
        w = pytensor.shared(np.ones(2, dtype=pytensor.config.floatX), name="probe.w")
        data = pytensor.shared(np.ones((4, 2), dtype=pytensor.config.floatX), name="probe.x")
        x = pt.matrix("x", dtype=pytensor.config.floatX)
        cost = pt.sum(w * x)
        steps = block_steps(None, [(x, data)], cost, 2, [(w, w - 0.5 * x.sum(axis=0))], mode=mode, noise=None)
        if not np.allclose(np.asarray(steps.block(0, 2)), [4.0, 0.0]):
            return "it computed the wrong costs"
        return None
    except Exception as exc:  # noqa: BLE001  (any failure to build or run means: not here)
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:120]}"


def resolve_path(path="auto", noise_source="auto", block_size=None, mode=None) -> TrainPath:
    """The :class:`TrainPath` for ``--path``, ``--noise-source`` and ``--block-size`` in ``mode``.

    "auto" is the measured choice (README, ``bench/bench.py``): the block path on JAX, with
    noise drawn on the device on a GPU and on the host on a CPU (the step path's masks, bit
    for bit); the step path on the C back end, whose blocks measured slower than its steps.
    The block path runs on JAX and the C back end; elsewhere, or where this PyTensor cannot
    compile it, the step path runs and ``note`` says why (when the block path was asked for
    or would have been the default).
    """
    if path not in PATHS:
        raise TutorialError(f"path must be one of {', '.join(PATHS)}, got {path!r}")
    if noise_source not in NOISE_SOURCES:
        raise TutorialError(f"noise_source must be one of {', '.join(NOISE_SOURCES)}, got {noise_source!r}")
    if block_size is not None and (isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer))
                                   or block_size < 1):
        raise TutorialError(f"block_size must be a whole number >= 1, got {block_size!r}")
    chosen = compile_mode(mode)
    jax_mode = is_jax_mode(chosen)
    if jax_mode and pytensor.config.floatX != "float32":  # before JAX's float64 switch could flip process-wide
        raise TutorialError("JAX mode runs in float32 here; use precision float32 or another mode")
    if path == "step" or (path == "auto" and not jax_mode):
        return TrainPath()
    backend = str(chosen if chosen is not None else pytensor.config.mode)
    if not jax_mode and backend.upper() not in ("CVM", "FAST_RUN"):
        return TrainPath(note=f"note: the block path runs on JAX and the C back end, not {backend}; using the step path")
    failure = _block_failure(chosen)
    if failure is not None:
        return TrainPath(note=f"note: this PyTensor ({pytensor.__version__}) cannot compile the block path "
                              f"({failure}); using the step path")
    gpu = _platform(mode) != "cpu"
    noise = noise_source if noise_source != "auto" else ("device" if gpu else "host")
    if block_size is None and not gpu:
        block_size = CPU_BLOCK
    return TrainPath("block", noise, None if block_size is None else int(block_size))
