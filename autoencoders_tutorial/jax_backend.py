"""The JAX back end: every call into JAX, and the two workarounds it needs.

JAX cannot slice a shared dataset with a traced index, and it gives each compiled function a private copy of a
shared random generator: so the step path's minibatch, and every noise draw (made with the C back end's op and
the shared generator itself, :mod:`.noise`: the same masks bit for bit, the state checkpointable), are made on
the host and passed in (:func:`jax_minibatch_function`).
"""

from __future__ import annotations

import contextlib
import warnings

from .engine import compile_function, compile_mode, is_jax_mode, note_jax_updated, pytensor
from .errors import TutorialError
from .interrupts import deferred_interrupts
from .noise import draw_on_host, draw_parameters, split_noise_updates


@contextlib.contextmanager
def quiet_jax():
    """Scope for compiling and tracing JAX functions: silence two expected warnings."""
    with warnings.catch_warnings():
        # JAX without x64 computes float32 uniforms for float32 graphs; expected and harmless.
        warnings.filterwarnings("ignore", message="Explicitly requested dtype")
        warnings.filterwarnings("ignore", message="Skipping Assert")  # shape checks JAX tracing drops
        yield


def jax_minibatch_function(pairs, outputs, batch_size, updates=None, extra_inputs=(), mode="JAX"):
    """The JAX form of :func:`autoencoders_tutorial.graph.minibatch_function`: ``f(index, *extra)``, its minibatch
    rows and every noise draw whose generator ``updates`` advances made on the host and passed in (see the module)."""
    if pytensor.config.floatX != "float32":
        raise TutorialError("JAX mode runs in float32 here; use precision float32 or another mode")
    extra_inputs = list(extra_inputs)
    kept, draws = split_noise_updates(updates)
    placeholders = [var.type(name=f"{var.name or 'input'}_batch") for var, _ in pairs]
    draw_vars = [node.outputs[1] for _, node in draws]
    noise_inputs = [v.type(name="noise") for v in draw_vars]
    batch_givens = list(zip([var for var, _ in pairs], placeholders))
    with quiet_jax():
        f = compile_function([*placeholders, *noise_inputs, *extra_inputs], outputs, updates=kept, mode=mode,
                              givens=batch_givens + list(zip(draw_vars, noise_inputs)), on_unused_input="ignore")
    data = [d for _, d in pairs]
    # Each draw's size and parameters (shapes of the minibatch, constants): computed on the host, once per input shape.
    size_fn = draw_parameters(draws, [*placeholders, *extra_inputs], batch_givens) if draws else None
    size_cache, traced = {}, set()

    def step(index, *extra):
        lo = index * batch_size
        batch = [d.get_value(borrow=True)[lo: lo + batch_size] for d in data]
        noise, shapes = [], tuple(b.shape for b in batch)
        if draws:
            # Sizes depend on the minibatch's shape; a draw's parameters may depend on the scalar extra
            # inputs (a binomial's p, say), so they are part of the key too.
            try:
                key = (shapes, tuple(float(e) for e in extra))
            except (TypeError, ValueError):  # a non-scalar extra input: no caching
                key = None
            meta = size_cache.get(key) or size_fn(*batch, *extra)
            if key is not None:
                size_cache[key] = meta
            noise = [draw_on_host(rng_var, node, size, params) for (rng_var, node), (size, *params) in zip(draws, meta)]
        if shapes in traced:
            return f(*batch, *noise, *extra)
        with quiet_jax(), deferred_interrupts():  # the first call of a shape traces and compiles: as above
            out = f(*batch, *noise, *extra)
        traced.add(shapes)
        return out

    note_jax_updated(mode, [var for var, _ in kept])
    return step


def to_device(rows):
    """``rows`` as a JAX device array: one transfer, after which JAX functions read it in place."""
    import jax

    return jax.device_put(rows)


def platform(mode) -> str:
    """Where functions compiled in ``mode`` run: "cpu", or JAX's accelerator ("gpu", "tpu")."""
    if not is_jax_mode(compile_mode(mode)):
        return "cpu"
    import jax

    return jax.default_backend()
