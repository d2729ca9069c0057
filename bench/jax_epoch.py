"""fastlin's fit against a jitted JAX epoch, one thread each (issue 11, goal 3).

JAX is not a fastlin dependency: run this in an environment that has both, e.g.

    python -m venv /tmp/jaxenv && /tmp/jaxenv/bin/pip install jax jaxlib scipy tqdm
    PYTHONPATH=. /tmp/jaxenv/bin/python bench/jax_epoch.py      # from a built checkout

The JAX epoch is what a careful JAX user writes: one ``jax.jit`` of ``jax.lax.scan`` over the
epoch's minibatches (shuffled outside, gathered inside), the same network, loss and optimizer
(SGD, or Adam for W3) and the same batch count (64, 8 for W2) as fastlin's ``fit`` per-step
timing in ``python -m fastlin bench``. Both run on one core: the script pins itself (and so the
fastlin child process it starts) to one CPU with ``os.sched_setaffinity`` before JAX or NumPy is
imported. XLA's flags alone do not do it: with ``--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1`` jaxlib 0.10's CPU runtime still ran a 512x512x512 float32 matmul
at 180 GFLOP/s on a 2-core Zen 2, twice one core's peak, and ~95 GFLOP/s once pinned. The script
prints that rate, so a reader can see the pinning held. fastlin runs with ``set_num_threads(1)``
and one BLAS thread, in a process of its own (XLA's idle threads slowed fastlin's timed epochs
when both ran in one process). Reported: medians of timed epochs, in microseconds per training
step, and the ratio JAX / fastlin (> 1: fastlin is faster).
"""
import os
import sys

# One core for JAX and for the fastlin child: pinned before any thread pool starts.
_CPU = min(os.sched_getaffinity(0))
os.sched_setaffinity(0, {_CPU})
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.pop("OPENBLAS_CORETYPE", None)  # a slower kernel than this CPU's; see BENCHMARKS.md

import json  # noqa: E402
import subprocess  # noqa: E402

import numpy as np  # noqa: E402

if "--fastlin-only" not in sys.argv:
    import jax  # noqa: E402
    import jax.numpy as jnp  # noqa: E402

import fastlin  # noqa: E402
from fastlin._timing import alternate  # noqa: E402
from fastlin.benchmarks.workloads import WORKLOADS, fit_per_step, workload_data  # noqa: E402


def _init(sizes, seed=0):
    rng = np.random.default_rng(seed)
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params.append((jnp.asarray((rng.standard_normal((a, b)) * np.sqrt(2.0 / a))
                                   .astype(np.float32)), jnp.zeros(b, jnp.float32)))
    return params


def _jax_epoch(spec, X, y):
    act = jax.nn.relu if spec["act"] == "relu" else jnp.tanh
    batch = spec["batch"]
    n_batches = X.shape[0] // batch

    def forward(params, xb):
        h = xb
        for i, (W, b) in enumerate(params):
            h = h @ W + b
            if i < len(params) - 1:
                h = act(h)
        return h

    def loss_fn(params, xb, yb):
        z = forward(params, xb)
        if spec["loss"] == "ce":
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z), yb[:, None], axis=1))
        if spec["loss"] == "bce":
            return jnp.mean(jnp.logaddexp(0.0, z) - yb * z)
        return jnp.mean((z - yb) ** 2)

    grad_fn = jax.value_and_grad(loss_fn)
    adam = spec["opt"] == "adam"
    lr = 1e-4 if adam else 1e-3

    def step(carry, idx):
        params, m, v, t = carry
        xb, yb = X_dev[idx], y_dev[idx]
        loss, grads = grad_fn(params, xb, yb)
        if adam:
            t = t + 1
            m = jax.tree_util.tree_map(lambda a, g: 0.9 * a + 0.1 * g, m, grads)
            v = jax.tree_util.tree_map(lambda a, g: 0.999 * a + 0.001 * g * g, v, grads)
            c1, c2 = 1 - 0.9 ** t, 1 - 0.999 ** t
            params = jax.tree_util.tree_map(
                lambda p, a, s: p - lr * (a / c1) / (jnp.sqrt(s / c2) + 1e-8), params, m, v)
        else:
            params = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
        return (params, m, v, t), loss

    X_dev, y_dev = jnp.asarray(X), jnp.asarray(y)

    @jax.jit
    def epoch(carry, order):
        carry, losses = jax.lax.scan(step, carry, order.reshape(n_batches, batch))
        return carry, losses.mean()

    params = _init(spec["sizes"])
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    state = {"carry": (params, zeros, zeros, jnp.float32(0.0)), "epoch": 0}
    rng = np.random.default_rng(0)

    def run():
        order = jnp.asarray(rng.permutation(n_batches * batch).astype(np.int32))
        state["carry"], loss = epoch(state["carry"], order)
        loss.block_until_ready()

    run()  # compile
    return run, n_batches


def _jax_gemm_rate(n=512, repeat=30):
    """GFLOP/s of one jitted n^3 matmul: a one-core figure, or the pinning did not hold."""
    import time
    a = jnp.asarray(np.random.default_rng(1).standard_normal((n, n)).astype(np.float32))
    mm = jax.jit(lambda u, v: u @ v)
    mm(a, a).block_until_ready()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        mm(a, a).block_until_ready()
        times.append(time.perf_counter() - t0)
    return 2 * n ** 3 / float(np.median(times)) / 1e9


def fastlin_only(repeat=15):
    """fastlin's fit per step for every workload, in a process where JAX was never imported
    (XLA's idle threads would otherwise share the cores with fastlin's timed epochs)."""
    fastlin.set_num_threads(1)
    times = {}
    for name, spec in WORKLOADS.items():
        n = spec["batch"] * (8 if name.startswith("W2") else 64)
        X, y = workload_data(spec, n, np.random.default_rng(0), np.float32)
        fit1, steps1 = fit_per_step(spec, "cython", X, y, np.float32, epochs=1)
        fit10, steps10 = fit_per_step(spec, "cython", X, y, np.float32, epochs=10)
        t = alternate({"1": fit1, "10": fit10}, repeat, 1)
        times[name] = (t["1"] / steps1, t["10"] / steps10)
    from fastlin.benchmarks.machine import describe_choices
    describe_choices(lambda line: print(line, file=sys.stderr), measure=False)
    return times


def main(repeat=15):
    if "--fastlin-only" in sys.argv:
        print(json.dumps(fastlin_only(repeat)))
        return None
    proc = subprocess.run([sys.executable, __file__, "--fastlin-only"], capture_output=True,
                          text=True, check=True)
    fastlin_times = json.loads(proc.stdout.strip().splitlines()[-1])
    print("fastlin's choices in its process:\n" + proc.stderr.strip())
    fastlin.set_num_threads(1)
    print(f"JAX {jax.__version__} ({jax.devices()[0].platform}, one XLA thread) against fastlin "
          f"{fastlin.__version__}; medians of {repeat} alternating epochs, float32")
    print(f"(fastlin timed first, in a process without JAX; JAX's epochs after, alone; both "
          f"pinned to CPU {_CPU})")
    print(f"JAX 512x512x512 float32 matmul on that core: {_jax_gemm_rate():.1f} GFLOP/s")
    print("fastlin: fit(epochs=1) and fit(epochs=10) per step (the second spreads fit's fixed "
          "cost, ~0.06 ms a call, over 10 epochs);\nJAX: one jitted epoch per call, as a JAX "
          "training loop calls it")
    print(f"{'workload (us per training step)':<38}{'fit 1 ep':>9}{'fit 10 ep':>10}"
          f"{'JAX epoch':>11}{'JAX/fit1':>10}{'JAX/fit10':>10}")
    rows = []
    for name, spec in WORKLOADS.items():
        n = spec["batch"] * (8 if name.startswith("W2") else 64)
        X, y = workload_data(spec, n, np.random.default_rng(0), np.float32)
        if spec["loss"] == "ce":
            y = y.astype(np.int32)
        jax_run, jax_steps = _jax_epoch(spec, X, y)
        t = alternate({"jax": jax_run}, repeat, 1)
        (f1, f10), j = fastlin_times[name], t["jax"] / jax_steps
        rows.append((name, f1, f10, j))
        print(f"{name:<38}{f1 * 1e6:9.1f}{f10 * 1e6:10.1f}{j * 1e6:11.1f}{j / f1:9.2f}x"
              f"{j / f10:9.2f}x")
    return rows


if __name__ == "__main__":
    main()
