"""
Autoencoders
============

Labelled examples are expensive; unlabelled ones are everywhere. An **autoencoder** is a
network that learns features from unlabelled inputs alone. It has one job: take an input,
squeeze it through a hidden layer, the **code**, and rebuild the input from the code. Nothing
tells it what the inputs mean; to rebuild them well it has to find out what they have in
common. The code is what it found: a new description of each input that a classifier, or the
next layer of a deep network, can use in place of the raw pixels.

This page sets up the model, its two reconstruction losses, and the trap every autoencoder
must avoid: learning to copy its input without learning anything about it. The next page,
:doc:`plot_4_denoising`, is the cure the tutorial is about; the last one,
:doc:`plot_5_stacked`, stacks the result into a deep classifier, the MLP of
:doc:`plot_2_mlp` with its hidden layers trained first without labels. The papers are in
:doc:`/references`.

The examples on these pages run when the site is built. By default (``AUTOENCODERS_DOCS=quick``)
they train on scikit-learn's 8x8 digits for a few seconds; ``AUTOENCODERS_DOCS=full`` runs them
on Fashion-MNIST at the tutorial's sizes.
"""

# %%
# Encoder, code, decoder
# ----------------------
#
# The input is a vector :math:`x \in [0, 1]^d` (an image's :math:`d` pixels, scaled to
# [0, 1]). The **encoder** maps it to a code :math:`y \in (0, 1)^{d'}` with one affine map and
# the logistic sigmoid :math:`s(a) = 1 / (1 + e^{-a})`, applied element by element:
#
# .. math::
#
#    y = s(W x + b),
#
# where :math:`W` is a :math:`d' \times d` weight matrix and :math:`b` a bias vector. The
# **decoder** maps the code back to a **reconstruction** :math:`z` of the input, of the same
# shape as :math:`x`:
#
# .. math::
#
#    z = s(W' y + b').
#
# The tutorial's autoencoder uses **tied weights**, :math:`W' = W^T`: the decoder reads the
# code back through the encoder's own matrix, so the model has half the weights, and each row
# of :math:`W` is both a feature detector (what the hidden unit responds to) and the pattern
# that unit paints back into the reconstruction. The parameters are
# :math:`\theta = \{W, b, b'\}`, trained by stochastic gradient descent to make :math:`z` close
# to :math:`x` on average over the training set, for a loss :math:`L(x, z)` discussed below.
#
# In the code (:class:`dA.dA`, and the :class:`~autoencoders_tools.estimators.DenoisingAutoencoder`
# estimator built on it) the inputs are the *rows* of a minibatch, so the matrix is stored the
# other way round: ``dA.W`` has shape ``(n_visible, n_hidden)``, the codes of a minibatch
# ``X`` are ``sigmoid(X @ W + b)``, and the tied decoder matrix ``W_prime`` is ``W.T``.
# ``tied_weights=False`` (``python dA.py --untied``) gives the decoder a matrix of its own.
#
# Two reconstruction losses
# -------------------------
#
# **Squared error**, :math:`L(x, z) = \lVert x - z \rVert^2 = \sum_k (x_k - z_k)^2`, is the
# natural loss when the inputs are real numbers with no fixed range: it is the negative
# log-likelihood of :math:`x` under a Gaussian centred on :math:`z`, up to constants. Its
# decoder should then be able to output any real number, so it goes with a *linear* decoder,
# :math:`z = W' y + b'` (``loss="squared_error", decoder="linear"``).
#
# **Cross-entropy** is the loss for inputs in [0, 1], such as pixel intensities or bits:
#
# .. math::
#
#    L_H(x, z) = -\sum_{k=1}^{d} \left[ x_k \log z_k + (1 - x_k) \log (1 - z_k) \right].
#
# It is the negative log-likelihood of :math:`x` when each :math:`z_k` is read as the
# probability that pixel :math:`k` is on. For a given :math:`x_k` it is smallest at
# :math:`z_k = x_k`; that smallest value is zero only for inputs that are exactly 0 or 1, so
# the cost of a grey-level image never reaches zero. It is the tutorial's loss and the
# library's default. With a sigmoid decoder it also trains better than squared error: write
# :math:`a = W' y + b'` for the decoder's pre-activation, so :math:`z = s(a)`; the gradient
# of the cross-entropy with respect to :math:`a_k` is simply :math:`z_k - x_k`, while that of
# the squared error through the sigmoid is :math:`2 (z_k - x_k) z_k (1 - z_k)`, which vanishes
# when a unit saturates at the wrong end.
#
# The library does not compute :math:`L_H` from :math:`z` as written. Since
# :math:`\log s(a) = -\operatorname{softplus}(-a)`,
# :math:`\log(1 - s(a)) = -\operatorname{softplus}(a)` and
# :math:`\operatorname{softplus}(-a) = \operatorname{softplus}(a) - a`, where
# :math:`\operatorname{softplus}(a) = \log(1 + e^a)`, the loss is, exactly,
#
# .. math::
#
#    L_H(x, z) = \sum_{k=1}^{d} \left[ \operatorname{softplus}(a_k) - x_k a_k \right],
#
# and that is what :meth:`dA.dA.get_reconstruction_cost` computes, from :math:`a`. Two
# reasons. In float32 (the library's default precision) the sigmoid of any :math:`a` above
# about 17 rounds to exactly 1, and :math:`\log(1 - z)` becomes :math:`\log 0`; the softplus
# form never forms :math:`z`, so it stays finite however confident the decoder is. And it
# costs one exponential and one logarithm per pixel instead of a sigmoid and two logarithms.
# Here are both forms in float32 with numpy, for a pixel that is on (:math:`x_k = 1`) and one
# that is off (:math:`x_k = 0`):

import os
import time

import matplotlib.pyplot as plt
import numpy as np


def from_z(x, a):
    """The cross-entropy as written, from z = s(a)."""
    z = 1 / (1 + np.exp(-a))
    with np.errstate(divide="ignore", invalid="ignore"):
        return -(x * np.log(z) + (1 - x) * np.log(1 - z))


def softplus_form(x, a):
    """The same loss as the library computes it: softplus(a) - x a."""
    return np.logaddexp(np.float32(0), a) - x * a


print(f"{'a':>5s} {'z = s(a)':>11s}   x = 1: {'from z':>8s} {'softplus':>9s}   x = 0: {'from z':>8s} {'softplus':>9s}")
for a in np.array([-5, 0, 5, 15, 17, 40], dtype=np.float32):
    one, zero = np.float32(1), np.float32(0)
    print(f"{a:5.0f} {1 / (1 + np.exp(-a)):11.8f}   {'':6s} {from_z(one, a):8.3g} {softplus_form(one, a):9.3g}"
          f"   {'':6s} {from_z(zero, a):8.3g} {softplus_form(zero, a):9.3g}")

# %%
# At :math:`a = 17` the sigmoid is exactly 1 in float32. For a pixel that is on, the loss
# computed from :math:`z` is then :math:`0 \cdot \log 0`, ``nan``, which would poison every
# parameter it touches; the softplus form gives 0, less than float32's rounding away from the true
# loss (about :math:`e^{-a}`). For a pixel that is off it is :math:`-\log 0 = \infty` instead of the true
# :math:`a`, and no gradient could come back through it; the softplus form gives 17 and 40.
#
# Under- and overcomplete codes
# -----------------------------
#
# With fewer hidden units than inputs, :math:`d' < d`, the code is **undercomplete**: it is a
# compression, and the network must keep what matters most for rebuilding the input and drop
# the rest. A purely linear autoencoder trained with squared error does exactly what
# principal component analysis does: its :math:`d'` hidden units span the subspace of the
# first :math:`d'` principal components. The sigmoid makes the encoder non-linear, so it can
# learn other features than PCA's, but the bottleneck is still what forces it to learn
# anything.
#
# With as many hidden units as inputs, or more, :math:`d' \geq d`, the code is
# **overcomplete**, and the bottleneck is gone. Overcomplete codes are often what we want (a
# rich set of features is easier for a classifier to use), but nothing in the reconstruction
# loss then stops the network from learning a map close to the identity, one that passes any
# input through to the output. Such a network reconstructs everything well, the training
# images, new images of the same kind, and random patterns that look like nothing it has
# seen, and its low reconstruction error proves nothing about what it learned of the data.
# A useful autoencoder reconstructs inputs *like its training data* well and everything else
# badly: that difference is what its features know about the data.
#
# Two cures: sparsity and noise
# -----------------------------
#
# Something other than the size of the code has to keep an overcomplete autoencoder from
# copying. The two classic constraints:
#
# **Sparsity.** Ask each hidden unit to be active only rarely. Let
# :math:`\hat\rho_j` be the mean activation of hidden unit :math:`j` over a minibatch and
# :math:`\rho` a small target (say 0.05). The penalty
#
# .. math::
#
#    \beta \sum_{j=1}^{d'} \mathrm{KL}(\rho \,\|\, \hat\rho_j)
#    = \beta \sum_{j=1}^{d'} \left[ \rho \log \frac{\rho}{\hat\rho_j}
#      + (1 - \rho) \log \frac{1 - \rho}{1 - \hat\rho_j} \right],
#
# the Kullback-Leibler divergence between a coin that comes up 1 with probability
# :math:`\rho` and one that comes up 1 with probability :math:`\hat\rho_j`, is zero when every
# unit's mean activation is the target and grows as it drifts away. It is added to the mean
# reconstruction loss of the minibatch. In the library it is ``sparsity_weight`` (:math:`\beta`,
# default 0, which adds nothing to the graph) and ``sparsity_target`` (:math:`\rho`, default
# 0.05) on :class:`dA.dA`, on the estimator, and on the command line (``--sparsity-weight``,
# ``--sparsity-target``). With most units near zero for any given input, the code can no longer
# carry every input through unchanged.
#
# **Noise.** Corrupt the input before encoding it, and ask for the *clean* input back. Copying
# is then no longer a solution, since it would reproduce the corruption. This is the
# **denoising autoencoder**, ``corruption_level`` and ``corruption_type`` in the library, and
# the subject of :doc:`the next page <plot_4_denoising>`.
#
# An example: copying, and the two cures
# --------------------------------------
#
# Four autoencoders, all trained on the same images with the library's scikit-learn estimator,
# :class:`~autoencoders_tools.estimators.DenoisingAutoencoder` (a corruption level of 0
# makes it a plain autoencoder): one undercomplete, and three overcomplete ones: plain, with 30%
# masking noise, and with the sparsity penalty. The settings are read from
# ``AUTOENCODERS_DOCS``.

from autoencoders_tutorial.datasets import load_dataset
from autoencoders_tools.estimators import DenoisingAutoencoder

MODE = os.environ.get("AUTOENCODERS_DOCS", "quick")
if MODE == "full":   # Fashion-MNIST, 50,000 training images of 28x28 pixels
    settings = dict(dataset="fashion-mnist", under=64, over=1000, epochs=15)
else:                # scikit-learn's digits, 1,078 training images of 8x8 pixels
    settings = dict(dataset="digits", under=16, over=256, epochs=50)

ds = load_dataset(settings["dataset"])
X_train, X_test = ds.train[0], ds.test[0][:500]
d = ds.n_features
print(f"{ds.name}: {len(X_train)} training images of {d} pixels; {settings['epochs']} epochs each")

# %%
# The models differ only in their code size, corruption and sparsity penalty; everything else
# is the tutorial's (learning rate 0.1, minibatches of 20, tied weights, cross-entropy), and the
# same ``random_state`` gives the overcomplete ones the same initial weights.

models = {
    f"undercomplete, {settings['under']} units": dict(n_hidden=settings["under"], corruption_level=0.0),
    f"overcomplete, {settings['over']} units, plain": dict(n_hidden=settings["over"], corruption_level=0.0),
    f"overcomplete, {settings['over']} units, 30% noise": dict(n_hidden=settings["over"], corruption_level=0.3),
    f"overcomplete, {settings['over']} units, sparse": dict(n_hidden=settings["over"], corruption_level=0.0,
                                                            sparsity_weight=0.5, sparsity_target=0.05),
}
fitted = {}
for name, params in models.items():
    t0 = time.perf_counter()
    fitted[name] = DenoisingAutoencoder(n_epochs=settings["epochs"], random_state=0, **params).fit(X_train)
    print(f"{name:40s} final training cost {fitted[name].cost_curve_[-1]:7.3f}  ({time.perf_counter() - t0:.1f} s)")

# %%
# The training costs are not comparable with one another (the noisy model is scored on
# rebuilding clean images from corrupted ones, the sparse one pays its penalty too). What we
# compare instead is what each model does with two kinds of input it was not trained on: the
# test images, and random patterns. A random pattern switches each pixel on or off with
# probability 1/2, but only in the pixels where the training images vary (the borders of the
# digits, for instance, are always blank: every model learns to leave them blank, which
# says nothing about copying). For each model we measure the squared error of the
# reconstruction, :math:`\lVert x - z \rVert^2` per image (comparable across models, and
# zero for a perfect copy, unlike the cross-entropy), and the mean activation of its hidden
# units.

rng = np.random.default_rng(0)
varying = X_train.std(axis=0) > 0.2
patterns = ((rng.random((500, d)) < 0.5) & varying).astype(np.float32)
print(f"random patterns over the {varying.sum()} of {d} pixels whose training values vary (std > 0.2)")


def reconstruct(model, X):
    return model.inverse_transform(model.transform(X))


def squared_error(model, X):
    return float(np.mean(np.sum((reconstruct(model, X) - X) ** 2, axis=1)))


print(f"\n{'':36s} {'squared error on':>17s} {'mean':>11s}")
print(f"{'model':36s} {'test':>8s} {'random':>8s} {'activation':>11s}")
for name, model in fitted.items():
    print(f"{name:36s} {squared_error(model, X_test):8.3f} {squared_error(model, patterns):8.3f} "
          f"{float(model.transform(X_test).mean()):11.3f}")

# %%
# Read the table by columns. On the test images, the plain overcomplete model is the best of
# the four: it reconstructs images it has never seen almost perfectly. But look at the random
# patterns: it rebuilds them too, far better than any of the other three, although nothing like
# them was ever in its training set. It has drifted towards the identity and passes on much of
# whatever it is given. The
# undercomplete model cannot do that (its code is too small to carry a random pattern) and
# neither can the noisy one: both reconstruct the test images fairly well and the random
# patterns badly, which is what a model that has learned the data should do. The sparse model
# lies in between, with a mean activation close to its target of 0.05: far fewer units are on
# for any given input, and it copies random patterns less well than the plain model.
#
# The images show the same thing. Above, test images; below, random patterns. The first row of
# each is the input, and under it are the four models' reconstructions, pixel values shown as
# they are (black 0, white 1).

show = 8
side = ds.image_shape
blocks = [("test images", X_test[:show]), ("random patterns", patterns[:show])]
n_rows = 1 + len(fitted)
fig, axes = plt.subplots(2 * n_rows + 1, show, figsize=(8, 0.95 * (2 * n_rows + 1)),
                         gridspec_kw=dict(height_ratios=[1] * n_rows + [0.35] + [1] * n_rows))
for ax in axes.ravel():
    ax.set_axis_off()
for b, (title, inputs) in enumerate(blocks):
    rows = [("input", inputs)] + [(name, reconstruct(m, inputs)) for name, m in fitted.items()]
    for r, (name, images) in enumerate(rows):
        row = axes[b * (n_rows + 1) + r]
        for ax, image in zip(row, images):
            ax.imshow(np.clip(image, 0, 1).reshape(side), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        row[0].text(-0.15, 0.5, name.replace(", ", "\n", 1), transform=row[0].transAxes, ha="right", va="center",
                    fontsize=10)
    axes[b * (n_rows + 1), show // 2].set_title(title, fontsize=12, x=0)
fig.subplots_adjust(left=0.25, right=0.99, top=0.96, bottom=0.01, wspace=0.06, hspace=0.08)
plt.show()

# %%
# What to take away
# -----------------
#
# * An autoencoder learns a code from unlabelled inputs by learning to reconstruct them:
#   :math:`y = s(Wx + b)`, :math:`z = s(W^T y + b')` with tied weights.
# * Cross-entropy is the loss for inputs in [0, 1] and goes with the sigmoid decoder; squared
#   error, with a linear decoder, for real-valued inputs. The library computes the
#   cross-entropy as :math:`\operatorname{softplus}(a) - x a`, the same number without
#   :math:`\log 0` in float32.
# * A low reconstruction error alone means little for an overcomplete code: the network may
#   simply copy. Test it on inputs unlike the training data.
# * A sparsity penalty or input noise stops the copying. Noise is the tutorial's choice:
#   :doc:`plot_4_denoising`.
