"""Sphinx configuration of the documentation site (how to build it: docs/README.md)."""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path[:0] = [str(ROOT), str(DOCS / "_ext")]   # the tutorial's model files, then this site's extensions

# Quick (the default, what CI builds) runs every example on small settings; AUTOENCODERS_DOCS=full on full ones.
DOCS_MODE = os.environ.get("AUTOENCODERS_DOCS", "quick")
if DOCS_MODE not in ("quick", "full"):
    raise ValueError(f"AUTOENCODERS_DOCS must be quick or full, got {DOCS_MODE!r}")

import autoencoders_tutorial  # noqa: E402  (configures PyTensor before autodoc imports the models)

project = "Denoising autoencoders, the deeplearning.net tutorial"
author = "the autoencoders-tutorial authors"
copyright = "2026, " + author
release = version = autoencoders_tutorial.__version__

extensions = [
    "myst_parser",                 # pages in Markdown, with MyST's directives and dollar maths
    "sphinx.ext.autodoc",          # the API from the docstrings
    "numpydoc",                    # the docstrings' Parameters / Returns sections
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",      # MathJax served from _static: the site works with no network
    "sphinx_gallery.gen_gallery",  # the tutorials: scripts executed at build time, figures included
    "sphinxarg.ext",               # the command line, generated from the scripts' own parsers
    "results",                     # docs/_ext/results.py: tables rendered from docs/results/*.json
]

# AUTOENCODERS_DOCS_TUTORIALS=0 builds every other page without running (or reading) the tutorials.
if os.environ.get("AUTOENCODERS_DOCS_TUTORIALS", "1") == "0":
    extensions.remove("sphinx_gallery.gen_gallery")

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "README.md", "tutorials", "sg_execution_times.rst", "results/*.md", "auto_tutorials/*.ipynb", "auto_tutorials/*.py",
                    "auto_tutorials/*.zip", "auto_tutorials/*.json"]
suppress_warnings = ["config.cache"]   # sphinx-gallery's configuration holds functions
if "sphinx_gallery.gen_gallery" not in extensions:
    exclude_patterns.append("auto_tutorials")
    suppress_warnings += ["toc.not_readable", "myst.xref_missing"]   # links to the tutorials

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()

sphinx_gallery_conf = {
    "examples_dirs": ["tutorials"],
    "gallery_dirs": ["auto_tutorials"],
    "filename_pattern": r"/plot_",           # every plot_*.py is executed
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "capture_repr": (),
    "show_memory": False,
    "min_reported_time": 1,
    "write_computation_times": False,   # its page loads jQuery from a CDN: offline it would not work
}

html_theme = "pydata_sphinx_theme"
html_title = "Denoising autoencoders"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": [],
}
# The section navigation lists a section's pages: only the tutorial has several; elsewhere it would be empty.
html_sidebars = {page: [] for page in ("index", "start", "howto/*", "explanation/*", "migration", "reference/*",
                                       "measured", "references")}
html_static_path = ["_static"]
html_css_files = ["layout.css"]   # nothing cut off: long words wrap, wide blocks scroll (docs/check_site.py checks)
maximum_signature_line_length = 88   # a long signature in the API reference puts one parameter per line
html_show_sourcelink = False
