"""Sparse input (scipy.sparse CSR/CSC) for a Sequential model whose first layer is Dense.

The first layer's product and its weight gradient come from SciPy's compiled sparse kernels
(``X @ W`` is csr_matvecs; ``X.T @ G`` runs on the transposed, CSC view without a copy), so a
minibatch is never densified; every later layer runs through its own forward/backward, Dense
and activation fused as in ``Sequential._forward``. For a batch of m rows with z nonzeros the
first layer costs O(z · out) instead of O(m · n_features · out).

    out = forward(model, Xb)          # training call: layers keep what backward needs
    backward(model, Xb, grad_output)  # fills every layer's dW/db (dalpha), like model.backward
    predict(model, X)                 # a new array, chunked; per-thread buffers (thread-safe)

``check_X`` turns any scipy.sparse matrix into a finite CSR matrix of the model's dtype.
"""
import numpy as np
import scipy.sparse as sp

from fastlin._kernels import sparse as _kernels
from fastlin.layers import Dense
from fastlin.parallel.threads import for_size

PREDICT_BATCH = 4096


def issparse(X):
    return sp.issparse(X)


def check_X(X, n_features=None, dtype=np.float64, name="X"):
    """A CSR matrix of `dtype` with finite stored values and at least one row and column
    (converted only when needed); ValueError/TypeError naming the problem otherwise."""
    if not sp.issparse(X):
        raise TypeError(f"{name} must be a scipy.sparse matrix, got {type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}); need at least one sample and one "
                         "feature")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features, but the model expects {n_features}")
    if X.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold numbers, got dtype {X.dtype}")
    check_structure(X, name)
    X = X.tocsr()
    given = X
    if X.dtype != dtype:
        X = X.astype(dtype)
    if not np.isfinite(X.data).all():
        if given.dtype.kind == "f" and given is not X and np.isfinite(given.data).all():
            raise ValueError(f"{name} holds values beyond the range of {np.dtype(dtype).name} "
                             "(the model's dtype), which become infinite when converted")
        raise ValueError(f"{name} contains NaN or infinity")
    return X


def check_structure(X, name="X"):
    """The index arrays of a CSR/CSC/BSR/COO matrix lie inside its shape. SciPy's compiled
    conversions and products trust them (they do not call ``check_format``), so one index
    out of range would make them read or write outside the arrays; ValueError instead. Reads
    the matrix only (``check_format`` would prune and recast it in place)."""
    fmt = X.format
    if fmt in ("csr", "csc", "bsr"):
        major, minor = X.shape if fmt != "csc" else X.shape[::-1]
        if fmt == "bsr":
            r, c = X.blocksize
            major, minor = major // r, minor // c
        indptr, indices = np.asarray(X.indptr), np.asarray(X.indices)
        if (indptr.ndim != 1 or indices.ndim != 1 or indptr.shape[0] != major + 1
                or indptr.dtype.kind not in "iu" or indices.dtype.kind not in "iu"):
            raise ValueError(f"{name} is a malformed {fmt} matrix: indptr must be 1-D integers "
                             f"of length {major + 1}")
        end = int(indptr[-1])
        if (indptr[0] != 0 or end > min(indices.shape[0], X.data.shape[0])
                or (major > 0 and np.diff(indptr).min() < 0)):
            raise ValueError(f"{name} is a malformed {fmt} matrix: indptr must start at 0, never "
                             f"decrease and end within its {indices.shape[0]} stored entries")
        used = indices[:end]
        if used.size and (used.min() < 0 or used.max() >= minor):
            raise ValueError(f"{name} is a malformed {fmt} matrix: an index lies outside "
                             f"[0, {minor})")
    elif fmt == "coo":
        for axis, idx in enumerate(X.coords if hasattr(X, "coords") else (X.row, X.col)):
            idx = np.asarray(idx)
            if idx.shape != X.data.shape:
                raise ValueError(f"{name} is a malformed coo matrix: its index and data arrays "
                                 "differ in length")
            if idx.size and (idx.min() < 0 or idx.max() >= X.shape[axis]):
                raise ValueError(f"{name} is a malformed coo matrix: an index lies outside "
                                 f"[0, {X.shape[axis]})")
    return X


def _first_dense(model):
    layers = model.layers
    if not isinstance(layers[0], Dense):
        raise TypeError("sparse input needs a model whose first layer is Dense, got "
                        f"{type(layers[0]).__name__}")
    return layers[0]


def _first_product(dense, X):
    """X @ W + b as a new C-contiguous array of the layer's dtype."""
    z = np.asarray(X @ dense.W)
    if z.dtype != dense.dtype or not z.flags.c_contiguous:
        z = np.ascontiguousarray(z, dtype=dense.dtype)
    if dense.use_bias:
        z += dense.b
    return z


def forward(model, X):
    """The network's output for the sparse batch X (a CSR/CSC matrix of the model's dtype and
    width). Like ``model.forward`` the result is an internal buffer, and the layers keep what
    ``backward`` needs."""
    dense = _first_dense(model)
    dense._input = None  # its input is the sparse X, handed to backward again
    return model._forward(_first_product(dense, X), first=1)


def backward(model, X, grad_output):
    """Backpropagate d loss / d output after ``forward(model, X)``, overwriting every layer's
    gradients; the first layer's dW = Xᵀ·G comes from the sparse rows."""
    layers = model.layers
    g = grad_output
    if not isinstance(g, np.ndarray) or g.dtype != model.dtype or not g.flags.c_contiguous:
        g = np.ascontiguousarray(g, dtype=model.dtype)
    for i in range(len(layers) - 1, 0, -1):
        g = layers[i].backward(g, need_input_grad=True)
    dense = layers[0]
    _first_weight_gradient(X, g, dense.dW)
    if dense.use_bias:
        np.sum(g, axis=0, out=dense.db)


def _first_weight_gradient(X, G, dW):
    """dW = Xᵀ·G for the sparse batch X. A minibatch touches few of the columns of a wide X, so
    the product runs over those columns alone (X re-indexed to them) and scatters into the
    zeroed dW: no dense temporary of dW's size."""
    X = X.tocsr()
    cols, compact = np.unique(X.indices, return_inverse=True)
    if 2 * len(cols) > X.shape[1]:
        np.copyto(dW, np.asarray(X.T @ G), casting="same_kind")
        return
    narrow = sp.csr_matrix((X.data, compact.astype(X.indices.dtype, copy=False), X.indptr),
                           shape=(X.shape[0], len(cols)))
    dW.fill(0)
    dW[cols] = np.asarray(narrow.T @ G)


def predict(model, X):
    """The network's output for the sparse X, as a new array the caller owns: the first layer
    from the sparse rows, the rest through ``model._infer`` (per-thread buffers, so this is as
    thread-safe as ``predict`` on dense input)."""
    dense = _first_dense(model)
    X = X.tocsr()  # no copy when it already is
    out = np.empty((X.shape[0], model.n_outputs), model.dtype)
    for start in range(0, X.shape[0], PREDICT_BATCH):
        stop = min(start + PREDICT_BATCH, X.shape[0])
        model._infer(_first_product(dense, X[start:stop]), out[start:stop], first=1)
    model._trim_scratch()
    return out


class CSRProducts:
    """X @ W (on every core fastlin may use, for large X) and Xᵀ G (on one) for a CSR X, by
    fastlin/_kernels/sparse.pyx; SciPy's one-core products for any other sparse format or
    dtype."""

    def __init__(self, X, n_out):
        self.X = X
        self.compiled = (sp.isspmatrix_csr(X) or isinstance(X, sp.csr_array)) and \
            X.dtype in (np.float32, np.float64) and X.indices.dtype == X.indptr.dtype and \
            X.indices.dtype in (np.int32, np.int64)
        # every core for X @ W, and only for large products: beside the solver's own BLAS
        # calls (whose OpenBLAS threads spin between them), two threads made a 10,000 x 5,000
        # fit at 1% with 20 classes 1.3x slower (1.12 against 0.87 s). Xᵀ G on one core: its
        # per-thread blocks (d x k each) crowd L3 beside the spinning BLAS threads, and the
        # 100,000 x 50,000 fit with 20 classes took 1.87 s so, against 2.09 s with both products
        # on two threads (2.14 s on one); it also keeps the gradient independent of the core
        # count and needs no scratch block
        self.threads = for_size(X.nnz * n_out, min_elements=1 << 26) if self.compiled else 1
        self.scratch = np.empty((0, X.shape[1], n_out), X.dtype)

    def forward(self, W, out):
        if self.compiled:
            X = self.X
            _kernels.csr_times_dense(X.data, X.indices, X.indptr, W, out, self.threads)
        else:
            np.copyto(out, self.X @ W, casting="same_kind")

    def gradient(self, G, out):
        if self.compiled:
            X = self.X
            _kernels.csr_transposed_times_dense(X.data, X.indices, X.indptr, G, out,
                                                self.scratch, 1)
        else:
            np.copyto(out, self.X.T @ G, casting="same_kind")
