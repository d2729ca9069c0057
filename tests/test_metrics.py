"""fit(metrics=...) and evaluate(metrics=...): each metric under its name (val_ + name for
validation data), computed from each batch's outputs during the epoch, the same in the compiled
and the Python loop, without changing what training computes."""
import numpy as np
import pytest

import fastlin
from fastlin import MLP, SGD, BCEWithLogitsLoss, Dense, MSELoss, Sequential
from fastlin import SoftmaxCrossEntropyLoss
from fastlin.training import metrics as fit_metrics
from fastlin.training.compiled import CompiledLoop


class CountRuns:
    def __init__(self, monkeypatch):
        self.calls = 0
        real = CompiledLoop.run

        def run(loop, *args):
            self.calls += 1
            return real(loop, *args)

        monkeypatch.setattr(CompiledLoop, "run", run)


def python_loop(monkeypatch):
    monkeypatch.setattr(CompiledLoop, "build", classmethod(lambda cls, *a: None))


def problem(kind, n=203, seed=0, dtype="float64"):
    """(model, X, y, loss) of a small classification or regression problem."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5)).astype(dtype)
    if kind == "labels":
        return MLP([5, 8, 3], seed=0, dtype=dtype), X, np.argmax(X[:, :3], 1), \
            SoftmaxCrossEntropyLoss()
    if kind == "probs":
        y = np.eye(3)[np.argmax(X[:, :3], 1)] * 0.8 + 0.2 / 3
        return MLP([5, 8, 3], seed=0, dtype=dtype), X, y, SoftmaxCrossEntropyLoss()
    if kind == "bce":
        return MLP([5, 8, 2], seed=0, dtype=dtype), X, (X[:, :2] > 0).astype(dtype), \
            BCEWithLogitsLoss()
    if kind == "linear":  # a lone Dense(d, 1): the compiled loop's one-pass step
        return Sequential(Dense(5, 1), seed=0, dtype=dtype), X, X @ np.arange(5.0), MSELoss()
    return MLP([5, 8, 2], seed=0, dtype=dtype), X, np.stack([X[:, 0], X[:, 1] ** 2], 1), \
        fastlin.HuberLoss(delta=0.5)


KINDS = ["labels", "probs", "bce", "linear", "huber"]


def expected_errors(model, X, y, loss):
    out = model.predict(X)
    from fastlin.training import targets
    target = targets.prepare_target(model, loss, y, len(X))
    a, q = fit_metrics.error_sums(out, target, loss)
    return a / out.size, q / out.size


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_with_lr_zero_the_epoch_metrics_equal_evaluate(kind, compiled, monkeypatch):
    # weights that do not move make every batch's outputs those of the final model, so the
    # running sums over the epoch's batches equal evaluate's over all rows
    counter = CountRuns(monkeypatch)
    if not compiled:
        python_loop(monkeypatch)
    model, X, y, loss = problem(kind)
    opt = SGD(model.parameters(), lr=0.0)
    h = model.fit(X, y, loss=loss, optimizer=opt, epochs=2, batch_size=16, seed=0,
                  metrics=["mae", "mse"], validation_data=(X, y))
    assert (counter.calls > 0) == compiled
    mae, mse = expected_errors(model, X, y, loss)
    for prefix in ("", "val_"):
        np.testing.assert_allclose(h.history[prefix + "mae"], [mae, mae], rtol=1e-12)
        np.testing.assert_allclose(h.history[prefix + "mse"], [mse, mse], rtol=1e-12)
    ev = model.evaluate(X, y, loss=loss, metrics=["mae", "mse"])
    assert ev["mae"] == pytest.approx(mae, rel=1e-12) and ev["mse"] == pytest.approx(mse,
                                                                                       rel=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", KINDS)
def test_metrics_change_no_weight_and_agree_across_loops(kind, dtype, monkeypatch):
    runs = {}
    for compiled in (True, False):
        for metrics in (None, ["mae", "mse"]):
            with monkeypatch.context() as m:
                if not compiled:
                    python_loop(m)
                model, X, y, loss = problem(kind, dtype=dtype)
                h = model.fit(X, y, loss=loss, optimizer="adam", epochs=3, batch_size=16,
                              seed=0, metrics=metrics)
            runs[compiled, metrics is not None] = (model.parameters(), h.history)
    base = runs[True, False][0]
    for key, (params, history) in runs.items():
        if kind != "linear" or key[0]:  # (the one-pass step is equal to rounding only)
            for p, q in zip(params, base):
                np.testing.assert_array_equal(p, q)
    tol = 1e-5 if dtype == "float32" else 1e-12
    for name in ("mae", "mse"):
        np.testing.assert_allclose(runs[True, True][1][name], runs[False, True][1][name],
                                   rtol=tol)
    assert "mae" not in runs[True, False][1]


def test_accuracy_is_the_existing_accuracy_and_names_are_checked():
    model, X, y, loss = problem("labels")
    h = model.fit(X, y, loss=loss, epochs=1, metrics=["accuracy"], validation_split=0.2)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    with pytest.raises(ValueError, match="accuracy, mae, mse"):
        model.fit(X, y, metrics=["auc"])
    with pytest.raises(ValueError, match="accuracy, mae, mse"):
        model.evaluate(X, y, metrics=["precision"])
    reg, Xr, yr, rloss = problem("huber")
    with pytest.raises(ValueError, match="classification loss"):
        reg.fit(Xr, yr, loss=rloss, metrics=["accuracy"])
    assert set(reg.evaluate(Xr, yr, metrics="mse")) == {"loss", "mse"}


def test_compiled_metrics_are_used_when_metrics_is_not_given():
    model, X, y, loss = problem("huber")
    model.compiled_metrics = ["mae"]
    h = model.fit(X, y, loss=loss, epochs=1, validation_split=0.25)
    assert set(h.history) == {"loss", "mae", "val_loss", "val_mae", "learning_rate"}
    assert set(model.evaluate(X, y)) == {"loss", "mae"}
    assert set(model.evaluate(X, y, metrics=[])) == {"loss"}
    h = model.fit(X, y, epochs=1, metrics=["mse"])
    assert set(h.history) == {"loss", "mse", "learning_rate"}


def test_a_schedule_may_monitor_a_metric():
    from fastlin.optim import lr_scheduler
    model, X, y, loss = problem("huber")
    opt = fastlin.Adam(model.parameters(), lr=0.01)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    model.fit(X, y, loss=loss, optimizer=opt, scheduler=sched, epochs=2, metrics=["mae"],
              validation_split=0.2)


def test_keras_other_names_of_the_metrics_and_losses():
    """Keras's "acc", "mean_absolute_error" and "mean_squared_error" are the same metrics,
    logged under the name given (and val_ + it); "mean_squared_error" and "mean_absolute_error"
    name the MSE and L1 losses."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    model = fastlin.MLP([3, 8, 2], seed=0)
    h = model.fit(X, y, epochs=2, validation_split=0.25, seed=0,
                  metrics=["acc", "mean_squared_error", "mse"])
    assert h.history["acc"] == h.history["accuracy"]
    assert h.history["val_acc"] == h.history["val_accuracy"]
    assert h.history["mean_squared_error"] == h.history["mse"]
    ev = model.evaluate(X, y, metrics=["acc", "mean_absolute_error", "mae"])
    assert ev["acc"] == ev["accuracy"] and ev["mean_absolute_error"] == ev["mae"]
    assert type(ev["mae"]) is float
    target = X[:, :1] * 2
    by_alias = fastlin.MLP([3, 8, 1], seed=0).fit(X, target, loss="mean_squared_error",
                                                 epochs=2, seed=0)
    by_name = fastlin.MLP([3, 8, 1], seed=0).fit(X, target, loss="mse", epochs=2, seed=0)
    assert by_alias.history["loss"] == by_name.history["loss"]
    assert isinstance(fastlin.losses.get_loss("mean_absolute_error"), fastlin.L1Loss)
    with pytest.raises(ValueError, match="needs a classification loss"):
        fastlin.MLP([3, 8, 1], seed=0).fit(X, target, loss="mse", metrics=["acc"], epochs=1)
