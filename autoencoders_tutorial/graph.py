"""Graph helpers: SGD updates, minibatch functions of an index, minibatch counts and sizes.

The tutorial's pattern, written once::

    train = pytensor.function([index], cost, updates=updates,
                              givens={x: train_set_x[index * batch_size: (index + 1) * batch_size]})

is :func:`minibatch_function`; on JAX it hands over to :func:`~autoencoders_tutorial.jax_backend.jax_minibatch_function`
(which hides the difference).
"""

from __future__ import annotations

from .engine import compile_function, compile_mode, is_jax_mode, pt, pytensor  # first: PyTensor, configured
from .jax_backend import jax_minibatch_function
from .ondisk import stream_of

from pytensor.compile.sharedvalue import SharedVariable  # noqa: E402  (after the engine's set-up)


def sgd_updates(cost, params, learning_rate):
    """Plain SGD: ``[(p, p - learning_rate * d cost / d p) for p in params]``.

    >>> import numpy as np
    >>> w = pytensor.shared(np.array(3.0), name="w")
    >>> [(p, new)] = sgd_updates(w ** 2, [w], 0.25)
    >>> float(new.eval())  # 3 - 0.25 * 2 * 3
    1.5
    """
    params = list(params)
    for p in params:
        if not isinstance(p, SharedVariable):
            raise ValueError(f"sgd_updates needs shared variables, got {p!r}")
    grads = pytensor.grad(cost, params)
    lr = pt.as_tensor_variable(learning_rate)
    return [(p, p - pt.cast(lr, p.dtype) * g) for p, g in zip(params, grads)]


def minibatch_givens(index, batch_size, pairs):
    """``givens`` slicing each shared dataset to minibatch ``index``; ``pairs``: (symbolic variable, shared data)."""
    return {var: data[index * batch_size: (index + 1) * batch_size] for var, data in pairs}


def minibatch_function(pairs, outputs, batch_size, updates=None, extra_inputs=(), mode=None):
    """Compile a function of a minibatch index: ``f(index, *extra_inputs)``.

    ``pairs`` are (symbolic variable, shared data) whose rows ``index * batch_size`` to ``(index + 1) *
    batch_size`` stand in for the variable. ``mode`` is a ``--mode`` value (None: the library's measured
    choice). The C and Numba back ends slice the shared data inside the graph (``givens``, as the tutorial
    does), so the data stays where the function runs; JAX slices on the host (see the engine module). On
    JAX, the shared variables in ``updates`` hold JAX arrays after a call: call
    :func:`~autoencoders_tutorial.engine.sync_shared` once training is done, before a function of another
    back end reads them (the library's loops do it when they end).

    >>> import numpy as np
    >>> data = pytensor.shared(np.arange(12.0).reshape(6, 2))
    >>> x = pt.dmatrix("x")
    >>> row_sums = minibatch_function([(x, data)], x.sum(axis=1), batch_size=2, mode="CVM")
    >>> row_sums(1).tolist()  # rows 2 and 3
    [9.0, 13.0]
    """
    mode = compile_mode(mode)
    if is_jax_mode(mode):
        return jax_minibatch_function(pairs, outputs, batch_size, updates, extra_inputs, mode)
    index = pt.lscalar("index")
    return compile_function([index, *extra_inputs], outputs, updates=updates, mode=mode,
                            givens=minibatch_givens(index, batch_size, pairs))


def n_batches(shared_or_array, batch_size) -> int:
    """Number of full minibatches (the tutorial drops the last partial one)."""
    rows = stream_of(shared_or_array)  # rows on disk: all of them, not the window shown
    if rows is not None:
        return rows.n_rows // batch_size
    data = shared_or_array.get_value(borrow=True) if isinstance(shared_or_array, SharedVariable) else shared_or_array
    return data.shape[0] // batch_size


def score_batch_size(batch_size, datasets) -> int:
    """The minibatch for validation and test: ``batch_size``, or the smaller split's size when that is smaller."""
    return min(batch_size, *(x.get_value(borrow=True).shape[0] for x, _ in datasets[1:]))


def note_score_batch(batch_size, datasets, log):
    """Say in one line when validation and test run in smaller minibatches than training."""
    eval_batch = score_batch_size(batch_size, datasets)
    if eval_batch < batch_size:
        log(f"validation and test in minibatches of {eval_batch}: the minibatch {batch_size} is larger than the "
            "smaller of those sets")
