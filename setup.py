"""Install the tutorial's model modules (dA, SdA, logistic_sgd, mlp), the machinery below them
(``autoencoders_tutorial``), the applications above them (``autoencoders_tools``), and a command for each script.

``utils.py`` is not installed: it is the tutorial's small module for readers' scripts in
a clone, and a top-level ``utils`` in site-packages would clash with every other project's.
The version is defined once, in ``autoencoders_tutorial/__init__.py``.
"""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'^__version__ = "([^"]+)"$', (HERE / "autoencoders_tutorial" / "__init__.py").read_text(),
                    re.MULTILINE).group(1)

setup(
    name="autoencoders-tutorial",
    version=VERSION,
    description="The deeplearning.net denoising-autoencoder tutorial (dA, SdA, logistic regression, MLP) on PyTensor",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    license_files=["LICENSE"],
    python_requires=">=3.11",  # PyTensor 3 needs it
    classifiers=[
        "Development Status :: 4 - Beta",
        "Intended Audience :: Education",
        "Intended Audience :: Science/Research",
        "Operating System :: POSIX :: Linux",
        "Operating System :: MacOS",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
    project_urls={
        "Original tutorial (2015, Theano)": "https://github.com/lisa-lab/DeepLearningTutorials",
        "PyTensor": "https://github.com/pymc-devs/pytensor",
    },
    py_modules=["logistic_sgd", "mlp", "dA", "SdA"],
    packages=find_packages(include=["autoencoders_tutorial", "autoencoders_tutorial.*", "autoencoders_tools"]),
    entry_points={
        "console_scripts": [  # each runs its script's own parser; named so that no other package's clash
            "autoencoders-da = dA:main",
            "autoencoders-sda = SdA:main",
            "autoencoders-logistic = logistic_sgd:main",
            "autoencoders-mlp = mlp:main",
            "autoencoders-sweep = autoencoders_tools.sweep:main",
            "autoencoders-plot = autoencoders_tools.plot:main",
            "autoencoders-export = autoencoders_tools.export:main",
        ],
    },
    install_requires=[
        "pytensor>=3.0,<4",
        "numpy>=1.24",
        "pillow>=9",
        "scikit-learn>=1.6",  # validate_data, expected_failed_checks
        "tqdm>=4.60",
    ],
    extras_require={
        "test": ["pytest>=7", "pytest-xdist>=3", "hypothesis>=6", "dask[distributed]>=2024.1", "matplotlib>=3.6",  # sweep, plot
                 "onnx>=1.16", "onnxruntime>=1.18", "skl2onnx>=1.17",  # export
                 "dask[distributed]>=2024.1,<2025.3", "dask-ml>=2024.4", "zarr>=2.18"],  # data larger than memory
        "onnx": ["onnx>=1.16", "onnxruntime>=1.18", "skl2onnx>=1.17"],
        "jax": ["jax>=0.4"],
        "sweep": ["dask[distributed]>=2024.1", "matplotlib>=3.6"],
        # dask-ml's adaptive searches (HyperbandSearchCV) fail on dask >= 2025.3 (dask/dask-ml issue 1016)
        "dask": ["dask[distributed]>=2024.1,<2025.3", "dask-ml>=2024.4"],
        "zarr": ["zarr>=2.18"],
        # the documentation site (docs/README.md says why these tools); its examples run the sweep and plots
        "docs": ["sphinx>=8", "pydata-sphinx-theme>=0.16", "myst-parser>=4", "numpydoc>=1.8", "sphinx-gallery>=0.18",
                 "sphinx-argparse>=0.5", "sphinx-mathjax-offline>=0.0.2", "matplotlib>=3.6",
                 "dask[distributed]>=2024.1,<2025.3", "dask-ml>=2024.4", "zarr>=2.18", "selenium>=4.10"],
    },
)
