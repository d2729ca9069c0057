"""Fewer threads for fit while another process competes for the cores.

A BLAS product split over two threads ends when its slower half ends. When a busy process holds
one of two cores, that half gets only the scheduler's time slices: a W1 training step took 3-4x
as long as on a quiet machine, longer than on one thread.

So fit watches the time its own thread spends runnable but waiting for a CPU: the second field of
``/proc/thread-self/schedstat``, in nanoseconds. It reads that at most every ``CHECK_EVERY``
seconds of training (a reading costs ~16 us) and divides by the wall time since the previous
reading. Measured on a 2-core AMD EPYC, W1 at 2 threads, in stretches of ~50 ms:
- quiet: the waiting share is at most 0.002;
- beside one busy process: 0.2-0.5 in most stretches;
- on one thread beside the same process: at most 0.02.

The rules:
- Two readings in a row above ``REDUCE_ABOVE``, each with another process runnable at that
  moment, take one thread away. The check counts the system's runnable tasks
  (``/proc/loadavg``) less this process's (``/proc/self/task/*/stat``). A service's own threads,
  predicting beside a fit, do not count: fit's count, and so its float32 rounding, stays as
  it is.
- From ``FIRST_RETRY`` seconds later, the guard tries one thread more as soon as the kernel's
  count of runnable tasks (``/proc/loadavg``) leaves a CPU free for it. It keeps the thread
  when the share stays below ``RESTORE_BELOW``. Otherwise it goes back and waits twice as long
  before the next try, up to ``MAX_RETRY``.
- Every ``MAX_RETRY`` seconds it tries even without a free CPU in that count. In a container,
  the count is the host's.

So a quiet machine keeps every thread, and a fit never gets stuck on fewer after the other
process ends.

A guard hands what it learned to the next fit in the process: a fit that starts within
``MAX_RETRY`` seconds of the last reading that left a fit on fewer threads starts there, and
tries more by the same rules (fits too short for a reading of their own pass the count on, but
not its age, so it never outlives that reading by more than ``MAX_RETRY``). A loop of short fit
calls (``partial_fit``, a hyper-parameter sweep) would otherwise pay the two busy readings again
in every call.

The guard is off, and fit's thread counts are left as they are, when:
- the user fixed a count with ``fastlin.set_num_threads`` (a fixed count also fixes the float32
  rounding, which differs between 1 and 2 BLAS threads);
- the count is 1;
- the system has no schedstat file;
- the chosen OpenBLAS cannot be told a thread count (no ``openblas_set_num_threads_local``).
"""
import os
import time

SCHEDSTAT = "/proc/thread-self/schedstat"
LOADAVG = "/proc/loadavg"
CHECK_EVERY = 0.02
REDUCE_ABOVE = 0.10
RESTORE_BELOW = 0.05
FIRST_RETRY = 0.25
MAX_RETRY = 16.0
_CPUS = os.cpu_count() or 1

# (full count, count, time of the next try, retry interval, time of the last reading behind the
# count) of the last guard closed, or None
_last_guard = None


def last_fit_was_reduced(clock=time.perf_counter):
    """True when the last guard of this process ended on fewer threads, recently enough for a
    new fit to start there."""
    last = _last_guard
    return last is not None and last[1] < last[0] and clock() - last[4] < MAX_RETRY


def read_wait_ns(path=SCHEDSTAT):
    """Nanoseconds the calling thread has spent runnable but waiting for a CPU, or None when
    the system does not report it."""
    try:
        with open(path, "rb") as fh:
            return int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None


def read_runnable(path=LOADAVG):
    """Tasks runnable on the whole system now, the caller included (the fourth field of
    /proc/loadavg, "running/total"), or None when unknown."""
    try:
        with open(path, "rb") as fh:
            return int(fh.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return None


def own_running(task_dir="/proc/self/task"):
    """This process's threads that are runnable now (state R in /proc/self/task/*/stat)."""
    count = 0
    try:
        tids = os.listdir(task_dir)
    except OSError:
        return None
    for tid in tids:
        try:
            with open(os.path.join(task_dir, tid, "stat"), "rb") as fh:
                text = fh.read()
        except OSError:
            continue  # the thread has ended
        end = text.rfind(b")")
        if end >= 0 and text[end + 2:end + 3] == b"R":
            count += 1
    return count


def others_running():
    """Runnable tasks of other processes now (the system's count less this process's), or None
    when either count is unknown. Only another process's load lowers fit's threads: a service's
    own threads (predict beside fit) leave fit's count, and so its rounding, as it is."""
    total, own = read_runnable(), own_running()
    if total is None or own is None:
        return None
    return max(0, total - own)


class ContentionGuard:
    """The thread count for the next stretch of a fit, lowered while this thread waits for
    CPUs. Call ``poll()`` after each stretch of training and use the count it returns."""

    def __init__(self, threads, clock=time.perf_counter, read_wait=read_wait_ns,
                 read_runnable=read_runnable, cpus=_CPUS, read_others=others_running):
        self.full = self.threads = max(1, int(threads))
        self._clock, self._read_wait, self._read_runnable = clock, read_wait, read_runnable
        self._read_others = read_others
        self._cpus = cpus
        wait = read_wait() if self.full > 1 else None
        self.active = wait is not None
        self._t0, self._w0 = clock(), wait
        self._strikes = 0
        self._trial = False
        self._retry = FIRST_RETRY
        self._next_try = self._forced_try = 0.0
        self.reductions = 0  # how often a busy machine took a thread away (tests, bench)
        self._seen = self._t0  # time of the last reading behind self.threads
        last = _last_guard
        if self.active and last is not None and last[0] == self.full \
                and last[1] < self.full and self._t0 - last[4] < MAX_RETRY:
            self.threads, self._next_try, self._retry = last[1], last[2], last[3]
            self._forced_try = self._t0 + MAX_RETRY
            # a count taken over unread, so that fits too short for a reading of their own do
            # not keep it alive past MAX_RETRY
            self._seen = last[4]

    def close(self):
        """Leave this guard's state for the next fit of the process."""
        global _last_guard
        if self.active:
            _last_guard = (self.full, self.threads, self._next_try, self._retry, self._seen)

    def _cpu_free(self):
        """True when the system's runnable tasks, besides this thread, leave a CPU for one more
        of ours (unknown counts as free)."""
        running = self._read_runnable()
        return running is None or running - 1 + self.threads + 1 <= self._cpus

    def poll(self):
        if not self.active:
            return self.threads
        now = self._clock()
        if now - self._t0 < CHECK_EVERY:
            return self.threads
        wait = self._read_wait()
        if wait is None:
            self.active = False
            return self.threads
        share = (wait - self._w0) / 1e9 / (now - self._t0)
        self._t0, self._w0, self._seen = now, wait, now
        if self._trial:
            self._trial = False
            if share > RESTORE_BELOW:  # still busy: back down, try again later
                self.threads -= 1
                self._retry = min(2 * self._retry, MAX_RETRY)
            else:
                self._retry = FIRST_RETRY
            self._next_try = now + self._retry
            return self.threads
        busy = share > REDUCE_ABOVE
        if busy:  # is it another process? (read only then: ~10 us a thread)
            others = self._read_others()
            busy = others is None or others >= 1
        self._strikes = self._strikes + 1 if busy else 0
        if self._strikes >= 2 and self.threads > 1:
            self.threads -= 1
            self.reductions += 1
            self._strikes = 0
            self._next_try, self._forced_try = now + self._retry, now + MAX_RETRY
        elif self.threads < self.full and now >= self._next_try and (
                now >= self._forced_try or self._cpu_free()):
            self.threads += 1
            self._trial = True
            self._strikes = 0
            self._forced_try = now + MAX_RETRY
        return self.threads
