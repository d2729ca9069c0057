"""fit with callbacks, schedules and dropout, end to end (SPEC §10): the compiled loop stays in
use, schedules and settings changed by callbacks reach it, dropout is seeded and
reproducible, and a run killed after a checkpoint resumes to the same weights as one that
never stopped. The Dropout layer on its own: test_layers.py."""
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastlin
from fastlin import MLP, SGD, Adam, Dense, Dropout, ReLU, Sequential, SoftmaxCrossEntropyLoss
from fastlin.callbacks import Callback, CSVLogger, EarlyStopping, LearningRateScheduler
from fastlin.optim import lr_scheduler
from fastlin.training.compiled import CompiledLoop


class PythonLoopCE(SoftmaxCrossEntropyLoss):
    """The same loss, but a type the compiled loop does not take: fit runs its Python loop,
    which calls the same kernels one by one, so the two loops can be compared bitwise."""


def data(n=240, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = (np.argmax(X[:, :k], axis=1) + (X[:, k] > 1)) % k
    return X, y


def dropout_net(seed=3):
    return Sequential(Dense(6, 32), ReLU(), Dropout(0.3), Dense(32, 16), ReLU(), Dropout(0.5),
                      Dense(16, 3), seed=seed)


class CountRuns:
    """Counts the compiled loop's calls (monkeypatched onto CompiledLoop.run)."""

    def __init__(self, monkeypatch):
        self.calls = 0
        original = CompiledLoop.run

        def run(loop, *args):
            self.calls += 1
            return original(loop, *args)

        monkeypatch.setattr(CompiledLoop, "run", run)


def assert_same_weights(a, b):
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)


# ------------------------------------------------------------------------------- dropout
def test_dropout_trains_on_the_compiled_loop_and_matches_the_python_loop(monkeypatch):
    X, y = data()
    counter = CountRuns(monkeypatch)
    compiled = dropout_net()
    compiled.fit(X, y, loss=SoftmaxCrossEntropyLoss(), optimizer="adam", epochs=3, batch_size=16,
                 seed=1)
    assert counter.calls > 0
    counter.calls = 0
    python = dropout_net()
    python.fit(X, y, loss=PythonLoopCE(), optimizer="adam", epochs=3, batch_size=16, seed=1)
    assert counter.calls == 0
    assert_same_weights(compiled, python)


def test_dropout_is_active_in_fit_and_absent_in_predict():
    X, y = data()
    with_drop = dropout_net()
    without = Sequential(Dense(6, 32), ReLU(), Dropout(0.0), Dense(32, 16), ReLU(), Dropout(0.0),
                         Dense(16, 3), seed=3)
    assert_same_weights(with_drop, without)
    with_drop.fit(X, y, epochs=1, seed=1)
    without.fit(X, y, epochs=1, seed=1)
    assert not np.array_equal(with_drop.parameters()[0], without.parameters()[0])
    # predict never drops, in either mode: the same as the network without Dropout layers
    plain = Sequential(*[layer for layer in with_drop.layers if not isinstance(layer, Dropout)])
    for mode in (True, False):
        with_drop.train(mode)
        np.testing.assert_array_equal(with_drop.predict(X), plain.predict(X))
        assert with_drop.evaluate(X, y) == plain.evaluate(X, y, loss=with_drop.loss_)


def test_dropout_is_reproducible_and_seeded():
    X, y = data()
    a, b, c = dropout_net(), dropout_net(), dropout_net()
    a.fit(X, y, epochs=2, seed=5)
    b.fit(X, y, epochs=2, seed=5)
    c.fit(X, y, epochs=2, seed=6)
    assert_same_weights(a, b)
    assert not np.array_equal(a.parameters()[0], c.parameters()[0])


def test_dropout_manual_loop_train_and_eval_modes():
    X, _ = data(n=64)
    net = dropout_net()
    net.eval()
    assert not net.training
    out_eval = net.forward(X).copy()
    np.testing.assert_array_equal(out_eval, net.predict(X))
    net.train()
    out_train = net.forward(X).copy()
    assert not np.array_equal(out_train, out_eval)
    drop = net.layers[2]
    kept = drop._mask != 0
    assert 0.55 < kept.mean() < 0.85  # p = 0.3
    np.testing.assert_array_equal(drop._mask[kept], np.float32(1 / 0.7))
    # the backward pass goes through the same mask
    grad = net.backward(np.ones_like(out_train))
    assert grad.shape == X.shape


# ----------------------------------------------------------------------- resuming exactly
def test_k_single_epoch_fits_equal_one_fit_with_dropout_and_schedule():
    X, y = data()
    once = dropout_net()
    opt1 = SGD(once.parameters(), lr=0.1, momentum=0.9)
    sched1 = lr_scheduler.StepLR(opt1, step_size=1, gamma=0.5)
    once.fit(X, y, optimizer=opt1, scheduler=sched1, epochs=4, batch_size=16)
    steps = dropout_net()
    opt2 = SGD(steps.parameters(), lr=0.1, momentum=0.9)
    sched2 = lr_scheduler.StepLR(opt2, step_size=1, gamma=0.5)
    for _ in range(4):
        steps.fit(X, y, optimizer=opt2, scheduler=sched2, epochs=1, batch_size=16)
    assert_same_weights(once, steps)
    assert opt1.lr == opt2.lr == 0.1 * 0.5 ** 4


_KILLED_RUN = textwrap.dedent("""
    import os, sys
    import numpy as np
    import fastlin
    from fastlin.callbacks import Callback, ModelCheckpoint
    sys.path.insert(0, sys.argv[2])
    from test_training_loop import data, dropout_net

    class DieAfter(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:          # the checkpoint of epoch 3 (1-based) is on disk
                os._exit(9)         # no cleanup, as a killed process

    X, y = data()
    model = dropout_net()
    opt = fastlin.Adam(model.parameters(), lr=0.01)
    model.fit(X, y, optimizer=opt, epochs=6, batch_size=16, seed=4,
              callbacks=[ModelCheckpoint(sys.argv[1], monitor="loss"), DieAfter()])
""")


def test_run_killed_after_a_checkpoint_resumes_bitwise(tmp_path):
    X, y = data()
    whole = dropout_net()
    whole.fit(X, y, optimizer=Adam(whole.parameters(), lr=0.01), epochs=6, batch_size=16, seed=4)

    script = tmp_path / "killed.py"
    script.write_text(_KILLED_RUN)
    ckpt = tmp_path / "ckpt.npz"
    proc = subprocess.run([sys.executable, str(script), str(ckpt), os.path.dirname(__file__)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    model, opt = fastlin.load_checkpoint(ckpt)
    assert opt.step_count == 3 * 15
    model.fit(X, y, optimizer=opt, epochs=3, batch_size=16)
    assert_same_weights(whole, model)


# ------------------------------------------------------------------ callbacks and schedules
def test_callbacks_keep_the_compiled_loop_and_see_every_epoch(monkeypatch, tmp_path):
    X, y = data()
    counter = CountRuns(monkeypatch)
    seen = []

    class Record(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, sorted(logs)))

    model = MLP([6, 16, 3], seed=0)
    model.fit(X, y, epochs=3, validation_split=0.25, seed=0,
              callbacks=[Record(), CSVLogger(tmp_path / "log.csv")])
    assert counter.calls >= 3
    assert [e for e, _ in seen] == [0, 1, 2]
    assert seen[0][1] == ["accuracy", "learning_rate", "loss", "lr", "val_accuracy", "val_loss"]
    lines = (tmp_path / "log.csv").read_text().splitlines()
    assert len(lines) == 4
    # the rate once, under Keras's name (the logs' "lr" alias is not a second column)
    assert lines[0] == "epoch,accuracy,learning_rate,loss,val_accuracy,val_loss"


def test_custom_callback_stops_training():
    X, y = data()

    class StopAt(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    model = MLP([6, 8, 3], seed=0)
    h = model.fit(X, y, epochs=10, callbacks=[StopAt()])
    assert len(h.epoch) == 2


def test_early_stopping_callback_restores_the_best_weights():
    X, y = data()
    model = MLP([6, 32, 3], seed=0)
    snapshots = []

    class Keep(Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(([p.copy() for p in self.model.parameters()], logs["val_loss"]))

    stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    # a learning rate high enough that the validation loss rises again
    model.fit(X[:120], y[:120], optimizer="sgd", lr=2.0, epochs=30, validation_data=(X[120:], y[120:]),
              callbacks=[Keep(), stop])
    best = min(range(len(snapshots)), key=lambda i: snapshots[i][1])
    for p, q in zip(model.parameters(), snapshots[best][0]):
        np.testing.assert_array_equal(p, q)


def test_learning_rate_scheduler_callback_reaches_the_compiled_loop():
    X, y = data()
    # lr 0 from the second epoch on: the weights after 3 epochs equal those after 1
    a = MLP([6, 8, 3], seed=0)
    a.fit(X, y, optimizer=SGD(a.parameters(), lr=0.1), epochs=3, seed=0,
          callbacks=[LearningRateScheduler(lambda epoch, lr: 0.1 if epoch == 0 else 0.0)])
    b = MLP([6, 8, 3], seed=0)
    b.fit(X, y, optimizer=SGD(b.parameters(), lr=0.1), epochs=1, seed=0)
    assert_same_weights(a, b)


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_one_cycle_per_batch_compiled_equals_python_loop(opt_name):
    X, y = data()
    steps_per_epoch = math.ceil(len(X) / 16)
    results = []
    for loss in (SoftmaxCrossEntropyLoss(), PythonLoopCE()):
        model = MLP([6, 16, 3], seed=0)
        opt = SGD(model.parameters(), lr=0.01, momentum=0.9) if opt_name == "sgd" \
            else Adam(model.parameters(), lr=0.01)
        sched = lr_scheduler.OneCycleLR(opt, max_lr=0.2, epochs=3, steps_per_epoch=steps_per_epoch)
        model.fit(X, y, loss=loss, optimizer=opt, scheduler=sched, epochs=3, batch_size=16, seed=0)
        results.append((model, opt.lr, sched.last_epoch))
    assert_same_weights(results[0][0], results[1][0])
    assert results[0][1:] == results[1][1:] and results[0][2] == 3 * steps_per_epoch


def test_one_cycle_lr_values_inside_fit_equal_stepping_by_hand():
    X, y = data()
    model = MLP([6, 8, 3], seed=0)
    opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=100)
    seen = []

    class Watch(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(logs["lr"])

    model.fit(X, y, optimizer=opt, scheduler=sched, epochs=2, batch_size=16, callbacks=[Watch()])
    twin_opt = SGD(MLP([6, 8, 3], seed=0).parameters(), lr=0.01, momentum=0.9)
    twin = lr_scheduler.OneCycleLR(twin_opt, max_lr=0.1, total_steps=100)
    expected = []
    for _ in range(2):
        for _ in range(15):
            twin.step()
        expected.append(twin_opt.lr)
    assert seen == expected


def test_plateau_scheduler_in_fit():
    X, y = data()
    model = MLP([6, 8, 3], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5, threshold=10.0,
                                           monitor="loss")
    # threshold 10 (relative): an improvement would need loss < best * (1 - 10), which no
    # epoch is, not even the first (torch compares it with best * (1 - 10) = -inf)
    model.fit(X, y, optimizer=opt, scheduler=sched, epochs=4)
    assert opt.lr == pytest.approx(0.1 * 0.5 ** 4)


def test_scheduler_of_another_optimizer_is_refused_before_training():
    X, y = data()
    model = MLP([6, 8, 3], seed=0)
    before = [p.copy() for p in model.parameters()]
    other = SGD(MLP([6, 8, 3], seed=1).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="scheduler"):
        model.fit(X, y, optimizer="sgd", scheduler=lr_scheduler.StepLR(other, 1))
    for p, q in zip(before, model.parameters()):
        np.testing.assert_array_equal(p, q)
    with pytest.raises(TypeError, match="callback"):
        model.fit(X, y, callbacks=[object()])


def test_a_plateau_schedule_on_a_key_fit_does_not_record_is_refused_before_training():
    # the ValueError came at the end of the first epoch, after its updates (SPEC 7)
    from fastlin.optim.lr_scheduler import ReduceLROnPlateau
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), rng.normal(size=30)
    model = fastlin.MLP([3, 4, 1], seed=0)
    opt = fastlin.Adam(model.parameters(), lr=0.01)
    before = [p.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match="'val_accuracy', which fit does not record"):
        model.fit(X, y, optimizer=opt, epochs=2,
                  scheduler=ReduceLROnPlateau(opt, monitor="val_accuracy"))
    for p, q in zip(model.parameters(), before):
        np.testing.assert_array_equal(p, q)
    assert opt.step_count == 0
    # val_loss without validation data monitors loss (as the loop does); with it, val_loss
    model.fit(X, y, optimizer=opt, epochs=1, scheduler=ReduceLROnPlateau(opt))
    model.fit(X, y, optimizer=opt, epochs=1, validation_split=0.2,
              scheduler=ReduceLROnPlateau(opt, monitor="val_loss"))


class _ChangeSettings(fastlin.callbacks.Callback):
    """After the first epoch: another weight decay, Adam's beta2/eps or SGD's nesterov, label
    smoothing and class weights (lr and momentum/beta1 reached the compiled loop already)."""

    def on_epoch_end(self, epoch, logs=None):
        opt, loss = self.model.optimizer, self.model.loss_
        opt.weight_decay = 0.5
        if isinstance(opt, fastlin.Adam):
            opt.betas, opt.eps = (opt.betas[0], 0.5), 1e-3
        else:
            opt.nesterov = True
        loss.label_smoothing = 0.2
        loss.class_weight = [1.0, 2.0, 3.0]


@pytest.mark.parametrize("make_opt", [
    lambda params, backend: fastlin.Adam(params, lr=0.05, backend=backend),
    lambda params, backend: fastlin.SGD(params, lr=0.05, momentum=0.9, backend=backend)])
def test_settings_changed_by_a_callback_reach_the_compiled_loop(make_opt, monkeypatch):
    # The compiled plan is built once per fit with the optimizer's and the loss's settings;
    # a callback changing weight_decay, beta2, eps, nesterov, label_smoothing or class_weight
    # between epochs was ignored by it (the Python loop honours them): 0.52 apart after 3
    # epochs. fit now rebuilds the plan when one of them changed.
    calls = []
    original = CompiledLoop.run
    monkeypatch.setattr(CompiledLoop, "run", lambda loop, *a: calls.append(1) or original(loop, *a))
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 3, 40)
    weights = {}
    for backend in ("cython", "numpy"):
        model = fastlin.MLP([3, 5, 3], seed=0, dtype="float64", backend=backend)
        model.fit(X, y, loss=fastlin.SoftmaxCrossEntropyLoss(backend=backend),
                  optimizer=make_opt(model.parameters(), backend), epochs=3, seed=0,
                  batch_size=8, callbacks=[_ChangeSettings()])
        weights[backend] = model.parameters()
    assert calls  # the cython fit ran on the compiled loop
    for p, q in zip(weights["cython"], weights["numpy"]):
        np.testing.assert_allclose(p, q, rtol=0, atol=1e-12)


def test_slopes_and_dropout_rates_changed_by_a_callback_reach_the_compiled_loop():
    class Change(fastlin.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.layers[1].alpha = 0.3
            self.model.layers[2].p = 0.5

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 3, 40)
    weights = {}
    for backend in ("cython", "numpy"):
        model = fastlin.Sequential(fastlin.Dense(3, 6), fastlin.LeakyReLU(0.1),
                                   fastlin.Dropout(0.2), fastlin.Dense(6, 3), seed=0,
                                   dtype="float64", backend=backend)
        model.fit(X, y, optimizer=fastlin.Adam(model.parameters(), lr=0.05, backend=backend),
                  loss=fastlin.SoftmaxCrossEntropyLoss(backend=backend), epochs=3, seed=0,
                  batch_size=8, callbacks=[Change()])
        weights[backend] = model.parameters()
    for p, q in zip(weights["cython"], weights["numpy"]):
        np.testing.assert_allclose(p, q, rtol=0, atol=1e-12)


def test_compiled_calls_per_epoch_settle_and_carry_over_to_the_next_fit(monkeypatch):
    """The compiled loop runs an epoch in chunks sized to ~CHECK_SECONDS. A network whose
    epoch a 1 GFLOP/s machine could not run within that starts from one batch and doubles; once
    the chunk covers the epoch, every later epoch is one call, and the next fit on the same
    model starts from the chunk the last one settled on. (Sized from the epoch's short last
    stretch instead, the chunk fell back to two batches at every epoch: six calls each.) The
    loop's clock is a fake one on which every call takes 1 us, so the count is exact."""
    from fastlin.training import loop

    class Clock:
        now = 0.0

        @classmethod
        def perf_counter(cls):
            cls.now += 1e-6
            return cls.now

    monkeypatch.setattr(loop, "time", Clock)
    calls = []
    run = CompiledLoop.run

    def counting(self, *args):
        calls.append(args[1:3])
        return run(self, *args)

    monkeypatch.setattr(CompiledLoop, "run", counting)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2048, 20)).astype(np.float32)
    y = (X[:, :1] > 0).astype(np.float32)
    net = MLP([20, 64, 64, 1], seed=0)
    flops = 6.0 * 2048 * (20 * 64 + 64 * 64 + 64)
    assert flops > 1e9 * loop.CHECK_SECONDS  # the first epoch starts from one batch

    class PerEpoch(Callback):
        def on_epoch_end(self, epoch, logs=None):
            per_epoch.append(len(calls))
            calls.clear()

    per_epoch = []
    net.fit(X, y, loss="bce", optimizer="adam", epochs=4, batch_size=32, callbacks=[PerEpoch()])
    assert per_epoch == [7, 1, 1, 1]  # 1, 2, 4, ..., 32 batches and the last one; then all 64
    per_epoch.clear()
    net.fit(X, y, loss="bce", optimizer="adam", epochs=2, batch_size=32, callbacks=[PerEpoch()])
    assert per_epoch == [1, 1]
