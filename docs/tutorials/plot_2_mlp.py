"""
The multilayer perceptron
=========================

Logistic regression (:doc:`plot_1_logistic_regression`) weighs each input once per class: it
can only draw straight boundaries between the classes. A **multilayer perceptron** (MLP) first
maps the input through a **hidden layer** of non-linear units, features learned from the
data, and puts the logistic regression on top of those. With one hidden layer of enough units
it can approximate any reasonable decision boundary; the hidden layer is also what the
autoencoders of the next pages learn without labels.

This page builds the tutorial's MLP from ``mlp.py``, quoting its source: the hidden layer, its
initialisation, the L1 and L2 penalties, and its training with the minibatch SGD and early
stopping of the previous page. The papers are in :doc:`/references`.
"""

# %%
# The model
# ---------
#
# With one hidden layer the MLP is the function
#
# .. math::
#
#    f(x) = \operatorname{softmax}\!\left(b^{(2)} + W^{(2)} s\!\left(b^{(1)} + W^{(1)} x\right)\right),
#
# where :math:`h(x) = s(b^{(1)} + W^{(1)} x)` is the hidden layer, with an activation
# :math:`s` applied element by element: :math:`\tanh` in the tutorial's MLP, the logistic sigmoid
# in the stacked autoencoder's layers. The output layer is exactly the logistic regression of the
# previous page, with :math:`h(x)` as its input.
#
# :class:`mlp.HiddenLayer` is one such layer on a minibatch of rows. Like the dA of the later pages,
# it takes its ``W`` and ``b`` as existing shared variables when they are given: that is how the
# stacked denoising autoencoder makes one set of weights serve both as a hidden layer and as an
# autoencoder.
#
# .. literalinclude:: /../mlp.py
#    :pyobject: HiddenLayer.__init__
#
# :class:`mlp.MLP` stacks a tanh hidden layer and a :class:`logistic_sgd.LogisticRegression`, and
# defines the two penalties below:
#
# .. literalinclude:: /../mlp.py
#    :pyobject: MLP.__init__
#
# Initialisation
# --------------
#
# The biases start at zero, but the weights cannot: with all weights equal, every hidden unit
# computes the same thing and receives the same gradient, and they stay identical. So the weights
# are drawn at random, and the range matters. Too large, and the units start *saturated*, their
# :math:`\tanh` near :math:`\pm 1` where its slope, and so the gradient through it, is almost
# zero; too small, and the signal and the gradients shrink from layer to layer. Glorot and Bengio
# (2010) balance the two: for :math:`\tanh`, draw uniformly in
#
# .. math::
#
#    \left[-\sqrt{\frac{6}{n_{in} + n_{out}}},\ \sqrt{\frac{6}{n_{in} + n_{out}}}\right],
#
# which keeps the variance of the activations and of the gradients roughly the same across
# layers. The sigmoid is four times flatter than :math:`\tanh` at zero, so its range is four
# times wider. Here is the share of hidden activations that start saturated
# (:math:`|\tanh| > 0.99`) on the training images, with that range and with standard normal
# weights:

import os
import time

import matplotlib.pyplot as plt
import numpy as np

from mlp import MLP  # the model files first: they configure PyTensor
import pytensor
from autoencoders_tutorial.datasets import load_dataset, shared_splits
from autoencoders_tutorial.engine import pt
from autoencoders_tutorial.graph import minibatch_function, n_batches
from autoencoders_tutorial.images import tile_raster_images
from autoencoders_tutorial.paths import RunContext
from autoencoders_tutorial.training import early_stopping

MODE = os.environ.get("AUTOENCODERS_DOCS", "quick")
if MODE == "full":   # python mlp.py --dataset fashion-mnist --epochs 100: the tutorial's settings, 100 epochs
    settings = dict(dataset="fashion-mnist", n_hidden=500, learning_rate=0.01, L1_reg=0.0, L2_reg=0.0001,
                    batch_size=20, n_epochs=100, patience=10000)
else:                # scikit-learn's digits, a second or two: fewer units, larger steps
    settings = dict(dataset="digits", n_hidden=100, learning_rate=0.1, L1_reg=0.0, L2_reg=0.0001,
                    batch_size=20, n_epochs=100, patience=1000)

ds = load_dataset(settings["dataset"])
X = ds.train[0]
n_in, n_hidden = ds.n_features, settings["n_hidden"]
rng = np.random.default_rng(1234)
bound = np.sqrt(6.0 / (n_in + n_hidden))
for name, W in [(f"uniform in +-{bound:.3f}", rng.uniform(-bound, bound, (n_in, n_hidden))),
                ("standard normal", rng.standard_normal((n_in, n_hidden)))]:
    saturated = np.mean(np.abs(np.tanh(X @ W)) > 0.99)
    print(f"{name:22s} {saturated:6.1%} of the hidden activations saturated at the start")

# %%
# Regularisation: L1 and L2
# -------------------------
#
# An MLP has many more parameters than a logistic regression and can fit its training set
# closely. Early stopping is one defence; a **penalty** on large weights is another. The tutorial
# adds two to the negative log-likelihood, over both weight matrices (not the biases):
#
# .. math::
#
#    \text{cost} = \ell(\theta; \mathcal D) + \lambda_1 \lVert W \rVert_1 + \lambda_2 \lVert W \rVert_2^2,
#
#    \lVert W \rVert_1 = \sum_{ij} |W_{ij}|, \qquad \lVert W \rVert_2^2 = \sum_{ij} W_{ij}^2 .
#
# L2 (weight decay) pulls every weight towards zero in proportion to its size; L1 pulls by a
# constant amount, so that weights that matter little end at or near zero. ``MLP.L1`` and ``MLP.L2_sqr``
# above are these sums; ``run_mlp`` in ``mlp.py`` (``python mlp.py --l1 ... --l2 ...``) builds
# the cost from them, with the tutorial's defaults :math:`\lambda_1 = 0`,
# :math:`\lambda_2 = 0.0001`:
#
# .. literalinclude:: /../mlp.py
#    :start-at: def build(x, y, n_in, n_out, rng):
#    :end-at: return clf, cost
#
# Training
# --------
#
# The rest is the previous page's recipe: the gradient of the cost with respect to every
# parameter, one SGD update per parameter, and three compiled functions of a minibatch index.
# As in the tutorial, ``numpy.random.RandomState(1234)`` draws the initial weights.

batch_size, learning_rate = settings["batch_size"], settings["learning_rate"]
datasets = shared_splits(ds)
(train_set_x, train_set_y), (valid_set_x, valid_set_y), (test_set_x, test_set_y) = datasets
n_train_batches, n_valid_batches, n_test_batches = (n_batches(s, batch_size) for s, _ in datasets)

x, y = pt.matrix("x"), pt.ivector("y")
classifier = MLP(rng=np.random.RandomState(1234), input=x, n_in=n_in, n_hidden=n_hidden, n_out=ds.n_classes)
cost = (classifier.negative_log_likelihood(y)
        + settings["L1_reg"] * classifier.L1
        + settings["L2_reg"] * classifier.L2_sqr)

gparams = [pytensor.grad(cost, param) for param in classifier.params]
updates = [(param, param - learning_rate * gparam) for param, gparam in zip(classifier.params, gparams)]

train_model = minibatch_function([(x, train_set_x), (y, train_set_y)], cost, batch_size, updates=updates)
validate_model = minibatch_function([(x, valid_set_x), (y, valid_set_y)], classifier.errors(y), batch_size)
test_model = minibatch_function([(x, test_set_x), (y, test_set_y)], classifier.errors(y), batch_size)

# %%
# And the early-stopping loop of the previous page, the library's
# :func:`~autoencoders_tutorial.training.early_stopping` (``python mlp.py`` runs it the same way,
# through :func:`logistic_sgd.train_classifier`). It ends with the best parameters restored into
# ``classifier.params``.

W1_initial = classifier.hiddenLayer.W.get_value().copy()
t0 = time.perf_counter()
result = early_stopping(train_model, n_train_batches,
                        lambda: float(np.mean([validate_model(i) for i in range(n_valid_batches)])),
                        lambda: float(np.mean([test_model(i) for i in range(n_test_batches)])),
                        classifier.params, n_epochs=settings["n_epochs"], patience=settings["patience"],
                        context=RunContext(log=lambda *line: None))
print(f"{ds.name}, MLP with {n_hidden} tanh units: {result.epochs} epochs ({time.perf_counter() - t0:.1f} s)")
print(f"best validation error {result.best_validation_loss:.2%}, test error of that model {result.test_score:.2%}")

# %%
# The hidden units' weights, one tile per unit (the first 100), each scaled to its own range, and
# how far training moved them from their random start:

W1 = classifier.hiddenLayer.W.get_value()
moved = np.linalg.norm(W1 - W1_initial) / np.linalg.norm(W1_initial)
print(f"the hidden weights moved by {moved:.0%} of their initial size")
fig, ax = plt.subplots(figsize=(6, 6))
ax.imshow(tile_raster_images(W1.T[:100], img_shape=ds.image_shape, tile_shape=(10, 10), tile_spacing=(1, 1)),
          cmap="gray", interpolation="nearest")
ax.set_title(f"first 100 hidden units of the MLP, {ds.name}")
ax.set_axis_off()
fig.tight_layout()
plt.show()

# %%
# On the small digits the tiles look like noise, although training moved the weights far from
# where they started (the line above): nothing in the classification cost asks a hidden unit to
# look like a part of an image, only to help tell the classes apart. Unlike the logistic regression's templates they are not one
# per class: the output layer weighs all of them for every class. The next pages learn features
# *without* labels, by asking each unit to help rebuild the image: :doc:`plot_3_autoencoders` and
# :doc:`plot_4_denoising` train a layer to rebuild its input, and :doc:`plot_5_stacked` uses such
# layers as the hidden layers of an MLP, trained first without labels and then fine-tuned exactly
# as here.
#
# What to take away
# -----------------
#
# * An MLP is a logistic regression on top of a learned, non-linear hidden layer
#   :math:`h(x) = \tanh(W^{(1)} x + b^{(1)})`.
# * Initial weights uniform in :math:`\pm\sqrt{6 / (n_{in} + n_{out})}` (four times that for a
#   sigmoid) start the units away from saturation.
# * L1 and L2 penalties on the weights are added to the cost; training is the same minibatch SGD
#   and early stopping as for logistic regression.
