"""Install the tutorial's modules (dA, SdA, logistic_sgd, mlp, utils) as top-level modules."""

from pathlib import Path

from setuptools import setup

HERE = Path(__file__).parent

setup(
    name="autoencoders-tutorial",
    version="0.1.0",
    description="The deeplearning.net denoising-autoencoder tutorial (dA, SdA, logistic regression, MLP) on PyTensor",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    python_requires=">=3.10",
    py_modules=["utils", "logistic_sgd", "mlp", "dA", "SdA"],
    install_requires=[
        "pytensor>=3.0,<4",
        "numpy>=1.24",
        "pillow>=9",
        "scikit-learn>=1.2",
    ],
    extras_require={
        "test": ["pytest>=7"],
        "jax": ["jax>=0.4"],
    },
)
