"""Model files: atomic save, a load that trusts nothing, the saved class, checkpoints (SPEC §9,
§10). Hostile files are built by hand with zipfile so each one attacks a single check."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format
from numpy.testing import assert_array_equal

import fastlin
from fastlin import MLP, SGD, Adam, AdamW, Dense, LeakyReLU, PReLU, ReLU, Sequential, Tanh

REPO = Path(__file__).resolve().parents[1]
PEAK_LIMIT = 4 << 20  # bytes traced while refusing a hostile file


def small_mlp(seed=0, **kw):
    return MLP([4, 6, 3], seed=seed, **kw)


def data(rng, n=40, d=4, k=3):
    X = rng.standard_normal((n, d)).astype(np.float32)
    return X, rng.integers(0, k, n)


def header_of(path):
    """The JSON header of a file written by save."""
    with np.load(path) as z:
        return json.loads(z["__architecture__"].tobytes().decode())


def put(zf, name, arr):
    with zf.open(name + ".npy", "w") as f:
        npy_format.write_array(f, np.asarray(arr), allow_pickle=True)


def write_file(path, header, arrays, version=2):
    """A model file as save writes it, from a header (dict, or raw JSON text) and arrays."""
    text = header if isinstance(header, (str, bytes)) else json.dumps(header)
    raw = text if isinstance(text, bytes) else text.encode()
    with zipfile.ZipFile(path, "w") as zf:
        put(zf, "__fastlin_format__", np.array(version))
        put(zf, "__architecture__", np.frombuffer(raw, np.uint8))
        for name, arr in arrays.items():
            put(zf, name, arr)
    return path


def arrays_of(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files if not k.startswith("__")}


def refused(path, match=None):
    """load raises a ValueError whose message names the file (and matches `match`)."""
    with pytest.raises(ValueError) as info:
        fastlin.load(path)
    assert str(path) in str(info.value), str(info.value)
    if match:
        assert re.search(match, str(info.value)), str(info.value)
    return str(info.value)


def bounded(fn):
    """Run fn (which must raise ValueError or return); return (peak traced bytes, seconds)."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        fn()
    except ValueError:
        pass
    finally:
        elapsed = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, elapsed


# ----------------------------------------------------------------------------- atomic save
def others(directory, keep):
    return sorted(p.name for p in directory.iterdir() if p.name != keep)


def test_save_whose_metadata_fails_keeps_the_previous_file(tmp_path, rng):
    path = tmp_path / "m.npz"
    old = small_mlp(seed=1)
    old.save(path, metadata={"version": 1})
    X, _ = data(rng)
    with pytest.raises(TypeError, match="JSON"):
        small_mlp(seed=2).save(path, metadata={"bad": object()})
    back = fastlin.load(path)
    assert back.metadata == {"version": 1}
    assert_array_equal(back.predict(X), old.predict(X))
    assert others(tmp_path, "m.npz") == []


def test_save_failing_while_writing_arrays_keeps_the_previous_file(tmp_path, rng, monkeypatch):
    path = tmp_path / "m.npz"
    old = small_mlp(seed=1)
    old.save(path)
    real, calls = npy_format.write_array, []

    def disk_full(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(npy_format, "write_array", disk_full)
    with pytest.raises(OSError, match="No space"):
        small_mlp(seed=2).save(path)
    monkeypatch.undo()
    X, _ = data(rng)
    assert_array_equal(fastlin.load(path).predict(X), old.predict(X))
    assert others(tmp_path, "m.npz") == []


def test_save_keeps_the_file_mode_and_replaces_through_a_symlink(tmp_path):
    target = tmp_path / "real.npz"
    small_mlp(seed=1).save(target)
    os.chmod(target, 0o640)
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    small_mlp(seed=2).save(link)
    assert link.is_symlink() and os.stat(target).st_mode & 0o777 == 0o640
    assert_array_equal(fastlin.load(target).parameters()[0], small_mlp(seed=2).parameters()[0])


CHILD = """
import sys
import fastlin
model = fastlin.MLP([800, 800, 800], seed=0)
i = 0
while True:
    model.save(sys.argv[1], metadata={"i": i})
    if i == 0:
        print("saved", flush=True)
    i += 1
"""


def test_save_killed_midway_leaves_a_loadable_file(tmp_path):
    """Children saving a 5 MB model in a loop are SIGKILLed at a few moments: each file loads,
    with the weights that were saved; the only possible litter is temp files."""
    delays = (0.02, 0.2)
    paths = [tmp_path / f"m{i}.npz" for i in range(len(delays))]
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(p)], cwd=REPO,
                                 stdout=subprocess.PIPE) for p in paths]
    try:
        for child, delay in zip(children, delays):  # each killed `delay` after its first save
            assert child.stdout.readline() == b"saved\n"
            time.sleep(delay)
            child.send_signal(signal.SIGKILL)
    finally:
        for child in children:
            child.kill()
            child.wait()
            child.stdout.close()
    expected = MLP([800, 800, 800], seed=0).parameters()
    for path in paths:
        back = fastlin.load(path)
        assert isinstance(back.metadata["i"], int)
        for p, q in zip(back.parameters(), expected):
            assert_array_equal(p, q)
    litter = [p.name for p in tmp_path.iterdir() if p not in paths]
    assert all(re.fullmatch(r"\.m\d\.npz\..+\.tmp", name) for name in litter), litter


# ------------------------------------------------------------------------- hostile files
def test_declared_huge_layer_is_refused_fast_with_bounded_memory(tmp_path):
    """A 3 kB file whose architecture declares Dense(12000, 12000): refused from the stored
    .npy headers, before any weight is allocated (the old load built the layer: 2.3 GB, 16 s)."""
    ok = tmp_path / "ok.npz"
    MLP([3, 4], seed=0).save(ok)
    header = header_of(ok)
    header["class"] = "Sequential"
    header.pop("mlp")
    header["layers"][0]["config"].update(in_features=12000, out_features=12000)
    small = write_file(tmp_path / "small_arrays.npz", header, arrays_of(ok))
    # the same, with .npy headers that claim the declared shape over a few bytes of data
    liar = tmp_path / "lying_npy_header.npz"
    with zipfile.ZipFile(liar, "w") as zf:
        put(zf, "__fastlin_format__", np.array(2))
        put(zf, "__architecture__", np.frombuffer(json.dumps(header).encode(), np.uint8))
        for name, shape in (("param_0_0", (12000, 12000)), ("param_0_1", (12000,))):
            with zf.open(name + ".npy", "w") as f:
                npy_format.write_array_header_1_0(
                    f, {"descr": "<f4", "fortran_order": False, "shape": shape})
                f.write(bytes(64))
    fastlin.load(ok)  # warm the imports
    for path, match in ((small, "shape"), (liar, "size does not match")):
        assert path.stat().st_size < 4096
        peak, elapsed = bounded(lambda: refused(path, match))
        assert peak < PEAK_LIMIT and elapsed < 2.0, (path.name, peak, elapsed)


def test_zip_bomb_in_an_unknown_entry_is_never_inflated(tmp_path, rng):
    path = tmp_path / "m.npz"
    model = small_mlp()
    model.save(path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("bomb", "w", force_zip64=True) as f:
            chunk = bytes(1 << 20)
            for _ in range(32):  # 32 MiB of zeros in about 32 kB
                f.write(chunk)
    assert path.stat().st_size < 200_000
    fastlin.load(path)  # warm
    loaded = []
    peak, _ = bounded(lambda: loaded.append(fastlin.load(path)))
    assert peak < PEAK_LIMIT, peak
    X, _ = data(rng)
    assert_array_equal(loaded[0].predict(X), model.predict(X))


def test_entry_sizes_that_lie_are_refused(tmp_path):
    """A deflated entry whose directory claims more than deflate can expand to is refused
    without inflating it."""
    ok = tmp_path / "ok.npz"
    MLP([3, 4], seed=0).save(ok)
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(ok) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            zf.writestr(info.filename, src.read(info))
    raw = bytearray(bomb.read_bytes())
    # central directory record of param_0_0.npy: patch its uncompressed size to 1 GiB
    name = b"param_0_0.npy"
    cd = raw.rfind(name) - 46  # its last mention is in the central directory
    assert raw[cd:cd + 4] == b"PK\x01\x02"
    raw[cd + 24:cd + 28] = (1 << 30).to_bytes(4, "little")
    bomb.write_bytes(bytes(raw))
    peak, elapsed = bounded(lambda: refused(bomb, "inconsistent sizes"))
    assert peak < PEAK_LIMIT and elapsed < 2.0


def test_npy_path_and_non_zip_files_are_refused(tmp_path):
    npy = tmp_path / "weights.npy"
    np.save(npy, np.ones(3))
    refused(npy, r"\.npy array, not a fastlin model")
    for i, content in enumerate([b"", b"not a zip", b"PK\x03\x04garbage", b"\x93NUMPY"]):
        path = tmp_path / f"f{i}.npz"
        path.write_bytes(content)
        refused(path, "not a readable fastlin model|npy array")
    with pytest.raises(FileNotFoundError):
        fastlin.load(tmp_path / "missing.npz")


def test_directory_and_truncated_files_are_refused(tmp_path):
    (tmp_path / "dir.npz").mkdir()
    refused(tmp_path / "dir.npz", "directory")
    ok = tmp_path / "ok.npz"
    small_mlp().save(ok)
    raw = ok.read_bytes()
    for cut in (30, len(raw) // 2, len(raw) - 30):
        path = tmp_path / f"cut{cut}.npz"
        path.write_bytes(raw[:cut])
        refused(path)
    flipped = bytearray(raw)
    at = raw.find(b"param_0_0") + 200  # a byte inside the first weight matrix's data
    flipped[at] ^= 0xFF
    path = tmp_path / "flip.npz"
    path.write_bytes(bytes(flipped))
    refused(path, "CRC")


def test_deep_json_is_a_value_error(tmp_path):
    deep = write_file(tmp_path / "deep.npz", "[" * 100000 + "]" * 100000, {})
    refused(deep, "nested too deeply|too large")
    ok = tmp_path / "ok.npz"
    small_mlp().save(ok)
    header = header_of(ok)
    text = json.dumps(header).replace('"metadata": null',
                                      '"metadata": {"x": ' + "[" * 50000 + "]" * 50000 + "}")
    refused(write_file(tmp_path / "deep_meta.npz", text, arrays_of(ok)), "nested too deeply")


def test_oversized_header_is_refused_before_it_is_read(tmp_path):
    ok = tmp_path / "ok.npz"
    small_mlp().save(ok)
    header = header_of(ok)
    header["metadata"] = {"blob": "x" * (17 << 20)}
    big = write_file(tmp_path / "big.npz", header, arrays_of(ok))
    del header
    peak, _ = bounded(lambda: refused(big, "too large"))
    assert peak < PEAK_LIMIT, peak


def _set(path_keys, value):
    def edit(h):
        target = h
        for k in path_keys[:-1]:
            target = target[k]
        target[path_keys[-1]] = value
    return edit


def _drop_mlp(h):
    h["class"] = "Sequential"
    h.pop("mlp")


ILL_TYPED = {
    "header is a list": lambda h: [h],
    "layers a dict": _set(["layers"], {"0": {"type": "Dense"}}),
    "layers empty": _set(["layers"], []),
    "layers too many": _set(["layers"], [{"type": "ReLU", "config": {}}] * 20_000),
    "dtype a number": _set(["dtype"], 5),
    "dtype float16": _set(["dtype"], "float16"),
    "backend a list": _set(["backend"], ["cython"]),
    "layer type a number": _set(["layers", 0, "type"], 7),
    "layer type unknown": _set(["layers", 0, "type"], "Conv2d"),
    "layer spec a string": _set(["layers", 0], "Dense"),
    "config a list": _set(["layers", 0, "config"], [4, 6]),
    "in_features a string": _set(["layers", 0, "config", "in_features"], "4"),
    "in_features a float": _set(["layers", 0, "config", "in_features"], 4.0),
    "in_features a bool": _set(["layers", 0, "config", "in_features"], True),
    "in_features absurd": _set(["layers", 0, "config", "in_features"], 2**40),
    "in_features negative": _set(["layers", 0, "config", "in_features"], -4),
    "bias a string": _set(["layers", 0, "config", "bias"], "yes"),
    "init a number": _set(["layers", 0, "config", "init"], 5),
    "extra config key": _set(["layers", 0, "config", "evil"], 1),
    "activation config": _set(["layers", 1, "config"], {"inplace": [1]}),
    "metadata a list": _set(["metadata"], [1, 2]),
    "class unknown": _set(["class"], "Pickle"),
    "mlp sizes mismatch": _set(["mlp", "sizes"], [4, 9, 3]),
    "mlp sizes strings": _set(["mlp", "sizes"], ["4", "6", "3"]),
    "mlp activation unknown": _set(["mlp", "activation"], "softmax"),
    "mlp a list": _set(["mlp"], [4, 6, 3]),
    "mlp activation differs from layers": _set(["mlp", "activation"], "tanh"),
    "mlp bias a string": _set(["mlp", "bias"], "true"),
    "seed a string": _set(["seed"], "0"),
    "fit_rng_state a list": _set(["fit_rng_state"], [1, 2]),
    "loss unknown": _set(["loss"], {"class": "EvalLoss", "config": {}}),
    "loss config ill-typed": _set(["loss"], {"class": "SoftmaxCrossEntropyLoss",
                                             "config": {"label_smoothing": "0.1"}}),
    "optimizer a string": _set(["optimizer"], "adam"),
}


@pytest.mark.parametrize("case", sorted(ILL_TYPED))
def test_ill_typed_header_fields_are_value_errors(tmp_path, case):
    ok = tmp_path / "ok.npz"
    small_mlp().save(ok)
    header = header_of(ok)
    edited = ILL_TYPED[case](header)
    header = header if edited is None else edited
    refused(write_file(tmp_path / "bad.npz", header, arrays_of(ok)))


def test_prelu_and_leaky_relu_settings_are_type_checked(tmp_path):
    net = Sequential(Dense(4, 6), PReLU(6), Dense(6, 3), LeakyReLU(0.2), Dense(3, 2), seed=0)
    ok = tmp_path / "ok.npz"
    net.save(ok)
    for i, key, value in ((1, "init", "abc"), (1, "num_parameters", 6.5), (3, "alpha", "0.5"),
                          (3, "alpha", float("nan"))):
        header = header_of(ok)
        header["layers"][i]["config"][key] = value
        refused(write_file(tmp_path / "bad.npz", header, arrays_of(ok)))


def test_bad_arrays_are_refused(tmp_path):
    ok = tmp_path / "ok.npz"
    small_mlp().save(ok)
    header = header_of(ok)
    good = arrays_of(ok)
    W = good["param_0_0"]
    cases = {
        "shape": (dict(good, param_0_0=np.ones((6, 4), np.float32)), "shape"),
        "transposed in Fortran order": (dict(good, param_0_0=np.asfortranarray(W)), "Fortran"),
        "int dtype": (dict(good, param_0_0=W.astype(np.int32)), "dtype"),
        "float16": (dict(good, param_0_0=W.astype(np.float16)), "dtype"),
        "complex": (dict(good, param_0_0=W.astype(np.complex64)), "dtype"),
        "object (pickled)": (dict(good, param_0_0=np.array([None] * 24, object)), "dtype"),
        "NaN": (dict(good, param_0_0=np.where(W > 0, np.nan, W)), "NaN"),
        "inf": (dict(good, param_0_1=np.full(6, np.inf, np.float32)), "NaN or infinity"),
        "missing": ({k: v for k, v in good.items() if k != "param_2_1"},
                    "param_2_1.npy is missing"),
    }
    for name, (arrays, match) in cases.items():
        refused(write_file(tmp_path / "bad.npz", header, arrays), match)
    refused(write_file(tmp_path / "v.npz", header, good, version=99), "format version 99")
    with zipfile.ZipFile(tmp_path / "strfmt.npz", "w") as zf:
        put(zf, "__fastlin_format__", np.array("2"))
        put(zf, "__architecture__", np.frombuffer(json.dumps(header).encode(), np.uint8))
    refused(tmp_path / "strfmt.npz", "format marker")
    refused(write_file(tmp_path / "latin.npz", '{"x": "\xe9"}'.encode("latin-1"), good), "UTF-8")
    refused(write_file(tmp_path / "half.npz", '{"layers": [', good), "not valid JSON")


def test_optimizer_section_is_validated(tmp_path, rng):
    X, y = data(rng)
    model = small_mlp()
    opt = Adam(model.parameters(), lr=0.01)
    model.fit(X, y, optimizer=opt, epochs=1, loss="cross_entropy")
    ok = tmp_path / "ok.npz"
    model.save(ok, optimizer=opt)
    edits = {
        "class": ("class", "Evil"), "lr string": ("config", {"lr": "0.1"}),
        "bool as number": ("config", {"decoupled_weight_decay": 1}),
        "unknown setting": ("config", {"momentum": 0.9}),
        "negative steps": ("step_count", -1), "float steps": ("step_count", 1.5),
        "state count": ("n_state", 3), "betas": ("config", {"betas": [0.9]}),
    }
    for name, (key, value) in edits.items():
        header = header_of(ok)
        header["optimizer"][key] = value
        with pytest.raises(ValueError, match=re.escape(str(tmp_path / "bad.npz"))):
            fastlin.load_checkpoint(write_file(tmp_path / "bad.npz", header, arrays_of(ok)))
    arrays = arrays_of(ok)
    arrays["optim_0"] = np.full_like(arrays["optim_0"], np.nan)
    with pytest.raises(ValueError, match="optim_0 holds NaN"):
        fastlin.load_checkpoint(write_file(tmp_path / "bad.npz", header_of(ok), arrays))


# ---------------------------------------------------------------- what comes back
@pytest.mark.parametrize("kwargs", [
    dict(sizes=[5, 8, 7, 3], activation="relu"),
    dict(sizes=[5, 8, 3], activation="prelu", dtype="float64"),
    dict(sizes=[5, 4, 4, 1], activation="leaky_relu", bias=False, init="lecun"),
    dict(sizes=[5, 2], activation="tanh", backend="numpy"),
])
def test_mlp_comes_back_as_mlp(tmp_path, rng, kwargs):
    model = MLP(seed=3, **kwargs)
    X = rng.standard_normal((9, 5)).astype(model.dtype)
    path = tmp_path / "mlp.npz"
    model.save(path, metadata={"note": "hi", "n": [1, 2]})
    back = fastlin.load(path)
    assert type(back) is MLP
    assert back.sizes == model.sizes and back.activation == model.activation
    assert back.dtype == model.dtype and back.backend_name == model.backend_name
    assert [repr(a) for a in back.layers] == [repr(b) for b in model.layers]
    assert back.metadata == {"note": "hi", "n": [1, 2]}
    assert_array_equal(back.predict(X), model.predict(X))


def test_sequential_stays_sequential_and_an_edited_mlp_too(tmp_path, rng):
    seq = Sequential(Dense(4, 5), Tanh(), Dense(5, 2), seed=0)
    seq.save(tmp_path / "s.npz")
    assert type(fastlin.load(tmp_path / "s.npz")) is Sequential
    edited = small_mlp()
    edited.layers.append(ReLU())  # no longer what MLP([4, 6, 3]) builds
    edited.save(tmp_path / "e.npz")
    back = fastlin.load(tmp_path / "e.npz")
    X, _ = data(rng)
    assert type(back) is Sequential and isinstance(back.layers[-1], ReLU)
    assert_array_equal(back.predict(X), edited.predict(X))


@pytest.mark.parametrize("make_opt", [
    lambda p: Adam(p, lr=0.01, betas=(0.8, 0.99), weight_decay=1e-3),
    lambda p: AdamW(p, lr=0.005),
    lambda p: SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    lambda p: SGD(p, lr=0.05),
], ids=["adam", "adamw", "sgd-nesterov", "sgd-plain"])
@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_checkpoint_resumes_bitwise(tmp_path, rng, make_opt, backend):
    X = rng.standard_normal((64, 4)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    model = MLP([4, 8, 3], activation="prelu", seed=5, backend=backend)
    opt = make_opt(model.parameters())
    model.fit(X, y, loss="cross_entropy", optimizer=opt, epochs=3, batch_size=16, seed=1)
    path = tmp_path / "ckpt.npz"
    model.save(path, optimizer=opt)
    model2, opt2 = fastlin.load_checkpoint(path)
    assert type(opt2) is type(opt) and opt2.get_config() == opt.get_config()
    assert opt2.step_count == opt.step_count and model2.backend_name == backend
    for a, b in zip(opt2.state_arrays(), opt.state_arrays()):
        assert_array_equal(a, b)
    for m, o in ((model, opt), (model2, opt2)):
        m.fit(X, y, loss="cross_entropy", optimizer=o, epochs=1, batch_size=16, shuffle=False)
    for p, q in zip(model.parameters(), model2.parameters()):
        assert_array_equal(p, q)
    assert type(fastlin.load(path)) is MLP  # load on a checkpoint: the model only


def test_checkpoint_keeps_training_state(tmp_path, rng):
    X, y = data(rng)
    model = small_mlp(seed=7)
    model.fit(X, y, loss="cross_entropy", epochs=1)
    state = {"bit_generator": "PCG64", "state": {"state": 2**100 + 3, "inc": 5},
             "has_uint32": 0, "uinteger": np.uint32(0)}
    model._fit_rng_state = state
    model.save(tmp_path / "m.npz")
    back, opt = fastlin.load_checkpoint(tmp_path / "m.npz")
    assert opt is None and back.seed == 7
    assert back._fit_rng_state == dict(state, uinteger=0)
    assert type(back.loss_) is type(model.loss_)
    assert back.loss_.get_config() == model.loss_.get_config()
    with pytest.raises(ValueError, match="shuffle-stream state"):
        model._fit_rng_state = {"generator": np.random.default_rng(0)}  # refused when set
    model._fit_rng = type("NotAGenerator", (), {"bit_generator": type("B", (), {
        "state": {"generator": np.random.default_rng(0)}})()})()
    with pytest.raises(ValueError, match="_fit_rng_state"):
        model.save(tmp_path / "m.npz")
    assert fastlin.load(tmp_path / "m.npz")._fit_rng_state == dict(state, uinteger=0)


def test_checkpoint_refuses_an_optimizer_over_other_parameters(tmp_path):
    model = small_mlp()
    other = Adam(small_mlp().parameters())
    with pytest.raises(ValueError, match="model.parameters"):
        model.save(tmp_path / "m.npz", optimizer=other)
    with pytest.raises(TypeError, match="optimizer"):
        model.save(tmp_path / "m.npz", optimizer="adam")
    assert not (tmp_path / "m.npz").exists()


def test_format_1_files_still_load(tmp_path, rng):
    """What fastlin 0.1 wrote: the JSON as a numpy unicode scalar, no class."""
    net = Sequential(Dense(4, 6), PReLU(6), Dense(6, 3), seed=0)
    arch = {"dtype": "float32", "backend": "cython", "metadata": {"a": 1},
            "layers": [{"type": type(l).__name__, "config": l.get_config()} for l in net.layers]}
    path = tmp_path / "v1.npz"
    arrays = {f"param_{i}_{k}": p for i, l in enumerate(net.layers)
              for k, p in enumerate(l.parameters())}
    with open(path, "wb") as f:
        np.savez(f, __fastlin_format__=np.array(1), __architecture__=np.array(json.dumps(arch)),
                 **arrays)
    back = fastlin.load(path)
    X, _ = data(rng)
    assert type(back) is Sequential and back.metadata == {"a": 1}
    assert_array_equal(back.predict(X), net.predict(X))


def test_out_of_range_numbers_name_their_field(tmp_path, rng):
    """The header's numbers go through the checks every fastlin argument does; a JSON integer
    too large for a float is a ValueError naming the file too, not an OverflowError."""
    X, y = data(rng)
    model = small_mlp()
    opt = SGD(model.parameters(), lr=0.01)
    model.fit(X, y, optimizer=opt, epochs=1, loss="cross_entropy")
    ok = tmp_path / "ok.npz"
    model.save(ok, optimizer=opt)
    for keys, value, match in (
            (["layers", 0, "config", "in_features"], 2**40, "in_features must be <= 2147483647"),
            (["layers", 0, "config", "out_features"], 0, "out_features must be >= 1"),
            (["optimizer", "config", "lr"], 10**400, "optimizer lr must be finite"),
            (["optimizer", "config", "lr"], "0.1", "optimizer lr must be a real number"),
            (["optimizer", "step_count"], 1.5, "step_count must be an int")):
        header = header_of(ok)
        _set(keys, value)(header)
        path = write_file(tmp_path / "bad.npz", header, arrays_of(ok))
        with pytest.raises(ValueError) as info:
            fastlin.load_checkpoint(path)
        assert str(path) in str(info.value) and match in str(info.value), str(info.value)


# ------------------------------------------------------------------ get_config, module layout
def _edited_mlp():
    model = MLP([4, 6, 3], activation="tanh", seed=0)
    model.layers[1] = ReLU()  # no longer what MLP(..., activation="tanh") builds
    return model


@pytest.mark.parametrize("make", [
    lambda: MLP([4, 6, 5, 3], activation="prelu", seed=0, dtype="float64"),
    lambda: MLP([4, 3], activation="leaky_relu", bias=False, init="lecun", backend="numpy"),
    lambda: Sequential(Dense(4, 6), PReLU(6), Dense(6, 3), LeakyReLU(0.2),
                       fastlin.Dropout(0.25), Dense(3, 2), seed=0),
    _edited_mlp,
], ids=["mlp-prelu", "mlp-linear", "sequential", "edited-mlp"])
def test_get_config_round_trips_through_a_file(tmp_path, make):
    model = make()
    config = model.get_config()
    assert json.loads(json.dumps(config)) == config  # plain JSON, nothing lost
    path = tmp_path / "m.npz"
    model.save(path)
    stored = header_of(path)
    assert {k: stored[k] for k in config} == config  # the header is what get_config says
    back = fastlin.load(path)
    assert back.get_config() == config
    assert type(back).__name__ == config["class"]
    assert ("mlp" in config) == (config["class"] == "MLP")


def _fastlin_imports(module):
    """The fastlin modules `module` imports (at module level or in functions): for
    ``from P import x`` the submodule P.x when there is one, else P."""
    import ast
    root = REPO / "fastlin"

    def is_module(name):
        parts = name.split(".")[1:]
        return (root.joinpath(*parts).with_suffix(".py").is_file()
                or (root.joinpath(*parts) / "__init__.py").is_file())

    path = root.joinpath(*module.split(".")[1:])
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = []
            if node.level:  # relative: from the package holding `module`
                package = module if path.name == "__init__.py" else module.rpartition(".")[0]
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
            prefix = ".".join(base + ([node.module] if node.module else []))
            for a in node.names:
                sub = f"{prefix}.{a.name}"
                found.add(sub if is_module(sub) else prefix)
    return {m for m in found if m.split(".")[0] == "fastlin" and is_module(m)}


def test_the_writer_imports_no_model_module():
    """Saving depends on the model only through get_config(), so the models may import the
    writer without an import circle; only the loader knows the model classes."""
    seen, todo = set(), ["fastlin.io._writer"]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(_fastlin_imports(module))
    models = {"fastlin.sequential", "fastlin.linear", "fastlin.sklearn", "fastlin.io._loader"}
    assert not seen & models, sorted(seen & models)
    assert "fastlin.io._writer" in _fastlin_imports("fastlin.sequential")
    assert "fastlin.sequential" in _fastlin_imports("fastlin.io._loader")


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


# --------------------------------------------------------- weights, devices, zip tricks, fuzz
def test_weights_beyond_float32_are_refused_not_made_infinite(tmp_path, rng):
    """A float32 model whose file stores float64 weights beyond float32's range loaded with inf
    weights (only numpy's RuntimeWarning); the same for a checkpoint's optimizer state."""
    model = small_mlp()
    opt = Adam(model.parameters())
    X, y = data(rng)
    model.fit(X, y, optimizer=opt, epochs=1, loss="cross_entropy")
    ok = tmp_path / "ok.npz"
    model.save(ok, optimizer=opt)
    for name in ("param_2_0", "optim_0"):
        arrays = {k: v.astype(np.float64) for k, v in arrays_of(ok).items()}
        arrays[name][0, 0] = 1e200
        path = write_file(tmp_path / f"{name}.npz", header_of(ok), arrays)
        with pytest.raises(ValueError) as info:
            fastlin.load_checkpoint(path)
        message = str(info.value)
        assert message.startswith(str(path)) and name in message and "range of float32" in message
    arrays = {k: v.astype(np.float64) for k, v in arrays_of(ok).items()}
    arrays["param_0_0"][1, 2] = 3e38  # float64 but within float32's range: loads as before
    back = fastlin.load(write_file(tmp_path / "fits.npz", header_of(ok), arrays))
    assert back.parameters()[0][1, 2] == np.float32(3e38)


LOAD_IN_CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
import fastlin
for path in sys.argv[1:]:
    try:
        fastlin.load(path)
    except ValueError as exc:
        print(exc, flush=True)
"""


@pytest.mark.skipif(not os.path.exists("/dev/zero") or not hasattr(os, "mkfifo"),
                    reason="needs /dev/zero and FIFOs")
def test_load_refuses_devices_and_fifos_at_once(tmp_path):
    """load("/dev/zero") never returned (3 GB in 5 s inside zipfile) and a FIFO blocked in
    open(): anything that is not a regular file is refused before a byte is read. Run in a
    child with a memory cap and a timeout, so a hang fails the test instead of the machine."""
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    paths = ["/dev/zero", "/dev/urandom", str(fifo)]
    child = subprocess.run([sys.executable, "-c", LOAD_IN_CHILD, *paths], cwd=REPO,
                           capture_output=True, text=True, timeout=60)
    lines = child.stdout.splitlines()
    assert child.returncode == 0 and len(lines) == 3, child.stderr[-2000:]
    for path, line in zip(paths, lines):
        assert line.startswith(f"{path}: is not a regular file"), line
    ok = tmp_path / "ok.npz"
    small_mlp().save(ok)
    with open(ok, "rb") as f:  # a file object is still read as it is
        assert_array_equal(fastlin.load(f).parameters()[0], small_mlp().parameters()[0])


def _zip_member(name, arr):
    """(the bytes of `name`.npy as a stored zip member: local header and data, its ZipInfo)."""
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        put(zf, name, arr)
        info = zf.getinfo(name + ".npy")
    raw = buf.getvalue()
    return raw[:raw.index(b"PK\x01\x02")], info


def test_overlapping_entries_are_refused(tmp_path):
    """Stored entries whose bytes nest inside one another let a few MB load as a model of any
    size (4.4 MB became 2 GiB); here param_2_1's member lies inside param_0_0's data."""
    ok = tmp_path / "ok.npz"
    MLP([4, 64, 2], seed=0, dtype="float64").save(ok)
    arrays = arrays_of(ok)
    member, inner = _zip_member("param_2_1", arrays.pop("param_2_1"))
    outer = bytearray(arrays["param_0_0"].tobytes())
    outer[64:64 + len(member)] = member
    arrays["param_0_0"] = np.frombuffer(bytes(outer), np.float64).reshape(4, 64)
    path = write_file(tmp_path / "overlap.npz", header_of(ok), arrays)
    inner.header_offset = path.read_bytes().index(member)
    with zipfile.ZipFile(path, "a") as zf:  # a directory entry pointing inside param_0_0
        zf.filelist.append(inner)
        zf.NameToInfo[inner.filename] = inner
        zf._didModify = True
    with zipfile.ZipFile(path) as zf:  # a valid zip: zipfile reads both members
        assert member.endswith(zf.read("param_2_1.npy"))
        zf.read("param_0_0.npy")
    with pytest.raises(ValueError, match=re.escape(f"{path}: entries ") + ".*overlap"):
        fastlin.load(path)


RSS_IN_CHILD = """
import sys
import fastlin
def kib(field):  # VmHWM, unlike ru_maxrss, starts afresh at exec
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field))
before = kib("VmRSS:")
model = fastlin.load(sys.argv[1])
assert not model.parameters()[0].any()
print((kib("VmHWM:") - before) * 1024)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_a_compressed_layer_loads_in_the_models_own_memory(tmp_path):
    """A deflated 64 MB layer of zeros (as numpy.savez_compressed writes, a 65 kB file) cost
    several times its size: random initial weights drawn in float64, the inflated bytes, then a
    copy. Each entry now streams into the model's own array (W and its gradient dW)."""
    model = Sequential(Dense(4096, 4096, bias=False, init="zeros"))
    plain = tmp_path / "plain.npz"
    model.save(plain)
    path = tmp_path / "deflated.npz"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
    assert path.stat().st_size < 200_000
    child = subprocess.run([sys.executable, "-c", RSS_IN_CHILD, str(path)], cwd=REPO,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr[-2000:]
    footprint = 2 * model.parameters()[0].nbytes  # W and dW
    assert int(child.stdout) < footprint + (24 << 20), (int(child.stdout), footprint)


def _mutated_headers(header, rng):
    """Headers with one to three values replaced (most inside the shuffle state) or deleted."""
    values = [2**64, 2**200, -1, -2**70, 10**400, 1e308, float("nan"), float("inf"), "x", "",
              None, [], {}, [1, 2], {"a": 1}, True, False, 0, 0.5, [[[[]]]], "MT19937", 2**128]

    def paths(v, p=()):
        if p:
            yield p
        items = v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()
        for k, x in items:
            yield from paths(x, p + (k,))

    every = list(paths(header))
    state = [p for p in every if p[0] == "fit_rng_state"]
    while True:
        h = json.loads(json.dumps(header))
        for _ in range(rng.randint(1, 3)):
            keys = rng.choice(state if rng.random() < 0.6 else every)
            target = h
            try:
                for k in keys[:-1]:
                    target = target[k]
                if isinstance(target, dict) and rng.random() < 0.1:
                    del target[keys[-1]]
                else:
                    target[keys[-1]] = json.loads(json.dumps(rng.choice(values)))
            except (KeyError, IndexError, TypeError):
                pass  # an earlier edit removed the path
        yield json.dumps(h)


def _mutated_texts(text, rng):
    while True:
        chars = list(text)
        for _ in range(rng.randint(1, 4)):
            chars[rng.randrange(len(chars))] = rng.choice('0123456789-.e[]{}",:tfn ')
        yield "".join(chars)


def test_fuzzed_headers_give_only_value_errors_naming_the_file(tmp_path, rng):
    """A damaged shuffle state raised OverflowError, or a ValueError without the file's name
    (203 of 4,500 fuzzed files): every outcome is now a clean load or such a ValueError."""
    import random
    model = small_mlp()
    opt = Adam(model.parameters(), lr=0.01)
    X, y = data(rng)
    model.fit(X, y, optimizer=opt, epochs=1, loss="cross_entropy", seed=3)
    ok = tmp_path / "ok.npz"
    model.save(ok, optimizer=opt)
    header, arrays = header_of(ok), arrays_of(ok)
    r = random.Random(20240613)
    texts = _mutated_headers(header, r), _mutated_texts(json.dumps(header), r)
    path = tmp_path / "fuzzed.npz"
    for i in range(300):
        write_file(path, next(texts[i % 2]), arrays)
        for load in (fastlin.load, fastlin.load_checkpoint):
            try:
                load(path)
            except ValueError as exc:
                assert str(exc).startswith(f"{path}: "), (i, str(exc))


def test_a_missing_file_is_both_file_not_found_and_value_error(tmp_path):
    """SPEC §9: every failure of load is a ValueError naming the file; Python's habit for a
    missing one is FileNotFoundError: the error is both."""
    path = tmp_path / "absent.npz"
    for load in (fastlin.load, fastlin.load_checkpoint):
        with pytest.raises(ValueError, match="absent.npz") as info:
            load(path)
        assert isinstance(info.value, FileNotFoundError) and info.value.filename == str(path)
