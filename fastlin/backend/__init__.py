"""Two interchangeable kernel sets with identical names, signatures and errors.

``get("cython")`` (the default) returns the compiled kernels, ``get("numpy")`` the pure-NumPy
twin. Each is an object whose methods are the kernels listed in its ``KERNELS`` tuple.
"""
from fastlin.backend._base import KERNELS, KernelSet
from fastlin.parallel.threads import get_num_threads, set_num_threads

DEFAULT = "cython"
_NAMES = ("cython", "numpy")


def available():
    """Names of the backends this installation provides."""
    return _NAMES


def get(name=None):
    """Return the kernel set named ``"cython"`` or ``"numpy"`` (None: the default, cython).

    A KernelSet instance is passed through unchanged."""
    if name is None:
        name = DEFAULT
    if isinstance(name, KernelSet):
        return name
    if name == "cython":
        from fastlin.backend.compiled import kernels
        return kernels
    if name == "numpy":
        from fastlin.backend.reference import kernels
        return kernels
    raise ValueError(f"unknown backend {name!r}; choose 'cython' or 'numpy'")


__all__ = ["KERNELS", "KernelSet", "available", "get", "get_num_threads", "set_num_threads"]
