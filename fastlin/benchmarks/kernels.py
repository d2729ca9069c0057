"""The kernel table of ``python -m fastlin bench``: every kernel on the compiled and the NumPy
backend beside its floor, and the small products that skip BLAS timed against BLAS."""
import numpy as np

from fastlin._kernels import _blas
from fastlin._timing import alternate, calls_for
from fastlin.backend import get


def kernel_cases(batch, rng):
    """(name, {"cython"|"numpy"|"floor": callable}) for every kernel at this batch size, float32."""
    f = np.float32
    C, N = get("cython"), get("numpy")
    X = rng.standard_normal((batch, 256)).astype(f)
    W = (rng.standard_normal((256, 256)) * 0.06).astype(f)
    b = rng.standard_normal(256).astype(f)
    out, dZ = np.empty((batch, 256), f), rng.standard_normal((batch, 256)).astype(f)
    dW, db, dX = np.empty_like(W), np.empty_like(b), np.empty_like(X)
    y = np.empty_like(X)
    g = np.empty_like(X)
    z10 = rng.standard_normal((batch, 10)).astype(f)
    g10 = np.empty_like(z10)
    z1000 = rng.standard_normal((batch, 1000)).astype(f)
    g1000 = np.empty_like(z1000)
    labels = rng.integers(0, 10, batch)
    labels1000 = rng.integers(0, 1000, batch)
    z1 = rng.standard_normal((batch, 1)).astype(f)
    t1 = rng.integers(0, 2, (batch, 1)).astype(f)
    g1 = np.empty_like(z1)
    p = rng.standard_normal(256 * 256).astype(f)
    gp = rng.standard_normal(256 * 256).astype(f)
    vel, m, v = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    cases = []

    from fastlin._kernels import dense
    e1, e2 = np.empty(0, f), np.empty((0, 0), f)
    s1, s2, s3, s4, s5, s6 = (np.zeros_like(p) for _ in range(6))

    def pair(name, make, floor):
        cases.append((name, {"cython": make(C), "numpy": make(N), "floor": floor}))

    # floor: what no implementation of the call can beat. For dense layers, the GEMMs alone
    # (fastlin's own raw BLAS calls, no bias, no activation, no checks); for elementwise
    # kernels, NumPy moving the same bytes (a copy per input-to-output pass, an add where a
    # pass reads two arrays). Tiny calls include NumPy's ~1 us per ufunc call.
    pair("dense_forward +bias+relu 256->256",
         lambda K: lambda: K.dense_forward(X, W, b, activation="relu", out=out),
         lambda: dense.dense_forward(X, W, e1, out, 0, e1, e2, False, False, 1))
    pair("dense_backward (dW, db, dX)",
         lambda K: lambda: K.dense_backward(X, W, dZ, dW=dW, db=db, dX=dX),
         lambda: dense.dense_backward(X, W, dZ, dW, e1, dX, False, True))
    pair("sigmoid forward x256", lambda K: lambda: K.activation_forward(X, "sigmoid", out=y),
         lambda: np.copyto(y, X))
    pair("relu forward+backward x256", lambda K: lambda: (K.activation_forward(X, "relu", out=y),
                                                       K.activation_backward(dZ, "relu", x=X, out=g)),
         lambda: (np.copyto(y, X), np.add(dZ, X, out=g)))
    pair("tanh forward x256", lambda K: lambda: K.activation_forward(X, "tanh", out=y),
         lambda: np.copyto(y, X))
    pair("softmax x10", lambda K: lambda: K.softmax(z10, out=g10), lambda: np.copyto(g10, z10))
    pair("softmax_cross_entropy x10",
         lambda K: lambda: K.softmax_cross_entropy(z10, labels, grad=g10),
         lambda: np.copyto(g10, z10))
    pair("softmax_cross_entropy x1000",
         lambda K: lambda: K.softmax_cross_entropy(z1000, labels1000, grad=g1000),
         lambda: np.copyto(g1000, z1000))
    pair("sigmoid_bce x1", lambda K: lambda: K.sigmoid_binary_cross_entropy(z1, t1, grad=g1),
         lambda: np.add(z1, t1, out=g1))
    pair("mse x1", lambda K: lambda: K.mse(z1, t1, grad=g1), lambda: np.add(z1, t1, out=g1))
    pair("sgd_update momentum (65k params)",
         lambda K: lambda: K.sgd_update(p, gp, vel, lr=1e-6, momentum=0.9),
         lambda: (np.add(s1, gp, out=s2), np.copyto(s3, s4)))
    pair("adam_update (65k params)", lambda K: lambda: K.adam_update(p, gp, m, v, 1, lr=1e-6),
         lambda: (np.add(s1, gp, out=s2), np.copyto(s3, s4), np.copyto(s5, s6)))
    return cases


def _fmt_us(s):
    return f"{s * 1e6:10.1f}"


def kernel_table(rng, repeat, print_fn=print):
    """Time every kernel case at batch 128 and 4096 and print the table; returns its rows."""
    rows = []
    print_fn(f"{'kernel':<40}{'batch':>6}{'cython':>11}{'numpy':>11}{'speed-up':>10}"
             f"{'floor':>11}{'cy/floor':>10}")
    for batch in (128, 4096):
        for name, fns in kernel_cases(batch, rng):
            est = alternate(fns, 1, 1)["numpy"]
            t = alternate(fns, repeat, calls_for(est))
            ratio = t["numpy"] / t["cython"]
            rows.append(("kernel", name, batch, t["cython"], t["numpy"], ratio, t["floor"]))
            print_fn(f"{name:<40}{batch:>6}{_fmt_us(t['cython'])} {_fmt_us(t['numpy'])}{ratio:>9.2f}x"
                     f" {_fmt_us(t['floor'])}{t['cython'] / t['floor']:>9.2f}x")
    print_fn("\nfloor = what no implementation of the call can beat, timed in the same rounds: the "
             "GEMMs alone for dense layers; NumPy moving the same bytes (copy/add) for elementwise "
             "kernels (at batch 128 it includes NumPy's ~1 us per call). cy/floor 1.00x is the limit.")
    return rows


SMALL_GEMM_SHAPES = {  # (trans_a, trans_b, m, n, k): W4's and W3's products that skip BLAS
    "W4 4x2 @ 2x16": (False, False, 4, 16, 2),
    "W4 dW 2x4 @ 4x16": (True, False, 2, 16, 4),
    "W3 32x64 @ 64x1": (False, False, 32, 1, 64),
    "W3 dX 32x1 @ 1x64": (False, True, 32, 64, 1),
}


def small_gemm_rows(repeat=5, calls=20000):
    """(name, seconds per call through the small loops, through BLAS) for SMALL_GEMM_SHAPES,
    the two paths alternating, medians of ``repeat``."""
    rows = []
    for name, shape in SMALL_GEMM_SHAPES.items():
        small, blas = [], []
        for _ in range(repeat):
            small.append(_blas.time_product(*shape, True, calls))
            blas.append(_blas.time_product(*shape, False, calls))
        rows.append((name, float(np.median(small)), float(np.median(blas))))
    return rows
