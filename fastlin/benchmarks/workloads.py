"""The five training workloads the benchmarks time (W1-W5), their data, and the two ways of
running them on fastlin: a manual forward/loss/backward/step loop and ``fit``."""
import numpy as np

from fastlin import MLP, SGD, Adam, BCEWithLogitsLoss, MSELoss, SoftmaxCrossEntropyLoss
from fastlin._timing import alternate


WORKLOADS = {
    "W1 MLP 784-256-128-10 b128 CE SGD": dict(sizes=[784, 256, 128, 10], act="relu", batch=128, loss="ce", opt="sgd"),
    "W2 MLP 784-1024-1024-10 b256 CE SGD": dict(sizes=[784, 1024, 1024, 10], act="relu", batch=256, loss="ce", opt="sgd"),
    "W3 MLP 20-64-64-1 b32 BCE Adam": dict(sizes=[20, 64, 64, 1], act="relu", batch=32, loss="bce", opt="adam"),
    "W4 MLP 2-16-1 tanh b4 MSE SGD": dict(sizes=[2, 16, 1], act="tanh", batch=4, loss="mse", opt="sgd"),
    "W5 linear 100-1 b256 MSE SGD": dict(sizes=[100, 1], act="relu", batch=256, loss="mse", opt="sgd"),
}


def workload_data(spec, n, rng, dtype):
    X = rng.standard_normal((n, spec["sizes"][0])).astype(dtype)
    if spec["loss"] == "ce":
        y = rng.integers(0, spec["sizes"][-1], n)
    elif spec["loss"] == "bce":
        y = rng.integers(0, 2, (n, 1)).astype(dtype)
    else:
        y = rng.standard_normal((n, 1)).astype(dtype)
    return X, y


def make_loss(spec, backend):
    return {"ce": SoftmaxCrossEntropyLoss, "bce": BCEWithLogitsLoss, "mse": MSELoss}[spec["loss"]](backend=backend)


def training_step(spec, backend, X, y, dtype):
    model = MLP(spec["sizes"], activation=spec["act"], seed=0, dtype=dtype, backend=backend)
    loss = make_loss(spec, backend)
    opt = (SGD(model.parameters(), lr=1e-3, backend=backend) if spec["opt"] == "sgd"
           else Adam(model.parameters(), lr=1e-4, backend=backend))
    xb, yb = X[: spec["batch"]], y[: spec["batch"]]

    def step():
        out = model.forward(xb)
        loss.forward(out, yb)
        model.backward(loss.backward(), need_input_grad=False)
        opt.step()
    return step


def fit_per_step(spec, backend, X, y, dtype, epochs=4, shuffle=True):
    model = MLP(spec["sizes"], activation=spec["act"], seed=0, dtype=dtype, backend=backend)
    loss = make_loss(spec, backend)
    opt = (SGD(model.parameters(), lr=1e-3, backend=backend) if spec["opt"] == "sgd"
           else Adam(model.parameters(), lr=1e-4, backend=backend))
    n_steps = X.shape[0] // spec["batch"]

    def run():
        model.fit(X, y, loss=loss, optimizer=opt, epochs=epochs, batch_size=spec["batch"], seed=0,
                  shuffle=shuffle)
    return run, n_steps * epochs


def fit_step_time(name, repeat=7):
    """Median per-step time of fit() for one workload, in this process, nothing else running."""
    spec = WORKLOADS[name]
    dtype = np.float32
    n = spec["batch"] * (8 if name.startswith("W2") else 64)
    X, y = workload_data(spec, n, np.random.default_rng(0), dtype)
    run, steps = fit_per_step(spec, "cython", X, y, dtype)
    one = alternate({"fit": run}, 3, 1)["fit"]
    epochs = max(4, int(4 * 0.05 / one))  # each timed call >= ~50 ms: µs-scale steps are noisy
    run, steps = fit_per_step(spec, "cython", X, y, dtype, epochs=epochs)
    return alternate({"fit": run}, repeat, 1)["fit"] / steps
