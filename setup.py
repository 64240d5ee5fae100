"""Install the tutorial's model modules (dA, SdA, logistic_sgd, mlp) and the package below them.

``utils.py`` is not installed: it is the tutorial's small module for readers' scripts in
a clone, and a top-level ``utils`` in site-packages would clash with every other project's.
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

setup(
    name="autoencoders-tutorial",
    version="0.2.0",
    description="The deeplearning.net denoising-autoencoder tutorial (dA, SdA, logistic regression, MLP) on PyTensor",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    python_requires=">=3.10",
    py_modules=["logistic_sgd", "mlp", "dA", "SdA"],
    packages=find_packages(include=["autoencoders_tutorial", "autoencoders_tutorial.*"]),
    install_requires=[
        "pytensor>=3.0,<4",
        "numpy>=1.24",
        "pillow>=9",
        "scikit-learn>=1.6",  # validate_data, expected_failed_checks
        "tqdm>=4.60",
    ],
    extras_require={
        "test": ["pytest>=7", "pytest-xdist>=3", "dask[distributed]>=2024.1", "matplotlib>=3.6"],  # the sweep and plot tests
        "jax": ["jax>=0.4"],
        "sweep": ["dask[distributed]>=2024.1", "matplotlib>=3.6"],
    },
)
