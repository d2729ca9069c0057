"""A drop-in for scikit-learn: MLPClassifier, MLPRegressor, LinearRegression and
LogisticRegression with scikit-learn's parameters, fitted attributes and methods, trained by
fastlin's kernels. Swapping ``from sklearn.neural_network import MLPClassifier`` for
``from fastlin.sklearn import MLPClassifier`` must just work.

Parameters: each ``__init__`` is built from the installed scikit-learn's (1.5 through 1.9):
the same names, order and defaults (``MLPRegressor(loss="squared_error", ...)`` first on 1.7+,
``LogisticRegression(penalty="deprecated", *, C, l1_ratio, ...)`` on 1.8+), then fastlin's
extras as keyword-only parameters. Values are checked in ``fit`` against scikit-learn's own
constraints. LogisticRegression takes every penalty and solver combination scikit-learn does
(mapped onto fastlin's L-BFGS-B and proximal Newton solvers, see its docstring) and refuses
the others with scikit-learn's errors; LinearRegression(positive=True) solves non-negative
least squares.

The MLPs follow scikit-learn's training exactly: the same initial weights for the same
``random_state`` (Glorot uniform), the same shuffles, batches and early-stopping split, the
same objective (mean loss + alpha/2 ||W||² / Σ sample_weight, the intercepts unpenalised), the
same update rules (sgd with constant/invscaling/adaptive rates, adam, lbfgs on the whole data
set with ``max_fun``), ``n_iter_`` per call and ``t_`` in samples seen. Each step runs on
fastlin's kernels; sparse X (CSR/CSC) goes through :mod:`fastlin._sparse`.

Extras: ``dtype`` (None follows the input: float32 stays float32, anything else becomes
float64), ``backend`` ("cython" or "numpy"), more activations ("leaky_relu", "abs", "sigmoid"
as an alias of "logistic").
"""
from fastlin.sklearn._linear import LinearRegression
from fastlin.sklearn._logistic import LogisticRegression
from fastlin.sklearn._mlp import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor", "LinearRegression", "LogisticRegression"]

# the public path, as numpy's set_module does: reprs, documentation and pickles name
# fastlin.sklearn.MLPClassifier, which stays importable however the private modules move
for _cls in (MLPClassifier, MLPRegressor, LinearRegression, LogisticRegression):
    _cls.__module__ = __name__
del _cls
