"""The thread policy of one fit: a count the user fixed, or the contention guard's."""
import time

from fastlin.parallel import blas_threads, contention
from fastlin.parallel import threads as kernel_threads
from fastlin.parallel.contention import ContentionGuard


class FitThreads:
    """The thread counts of one fit call: a count fixed with ``set_num_threads`` applied to
    fit's BLAS calls, or else the contention guard's count (fastlin/parallel/contention.py)
    applied to them and to the compiled loop's OpenMP kernels. ``restore`` puts the BLAS count
    back (with the wheels' OpenBLAS it is the process's count; see
    fastlin/parallel/blas_threads.py)."""

    def __init__(self):
        self.plan = None
        self._blas_before = None
        self.guard = None
        self._guard_from = None  # when to start a guard (a fit shorter than that needs none)
        if getattr(kernel_threads, "_num_threads", None) is not None:
            self._blas_before = blas_threads.set_for_fit(self._wanted())
        elif blas_threads.available():
            # the guard's setup (two /proc reads, ~30 us) is paid only by fits that run longer
            # than one reading interval, or right away when the last fit found the machine busy
            self._guard_from = time.perf_counter() + (
                0.0 if contention.last_fit_was_reduced() else contention.CHECK_EVERY)
            self.poll()

    @staticmethod
    def _wanted():
        """BLAS threads for fit on a quiet machine: the pool's, capped at fastlin's count."""
        return min(blas_threads.get_num_threads(), kernel_threads.resolve(None))

    def _start_guard(self):
        self._guard_from = None
        self.guard = ContentionGuard(self._wanted())
        self.count = self.guard.full

    def attach(self, plan):
        """The compiled loop whose OpenMP kernels follow the guard's count (None: none)."""
        self.plan = plan
        if plan is not None and self.guard is not None:
            plan.n_threads = max(1, min(self.count, kernel_threads.DEFAULT_THREADS))

    def poll(self):
        """Apply the guard's count; True when it just put one thread more on trial."""
        if self.guard is None:
            if self._guard_from is None or time.perf_counter() < self._guard_from:
                return False
            self._start_guard()
        n, before_count = self.guard.poll(), self.count
        if n != self.count:
            self.count = n
            if self._blas_before is None:
                self._blas_before = blas_threads.set_for_fit(n)
            else:
                blas_threads.set_local(n)
            if self.plan is not None:
                self.plan.n_threads = max(1, min(n, kernel_threads.DEFAULT_THREADS))
        return n > before_count

    def restore(self):
        if self.guard is not None:
            self.guard.close()
        if self._blas_before is not None:
            blas_threads.restore_after_fit(self._blas_before)
            self._blas_before = None
