"""Where the corruption noise is drawn: on the host, or on the device.

- On the host (the step path, the block path's ``"host"`` source): a graph's noise draws, found in its
  updates (:func:`split_noise_updates`), are drawn by the random-variable op the C back end runs, from the
  model's shared numpy generator itself (:func:`draw_on_host`): every back end gets the C back end's masks,
  bit for bit, and the generator's state is always the shared variable's.
- On the device (the block path's ``"device"`` source): :class:`DeviceNoise`, a counter-based generator
  whose whole state is three ``uint32`` (key, key, minibatches drawn) in a shared variable, an input and
  output of every call, saved in checkpoints. A value depends only on the key, the minibatch's number in the
  stream and the element, so a block of ``K`` and ``K`` blocks of one give the same noise.
"""

from __future__ import annotations

import weakref

import numpy as np

from .engine import compile_function, pt, pytensor
from .errors import TutorialError
from .readers import empty_aligned
from .rng import generator_from_state

from pytensor.compile.mode import Mode  # noqa: E402  (after the engine's set-up)
from pytensor.tensor.random.basic import UniformRV  # noqa: E402
from pytensor.tensor.random.op import RandomVariable  # noqa: E402
from pytensor.tensor.random.type import RandomType  # noqa: E402


def split_noise_updates(updates):
    """Separate shared-generator updates (``rng -> next state of a draw``) from the rest."""
    pairs = list(updates.items()) if isinstance(updates, dict) else list(updates or [])
    kept, draws = [], []
    for var, new in pairs:
        if isinstance(var.type, RandomType) and new.owner is not None and isinstance(new.owner.op, RandomVariable):
            draws.append((var, new.owner))
        else:
            kept.append((var, new))
    return kept, draws


def draw_parameters(draws, inputs, givens):
    """A host function of ``inputs`` giving each noise draw's ``[size, *parameters]`` (Python linker)."""
    fn = compile_function(list(inputs), [i for _, n in draws for i in n.inputs[1:]], givens=givens,
                          mode=Mode(linker="py", optimizer="fast_run"), on_unused_input="ignore")

    ends = np.cumsum([len(node.inputs) - 1 for _, node in draws], dtype=int).tolist()

    def per_draw(*args):
        out = fn(*args)
        return [out[end - len(node.inputs) + 1: end] for end, (_, node) in zip(ends, draws)]

    return per_draw


def draw_on_host(rng_var, node, size, params):
    """What the C back end's in-place random op does: draw from the shared generator itself,
    advancing it (no copy of the generator per step)."""
    draw = node.op.rng_fn(rng_var.get_value(borrow=True), *params, None if size is None else tuple(size))
    return np.asarray(draw, dtype=node.op.dtype)


def wait_for_reader(held) -> None:
    """Wait until the call that last read ``held``'s arrays (``held["reader"]``, its output) is done:
    a JAX output may still be computing; the C back end's is a numpy value, done already."""
    reader = held.pop("reader", None)
    if hasattr(reader, "block_until_ready"):
        reader.block_until_ready()


def host_draws(draws, params, k, shapes, extra, held):
    """``k`` minibatches of every draw from the shared numpy generator, bit for bit the stream of ``k`` step-path
    draws, drawn in chunks of a few MB into one aligned array per draw (read in place by JAX on a CPU), so a
    block's noise is held once, in the graph's dtype.

    The arrays live in ``held``; every call of the same block size draws into them again once their last
    reader (``held["reader"]``) is done: fresh arrays of a hundred MB cost more in page faults than drawing.
    A uniform draw on [0, 1) (every masking and salt-and-pepper corruption) is numpy's ``random()``: the same
    doubles from the same stream as ``uniform(0, 1)``, through one reused float64 buffer."""
    wait_for_reader(held)
    out = []
    for d, ((rng_var, node), (_, *p), shape) in enumerate(zip(draws, params(extra), shapes)):
        gen = rng_var.get_value(borrow=True)
        rows = held.get(d)
        if rows is None:
            rows = held[d] = empty_aligned((k, *shape), node.op.dtype)
        if _standard_uniform(node, p, gen):
            flat = rows.reshape(-1)
            buf = np.empty(min(_DRAW_CHUNK, flat.size))
            for i in range(0, flat.size, buf.size):
                part = buf[:min(buf.size, flat.size - i)]
                gen.random(out=part)
                flat[i:i + part.size] = part
        else:
            chunk = max(1, _DRAW_CHUNK // max(1, int(np.prod(shape))))
            for i in range(0, k, chunk):
                n = min(chunk, k - i)
                rows[i:i + n] = draw_on_host(rng_var, node, (n, *shape), p)
        out.append(rows)
    return out


def _standard_uniform(node, p, gen) -> bool:
    """Whether ``node`` draws uniform numbers on [0, 1) (``p``: low, high) from ``gen``, a numpy ``Generator``."""
    return (isinstance(node.op, UniformRV) and len(p) == 2 and np.size(p[0]) == 1 and np.size(p[1]) == 1
            and float(np.ravel(p[0])[0]) == 0.0 and float(np.ravel(p[1])[0]) == 1.0
            and isinstance(gen, np.random.Generator))


_DRAW_CHUNK = 1 << 19  # elements per host draw: 4 MB of float64 before the cast


def u32(v):
    return pt.constant(np.uint32(v))


def _shr(x, k):
    return pt.int_div(x, u32(1 << k))  # a right shift: PyTensor has no shift op


def lowbias32(x):
    """Chris Wellons' ``lowbias32`` integer hash (2018) on a ``uint32`` tensor, element-wise."""
    x = pt.bitwise_xor(x, _shr(x, 16))
    x = x * u32(0x7FEB352D)
    x = pt.bitwise_xor(x, _shr(x, 15))
    x = x * u32(0x846CA68B)
    return pt.bitwise_xor(x, _shr(x, 16))


class DeviceNoise:
    """A counter-based generator for noise drawn inside a compiled call.

    The state is a shared ``uint32`` vector ``[key0, key1, counter]`` (minibatches drawn so far). Element
    ``e`` of draw ``d`` for minibatch ``t`` is ``lowbias32(lowbias32(e * G ^ s) + key1)``, ``s`` a hash of
    ``(key0, t, d)``; its top 24 bits give a float32 uniform in [0, 1); normals are Box-Muller pairs of them.
    """

    def __init__(self, seed_generator: np.random.Generator, name="device_noise"):
        self.state = pytensor.shared(self.initial_state(seed_generator), name=name)

    @staticmethod
    def initial_state(seed_generator: np.random.Generator) -> np.ndarray:
        """``[key0, key1, 0]``, the key drawn from a copy of ``seed_generator`` (whose stream does not move)."""
        keys = generator_from_state(seed_generator.bit_generator.state).integers(0, 2**32, 2, dtype=np.uint32)
        return np.array([keys[0], keys[1], 0], dtype=np.uint32)

    @staticmethod
    def bits(state, counter, draw, shape):
        """``uint32`` hashes of static ``shape`` for minibatch ``counter``, draw ``draw``; ``state`` is the
        symbolic state vector (the shared one, or scan's inner copy)."""
        stream = counter * u32(0x9E3779B9) + u32((draw * 0x85EBCA6B) & 0xFFFFFFFF)
        s = lowbias32(pt.bitwise_xor(state[0], lowbias32(stream)))  # state: [key0, key1, counter]
        e = pt.constant(np.arange(int(np.prod(shape)), dtype=np.uint32).reshape(shape))
        return lowbias32(lowbias32(pt.bitwise_xor(e * u32(0x9E3779B9), s)) + state[1])

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
    if rng_var not in _DEVICE_NOISE:
        _DEVICE_NOISE[rng_var] = DeviceNoise(rng_var.get_value(borrow=True), name=f"{rng_var.name or 'rng'}.device")
    return _DEVICE_NOISE[rng_var]


def device_noise_state(rng_var) -> list | None:
    """The state of ``rng_var``'s :class:`DeviceNoise` as three ints (for a checkpoint), or None if it has none."""
    dn = _DEVICE_NOISE.get(rng_var)
    return None if dn is None else [int(v) for v in np.asarray(dn.state.get_value())]


def reset_device_noise(rng_var) -> None:
    """Re-key ``rng_var``'s :class:`DeviceNoise` (if any) from the generator's state now, counter 0."""
    dn = _DEVICE_NOISE.get(rng_var)
    if dn is not None:
        dn.state.set_value(DeviceNoise.initial_state(rng_var.get_value(borrow=True)))


def set_device_noise_state(rng_var, state) -> None:
    """Restore a state :func:`device_noise_state` returned (ValueError if it is not three uint32)."""
    if not isinstance(state, list) or len(state) != 3 or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**32 for v in state):
        raise ValueError(f"device noise state is {state!r}, not three integers in [0, 2**32)")
    device_noise(rng_var).state.set_value(np.array(state, dtype=np.uint32))


def draw_value(node, state, counter, d, shape):
    """What a uniform or normal draw ``node`` gives for minibatch ``counter``, from :class:`DeviceNoise`."""
    name = type(node.op).__name__
    dtype = node.outputs[1].dtype
    *_, a, b = node.inputs
    if name == "UniformRV":  # draw d hashes with stream 2d, a normal with 2d and 2d + 1: never the same
        return pt.cast(a, dtype) + pt.cast(b - a, dtype) * DeviceNoise.uniform(state, counter, 2 * d, shape, dtype)
    if name == "NormalRV":
        return pt.cast(a, dtype) + pt.cast(b, dtype) * DeviceNoise.normal(state, counter, d, shape, dtype)
    raise TutorialError(f"the block path draws uniform and normal noise on the device, not {name}")
