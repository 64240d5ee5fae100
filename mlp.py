"""Multilayer perceptron: one hidden layer under a logistic regression, the tutorial's MLP.

    f(x) = softmax(b2 + W2 s(b1 + W1 x)),    s = tanh (or sigmoid)

trained by minibatch SGD on the negative log-likelihood plus L1 and L2 penalties on the weights, with the early
stopping of ``logistic_sgd``. ``HiddenLayer`` takes ``W`` and ``b`` as shared variables (so the SdA shares its dAs').

References: X. Glorot and Y. Bengio, "Understanding the difficulty of training deep feedforward neural
networks", AISTATS 2010 (the initialisation); Y. LeCun et al., "Efficient BackProp", 1998.

``python mlp.py --help``: the training script (the tutorial's ``test_mlp``).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from autoencoders_tutorial.cli import (add_predict_flag, base_parser, nonnegative_float, positive_int, run_cli,
                                       train_or_predict)
from autoencoders_tutorial.engine import host_function, pt, pytensor  # PyTensor, configured
from autoencoders_tutorial.errors import TutorialError, check_positive
from autoencoders_tutorial.memory import check_params_fit
from autoencoders_tutorial.files import set_params_from_arrays
from autoencoders_tutorial.modelfiles import read_classifier
from autoencoders_tutorial.predict import predict_saved
from autoencoders_tutorial.rng import check_random_state, shared_param
from logistic_sgd import LogisticRegression, train_classifier


class HiddenLayer:
    """Fully connected layer ``activation(input W + b)``, as in the tutorial.

    Parameters
    ----------
    rng : int, numpy Generator or RandomState
        Draws the initial weights: uniform in +-sqrt(6 / (n_in + n_out)), 4 times that for a sigmoid.
    input : TensorVariable, shape (batch, n_in)
    n_in, n_out : int
    W : shared variable (n_in, n_out), optional
        Shared by identity when given (the SdA passes its dA's weights here).
    b : shared variable (n_out,), optional
    activation : callable or None
        ``pt.tanh`` (default), ``pt.sigmoid``, or None for a linear layer.
    name : str
        Prefix of the shared variables' names.
    """

    def __init__(self, rng, input, n_in, n_out, W=None, b=None, activation=pt.tanh, *, name="hidden"):
        check_positive(n_in=n_in, n_out=n_out)
        rng = check_random_state(rng)
        self.input = input
        floatX = pytensor.config.floatX

        def init_W():
            bound = np.sqrt(6.0 / (n_in + n_out))
            if activation is pt.sigmoid:
                bound *= 4
            return rng.uniform(low=-bound, high=bound, size=(n_in, n_out))

        self.W = shared_param(W, f"{name}.W", (n_in, n_out), init_W)
        self.b = shared_param(b, f"{name}.b", (n_out,), lambda: np.zeros(n_out, dtype=floatX))
        lin_output = pt.dot(input, self.W) + self.b
        self.output = lin_output if activation is None else activation(lin_output)
        self.params = [self.W, self.b]


class MLP:
    """One hidden layer (tanh) and a logistic-regression output layer.

    Parameters
    ----------
    rng : int, numpy Generator or RandomState
    input : TensorVariable, shape (batch, n_in)
    n_in, n_hidden, n_out : int

    Attributes
    ----------
    L1, L2_sqr : symbolic scalars
        Sum of absolute values and of squares of both weight matrices (not biases).
    negative_log_likelihood, errors : callables of the label vector ``y``
    params : list of the four shared variables
    """

    def __init__(self, rng, input, n_in, n_hidden, n_out):
        check_positive(n_in=n_in, n_hidden=n_hidden, n_out=n_out)
        check_params_fit([(n_in, n_hidden), (n_hidden, n_out)], np.dtype(pytensor.config.floatX).itemsize,
                         f"an MLP of layers {[n_in, n_hidden, n_out]}")
        rng = check_random_state(rng)
        self.hiddenLayer = HiddenLayer(rng=rng, input=input, n_in=n_in, n_out=n_hidden, activation=pt.tanh)
        self.logRegressionLayer = LogisticRegression(input=self.hiddenLayer.output, n_in=n_hidden, n_out=n_out)
        self.L1 = pt.sum(pt.abs(self.hiddenLayer.W)) + pt.sum(pt.abs(self.logRegressionLayer.W))
        self.L2_sqr = pt.sum(self.hiddenLayer.W**2) + pt.sum(self.logRegressionLayer.W**2)
        self.negative_log_likelihood = self.logRegressionLayer.negative_log_likelihood
        self.errors = self.logRegressionLayer.errors
        self.params = self.hiddenLayer.params + self.logRegressionLayer.params
        self.input = input


def run_mlp(dataset=None, learning_rate=0.01, L1_reg=0.00, L2_reg=0.0001, n_epochs=1000, batch_size=20, n_hidden=500,
            patience=10000, seed=1234, output_dir="mlp_out", *, log=print, **run_options):
    """The tutorial's ``test_mlp``: train with early stopping (``logistic_sgd.train_classifier``), save
    ``best_model.npz``. ``run_options`` are every script's (:data:`~autoencoders_tutorial.runs.RUN_OPTIONS`).
    Returns ``(classifier, EarlyStoppingResult)``.
    """
    if L1_reg < 0 or L2_reg < 0:
        raise TutorialError(f"L1_reg and L2_reg must be >= 0, got {L1_reg}, {L2_reg}")
    check_positive(n_hidden=n_hidden)

    def build(x, y, n_in, n_out, rng):
        clf = MLP(rng=rng, input=x, n_in=n_in, n_hidden=n_hidden, n_out=n_out)
        cost = clf.negative_log_likelihood(y) + L1_reg * clf.L1 + L2_reg * clf.L2_sqr
        return clf, cost

    clf, result, _ = train_classifier(
        build, dataset=dataset, learning_rate=learning_rate, n_epochs=n_epochs, batch_size=batch_size,
        patience=patience, output_dir=output_dir, model_file="best_model.npz", seed=seed, log=log, **run_options,
        model_meta={"model": "MLP", "n_hidden": n_hidden, "L1_reg": L1_reg, "L2_reg": L2_reg},
    )
    return clf, result


def test_mlp(learning_rate=0.01, L1_reg=0.00, L2_reg=0.0001, n_epochs=1000, dataset=None, batch_size=20,
             n_hidden=500, **kwargs):
    """The tutorial's name for :func:`run_mlp`."""
    return run_mlp(dataset=dataset, learning_rate=learning_rate, L1_reg=L1_reg, L2_reg=L2_reg,
                   n_epochs=n_epochs, batch_size=batch_size, n_hidden=n_hidden, **kwargs)


test_mlp.__test__ = False  # a demo, not a pytest test


def predict(model_path="mlp_out/best_model.npz", dataset=None, n=10, data_dir=None, log=print, inputs=None,
            frame=True):
    """Load the saved MLP and predict as ``logistic_sgd.predict`` does: the first ``n`` test rows, or ``inputs``."""
    arrays, meta = read_classifier(model_path, "MLP")
    (n_in, n_hidden), n_out = arrays["hidden.W"].shape, arrays["logreg.W"].shape[1]
    x = pt.matrix("x", dtype=str(arrays["hidden.W"].dtype))
    with pytensor.config.change_flags(floatX=x.dtype):
        clf = MLP(0, x, n_in, n_hidden, n_out)
    set_params_from_arrays(clf.params, arrays, source=str(model_path))
    proba = host_function([x], clf.logRegressionLayer.p_y_given_x)
    return predict_saved(lambda X: proba(X.astype(x.dtype)), n_in, model_path, meta.get("dataset"), dataset, n, data_dir,
                         log, inputs, frame=frame)


def build_parser() -> argparse.ArgumentParser:
    """The command line: one flag per keyword argument of the run function (the docs render it)."""
    p = base_parser(__doc__, "examples:\n  python mlp.py --dataset fashion-mnist --epochs 100\n"
                    "  python mlp.py --predict seven.png two.png   # the trained model on your own images", epochs=1000,
                    learning_rate=0.01, batch_size=20, seed=1234, output_dir="mlp_out", patience=10000)
    p.add_argument("--hidden", dest="n_hidden", type=positive_int, default=500, help="hidden units (default %(default)s)")
    p.add_argument("--l1", dest="L1_reg", type=nonnegative_float, default=0.0, help="L1 penalty weight (default %(default)s)")
    p.add_argument("--l2", dest="L2_reg", type=nonnegative_float, default=0.0001, help="L2 penalty weight (default %(default)s)")
    add_predict_flag(p, "best_model.npz")
    return p


def main(argv=None) -> int:
    return run_cli(build_parser(), argv, train_or_predict(run_mlp, predict, "best_model.npz"))


if __name__ == "__main__":
    sys.exit(main())
