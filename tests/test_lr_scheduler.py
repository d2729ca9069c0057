"""fastlin.optim.lr_scheduler against torch.optim.lr_scheduler (same schedule, same number of
steps, lr compared at rtol 1e-12: both sides do float64 arithmetic in the same order), and
against hand-computed values so the file checks something when torch is missing."""
import json
import math

import numpy as np
import pytest

import fastlin
from fastlin.optim import SGD, Adam, AdamW
from fastlin.optim import lr_scheduler as S


def make_opt(kind="sgd", lr=0.1, momentum=0.9):
    model = fastlin.MLP([3, 4, 2], seed=0, dtype="float64")
    if kind == "sgd":
        return SGD(model.parameters(), lr=lr, momentum=momentum)
    if kind == "adamw":
        return AdamW(model.parameters(), lr=lr)
    return Adam(model.parameters(), lr=lr)


def lr_sequence(sched, opt, n, metrics=None):
    lrs = [opt.lr]
    for i in range(n):
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
        lrs.append(opt.lr)
        assert sched.get_last_lr() == [opt.lr]
    return lrs


# ------------------------------------------------------------------ hand-checked values
def test_step_lr_hand_values():
    opt = make_opt(lr=1.0)
    s = S.StepLR(opt, step_size=2, gamma=0.5)
    assert lr_sequence(s, opt, 6) == [1, 1, 0.5, 0.5, 0.25, 0.25, 0.125]
    assert s.last_epoch == 6


def test_multistep_lr_repeated_milestone():
    opt = make_opt(lr=1.0)
    s = S.MultiStepLR(opt, milestones=[5, 2, 2], gamma=0.1)
    got = lr_sequence(s, opt, 6)
    np.testing.assert_allclose(got, [1, 1, 1e-2, 1e-2, 1e-2, 1e-3, 1e-3], rtol=1e-15)


def test_exponential_lr_hand_values():
    opt = make_opt(lr=1.0)
    assert lr_sequence(S.ExponentialLR(opt, gamma=0.5), opt, 3) == [1, 0.5, 0.25, 0.125]


def test_cosine_annealing_hand_values_and_closed_form():
    opt = make_opt(lr=1.0)
    got = lr_sequence(S.CosineAnnealingLR(opt, T_max=2), opt, 4)
    np.testing.assert_allclose(got, [1, 0.5, 0, 0.5, 1], atol=1e-15)
    # the recursion stays on the closed form eta_min + (base - eta_min)(1 + cos(pi t/T))/2
    opt = make_opt(lr=0.3)
    got = lr_sequence(S.CosineAnnealingLR(opt, T_max=9, eta_min=0.01), opt, 30)
    t = np.arange(31)
    np.testing.assert_allclose(got, 0.01 + 0.29 * (1 + np.cos(np.pi * t / 9)) / 2,
                               rtol=1e-12, atol=1e-15)


def test_linear_lr_hand_values():
    opt = make_opt(lr=1.0)
    got = lr_sequence(S.LinearLR(opt, start_factor=0.5, total_iters=2), opt, 3)
    np.testing.assert_allclose(got, [0.5, 0.75, 1.0, 1.0], rtol=1e-15)


def test_one_cycle_hand_values():
    opt = make_opt(lr=123.0)  # the optimizer's own lr is replaced by max_lr / div_factor
    s = S.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="linear")
    assert S.OneCycleLR.per_batch and not S.StepLR.per_batch
    got = lr_sequence(s, opt, 9)
    # phase 1 ends at step 0.3*10-1 = 2 (0.04 -> 1), phase 2 at step 9 (1 -> 0.04/1e4)
    expect = [0.04, 0.52, 1.0] + [(4e-6 - 1.0) * (k / 7) + 1.0 for k in range(1, 8)]
    np.testing.assert_allclose(got, expect, rtol=1e-14)
    # momentum moves inversely: 0.95 at the start, 0.85 at the peak, back to 0.95 at the end
    assert opt.momentum == pytest.approx(0.95)
    s2 = S.OneCycleLR(make_opt(), max_lr=1.0, total_steps=10)
    assert s2.optimizer.momentum == pytest.approx(0.95)
    s2.step(), s2.step()
    assert s2.optimizer.momentum == pytest.approx(0.85)


def test_one_cycle_adam_cycles_beta1_and_keeps_beta2():
    opt = make_opt("adam", lr=0.5)
    s = S.OneCycleLR(opt, max_lr=0.1, total_steps=20)
    assert opt.betas == (0.95, 0.999)
    for _ in range(5):  # the peak: step 0.3 * 20 - 1
        s.step()
    assert opt.lr == pytest.approx(0.1)
    assert opt.betas[0] == pytest.approx(0.85) and opt.betas[1] == 0.999


def test_one_cycle_refuses_steps_past_the_end_without_changing_state():
    opt = make_opt()
    s = S.OneCycleLR(opt, max_lr=0.1, total_steps=4)
    for _ in range(4):
        s.step()
    lr, last = opt.lr, s.last_epoch
    with pytest.raises(ValueError, match="Tried to step 5 times"):
        s.step()
    assert (opt.lr, s.last_epoch) == (lr, last)


def test_one_cycle_linear_last_step_clamped_at_zero():
    opt = make_opt()
    s = S.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="linear")
    for _ in range(10):
        s.step()
    assert opt.lr == 0.0  # torch: 4e-6 + (4e-6 - 1)/7 < 0, which no optimizer accepts


def test_reduce_on_plateau_torch_rules_by_hand():
    opt = make_opt(lr=1.0)
    s = S.ReduceLROnPlateau(opt, factor=0.5, patience=1)
    got = lr_sequence(s, opt, 6, metrics=[1, 2, 2, 0.5, 0.6, 0.7])
    # torch reduces once num_bad_epochs > patience (two bad epochs here)
    assert got == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]
    assert s.monitor == "val_loss" and s.last_epoch == 6


def test_reduce_on_plateau_cooldown_min_lr_and_eps():
    opt = make_opt(lr=1.0)
    s = S.ReduceLROnPlateau(opt, factor=0.1, patience=0, cooldown=2, min_lr=0.005)
    got = lr_sequence(s, opt, 10, metrics=[1] * 10)
    # a flat metric: step 2 reduces (one bad epoch > patience 0), steps 3-4 are cooldown,
    # step 5 reduces to 0.01, step 8 to max(0.001, min_lr) = 0.005
    assert got == pytest.approx([1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.005, 0.005, 0.005],
                                rel=1e-15)
    opt = make_opt(lr=1e-8)
    s = S.ReduceLROnPlateau(opt, patience=0)
    lr_sequence(s, opt, 3, metrics=[1, 1, 1])
    assert opt.lr == 1e-8  # the reduction (9e-9) is below eps=1e-8: skipped


def test_base_lr_is_kept_on_the_optimizer():
    opt = make_opt(lr=1.0)
    S.StepLR(opt, step_size=1, gamma=0.5).step()
    assert opt.lr == 0.5 and opt.initial_lr == 1.0
    s = S.CosineAnnealingLR(opt, T_max=4)   # a second scheduler starts from initial_lr
    assert s.base_lrs == [1.0]


# ------------------------------------------------------------------ state_dict
@pytest.mark.parametrize("make", [
    lambda o: S.StepLR(o, step_size=3, gamma=0.5),
    lambda o: S.MultiStepLR(o, milestones=[2, 4, 4], gamma=0.3),
    lambda o: S.ExponentialLR(o, gamma=0.9),
    lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=0.001),
    lambda o: S.LinearLR(o, start_factor=0.2, total_iters=7),
    lambda o: S.OneCycleLR(o, max_lr=0.2, total_steps=30, three_phase=True),
], ids=["step", "multistep", "exp", "cosine", "linear", "onecycle"])
def test_state_dict_resumes_the_same_schedule(make):
    opt_a = make_opt()
    a = make(opt_a)
    for _ in range(6):
        a.step()
    state = json.loads(json.dumps(a.state_dict()))  # plain values, storable in a checkpoint
    opt_b = make_opt(lr=0.7)
    b = make(opt_b)
    opt_b.load_state_dict(opt_a.state_dict())
    b.load_state_dict(state)
    assert b.last_epoch == a.last_epoch and b.get_last_lr() == a.get_last_lr()
    assert lr_sequence(b, opt_b, 10) == lr_sequence(a, opt_a, 10)
    other = (S.ExponentialLR(make_opt(), gamma=0.5) if not isinstance(a, S.ExponentialLR)
             else S.StepLR(make_opt(), step_size=2))
    with pytest.raises(ValueError, match="state_dict"):
        other.load_state_dict(state)
    with pytest.raises(ValueError, match="missing"):
        b.load_state_dict({"class": type(b).__name__})


def test_plateau_state_dict_round_trip():
    opt_a = make_opt(lr=1.0)
    a = S.ReduceLROnPlateau(opt_a, factor=0.5, patience=2, cooldown=1)
    metrics = [3, 2, 2.5, 2.5, 2.6, 1, 1, 1, 1, 1, 1, 1]
    lr_sequence(a, opt_a, 5, metrics)
    opt_b = make_opt(lr=1.0)
    b = S.ReduceLROnPlateau(opt_b)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    opt_b.lr = opt_a.lr
    assert lr_sequence(b, opt_b, 7, metrics[5:]) == lr_sequence(a, opt_a, 7, metrics[5:])


# ------------------------------------------------------------------ bad arguments
@pytest.mark.parametrize("build, exc", [
    (lambda o: S.StepLR(o, step_size=0), ValueError),
    (lambda o: S.StepLR(o, step_size=2.5), TypeError),
    (lambda o: S.StepLR(o, step_size=2, gamma=-1), ValueError),
    (lambda o: S.MultiStepLR(o, milestones=5), TypeError),
    (lambda o: S.MultiStepLR(o, milestones=[-1]), ValueError),
    (lambda o: S.ExponentialLR(o, gamma=float("nan")), ValueError),
    (lambda o: S.CosineAnnealingLR(o, T_max=0), ValueError),
    (lambda o: S.LinearLR(o, start_factor=0.0), ValueError),
    (lambda o: S.LinearLR(o, end_factor=1.5), ValueError),
    (lambda o: S.OneCycleLR(o, max_lr=0.1), ValueError),
    (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=0), ValueError),
    (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=5, pct_start=1.5), ValueError),
    (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=5, anneal_strategy="exp"), ValueError),
    (lambda o: S.OneCycleLR(o, max_lr=[0.1, 0.2], total_steps=5), ValueError),
    (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=5, max_momentum=1.0), ValueError),
    (lambda o: S.ReduceLROnPlateau(o, factor=1.0), ValueError),
    (lambda o: S.ReduceLROnPlateau(o, mode="maximum"), ValueError),
    (lambda o: S.ReduceLROnPlateau(o, threshold_mode="pct"), ValueError),
    (lambda o: S.ReduceLROnPlateau(o, patience=-1), ValueError),
    (lambda o: S.StepLR(o, step_size=2, last_epoch=3), ValueError),  # no initial_lr yet
    (lambda o: S.StepLR("sgd", step_size=2), TypeError),
])
def test_bad_arguments_raise_before_touching_the_optimizer(build, exc):
    opt = make_opt(lr=0.1)
    with pytest.raises(exc):
        build(opt)
    assert opt.lr == 0.1 and opt.momentum == 0.9


def test_one_cycle_gives_an_sgd_without_momentum_the_cycled_momentum():
    """As torch's OneCycleLR: an SGD built with momentum 0 gets max_momentum at once and the
    cycle after it, trained as an SGD built with momentum (its first step starts the velocity
    at the gradient either way); cycle_momentum=False leaves it without."""
    opt = make_opt(momentum=0.0)
    S.OneCycleLR(opt, max_lr=0.1, total_steps=5, cycle_momentum=False).step()
    assert opt.momentum == 0.0 and opt.state_arrays() == []
    runs = []
    for momentum in (0.0, 0.9):
        layer = fastlin.Dense(3, 2, seed=0)
        opt = fastlin.SGD(layer.parameters(), lr=0.1, momentum=momentum)
        sched = S.OneCycleLR(opt, max_lr=0.1, total_steps=5)
        assert opt.momentum == 0.95
        seen = []
        for k in range(4):
            layer.dW[:] = np.arange(6).reshape(3, 2) * (k + 1) / 7
            layer.db[:] = 0.5 - k
            opt.step()
            sched.step()
            seen.append(opt.momentum)
        runs.append((layer.W.copy(), layer.b.copy(), seen))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert runs[0][2] == runs[1][2] and len(set(runs[0][2])) > 1


def test_plateau_step_needs_a_number():
    s = S.ReduceLROnPlateau(make_opt())
    with pytest.raises(TypeError, match="metrics"):
        s.step("low")
    assert s.last_epoch == 0


# ------------------------------------------------------------------ against torch
torch_cases = [
    ("StepLR", dict(step_size=3, gamma=0.5), 20),
    ("StepLR", dict(step_size=1, gamma=0.9), 15),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3), 15),
    ("ExponentialLR", dict(gamma=0.93), 25),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01), 40),
    ("CosineAnnealingLR", dict(T_max=1), 6),
    ("CosineAnnealingLR", dict(T_max=10), 10),
    ("LinearLR", dict(start_factor=0.25, total_iters=6), 12),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=4), 8),
    ("LinearLR", dict(), 8),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=50), 50),
    ("OneCycleLR", dict(max_lr=0.3, epochs=3, steps_per_epoch=7), 21),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=40, three_phase=True), 40),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=40, anneal_strategy="linear"), 39),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=30, pct_start=0.25, div_factor=10.0,
                        final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9), 30),
]


def _torch_pair(kind, lr, momentum):
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    if kind == "sgd":
        return make_opt("sgd", lr, momentum), torch.optim.SGD([p], lr=lr, momentum=momentum)
    if kind == "adamw":
        return make_opt("adamw", lr), torch.optim.AdamW([p], lr=lr)
    return make_opt("adam", lr), torch.optim.Adam([p], lr=lr)


@pytest.mark.parametrize("kind", ["sgd", "adam", "adamw"])
@pytest.mark.parametrize("name, kwargs, n", torch_cases,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(torch_cases)])
def test_matches_torch(name, kwargs, n, kind):
    pytest.importorskip("torch")
    import torch.optim.lr_scheduler as T
    ours_opt, torch_opt = _torch_pair(kind, 0.1, 0.9)
    ours, theirs = getattr(S, name)(ours_opt, **kwargs), getattr(T, name)(torch_opt, **kwargs)
    group = torch_opt.param_groups[0]
    got, want, mom_got, mom_want = [], [], [], []
    for i in range(n + 1):
        if i:
            torch_opt.step()
            theirs.step()
            ours.step()
            assert ours.last_epoch == theirs.last_epoch
        got.append(ours_opt.lr)
        want.append(group["lr"])
        if kind == "sgd":
            mom_got.append(ours_opt.momentum)
            mom_want.append(group["momentum"])
        else:
            mom_got.append(ours_opt.betas)
            mom_want.append(tuple(group["betas"]))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
    np.testing.assert_allclose(np.array(mom_got, float), np.array(mom_want, float), rtol=1e-12)
    assert type(ours).per_batch == (name == "OneCycleLR")


plateau_cases = [
    dict(),
    dict(mode="min", factor=0.5, patience=2),
    dict(mode="max", factor=0.3, patience=1, threshold=0.05),
    dict(mode="min", patience=0, threshold=0.01, threshold_mode="abs", cooldown=2),
    dict(mode="max", patience=1, threshold_mode="abs", cooldown=1, min_lr=0.004),
    dict(patience=0, factor=0.9, eps=1e-3),
]


@pytest.mark.parametrize("kwargs", plateau_cases)
def test_reduce_on_plateau_matches_torch(kwargs):
    pytest.importorskip("torch")
    import torch.optim.lr_scheduler as T
    ours_opt, torch_opt = _torch_pair("sgd", 0.1, 0.9)
    ours, theirs = S.ReduceLROnPlateau(ours_opt, **kwargs), T.ReduceLROnPlateau(torch_opt, **kwargs)
    rng = np.random.default_rng(7)
    # a noisy decreasing curve with long plateaus, and its mirror image for mode="max"
    metric = 2.0 - np.cumsum(rng.random(60) * (rng.random(60) < 0.3)) * 0.1 + rng.random(60) * 0.02
    if kwargs.get("mode") == "max":
        metric = 3.0 - metric
    got, want = [], []
    for m in metric:
        torch_opt.step()
        theirs.step(float(m))
        ours.step(m)
        got.append(ours_opt.lr)
        want.append(torch_opt.param_groups[0]["lr"])
        assert ours.num_bad_epochs == theirs.num_bad_epochs
        assert ours.cooldown_counter == theirs.cooldown_counter
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert len(set(want)) > 1  # the sequence exercises at least one reduction
    assert ours.best == theirs.best and ours.last_epoch == theirs.last_epoch


def test_cosine_annealing_matches_torch_closed_form_to_rounding():
    opt = make_opt(lr=0.05)
    got = lr_sequence(S.CosineAnnealingLR(opt, T_max=13, eta_min=1e-4), opt, 60)
    t = np.arange(61)
    closed = 1e-4 + (0.05 - 1e-4) * (1 + np.cos(math.pi * t / 13)) / 2
    np.testing.assert_allclose(got, closed, rtol=1e-10, atol=1e-16)


def test_one_cycle_on_an_sgd_without_momentum_equals_torch():
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    opt_t = torch.optim.SGD([p], lr=0.1, momentum=0.0)
    sched_t = torch.optim.lr_scheduler.OneCycleLR(opt_t, max_lr=0.1, total_steps=6)
    layer = fastlin.Dense(3, 1, init="zeros", dtype="float64", bias=False)
    opt = SGD(layer.parameters(), lr=0.1)
    sched = S.OneCycleLR(opt, max_lr=0.1, total_steps=6)
    for k in range(5):
        g = np.array([1.0, -2.0, 0.5]) * (k + 1)
        p.grad = torch.tensor(g)
        opt_t.step()
        sched_t.step()
        layer.dW[:, 0] = g
        opt.step()
        sched.step()
        assert opt.momentum == opt_t.param_groups[0]["momentum"]
        np.testing.assert_array_equal(layer.W[:, 0], p.detach().numpy())


def test_an_sgd_given_momentum_by_a_schedule_checkpoints_and_loads(tmp_path):
    """The velocity buffers a one-cycle schedule added are saved; they load into an SGD built
    without them, even when the momentum was 0 at the save (a cycle between 0 and 0)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    model = fastlin.MLP([3, 4, 2], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    sched = S.OneCycleLR(opt, max_lr=0.1, total_steps=16, base_momentum=0.0, max_momentum=0.0)
    model.fit(X, y, optimizer=opt, scheduler=sched, epochs=2, batch_size=8)
    assert opt.momentum == 0.0 and len(opt.state_arrays()) == 4
    model.save(tmp_path / "ckpt.npz", optimizer=opt)
    _, loaded = fastlin.load_checkpoint(tmp_path / "ckpt.npz")
    for a, b in zip(loaded.state_arrays(), opt.state_arrays()):
        np.testing.assert_array_equal(a, b)
    plain = SGD(fastlin.MLP([3, 4, 2], seed=1).parameters(), lr=0.1)
    plain.load_state_dict(opt.state_dict())
    assert len(plain.state_arrays()) == 4
    wrong = SGD(fastlin.MLP([3, 5, 2], seed=1).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="does not match"):
        wrong.load_state_dict(opt.state_dict())
    assert wrong.state_arrays() == [] and all(v is None for v in wrong.velocity)
