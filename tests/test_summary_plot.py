"""Sequential.summary() and History.plot() (matplotlib is the optional extra fastlin[plot])."""
import sys

import numpy as np
import pytest

import fastlin
from fastlin.layers import Dense, PReLU, ReLU, Tanh
from fastlin.sequential import History


def test_summary_table():
    lines = []
    assert fastlin.MLP([784, 256, 10], seed=0).summary(print_fn=lines.append) is None
    assert lines[0] == 'Model: "MLP" (float32, backend \'cython\')'
    rows = [line.split() for line in lines[4:7]]
    assert rows == [["dense", "(Dense)", "(None,", "256)", "200,960"],
                    ["re_lu", "(ReLU)", "(None,", "256)", "0"],
                    ["dense_1", "(Dense)", "(None,", "10)", "2,570"]]
    assert "Total params: 203,530 (795.04 KB)" in lines
    assert "Trainable params: 203,530" in lines and "Non-trainable params: 0" in lines
    assert len({len(line) for line in lines[1:8]}) == 1  # the columns line up


def test_summary_counts_prelu_and_missing_bias(capsys):
    m = fastlin.Sequential(Dense(5, 3), PReLU(3), Dense(3, 2, bias=False), Tanh(), PReLU(),
                           dtype="float64")
    m.summary()
    out = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in out[4:9]}
    assert rows["dense"][-1] == "18" and rows["p_re_lu"][-1] == "3"
    assert rows["dense_1"][-1] == "6" and rows["dense_1"][-2] == "2)"
    assert rows["p_re_lu_1"][-1] == "1" and rows["tanh"][-2] == "2)"
    assert "Total params: 28 (224 B)" in out
    assert sum(int(r[-1]) for r in rows.values()) == m.count_params()
    with pytest.raises(TypeError, match="print_fn"):
        m.summary(print_fn="stdout")


@pytest.fixture
def agg():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    yield plt
    plt.close("all")


def test_history_plot_draws_the_recorded_values(agg):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    m = fastlin.MLP([4, 8, 3], seed=0)
    h = m.fit(X[:90], y[:90], epochs=4, batch_size=16, validation_data=(X[90:], y[90:]))
    ax = h.plot()
    lines = {line.get_label(): line for line in ax.get_lines()}
    # every recorded curve but the learning rate, against the 0-based epochs
    assert set(lines) == set(h.history) - {"learning_rate"}
    assert h.epoch == [0, 1, 2, 3]
    for key, line in lines.items():
        np.testing.assert_array_equal(line.get_xdata(), h.epoch)
        np.testing.assert_array_equal(line.get_ydata(), h.history[key])
    assert ax.get_xlabel() == "epoch"


def test_history_plot_keys_and_given_axes(agg):
    h = History()
    for epoch, (loss, lr) in enumerate([(1.0, 0.1), (0.5, 0.05), (0.4, 0.01)]):
        h._record(epoch, {"loss": loss, "lr": lr})
    _, ax = agg.subplots()
    assert h.plot(ax=ax) is ax
    assert [line.get_label() for line in ax.get_lines()] == ["loss"]  # lr left out by default
    ax2 = h.plot(keys="lr")
    np.testing.assert_array_equal(ax2.get_lines()[0].get_ydata(), [0.1, 0.05, 0.01])
    with pytest.raises(ValueError, match="'val_loss' is not in the history"):
        h.plot(keys=["val_loss"])
    with pytest.raises(TypeError, match="Axes"):
        h.plot(ax="left")
    with pytest.raises(ValueError, match="empty"):
        History().plot()


def test_history_plot_without_matplotlib_names_the_extra(monkeypatch):
    h = History()
    h._record(1, {"loss": 1.0})
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.axes", None)
    with pytest.raises(ImportError, match=r"fastlin\[plot\]"):
        h.plot()


def test_summary_of_a_model_starting_with_an_activation():
    lines = []
    fastlin.Sequential(ReLU(), Dense(3, 2)).summary(print_fn=lines.append)
    assert lines[4].split()[-3:] == ["(None,", "3)", "0"]
