"""The training steps: one type that the loops run, on the step path and on the block path.

A :class:`Steps` is a model's compiled SGD step on one training set (``steps(index)``: the tutorial's
``train_model(index)``); what the loops ask of it beyond that is declared here, once, the same on both paths
(the block path, :class:`~.blocks.BlockSteps`, is in :mod:`.blocks`; :mod:`.paths` says which runs).
:class:`PrecomputedRows` are the rows a frozen part of a graph gives, computed once by steps.
"""

from __future__ import annotations

import copy

import numpy as np

from .errors import TutorialError
from .memory import check_fits
from .readers import empty_aligned


class Steps:
    """Compiled SGD steps over one training set: ``steps(index, *extra) -> cost``.

    ``step(index, *extra)`` is the compiled minibatch function. ``names`` name its extra inputs, ``defaults``
    give their values when a call leaves them out (PyTensor 3 dropped inputs with defaults, so they live
    here): a pretraining function is ``fn(index, corruption=level_k, lr=0.1)``, as in the tutorial.
    ``ensure`` (optional) runs before every step, e.g. to compute once the precomputed codes it reads.
    """

    #: The most minibatches one call may run: 0 on the step path, None for "as many as the loop needs".
    block_size: int | None = 0

    def __init__(self, step=None, names=(), defaults=(), ensure=None):
        self._step, self.names, self.defaults, self._ensure = step, tuple(names), tuple(defaults), ensure

    @classmethod
    def of(cls, fn) -> Steps:
        """``fn`` itself when it is :class:`Steps`, else a plain function of a minibatch index as steps."""
        return fn if isinstance(fn, Steps) else cls(fn)

    def _extra(self, args, kwargs) -> list:
        """A call's extra inputs, bound as Python binds arguments; one left out or None takes its default."""
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
        """How many minibatches one call runs in a loop over ``n`` (at most ``at_most``); 0: one per call. The
        block path compiles that call here, before the loop, so a Ctrl-C while compiling stops before any step."""
        k = min(self.block_size or n, n, at_most or n)
        if self.block_size == 0 or k <= 1:
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

    def block_sizes(self) -> set:
        """The block sizes compiled so far (none on the step path)."""
        return set()


class PrecomputedRows:
    """Rows that a frozen part of a graph gives for a whole dataset, computed once into a shared buffer.

    ``fill(i)`` is a compiled minibatch function returning minibatch ``i``'s rows (exactly as recomputing
    them per minibatch would), or :class:`Steps` whose "cost" is those rows: on the block path, all come from
    one call, kept where the engine put them (JAX on a CPU: read in place by the consumer's blocks).
    ``buffer`` is the shared matrix the consumer's step slices, filled by :meth:`ensure`, freed by
    :meth:`release`; the members of one ``group`` (a list) keep at most one buffer filled at a time.
    """

    def __init__(self, fill, buffer, n_rows, batch_size, group):
        self.fill, self.buffer, self.n_rows, self.batch_size = Steps.of(fill), buffer, n_rows, batch_size
        self.group, self.ready = group, False
        group.append(self)

    def ensure(self):
        """Fill the buffer unless it is filled (the one pass over the dataset)."""
        if self.ready:
            return
        for other in self.group:
            if other is not self:
                other.release()
        n, b = self.n_rows // self.batch_size, self.batch_size
        width = self.buffer.get_value(borrow=True).shape[1]
        check_fits((n * b, width), np.dtype(self.buffer.dtype).itemsize, f"the precomputed codes {self.buffer.name}",
                   "use smaller layers, or recompute them per minibatch (precompute_codes=False, --recompute-codes)")
        if self.fill.block_for(n) == n:  # the block path: the whole pass in one call
            rows = np.asarray(self.fill.block(0, n)).reshape(n * b, width)  # on JAX's CPU, a view of its output
            self.fill.release()  # its resident copy of the training set: not needed until the next fill
        else:
            rows = empty_aligned((n * b, width), self.buffer.dtype)  # JAX's block path reads it in place
            for i in range(n):
                rows[i * b: (i + 1) * b] = self.fill(i)
        self.buffer.set_value(rows, borrow=True)
        self.ready = True

    def release(self):
        """Free the buffer (filled again on the next :meth:`ensure`)."""
        width = self.buffer.get_value(borrow=True).shape[1]
        self.buffer.set_value(np.zeros((0, width), dtype=self.buffer.dtype))
        self.ready = False
