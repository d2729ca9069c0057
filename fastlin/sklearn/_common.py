"""What every fastlin.sklearn estimator shares: an ``__init__`` built from the installed
scikit-learn's signature, its parameter constraints checked in fit, the dtype rule and input
validation with a fast path for the arrays fastlin is mostly given."""
import inspect

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import validate_parameter_constraints

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn 1.5: the method, not yet the function
    def validate_data(estimator, *args, **kwargs):
        return estimator._validate_data(*args, **kwargs)

from fastlin import _checks, _sparse

_FLOATS = (np.float64, np.float32)


def _spec(sk_cls, extras):
    """[(name, default, keyword_only)]: the installed scikit-learn class's parameters in order,
    then the extras (keyword-only) that scikit-learn does not have."""
    params = list(inspect.signature(sk_cls.__init__).parameters.values())[1:]
    names = {p.name for p in params}
    spec = [(p.name, p.default, p.kind is inspect.Parameter.KEYWORD_ONLY) for p in params]
    return spec + [(name, default, True) for name, default in extras if name not in names]


def _make_init(qualname, spec):
    """An ``__init__`` with exactly the parameters of `spec` that stores each one (scikit-learn
    reads the parameters from the signature, so it must be a real function, not **kwargs)."""
    parts, star = [], False
    for name, _, kw_only in spec:
        if kw_only and not star:
            parts.append("*")
            star = True
        parts.append(f"{name}=_defaults[{name!r}]")
    body = "".join(f"    self.{name} = {name}\n" for name, _, _ in spec) or "    pass\n"
    namespace = {"_defaults": {name: default for name, default, _ in spec}}
    exec(f"def __init__(self, {', '.join(parts)}):\n{body}", namespace)  # noqa: S102
    init = namespace["__init__"]
    init.__qualname__ = qualname
    return init


def _immutable(value):
    """A parameter value that cannot change without being replaced (so identity means same)."""
    if isinstance(value, tuple):
        return all(_immutable(v) for v in value)
    return value is None or type(value) in (bool, int, float, str, np.float64, np.int64)


class _Parity:
    """Shared parameter handling: scikit-learn's constraints, checked in fit; parameters of a
    newer scikit-learn that fastlin does not know are refused unless left at their default."""

    _spec = ()
    _known = frozenset()

    def _check_parameters(self):
        # scikit-learn's _validate_params, without its signature inspection on every call, and
        # skipped when every parameter is the very same immutable object it was at the last
        # successful check (~0.1 ms of each partial_fit); set_params or an assignment rechecks
        values = tuple(getattr(self, name) for name, _, _ in self._spec)
        if self.__dict__.get("_checked_parameters") is not None and all(
                a is b for a, b in zip(values, self._checked_parameters)):
            return
        params = dict(zip((name for name, _, _ in self._spec), values))
        validate_parameter_constraints(self._parameter_constraints, params,
                                       caller_name=type(self).__name__)
        for name, default, _ in self._spec:
            if name in self._known:
                continue
            value = getattr(self, name)
            if value is not default and not (isinstance(value, str) and value == default):
                raise ValueError(f"{type(self).__name__}: fastlin does not support scikit-learn's "
                                 f"parameter {name}={value!r}; leave it at its default {default!r}")
        if all(_immutable(v) for v in values):
            self._checked_parameters = values

    def _model_dtype(self, X):
        if self.dtype is not None:
            dt = np.dtype(self.dtype)
            if dt not in _FLOATS:
                raise ValueError(f"dtype must be float32, float64 or None, got {self.dtype!r}")
            return dt
        return np.dtype(np.float32) if X.dtype == np.float32 else np.dtype(np.float64)


_NO_Y = "no_validation"  # scikit-learn's marker for "validate X only"


def _validate(estimator, X, y=_NO_Y, *, reset=True, dtype=_FLOATS, multi_output=False,
              **kwargs):
    """scikit-learn's validate_data, with a fast path for what fastlin is mostly given: a
    finite, C-contiguous float ndarray (and a plain numeric y). It records n_features_in_ and
    forgets feature names exactly as validate_data does for such arrays; anything else (lists,
    DataFrames, sparse, NaN, a wrong width, other dtypes) goes to validate_data itself, so the
    errors and warnings are scikit-learn's."""
    dtypes = [np.dtype(d) for d in (dtype if isinstance(dtype, (list, tuple)) else [dtype])]
    fast = (type(X) is np.ndarray and X.ndim == 2 and X.dtype in dtypes
            and X.flags.c_contiguous and X.shape[0] >= 1 and X.shape[1] >= 1)
    if fast and not reset:
        fast = (getattr(estimator, "feature_names_in_", None) is None
                and X.shape[1] == getattr(estimator, "n_features_in_", None))
    if fast and y is not _NO_Y:
        fast = (type(y) is np.ndarray and y.dtype.kind in "biuf" and len(y) == len(X)
                and (y.ndim == 1 or (multi_output and y.ndim == 2 and y.shape[1] >= 1))
                and (y.dtype.kind != "f" or _checks.all_finite(y)))
    if fast and _checks.all_finite(X):
        if reset:
            estimator.n_features_in_ = X.shape[1]
            if hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
        return X if y is _NO_Y else (X, y)
    if sp.issparse(X):
        # scikit-learn's checks trust the index arrays; a malformed matrix would make SciPy's
        # compiled conversions and products read or write outside them
        _sparse.check_structure(X)
    if multi_output:
        kwargs["multi_output"] = True
    if y is _NO_Y:
        return validate_data(estimator, X, reset=reset, dtype=dtype, **kwargs)
    return validate_data(estimator, X, y, reset=reset, dtype=dtype, **kwargs)


def _sklearn_at_least(major, minor):
    import sklearn
    try:
        return tuple(int(v) for v in sklearn.__version__.split(".")[:2]) >= (major, minor)
    except ValueError:  # a development version string: take it as recent
        return True

