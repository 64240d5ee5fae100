"""The block path: ``K`` SGD steps inside one compiled ``pytensor.scan``, with the noise they draw.

The training set is stored once as ``(n_batches, batch, ...)`` (on JAX, a device array: one transfer per
dataset); step ``j`` reads ``data[start + j]``; the parameters are carried through the scan and written back
once; the ``K`` costs come back as one array, left on the device until the loop checks it. The noise draws
are replaced by host or device noise (:mod:`.noise`); :mod:`.paths` says when the block path runs.
"""

from __future__ import annotations

import weakref

import numpy as np

from .engine import compile_function, compile_mode, is_jax_mode, note_jax_updated, pt, pytensor
from .errors import TutorialError
from .interrupts import deferred_interrupts
from .jax_backend import quiet_jax, to_device
from .noise import device_noise, draw_parameters, draw_value, host_draws, split_noise_updates, u32, wait_for_reader
from .steps import Steps

from pytensor.graph.replace import clone_replace  # noqa: E402  (after the engine's set-up)


class BlockSteps(Steps):
    """The block path's steps: ``steps(i)`` is one SGD step, :meth:`block` runs ``k`` of them in one call.

    ``state``: the shared device-generator state a checkpoint saves (device noise), else None.
    ``block_size``: the largest block the loops may run (None: as large as they need).
    ``steps_read_stores``: a single step reads the stored blocks too (device noise).
    """

    def __init__(self, make_step, build, mode, state, stores, block_size=None, names=(), defaults=(), ensure=None,
                 noise_arrays=None, steps_read_stores=False):
        super().__init__(None, names, defaults, ensure)
        self._make_step, self._build, self.mode, self.state, self.block_size = make_step, build, mode, state, block_size
        self._stores = stores  # [[source shared, store shared, weak reference to the value uploaded]]
        self._fns = {}  # "step" and each block size k: compiled when first called (shared by bound copies)
        self._noise_arrays = {} if noise_arrays is None else noise_arrays  # block size -> its host noise arrays
        self._steps_read_stores = steps_read_stores

    def _one(self, index, *extra):
        if "step" not in self._fns:  # compiled when first needed: a loop whose blocks cover every epoch never is
            self._fns["step"] = self._make_step()
        if self._steps_read_stores:
            self._upload()
        return self._fns["step"](index, *extra)

    def block_sizes(self) -> set:
        return {k for k in self._fns if k != "step"}

    def prepare(self, k):
        if k not in self._fns:
            self._fns[k] = _first_call_held(self._build(k))
        return self._fns[k]

    def block(self, start, k, *args, **kwargs):
        """Steps ``start .. start + k - 1`` in one call (compiled once per ``k``): their costs, left on the device."""
        extra = self._extra(args, kwargs)
        fn = self.prepare(k)
        self.ready()
        self._upload()
        return fn(start, *extra)

    def release(self):
        """Free the resident data and host noise arrays (made again by the next call), once their readers are done."""
        for held in self._noise_arrays.values():
            wait_for_reader(held)
            held.clear()
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
                rows = to_device(rows)
            store.container.storage[0] = rows  # as PyTensor stores a JAX function's updates: no host filter
            entry[2] = weakref.ref(value)


def _first_call_held(fn):
    """``fn``, whose first call (JAX traces and compiles it) holds Ctrl-C and JAX's expected warnings."""
    done = []

    def call(*args):
        if done:
            return fn(*args)
        with quiet_jax(), deferred_interrupts():
            out = fn(*args)
        done.append(True)
        return out

    return call


class _BlockGraph:
    """The block path's graphs of one SGD step (``cost``, ``updates``; inputs ``pairs``): :meth:`build` compiles
    ``k`` steps in one call, :meth:`device_step` one step drawing device noise."""

    def __init__(self, pairs, cost, batch_size, updates, extra_inputs, mode, noise):
        self.mode, self.pairs, self.cost, self.extra_inputs = compile_mode(mode), pairs, cost, list(extra_inputs)
        kept, self.draws = split_noise_updates(updates)
        if not self.draws:
            noise = None
        elif noise not in ("host", "device"):
            raise TutorialError(f"noise must be 'host' or 'device', got {noise!r}")
        self.noise = noise
        self.stores, batch_vars = [], []
        for var, source in pairs:
            value = source.get_value(borrow=True)
            rest = tuple(value.shape[1:])
            store = pytensor.shared(np.zeros((0, batch_size, *rest), dtype=value.dtype),
                                    shape=(None, batch_size, *rest), name=f"{source.name or 'data'}.blocks")
            self.stores.append([source, store, None])
            batch_vars.append(var.type.clone(shape=(batch_size, *rest))())
        self.store_vars = [st for _, st, _ in self.stores]
        self.draw_outs = [node.outputs[1] for _, node in self.draws]
        self.shapes, self.host_params = _draw_shapes(pairs, batch_vars, self.draws, self.extra_inputs)
        self.carried, self.news = [var for var, _ in kept], [new for _, new in kept]
        self.dn = device_noise(self.draws[0][0]) if noise == "device" else None
        self.n_host = len(self.draws) if noise == "host" else 0
        self.noise_arrays = {}  # block size -> its host noise arrays (freed by BlockSteps.release)

    def inner(self, j, start, noise_vals, carried_in, extra_in, store_in, state_in):
        """One step's cost and new carried values, reading minibatch ``start + j``."""
        rep = {var: st[start + j] for (var, _), st in zip(self.pairs, store_in)}
        rep.update(zip(self.carried, carried_in))
        rep.update(zip(self.extra_inputs, extra_in))
        if self.noise == "host":
            rep.update(zip(self.draw_outs, noise_vals))
        elif self.noise == "device":
            counter = state_in[2] + pt.cast(j, "uint32")
            for d, ((_, node), shape) in enumerate(zip(self.draws, self.shapes)):
                rep[node.outputs[1]] = draw_value(node, state_in, counter, d, shape)
        return clone_replace([self.cost, *self.news], replace=rep)

    def advanced(self, k) -> list:
        """The device generator's update after ``k`` minibatches (none without device noise)."""
        if self.dn is None:
            return []
        state = self.dn.state
        return [(state, pt.concatenate([state[:2], pt.atleast_1d(state[2] + u32(k))]))]

    def _scan_step(self, j, *args):
        """Scan's step ``j``: its arguments in scan's order (sequences, carried values, non-sequences)."""
        n_host, n_carried, n_extra = self.n_host, len(self.carried), len(self.extra_inputs)
        noise_vals, carried_in = args[:n_host], args[n_host:n_host + n_carried]
        start, rest = args[n_host + n_carried], args[n_host + n_carried + 1:]
        extra_in, store_in = rest[:n_extra], rest[n_extra:n_extra + len(self.store_vars)]
        state_in = rest[n_extra + len(self.store_vars)] if self.dn is not None else None
        cost_j, *new = self.inner(j, start, noise_vals, carried_in, extra_in, store_in, state_in)
        return [*new, cost_j]

    def build(self, k):
        """The call of ``k`` steps, ``call(start, *extra) -> costs``, compiled (host noise drawn before it)."""
        start = pt.lscalar("start")
        host_noise = [out.type.clone(shape=(k, *shape))(name="noise")
                      for out, shape in zip(self.draw_outs, self.shapes)][:self.n_host]
        outs = pytensor.scan(self._scan_step, sequences=[pt.arange(k, dtype="int64"), *host_noise],
                             outputs_info=[*self.carried, None],
                             non_sequences=[start, *self.extra_inputs, *self.store_vars,
                                            *([self.dn.state] if self.dn is not None else [])],
                             n_steps=k, return_updates=False)  # frozen shared parameters join as inputs
        *finals, costs = outs if isinstance(outs, (list, tuple)) else [outs]
        upd = [(var, f[-1]) for var, f in zip(self.carried, finals)] + self.advanced(k)
        with quiet_jax():
            f = compile_function([start, *host_noise, *self.extra_inputs], costs, updates=upd, mode=self.mode)
        note_jax_updated(self.mode, [v for v, _ in upd])
        if not self.n_host:
            return f
        held = self.noise_arrays.setdefault(k, {})  # this block size's noise arrays, drawn into again by every call

        def call(start, *extra):
            out = f(start, *host_draws(self.draws, self.host_params, k, self.shapes, extra, held), *extra)
            held["reader"] = out  # the next draw waits until this call has read them
            return out

        return call

    def device_step(self):
        """One step drawing from the same device counter as the blocks, reading the stored blocks."""
        index = pt.lscalar("index")
        cost1, *new1 = self.inner(pt.constant(0, dtype="int64"), index, [], self.carried, self.extra_inputs,
                                  self.store_vars, self.dn.state)
        upd = list(zip(self.carried, new1)) + self.advanced(1)
        with quiet_jax():
            one = _first_call_held(compile_function([index, *self.extra_inputs], cost1, updates=upd, mode=self.mode))
        note_jax_updated(self.mode, [v for v, _ in upd])
        return one


def block_steps(make_step, pairs, cost, batch_size, updates, extra_inputs=(), mode=None, *, noise="host",
                block_size=None, names=(), defaults=(), ensure=None) -> BlockSteps:
    """The block path beside the step path that ``make_step()`` compiles from the same arguments
    (:func:`~autoencoders_tutorial.graph.minibatch_function`) when a single step first needs it.

    ``noise`` ("host" or "device") says where the noise draws (those whose generator ``updates`` advances)
    are made; with "device" single steps are one-step calls of the same kind: block sizes never change the numbers.
    """
    graph = _BlockGraph(pairs, cost, batch_size, updates, extra_inputs, mode, noise)
    device = graph.dn is not None
    return BlockSteps(graph.device_step if device else make_step, graph.build, graph.mode,
                      graph.dn.state if device else None, graph.stores, block_size, names, defaults, ensure,
                      graph.noise_arrays, steps_read_stores=device)


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
