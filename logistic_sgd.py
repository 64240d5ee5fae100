"""Multi-class logistic regression trained by minibatch SGD, the tutorial's first model.

    P(Y = i | x, W, b) = softmax_i(x W + b),    y_pred = argmax_i P(Y = i | x, W, b),

trained on the labels' mean negative log-likelihood with early stopping on a validation set; the top layer of
the MLP and of the SdA. Reference: C. M. Bishop, "Pattern Recognition and Machine Learning", section 4.3.2.

``python logistic_sgd.py --help``: the tutorial's ``sgd_optimization_mnist``; with ``--predict``, its ``predict``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from autoencoders_tutorial.cli import add_predict_flag, base_parser, run_cli, train_or_predict
from autoencoders_tutorial.datasets import load_data, shared_splits  # noqa: F401  (load_data: the tutorial's)
from autoencoders_tutorial.engine import describe_build, host_function, pt, pytensor  # PyTensor, configured
from autoencoders_tutorial.errors import check_positive
from autoencoders_tutorial.files import params_to_arrays, save_params, set_params_from_arrays
from autoencoders_tutorial.graph import n_batches, note_score_batch
from autoencoders_tutorial.modelfiles import read_classifier
from autoencoders_tutorial.predict import predict_saved
from autoencoders_tutorial.paths import compile_classifier
from autoencoders_tutorial.rng import shared_param, tutorial_rng
from autoencoders_tutorial.runs import Run
from autoencoders_tutorial.training import early_stopping


class LogisticRegression:
    """Multi-class logistic regression, as in the tutorial.

    Parameters
    ----------
    input : TensorVariable, shape (batch, n_in)
    n_in, n_out : int
        Input dimension and number of classes.
    W, b : shared variables, optional
        Shared by identity when given; else zeros of shape (n_in, n_out), (n_out,), as in the tutorial.
    name : str
        Prefix of the shared variables' names.

    Examples
    --------
    >>> import pytensor.tensor as pt
    >>> x, y = pt.matrix("x"), pt.ivector("y")
    >>> clf = LogisticRegression(x, n_in=4, n_out=3)
    >>> cost = clf.negative_log_likelihood(y)
    """

    def __init__(self, input, n_in, n_out, W=None, b=None, *, name="logreg"):
        check_positive(n_in=n_in, n_out=n_out)
        floatX = pytensor.config.floatX
        self.W = shared_param(W, f"{name}.W", (n_in, n_out), lambda: np.zeros((n_in, n_out), dtype=floatX))
        self.b = shared_param(b, f"{name}.b", (n_out,), lambda: np.zeros(n_out, dtype=floatX))
        self.input = input
        self.n_in, self.n_out = int(n_in), int(n_out)
        activation = pt.dot(input, self.W) + self.b
        # p(y|x) and its log from one stable log-softmax.
        self.log_p_y_given_x = pt.special.log_softmax(activation, axis=1)
        self.p_y_given_x = pt.special.softmax(activation, axis=1)
        self.y_pred = pt.argmax(self.p_y_given_x, axis=1)
        self.params = [self.W, self.b]

    def _check_labels(self, y):
        if y.ndim != self.y_pred.ndim:
            raise TypeError(f"y should have the same number of dimensions as y_pred ({self.y_pred.ndim}), got {y.ndim}")
        if not y.dtype.startswith(("int", "uint")):
            raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")

    def negative_log_likelihood(self, y):
        """Mean over the minibatch of ``-log P(Y = y_i | x_i)``; ``y`` an int vector.

        The tutorial's ``log_p[arange(n), y]`` as a one-hot selection: same value and gradient, and it
        compiles on JAX, whose ``arange`` over more than 127 rows PyTensor 3.0 mis-types (int8 overflow).
        """
        self._check_labels(y)
        one_hot = pt.eq(y[:, None], np.arange(self.n_out, dtype="int32")[None, :])
        return -pt.mean(pt.sum(pt.switch(one_hot, self.log_p_y_given_x, 0), axis=1))

    def errors(self, y):
        """Fraction of the minibatch misclassified (zero-one loss); ``y`` an int vector."""
        self._check_labels(y)
        return pt.mean(pt.neq(self.y_pred, y))


def train_classifier(build, *, dataset=None, learning_rate, n_epochs, batch_size, patience, output_dir, model_file,
                     seed=1234, log=print, model_meta=None, **run_options):
    """The tutorial's run of a classifier (``mlp.py``'s too): load data, build, train with early stopping, save.

    ``build(x, y, n_in, n_out, numpy_rng) -> (classifier, cost)`` makes the model, with ``errors(y)`` and ``params``.
    Each improvement is saved atomically to ``output_dir/model_file``: a diverged or interrupted run never replaces
    it with worse parameters. Returns ``(classifier, EarlyStoppingResult, Dataset)``.
    """
    check_positive(learning_rate=learning_rate, n_epochs=n_epochs, batch_size=batch_size)
    with Run(output_dir, dataset, unit_interval=None, log=log, **run_options) as run:
        ds = run.ds
        datasets = shared_splits(ds)
        n_train = n_batches(datasets[0][0], batch_size)
        x = pt.matrix("x", dtype=run.precision)
        y = pt.ivector("y")
        classifier, cost = build(x, y, ds.n_features, ds.n_classes, tutorial_rng(seed))
        t0 = time.perf_counter()
        train_fn, valid_score, test_score = compile_classifier(
            x, y, cost, classifier.errors(y), classifier.params, datasets, batch_size, learning_rate, run.context)
        run.announce(f"dataset {ds.name}: {n_train} training minibatches of {batch_size}; "
                     f"{describe_build(time.perf_counter() - t0, run.mode)}")
        note_score_batch(batch_size, datasets, log)
        meta = dict(model_meta or {}, n_in=ds.n_features, n_out=ds.n_classes, dataset=ds.name)

        def save_best(state):
            run.save(model_file, f"the best model: validation error {state.best_validation_loss * 100:f} %, test "
                     f"error {state.test_score * 100:f} %", save_params, params_to_arrays(classifier.params), **meta,
                     validation_error=state.best_validation_loss, test_error=state.test_score)

        result = early_stopping(
            train_fn, n_train, lambda: float(np.mean(valid_score())), lambda: float(np.mean(test_score())),
            classifier.params, n_epochs=n_epochs, patience=patience, on_improvement=save_best, context=run.context,
        )
        if result.interrupted:
            run.stop((classifier, result, ds))
        per_epoch = result.seconds / max(1, len(result.epoch_seconds))
        model_path = run.out / model_file
        log(f"Optimization complete with best validation score of {result.best_validation_loss * 100:f} %, "
            f"with test performance {result.test_score * 100:f} %")
        log(f"The code ran for {result.epochs} epochs, with {result.epochs / max(result.seconds, 1e-9):f} epochs/sec "
            f"({per_epoch:.2f}s per epoch); best model saved to {model_path}")
        log(f"wrote {model_path} and {run.metrics.path}")  # inside the folder: a Ctrl-C here still names what was saved
    return classifier, result, ds


def run_logistic(dataset=None, learning_rate=0.13, n_epochs=1000, batch_size=600, patience=5000, seed=1234,
                 output_dir="logistic_sgd_out", *, log=print, **run_options):
    """The tutorial's ``sgd_optimization_mnist``: train, early-stop, save ``best_model.npz``.

    ``run_options`` are every script's (:data:`~autoencoders_tutorial.runs.RUN_OPTIONS`: ``precision``, ``mode``,
    ``data_dir``, ``train_path``, ``noise_source``, ``block_size``). Returns ``(classifier, EarlyStoppingResult)``.
    """

    def build(x, y, n_in, n_out, _rng):
        clf = LogisticRegression(input=x, n_in=n_in, n_out=n_out)
        return clf, clf.negative_log_likelihood(y)

    clf, result, _ = train_classifier(
        build, dataset=dataset, learning_rate=learning_rate, n_epochs=n_epochs,
        batch_size=batch_size, patience=patience, output_dir=output_dir, model_file="best_model.npz",
        seed=seed, log=log, model_meta={"model": "LogisticRegression"}, **run_options,
    )
    return clf, result


def predict(model_path="logistic_sgd_out/best_model.npz", dataset=None, n=10, data_dir=None, log=print, inputs=None,
            frame=True):
    """The tutorial's ``predict``: load the saved model, print predictions for the first test rows (or for
    ``inputs``: files or datasets, :func:`autoencoders_tutorial.predict.predict_inputs`)."""
    arrays, meta = read_classifier(model_path, "LogisticRegression")
    n_in, n_out = arrays["logreg.W"].shape
    x = pt.matrix("x", dtype=str(arrays["logreg.W"].dtype))
    clf = LogisticRegression(x, n_in, n_out)
    set_params_from_arrays(clf.params, arrays, source=str(model_path))
    proba = host_function([x], clf.p_y_given_x)
    return predict_saved(lambda X: proba(X.astype(x.dtype)), n_in, model_path, meta.get("dataset"), dataset, n, data_dir,
                         log, inputs, frame=frame)


def sgd_optimization_mnist(learning_rate=0.13, n_epochs=1000, dataset=None, batch_size=600, **kwargs):
    """The tutorial's name for :func:`run_logistic`."""
    return run_logistic(dataset=dataset, learning_rate=learning_rate, n_epochs=n_epochs,
                        batch_size=batch_size, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The command line: one flag per keyword argument of the run function (the docs render it)."""
    p = base_parser(__doc__, "examples:\n  python logistic_sgd.py --dataset fashion-mnist\n"
                    "  python logistic_sgd.py --predict --dataset fashion-mnist",
                    epochs=1000, learning_rate=0.13, batch_size=600, seed=1234, output_dir="logistic_sgd_out",
                    patience=5000)
    add_predict_flag(p, "best_model.npz")
    return p


def main(argv=None) -> int:
    return run_cli(build_parser(), argv, train_or_predict(run_logistic, predict, "best_model.npz"))


if __name__ == "__main__":
    sys.exit(main())
