"""
Logistic regression
===================

Every model of this tutorial ends in the same place: a **logistic regression**, a linear
classifier that turns a vector of features into a probability for each class. It is the
output layer of the multilayer perceptron (:doc:`plot_2_mlp`) and of the stacked denoising
autoencoder (:doc:`plot_5_stacked`). It is also where the tutorial first teaches the three
things every later page uses: a cost written as a symbolic graph, **minibatch stochastic
gradient descent** on that cost, and **early stopping** on a validation set.

This page builds the model from ``logistic_sgd.py``, quoting its source, compiles the
tutorial's three functions (train, validate, test), and writes out the early-stopping loop
as the tutorial has it. The papers behind each page are listed in :doc:`/references`.

The examples run when the site is built: by default (``AUTOENCODERS_DOCS=quick``) on
scikit-learn's 8x8 digits for a second or two; ``AUTOENCODERS_DOCS=full`` runs them on
Fashion-MNIST at the tutorial's settings.
"""

# %%
# The model
# ---------
#
# The input is a vector :math:`x` of :math:`d` features (an image's pixels). For each of the
# :math:`K` classes the model computes a score, an affine function of :math:`x`, and the
# **softmax** turns the scores into probabilities that are positive and sum to one:
#
# .. math::
#
#    P(Y = i \mid x, W, b) = \operatorname{softmax}_i(W x + b)
#    = \frac{e^{W_i x + b_i}}{\sum_j e^{W_j x + b_j}}.
#
# :math:`W` is a :math:`K \times d` matrix, one row of weights per class, and :math:`b` a
# vector of :math:`K` biases. The prediction is the most probable class,
# :math:`y_{pred} = \operatorname{argmax}_i P(Y = i \mid x, W, b)`.
#
# :class:`logistic_sgd.LogisticRegression` builds these as symbolic graphs on a minibatch of
# rows ``input`` (so its ``W`` is stored as :math:`d \times K`, and the scores of a minibatch are
# ``input @ W + b``). The weights and biases start at zero, as in the tutorial, and are shared
# variables: values that live with the compiled functions and that training updates in place.
#
# .. literalinclude:: /../logistic_sgd.py
#    :pyobject: LogisticRegression.__init__
#
# The log of the probabilities comes from one ``log_softmax``, not from the log of the softmax:
# the same number, without :math:`\log 0` when a probability rounds to zero in float32.
#
# The cost: the negative log-likelihood
# -------------------------------------
#
# Training looks for the :math:`W, b` under which the training labels are most probable. With
# the examples independent, the likelihood of a set :math:`\mathcal D` of :math:`(x, y)` pairs
# is the product of :math:`P(Y = y \mid x)`, so its log is a sum, and we minimise its negative:
#
# .. math::
#
#    \ell(W, b; \mathcal D) = -\frac{1}{|\mathcal D|} \sum_{(x, y) \in \mathcal D}
#    \log P(Y = y \mid x, W, b).
#
# The tutorial uses the *mean* over the minibatch rather than the sum, so that the learning rate
# does not have to change with the minibatch size. The zero-one loss, the fraction of wrong
# predictions, is what we report, but it has no useful gradient; the negative log-likelihood is
# its smooth stand-in.
#
# .. literalinclude:: /../logistic_sgd.py
#    :pyobject: LogisticRegression.negative_log_likelihood
#
# .. literalinclude:: /../logistic_sgd.py
#    :pyobject: LogisticRegression.errors
#
# Minibatch stochastic gradient descent
# -------------------------------------
#
# Gradient descent moves every parameter a small step against the gradient of the cost. Over the
# whole training set each step would be exact and slow; over one example, cheap and noisy. The
# tutorial takes the middle road: each step uses the mean cost of a **minibatch** of
# ``batch_size`` examples,
#
# .. math::
#
#    \theta \leftarrow \theta - \eta \, \frac{\partial \ell(\theta; \text{minibatch})}{\partial \theta}
#    \quad \text{for } \theta \in \{W, b\},
#
# with a learning rate :math:`\eta`. PyTensor computes the gradients symbolically
# (``pytensor.grad``), and the updates are pairs ``(parameter, new value)`` that a compiled
# function applies after each call.
#
# The data lives in shared variables too, loaded once by ``load_data`` (here from a dataset name),
# and each compiled function takes the *index* of a minibatch: in the tutorial,
# ``theano.function([index], cost, updates=updates, givens={x: train_set_x[index * batch_size:
# (index + 1) * batch_size], y: ...})``, where ``givens`` slices the minibatch out of the shared
# data in place of the symbolic ``x`` and ``y``.
# :func:`~autoencoders_tutorial.graph.minibatch_function` is that call (on JAX, the library's
# fastest engine, it slices on the host instead, which JAX needs).

import os
import time

import matplotlib.pyplot as plt
import numpy as np

from logistic_sgd import LogisticRegression, load_data  # the model files first: they configure PyTensor
import pytensor
from autoencoders_tutorial.datasets import load_dataset
from autoencoders_tutorial.engine import pt
from autoencoders_tutorial.graph import minibatch_function, n_batches

MODE = os.environ.get("AUTOENCODERS_DOCS", "quick")
if MODE == "full":   # python logistic_sgd.py --dataset fashion-mnist: the tutorial's settings
    settings = dict(dataset="fashion-mnist", learning_rate=0.13, batch_size=600, n_epochs=1000, patience=5000)
else:                # scikit-learn's digits: 1,078 training images, so smaller minibatches and larger steps
    settings = dict(dataset="digits", learning_rate=0.5, batch_size=20, n_epochs=200, patience=1000)
learning_rate, batch_size = settings["learning_rate"], settings["batch_size"]

ds = load_dataset(settings["dataset"])
datasets = load_data(ds)  # [(train_x, train_y), (valid_x, valid_y), (test_x, test_y)], shared variables
(train_set_x, train_set_y), (valid_set_x, valid_set_y), (test_set_x, test_set_y) = datasets
n_train_batches, n_valid_batches, n_test_batches = (n_batches(s, batch_size) for s, _ in datasets)
print(f"{ds.name}: {len(ds.train[1])} training, {len(ds.valid[1])} validation, {len(ds.test[1])} test images")
print(f"{ds.n_features} pixels each, {ds.n_classes} classes; minibatches of {batch_size}")

x, y = pt.matrix("x"), pt.ivector("y")
classifier = LogisticRegression(input=x, n_in=ds.n_features, n_out=ds.n_classes)
cost = classifier.negative_log_likelihood(y)

g_W, g_b = pytensor.grad(cost, [classifier.W, classifier.b])
updates = [(classifier.W, classifier.W - learning_rate * g_W),
           (classifier.b, classifier.b - learning_rate * g_b)]

train_model = minibatch_function([(x, train_set_x), (y, train_set_y)], cost, batch_size, updates=updates)
validate_model = minibatch_function([(x, valid_set_x), (y, valid_set_y)], classifier.errors(y), batch_size)
test_model = minibatch_function([(x, test_set_x), (y, test_set_y)], classifier.errors(y), batch_size)

# %%
# ``train_model(i)`` does one SGD step on minibatch ``i`` and returns its cost;
# ``validate_model(i)`` and ``test_model(i)`` return the error rate on minibatch ``i`` of their
# set and change nothing. The library writes the two update lines once, for any list of
# parameters, as :func:`~autoencoders_tutorial.graph.sgd_updates`.
#
# Early stopping
# --------------
#
# How long to train? Too short and the model has not learned; too long and it starts to fit the
# accidents of its training set (**overfitting**): the training cost still goes down while the
# error on new data goes up. Early stopping watches the error on a **validation set**, examples
# kept out of training, and keeps the parameters that did best there. The test set is only ever
# used to report the error of those parameters: choosing by the test error would make it an
# optimistic estimate.
#
# The tutorial's version counts in minibatch iterations. It validates every
# ``validation_frequency`` minibatches (here, once an epoch). ``patience`` is the iteration at
# which training stops; each *significant* new best (better by more than the relative
# ``improvement_threshold``) moves it out to ``patience_increase`` times the current iteration,
# and any new best, significant or not, is kept, with its test error. Training stops when the
# patience runs out or after ``n_epochs``. Here is the loop as the tutorial's
# ``sgd_optimization_mnist`` writes it, with the best parameters kept in memory where the tutorial
# pickled the model:

n_epochs, patience = settings["n_epochs"], settings["patience"]
patience_increase = 2             # wait this much longer when a new best is found
improvement_threshold = 0.995     # a relative improvement of this much is significant
validation_frequency = min(n_train_batches, patience // 2)   # here: once an epoch

best_validation_loss, best_iter, test_score = np.inf, 0, 0.0
best_params = None
history = []                      # (iteration, validation error), for the figure below
start_time = time.perf_counter()
done_looping = False
epoch = 0
while (epoch < n_epochs) and (not done_looping):
    epoch = epoch + 1
    for minibatch_index in range(n_train_batches):
        minibatch_avg_cost = train_model(minibatch_index)
        iter = (epoch - 1) * n_train_batches + minibatch_index       # iterations so far (the tutorial's name)
        if (iter + 1) % validation_frequency == 0:
            this_validation_loss = float(np.mean([validate_model(i) for i in range(n_valid_batches)]))
            history.append((iter, this_validation_loss))
            if this_validation_loss < best_validation_loss:
                if this_validation_loss < best_validation_loss * improvement_threshold:
                    patience = max(patience, iter * patience_increase)
                best_validation_loss, best_iter = this_validation_loss, iter
                test_score = float(np.mean([test_model(i) for i in range(n_test_batches)]))
                best_params = [p.get_value() for p in classifier.params]   # the tutorial pickled the model here
        if patience <= iter:
            done_looping = True
            break
seconds = time.perf_counter() - start_time
print(f"stopped after {epoch} epochs ({seconds:.1f} s)")
print(f"best validation error {best_validation_loss:.2%} at iteration {best_iter + 1}, "
      f"test error {test_score:.2%}")

# %%
# This is the one early-stopping loop of the library:
# :func:`~autoencoders_tutorial.training.early_stopping` runs it for ``python logistic_sgd.py``
# (through :func:`logistic_sgd.train_classifier`), for ``python mlp.py`` and for the SdA's
# fine-tuning, with progress lines, a metrics log, checkpoints and Ctrl-C added around the same
# arithmetic, and restores the best parameters when it ends. Run from the same zero weights, it
# stops at the same iteration with the same errors:

from autoencoders_tutorial.paths import RunContext
from autoencoders_tutorial.training import early_stopping

again = LogisticRegression(input=x, n_in=ds.n_features, n_out=ds.n_classes)
cost2 = again.negative_log_likelihood(y)
updates2 = [(p, p - learning_rate * g) for p, g in zip(again.params, pytensor.grad(cost2, again.params))]
train2 = minibatch_function([(x, train_set_x), (y, train_set_y)], cost2, batch_size, updates=updates2)
errors2 = again.errors(y)
valid2 = minibatch_function([(x, valid_set_x), (y, valid_set_y)], errors2, batch_size)
test2 = minibatch_function([(x, test_set_x), (y, test_set_y)], errors2, batch_size)
result = early_stopping(train2, n_train_batches, lambda: float(np.mean([valid2(i) for i in range(n_valid_batches)])),
                        lambda: float(np.mean([test2(i) for i in range(n_test_batches)])), again.params,
                        n_epochs=n_epochs, patience=settings["patience"], context=RunContext(log=lambda *line: None))
print(f"library's loop: stopped after {result.epochs} epochs")
print(f"best validation error {result.best_validation_loss:.2%} at iteration {result.state.best_iter + 1}, "
      f"test error {result.test_score:.2%}")
assert (result.epochs, result.state.best_iter) == (epoch, best_iter)
assert np.isclose(result.best_validation_loss, best_validation_loss) and np.isclose(result.test_score, test_score)

# %%
# The validation error at each validation point, and the best one, whose parameters the loop
# keeps. It falls quickly, then wanders: later epochs do not find a better model, and once the
# patience runs out the loop stops.

its, errs = np.array(history).T
fig, ax = plt.subplots(figsize=(8, 3.6))
ax.plot((its + 1) / n_train_batches, 100 * errs, lw=1.2, label="validation error")
ax.plot((best_iter + 1) / n_train_batches, 100 * best_validation_loss, "o", color="tab:red",
        label=f"best: {best_validation_loss:.2%} (test {test_score:.2%})")
ax.set_xlabel("epoch")
ax.set_ylabel("error (%)")
ax.set_ylim(0, min(100, 100 * errs.max() * 1.1))
ax.legend()
ax.set_title(f"logistic regression on {ds.name}, minibatches of {batch_size}, learning rate {learning_rate}")
fig.tight_layout()
plt.show()

# %%
# What the model learned
# ----------------------
#
# Each class :math:`i` has one weight per pixel, column :math:`i` of ``W``: drawn as an image it is
# a template, light where ink raises the score of that class and dark where ink lowers it. Here
# are the best model's templates, each scaled to its own range:

W_best = best_params[0]
n_rows = -(-ds.n_classes // 5)
fig, axes = plt.subplots(n_rows, 5, figsize=(6.5, 1.45 * n_rows), squeeze=False)
for i, ax in enumerate(axes.ravel()):
    ax.set_axis_off()
    if i < ds.n_classes:
        ax.imshow(W_best[:, i].reshape(ds.image_shape), cmap="gray", interpolation="nearest")
        ax.set_title(f"class {i}", fontsize=10)
fig.tight_layout()
plt.show()

# %%
# A linear model can do no more than weigh each pixel once per class, which is why it confuses
# classes whose templates overlap. The next page, :doc:`plot_2_mlp`, puts a layer of learned
# features under it.
#
# What to take away
# -----------------
#
# * Logistic regression: :math:`P(Y = i \mid x) = \operatorname{softmax}_i(Wx + b)`, trained by
#   minimising the mean negative log-likelihood of the labels.
# * Minibatch SGD: the gradient is symbolic (``pytensor.grad``), the step is a list of updates,
#   and the compiled function takes a minibatch index into data that stays in shared variables.
# * Early stopping chooses the parameters by the validation error and reports the test error of
#   that choice; patience, in iterations, grows with each significant improvement.
