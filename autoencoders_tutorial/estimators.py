"""Where estimators pickled by versions up to 0.3 find their classes: they live in :mod:`autoencoders_tools.estimators`.

The one module of the machinery that imports upwards, and it holds nothing else (``tests/test_layers.py``
names it). Import the estimators from ``autoencoders_tools.estimators``.
"""

from autoencoders_tools.estimators import UNLABELED, DenoisingAutoencoder, SdAClassifier  # noqa: F401
