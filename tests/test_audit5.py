"""Regression tests for the defects the fifth audit found: silent wrong answers checked against
independent references (scikit-learn's r2_score and accuracy_score, NumPy closed forms, the
model's own float64 predictions)."""
import numpy as np
import pytest

import fastlin
from fastlin.cli import main


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _regression(n=60, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ np.arange(1.0, d + 1) + rng.normal(size=n)


# ------------------------------------------------------------------ fastlin.LinearRegression
def test_score_of_a_constant_target_is_scikit_learns():
    # ss_tot = 0: r2_score gives 0 (1 for an exact fit); fastlin gave 1 - ss_res, here about
    # -3000, a number in the target's squared units
    sk_metrics = pytest.importorskip("sklearn.metrics")
    X, y = _regression()
    model = fastlin.LinearRegression().fit(X, y)
    constant = np.full(len(y), 3.0)
    assert model.score(X, constant) == sk_metrics.r2_score(constant, model.predict(X)) == 0.0
    # an exact fit of a constant (zero: the solver returns it without rounding) scores 1
    exact = fastlin.LinearRegression().fit(X, np.zeros(len(y)))
    assert exact.score(X, np.zeros(len(y))) == 1.0


def test_score_and_likelihood_read_a_column_target_as_the_vector():
    # y of shape (n, 1) against predictions of shape (n,) broadcast into an (n, n) difference:
    # score gave -0.93 for a model whose R² is +0.93, log_likelihood -37949 for -67
    X, y = _regression()
    column = y.reshape(-1, 1)
    model = fastlin.LinearRegression().fit(X, y)
    r = y - model.predict(X)
    s2 = np.mean(r ** 2)
    r2 = 1 - np.sum(r ** 2) / np.sum((y - y.mean()) ** 2)
    ll = -0.5 * len(y) * (np.log(2 * np.pi * s2) + 1)  # closed form at the MLE variance
    for target in (y, column):
        assert model.score(X, target) == pytest.approx(r2, rel=1e-12)
        assert model.log_likelihood(X, target) == pytest.approx(ll, rel=1e-12)
    fitted_on_column = fastlin.LinearRegression().fit(X, column)
    assert fitted_on_column.score(X, y) == pytest.approx(r2, rel=1e-12)
    assert fitted_on_column.log_likelihood(X, y) == pytest.approx(ll, rel=1e-12)


def test_score_refuses_a_target_that_does_not_match():
    X, y = _regression()
    model = fastlin.LinearRegression().fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        model.score(X, np.where(y > 0, np.nan, y))
    with pytest.raises(ValueError, match="samples"):
        model.score(X, y[:10])
    with pytest.raises(ValueError, match="shape"):
        model.score(X, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="sample_weight"):
        model.score(X, y, sample_weight=np.ones(5))


@pytest.mark.parametrize("cls", [fastlin.LogisticRegression, fastlin.SoftmaxRegression])
def test_classifier_score_reads_a_column_of_labels(cls):
    # fit takes labels of shape (n, 1); score compared them with (n,) predictions as (n, n)
    # and gave 0.5 for a model that is 98% right
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = (X[:, 0] > 0).astype(int)
    model = cls().fit(X, y)
    accuracy = np.mean(model.predict(X) == y)
    assert accuracy > 0.9
    assert model.score(X, y) == model.score(X, y.reshape(-1, 1)) == accuracy
    with pytest.raises(ValueError, match="one label per sample"):
        model.score(X, y[:10])


# ---------------------------------------------------------------------------- command line
def _write(path, header, rows):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        f.writelines(",".join(str(v) for v in row) + "\n" for row in rows)
    return path


def test_cli_numeric_class_labels_keep_every_digit(in_tmp, capsys):
    # f"{v:g}" wrote both 1000001 and 1000002 as "1e+06": every prediction and both --proba
    # columns carried the same name
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 2))
    y = np.where(X[:, 0] > 0, 1000001, 1000002)
    data = _write(in_tmp / "ids.csv", ["a", "b", "y"], [[a, b, t] for (a, b), t in zip(X, y)])
    assert main(["train", str(data), "--target", "y", "--epochs", "20"]) == 0
    assert "1000001, 1000002" in capsys.readouterr().out
    assert main(["predict", "model.npz", str(data)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "y" and set(lines[1:]) <= {"1000001", "1000002"}
    assert np.mean(np.array(lines[1:], dtype=np.int64) == y) > 0.9
    assert main(["predict", "model.npz", str(data), "--proba"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "1000001,1000002"


def test_cli_fractional_class_labels_are_named_exactly(in_tmp, capsys):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(90, 2))
    y = np.where(X[:, 0] > 0, 0.1234567, 0.1234568)
    data = _write(in_tmp / "f.csv", ["a", "b", "y"], [[a, b, repr(float(t))] for (a, b), t in zip(X, y)])
    assert main(["train", str(data), "--target", "y", "--task", "classify", "--epochs", "5"]) == 0
    capsys.readouterr()
    assert main(["predict", "model.npz", str(data), "--proba"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "0.1234567,0.1234568"


def test_cli_regression_predictions_are_not_rounded_to_seven_digits(in_tmp, capsys):
    # "%.7g" wrote 1000000.51 as 1000001: an error of up to 0.5 on a model whose RMSE is 0.05
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = 1e6 + 3 * X[:, 0] - X[:, 1]
    data = _write(in_tmp / "reg.csv", ["a", "b", "y"],
                  [[repr(float(a)), repr(float(b)), repr(float(t))]
                   for (a, b), t in zip(X, y)])
    assert main(["train", str(data), "--target", "y", "--hidden", "", "--epochs", "30"]) == 0
    capsys.readouterr()
    assert main(["predict", "model.npz", str(data)]) == 0
    written = np.array(capsys.readouterr().out.splitlines()[1:], dtype=np.float64)
    # what the model computes, in float64 from its float32 outputs, as predict does
    model = fastlin.load("model.npz")
    meta = model.metadata
    Z = ((X - np.array(meta["mean"])) / np.array(meta["std"])).astype(np.float32)
    expected = model.predict(Z)[:, 0].astype(np.float64) * meta["y_std"] + meta["y_mean"]
    # equal up to the standardisation's rounding (float32 inputs), far below the old 0.5
    assert np.max(np.abs(written - expected)) < 1e-3
    assert np.sqrt(np.mean((written - y) ** 2)) < 0.2


# ------------------------------------------------------------------------------ checkpoints
@pytest.mark.parametrize("make_loss, target", [
    (lambda: fastlin.SoftmaxCrossEntropyLoss(label_smoothing=0.1, class_weight=[1.0, 5.0, 1.0]),
     "labels"),
    (lambda: fastlin.BCEWithLogitsLoss(pos_weight=[3.0, 0.5, 1.0]), "indicators"),
])
def test_checkpoint_keeps_a_weighted_loss_so_fit_continues_bitwise(tmp_path, make_loss, target):
    # A loss with class_weight (or an array pos_weight) was not stored: the loaded model had no
    # loss_, so fit(loss=None) silently continued with an unweighted loss it inferred
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 5))
    y = rng.integers(0, 3, 64) if target == "labels" else \
        (rng.uniform(size=(64, 3)) > 0.5).astype(float)
    model = fastlin.MLP([5, 8, 3], seed=1)
    opt = fastlin.Adam(model.parameters(), lr=0.01)
    model.fit(X, y, loss=make_loss(), optimizer=opt, epochs=1, seed=0)
    path = tmp_path / "ckpt.npz"
    model.save(path, optimizer=opt)
    loaded, loaded_opt = fastlin.load_checkpoint(path)
    reference = make_loss()
    assert type(loaded.loss_) is type(reference)
    for name in ("class_weight", "pos_weight", "label_smoothing"):
        if hasattr(reference, name):
            np.testing.assert_array_equal(getattr(loaded.loss_, name), getattr(reference, name))
    model.fit(X, y, optimizer=opt, epochs=2)
    loaded.fit(X, y, optimizer=loaded_opt, epochs=2)
    for a, b in zip(model.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_refuses_class_weights_that_do_not_fit_the_model(tmp_path):
    import zipfile
    model = fastlin.MLP([4, 3], seed=0)
    model.fit(np.eye(4), np.array([0, 1, 2, 0]), epochs=1,
              loss=fastlin.SoftmaxCrossEntropyLoss(class_weight=[1.0, 2.0, 3.0]))
    path = tmp_path / "m.npz"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    name = "__architecture__.npy"
    stored = '"class_weight": [1.0, 2.0, 3.0]'
    assert stored.encode() in entries[name]
    # same byte length (the .npy header states it): too few entries, a negative one, a string
    for bad in ('"class_weight":      [1.0, 2.0]', '"class_weight": [1.0,-2.0, 3.0]',
                '"class_weight":             "x"'):
        assert len(bad) == len(stored)
        damaged = tmp_path / "bad.npz"
        with zipfile.ZipFile(damaged, "w") as zf:
            for entry, data in entries.items():
                zf.writestr(entry, data.replace(stored.encode(), bad.encode())
                            if entry == name else data)
        with pytest.raises(ValueError, match="class_weight"):
            fastlin.load(damaged)


# ------------------------------------------------------------------------ Sequential targets
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_a_column_of_labels_trains_as_the_vector_does(n_outputs):
    # y of shape (n, 1): one output inferred MSE where (n,) infers binary cross-entropy (a
    # different objective, no accuracy); three outputs raised "y has 1 columns but the model
    # has 3 outputs", also with loss="cross_entropy"
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = (X[:, 0] > 0).astype(int) if n_outputs == 1 else rng.integers(0, 3, 50)
    vector, column = (fastlin.MLP([3, 4, n_outputs], seed=0) for _ in range(2))
    h_vector = vector.fit(X, y, epochs=2, seed=0, validation_data=(X, y))
    h_column = column.fit(X, y.reshape(-1, 1), epochs=2, seed=0,
                          validation_data=(X, y.reshape(-1, 1)))
    assert type(column.loss_) is type(vector.loss_)
    assert h_column.history == h_vector.history and "accuracy" in h_column.history
    for a, b in zip(vector.parameters(), column.parameters()):
        np.testing.assert_array_equal(a, b)
    assert column.evaluate(X, y.reshape(-1, 1)) == vector.evaluate(X, y)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_a_batch_of_zero_weight_is_skipped_not_an_error_mid_fit(backend):
    # Rows 10..19 weigh 0: their batch raised "a batch's total sample weight is not positive"
    # in the middle of the epoch, after the first batch had changed the weights (and with
    # shuffling, at random). Such a batch has no gradient: it is skipped, so the fit equals
    # one on the other batches alone.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = rng.integers(0, 3, 40)
    sw = np.ones(40)
    sw[10:20] = 0
    model = fastlin.MLP([3, 5, 3], seed=0, backend=backend)
    history = model.fit(X, y, sample_weight=sw, batch_size=10, shuffle=False, epochs=3)
    keep = np.r_[0:10, 20:40]
    reference = fastlin.MLP([3, 5, 3], seed=0, backend=backend)
    expected = reference.fit(X[keep], y[keep], batch_size=10, shuffle=False, epochs=3)
    for a, b in zip(model.parameters(), reference.parameters()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-12)
    # shuffled, with a class left out by class_weight and by the loss's own class_weight
    for kwargs in ({"sample_weight": sw}, {"class_weight": {0: 0.0}},
                   {"loss": fastlin.SoftmaxCrossEntropyLoss(class_weight=[0.0, 1.0, 1.0])}):
        shuffled = fastlin.MLP([3, 5, 3], seed=0, backend=backend)
        h = shuffled.fit(X, y, batch_size=2, epochs=3, seed=0, **kwargs)
        assert np.all(np.isfinite(h.history["loss"]))


def test_fit_class_weight_is_checked_like_sample_weight():
    X, y = np.eye(3), np.array([0, 1, 2])
    model = fastlin.MLP([3, 3], seed=0)
    before = [p.copy() for p in model.parameters()]
    for bad, msg in (({0: -1.0}, "class_weight\\[0\\] must be >= 0"),
                     ({0: np.nan}, "class_weight\\[0\\] must be finite"),
                     ({"a": 1.0}, "names class 'a'"), ({1.5: 1.0}, "names class 1.5"),
                     ({3: 1.0}, "names class 3")):
        with pytest.raises(ValueError, match=msg):
            model.fit(X, y, class_weight=bad, epochs=1)
    for p, q in zip(model.parameters(), before):
        np.testing.assert_array_equal(p, q)
    model.fit(X, y, class_weight={np.int64(0): 2, 1.0: 0.5}, epochs=1)  # ints, whole floats


def test_evaluate_with_a_class_weighted_loss_is_the_mean_over_all_rows():
    # evaluate averages blocks of 4096 rows; it weighted each block's mean by its row count
    # (or Σ sample_weight) although a class-weighted mean divides by Σ sw·class_weight[y]:
    # 1.160 for a loss of 1.366 here, and the same error in val_loss of a large validation set
    rng = np.random.default_rng(0)
    n = 9000
    X = rng.normal(size=(n, 3))
    y = np.where(np.arange(n) < 4096, 0, rng.integers(0, 3, n))
    model = fastlin.MLP([3, 5, 3], seed=0, dtype="float64")
    loss = fastlin.SoftmaxCrossEntropyLoss(class_weight=[0.1, 1.0, 3.0])
    sw = rng.uniform(0, 2, n)
    out = model.predict(X)
    assert model.evaluate(X, y, loss=loss)["loss"] == pytest.approx(
        loss.forward(out, y), rel=1e-12)
    assert model.evaluate(X, y, loss=loss, sample_weight=sw)["loss"] == pytest.approx(
        loss.forward(out, y, sample_weight=sw), rel=1e-12)
    sw[:4096] = 0  # a block of zero weight adds nothing
    assert model.evaluate(X, y, loss=loss, sample_weight=sw)["loss"] == pytest.approx(
        loss.forward(out, y, sample_weight=sw), rel=1e-12)
    with pytest.raises(ValueError, match="total weight"):
        model.evaluate(X, y, sample_weight=np.zeros(n))


# ---------------------------------------------------------------------------- GaussianNLLLoss
def test_gaussian_nll_refuses_a_negative_variance_as_torch_does():
    # a negative var was clamped to eps silently (a loss of ~5e5 for ~1.5); torch raises
    torch = pytest.importorskip("torch")
    mu, y = np.zeros((3, 1)), np.ones((3, 1))
    ref = torch.nn.GaussianNLLLoss(full=True)
    with pytest.raises(ValueError, match="negative"):
        ref(torch.tensor(mu), torch.tensor(y), torch.full((3, 1), -2.0, dtype=torch.float64))
    loss = fastlin.GaussianNLLLoss()
    for bad in (np.full((3, 1), -2.0), -1.0):
        with pytest.raises(ValueError, match="negative"):
            loss.forward(mu, y, var=bad)
    with pytest.raises(ValueError, match="negative"):
        fastlin.GaussianNLLLoss(var=-1.0)
    with pytest.raises(ValueError, match="finite"):
        loss.forward(mu, y, var=np.full((3, 1), np.nan))
    with pytest.raises(ValueError, match="var is of incorrect size"):
        loss.forward(mu, y, var=np.full((2, 1), 2.0))
    # zero is clamped to eps, as in torch (fastlin includes the ½ log 2π constant: full=True)
    var0 = torch.zeros((3, 1), dtype=torch.float64)
    assert loss.forward(mu, y, var=0.0) == pytest.approx(
        float(ref(torch.tensor(mu), torch.tensor(y), var0)), rel=1e-12)


def test_sequential_refuses_layers_whose_widths_do_not_chain(tmp_path):
    # built silently, then failed at the first fit with "TrainPlan: layer 1 buffers have
    # inconsistent sizes" (or a kernel's shape message at predict)
    with pytest.raises(ValueError, match="layer 2 \\(Dense\\) takes 5 features but the layer "
                                         "before it gives 6"):
        fastlin.Sequential(fastlin.Dense(4, 6), fastlin.ReLU(), fastlin.Dense(5, 2))
    with pytest.raises(ValueError, match="layer 1 \\(PReLU\\) has 5 slopes for 6 units"):
        fastlin.Sequential(fastlin.Dense(4, 6), fastlin.PReLU(5), fastlin.Dense(6, 2))
    fastlin.Sequential(fastlin.Dense(4, 6), fastlin.PReLU(6), fastlin.Dropout(0.1),
                       fastlin.Dense(6, 2), fastlin.PReLU(1))
    # a file whose stored layers do not chain is refused by load with the file named
    import zipfile
    model = fastlin.Sequential(fastlin.Dense(4, 6), fastlin.ReLU(), fastlin.Dense(6, 6), seed=0)
    path = tmp_path / "m.npz"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    stored = b'"in_features": 6, "out_features": 6'
    assert stored in entries["__architecture__.npy"]
    bad = tmp_path / "bad.npz"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, data in entries.items():
            if name == "__architecture__.npy":
                data = data.replace(stored, b'"in_features": 5, "out_features": 6')
            elif name == "param_2_0.npy":  # the weight of the shape the header now states
                import io
                buf = io.BytesIO()
                np.save(buf, np.zeros((5, 6), np.float32))
                data = buf.getvalue()
            zf.writestr(name, data)
    with pytest.raises(ValueError, match="bad.npz.*do not fit together"):
        fastlin.load(bad)


def test_data_train_test_split_checks_its_arguments():
    from fastlin.data import train_test_split
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_fraction=0.3, seed=1)
    assert len(X_te) == len(y_te) == 3 and len(X_tr) == len(y_tr) == 7
    assert sorted(np.r_[y_tr, y_te]) == list(range(10))
    np.testing.assert_array_equal(X_tr[:, 0] / 2, y_tr)
    # -0.3 held out 7 samples and trained on 3, silently; 1.5 trained on none
    for bad in (-0.3, 1.5, float("nan"), "0.2"):
        with pytest.raises(ValueError, match="test_fraction"):
            train_test_split(X, y, test_fraction=bad)
    with pytest.raises(ValueError, match="samples"):
        train_test_split(X, y[:5])


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


@pytest.mark.parametrize("name", ["adam", "sgd", "adamw"])
def test_load_checkpoint_resumes_a_fit_that_named_its_optimizer(tmp_path, name):
    # fit(optimizer="adam") (the default) keeps model.optimizer and a later fit continues it;
    # a model from load_checkpoint had no model.optimizer, so the same call started a fresh
    # optimizer (moments and step count lost) and the resumed run silently diverged
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 3, 40)
    model = fastlin.MLP([3, 5, 3], seed=0)
    model.fit(X, y, optimizer=name, epochs=1, seed=0)
    path = tmp_path / "ckpt.npz"
    model.save(path, optimizer=model.optimizer)
    loaded, opt = fastlin.load_checkpoint(path)
    assert loaded.optimizer is opt
    model.fit(X, y, optimizer=name, epochs=2)
    loaded.fit(X, y, optimizer=name, epochs=2)
    assert loaded.optimizer is opt and opt.step_count == model.optimizer.step_count
    for a, b in zip(model.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(a, b)


def test_gaussian_nll_with_an_array_variance_weighs_the_samples():
    # with an array var, sample_weight was ignored (the plain mean came back); with a scalar
    # var it was honoured: a constant array must give what the scalar gives
    rng = np.random.default_rng(0)
    out, target = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    sw = np.array([1.0, 0.0, 2.0, 0.5, 0.0])
    loss = fastlin.GaussianNLLLoss()
    scalar = loss.forward(out, target, var=2.0, sample_weight=sw)
    grad_scalar = loss.backward().copy()
    array = loss.forward(out, target, var=np.full((5, 2), 2.0), sample_weight=sw)
    np.testing.assert_allclose(array, scalar, rtol=1e-13)
    np.testing.assert_allclose(loss.backward(), grad_scalar, rtol=1e-13, atol=1e-16)
    # closed form, per-element variances
    var = rng.uniform(0.5, 3.0, size=(5, 2))
    terms = 0.5 * np.log(2 * np.pi * var) + (out - target) ** 2 / (2 * var)
    expected = np.sum(sw[:, None] * terms) / (sw.sum() * 2)
    assert loss.forward(out, target, var=var, sample_weight=sw) == pytest.approx(expected, rel=1e-13)
    # its gradients against central differences in float64
    grad = loss.backward().copy()
    grad_var = loss.grad_var.copy()
    h = 1e-6
    for (i, j) in [(0, 0), (2, 1), (3, 0), (1, 1)]:
        for arr, analytic in ((out, grad), (var, grad_var)):
            up, down = arr.copy(), arr.copy()
            up[i, j] += h
            down[i, j] -= h
            args_up = (up, target, var) if arr is out else (out, target, up)
            args_down = (down, target, var) if arr is out else (out, target, down)
            numeric = (loss.forward(args_up[0], args_up[1], var=args_up[2], sample_weight=sw)
                       - loss.forward(args_down[0], args_down[1], var=args_down[2],
                                      sample_weight=sw)) / (2 * h)
            assert analytic[i, j] == pytest.approx(numeric, rel=1e-6, abs=1e-10)
    with pytest.raises(ValueError, match="sample_weight"):
        loss.forward(out, target, var=var, sample_weight=np.zeros(5))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_class_weight_changed_after_a_forward_is_used(dtype):
    # the kernel copy of class_weight was cached at the first forward: a reassigned or
    # edited class_weight was silently ignored (label_smoothing changes were honoured)
    torch = pytest.importorskip("torch")
    z = np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0], [0.3, -1.0, 0.0]])
    y = np.array([0, 2, 1])

    def reference(weights):
        crit = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float64))
        return float(crit(torch.tensor(z), torch.tensor(y)))

    tol = 1e-12 if dtype == np.float64 else 1e-6
    loss = fastlin.SoftmaxCrossEntropyLoss(class_weight=[1.0, 1.0, 1.0])
    assert loss.forward(z.astype(dtype), y) == pytest.approx(reference([1, 1, 1]), rel=tol)
    loss.class_weight = np.array([1.0, 2.0, 10.0])
    assert loss.forward(z.astype(dtype), y) == pytest.approx(reference([1, 2, 10]), rel=tol)
    loss.class_weight[1] = 0.5
    assert loss.forward(z.astype(dtype), y) == pytest.approx(reference([1, 0.5, 10]), rel=tol)
    unweighted = fastlin.SoftmaxCrossEntropyLoss()
    unweighted.forward(z.astype(dtype), y)
    unweighted.class_weight = [3.0, 1.0, 1.0]
    assert unweighted.forward(z.astype(dtype), y) == pytest.approx(reference([3, 1, 1]), rel=tol)
    # and a fit started after the change trains with it
    X = np.eye(3)
    a, b = (fastlin.MLP([3, 3], seed=0, dtype=dtype) for _ in range(2))
    changed = fastlin.SoftmaxCrossEntropyLoss(class_weight=[1.0, 1.0, 1.0])
    changed.forward(z.astype(dtype), y)
    changed.class_weight = [1.0, 2.0, 10.0]
    a.fit(X, y, loss=changed, epochs=2, seed=0)
    b.fit(X, y, loss=fastlin.SoftmaxCrossEntropyLoss(class_weight=[1.0, 2.0, 10.0]), epochs=2,
          seed=0)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)


def test_fit_refuses_an_optimizer_over_another_models_parameters():
    # it "trained" for every epoch with a constant loss: the optimizer stepped the other
    # model's arrays with their (zero) gradients and this model never changed
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 3, 40)
    model, other = fastlin.MLP([3, 5, 3], seed=0), fastlin.MLP([3, 5, 3], seed=1)
    before = [p.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match="not this model's parameters"):
        model.fit(X, y, optimizer=fastlin.Adam(other.parameters(), lr=0.1), epochs=2)
    for p, q in zip(model.parameters(), before):
        np.testing.assert_array_equal(p, q)
    # an optimizer over some of the model's parameters trains those and freezes the rest
    model.fit(X, y, optimizer=fastlin.Adam(model.parameters()[2:], lr=0.1), epochs=2)
    changed = [not np.array_equal(p, q) for p, q in zip(model.parameters(), before)]
    assert changed == [False, False, True, True]


def test_optimizer_load_state_dict_with_a_bad_step_count_changes_nothing():
    # the settings were assigned first and the step count checked last: a bad state left the
    # optimizer with the saved lr but its own moments; a non-numeric count gave int()'s error
    model = fastlin.MLP([3, 2], seed=0)
    saved = fastlin.Adam(model.parameters(), lr=0.1).state_dict()
    opt = fastlin.Adam(model.parameters(), lr=0.5)
    for bad in (-1, 1.5, "x", True):
        with pytest.raises(ValueError, match="invalid step_count"):
            opt.load_state_dict({**saved, "step_count": bad})
        assert opt.lr == 0.5 and opt.step_count == 0
    opt.load_state_dict({**saved, "step_count": np.int64(3)})
    assert opt.lr == 0.1 and opt.step_count == 3


def test_checkpoint_keeps_the_schedules_initial_lr(tmp_path):
    # A scheduler records optimizer.initial_lr (torch keeps it in the optimizer's state); the
    # checkpoint dropped it, so resuming a schedule with last_epoch >= 0 after load_checkpoint
    # failed with "optimizer.initial_lr is not set ... load the optimizer's checkpoint first"
    torch = pytest.importorskip("torch")
    from fastlin.optim.lr_scheduler import CosineAnnealingLR
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 2, 30)
    model = fastlin.MLP([3, 4, 2], seed=0)
    opt = fastlin.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.fit(X, y, optimizer=opt, scheduler=CosineAnnealingLR(opt, 6, 0.001), epochs=3)
    path = tmp_path / "ckpt.npz"
    model.save(path, optimizer=opt)
    _, loaded = fastlin.load_checkpoint(path)
    assert loaded.initial_lr == 0.1 and loaded.lr == opt.lr
    CosineAnnealingLR(loaded, 6, 0.001, last_epoch=2)
    # torch, the same protocol: optimizer state loaded, the schedule rebuilt at last_epoch=2
    t = torch.zeros(1, requires_grad=True)
    t_opt = torch.optim.SGD([t], lr=0.1, momentum=0.9)
    t_sched = torch.optim.lr_scheduler.CosineAnnealingLR(t_opt, 6, 0.001)
    for _ in range(3):
        t_opt.step()
        t_sched.step()
    t2 = torch.zeros(1, requires_grad=True)
    t_opt2 = torch.optim.SGD([t2], lr=0.1, momentum=0.9)
    t_opt2.load_state_dict(t_opt.state_dict())
    torch.optim.lr_scheduler.CosineAnnealingLR(t_opt2, 6, 0.001, last_epoch=2)
    assert loaded.lr == pytest.approx(t_opt2.param_groups[0]["lr"], rel=1e-12)
    # the in-memory state_dict carries it too
    fresh = fastlin.SGD(model.parameters(), lr=0.5, momentum=0.9)
    fresh.load_state_dict(opt.state_dict())
    assert fresh.initial_lr == 0.1


# ------------------------------------------------------------------- fastlin.sklearn drop-in
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_targets", [None, 1, 2])
def test_sklearn_linear_regression_rank_deficient_coefficients_are_scikit_learns(weighted,
                                                                                 n_targets):
    # with a constant column (or columns summing to one, as one-hot groups do) the appended
    # column of ones made the minimum-norm solution spread the intercept over coef_:
    # coef 2.0 and intercept 1.0 where scikit-learn gives 0 and 5.0 (same predictions)
    sk_linear = pytest.importorskip("sklearn.linear_model")
    from fastlin.sklearn import LinearRegression
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    X = np.column_stack([X, np.full(30, 2.0), X[:, 0] + X[:, 1]])
    y = X[:, :3] @ [1.0, 2.0, 3.0] + 5 + 0.1 * rng.normal(size=30)
    if n_targets == 1:
        y = y[:, None]
    elif n_targets == 2:
        y = np.column_stack([y, -2 * y])
    sw = rng.uniform(0.1, 2.0, 30) if weighted else None
    ours = LinearRegression().fit(X, y, sample_weight=sw)
    ref = sk_linear.LinearRegression().fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-10, atol=1e-10)
    assert np.shape(ours.intercept_) == np.shape(ref.intercept_)
    assert ours.rank_ == ref.rank_
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-12, atol=1e-12)
    residual = y - ref.predict(X)
    np.testing.assert_allclose(ours.noise_variance_,
                               np.average(residual ** 2, axis=0, weights=sw), rtol=1e-10)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sklearn_linear_regression_cuts_tiny_singular_values_as_scikit_learn_does(fit_intercept):
    # scikit-learn 1.9 gives lstsq cond=tol on dense X; two columns 1e-9 apart then count as
    # one (rank 3 of 4) and the coefficients stay small, where LAPACK's default cut-off kept
    # the tiny singular value and returned huge opposite coefficients
    sklearn = pytest.importorskip("sklearn")
    from fastlin.sklearn import LinearRegression
    from fastlin.sklearn._common import _sklearn_at_least
    if not _sklearn_at_least(1, 9):
        pytest.skip("scikit-learn before 1.9 uses LAPACK's default cut-off")
    from sklearn.linear_model import LinearRegression as SkLinearRegression
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 4))
    X[:, 3] = X[:, 2] + 1e-9 * rng.normal(size=20)
    y = rng.normal(size=20)
    ours = LinearRegression(fit_intercept=fit_intercept).fit(X, y)
    ref = SkLinearRegression(fit_intercept=fit_intercept).fit(X, y)
    assert ours.rank_ == ref.rank_ == 3
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-9, atol=1e-12)


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
    from fastlin.sequential import _CompiledLoop
    calls = []
    original = _CompiledLoop.run
    monkeypatch.setattr(_CompiledLoop, "run", lambda loop, *a: calls.append(1) or original(loop, *a))
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
