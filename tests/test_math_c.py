"""csrc/fl_math.h's double exp and log (fl_exp, fl_log: the float64 losses' exp and log)
against the C library's, compiled here with a small driver: baseline x86-64 and, where the CPU has them,
AVX2+FMA (the compiler may fuse multiply-adds there, so both builds are checked). Tolerance:
exp 2 ulp over 4 million arguments across the whole range (glibc's exp is within 1 ulp of the
true value), and at the special values (0, ±inf, NaN, the overflow and underflow edges);
log 1 ulp over 4 million normal arguments (in [1, 2] where the losses take it, across the
whole exponent range, and just above 1), and NaN and +inf returned as themselves."""
from pathlib import Path

import pytest

DRIVER = r"""
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include "fl_math.h"

static double ulps(double got, double want)
{
    if (got == want || (isnan(got) && isnan(want))) return 0.0;
    if (isnan(got) || isnan(want) || isinf(got) || isinf(want)) return 1e300;
    double unit = nextafter(fabs(want), INFINITY) - fabs(want);
    return fabs(got - want) / unit;
}

int main(void)
{
    static double xs[1 << 12], ys[1 << 12];
    uint64_t s = 88172645463325252ull;
    double worst = 0.0, at = 0.0;
    for (long block = 0; block < 1000; block++) {
        for (int i = 0; i < (1 << 12); i++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            double u = (double)(s >> 11) / 9007199254740992.0;
            double x = -750.0 + u * 1465.0;           /* the whole range, edges included */
            if (i % 4 == 1) x = (u - 0.5) * 4.0;      /* where softmax spends its time */
            if (i % 4 == 2) x = (u - 0.5) * 1e-6;     /* near 0 */
            xs[i] = x;
        }
        for (int i = 0; i < (1 << 12); i++) ys[i] = fl_exp(xs[i]);  /* a loop gcc vectorizes */
        for (int i = 0; i < (1 << 12); i++) {
            double e = ulps(ys[i], exp(xs[i]));
            if (e > worst) { worst = e; at = xs[i]; }
        }
    }
    const double special[] = {0.0, -0.0, 1.0, -1.0, 709.78, 709.7827, 709.79, 710.0, 1e308,
                              -708.3964, -708.4, -740.0, -745.13, -745.14, -746.0, -1e308,
                              INFINITY, -INFINITY, NAN, 1e-300, -1e-300, 5e-324};
    long wrong = 0;
    for (unsigned i = 0; i < sizeof special / sizeof *special; i++) {
        double got = fl_exp(special[i]), want = exp(special[i]);
        if (ulps(got, want) > 2.0) { wrong++; printf("special %g: %.17g vs %.17g\n", special[i], got, want); }
    }
    double worst_log = 0.0;
    for (long block = 0; block < 1000; block++) {
        for (int i = 0; i < (1 << 12); i++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            double u = (double)(s >> 11) / 9007199254740992.0;
            xs[i] = i % 3 == 0 ? 1.0 + u : (i % 3 == 1 ? exp((u - 0.5) * 1400.0) : 1.0 + u * 1e-9);
        }
        for (int i = 0; i < (1 << 12); i++) ys[i] = fl_log(xs[i]);
        for (int i = 0; i < (1 << 12); i++) {
            double e = ulps(ys[i], log(xs[i]));
            if (e > worst_log) worst_log = e;
        }
    }
    if (!isnan(fl_log(NAN)) || fl_log(INFINITY) != INFINITY || fl_log(1.0) != 0.0) wrong++;
    printf("%.3f %.17g %ld %.3f\n", worst, at, wrong, worst_log);
    return 0;
}
"""


def _cpu_has(*names):
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return False
    return all(name in flags for name in names)


@pytest.mark.parametrize("flags", [[], ["-mavx2", "-mfma"]], ids=["baseline", "avx2"])
def test_fl_exp_and_fl_log_against_libm(run_c_driver, flags):
    if flags and not _cpu_has("avx2", "fma"):
        pytest.skip("the CPU has no AVX2+FMA")
    run = run_c_driver(DRIVER, flags, opt="-O3")
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout.split()
    worst, at, wrong, worst_log = float(out[-4]), out[-3], int(out[-2]), float(out[-1])
    assert wrong == 0, out
    assert worst <= 2.0, f"exp: {worst} ulp at x = {at}"
    assert worst_log <= 1.0, f"log: {worst_log} ulp"
