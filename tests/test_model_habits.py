"""Keras's and PyTorch's model habits on Sequential (SPEC §13): weights as lists and state
dicts, the model as a sequence of layers, add, compile, string class labels, History's
0-based epochs and learning_rate, to_torch in eval mode."""
import csv

import numpy as np
import pytest

import fastlin
from fastlin import callbacks as C
from fastlin.layers import Dense, Dropout, PReLU, ReLU
from fastlin.losses import BCEWithLogitsLoss, MSELoss, SoftmaxCrossEntropyLoss


def data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.5)
    return X, y


def prelu_model():
    return fastlin.Sequential(Dense(4, 5), PReLU(num_parameters=5), Dense(5, 3, bias=False),
                              seed=0)


# --------------------------------------------------------------------- Keras weights
def test_get_weights_is_kernel_then_bias_in_layer_order():
    model = prelu_model()
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(4, 5), (5,), (5,), (5, 3)]
    np.testing.assert_array_equal(weights[0], model[0].W)
    np.testing.assert_array_equal(weights[2], model[1].alpha)
    weights[0][:] = 7  # copies, as Keras's
    assert not (model[0].W == 7).any()


def test_set_weights_copies_into_the_live_parameters():
    model = prelu_model()
    params = model.parameters()
    new = [np.full(w.shape, i + 1.0) for i, w in enumerate(model.get_weights())]
    model.set_weights(new)
    for p, w in zip(model.parameters(), new):
        np.testing.assert_array_equal(p, w)
    assert all(p is q for p, q in zip(params, model.parameters()))  # an optimizer keeps them


@pytest.mark.parametrize("change, error, match", [
    (lambda w: w[:-1], ValueError, "got 3 arrays but the model has 4"),
    (lambda w: w[:1] + [np.zeros(6)] + w[2:], ValueError, r"weight 1 \(0.b\) has shape \(6,\)"),
    (lambda w: w[:3] + [np.full((5, 3), np.nan)], ValueError, "weight 3.*NaN"),
    (lambda w: w[:2] + [np.array(["a"] * 5)] + w[3:], TypeError, "weight 2.*numeric"),
])
def test_set_weights_refuses_before_changing_anything(change, error, match):
    model = prelu_model()
    before = model.get_weights()
    bad = change([np.zeros_like(w) for w in before])
    with pytest.raises(error, match=match):
        model.set_weights(bad)
    for p, w in zip(model.parameters(), before):
        np.testing.assert_array_equal(p, w)
    with pytest.raises(TypeError, match="list of arrays"):
        model.set_weights(np.zeros(3))


def test_save_weights_and_load_weights(tmp_path):
    X, _ = data()
    model = prelu_model()
    path = tmp_path / "model.weights.npz"
    model.save_weights(path)
    other = prelu_model()
    other.set_weights([w + 1 for w in other.get_weights()])
    other.load_weights(path)
    np.testing.assert_array_equal(other.predict(X), model.predict(X))
    wrong = fastlin.MLP([4, 6, 3], seed=0)
    before = wrong.get_weights()
    with pytest.raises(ValueError, match="Missing key"):
        wrong.load_weights(path)
    for p, w in zip(wrong.parameters(), before):
        np.testing.assert_array_equal(p, w)


# ---------------------------------------------------------------- layers as a sequence
def test_len_index_slice_and_iteration():
    X, _ = data()
    model = fastlin.MLP([4, 8, 6, 3], seed=0)
    assert len(model) == 5
    assert model[0] is model.layers[0] and model[-1] is model.layers[-1]
    assert list(model) == model.layers
    head = model[:2]
    assert type(head) is fastlin.Sequential and head.layers == model.layers[:2]
    np.testing.assert_allclose(model[2:].predict(head.predict(X)), model.predict(X), rtol=1e-6)
    with pytest.raises(IndexError):
        model[5]
    with pytest.raises(TypeError, match="integers or slices"):
        model["0"]
    empty = model[5:]  # as torch's: an empty stack, the identity
    assert type(empty) is fastlin.Sequential and len(empty) == 0
    np.testing.assert_array_equal(empty.predict(X), X)


def test_add_checks_as_the_constructor_does():
    model = fastlin.Sequential(Dense(4, 8), dtype="float64", seed=0)
    model.add(ReLU())
    model.add(Dense(8, 2))
    assert len(model) == 3 and model[2].W.dtype == np.float64
    X, y = data()
    model.fit(X, y % 2, epochs=1)  # the new layers train
    with pytest.raises(ValueError, match="takes 3 features but the layer before it gives 2"):
        model.add(Dense(3, 1))
    with pytest.raises(ValueError, match="already in the model"):
        model.add(model[1])
    with pytest.raises(TypeError, match="fastlin Layer"):
        model.add("relu")
    assert len(model) == 3


# -------------------------------------------------------------------------- compile
def test_compile_sets_fit_and_evaluate_defaults():
    X, y = data()
    model = fastlin.MLP([4, 8, 3], seed=0)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    assert model.compiled_metrics == ["mae"]
    yr = np.eye(3, dtype=np.float32)[y]
    model.fit(X, yr, epochs=1)
    assert isinstance(model.optimizer, fastlin.SGD) and isinstance(model.loss_, MSELoss)
    twin = fastlin.MLP([4, 8, 3], seed=0)
    twin.fit(X, yr, loss="mse", optimizer="sgd", epochs=1)
    np.testing.assert_array_equal(model.predict(X), twin.predict(X))
    # compile(metrics=) holds for evaluate too
    assert model.evaluate(X, yr) == twin.evaluate(X, yr, loss="mse", metrics=["mae"])
    # an argument given to fit wins over compile's
    model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=1)
    assert isinstance(model.optimizer, fastlin.Adam)
    assert isinstance(model.loss_, SoftmaxCrossEntropyLoss)


def test_compile_refuses_bad_arguments_and_keeps_the_old_ones():
    model = fastlin.MLP([4, 3], seed=0)
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="unknown optimizer"):
        model.compile(optimizer="nadam-ish")
    with pytest.raises(ValueError):
        model.compile(loss="no such loss")
    with pytest.raises(TypeError, match="metrics must be a list"):
        model.compile(metrics="accuracy")
    foreign = fastlin.SGD(fastlin.MLP([4, 3], seed=1).parameters())
    with pytest.raises(ValueError, match="not this model's"):
        model.compile(optimizer=foreign)
    assert model._compiled_optimizer == "sgd"


def test_compile_with_an_optimizer_object():
    X, y = data()
    model = fastlin.MLP([4, 8, 3], seed=0)
    opt = fastlin.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.compile(optimizer=opt)
    model.fit(X, y, epochs=2)
    assert model.optimizer is opt


# ----------------------------------------------------------------- string labels
def test_fit_takes_string_labels():
    X, y = data()
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    model = fastlin.MLP([4, 16, 3], seed=0)
    model.fit(X, names.tolist(), epochs=20, lr=0.02, validation_data=(X[:20], names[:20]))
    np.testing.assert_array_equal(model.classes_, ["setosa", "versicolor", "virginica"])
    assert isinstance(model.loss_, SoftmaxCrossEntropyLoss)
    predicted = model.predict_classes(X)
    assert predicted.dtype.kind == "U" and np.mean(predicted == names) > 0.8
    # the same fit on the integer codes: bitwise the same weights
    twin = fastlin.MLP([4, 16, 3], seed=0)
    twin.fit(X, y, epochs=20, lr=0.02, validation_data=(X[:20], y[:20]))
    np.testing.assert_array_equal(model.predict(X), twin.predict(X))
    assert model.evaluate(X, names) == twin.evaluate(X, y)
    with pytest.raises(ValueError, match="not fitted with.*'rose'"):
        model.evaluate(X[:2], ["rose", "setosa"])


def test_two_string_classes_on_one_output_infer_bce():
    X, y = data()
    labels = np.where(y > 0, "spam", "ham").astype(object)
    model = fastlin.MLP([4, 8, 1], seed=0)
    model.fit(X, labels, epochs=3)
    assert isinstance(model.loss_, BCEWithLogitsLoss)
    assert set(model.predict_classes(X)) <= {"ham", "spam"}


def test_string_labels_refused_with_a_clear_error_before_any_change():
    X, y = data()
    names = np.array(["a", "b", "c"])[y]
    model = fastlin.MLP([4, 8, 1], seed=0)
    before = model.get_weights()
    with pytest.raises(ValueError, match="3 classes but the model has one output"):
        model.fit(X, names)
    with pytest.raises(ValueError, match="3 classes but the model has 2 outputs"):
        fastlin.MLP([4, 2], seed=0).fit(X, names)
    with pytest.raises(ValueError, match="validation_data has labels .*'d'"):
        fastlin.MLP([4, 3], seed=0).fit(X, names, validation_data=(X[:1], ["d"]))
    with pytest.raises(TypeError, match="cannot be sorted"):
        fastlin.MLP([4, 3], seed=0).fit(X[:3], np.array(["a", 1, None], dtype=object))
    assert not hasattr(model, "classes_") and model.history_ is None
    for p, w in zip(model.parameters(), before):
        np.testing.assert_array_equal(p, w)


def test_numeric_labels_set_no_classes():
    X, y = data()
    model = fastlin.MLP([4, 8, 3], seed=0)
    model.fit(X, np.array(["a", "b", "c"])[y], epochs=1)
    model.fit(X, y, epochs=1)  # numeric labels: today's behaviour, indices out
    assert not hasattr(model, "classes_")
    assert model.predict_classes(X).dtype == np.int64
    # numbers in an object array are not labels: refused as before
    with pytest.raises(TypeError, match="must hold numbers"):
        fastlin.MLP([4, 8, 3], seed=0).fit(X, y.astype(object), epochs=1)


# ---------------------------------------------------------- History and logs
def test_history_epochs_are_zero_based_with_the_learning_rate(tmp_path):
    X, y = data()
    model = fastlin.MLP([4, 8, 3], seed=0)
    seen = []

    class Watch(C.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, logs["learning_rate"], logs["lr"]))

    sched = C.LearningRateScheduler(lambda epoch: 0.01 / (epoch + 1))
    h = model.fit(X, y, epochs=3, callbacks=[sched, Watch(), C.CSVLogger(tmp_path / "log.csv")])
    assert h.epoch == [0, 1, 2]
    assert h.history["learning_rate"] == pytest.approx([0.01, 0.005, 0.01 / 3])
    assert [s[0] for s in seen] == [0, 1, 2] and all(s[1] == s[2] for s in seen)
    with open(tmp_path / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "accuracy", "learning_rate", "loss"]
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]


# ---------------------------------------------------------------------- PyTorch
def test_state_dict_names_and_layout():
    model = prelu_model()
    sd = model.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "1.weight", "2.weight"]
    np.testing.assert_array_equal(sd["0.weight"], model[0].W.T)
    assert sd["0.weight"].flags.c_contiguous and sd["0.weight"].shape == (5, 4)
    names = [name for name, _ in model.named_parameters()]
    assert names == list(sd)
    weight = dict(model.named_parameters())["0.weight"]
    weight[0, 0] = 3.0  # a view of the live parameter, as torch's
    assert model[0].W[0, 0] == 3.0


def test_load_state_dict_strict_and_shapes():
    model, other = prelu_model(), fastlin.Sequential(Dense(4, 5), PReLU(5), Dense(5, 3, bias=False))
    sd = model.state_dict()
    assert other.load_state_dict(sd) == ([], [])
    for p, q in zip(model.parameters(), other.parameters()):
        np.testing.assert_array_equal(p, q)
    before = other.get_weights()
    partial = {k: v + 1 for k, v in sd.items() if k != "1.weight"}
    with pytest.raises(ValueError, match=r"Missing key\(s\) in state_dict: '1.weight'"):
        other.load_state_dict(partial)
    with pytest.raises(ValueError, match=r"Unexpected key\(s\) in state_dict: 'extra'"):
        other.load_state_dict(dict(sd, extra=np.zeros(1)))
    with pytest.raises(ValueError, match=r"'0.weight'.*shape \(4, 5\), expected \(5, 4\)"):
        other.load_state_dict(dict(sd, **{"0.weight": sd["0.weight"].T}))
    for p, w in zip(other.parameters(), before):
        np.testing.assert_array_equal(p, w)
    result = other.load_state_dict(dict(partial, extra=np.zeros(1)), strict=False)
    assert result.missing_keys == ["1.weight"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(other[0].b, sd["0.bias"] + 1)
    with pytest.raises(TypeError, match="mapping"):
        other.load_state_dict([("0.weight", sd["0.weight"])])


def test_state_dict_round_trips_through_torch():
    torch = pytest.importorskip("torch")
    from fastlin.export import to_torch
    X, _ = data()
    model = fastlin.Sequential(Dense(4, 6), PReLU(6), Dropout(0.3), Dense(6, 3), seed=0)
    module = to_torch(model)
    assert not module.training  # eval(): Dropout off, output equals predict
    with torch.no_grad():
        out = module(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(out, model.predict(X), rtol=1e-5, atol=1e-6)
    assert list(module.state_dict()) == list(model.state_dict())
    for key, value in module.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), model.state_dict()[key])
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(2.0)
    fresh = fastlin.Sequential(Dense(4, 6), PReLU(6), Dropout(0.3), Dense(6, 3), seed=1)
    fresh.load_state_dict({k: v.numpy() for k, v in module.state_dict().items()})
    np.testing.assert_allclose(fresh.predict(X), module(torch.from_numpy(X)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)
    # tensors as they are, requiring grad or not
    other = fastlin.Sequential(Dense(4, 6), PReLU(6), Dropout(0.3), Dense(6, 3), seed=2)
    other.load_state_dict(dict(module.named_parameters()))
    np.testing.assert_array_equal(other.predict(X), fresh.predict(X))
    model.load_state_dict(fresh.state_dict())
    module.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})


# ------------------------------------------------------------------ progress output
def test_progress_is_one_line_per_epoch_without_a_terminal(capsys):
    X, y = data()
    fastlin.MLP([4, 8, 3], seed=0).fit(X, y, epochs=3, verbose=True)
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert "loss=" in lines[0] and "lr=" not in out and "learning_rate" not in out
    assert "\r" not in err and "batch" not in err  # no bar frames in a log


def test_progress_bar_on_a_terminal(capsys, monkeypatch):
    from fastlin.training.callbacks import progress
    monkeypatch.setattr(progress, "_is_terminal", lambda stream: True)
    X, y = data()
    fastlin.MLP([4, 8, 3], seed=0).fit(X, y, epochs=2, verbose=True)
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 2 and "batch" in err


def test_an_empty_model_grows_by_add_as_in_keras(tmp_path, capsys):
    """Keras's ``model = Sequential(); model.add(...)``: an empty model is the identity (as
    torch's), prints a summary, saves and loads; layers added to a seeded model draw their
    weights from its generator, so the result equals the model built with all of them."""
    X, y = data()
    model = fastlin.Sequential(seed=3)
    assert len(model) == 0 and model.parameters() == []
    np.testing.assert_array_equal(model.predict(X), X)
    model.summary()
    assert "Total params: 0" in capsys.readouterr().out
    model.save(tmp_path / "empty.npz")
    assert len(fastlin.load(tmp_path / "empty.npz")) == 0
    with pytest.raises(ValueError, match="no parameters to train"):
        model.fit(X, y, epochs=1)
    for layer in (Dense(4, 16), ReLU(), Dense(16, 3)):
        model.add(layer)
    whole = fastlin.Sequential(Dense(4, 16), ReLU(), Dense(16, 3), seed=3)
    for a, b in zip(model.get_weights(), whole.get_weights()):
        np.testing.assert_array_equal(a, b)
    h = model.fit(X, y, epochs=2, seed=0)
    assert len(h.history["loss"]) == 2


def test_add_to_a_loaded_seeded_model_continues_its_generator(tmp_path):
    """A model loaded from a file has no generator in memory: add replays the saved layers'
    draws to reach it, so the appended layer is what it would have been before saving."""
    model = fastlin.Sequential(Dense(4, 8), ReLU(), seed=5)
    model.save(tmp_path / "m.npz")
    loaded = fastlin.load(tmp_path / "m.npz")
    model.add(Dense(8, 2))
    loaded.add(Dense(8, 2))
    np.testing.assert_array_equal(model.layers[-1].W, loaded.layers[-1].W)
    unseeded = fastlin.Sequential(Dense(4, 8))
    own = Dense(8, 2, seed=1)
    before = own.W.copy()
    unseeded.add(own)
    np.testing.assert_array_equal(own.W, before)  # without a seed, a layer keeps its weights


def test_training_flag_as_torch_modules_have_it():
    """``model.training`` is True until ``eval()`` (with or without Dropout), assignable, and
    fit leaves it as it found it."""
    X, y = data()
    model = fastlin.MLP([4, 8, 3], seed=0)
    assert model.training
    model.eval()
    assert not model.training
    model.training = True
    assert model.training
    model.eval()
    model.fit(X, y, epochs=1)
    assert not model.training
    drop = fastlin.Sequential(Dense(4, 8), Dropout(0.5), Dense(8, 3), seed=0)
    assert drop.training and drop.layers[1].training
    drop.training = False
    assert not drop.layers[1].training


def test_keras_keywords_of_predict_evaluate_and_fit():
    """``predict(X, batch_size=, verbose=0)`` and ``evaluate`` likewise (the block of rows;
    nothing printed), ``fit(batch_size=None)`` is Keras's 32; a bad batch_size is refused."""
    X, y = data()
    model = fastlin.MLP([4, 8, 3], seed=0)
    whole = model.predict(X)
    np.testing.assert_allclose(model.predict(X, batch_size=7, verbose=0), whole, rtol=1e-6)
    np.testing.assert_allclose(model.predict_proba(X, batch_size=7), model.predict_proba(X),
                               rtol=1e-6)
    np.testing.assert_array_equal(model.predict_classes(X, verbose=0), model.predict_classes(X))
    a, b = model.evaluate(X, y), model.evaluate(X, y, batch_size=5, verbose=0)
    assert a.keys() == b.keys() and abs(a["loss"] - b["loss"]) < 1e-6
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            model.predict(X, batch_size=bad)
    twin = fastlin.MLP([4, 8, 3], seed=0)
    model.fit(X, y, epochs=1, seed=0, batch_size=None)
    twin.fit(X, y, epochs=1, seed=0, batch_size=32)
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(p, q)
