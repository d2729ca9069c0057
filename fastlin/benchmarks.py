"""Benchmarks behind ``python -m fastlin bench``: compiled vs NumPy kernels and training steps.

Every comparison is measured in one run, alternating the contenders round by round so drift
on a noisy machine hits both alike; medians are reported. The "GEMM floor" of a training step
is the same step's matrix products alone through NumPy's BLAS with ``out=``.
"""
import os
import platform

import numpy as np

from fastlin import MLP, SGD, Adam, BCEWithLogitsLoss, MSELoss, SoftmaxCrossEntropyLoss
from fastlin import openmp_enabled
from fastlin._kernels import _blas, _config
from fastlin._timing import alternate, calls_for
from fastlin.backend import get, get_num_threads


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


# --------------------------------------------------------------------------- workloads
WORKLOADS = {
    "W1 MLP 784-256-128-10 b128 CE SGD": dict(sizes=[784, 256, 128, 10], act="relu", batch=128, loss="ce", opt="sgd"),
    "W2 MLP 784-1024-1024-10 b256 CE SGD": dict(sizes=[784, 1024, 1024, 10], act="relu", batch=256, loss="ce", opt="sgd"),
    "W3 MLP 20-64-64-1 b32 BCE Adam": dict(sizes=[20, 64, 64, 1], act="relu", batch=32, loss="bce", opt="adam"),
    "W4 MLP 2-16-1 tanh b4 MSE SGD": dict(sizes=[2, 16, 1], act="tanh", batch=4, loss="mse", opt="sgd"),
    "W5 linear 100-1 b256 MSE SGD": dict(sizes=[100, 1], act="relu", batch=256, loss="mse", opt="sgd"),
}


def _workload_data(spec, n, rng, dtype):
    X = rng.standard_normal((n, spec["sizes"][0])).astype(dtype)
    if spec["loss"] == "ce":
        y = rng.integers(0, spec["sizes"][-1], n)
    elif spec["loss"] == "bce":
        y = rng.integers(0, 2, (n, 1)).astype(dtype)
    else:
        y = rng.standard_normal((n, 1)).astype(dtype)
    return X, y


def _loss(spec, backend):
    return {"ce": SoftmaxCrossEntropyLoss, "bce": BCEWithLogitsLoss, "mse": MSELoss}[spec["loss"]](backend=backend)


def _step(spec, backend, X, y, dtype):
    model = MLP(spec["sizes"], activation=spec["act"], seed=0, dtype=dtype, backend=backend)
    loss = _loss(spec, backend)
    opt = (SGD(model.parameters(), lr=1e-3, backend=backend) if spec["opt"] == "sgd"
           else Adam(model.parameters(), lr=1e-4, backend=backend))
    xb, yb = X[: spec["batch"]], y[: spec["batch"]]

    def step():
        out = model.forward(xb)
        loss.forward(out, yb)
        model.backward(loss.backward(), need_input_grad=False)
        opt.step()
    return step


def _gemm_floor(spec, X, dtype):
    """The step's matrix products alone, through the same row-major GEMM calls fastlin makes
    (BLAS, or csrc/fl_gemm_small.h for the products small enough to skip it): X @ W per layer,
    then dW = Xᵀ dZ and dX = dZ Wᵀ. Called straight on the raw Cython functions (no bias, no
    activation, no checks), but each call still pays Python's call and buffer-acquisition
    cost, which for W4-sized layers can exceed the arithmetic."""
    from fastlin._kernels import dense
    sizes, n = spec["sizes"], spec["batch"]
    Ws = [np.ones((a, b), dtype) * 0.01 for a, b in zip(sizes[:-1], sizes[1:])]
    acts = [np.ascontiguousarray(X[:n])] + [np.empty((n, b), dtype) for b in sizes[1:]]
    dWs = [np.empty_like(W) for W in Ws]
    dXs = [np.empty((n, a), dtype) for a in sizes[:-1]]
    e1, e2 = np.empty(0, dtype), np.empty((0, 0), dtype)

    def floor():
        for i, W in enumerate(Ws):
            dense.dense_forward(acts[i], W, e1, acts[i + 1], 0, e1, e2, False, False, 1)
        for i in range(len(Ws) - 1, -1, -1):
            dense.dense_backward(acts[i], Ws[i], acts[i + 1], dWs[i], e1, dXs[i], False, i > 0)
    return floor


def _update_floor(spec, dtype):
    """The optimizer step's memory traffic alone: NumPy adding arrays as large as all the
    parameters, as many streams as the update reads and writes (SGD: p += g, three; Adam:
    p += g and m += v, six of its seven). A floor only where the arrays are large (W1, W2):
    for a few thousand parameters or fewer (W3-W5) an add's time is mostly NumPy's fixed
    per-call cost, not the bytes, and a compiled update can beat this "floor"."""
    sizes = spec["sizes"]
    total = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    p, g = np.zeros(total, dtype), np.zeros(total, dtype)
    if spec["opt"] == "sgd":
        return lambda: np.add(p, g, out=p)
    m, v = np.zeros(total, dtype), np.zeros(total, dtype)

    def floor():
        np.add(p, g, out=p)
        np.add(m, v, out=m)
    return floor


def _careful_numpy_step(spec, X, y, dtype):
    """The step a careful NumPy user writes by hand: preallocated buffers, ``out=`` and in-place
    ufuncs, the loss gradient in closed form (softmax − onehot, sigmoid − y, 2(z − y)/n)."""
    sizes, n = spec["sizes"], spec["batch"]
    rng = np.random.default_rng(0)
    Ws = [(rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(dtype)
          for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [np.zeros(b, dtype) for b in sizes[1:]]
    A = [X[:n]] + [np.empty((n, b), dtype) for b in sizes[1:]]
    G = [np.empty((n, b), dtype) for b in sizes[1:]]
    dWs, dbs = [np.empty_like(W) for W in Ws], [np.empty_like(b) for b in bs]
    params, grads = Ws + bs, dWs + dbs
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    tmp = [np.empty_like(p) for p in params]
    yb, rows, lr, t = y[:n], np.arange(n), dtype(1e-3), [0]
    last = len(Ws) - 1

    def step():
        for i, (W, b) in enumerate(zip(Ws, bs)):
            np.matmul(A[i], W, out=A[i + 1])
            A[i + 1] += b
            if i < last:
                if spec["act"] == "relu":
                    np.maximum(A[i + 1], 0, out=A[i + 1])
                else:
                    np.tanh(A[i + 1], out=A[i + 1])
        z, g = A[-1], G[-1]
        if spec["loss"] == "ce":
            np.subtract(z, z.max(axis=1, keepdims=True), out=g)
            np.exp(g, out=g)
            g /= g.sum(axis=1, keepdims=True)
            loss = -np.log(g[rows, yb]).mean()
            g[rows, yb] -= 1
            g /= n
        elif spec["loss"] == "bce":
            loss = (np.logaddexp(0, z) - yb * z).mean()
            np.negative(z, out=g)
            np.exp(g, out=g)
            g += 1
            np.reciprocal(g, out=g)
            g -= yb
            g /= g.size
        else:
            np.subtract(z, yb, out=g)
            loss = np.vdot(g, g) / g.size
            g *= 2.0 / g.size
        for i in range(last, -1, -1):
            if i < last:
                if spec["act"] == "relu":
                    G[i] *= A[i + 1] > 0
                else:
                    G[i] *= 1 - A[i + 1] * A[i + 1]
            np.matmul(A[i].T, G[i], out=dWs[i])
            np.sum(G[i], axis=0, out=dbs[i])
            if i > 0:
                np.matmul(G[i], Ws[i].T, out=G[i - 1])
        if spec["opt"] == "sgd":
            for p, g_, w in zip(params, grads, tmp):
                np.multiply(g_, lr, out=w)
                p -= w
        else:
            t[0] += 1
            c1, c2 = 1 - 0.9 ** t[0], 1 - 0.999 ** t[0]
            for p, g_, a, v, w in zip(params, grads, m1, m2, tmp):
                a *= 0.9
                a += 0.1 * g_
                v *= 0.999
                np.multiply(g_, g_, out=w)
                w *= 0.001
                v += w
                np.sqrt(v, out=w)
                w /= np.sqrt(c2)
                w += 1e-8
                np.divide(a, w, out=w)
                w *= 1e-4 / c1
                p -= w
        return loss
    return step


def _fit_per_step(spec, backend, X, y, dtype, epochs=4, shuffle=True):
    model = MLP(spec["sizes"], activation=spec["act"], seed=0, dtype=dtype, backend=backend)
    loss = _loss(spec, backend)
    opt = (SGD(model.parameters(), lr=1e-3, backend=backend) if spec["opt"] == "sgd"
           else Adam(model.parameters(), lr=1e-4, backend=backend))
    n_steps = X.shape[0] // spec["batch"]

    def run():
        model.fit(X, y, loss=loss, optimizer=opt, epochs=epochs, batch_size=spec["batch"], seed=0,
                  shuffle=shuffle)
    return run, n_steps * epochs


def _torch_step(spec, X, y):
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    torch.set_num_threads(get_num_threads())  # the same thread budget as fastlin's kernels
    layers = []
    for i, (a, b) in enumerate(zip(spec["sizes"][:-1], spec["sizes"][1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(spec["sizes"]) - 2:
            layers.append(torch.nn.ReLU() if spec["act"] == "relu" else torch.nn.Tanh())
    net = torch.nn.Sequential(*layers)
    opt = (torch.optim.SGD(net.parameters(), lr=1e-3) if spec["opt"] == "sgd"
           else torch.optim.Adam(net.parameters(), lr=1e-4))
    xb = torch.from_numpy(X[: spec["batch"]])
    yb = torch.from_numpy(y[: spec["batch"]])
    lossf = {"ce": torch.nn.functional.cross_entropy,
             "bce": torch.nn.functional.binary_cross_entropy_with_logits,
             "mse": torch.nn.functional.mse_loss}[spec["loss"]]

    def step():
        opt.zero_grad()
        lossf(net(xb), yb).backward()
        opt.step()
    return step


def _fmt_us(s):
    return f"{s * 1e6:10.1f}"


def blas_choice_rows(repeat=7):
    """W1's nine matrix products at one BLAS thread through each OpenBLAS fastlin can use,
    alternating: {library: seconds}. The evidence beside the version rule of
    fastlin/parallel/blas_threads.py."""
    from fastlin.parallel import blas_threads
    spec = WORKLOADS["W1 MLP 784-256-128-10 b128 CE SGD"]
    X = np.random.default_rng(0).standard_normal((spec["batch"], 784)).astype(np.float32)
    floor = _gemm_floor(spec, X, np.float32)
    chosen = blas_threads.chosen()
    contenders = {}
    for name in blas_threads.libraries():
        def run(name=name):
            blas_threads.choose(name)
            floor()
        contenders[name] = run
    libs = [lib for lib in blas_threads._load().values() if lib.set_local is not None]
    before = [lib.set_local(1) for lib in libs]  # this thread, every library: 1 thread
    try:
        return alternate(contenders, repeat, 3)
    finally:
        blas_threads.choose(chosen)
        for lib, count in zip(libs, before):
            lib.set_local(count)


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


def describe_choices(print_fn=print, measure=True):
    """What fastlin chose on this machine: SIMD tier, BLAS library, thread thresholds and the
    contention guard, and (measure=True) the BLAS timing behind the choice."""
    from fastlin.parallel import blas_threads, contention
    from fastlin.parallel import threads as kernel_threads
    from fastlin.parallel.calibration import NEVER, cpu_name
    print_fn(f"CPU: {cpu_name()}, {kernel_threads._CORES} usable cores; kernels: "
             f"{_config.simd_level()} build (chosen at run time from CPUID)")
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    if coretype:
        print_fn(f"OPENBLAS_CORETYPE={coretype} is set: OpenBLAS runs that core's kernels, which "
                 f"may be slower than this CPU's (unset it for the numbers below)")
    libs = blas_threads.libraries()
    chosen = blas_threads.chosen()
    others = ", ".join(f"{name}'s OpenBLAS {version}" for name, (version, _) in libs.items()
                       if name != chosen)
    rule = os.environ.get("FASTLIN_BLAS", "auto") or "auto"
    version = libs[chosen][0] if chosen in libs else "(library not found)"
    print_fn(f"BLAS for fastlin's products: {chosen}'s OpenBLAS {version} "
             f"(FASTLIN_BLAS={rule}: the newer release; also loaded: {others or 'none'})")
    if measure and len(libs) > 1:
        t = blas_choice_rows()
        flops = 2 * 128 * (784 * 256 + 256 * 128 + 128 * 10) * 2 + 2 * 128 * (256 * 128 + 128 * 10)
        print_fn("  W1's products, 1 BLAS thread: " + ", ".join(
            f"{name} {sec * 1e6:.0f} us ({flops / sec / 1e9:.0f} GFLOP/s)" for name, sec in t.items()))
    rows, total = _blas.small_gemm_limits()
    print_fn(f"Small products skip BLAS (csrc/fl_gemm_small.h): X @ W and dZ @ W^T up to {rows} "
             f"multiply-adds per row, X^T dZ up to {total} in all")
    if measure:
        print_fn("  per call, small loops against BLAS: " + ", ".join(
            f"{name} {small * 1e9:.0f} vs {blas * 1e9:.0f} ns" for name, small, blas in small_gemm_rows()))
    guard = "on" if contention.read_wait_ns() is not None and blas_threads.available() else "off"
    def show(n):
        return "never" if n >= NEVER else str(n)
    print_fn(f"OpenMP thresholds (elements from which a kernel uses every core): exp-heavy "
             f"{show(kernel_threads.PARALLEL_MIN_ELEMENTS)}, Adam {show(kernel_threads.PARALLEL_MIN_ELEMENTS_ADAM)}"
             f", memory-bound {show(kernel_threads.PARALLEL_MIN_ELEMENTS_CHEAP)}; "
             f"{kernel_threads.THRESHOLD_SOURCE}")
    print_fn(f"fit's contention guard: {guard}")


def run_benchmarks(quick=False, threads=None, print_fn=print):
    """Print the kernel and workload tables; return the measured rows."""
    import fastlin
    if threads is not None:
        fastlin.set_num_threads(threads)
    rng = np.random.default_rng(0)
    repeat = 5 if quick else 15
    try:
        from threadpoolctl import threadpool_info
        blas = ", ".join(f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)"
                         for i in threadpool_info() if i["user_api"] == "blas")
    except ImportError:
        blas = "SciPy's OpenBLAS (install threadpoolctl for details)"
    print_fn(f"fastlin bench on {platform.machine()} {platform.processor() or ''}, Python "
             f"{platform.python_version()}, NumPy {np.__version__}")
    print_fn(f"OpenMP: {openmp_enabled()}, kernel threads: {get_num_threads()}, "
             f"SIMD: {_config.simd_level()}, BLAS: {blas}")
    describe_choices(print_fn)
    print_fn(f"medians of {repeat} alternating rounds, microseconds per call, float32\n")
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
    print_fn("")
    header = (f"{'workload (us per training step)':<38}{'floor':>8}{'careful':>9}{'np step':>9}"
              f"{'cy step':>9}{'np fit':>9}{'cy fit':>9}{'cy ordr':>9}{'torch':>9}{'fit/car':>9}"
              f"{'fit/trch':>9}"
              f"{'step/flr':>9}{'fit flr':>9}{'fit/flr':>9}{'upd flr':>9}{'fit/f+u':>9}")
    print_fn(header)
    for name, spec in WORKLOADS.items():
        if quick and name.startswith("W2"):
            continue
        dtype = np.float32
        # 64 batches of data (8 for W2), 4 epochs per timed fit call: per-call costs (input
        # checks, the epoch-start weight snapshot) are amortised as on a real data set
        n = spec["batch"] * (8 if name.startswith("W2") else 64)
        X, y = _workload_data(spec, n, rng, dtype)
        fit_c, steps = _fit_per_step(spec, "cython", X, y, dtype)
        fit_n, _ = _fit_per_step(spec, "numpy", X, y, dtype)
        fit_o, _ = _fit_per_step(spec, "cython", X, y, dtype, shuffle=False)
        contenders = {"floor": _gemm_floor(spec, X, dtype),
                      "careful": _careful_numpy_step(spec, X, y, dtype),
                      "np step": _step(spec, "numpy", X, y, dtype),
                      "cy step": _step(spec, "cython", X, y, dtype),
                      "update floor": _update_floor(spec, dtype)}
        torch_step = _torch_step(spec, X, y)
        if torch_step is not None:
            contenders["torch"] = torch_step
        est = alternate(contenders, 1, 1)["careful"]
        t = alternate(contenders, repeat, calls_for(est, 5e-3))
        floor = contenders["floor"]

        def floor_run(floor=floor, steps=steps):
            # the products of as many steps back to back as a timed fit call makes: warm, as
            # fit's are (one floor call between other contenders runs with cold caches)
            for _ in range(steps):
                floor()
        tf = alternate({"cy fit": fit_c, "np fit": fit_n, "cy ordr": fit_o, "fit floor": floor_run},
                       repeat, 1)
        for key in tf:
            t[key] = tf[key] / steps
        rows.append(("workload", name, spec["batch"], t))
        cells = "".join(f"{t[k] * 1e6:9.1f}" if k in t else f"{'n/a':>9}"
                        for k in ("floor", "careful", "np step", "cy step", "np fit", "cy fit",
                                  "cy ordr", "torch"))
        vs_torch = f"{t['torch'] / t['cy fit']:8.1f}x" if "torch" in t else f"{'n/a':>9}"
        print_fn(f"{name:<38}{cells[1:]}{t['careful'] / t['cy fit']:8.2f}x{vs_torch}"
                 f"{t['cy step'] / t['floor']:8.2f}x{t['fit floor'] * 1e6:9.1f}"
                 f"{t['cy fit'] / t['fit floor']:8.2f}x{t['update floor'] * 1e6:9.1f}"
                 f"{t['cy fit'] / (t['fit floor'] + t['update floor']):8.2f}x")
    print_fn("\nfloor = the step's matrix products alone (the GEMM calls fastlin makes, same BLAS); careful = a hand-written "
             "preallocated NumPy step; np/cy step = a manual forward/loss/backward/step loop on the "
             "numpy/cython backend; np/cy fit = per-step time inside fit(); cy ordr = the same without "
             "shuffling (the difference is the cost of reading random rows); fit/car and fit/trch = how "
             "many times faster fastlin's fit is than careful NumPy and than PyTorch eager; "
             "step/flr = cython manual step over the floor; fit flr = the floor's products run "
             "back to back for as many steps as a timed fit call (warm, as fit's are); fit/flr = "
             "cy fit over it (1.00x is the BLAS limit); upd flr = the optimizer update's memory "
             "traffic alone (NumPy adding arrays the size of all parameters, as many streams as the "
             "update moves); fit/f+u = cy fit over fit flr + upd flr, both floors together.")
    return rows


def fit_step_time(name, repeat=7):
    """Median per-step time of fit() for one workload, in this process, nothing else running."""
    spec = WORKLOADS[name]
    dtype = np.float32
    n = spec["batch"] * (8 if name.startswith("W2") else 64)
    X, y = _workload_data(spec, n, np.random.default_rng(0), dtype)
    run, steps = _fit_per_step(spec, "cython", X, y, dtype)
    one = alternate({"fit": run}, 3, 1)["fit"]
    epochs = max(4, int(4 * 0.05 / one))  # each timed call >= ~50 ms: µs-scale steps are noisy
    run, steps = _fit_per_step(spec, "cython", X, y, dtype, epochs=epochs)
    return alternate({"fit": run}, repeat, 1)["fit"] / steps


def run_scaling(print_fn=print):
    """fit per step with 1 and with 2 threads (fastlin's OpenMP and OpenBLAS together), each in
    a fresh process so that no other thread pool is awake: the "never slower with 2 threads"
    check of issue 4, free of the two-BLAS-pool contention of the alternating tables."""
    import json
    import os
    import subprocess
    import sys
    describe_choices(print_fn, measure=False)
    print_fn(f"{'workload (fit, us per step)':<38}{'1 thread':>10}{'2 threads':>11}{'2t / 1t':>9}")
    for name in WORKLOADS:
        times = []
        for threads in (1, 2):
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
            code = ("import json, fastlin; from fastlin.benchmarks import fit_step_time; "
                    f"fastlin.set_num_threads({threads}); "
                    f"print(json.dumps(fit_step_time({name!r})))")
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                 text=True, check=True).stdout
            times.append(json.loads(out.strip().splitlines()[-1]))
        print_fn(f"{name:<38}{times[0] * 1e6:10.1f}{times[1] * 1e6:11.1f}{times[1] / times[0]:8.2f}x")


_BUSY_LOOP = "import numpy as np\na = np.ones(1 << 16)\nwhile True:\n    a *= 1.0000001\n"


def run_contention(print_fn=print, names=("W1", "W3", "W5"), seconds_per_phase=None):
    """fit per step with default settings on a quiet machine, beside one busy process (a NumPy
    loop that keeps one core at 100%), and quiet again, in one run (issue 11, goal 4: at most
    2x slower when busy). Each phase is the median of alternating timed fit calls."""
    import subprocess
    import sys
    chosen = [n for n in WORKLOADS if n.split()[0] in names]
    runs = {}
    for name in chosen:
        spec = WORKLOADS[name]
        n = spec["batch"] * (8 if name.startswith("W2") else 64)
        X, y = _workload_data(spec, n, np.random.default_rng(0), np.float32)
        run, steps = _fit_per_step(spec, "cython", X, y, np.float32)
        one = alternate({"fit": run}, 3, 1)["fit"]
        epochs = max(4, int(4 * 0.1 / one))  # each timed call >= ~100 ms
        runs[name] = _fit_per_step(spec, "cython", X, y, np.float32, epochs=epochs)

    def phase():
        return {name: alternate({"fit": run}, 7, 1)["fit"] / steps
                for name, (run, steps) in runs.items()}

    describe_choices(print_fn, measure=False)
    quiet = phase()
    busy_proc = subprocess.Popen([sys.executable, "-c", _BUSY_LOOP])
    try:
        import time
        time.sleep(0.5)  # the competitor is running
        busy = phase()
    finally:
        busy_proc.kill()
        busy_proc.wait()
    quiet_again = phase()
    print_fn(f"{'workload (fit, us per step)':<38}{'quiet':>9}{'busy':>9}{'quiet':>9}"
             f"{'busy/quiet':>12}")
    rows = []
    for name in chosen:
        base = min(quiet[name], quiet_again[name])
        rows.append((name, quiet[name], busy[name], quiet_again[name], busy[name] / base))
        print_fn(f"{name:<38}{quiet[name] * 1e6:9.1f}{busy[name] * 1e6:9.1f}"
                 f"{quiet_again[name] * 1e6:9.1f}{busy[name] / base:11.2f}x")
    print_fn("\nbusy = one other process spinning on a core (a NumPy loop), started between the "
             "quiet phases; busy/quiet against the faster quiet phase. Target: <= 2x.")
    return rows


def run_calibration(print_fn=print, sizes=None, repeat=7):
    """Measure this machine's OpenMP thresholds (fastlin/parallel/calibration.py), store them
    and put them in force; returns the result."""
    from fastlin.parallel import calibration
    from fastlin.parallel import threads as kernel_threads
    print_fn(f"CPU: {calibration.cpu_name()}, {kernel_threads._CORES} usable cores, "
             f"SIMD: {_config.simd_level()}")
    before = {"exp": kernel_threads.PARALLEL_MIN_ELEMENTS, "cheap": kernel_threads.PARALLEL_MIN_ELEMENTS_CHEAP,
              "adam": kernel_threads.PARALLEL_MIN_ELEMENTS_ADAM}
    threads = kernel_threads.get_num_threads()
    print_fn(f"each kernel at 1 thread and at {threads}, alternating (us per call, medians of "
             f"{repeat})")
    print_fn(f"  {'kernel':<6}{'elements':>10}{'1 thread':>11}{f'{threads} thr':>11}{'gain':>8}")
    result = calibration.calibrate(sizes or calibration.SIZES, repeat, threads, print_fn)

    def show(n):
        return "never" if n >= calibration.NEVER else str(n)
    for kind, label in (("exp", "exp-heavy (sigmoid, tanh, softmax, losses)"),
                        ("cheap", "memory-bound (relu family, SGD)"), ("adam", "Adam update")):
        print_fn(f"{label:<45} from {show(result[kind]):>9} elements (was {show(before[kind])})")
    try:
        path = calibration.save(result)
    except OSError as exc:
        calibration.apply(result, "measured in this process, not stored")
        print_fn(f"could not store the result in {calibration.cache_path()} ({exc}); in force for "
                 f"this process only: set FASTLIN_CACHE_DIR to a writable directory")
        return result
    calibration.load(path)
    print_fn(f"stored in {path}; fastlin uses these from now on on this machine (delete the file "
             f"to return to the built-in ones)")
    return result


def run_callbacks_overhead(print_fn=print, repeat=9):
    """fit per step with no callbacks against fit with EarlyStopping, LearningRateScheduler,
    CSVLogger and a custom callback (all between epochs), and with a per-batch OneCycleLR, on
    W1 and W3: the compiled loop stays in use, so the difference is the callbacks' own time."""
    import os
    import tempfile

    from fastlin.callbacks import Callback, CSVLogger, EarlyStopping, LearningRateScheduler
    from fastlin.optim.lr_scheduler import OneCycleLR

    class Nothing(Callback):
        pass

    print_fn(f"{'workload (fit, us per step)':<38}{'none':>9}{'callbacks':>11}{'ratio':>8}"
             f"{'1cycle':>9}{'ratio':>8}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in [n for n in WORKLOADS if n.split()[0] in ("W1", "W3")]:
            spec = WORKLOADS[name]
            # 256 batches per epoch: callbacks cost per epoch, so the epoch's length matters
            n = spec["batch"] * 256
            X, y = _workload_data(spec, n, np.random.default_rng(0), np.float32)
            epochs = 4
            steps = (n // spec["batch"]) * epochs

            def make(kind):
                model = MLP(spec["sizes"], activation=spec["act"], seed=0)
                loss = _loss(spec, "cython")
                opt = (SGD(model.parameters(), lr=1e-3) if spec["opt"] == "sgd"
                       else Adam(model.parameters(), lr=1e-4))
                callbacks, scheduler = None, None
                if kind == "callbacks":
                    callbacks = [EarlyStopping(monitor="loss", patience=100), Nothing(),
                                 LearningRateScheduler(lambda epoch, lr: lr),
                                 CSVLogger(os.path.join(tmp, f"{spec['batch']}.csv"))]
                elif kind == "onecycle":
                    scheduler = OneCycleLR(opt, max_lr=1e-3, total_steps=10 ** 9,
                                           cycle_momentum=False)

                def run():
                    model.fit(X, y, loss=loss, optimizer=opt, epochs=epochs,
                              batch_size=spec["batch"], seed=0, callbacks=callbacks,
                              scheduler=scheduler)
                return run

            t = alternate({k: make(k) for k in ("none", "callbacks", "onecycle")}, repeat, 1)
            t = {k: v / steps for k, v in t.items()}
            rows.append((name, t))
            print_fn(f"{name:<38}{t['none'] * 1e6:9.1f}{t['callbacks'] * 1e6:11.1f}"
                     f"{t['callbacks'] / t['none']:7.3f}x{t['onecycle'] * 1e6:9.1f}"
                     f"{t['onecycle'] / t['none']:7.3f}x")
    print_fn("\ncallbacks = EarlyStopping, LearningRateScheduler, CSVLogger and a custom callback, "
             "run between epochs; 1cycle = OneCycleLR stepped after every batch (the compiled "
             "loop then runs one batch per call). Target for callbacks: within 5% of none.")


# ------------------------------------------------------------------ versus scikit-learn
def _sklearn_cases():
    """(data set, task, loader) for the comparison: scikit-learn's bundled data sets."""
    from sklearn import datasets
    return [("breast_cancer", "classify", datasets.load_breast_cancer),
            ("wine", "classify", datasets.load_wine),
            ("iris", "classify", datasets.load_iris),
            ("digits", "classify", datasets.load_digits),
            ("diabetes", "regress", datasets.load_diabetes)]


def _sklearn_pairs(task):
    """[(estimator name, fastlin factory, scikit-learn factory)], the same settings each."""
    import sklearn.linear_model as skl
    import sklearn.neural_network as skn

    import fastlin.sklearn as fls
    mlp = dict(hidden_layer_sizes=(64,), max_iter=300, random_state=0)
    if task == "classify":
        return [("MLPClassifier", lambda: fls.MLPClassifier(**mlp),
                 lambda: skn.MLPClassifier(**mlp)),
                ("LogisticRegression", lambda: fls.LogisticRegression(C=1.0),
                 lambda: skl.LogisticRegression(C=1.0))]
    return [("MLPRegressor", lambda: fls.MLPRegressor(**mlp), lambda: skn.MLPRegressor(**mlp)),
            ("LinearRegression", fls.LinearRegression, skl.LinearRegression)]


def run_sklearn_comparison(repeat=5, print_fn=print):
    """fastlin.sklearn against scikit-learn on scikit-learn's bundled data sets: per data set
    and estimator, the median fit time of each (measured in the same run, alternating), their
    held-out scores (accuracy or R² on a 25% split, features standardised) and the ratio.
    One thread for both (threadpoolctl for the BLAS when installed, and fastlin's own).
    Returns the rows."""
    import warnings

    import fastlin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    try:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(1)
    except ImportError:
        limits = None
    previous = get_num_threads()
    fastlin.set_num_threads(1)
    rows = []
    print_fn(f"{'data set':<15}{'estimator':<20}{'fastlin ms':>11}{'sklearn ms':>11}{'speed-up':>9}"
             f"{'fastlin score':>15}{'sklearn score':>15}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for data_name, task, load in _sklearn_cases():
                X, y = load(return_X_y=True)
                X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25,
                                                                    random_state=0)
                scaler = StandardScaler().fit(X_train)
                X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
                for name, ours, theirs in _sklearn_pairs(task):
                    fitted = {}

                    def timed(key, make):
                        def run():
                            fitted[key] = make().fit(X_train, y_train)
                        return run

                    times = alternate({"fastlin": timed("fastlin", ours),
                                       "sklearn": timed("sklearn", theirs)}, repeat, 1)
                    scores = {k: float(est.score(X_test, y_test)) for k, est in fitted.items()}
                    ratio = times["sklearn"] / times["fastlin"]
                    rows.append({"data": data_name, "estimator": name,
                                 "fastlin_s": times["fastlin"],
                                 "sklearn_s": times["sklearn"], "speedup": ratio,
                                 "fastlin_score": scores["fastlin"],
                                 "sklearn_score": scores["sklearn"]})
                    print_fn(f"{data_name:<15}{name:<20}{times['fastlin'] * 1e3:11.2f}"
                             f"{times['sklearn'] * 1e3:11.2f}{ratio:8.2f}x"
                             f"{scores['fastlin']:15.4f}{scores['sklearn']:15.4f}")
    finally:
        fastlin.set_num_threads(previous)
        if limits is not None:
            limits.restore_original_limits()
    return rows
