"""The compiled kernels. Importing this package fails with an ImportError when they are not built."""
try:
    from fastlin._kernels import _codes, _config, activations, dense, losses, optim, train  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by test_build through a subprocess
    raise ImportError(
        "fastlin's compiled kernels are not built (" + str(exc) + "). Build them with "
        "`pip install .` (or `pip install -e .` in a checkout); fastlin never falls back to the "
        "slow NumPy path silently."
    ) from exc
