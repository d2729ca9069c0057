"""``bench --callbacks``: what callbacks and a per-batch scheduler cost inside fit."""
import numpy as np

from fastlin import MLP, SGD, Adam
from fastlin._timing import alternate
from fastlin.benchmarks.workloads import WORKLOADS, make_loss, workload_data


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
            X, y = workload_data(spec, n, np.random.default_rng(0), np.float32)
            epochs = 4
            steps = (n // spec["batch"]) * epochs

            def make(kind):
                model = MLP(spec["sizes"], activation=spec["act"], seed=0)
                loss = make_loss(spec, "cython")
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
