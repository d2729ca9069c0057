"""What fastlin's training step is measured against: the floors no implementation can beat
(the step's matrix products alone, the optimizer update's memory traffic alone), the step a
careful NumPy user writes by hand, and PyTorch eager."""
import numpy as np

from fastlin.parallel.threads import get_num_threads


def gemm_floor(spec, X, dtype):
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


def update_floor(spec, dtype):
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


def step_flops(spec):
    """Floating-point operations of one training step's matrix products: X @ W and Xᵀ dZ for
    every layer, dZ Wᵀ for every layer but the first (its input needs no gradient)."""
    sizes, n = spec["sizes"], spec["batch"]
    macs = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2 * n * (2 * sum(macs) + sum(macs[1:]))


def sgemm_peak(size=512, repeat=5):
    """The machine's single-core float32 GEMM rate, FLOP/s: the best of `repeat` timings of a
    size³ product through fastlin's GEMM path at one BLAS thread."""
    from fastlin._kernels import _blas
    from fastlin.parallel import blas_threads
    before = blas_threads.set_local(1)
    try:
        best = min(_blas.time_product(False, False, size, size, size, False, 3)
                   for _ in range(repeat))
    finally:
        if before is not None:
            blas_threads.set_local(before)
    return 2.0 * size ** 3 / best


def memory_floor(X, order=None):
    """Reading the data set once: a compiled scan of X for non-finite values, which reads every
    byte once and writes nothing; with ``order``, X's rows in that order, each asked for eight
    rows ahead (an epoch's shuffled rows, as fit reads them), else at streaming bandwidth.
    Shared over an epoch's steps, no step can read its batch faster."""
    from fastlin._kernels import checks
    if order is None:
        return lambda: checks.all_finite(X)
    order = np.ascontiguousarray(order, dtype=np.int64)
    return lambda: checks.all_finite_rows(X, order)


def careful_numpy_step(spec, X, y, dtype):
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


def torch_step(spec, X, y):
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
