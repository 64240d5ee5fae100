"""Denoising autoencoder (dA), the deeplearning.net tutorial's model, on PyTensor.

A dA corrupts an input x in [0, 1]^d into x~ (by default masking noise: each component set to 0
with probability ``corruption_level``; also Gaussian or salt-and-pepper noise, ``corruption_type``),
maps x~ to a hidden code and reconstructs:

    y = s(W x~ + b),    z = s(W' y + b'),    W' = W^T (tied weights, the tutorial's default).

It is trained to make z close to the *uncorrupted* x, with the cross-entropy

    L(x, z) = - sum_k [x_k log z_k + (1 - x_k) log(1 - z_k)],

computed, with a = W' y + b', as sum_k softplus(a_k) - x_k a_k: fewer transcendentals than a
sigmoid and two logs, and no log(0) when z saturates in float32.

Optionally (``sparsity_weight`` beta > 0) the cost adds beta * sum_j KL(rho || rho^_j): the divergence
of each hidden unit's minibatch mean activation rho^_j from a target rho (``sparsity_target``).

References: P. Vincent et al., "Extracting and Composing Robust Features with Denoising Autoencoders",
ICML 2008, and "Stacked Denoising Autoencoders", JMLR 11, 2010 (section 4.2: the three corruptions);
A. Ng, "Sparse autoencoder", CS294A notes, 2011 (the KL penalty); Y. Bengio, "Learning Deep
Architectures for AI", 2009 (section 7.2).

``python dA.py --help``: the training script (the tutorial's ``test_dA``).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from autoencoders_tutorial.engine import describe_build, pt, pytensor  # first: PyTensor, configured
from autoencoders_tutorial import inference, modelfiles
from autoencoders_tutorial.cli import add_noise_flags, base_parser, nonnegative_float, positive_int, run_cli
from autoencoders_tutorial.datasets import shared_dataset
from autoencoders_tutorial.errors import check_corruption, check_positive, check_sparsity, diverged_hint
from autoencoders_tutorial.graph import n_batches, sgd_updates
from autoencoders_tutorial.images import save_filters_image, save_rows_image
from autoencoders_tutorial.modelfiles import DECODERS, LOSSES, check_dA_options, level_name
from autoencoders_tutorial.rng import check_random_state, shared_param, shared_rng, tutorial_rng
from autoencoders_tutorial.runs import Run
from autoencoders_tutorial.paths import training_function
from autoencoders_tutorial.training import train_epochs


class dA:
    """Denoising autoencoder with tied weights (by default), as in the tutorial.

    Parameters
    ----------
    numpy_rng : int, numpy.random.Generator or numpy.random.RandomState
        Draws the initial weights.
    theano_rng : None, int, numpy Generator or shared generator, optional
        Source of the corruption noise (None: seeded from ``numpy_rng``; a PyTensor shared generator is
        used as is). Its next state is in :meth:`get_cost_updates`' updates, so every call of a compiled
        function draws fresh noise and a run is reproducible from one seed.
    input : TensorVariable, shape (batch, n_visible), optional
        Symbolic input (None: a new ``pt.matrix("x")``); a lower layer's output to stack dAs.
    n_visible, n_hidden : int
    W : shared variable (n_visible, n_hidden), optional
        Shared by identity when given (the SdA shares it with an MLP hidden layer).
    bhid, bvis : shared variables (n_hidden,), (n_visible,), optional
    tied_weights : bool, default True
        False gives the decoder its own matrix ``W_prime`` (in ``params``).
    W_prime : shared variable (n_hidden, n_visible), optional
        Decoder weights when ``tied_weights=False``.
    loss : {"cross_entropy", "squared_error"}
        Reconstruction loss, summed over features, averaged over the minibatch (cross-entropy: inputs in [0, 1]).
    decoder : {"sigmoid", "linear"}
        Output non-linearity. "linear" (only with squared error) suits real-valued input.
    name : str
        Prefix of the shared variables' names ("dA.W", ...).
    corruption_type : {"masking", "gaussian", "salt_and_pepper"}
        The noise of :meth:`get_corrupted_input`: masking (the tutorial's; level = fraction set to 0),
        additive Gaussian (level = standard deviation) or salt-and-pepper (level = fraction set to 0 or 1).
    sparsity_target, sparsity_weight : float
        The sparsity penalty's target mean activation rho in (0, 1) and weight beta >= 0 (0 adds nothing).

    Examples
    --------
    >>> from dA import dA  # first: it sets PyTensor up (float32, the fastest back end found)
    >>> import numpy as np, pytensor, pytensor.tensor as pt
    >>> x = pt.matrix("x")
    >>> da = dA(np.random.default_rng(0), input=x, n_visible=16, n_hidden=4)
    >>> cost, updates = da.get_cost_updates(corruption_level=0.3, learning_rate=0.1)
    >>> train = pytensor.function([x], cost, updates=updates)
    >>> float(train(np.full((2, 16), 0.5, dtype=pytensor.config.floatX))) > 0
    True
    """

    def __init__(self, numpy_rng, theano_rng=None, input=None, n_visible=784, n_hidden=500,
                 W=None, bhid=None, bvis=None, *,
                 tied_weights=True, W_prime=None, loss="cross_entropy", decoder="sigmoid", name="dA",
                 corruption_type="masking", sparsity_target=0.05, sparsity_weight=0.0):
        check_dA_options(n_visible, n_hidden, W is None, tied_weights, W_prime, loss, decoder, corruption_type,
                         sparsity_target, sparsity_weight)
        numpy_rng = check_random_state(numpy_rng)
        self.n_visible, self.n_hidden = int(n_visible), int(n_hidden)
        self.loss, self.decoder = loss, decoder
        self.tied_weights = bool(tied_weights)
        self.corruption_type = corruption_type
        self.sparsity_target, self.sparsity_weight = float(sparsity_target), float(sparsity_weight)
        floatX = pytensor.config.floatX
        # The noise seed is drawn first, in the tutorial's order: RandomState(123) gives its exact initial weights.
        self.theano_rng = shared_rng(theano_rng, numpy_rng, name=f"{name}.rng")

        def init_W(rows, cols):
            # The tutorial's range: 4 * sqrt(6 / (fan_in + fan_out)), suited to sigmoids.
            bound = 4 * np.sqrt(6.0 / (n_hidden + n_visible))
            return lambda: numpy_rng.uniform(low=-bound, high=bound, size=(rows, cols))

        self.W = shared_param(W, f"{name}.W", (n_visible, n_hidden), init_W(n_visible, n_hidden))
        self.b = shared_param(bhid, f"{name}.b", (n_hidden,), lambda: np.zeros(n_hidden, dtype=floatX))
        self.b_prime = shared_param(bvis, f"{name}.b_prime", (n_visible,), lambda: np.zeros(n_visible, dtype=floatX))
        if self.tied_weights:
            self.W_prime = self.W.T
        else:
            self.W_prime = shared_param(W_prime, f"{name}.W_prime", (n_hidden, n_visible), init_W(n_hidden, n_visible))
        self.x = pt.matrix("x", dtype=floatX) if input is None else input
        self.params = [self.W, self.b, self.b_prime]
        if not self.tied_weights:
            self.params.append(self.W_prime)
        self._rng_update = None

    def get_corrupted_input(self, input, corruption_level, *, rng=None):
        """Corrupt ``input`` at ``corruption_level``, by :attr:`corruption_type`.

        - masking (the tutorial's): keep each component with probability ``1 - level``, by the mask
          ``uniform >= level`` (the same Bernoulli(1 - level) as the tutorial's binomial, about 3x cheaper).
        - gaussian: ``input + level * N(0, 1)``, one standard normal per component.
        - salt_and_pepper: one uniform ``u`` per component; ``u < level / 2`` sets it to 0,
          ``level / 2 <= u < level`` to 1, else it is kept.

        ``corruption_level`` is a number or a symbolic scalar; the Python number 0 returns ``input``
        itself and draws nothing. ``rng`` (default ``theano_rng``) is the shared generator to draw from;
        :meth:`noise_updates` advances only ``theano_rng``.
        """
        if isinstance(corruption_level, (int, float, np.number)):
            if check_corruption(corruption_level, kind=self.corruption_type) == 0:
                return input
        floatX = pytensor.config.floatX
        # The block path (autoencoders_tutorial/blocks.py) replaces this draw by the same numpy generator's host noise
        # (the same masks, bit for bit) or a counter-based hash on the device (docs/explanation/architecture.md).
        draw = pt.random.normal if self.corruption_type == "gaussian" else pt.random.uniform
        next_rng, u = draw(0.0, 1.0, size=input.shape, rng=self.theano_rng if rng is None else rng, dtype=floatX,
                           return_next_rng=True)
        if rng is None or rng is self.theano_rng:
            # The generator's next state: get_cost_updates advances it; other callers add da.noise_updates() to theirs.
            self._rng_update = next_rng
        level = pt.cast(corruption_level, floatX)
        zero = pt.zeros((), dtype=input.dtype)
        if self.corruption_type == "gaussian":
            return input + level * u
        if self.corruption_type == "salt_and_pepper":
            return pt.switch(pt.lt(u, level / 2), zero, pt.switch(pt.lt(u, level), pt.ones((), dtype=input.dtype), input))
        return pt.switch(pt.ge(u, level), input, zero)

    def noise_updates(self):
        """``[(theano_rng, next state)]`` for the last corrupted input built, or ``[]``."""
        return [] if self._rng_update is None else [(self.theano_rng, self._rng_update)]

    def get_hidden_values(self, input):
        """Code ``y = sigmoid(input W + b)``; ``input`` symbolic, shape (batch, n_visible)."""
        return pt.sigmoid(pt.dot(input, self.W) + self.b)

    def _decoder_preactivation(self, hidden):
        return pt.dot(hidden, self.W_prime) + self.b_prime

    def get_reconstructed_input(self, hidden):
        """Reconstruction ``z = sigmoid(hidden W' + b')`` (or linear), shape (batch, n_visible)."""
        a = self._decoder_preactivation(hidden)
        return a if self.decoder == "linear" else pt.sigmoid(a)

    def get_reconstruction_cost(self, x, hidden):
        """Per-example reconstruction loss of ``x`` from ``hidden``, shape (batch,)."""
        a = self._decoder_preactivation(hidden)
        if self.loss == "cross_entropy":
            # -[x log s(a) + (1 - x) log(1 - s(a))] == softplus(a) - x a, exactly.
            return pt.sum(pt.softplus(a) - x * a, axis=1)
        z = a if self.decoder == "linear" else pt.sigmoid(a)
        return pt.sum(pt.sqr(z - x), axis=1)

    def sparsity_penalty(self, hidden):
        """Bernoulli ``sum_j KL(rho || mean_j)`` of each unit's minibatch mean activation, clipped off 0 and 1."""
        rho = self.sparsity_target
        eps = 1e-6
        rho_hat = pt.clip(pt.mean(hidden, axis=0), eps, 1 - eps)
        return pt.sum(rho * pt.log(rho / rho_hat) + (1 - rho) * pt.log((1 - rho) / (1 - rho_hat)))

    def get_cost_updates(self, corruption_level, learning_rate):
        """One SGD step of the denoising criterion: returns ``(cost, updates)``.

        ``cost`` is the minibatch mean of the reconstruction loss of the clean ``self.x`` from the code of
        its corrupted version (plus the sparsity penalty on those codes when ``sparsity_weight`` > 0).
        ``updates`` holds the SGD steps of ``params`` and, when noise is drawn, the generator's next state.
        """
        tilde_x = self.get_corrupted_input(self.x, corruption_level)
        y = self.get_hidden_values(tilde_x)
        cost = pt.mean(self.get_reconstruction_cost(self.x, y))
        if self.sparsity_weight:
            # the weight as a constant of the cost's dtype (a Python float is first tried in float16 and float32)
            cost = cost + pt.constant(self.sparsity_weight, dtype=cost.dtype) * self.sparsity_penalty(y)
        updates = sgd_updates(cost, self.params, learning_rate)
        if tilde_x is not self.x:
            updates += self.noise_updates()
        return cost, updates

    def check_input(self, X, what="input"):  # this and the methods below delegate to the package
        """Validate a numeric batch for this model (width, finite, [0, 1] for cross-entropy)."""
        return inference.check_input(self, X, what)

    def get_codes(self, X, chunk=1000):
        """The codes ``sigmoid(X W + b)`` of numeric rows ``X``, ``chunk`` rows at a time."""
        return inference.dA_codes(self, X, chunk)

    def save(self, path, **meta):
        """Write the parameters and options to ``path`` (``.npz``, atomically, no pickle), ``meta`` beside them."""
        return modelfiles.save_dA(self, path, **meta)

    @classmethod
    def load(cls, path, input=None, theano_rng=None):
        """A dA with the parameters saved in ``path`` (by ``python dA.py`` or :meth:`save`).

        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "da.npz"
        >>> _ = dA(0, n_visible=6, n_hidden=2).save(path)
        >>> dA.load(path).W.get_value().shape
        (6, 2)
        """
        return modelfiles.load_dA(cls, path, input, theano_rng)


def run_dA(dataset=None, learning_rate=None, training_epochs=15, batch_size=20, n_hidden=500,
           corruption_levels=(0.0, 0.3), seed=123, output_dir="dA_plots", *, tied_weights=True, loss="cross_entropy",
           decoder="sigmoid", corruption_type="masking", sparsity_target=0.05, sparsity_weight=0.0, log=print,
           **run_options):
    """The tutorial's ``test_dA``: train a dA at each corruption level, save filters.

    For each level writes to ``output_dir`` ``dA_corruption_<pct>.npz`` (the trained parameters), on square
    images ``filters_corruption_<pct>.png`` (the first 100 filters as 10x10 tiles) and
    ``reconstructions_corruption_<pct>.png``, and appends to ``metrics.jsonl``. ``learning_rate`` None is
    the tutorial's 0.1, or 0.01 with a linear decoder (at 0.1 its squared error, which no sigmoid bounds,
    collapses to a constant reconstruction). ``run_options`` are every script's
    (:data:`~autoencoders_tutorial.runs.RUN_OPTIONS`). Returns ``{level: list of epoch mean costs}``.
    """
    if learning_rate is None:
        learning_rate = 0.01 if decoder == "linear" else 0.1
        if decoder == "linear":
            log("learning rate 0.01 for the linear decoder (the sigmoid decoder's 0.1 collapses it)")
    check_positive(learning_rate=learning_rate, training_epochs=training_epochs,
                   batch_size=batch_size, n_hidden=n_hidden)
    for c in corruption_levels:
        check_corruption(c, "corruption_levels entries", corruption_type)
    run = Run(output_dir, dataset, unit_interval=loss == "cross_entropy", labelled=False, log=log, **run_options)
    check_sparsity(sparsity_target, sparsity_weight, run.precision)
    with run:
        ds = run.ds
        train_x, _ = shared_dataset(ds.train, name="train")
        n_train_batches = n_batches(train_x, batch_size)
        run.announce(f"dataset {ds.name}: {ds.train[0].shape[0]} training rows of {ds.n_features} features")
        history = {}
        for level in corruption_levels:
            pct = level_name(level)
            rng = tutorial_rng(seed)  # re-seeded per level, as the tutorial does
            theano_rng = int(rng.randint(2**30))  # test_dA draws the noise seed first
            x = pt.matrix("x", dtype=run.precision)
            da = dA(rng, theano_rng=theano_rng, input=x, n_visible=ds.n_features, n_hidden=n_hidden,
                    tied_weights=tied_weights, loss=loss, decoder=decoder, name=f"dA{pct}",
                    corruption_type=corruption_type, sparsity_target=sparsity_target, sparsity_weight=sparsity_weight)
            cost, updates = da.get_cost_updates(corruption_level=level, learning_rate=learning_rate)
            t0 = time.perf_counter()
            train_da = training_function([(x, train_x)], cost, batch_size, updates, context=run.context)
            log(f"corruption {pct}%: {describe_build(time.perf_counter() - t0, run.mode)}")
            t0 = time.perf_counter()
            res = train_epochs(train_da, n_train_batches, training_epochs, label=f"[{pct}%] ", context=run.context,
                               stall_hint="a lower learning_rate, --learning-rate (or the sigmoid decoder)",
                               diverged_hint=diverged_hint(sparsity_weight))
            minutes = (time.perf_counter() - t0) / 60
            log(f"The {pct}% corruption code for file dA.py ran for {minutes:.2f}m")
            history[level] = res.costs
            done = f"{len(res.costs)} epochs" + (" and part of the next, interrupted" if res.interrupted else "")
            model = run.save(f"dA_corruption_{pct}.npz", f"the dA at corruption {pct}% after {done}", da.save,
                             corruption_level=level, epochs_done=len(res.costs), interrupted=res.interrupted,
                             dataset=ds.name, precision=run.precision)
            log(f"wrote {model}")
            if ds.image_shape is not None:
                image = run.save_picture(f"filters_corruption_{pct}.png", "its filters", save_filters_image,
                                         da.W.get_value(borrow=True), ds.image_shape)
                log(f"wrote {image}")
                shown = (ds.test[0] if len(ds.test[0]) else ds.train[0])[:10]  # rows on disk may have no test split
                sheet = run.save_picture(f"reconstructions_corruption_{pct}.png",
                                         "clean inputs, their corrupted versions and reconstructions", save_rows_image,
                                         inference.reconstruction_rows(da, shown, level), ds.image_shape)
                log(f"wrote {sheet}")
            else:
                log("inputs are not square images; filter image skipped")
            run.metrics.write(phase=f"dA{pct}", final_cost=res.costs[-1] if res.costs else None,
                              minutes=round(minutes, 4), interrupted=res.interrupted)
            if res.interrupted:
                run.stop(history)
        log(f"wrote {run.metrics.path} (run {run.metrics.run})")
    return history


def test_dA(learning_rate=0.1, training_epochs=15, dataset=None, batch_size=20, output_folder="dA_plots", **kwargs):
    """The tutorial's name and keyword arguments for :func:`run_dA` (``output_folder`` is ``output_dir``)."""
    return run_dA(dataset=dataset, learning_rate=learning_rate, training_epochs=training_epochs,
                  batch_size=batch_size, output_dir=output_folder, **kwargs)


test_dA.__test__ = False  # a demo, not a pytest test


def build_parser() -> argparse.ArgumentParser:
    """The command line: one flag per keyword argument of ``run_dA`` (the docs render it)."""
    p = base_parser(__doc__, "example:\n  python dA.py --dataset fashion-mnist --epochs 15", epochs=15,
                    learning_rate=None, batch_size=20, seed=123, output_dir="dA_plots", epochs_kw="training_epochs",
                    learning_rate_default="0.1, or 0.01 with --decoder linear")
    p.add_argument("--hidden", dest="n_hidden", type=positive_int, default=500, help="hidden units (default %(default)s)")
    p.add_argument("--corruption", dest="corruption_levels", type=nonnegative_float, nargs="+", default=[0.0, 0.3],
                   help="corruption levels: fractions in [0, 1) for masking, see --corruption-type (default 0.0 0.3)")
    p.add_argument("--untied", dest="tied_weights", action="store_false", help="give the decoder its own weights W'")
    p.add_argument("--loss", choices=LOSSES, default="cross_entropy", help="reconstruction loss")
    p.add_argument("--decoder", choices=DECODERS, default="sigmoid", help="decoder non-linearity")
    add_noise_flags(p)
    return p


def main(argv=None) -> int:
    return run_cli(build_parser(), argv, run_dA)


if __name__ == "__main__":
    sys.exit(main())
