"""Sharing a model between threads, Ctrl-C during fit, and fit calls that continue each other
(SPEC §9 and §10)."""
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import fastlin
from fastlin import MLP, PReLU, Dense, Sequential, Adam, SoftmaxCrossEntropyLoss

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(fastlin.__file__)))


def _run_threads(n_threads, work):
    errors = []

    def wrapped(k):
        try:
            work(k)
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=wrapped, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_threads_sharing_one_model_get_their_own_answers():
    # Before: every forward wrote the layers' scratch buffers while kernels ran without the GIL,
    # so one thread's predict returned another's rows about a third of the time.
    model = MLP([64, 256, 256, 10], seed=0)
    rng = np.random.default_rng(1)
    inputs = [rng.standard_normal((int(n), 64)).astype(np.float32) for n in (96, 200, 33, 128)]
    expected = [model.predict(x) for x in inputs]
    wrong = []

    def work(k):
        x, want = inputs[k], expected[k]
        for _ in range(60):
            if not np.array_equal(model.predict(x), want):
                wrong.append(k)
            if not np.array_equal(model.predict_classes(x), want.argmax(axis=1)):
                wrong.append(k)

    _run_threads(len(inputs), work)
    assert wrong == []


def test_evaluate_and_predict_proba_are_thread_safe():
    model = MLP([8, 32, 3], seed=0)
    rng = np.random.default_rng(2)
    data = [(rng.standard_normal((n, 8)).astype(np.float32), rng.integers(0, 3, n))
            for n in (50, 70, 90)]
    loss = SoftmaxCrossEntropyLoss()
    expected = [(model.evaluate(x, y, loss=loss), model.predict_proba(x)) for x, y in data]
    bad = []

    def work(k):
        x, y = data[k]
        for _ in range(100):
            if model.evaluate(x, y, loss=loss) != expected[k][0]:
                bad.append(("evaluate", k))
            if not np.array_equal(model.predict_proba(x), expected[k][1]):
                bad.append(("proba", k))

    _run_threads(len(data), work)
    assert bad == []


def test_sklearn_predict_proba_shared_between_threads():
    pytest.importorskip("sklearn")
    from fastlin.sklearn import MLPClassifier
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 12))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=5, random_state=0).fit(X, y)
    inputs = [X[:40], X[40:140], X[140:]]
    expected = [clf.predict_proba(x) for x in inputs]
    bad = []

    def work(k):
        for _ in range(100):
            if not np.array_equal(clf.predict_proba(inputs[k]), expected[k]):
                bad.append(k)

    _run_threads(3, work)
    assert bad == []


def _predicting_beside(fit, check):
    """Run fit() while another thread calls check() in a loop; (failures, check calls)."""
    done = threading.Event()
    failures, calls = [], [0]

    def predictor():
        while not done.is_set():
            try:
                check()
                calls[0] += 1
            except BaseException as exc:  # noqa: BLE001 - reported to the test
                failures.append(exc)
                return

    t = threading.Thread(target=predictor)
    t.start()
    try:
        fit()
    finally:
        done.set()
        t.join()
    return failures, calls[0]


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_predict_beside_python_loop_fit_changes_nothing(backend):
    # A PReLU stack trains on the Python loop. Before: a predict in another thread overwrote
    # layer._input, so fit computed its gradients from the wrong rows or raised a shape error.
    def build():
        return Sequential(Dense(10, 64), PReLU(64), Dense(64, 64), PReLU(), Dense(64, 3),
                          seed=0, backend=backend)

    rng = np.random.default_rng(4)
    X = rng.standard_normal((512, 10)).astype(np.float32)
    y = rng.integers(0, 3, 512)
    X_other = rng.standard_normal((77, 10)).astype(np.float32)

    quiet = build()
    quiet.fit(X, y, epochs=3, batch_size=16, seed=0)

    busy = build()

    def check():
        assert busy.predict(X_other).shape == (77, 3)

    failures, _ = _predicting_beside(lambda: busy.fit(X, y, epochs=3, batch_size=16, seed=0),
                                     check)
    assert failures == []
    for a, b in zip(quiet.parameters(), busy.parameters()):
        np.testing.assert_array_equal(a, b)


def test_predict_beside_compiled_fit_never_raises():
    model = MLP([20, 64, 64, 4], seed=0)
    rng = np.random.default_rng(5)
    X = rng.standard_normal((4000, 20)).astype(np.float32)
    y = rng.integers(0, 4, 4000)
    def check():
        out = model.predict(X[:300])
        assert out.shape == (300, 4) and np.isfinite(out).all()

    failures, calls = _predicting_beside(lambda: model.fit(X, y, epochs=4, batch_size=32, seed=0),
                                         check)
    assert failures == [] and calls > 0
    reference = MLP([20, 64, 64, 4], seed=0)
    reference.fit(X, y, epochs=4, batch_size=32, seed=0)
    for a, b in zip(reference.parameters(), model.parameters()):
        np.testing.assert_array_equal(a, b)


def test_predict_returns_arrays_the_caller_owns():
    model = MLP([4, 8, 2], seed=0)
    X = np.ones((5, 4), np.float32)
    a = model.predict(X)
    b = model.predict(X)
    assert a is not b and not np.shares_memory(a, b)
    a[:] = 123
    np.testing.assert_array_equal(model.predict(X), b)


_SIGINT_CHILD = textwrap.dedent("""
    import signal, sys, time
    # as in a terminal: a child of a non-interactive shell's background job starts with SIGINT
    # ignored, and Python then leaves it ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import numpy as np
    import fastlin
    kind = sys.argv[1]
    rng = np.random.default_rng(0)
    if kind == "compiled":
        # ~0.3 s per epoch of 50k rows here: an epoch is far longer than one check interval
        model = fastlin.MLP([256, 512, 512, 10], seed=0)
        X = rng.standard_normal((50_000, 256)).astype(np.float32)
    else:
        model = fastlin.Sequential(fastlin.Dense(256, 256), fastlin.PReLU(256),
                                   fastlin.Dense(256, 10), seed=0)
        X = rng.standard_normal((50_000, 256)).astype(np.float32)
    y = rng.integers(0, 10, len(X))
    print("ready", flush=True)
    started = None
    try:
        model.fit(X, y, epochs=1000, batch_size=128, seed=0)
    except KeyboardInterrupt:
        finite = all(np.isfinite(p).all() for p in model.parameters())
        print("interrupted", finite, len(model.history_.epoch), flush=True)
        sys.exit(0)
    print("finished", flush=True)
""")


@pytest.mark.parametrize("kind", ["compiled", "python"])
def test_ctrl_c_stops_fit_within_a_second(kind, tmp_path):
    script = tmp_path / "child.py"
    script.write_text(_SIGINT_CHILD)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, str(script), kind], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(1.5)  # well inside the first epochs
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        waited = time.perf_counter() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    line = out.strip().splitlines()[-1] if out.strip() else ""
    assert line.startswith("interrupted"), (out, err)
    _, finite, _epochs = line.split()
    assert finite == "True"
    # SPEC: within 1 s; the check interval is 50 ms of compiled work. 2 s leaves room for a
    # machine busy with other tests.
    assert waited < 2.0, waited


def test_interrupt_handler_is_restored_after_fit():
    model = MLP([3, 4, 2], seed=0)
    X = np.random.default_rng(0).standard_normal((20, 3)).astype(np.float32)
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when CI runs us in the background
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        model.fit(X, np.arange(20) % 2, epochs=2)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # an ignored SIGINT stays ignored
        model.fit(X, np.arange(20) % 2, epochs=2)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.mark.parametrize("arch", ["compiled", "python"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd_object"])
def test_k_fits_of_one_epoch_equal_one_fit_of_k_epochs(arch, optimizer):
    rng = np.random.default_rng(6)
    X = rng.standard_normal((200, 6)).astype(np.float32)
    y = rng.integers(0, 3, 200)

    def build():
        if arch == "compiled":
            return MLP([6, 16, 3], seed=11)
        return Sequential(Dense(6, 16), PReLU(16), Dense(16, 3), seed=11)

    def opt_for(model):
        if optimizer == "adam":
            return "adam"
        return fastlin.SGD(model.parameters(), lr=0.05, momentum=0.9)

    once = build()
    once.fit(X, y, optimizer=opt_for(once), epochs=3, batch_size=16)
    stepwise = build()
    opt = opt_for(stepwise)
    for _ in range(3):
        stepwise.fit(X, y, optimizer=opt, epochs=1, batch_size=16)
    for a, b in zip(once.parameters(), stepwise.parameters()):
        np.testing.assert_array_equal(a, b)
    if optimizer == "adam":
        assert stepwise.optimizer.step_count == once.optimizer.step_count == 3 * 13


def test_explicit_seed_restarts_the_shuffle_stream():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((64, 4)).astype(np.float32)
    y = rng.integers(0, 2, 64)
    a = MLP([4, 8, 2], seed=0)
    opt = fastlin.SGD(a.parameters(), lr=0.1)
    a.fit(X, y, optimizer=opt, epochs=1, seed=5)
    first = [p.copy() for p in a.parameters()]
    b = MLP([4, 8, 2], seed=0)
    b.fit(X, y, optimizer=fastlin.SGD(b.parameters(), lr=0.1), epochs=1, seed=5)
    for p, q in zip(first, b.parameters()):
        np.testing.assert_array_equal(p, q)


def test_string_optimizer_is_kept_and_continued():
    X = np.random.default_rng(8).standard_normal((40, 3)).astype(np.float32)
    y = np.arange(40) % 2
    model = MLP([3, 5, 2], seed=0)
    model.fit(X, y, optimizer="adam", epochs=2, batch_size=10)
    opt = model.optimizer
    assert isinstance(opt, Adam) and opt.step_count == 8
    model.fit(X, y, optimizer="adam", epochs=1, batch_size=10, lr=0.5)
    assert model.optimizer is opt and opt.step_count == 12 and opt.lr == 0.5
    model.fit(X, y, optimizer="sgd", epochs=1)
    assert isinstance(model.optimizer, fastlin.SGD)


# ------------------------------------------------------------------ files that are not files
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_save_refuses_to_replace_a_fifo(tmp_path):
    """save and --out --force replaced a FIFO (or, as root, /dev/null) with a regular file:
    the writer now refuses any existing path that is not a regular file, before writing."""
    from fastlin.io import atomic_write
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="is a FIFO"):
        atomic_write(fifo, lambda f: f.write(b"x"))
    with pytest.raises(OSError, match="only replaces regular files"):
        MLP([3, 2], seed=0).save(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["pipe"]  # no temporary file left either
    directory = tmp_path / "dir"
    directory.mkdir()
    with pytest.raises(IsADirectoryError):
        MLP([3, 2], seed=0).save(directory)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_cli_out_force_keeps_a_fifo(tmp_path, capsys):
    from fastlin.cli import main
    data = tmp_path / "data.csv"
    rows = "\n".join(f"{i % 7},{i % 3},{i % 2}" for i in range(40))
    data.write_text("a,b,label\n" + rows + "\n")
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    code = main(["train", str(data), "--target", "label", "--epochs", "1", "--out", str(fifo),
                 "--force"])
    assert code != 0 and "is a FIFO" in capsys.readouterr().err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


_SLOW_WRITER = textwrap.dedent("""
    import sys, time
    from fastlin.io import atomic_write
    def write(f):
        f.write(b"x" * 100_000)
        f.flush()
        print("writing", flush=True)
        time.sleep(120)
    atomic_write(sys.argv[1], write)
""")


def test_leftovers_of_a_killed_writer_are_removed_by_the_next_save(tmp_path):
    """A SIGKILL during save, ModelCheckpoint or to_onnx left a hidden .NAME.*.tmp that nothing
    removed (212 MB after 50 kills). Temporary names carry the writer's pid; the next write to
    the same target removes those whose writer is gone and that are older than STALE_SECONDS,
    and nothing else."""
    from fastlin import _atomic
    target = tmp_path / "m.npz"
    child = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(target)],
                             stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                                 filter(None, [_REPO, os.environ.get("PYTHONPATH")]))))
    try:
        assert child.stdout.readline() == "writing\n"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
    (killed,) = [p for p in tmp_path.iterdir() if p.name.startswith(f".m.npz.{child.pid}.")]
    assert killed.name.endswith(".tmp") and killed.stat().st_size == 100_000
    live = tmp_path / f".m.npz.{os.getpid()}.abcdefgh.tmp"  # a writer still running
    fresh = tmp_path / f".m.npz.{child.pid}.ijklmnop.tmp"    # too recent to judge
    other = tmp_path / f".other.npz.{child.pid}.qrstuvwx.tmp"  # another target's
    foreign = tmp_path / ".m.npz.notapid.tmp"                  # not a name fastlin makes
    old = time.time() - _atomic.STALE_SECONDS - 60
    for path in (live, fresh, other, foreign):
        path.write_bytes(b"y")
    for path in (killed, live, other, foreign):
        os.utime(path, (old, old))
    MLP([3, 2], seed=0).save(target)
    assert not killed.exists()
    assert all(p.exists() for p in (live, fresh, other, foreign))
    assert fastlin.load(target).n_features_in == 3


def test_a_masked_array_with_masked_entries_is_refused_not_computed_with():
    X = np.ma.masked_invalid(np.array([[1.0, np.nan, 2.0], [0.5, 0.5, 0.5]]))
    model = MLP([3, 2], dtype="float64", seed=0)
    for call in (lambda: model.predict(X), lambda: model.fit(X, [0, 1], epochs=1),
                 lambda: model.evaluate(X, [0, 1])):
        with pytest.raises(ValueError, match="masked array with masked entries"):
            call()
    plain = np.ma.masked_invalid(np.array([[1.0, 3.0, 2.0]]))  # nothing masked: its data
    np.testing.assert_array_equal(model.predict(plain), model.predict(plain.data))


def test_values_beyond_float32_are_input_errors_even_under_warnings_as_errors():
    import warnings
    X = np.ones((8, 3))
    y = np.ones(8)
    y[0] = 1e39
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="y holds values beyond the range of float32"):
            MLP([3, 1]).fit(X, y, epochs=1)
        X[0, 0] = 1e39
        with pytest.raises(ValueError, match="X holds values beyond the range of float32"):
            MLP([3, 1]).predict(X)


def test_fit_with_no_training_weight_is_refused_before_any_change():
    model = MLP([3, 2], seed=0)
    before = [p.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match="total weight in the loss is zero"):
        model.fit(np.ones((10, 3)), np.arange(10) % 2, sample_weight=np.zeros(10), epochs=1)
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p, b)


def test_inference_buffers_of_a_thread_stay_small_after_large_predicts():
    model = MLP([64, 512, 512, 4], seed=0)
    for rows in (1000, 2000, 3000, 4096):
        model.predict(np.ones((rows, 64), np.float32))
        assert sum(a.nbytes for a in model._scratch().values()) <= (1 << 20)
    model.predict(np.ones((1, 64), np.float32))
    assert model._scratch()  # one-row predicts keep theirs: a service reuses them


def test_ctrl_c_reaches_the_validation_pass():
    """A Ctrl-C recorded while fit's validation pass runs stops it at the next block."""
    from fastlin import _interrupt
    model = MLP([4, 8, 2], seed=0)
    X = np.ones((3 * 4096, 4), np.float32)
    y = np.zeros(len(X), np.int64)
    with _interrupt.deferred_interrupt() as interrupts:
        interrupts.pending = True
        with pytest.raises(KeyboardInterrupt):
            model.evaluate(X, y)
    model.evaluate(X, y)  # outside a fit nothing is pending


def test_sklearn_refit_answers_other_threads_with_the_network_fitted_before(monkeypatch):
    """A fit anew trains a fresh network (zeros, then drawn, then trained in place): other
    threads predicting meanwhile got the all-zero network's uniform answer or a half-trained
    one. They now get the network fitted before, exactly, until the new one is trained."""
    from fastlin.sklearn import MLPClassifier
    from fastlin.sklearn import _mlp_stochastic
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6))
    y = (X[:, 0] > 0).astype(int)
    est = MLPClassifier((16,), max_iter=3, random_state=0).fit(X, y)
    before = est.predict_proba(X)
    seen = []
    end_epoch = _mlp_stochastic._StochasticSolver._end_epoch

    def end_epoch_and_ask_another_thread(self, *args):
        t = threading.Thread(target=lambda: seen.append(self.predict_proba(X)))
        t.start()
        t.join()
        return end_epoch(self, *args)

    monkeypatch.setattr(_mlp_stochastic._StochasticSolver, "_end_epoch",
                        end_epoch_and_ask_another_thread)
    est.set_params(random_state=1).fit(X, y)
    assert len(seen) == 3
    for p in seen:
        np.testing.assert_array_equal(p, before)
    assert not np.array_equal(est.predict_proba(X), before)  # the new one answers after


def test_ctrl_c_in_partial_fit_never_leaves_an_update_half_applied(monkeypatch):
    """Ctrl-C between the weights' and the intercepts' Adam step used to stop there (weights
    updated, intercepts not). partial_fit now runs in fit's room, where Ctrl-C waits for the
    batch boundary."""
    import signal
    from fastlin.sklearn import MLPClassifier
    from fastlin.sklearn import _mlp_stochastic
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4))
    y = (X[:, 0] > 0).astype(int)
    est = MLPClassifier((8,), random_state=0, batch_size=16).partial_fit(X, y, classes=[0, 1])
    step = _mlp_stochastic._WeightsAndBiases.step

    def step_with_ctrl_c_in_the_middle(self, weight_decay):
        self.weights.weight_decay = weight_decay
        self.weights.step()
        signal.raise_signal(signal.SIGINT)
        self.biases.step()

    monkeypatch.setattr(_mlp_stochastic._WeightsAndBiases, "step",
                        step_with_ctrl_c_in_the_middle)
    with pytest.warns(UserWarning, match="interrupted"):
        est.partial_fit(X, y)
    opt = est._optimizer
    assert opt.weights.step_count == opt.biases.step_count
    monkeypatch.setattr(_mlp_stochastic._WeightsAndBiases, "step", step)
