"""Sphinx configuration: the API reference is generated from the installed (or in-place built)
fastlin at build time; the gallery runs examples/ and renders their figures."""
import os
import re
import sys
import warnings

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
# the checkout first, so a build from a worktree documents that worktree's sources rather than
# whichever checkout an editable install points at
sys.path.insert(0, ROOT)
os.environ.setdefault("MPLBACKEND", "agg")

import fastlin  # noqa: E402

project = "fastlin"
author = "the fastlin developers"
copyright = "fastlin developers, BSD-3-Clause"
release = version = fastlin.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "gallery/*.ipynb"]
root_doc = "index"

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"
# numpydoc's own member tables would need stub pages of their own for every method; the class
# template lists the members with autodoc instead
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False


html_theme = "pydata_sphinx_theme"
html_title = f"fastlin {release}"
html_theme_options = {
    "github_url": None,
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
# the benchmark tables stay in one file; the performance page links to a copy of it
html_extra_path = [os.path.join(ROOT, "BENCHMARKS.md")]

sphinx_gallery_conf = {
    "examples_dirs": os.path.join(ROOT, "examples"),
    "gallery_dirs": "gallery",
    # every example runs and its figures are rendered, except the Dask one: it starts a local
    # cluster of worker processes that re-import the example file, which sphinx-gallery's
    # in-process execution cannot serve, and it takes tens of seconds on two cores
    "filename_pattern": r"/(?!dask_)[^/]+\.py$",
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "plot_gallery": "True",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "within_subsection_order": "FileNameSortKey",
}

warnings.filterwarnings("ignore", category=UserWarning,
                        message="Matplotlib is currently using agg")


_LITERAL = re.compile(r"(``.+?``|`[^`]+`)")
# a fitted attribute named in prose (noise_variance_, classes_) is a hyperlink reference to rST
_TRAILING_UNDERSCORE = re.compile(r"\b([A-Za-z]\w*?)_(?=[\s.,;:)]|$)")


def _escape_trailing_underscores(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        if line.lstrip().startswith((">>>", "...")):
            continue  # code, shown as written
        parts = _LITERAL.split(line)
        lines[i] = "".join(part if j % 2 else _TRAILING_UNDERSCORE.sub(r"\1\\_", part)
                           for j, part in enumerate(parts))


def _skip_foreign_members(app, what, name, obj, skip, options):
    # scikit-learn generates set_*_request methods on every estimator; their docstrings
    # refer to scikit-learn's own glossary, which this site does not have
    module = getattr(obj, "__module__", None) or ""
    if module.startswith("sklearn.") or (name.startswith("set_") and name.endswith("_request")):
        return True
    return None


def setup(app):
    app.connect("autodoc-process-docstring", _escape_trailing_underscores)
    app.connect("autodoc-skip-member", _skip_foreign_members)
