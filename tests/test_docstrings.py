"""Every public callable has a docstring, and the API reference lists every public name.

Public: the names in the ``__all__`` of the documented modules (the public functions of
fastlin.data, which has none), and for each class its public methods, ``__call__`` included,
wherever in fastlin they are defined. A method inherits its base class's docstring, as
``inspect.getdoc`` and Sphinx's autodoc both read it.
"""
import importlib
import inspect
import pathlib
import re

import pytest

MODULES = ["fastlin", "fastlin.callbacks", "fastlin.optim", "fastlin.optim.lr_scheduler",
           "fastlin.export", "fastlin.sklearn", "fastlin.backend", "fastlin.io", "fastlin.data"]

# Callables allowed to lack a docstring: none (the list exists so that an exception is explicit).
ALLOWED_MISSING = set()

DOCS_API = pathlib.Path(__file__).resolve().parent.parent / "docs" / "api"


def _public_names(module_name):
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items() if not n.startswith("_")
                 and (inspect.isfunction(v) or inspect.isclass(v))
                 and getattr(v, "__module__", "").startswith(module_name)]
    return module, names


def _public_callables():
    seen = set()
    for module_name in MODULES:
        module, names = _public_names(module_name)
        for name in names:
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not callable(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            qualified = f"{module_name}.{name}"
            yield qualified, obj
            if inspect.isclass(obj):
                yield from _methods(qualified, obj)


def _methods(qualified, cls):
    for attr in dir(cls):
        if attr.startswith("_") and attr != "__call__":
            continue
        owner = next(k for k in cls.__mro__ if attr in vars(k))
        if not owner.__module__.startswith("fastlin"):
            continue  # scikit-learn's and object's own methods are documented there
        raw = inspect.getattr_static(cls, attr)
        if isinstance(raw, (staticmethod, classmethod)) or inspect.isfunction(raw):
            yield f"{qualified}.{attr}", getattr(cls, attr)


def test_every_public_callable_has_a_docstring():
    missing = sorted(name for name, obj in _public_callables()
                     if not (inspect.getdoc(obj) or "").strip() and name not in ALLOWED_MISSING)
    assert not missing, "public callables without a docstring:\n  " + "\n  ".join(missing)


def test_allowlist_holds_only_undocumented_names():
    # a name documented since stays off the list, so the list only shrinks
    documented = sorted(name for name, obj in _public_callables()
                        if name in ALLOWED_MISSING and (inspect.getdoc(obj) or "").strip())
    assert not documented, f"documented now, remove from ALLOWED_MISSING: {documented}"


@pytest.mark.parametrize("module_name", MODULES)
def test_api_reference_lists_every_public_name(module_name):
    page = "fastlin" if module_name == "fastlin" else module_name.rsplit(".", 1)[-1]
    text = (DOCS_API / f"{page}.rst").read_text()
    module, names = _public_names(module_name)
    listed = set(re.findall(r"^\s+(\w+)\s*$", text, flags=re.M)) | set(
        re.findall(r"``(\w+)``", text)) | set(re.findall(r":\w+:`(?:[\w.]+\.)?(\w+)`", text))
    absent = [n for n in names if not inspect.ismodule(getattr(module, n))
              and n not in listed and not n.startswith(("MAX_", "FORMAT_", "READABLE_"))]
    assert not absent, f"docs/api/{page}.rst does not list {absent}"
