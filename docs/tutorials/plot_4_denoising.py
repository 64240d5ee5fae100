"""
Denoising autoencoders
======================

:doc:`plot_3_autoencoders` ended with a problem: an autoencoder with a large code can learn to
copy its input, and a copy teaches it nothing. The **denoising autoencoder** (dA) of Vincent,
Larochelle, Bengio and Manzagol (ICML 2008) removes the problem by changing the task. Each
training input is first damaged at random, and the network must rebuild the *undamaged*
input from the damaged one. Copying now fails, since it would rebuild the damage too. To
restore a missing pixel the network has to know how pixels go together: that a stroke goes
on, that the two halves of a shirt match. Those dependencies are exactly the structure of the
data we want its features to capture.

This page describes the corruptions, walks through the library's ``dA`` class, the tutorial's
model, quoting its source, trains it, and shows what the noise does to the filters it learns.
The papers it cites are in :doc:`/references`.
"""

# %%
# The model
# ---------
#
# A corruption process :math:`q(\tilde x \mid x)` turns the input :math:`x` into a damaged copy
# :math:`\tilde x`. The autoencoder of the previous page then runs on :math:`\tilde x`, while
# the loss compares the reconstruction with the clean :math:`x`:
#
# .. math::
#
#    \tilde x \sim q(\tilde x \mid x), \qquad
#    y = s(W \tilde x + b), \qquad
#    z = s(W^T y + b'),
#
#    L_H(x, z) = -\sum_{k} \left[ x_k \log z_k + (1 - x_k) \log (1 - z_k) \right].
#
# A fresh corruption is drawn every time an input is used, so over the epochs the network
# sees many damaged versions of each image and learns to map all of them back to the same
# clean one. With no corruption it is the plain autoencoder again.
#
# Three corruptions
# -----------------
#
# The library has the three kinds of noise of Vincent et al. (JMLR 2010, section 4.2),
# chosen with ``corruption_type``; ``corruption_level`` :math:`\nu` sets how much:
#
# ``"masking"`` (the tutorial's, and the default)
#    each component is set to 0 with probability :math:`\nu` and kept otherwise:
#    :math:`\tilde x_k = m_k x_k` with :math:`m_k \sim \mathrm{Bernoulli}(1 - \nu)`. The
#    network must fill in what was erased from what is left.
# ``"gaussian"``
#    isotropic additive Gaussian noise of standard deviation :math:`\nu`:
#    :math:`\tilde x = x + \nu \varepsilon`, :math:`\varepsilon \sim \mathcal N(0, I)`. The
#    corrupted values may leave [0, 1]; only the clean target has to lie in it.
# ``"salt_and_pepper"``
#    a fraction :math:`\nu` of the components is forced to an extreme, half of them to 0 and
#    half to 1, and the rest kept.
#
# For masking and salt-and-pepper :math:`\nu` is a fraction in [0, 1); for Gaussian noise it is
# a standard deviation. This is how :meth:`dA.dA.get_corrupted_input` draws them:
#
# .. literalinclude:: /../dA.py
#    :pyobject: dA.get_corrupted_input
#
# The masking test is ``u >= level`` for a uniform ``u``, which keeps a component with
# probability :math:`1 - \nu`: the same Bernoulli mask as the tutorial's ``binomial`` draw,
# cheaper to make. The noise comes from ``theano_rng``, a PyTensor shared random generator; the
# generator's next state is returned with the SGD updates, so each call of the compiled training
# function draws new noise, and the whole run is reproducible from one seed.
#
# ``python dA.py`` trains on the block path by default with JAX (many minibatches per compiled call),
# and there this draw is not made where you read it: the library finds it in the graph and replaces it.
# On a CPU the same numpy generator draws each block's noise on the host before the call, so the masks
# are the step path's bit for bit; on a GPU a counter-based hash draws them inside the call. The page
# :doc:`/explanation/architecture` says how.
#
# Here are the three, each at level 0.3, applied to a few images. The examples on these pages
# train on scikit-learn's 8x8 digits by default (``AUTOENCODERS_DOCS=quick``, a few seconds)
# and on Fashion-MNIST at the tutorial's settings with ``AUTOENCODERS_DOCS=full``.

import os

import matplotlib.pyplot as plt
import numpy as np

from dA import dA  # import the model files (or the library) before PyTensor: they configure it
from autoencoders_tutorial.datasets import load_dataset, shared_dataset
from autoencoders_tutorial.engine import host_function, pt
from autoencoders_tutorial.graph import minibatch_function, n_batches
from autoencoders_tutorial.images import tile_raster_images

MODE = os.environ.get("AUTOENCODERS_DOCS", "quick")
if MODE == "full":   # python dA.py --dataset fashion-mnist: the tutorial's settings
    settings = dict(dataset="fashion-mnist", n_hidden=500, learning_rate=0.1, epochs=15)
else:                # small and quick: more steps per image make up for 50 times fewer images
    settings = dict(dataset="digits", n_hidden=100, learning_rate=0.5, epochs=40)

ds = load_dataset(settings["dataset"])
shape = ds.image_shape
clean = ds.test[0][:8]
print(f"{ds.name}: {ds.train[0].shape[0]} training images of {shape[0]}x{shape[1]} pixels")

x = pt.matrix("x")
corrupted = {}
for kind in ("masking", "gaussian", "salt_and_pepper"):
    noisy = dA(np.random.RandomState(0), input=x, n_visible=ds.n_features, n_hidden=1, corruption_type=kind)
    corrupted[kind] = host_function([x], noisy.get_corrupted_input(x, 0.3))(clean)

fig, axes = plt.subplots(4, len(clean), figsize=(len(clean) * 0.9, 4 * 0.95))
for r, (name, images) in enumerate([("clean", clean)] + list(corrupted.items())):
    for c, image in enumerate(images):
        axes[r, c].imshow(np.clip(image, 0, 1).reshape(shape), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axes[r, c].set_axis_off()
    axes[r, 0].set_title(name.replace("_", " "), fontsize=9, loc="left")
fig.tight_layout(h_pad=0.6, w_pad=0.2)
plt.show()

# %%
# (Gaussian values outside [0, 1] are drawn clipped.) At level 0.3 masking erases about a third
# of each image, Gaussian noise turns it grainy, and salt-and-pepper sprinkles black and white
# dots over it.
#
# The ``dA`` class, line by line
# ------------------------------
#
# :class:`dA.dA` keeps the tutorial's constructor, methods and attribute names. The constructor
# takes the two random sources (``numpy_rng`` draws the initial weights, ``theano_rng`` the
# noise), the symbolic input, the two sizes, and optionally existing shared variables for the
# weights and biases: the stacked autoencoder of the next page passes its hidden layers' own
# ``W`` and ``b`` here, so that both share one set of parameters. The arguments after ``*`` are
# the library's additions, each defaulting to the tutorial's behaviour.
#
# .. literalinclude:: /../dA.py
#    :pyobject: dA.__init__
#
# The weights start uniform in :math:`\pm 4 \sqrt{6 / (d + d')}`, the range suited to sigmoid
# units; the biases start at zero. With tied weights ``W_prime`` is not a parameter of its own
# but the symbolic transpose ``W.T``, so ``params`` is ``[W, b, b_prime]``.
#
# The encoder and decoder are one line each, on a minibatch of rows:
#
# .. literalinclude:: /../dA.py
#    :pyobject: dA.get_hidden_values
#
# .. literalinclude:: /../dA.py
#    :pyobject: dA.get_reconstructed_input
#
# The loss, per example, is computed from the decoder's pre-activation ``a``, in the softplus
# form explained on :doc:`the previous page <plot_3_autoencoders>`:
#
# .. literalinclude:: /../dA.py
#    :pyobject: dA.get_reconstruction_cost
#
# And one training step puts it all together: corrupt ``self.x``, encode the corrupted input,
# score the reconstruction against the clean ``self.x``, average over the minibatch, add the
# sparsity penalty if one was asked for, and return the cost with the updates of one SGD step
# (plus the noise generator's advance):
#
# .. literalinclude:: /../dA.py
#    :pyobject: dA.get_cost_updates
#
# The SGD updates are the tutorial's, ``p - learning_rate * grad(cost, p)`` for every
# parameter, with the gradients computed symbolically by PyTensor:
#
# .. literalinclude:: /../autoencoders_tutorial/graph.py
#    :pyobject: sgd_updates
#
# Training
# --------
#
# ``get_cost_updates`` only builds a graph. To train, compile it into a function of a minibatch
# index. In the tutorial that was ``theano.function([index], cost, updates=updates,
# givens={x: train_set_x[index * batch_size: (index + 1) * batch_size]})``: the whole training
# set lives in a shared variable, and ``givens`` slices minibatch ``index`` out of it in place
# of the symbolic ``x``. :func:`~autoencoders_tutorial.graph.minibatch_function` is that call
# (on JAX, the library's fastest engine, it slices on the host instead, which JAX needs), and
# an epoch is one call per minibatch:


def train_dA(train_x, corruption_level, n_hidden, learning_rate, epochs, batch_size=20, seed=123):
    """Train a dA as ``python dA.py`` does; return it and its cost per epoch."""
    rng = np.random.RandomState(seed)
    theano_rng = int(rng.randint(2**30))  # the noise seed first, then the weights, in the tutorial's order
    x = pt.matrix("x")
    da = dA(rng, theano_rng=theano_rng, input=x, n_visible=train_x.get_value().shape[1], n_hidden=n_hidden)
    cost, updates = da.get_cost_updates(corruption_level=corruption_level, learning_rate=learning_rate)
    train = minibatch_function([(x, train_x)], cost, batch_size, updates=updates)  # train(index) -> cost
    costs = []
    for epoch in range(epochs):
        costs.append(float(np.mean([train(i) for i in range(n_batches(train_x, batch_size))])))
    return da, costs


# %%
# With the same seed and settings this is exactly what ``python dA.py`` trains (the script runs
# the loop of :func:`~autoencoders_tutorial.training.train_epochs`, which adds progress lines,
# a metrics log, Ctrl-C handling and, with JAX on a CPU, runs up to 250 steps per call with the
# same numbers). :func:`dA.run_dA` is the whole script from Python, and
# :class:`~autoencoders_tools.estimators.DenoisingAutoencoder` the same model as a
# scikit-learn transformer. Now train one dA without noise and one with 30% masking noise:

train_x, _ = shared_dataset(ds.train, name="train")
trained = {}
for level in (0.0, 0.3):
    da, costs = train_dA(train_x, level, settings["n_hidden"], settings["learning_rate"], settings["epochs"])
    trained[level] = da
    print(f"corruption {level:.0%}: {settings['n_hidden']} hidden units, mean cost at epoch 1 {costs[0]:.4f}, "
          f"at epoch {len(costs)} {costs[-1]:.4f}")

# %%
# The cost with noise is higher: rebuilding a clean image from a damaged one is harder than
# from the image itself, and the network pays for what the noise destroyed.
#
# Filters, with and without noise
# -------------------------------
#
# Each hidden unit :math:`j` has a filter, its weights ``dA.W[:, j]`` (row :math:`j` of the
# :math:`W` of the equations): the input pattern that switches it on most strongly (among
# inputs of a given length), and, with tied
# weights, also the pattern it adds to the reconstruction. Drawn as an image, one tile per unit,
# filters show what the network has learned to look for. Here are the first 100 of each model,
# each scaled to its own range (black is its most negative weight, white its most positive):

# sphinx_gallery_thumbnail_number = 2
fig, axes = plt.subplots(1, 2, figsize=(10, 5.4))
for ax, (level, da) in zip(axes, trained.items()):
    W = da.W.get_value()
    ax.imshow(tile_raster_images(W.T[:100], img_shape=shape, tile_shape=(10, 10), tile_spacing=(1, 1)),
              cmap="gray", interpolation="nearest")
    ax.set_title(f"corruption {level:.0%}")
    ax.set_axis_off()
fig.tight_layout()
plt.show()

# %%
# Without noise most filters stay close to the random weights they started from, salt and
# pepper with little visible structure: the network reconstructs well enough without organising
# them. With noise they change character. On the 8x8 digits of the default build the change is
# modest, since a stroke is only a pixel or two wide at this size: many filters become smoother,
# with a dark or light spot or a short bar a few pixels across, one part of a digit. On
# Fashion-MNIST's 28x28 images (``AUTOENCODERS_DOCS=full``, and the full-size filters at the end of
# this page) it is plain: localised blobs and stroke pieces, detectors of parts of the images,
# which together can say what belongs where a pixel is missing.
#
# What the two do with a damaged image shows why. Below, clean test images (top row), the same
# with 30% of their pixels masked (second row), and what each model rebuilds from the masked
# images:

masking = dA(np.random.RandomState(1), input=x, n_visible=ds.n_features, n_hidden=1)
masked = host_function([x], masking.get_corrupted_input(x, 0.3))(clean)
rows = [("clean", clean), ("30% masked", masked)]
for level, da in trained.items():
    rebuild = host_function([x], da.get_reconstructed_input(da.get_hidden_values(x)))
    rows.append((f"rebuilt by the {level:.0%} model", rebuild(masked)))

fig, axes = plt.subplots(len(rows), len(clean), figsize=(len(clean) * 0.9, len(rows) * 0.95))
for r, (name, images) in enumerate(rows):
    for c, image in enumerate(images):
        axes[r, c].imshow(image.reshape(shape), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axes[r, c].set_axis_off()
    axes[r, 0].set_title(name, fontsize=9, loc="left")
fig.tight_layout(h_pad=0.6, w_pad=0.2)
plt.show()

# %%
# The model trained without noise passes the holes through; the one trained with noise fills
# them in from what is around them.
#
# At full size
# ------------
#
# The same comparison on Fashion-MNIST at the tutorial's settings: 500 hidden units, 15 epochs,
# learning rate 0.1, minibatches of 20, seed 123. The first 100 filters of each model:
#
# .. list-table::
#    :header-rows: 1
#    :widths: 50 50
#
#    * - corruption 0%
#      - corruption 30%
#    * - .. image:: /results/tutorial_filters_fashion_0.png
#           :alt: the first 100 filters of a dA trained on Fashion-MNIST without corruption
#           :width: 100%
#      - .. image:: /results/tutorial_filters_fashion_30.png
#           :alt: the first 100 filters of a dA trained on Fashion-MNIST with 30% masking noise
#           :width: 100%
#
# ``python3 dA.py --dataset fashion-mnist`` (its ``filters_corruption_0.png`` and
# ``filters_corruption_30.png``), run 2026-11-30 on a 2-core Intel Xeon with JAX on the CPU;
# the costs it printed are those of the table below, to the last digit shown. Without noise
# most filters are still grainy, close to their random start, with here and there the ghost of
# a whole garment. With 30% masking nearly every filter has structure: smooth silhouettes of
# shirts, trousers and shoes, and local spots and bars that respond to one part of the image.
#
# The same run's reconstruction sheet at 30% (``reconstructions_corruption_30.png``): ten test
# images, their masked versions, and what the network rebuilds from those:
#
# .. image:: /results/tutorial_reconstructions_fashion_30.png
#    :alt: ten Fashion-MNIST test images, the same with 30% of the pixels masked, and their reconstructions
#    :width: 100%
#
# The costs of those runs, with the original Theano code's first epoch on the same data for
# comparison:
#
# .. results-table:: /results/dA_costs_fashion.json
#
# Next, :doc:`plot_5_stacked` stacks denoising autoencoders into a deep network and puts their
# features to work in a classifier.
