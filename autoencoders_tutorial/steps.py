"""The training steps: one type that the loops run, on the step path and on the block path.

A :class:`Steps` is a model's compiled SGD step on one training set. Called as
``steps(index)`` it does one minibatch's step and returns its cost: the tutorial's
``train_model(index)``. What the loops ask of it beyond that is the same on both paths:

- :meth:`Steps.block_for` ``(n)``: how many minibatches one call may run (0 on the step
  path; on the block path it compiles that call first);
- :meth:`Steps.block` ``(start, k)``: minibatches ``start .. start + k - 1`` in one call;
- :meth:`Steps.release`: free what the steps hold resident (nothing on the step path);
- :meth:`Steps.bind`: the same steps with extra inputs fixed (a pretraining layer's
  learning rate).

The block path (:class:`BlockSteps`) runs ``K`` steps inside one ``pytensor.scan``: the
training set is stored once in a shared array of shape ``(n_batches, batch, ...)`` (on
JAX, a device array: one transfer per dataset), step ``j`` reads ``data[start + j]``, the
parameters are carried through the scan and written back once, and the ``K`` costs come
back as one array that stays on the device until the loop checks it. Its noise is drawn
on the host or on the device (:mod:`.noise`). Which path runs is :mod:`.paths`' choice.
"""

from __future__ import annotations

import copy
import weakref

import numpy as np

from .engine import compile_function, compile_mode, is_jax_mode, note_jax_updated, pt, pytensor
from .errors import TutorialError
from .graph import minibatch_function, n_batches, score_batch_size, sgd_updates
from .files import deferred_interrupts
from .jax_backend import quiet_jax, to_device
from .noise import (device_noise, draw_parameters, draw_value, host_draws, split_noise_updates, u32,
                    wait_for_reader)

from pytensor.graph.replace import clone_replace  # noqa: E402  (after the engine's set-up)

class Steps:
    """Compiled SGD steps over one training set: ``steps(index, *extra) -> cost``.

    ``step(index, *extra)`` is the compiled minibatch function. ``names`` name its extra
    inputs and ``defaults`` give their values when a call leaves them out (PyTensor 3
    dropped inputs with default values, so they live here): a pretraining function is
    ``fn(index, corruption=level_k, lr=0.1)``, as in the tutorial. ``ensure`` (optional) is
    called before every step, e.g. to compute the precomputed codes it reads once.
    """

    #: The most minibatches one call may run: 0 on the step path, None for "as many as the loop needs".
    block_size: int | None = 0

    def __init__(self, step=None, names=(), defaults=(), ensure=None):
        self._step = step
        self.names, self.defaults, self._ensure = tuple(names), tuple(defaults), ensure

    @classmethod
    def of(cls, fn) -> Steps:
        """``fn`` itself when it is :class:`Steps`, else a plain function of a minibatch index as steps."""
        return fn if isinstance(fn, Steps) else cls(fn)

    def _extra(self, args, kwargs) -> list:
        """The extra inputs of a call, as Python binds arguments: ``args`` in order, then ``kwargs`` by name;
        one left out or given as None takes its default."""
        if not self.names:  # unnamed extra inputs: passed on as they are
            if kwargs:
                raise TypeError(f"this function takes no named inputs, got {', '.join(kwargs)}")
            return list(args)
        if len(args) > len(self.names):
            raise TypeError(f"at most {len(self.names)} extra inputs ({', '.join(self.names)}), got {len(args)}")
        given = dict(zip(self.names, args))
        for name, value in kwargs.items():
            if name not in self.names:
                raise TypeError(f"unknown input {name!r}; this function takes {', '.join(self.names)}")
            if name in given:
                raise TypeError(f"input {name!r} given twice")
            given[name] = value
        defaults = dict(zip(self.names, self.defaults))
        values = [given[n] if given.get(n) is not None else defaults.get(n) for n in self.names]
        missing = [n for n, v in zip(self.names, values) if v is None]
        if missing:
            raise TypeError(f"no value for {', '.join(missing)}")
        return values

    def bind(self, **values) -> Steps:
        """The same steps (the same compiled functions) with new defaults for the named extra inputs."""
        bound = copy.copy(self)
        defaults = dict(zip(self.names, self.defaults))
        for name, value in values.items():
            if name not in self.names:
                raise TypeError(f"unknown input {name!r}; this function takes {', '.join(self.names) or 'none'}")
            defaults[name] = value
        bound.defaults = tuple(defaults.get(n) for n in self.names)
        return bound

    def ready(self) -> Steps:
        """Compute now what the steps read and compute once (the precomputed codes of the layers below)."""
        if self._ensure is not None:
            self._ensure()
        return self

    def __call__(self, index, *args, **kwargs):
        extra = self._extra(args, kwargs)
        self.ready()
        return self._one(index, *extra)

    def _one(self, index, *extra):
        return self._step(index, *extra)

    def block_for(self, n: int, at_most: int | None = None) -> int:
        """How many minibatches one call runs in a loop over ``n`` (and at most ``at_most``): 0 means one
        call per minibatch. On the block path the call of that size is compiled here, before the loop
        starts, so that a Ctrl-C while compiling stops a run before any step."""
        if self.block_size == 0:
            return 0
        k = min(self.block_size or n, n, at_most or n)
        if k <= 1:
            return 0
        self.prepare(k)
        return k

    def prepare(self, k: int) -> None:
        """Compile the call of ``k`` minibatches (nothing to do on the step path)."""

    def block(self, start: int, k: int, *args, **kwargs):
        """Minibatches ``start .. start + k - 1`` in one call: their costs."""
        raise TutorialError("these steps run one minibatch per call (the step path); block_for() says 0")

    def release(self) -> None:
        """Free what the steps keep resident (on the step path, nothing)."""


class BlockSteps(Steps):
    """The block path's steps: ``steps(i)`` is one SGD step, :meth:`block` runs ``k`` of them in one call.

    ``state`` is the shared device-generator state a checkpoint saves ("device" noise),
    else None. ``block_size`` is the largest block the loops may run (None: as large as
    they need).
    """

    def __init__(self, make_step, build, mode, state, stores, block_size=None, names=(), defaults=(), ensure=None,
                 noise_arrays=None):
        super().__init__(None, names, defaults, ensure)
        self._make_step, self._build, self.mode, self.state = make_step, build, mode, state
        self.block_size = block_size
        self._stores = stores  # [[source shared, store shared, weak reference to the value uploaded]]
        self._fns = {}  # "step" and each block size k: compiled when first called (shared by bound copies)
        self._noise_arrays = {} if noise_arrays is None else noise_arrays  # block size -> its host noise arrays

    def _one(self, index, *extra):
        fn = self._fns.get("step")
        if fn is None:  # a loop whose blocks cover every epoch never needs it
            fn = self._fns["step"] = self._make_step()
        return fn(index, *extra)

    def block_sizes(self) -> set:
        """The block sizes compiled so far."""
        return {k for k in self._fns if k != "step"}

    def prepare(self, k):
        fn = self._fns.get(k)
        if fn is None:
            fn = self._fns[k] = _first_call_held(self._build(k))
        return fn

    def block(self, start, k, *args, **kwargs):
        """Steps ``start .. start + k - 1`` in one call (compiled once per ``k``): their costs, an array
        left on the device."""
        extra = self._extra(args, kwargs)
        fn = self.prepare(k)
        self.ready()
        self._upload()
        return fn(start, *extra)

    def release(self):
        """Free the resident copies of the data (uploaded again by the next call) and the host noise
        arrays (drawn into new ones by the next call), once the calls reading them are done."""
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


def training_function(pairs, cost, batch_size, updates=None, extra_inputs=(), mode=None, path=None, *,
                      names=(), defaults=(), ensure=None) -> Steps:
    """The steps the training loops run: ``steps(index, *extra_inputs) -> cost``.

    ``path`` (a :class:`~autoencoders_tutorial.paths.TrainPath`; None is the step path)
    picks :class:`Steps` around :func:`~autoencoders_tutorial.graph.minibatch_function`,
    or :class:`BlockSteps`. ``names``, ``defaults`` and ``ensure`` are :class:`Steps`'.
    """
    def make_step():
        return minibatch_function(pairs, cost, batch_size, updates, extra_inputs, mode)

    if path is None or path.kind == "step":
        return Steps(make_step(), names, defaults, ensure)
    return block_steps(make_step, pairs, cost, batch_size, updates, extra_inputs, mode, noise=path.noise,
                       block_size=path.block_size, names=names, defaults=defaults, ensure=ensure)


def block_steps(make_step, pairs, cost, batch_size, updates, extra_inputs=(), mode=None, *, noise="host",
                block_size=None, names=(), defaults=(), ensure=None) -> BlockSteps:
    """The block path beside the step path that ``make_step()`` compiles from the same arguments
    (:func:`~autoencoders_tutorial.graph.minibatch_function`), when a single step first needs it.

    ``noise`` "host" or "device" says where the graph's noise draws (those whose generator
    ``updates`` advances) are made; with "device" the step path is replaced by a one-step
    call of the same kind, so that block sizes never change the numbers.
    """
    mode = compile_mode(mode)
    extra_inputs = list(extra_inputs)
    kept, draws = split_noise_updates(updates)
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
                rep[node.outputs[1]] = draw_value(node, state_in, counter, d, shape)
        return clone_replace([cost, *news], replace=rep)

    store_vars = [st for _, st, _ in stores]
    state_vars = [dn.state] if dn is not None else []

    def advanced(state, k):
        return [(dn.state, pt.concatenate([state[:2], pt.atleast_1d(state[2] + u32(k))]))] if dn is not None else []

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
        with quiet_jax():
            f = compile_function([start, *host_noise, *extra_inputs], costs, updates=upd, mode=mode)
        note_jax_updated(mode, [v for v, _ in upd])
        if not n_host:
            return f

        held = noise_arrays.setdefault(k, {})  # this block size's noise arrays, drawn into again by every call

        def call(start, *extra):
            out = f(start, *host_draws(draws, host_params, k, shapes, extra, held), *extra)
            held["reader"] = out  # the next draw waits until this call has read them
            return out

        return call

    noise_arrays = {}  # block size -> its host noise arrays (freed by release())
    if dn is None:
        return BlockSteps(make_step, build, mode, None, stores, block_size, names, defaults, ensure, noise_arrays)

    def make_device_step():  # the step path draws from the same counter as the blocks
        index = pt.lscalar("index")
        cost1, *new1 = inner(pt.constant(0, dtype="int64"), index, [], carried, extra_inputs, store_vars, dn.state)
        upd = list(zip(carried, new1)) + advanced(dn.state, 1)
        with quiet_jax():
            one = _first_call_held(compile_function([index, *extra_inputs], cost1, updates=upd, mode=mode))
        note_jax_updated(mode, [v for v, _ in upd])

        def step(index, *extra):
            steps._upload()
            return one(index, *extra)

        return step

    steps = BlockSteps(make_device_step, build, mode, dn.state, stores, block_size, names, defaults, ensure)
    return steps


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


def compile_classifier(x, y, cost, errors, params, datasets, batch_size, learning_rate, mode=None, path=None):
    """Compile the tutorial's three functions: ``(train_fn, valid_score, test_score)``.

    ``datasets`` is what :func:`autoencoders_tutorial.datasets.load_data` returns; ``x``
    and ``y`` are the symbolic inputs the graphs were built on. ``train_fn(index)`` does
    one SGD step of ``params`` only (pass a subset to freeze the rest) and returns the
    cost (on the block path ``path``, it also runs blocks of steps); ``valid_score()`` and ``test_score()`` return the error rate of every full
    minibatch of their split, in minibatches of :func:`score_batch_size` (so a split
    smaller than ``batch_size`` is still scored; on the block path, all of them in one call).
    """
    (train_x, train_y), *scored = datasets
    eval_batch = score_batch_size(batch_size, datasets)
    if eval_batch <= 0:
        raise TutorialError("the validation or test set is empty")
    updates = sgd_updates(cost, params, learning_rate)
    train_fn = training_function([(x, train_x), (y, train_y)], cost, batch_size, updates, mode=mode, path=path)

    def scorer(split_x, split_y):
        n = n_batches(split_x, eval_batch)
        if path is not None and path.kind == "block":  # every minibatch's error in one call, the split resident
            scores = block_steps(None, [(x, split_x), (y, split_y)], errors, eval_batch, [], mode=mode, noise=None)
            return lambda: list(np.asarray(scores.block(0, n)))  # numpy scalars, as the step path gives
        fn = minibatch_function([(x, split_x), (y, split_y)], errors, eval_batch, mode=mode)
        return lambda: [fn(i) for i in range(n)]

    return (train_fn, *(scorer(sx, sy) for sx, sy in scored))
