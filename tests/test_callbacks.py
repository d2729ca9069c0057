"""fastlin.callbacks driven directly (as fit drives them) with a real MLP and synthetic logs:
Keras's counting rules checked on hand-computed sequences."""
import csv
import inspect
import os

import numpy as np
import pytest

import fastlin
from fastlin import callbacks as C


@pytest.fixture
def model():
    m = fastlin.MLP([4, 8, 3], seed=0)
    m.optimizer = fastlin.Adam(m.parameters(), lr=0.01)
    return m


def run(cbs, model, logs_seq, perturb_seed=None):
    """Drive callbacks like fit does; returns the weights after each epoch and the epochs run.
    With perturb_seed, each epoch first moves the weights (a stand-in for training)."""
    cl = C.CallbackList(cbs, model=model)
    model.stop_training = False
    rng = np.random.default_rng(perturb_seed)
    snapshots, ran = [], []
    cl.on_train_begin({})
    for epoch, logs in enumerate(logs_seq):
        cl.on_epoch_begin(epoch, {})
        if perturb_seed is not None:
            for p in model.parameters():
                p += rng.standard_normal(p.shape).astype(p.dtype)
        snapshots.append([p.copy() for p in model.parameters()])
        ran.append(epoch)
        cl.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            break
    cl.on_train_end({})
    return snapshots, ran


def losses(*values, key="val_loss"):
    return [{"loss": 1.0, key: v} for v in values]


# ------------------------------------------------------------------ EarlyStopping
def test_early_stopping_counts_patience(model):
    es = C.EarlyStopping(patience=2)
    _, ran = run([es], model, losses(1.0, 0.9, 0.95, 0.94, 0.5, 0.4))
    # best 0.9 at epoch 1; epochs 2 and 3 do not improve -> wait reaches 2 at epoch 3
    assert ran == [0, 1, 2, 3] and es.stopped_epoch == 3 and es.best == 0.9
    assert es.best_epoch == 1 and es.wait == 2


def test_early_stopping_patience_zero_and_min_delta(model):
    es = C.EarlyStopping(patience=0)
    _, ran = run([es], model, losses(1.0, 0.8, 0.8, 0.1))
    assert ran == [0, 1, 2]  # an equal value is no improvement
    es = C.EarlyStopping(patience=1, min_delta=0.1)
    _, ran = run([es], model, losses(1.0, 0.95, 0.92, 0.5))
    assert ran == [0, 1] and es.best == 1.0  # 0.95 improves by less than min_delta


def test_early_stopping_max_mode_for_accuracy(model):
    es = C.EarlyStopping(monitor="val_accuracy", patience=1)
    seq = [{"loss": 1, "val_accuracy": a} for a in (0.5, 0.7, 0.6, 0.9)]
    _, ran = run([es], model, seq)
    assert ran == [0, 1, 2] and es.best == 0.7
    es = C.EarlyStopping(monitor="val_loss", mode="max", patience=1)
    _, ran = run([es], model, losses(1.0, 2.0, 3.0, 2.5))
    assert ran == [0, 1, 2, 3] and es.best == 3.0


def test_early_stopping_baseline(model):
    # without baseline: stops at epoch 2; with baseline 0.5 the first epoch, although the best
    # so far, does not reset wait, so the stop comes one epoch earlier
    es = C.EarlyStopping(patience=2)
    assert run([es], model, losses(0.8, 0.85, 0.9, 0.95))[1] == [0, 1, 2]
    es = C.EarlyStopping(patience=2, baseline=0.5)
    assert run([es], model, losses(0.8, 0.85, 0.9, 0.95))[1] == [0, 1]


def test_early_stopping_start_from_epoch(model):
    es = C.EarlyStopping(monitor="loss", patience=0, start_from_epoch=2)
    seq = [{"loss": v} for v in (1.0, 2.0, 3.0, 2.0, 2.5)]
    _, ran = run([es], model, seq)
    assert ran == [0, 1, 2, 3, 4] and es.stopped_epoch == 4


def test_restore_best_weights_restores_the_exact_arrays_in_place(model):
    params = model.parameters()
    es = C.EarlyStopping(patience=2, restore_best_weights=True)
    snaps, ran = run([es], model, losses(1.0, 0.7, 0.8, 0.9, 0.1), perturb_seed=3)
    assert ran == [0, 1, 2, 3] and es.best_epoch == 1
    for p, q, best in zip(model.parameters(), params, snaps[1]):
        assert p is q  # the same arrays (optimizers and compiled plans hold them)
        np.testing.assert_array_equal(p, best)
    assert not np.array_equal(snaps[3][0], snaps[1][0])


def test_restore_best_weights_also_when_not_stopped(model):
    es = C.EarlyStopping(patience=5, restore_best_weights=True)
    snaps, ran = run([es], model, losses(1.0, 0.2, 0.5), perturb_seed=4)
    assert ran == [0, 1, 2] and es.stopped_epoch == 0
    for p, best in zip(model.parameters(), snaps[1]):
        np.testing.assert_array_equal(p, best)


def test_early_stopping_is_reusable(model):
    es = C.EarlyStopping(patience=1)
    run([es], model, losses(0.1, 0.2, 0.3))
    _, ran = run([es], model, losses(5.0, 4.0, 3.0))
    assert ran == [0, 1, 2] and es.best == 3.0 and es.stopped_epoch == 0


def test_missing_val_key_falls_back_to_training_key_with_one_warning(model):
    es = C.EarlyStopping(patience=1)
    seq = [{"loss": v} for v in (1.0, 0.5, 0.6, 0.7)]
    with pytest.warns(UserWarning, match="monitoring 'loss' instead") as record:
        _, ran = run([es], model, seq)
    assert ran == [0, 1, 2] and len(record) == 1


def test_unknown_monitor_key_is_an_error(model):
    es = C.EarlyStopping(monitor="val_acc")
    with pytest.raises(ValueError, match="val_acc.*available: loss, val_loss"):
        run([es], model, losses(1.0))


@pytest.mark.parametrize("kwargs, exc", [
    (dict(patience=-1), ValueError), (dict(patience=1.5), TypeError),
    (dict(min_delta=-0.1), ValueError), (dict(mode="minimize"), ValueError),
    (dict(monitor=""), TypeError), (dict(baseline=float("nan")), ValueError),
    (dict(start_from_epoch=-2), ValueError),
])
def test_early_stopping_bad_arguments(kwargs, exc):
    with pytest.raises(exc):
        C.EarlyStopping(**kwargs)


# ------------------------------------------------------------------ ReduceLROnPlateau
def test_reduce_lr_on_plateau_keras_rules(model):
    cb = C.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, min_delta=0.0,
                             cooldown=1, min_lr=0.2)
    model.optimizer.lr = 1.0
    seq = [{"loss": v} for v in (1.0, 1.0, 1.0, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6)]
    lrs = []
    cl = C.CallbackList([cb], model=model)
    cl.on_train_begin()
    for epoch, logs in enumerate(seq):
        cl.on_epoch_end(epoch, logs)
        lrs.append(model.optimizer.lr)
    # e2: 2 bad epochs -> 0.5 (cooldown 1); e3 cooldown, 0.5 best; e4, e5 bad -> 0.25;
    # e6 cooldown ends, bad; e7 -> max(0.125, 0.2) = 0.2; then lr == min_lr: no more change
    assert lrs == [1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2]
    assert cb.wait == 3  # Keras keeps counting once lr sits at min_lr


def test_reduce_lr_on_plateau_min_delta_and_max_mode(model):
    cb = C.ReduceLROnPlateau(monitor="val_accuracy", factor=0.1, patience=1, min_delta=0.05)
    model.optimizer.lr = 0.1
    cl = C.CallbackList([cb], model=model)
    cl.on_train_begin()
    lrs = []
    for epoch, acc in enumerate((0.5, 0.6, 0.62, 0.7)):
        cl.on_epoch_end(epoch, {"loss": 1.0, "val_accuracy": acc})
        lrs.append(model.optimizer.lr)
    # 0.62 is not above 0.6 + 0.05: one bad epoch reaches patience 1
    assert lrs == pytest.approx([0.1, 0.1, 0.01, 0.01], rel=1e-15)


def test_reduce_lr_on_plateau_bad_arguments():
    for kwargs in (dict(factor=1.0), dict(factor=-0.5), dict(patience=-1), dict(cooldown=-1),
                   dict(min_lr=-1.0), dict(min_delta=-1.0), dict(mode="up")):
        with pytest.raises(ValueError):
            C.ReduceLROnPlateau(**kwargs)


# ------------------------------------------------------------------ LearningRateScheduler
def test_learning_rate_scheduler_two_argument_schedule(model):
    cb = C.LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch >= 2 else lr)
    model.optimizer.lr = 0.08
    cb.set_model(model)
    seen = []
    for epoch in range(4):
        cb.on_epoch_begin(epoch)
        seen.append(model.optimizer.lr)
    assert seen == [0.08, 0.08, 0.04, 0.02]


def test_learning_rate_scheduler_one_argument_schedule(model):
    def schedule(epoch):
        return 0.1 / (epoch + 1)
    cb = C.LearningRateScheduler(schedule)
    cb.set_model(model)
    cb.on_epoch_begin(3)
    assert model.optimizer.lr == 0.025


def test_learning_rate_scheduler_errors(model):
    with pytest.raises(TypeError, match="callable"):
        C.LearningRateScheduler(0.1)
    for bad in (-0.1, float("nan"), "0.1", None):
        cb = C.LearningRateScheduler(lambda epoch, lr, bad=bad: bad)
        cb.set_model(model)
        with pytest.raises(ValueError, match="schedule returned"):
            cb.on_epoch_begin(0)
        assert model.optimizer.lr == 0.01
    cb = C.LearningRateScheduler(lambda e: 0.1)
    cb.set_model(fastlin.MLP([2, 1], seed=0))
    with pytest.raises(RuntimeError, match="model.optimizer"):
        cb.on_epoch_begin(0)


# ------------------------------------------------------------------ CSVLogger
def test_csv_logger_content(tmp_path, model):
    path = tmp_path / "log.csv"
    seq = [{"loss": 0.5, "accuracy": 0.75, "lr": 0.001},
           {"loss": 0.1 + 0.2, "accuracy": 0.875, "lr": 0.0005}]
    run([C.CSVLogger(path)], model, seq)
    assert path.read_text() == ("epoch,accuracy,loss,lr\n"
                                "0,0.75,0.5,0.001\n"
                                f"1,0.875,{0.1 + 0.2!r},0.0005\n")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert float(rows[1]["loss"]) == 0.1 + 0.2  # written at full precision


def test_csv_logger_append_separator_and_missing_values(tmp_path, model):
    path = tmp_path / "log.tsv"
    run([C.CSVLogger(path, separator="\t")], model, [{"loss": 1.0, "val_loss": 2.0}])
    run([C.CSVLogger(path, separator="\t", append=True)], model,
        [{"loss": 0.5, "val_loss": 1.5}, {"loss": 0.25}])
    assert path.read_text().splitlines() == [
        "epoch\tloss\tval_loss", "0\t1.0\t2.0", "0\t0.5\t1.5", "1\t0.25\tNA"]
    with pytest.raises(ValueError, match="columns"):
        run([C.CSVLogger(path, separator="\t", append=True)], model, [{"loss": 1.0}])
    run([C.CSVLogger(path)], model, [{"loss": 3.0}])  # append=False truncates
    assert path.read_text() == "epoch,loss\n0,3.0\n"


def test_csv_logger_bad_arguments():
    for kwargs in (dict(separator=""), dict(separator=", "), dict(separator='"')):
        with pytest.raises(ValueError, match="separator"):
            C.CSVLogger("x.csv", **kwargs)
    with pytest.raises(TypeError):
        C.CSVLogger(3)


# ------------------------------------------------------------------ ModelCheckpoint
def _save_takes_optimizer():
    return "optimizer" in inspect.signature(fastlin.Sequential.save).parameters


def test_model_checkpoint_every_epoch_with_formatted_names(tmp_path):
    m = fastlin.MLP([4, 8, 3], seed=0)  # no optimizer: saved with model.save(path)
    cb = C.ModelCheckpoint(tmp_path / "ck" / "m-{epoch:02d}-{val_loss:.2f}.npz")
    snaps, _ = run([cb], m, losses(0.5, 0.25), perturb_seed=1)
    names = sorted(os.listdir(tmp_path / "ck"))
    assert names == ["m-01-0.50.npz", "m-02-0.25.npz"]
    assert cb.last_saved == str(tmp_path / "ck" / "m-02-0.25.npz")
    for name, snap in zip(names, snaps):
        loaded = fastlin.load(tmp_path / "ck" / name)
        for p, q in zip(loaded.parameters(), snap):
            np.testing.assert_array_equal(p, q)


def test_model_checkpoint_save_best_only(tmp_path):
    m = fastlin.MLP([4, 8, 3], seed=0)
    path = tmp_path / "best.npz"
    cb = C.ModelCheckpoint(path, save_best_only=True)
    mtimes = []
    cl = C.CallbackList([cb], model=m)
    rng = np.random.default_rng(0)
    snaps = []
    for epoch, v in enumerate((0.9, 0.5, 0.7, 0.5, 0.6)):
        for p in m.parameters():
            p += rng.standard_normal(p.shape).astype(p.dtype)
        snaps.append([p.copy() for p in m.parameters()])
        cl.on_epoch_end(epoch, {"loss": 1.0, "val_loss": v})
        mtimes.append(cb.best)
    assert mtimes == [0.9, 0.5, 0.5, 0.5, 0.5]  # an equal value is not better
    for p, q in zip(fastlin.load(path).parameters(), snaps[1]):
        np.testing.assert_array_equal(p, q)


def test_model_checkpoint_max_mode_for_accuracy(tmp_path):
    m = fastlin.MLP([4, 8, 3], seed=0)
    cb = C.ModelCheckpoint(tmp_path / "a-{epoch}.npz", monitor="val_accuracy",
                           save_best_only=True)
    run([cb], m, [{"loss": 1, "val_accuracy": a} for a in (0.5, 0.4, 0.8)])
    assert sorted(os.listdir(tmp_path)) == ["a-1.npz", "a-3.npz"]


def test_model_checkpoint_errors(tmp_path, model):
    with pytest.raises(ValueError, match="format string"):
        C.ModelCheckpoint(tmp_path / "m-{epoch.npz")
    with pytest.raises(ValueError, match="positional"):
        C.ModelCheckpoint(tmp_path / "m-{}.npz")
    with pytest.raises(TypeError):
        C.ModelCheckpoint(None)
    m = fastlin.MLP([4, 8, 3], seed=0)
    cb = C.ModelCheckpoint(tmp_path / "m-{val_acc:.2f}.npz")
    with pytest.raises(ValueError, match="val_acc.*not in the logs"):
        run([cb], m, losses(0.5))
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not _save_takes_optimizer(),
                    reason="model.save(path, optimizer=) arrives with the checkpoint work")
def test_model_checkpoint_saves_the_optimizer_state(tmp_path, model):
    X = np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32)
    y = np.arange(32) % 3
    model.fit(X, y, optimizer=model.optimizer, epochs=2, batch_size=8, seed=0)
    cb = C.ModelCheckpoint(tmp_path / "ck.npz")
    run([cb], model, losses(0.5))
    loaded, opt = fastlin.load_checkpoint(tmp_path / "ck.npz")
    assert opt.step_count == model.optimizer.step_count
    for a, b in zip(opt.state_arrays(), model.optimizer.state_arrays()):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ Callback, CallbackList
def test_callback_list_calls_hooks_in_order_and_custom_stop(model):
    events = []

    class Recorder(C.Callback):
        def __init__(self, name):
            self.name = name

        def on_train_begin(self, logs=None):
            events.append((self.name, "begin", self.model is model))

        def on_epoch_begin(self, epoch, logs=None):
            events.append((self.name, "epoch_begin", epoch))

        def on_epoch_end(self, epoch, logs=None):
            events.append((self.name, "epoch_end", epoch, logs["loss"]))
            if logs["loss"] < 0.3:
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            events.append((self.name, "end"))

    _, ran = run([Recorder("a"), Recorder("b")], model,
                 [{"loss": 0.5}, {"loss": 0.2}, {"loss": 0.1}])
    assert ran == [0, 1]
    assert events == [("a", "begin", True), ("b", "begin", True),
                      ("a", "epoch_begin", 0), ("b", "epoch_begin", 0),
                      ("a", "epoch_end", 0, 0.5), ("b", "epoch_end", 0, 0.5),
                      ("a", "epoch_begin", 1), ("b", "epoch_begin", 1),
                      ("a", "epoch_end", 1, 0.2), ("b", "epoch_end", 1, 0.2),
                      ("a", "end"), ("b", "end")]


def test_callback_list_refuses_non_callbacks(model):
    with pytest.raises(TypeError, match=r"callbacks\[1\] is a function"):
        C.CallbackList([C.Callback(), lambda: None])
    with pytest.raises(TypeError, match="list of Callback"):
        C.CallbackList("early")
    cl = C.CallbackList(C.Callback(), model=model)
    cb = C.Callback()
    cl.append(cb)
    assert len(cl) == 2 and cb.model is model
    with pytest.raises(TypeError):
        cl.append(object())


@pytest.mark.parametrize("compiled", [True, False])
def test_keras_batch_hooks_see_every_batch_and_can_stop(compiled, monkeypatch):
    """on_train_batch_begin/end (Keras's hooks) run around every batch, on the compiled loop
    and the Python one, with the epoch's running loss and accuracy; stop_training set in one
    ends training after that batch. A callback without them keeps the loop's large chunks."""
    if not compiled:
        from fastlin.training import compiled as compiled_loop
        monkeypatch.setattr(compiled_loop.CompiledLoop, "build",
                            classmethod(lambda cls, *a: None))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)

    class Batches(C.Callback):
        def __init__(self):
            self.seen = []

        def on_train_batch_begin(self, batch, logs=None):
            self.seen.append(("begin", batch))

        def on_train_batch_end(self, batch, logs=None):
            assert logs["acc"] == logs["accuracy"] and "mae" in logs
            self.seen.append(("end", batch, logs["loss"], logs["accuracy"]))
            if len(self.seen) == 14:  # epoch 1's batch 2
                self.model.stop_training = True

    hooks = Batches()
    model = fastlin.MLP([3, 8, 2], seed=0)
    history = model.fit(X, y, epochs=3, batch_size=32, seed=0, callbacks=[hooks],
                        metrics=["acc", "mae"])
    assert [s[:2] for s in hooks.seen] == [
        (kind, b) for b in (0, 1, 2, 3) for kind in ("begin", "end")] + [
        (kind, b) for b in (0, 1, 2) for kind in ("begin", "end")]
    assert len(history.history["loss"]) == 2
    assert history.history["loss"][-1] == hooks.seen[-1][2]  # the partial epoch's mean
    assert all(0 <= s[3] <= 1 for s in hooks.seen if s[0] == "end")
    first_epoch_end = [s for s in hooks.seen[:8] if s[0] == "end"][-1]
    reference = fastlin.MLP([3, 8, 2], seed=0).fit(X, y, epochs=1, batch_size=32, seed=0)
    assert first_epoch_end[2] == reference.history["loss"][0]


def test_a_setting_changed_by_a_batch_hook_reaches_the_compiled_loop_at_the_next_batch(
        monkeypatch):
    """A batch hook that changes weight decay trains the compiled loop exactly as the Python
    loop, which reads the setting at every step: the plan is rebuilt before the next batch."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)

    class Decay(C.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 0:
                self.model.optimizer.weight_decay = 0.5
            if batch == 3:
                self.model.optimizer.weight_decay = 0.0

    def train():
        model = fastlin.MLP([3, 4, 2], seed=0)
        opt = fastlin.SGD(model.parameters(), lr=0.1)
        model.fit(X, y, optimizer=opt, epochs=2, batch_size=8, seed=0, callbacks=[Decay()])
        return model.parameters()

    compiled = train()
    from fastlin.training import compiled as compiled_loop
    monkeypatch.setattr(compiled_loop.CompiledLoop, "build", classmethod(lambda cls, *a: None))
    for a, b in zip(compiled, train()):
        np.testing.assert_array_equal(a, b)


def test_callbacks_get_keras_params():
    """Each callback's ``params`` (History's too) is Keras's {"verbose", "epochs", "steps"}."""
    X = np.random.default_rng(0).standard_normal((70, 3)).astype(np.float32)
    seen = []

    class Look(C.Callback):
        def on_train_begin(self, logs=None):
            seen.append(self.params)

    h = fastlin.MLP([3, 4, 2], seed=0).fit(X, np.arange(70) % 2, epochs=3, batch_size=32,
                                          callbacks=[Look()])
    assert seen == [{"verbose": 0, "epochs": 3, "steps": 3}] and h.params == seen[0]


def test_keras_params_leave_other_objects_alone():
    """An object fit takes for its four hooks keeps a params of its own, and a scikit-learn-
    style set_params(**kw) of its own is not called."""
    X = np.random.default_rng(0).standard_normal((20, 3)).astype(np.float32)

    class Hooks:
        params = {"mine": 1}

        def set_params(self, **kw):
            raise AssertionError("called")

        def on_train_begin(self, logs=None):
            pass

        on_train_end = on_train_begin

        def on_epoch_begin(self, epoch, logs=None):
            pass

        on_epoch_end = on_epoch_begin

    hooks = Hooks()
    fastlin.MLP([3, 4, 2], seed=0).fit(X, np.arange(20) % 2, epochs=1, callbacks=[hooks])
    assert hooks.params == {"mine": 1}
