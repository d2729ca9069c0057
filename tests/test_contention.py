"""fit on a busy machine: the contention guard lowers fit's thread count while its thread
waits for CPUs, and gives the threads back when the other process is gone (issue 11, goal 4).

The guard is driven here by a fake clock and fake scheduler readings, so every rule is checked
exactly and no test depends on what else the machine runs. `python -m fastlin bench
--contention` measures the real thing beside a real busy process.
"""
import numpy as np
import pytest

import fastlin
from fastlin.training import threads as fit_threads
from fastlin import MLP
from fastlin.callbacks import Callback
from fastlin.parallel import blas_threads, contention
from fastlin.parallel.contention import (CHECK_EVERY, FIRST_RETRY, MAX_RETRY, ContentionGuard,
                                         others_running, own_running, read_runnable,
                                         read_wait_ns)


class FakeMachine:
    """A clock and the scheduler readings: `share` of each stretch spent waiting, the system's
    runnable tasks, and how many of those belong to other processes."""

    def __init__(self, share=0.0, runnable=1, others=1):
        self.now, self.wait_ns, self.share, self.runnable = 100.0, 0, share, runnable
        self.others = others

    def clock(self):
        return self.now

    def read_wait(self):
        return self.wait_ns

    def read_runnable(self):
        return self.runnable

    def advance(self, seconds):
        self.now += seconds
        self.wait_ns += int(self.share * seconds * 1e9)

    def read_others(self):
        return self.others

    def guard(self, threads=2, cpus=2):
        return ContentionGuard(threads, clock=self.clock, read_wait=self.read_wait,
                               read_runnable=self.read_runnable, cpus=cpus,
                               read_others=self.read_others)


@pytest.fixture(autouse=True)
def _no_memory_between_tests(monkeypatch):
    monkeypatch.setattr(contention, "_last_guard", None)


def test_quiet_machine_keeps_every_thread():
    m = FakeMachine(share=0.002)
    g = m.guard()
    for _ in range(5000):
        m.advance(0.05)
        assert g.poll() == 2
    assert g.reductions == 0


def test_a_busy_reading_alone_takes_nothing():
    m = FakeMachine()
    g = m.guard()
    for k in range(200):
        m.share = 0.4 if k % 2 else 0.0  # never two busy stretches in a row
        m.advance(0.05)
        assert g.poll() == 2


def test_two_busy_readings_take_a_thread_until_a_cpu_is_free():
    m = FakeMachine(share=0.3, runnable=2)  # us and the busy process
    g = m.guard()
    m.advance(0.05)
    assert g.poll() == 2
    m.advance(0.05)
    assert g.poll() == 1 and g.reductions == 1
    m.share = 0.01  # on one thread this thread no longer waits
    for _ in range(100):  # 5 s: the other process still runs, no CPU free for a second thread
        m.advance(0.05)
        assert g.poll() == 1
    m.runnable = 1  # it has ended
    m.advance(0.05)
    assert g.poll() == 2  # a trial
    m.advance(0.05)
    assert g.poll() == 2  # the trial stretch did not wait: kept
    for _ in range(100):
        m.advance(0.05)
        assert g.poll() == 2


def test_a_failed_trial_backs_down_and_waits_twice_as_long():
    m = FakeMachine(share=0.3, runnable=1)  # the count says a CPU is free, the waiting says not
    g = m.guard()
    m.advance(0.05), g.poll(), m.advance(0.05)
    assert g.poll() == 1
    tries = []
    for k in range(int(40 / 0.05)):
        m.advance(0.05)
        before = g.threads
        if g.poll() > before:
            tries.append(m.now)
    gaps = np.diff(tries)
    # each failed trial doubles the wait (plus the trial's own stretch), up to MAX_RETRY
    assert gaps[0] == pytest.approx(2 * FIRST_RETRY + 0.05, abs=0.051)
    assert all(b >= a - 1e-9 for a, b in zip(gaps, gaps[1:]))
    assert gaps[-1] == pytest.approx(MAX_RETRY + 0.05, abs=0.051)


def test_without_a_free_cpu_a_trial_still_comes_every_max_retry():
    # in a container the runnable count is the host's, so it may never show a free CPU
    m = FakeMachine(share=0.3, runnable=50)
    g = m.guard()
    m.advance(0.05), g.poll(), m.advance(0.05)
    assert g.poll() == 1
    m.share = 0.0
    steps = 0
    while g.poll() == 1:
        m.advance(0.05)
        steps += 1
    assert steps * 0.05 == pytest.approx(MAX_RETRY, abs=0.06)


def test_readings_come_at_most_every_check_every_seconds():
    calls = []
    m = FakeMachine(share=0.3)

    def read_wait():
        calls.append(m.now)
        return m.wait_ns

    g = ContentionGuard(2, clock=m.clock, read_wait=read_wait, read_runnable=m.read_runnable,
                        cpus=2, read_others=m.read_others)
    for _ in range(1000):
        m.advance(CHECK_EVERY / 10)
        g.poll()
    assert len(calls) <= 1 + 1000 // 10 + 1


@pytest.mark.parametrize("threads, wait", [(1, 0), (2, None)])
def test_off_on_one_thread_or_without_schedstat(threads, wait):
    m = FakeMachine(share=0.9)
    g = ContentionGuard(threads, clock=m.clock, read_wait=lambda: wait,
                        read_runnable=m.read_runnable, cpus=2)
    assert not g.active
    for _ in range(100):
        m.advance(0.05)
        assert g.poll() == threads


def test_the_next_fit_starts_where_the_last_busy_one_ended():
    m = FakeMachine(share=0.3, runnable=2)
    g = m.guard()
    assert not contention.last_fit_was_reduced(m.clock)
    m.advance(0.05), g.poll(), m.advance(0.05)
    assert g.poll() == 1
    g.close()
    m.advance(1.0)
    assert contention.last_fit_was_reduced(m.clock)
    g2 = m.guard()
    assert g2.poll() == 1
    g2.close()
    m.advance(MAX_RETRY + 1)  # too long ago to say anything about the machine now
    assert not contention.last_fit_was_reduced(m.clock)
    assert m.guard().poll() == 2


def test_the_scheduler_readings_exist_here():
    wait = read_wait_ns()
    if wait is None:
        pytest.skip("this kernel has no /proc/thread-self/schedstat")
    assert wait >= 0
    assert read_runnable() >= 1
    assert read_wait_ns("/nonexistent") is None and read_runnable("/nonexistent") is None


def _busy_guard_factory(log):
    """A ContentionGuard class whose machine is always busy (after 20 ms of fit)."""
    m = FakeMachine(share=0.5, runnable=3)

    class BusyGuard(ContentionGuard):
        def __init__(self, threads):
            log.append(threads)
            super().__init__(threads, clock=m.clock, read_wait=m.read_wait,
                             read_runnable=m.read_runnable, cpus=2, read_others=m.read_others)

        def poll(self):
            m.advance(0.03)
            return super().poll()

    return BusyGuard


def _data(n=512, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 20)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0)


@pytest.mark.skipif(not blas_threads.available(), reason="no per-thread BLAS count")
@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_fit_on_a_busy_machine_trains_on_fewer_threads_and_restores_the_count(monkeypatch,
                                                                             backend):
    log, seen, plan_threads = [], [], []
    monkeypatch.setattr(fit_threads, "ContentionGuard", _busy_guard_factory(log))
    monkeypatch.setattr(blas_threads, "available", lambda: True)
    # start the guard at once (a real fit this short would finish before its first reading)
    monkeypatch.setattr(contention, "last_fit_was_reduced", lambda: True)
    before = blas_threads.get_num_threads()

    class Spy(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(blas_threads.get_num_threads())

    X, y = _data()
    model = MLP([20, 32, 3], seed=0, backend=backend)
    orig_attach = fit_threads.FitThreads.attach

    def attach(self, plan):
        orig_attach(self, plan)
        if plan is not None:
            plan_threads.append(lambda: plan.n_threads)

    monkeypatch.setattr(fit_threads.FitThreads, "attach", attach)
    model.fit(X, y, epochs=6, batch_size=32, seed=0, callbacks=[Spy()])
    assert log, "fit did not consult the guard"
    if log[0] > 1:  # a 1-core machine has nothing to take away
        assert seen[-1] == log[0] - 1
        if backend == "cython":
            assert plan_threads[0]() == min(log[0] - 1, fastlin.get_num_threads())
    assert blas_threads.get_num_threads() == before
    assert np.isfinite(model.evaluate(X, y)["loss"])


def test_a_fixed_thread_count_turns_the_guard_off(monkeypatch):
    log = []
    monkeypatch.setattr(fit_threads, "ContentionGuard", _busy_guard_factory(log))
    X, y = _data()
    fastlin.set_num_threads(1)
    try:
        MLP([20, 8, 3], seed=0).fit(X, y, epochs=2, batch_size=64)
    finally:
        fastlin.set_num_threads(None)
    assert log == []


def test_quiet_guard_changes_nothing(monkeypatch):
    """Weights after a fit with a guard that never sees contention are bitwise those of a fit
    whose guard is off: the guard alone never changes a count (or the rounding)."""
    calls = []
    monkeypatch.setattr(blas_threads, "set_local",
                        lambda n, f=blas_threads.set_local: calls.append(n) or f(n))
    m = FakeMachine(share=0.001, runnable=1)

    class QuietGuard(ContentionGuard):
        def __init__(self, threads):
            super().__init__(max(2, threads), clock=m.clock, read_wait=m.read_wait,
                             read_runnable=m.read_runnable, cpus=2)

        def poll(self):
            m.advance(0.03)
            return super().poll()

    monkeypatch.setattr(fit_threads, "ContentionGuard", QuietGuard)
    monkeypatch.setattr(contention, "last_fit_was_reduced", lambda: True)
    X, y = _data()
    a = MLP([20, 32, 3], seed=0)
    a.fit(X, y, epochs=3, batch_size=32, seed=0)
    assert calls == []
    monkeypatch.setattr(fit_threads, "ContentionGuard",
                        lambda threads: ContentionGuard(1))  # off
    b = MLP([20, 32, 3], seed=0)
    b.fit(X, y, epochs=3, batch_size=32, seed=0)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)


def test_waiting_behind_this_process_own_threads_takes_nothing():
    """A service's own threads (predict beside fit) make fit's thread wait too, but lowering
    fit's BLAS count would change its rounding for a load the service chose: only another
    process's runnable tasks count."""
    m = FakeMachine(share=0.5, runnable=6, others=0)
    g = m.guard()
    for _ in range(200):
        m.advance(0.05)
        assert g.poll() == 2
    m.others = None  # unknown: the waiting alone decides
    m.advance(0.05), g.poll(), m.advance(0.05)
    assert g.poll() == 1


def test_other_processes_are_counted_here():
    own = own_running()
    if own is None or read_runnable() is None:
        pytest.skip("no /proc/self/task or /proc/loadavg")
    assert own >= 1  # this thread, reading
    assert others_running() >= 0
    assert own_running("/nonexistent") is None


def test_threads_of_this_process_are_not_other_processes():
    """Four busy threads of this process: the count of other processes' runnable tasks stays
    below them (it is exact up to tasks changing state between the two reads). Measured
    against the count before they start, so that other processes busy on the machine (a
    parallel test run, say) do not fail it."""
    import hashlib
    import threading
    if own_running() is None or read_runnable() is None:
        pytest.skip("no /proc/self/task or /proc/loadavg")
    stop = threading.Event()
    before = min(others_running() for _ in range(20))
    data = bytes(1 << 20)

    def spin():
        while not stop.is_set():
            hashlib.sha256(data)  # runs without the GIL: the thread stays runnable

    threads = [threading.Thread(target=spin) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        samples = [others_running() for _ in range(20)]
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert min(samples) <= before + 1
