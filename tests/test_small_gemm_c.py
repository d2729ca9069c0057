"""The small-product loops (csrc/fl_gemm_small.h) at the C level, where the Python callers
cannot reach: fastlin's own calls always pass contiguous operands (lda == k etc.), so
the leading-dimension arithmetic for ld > dim, the m == 0 / n == 0 edge and the refusal of
an op(b) too large for the stack buffer are checked here by compiling csrc/fl_gemm_small.c
with a small driver (under AddressSanitizer + UBSan when the compiler has them, so a read
past an operand or a zero-length array is an error), once per SIMD level. (The Python-level
checks of the same loops are tests/test_small_gemm.py; this file stays apart from it because
it builds its own driver and runs every SIMD level itself, so the runs of the kernel tests
per SIMD level and per build need not repeat it.)

Reference: the same sums in double precision. Tolerance relative to sum |a_ip * b_pj|:
1e-5 for float (a k <= 4096-term float sum errs by at most ~k * 2^-24 of it) and 1e-13 for
double; a wrong index or a missed term is off by O(1) of it.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

DRIVER = r"""
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "fl_gemm_small.h"

static unsigned long long st = 88172645463325252ULL;
static double rnd(void)
{
    st ^= st << 13; st ^= st >> 7; st ^= st << 17;
    return (double)(st >> 11) / 9007199254740992.0 * 2 - 1;
}
static long fails = 0, runs = 0;
#define SENTINEL 12345

/* every operand allocated to its last element exactly: reading past it trips ASan */
#define TEST(T, FN, EPS)                                                                      \
static void t_##T(int ta, int tb, long m, long n, long k, long pad, double alpha, int want_rc)\
{                                                                                             \
    long ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;                \
    long lda = ac + pad, ldb = bc + pad, ldc = n + pad;                                       \
    size_t asz = ar && ac ? (ar - 1) * lda + ac : 0, bsz = br && bc ? (br - 1) * ldb + bc : 0;\
    size_t csz = m && n ? (m - 1) * ldc + n : 0;                                              \
    T *a = malloc((asz ? asz : 1) * sizeof(T)), *b = malloc((bsz ? bsz : 1) * sizeof(T));    \
    T *c = malloc((csz ? csz : 1) * sizeof(T));                                               \
    for (size_t i = 0; i < asz; i++) a[i] = (T)rnd();                                         \
    for (size_t i = 0; i < bsz; i++) b[i] = (T)rnd();                                         \
    for (size_t i = 0; i < (csz ? csz : 1); i++) c[i] = (T)SENTINEL;                          \
    int rc = FN(ta, tb, m, n, k, (T)alpha, a, lda, b, ldb, c, ldc);                 \
    runs++;                                                                                   \
    if (rc != want_rc) {                                                                      \
        fails++; printf(#T " rc %d != %d ta=%d tb=%d m=%ld n=%ld k=%ld\n", rc, want_rc, ta, tb, m, n, k); \
    }                                                                                         \
    for (long i = 0; i < m; i++)                                                              \
        for (long j = 0; j < ldc && i * ldc + j < (long)csz; j++) {                           \
            double got = c[i * ldc + j];                                                      \
            if (j >= n || rc != 0) {       /* padding, or a refused call: untouched */        \
                if (got != SENTINEL && fails++ < 20)                                          \
                    printf(#T " wrote c[%ld, %ld] ta=%d tb=%d m=%ld n=%ld k=%ld\n", i, j, ta, tb, m, n, k); \
                continue;                                                                     \
            }                                                                                 \
            double s = 0, sa = 0;                                                             \
            for (long p = 0; p < k; p++) {                                                    \
                double x = ta ? a[p * lda + i] : a[i * lda + p];                              \
                double y = tb ? b[j * ldb + p] : b[p * ldb + j];                              \
                s += x * y;                                                                   \
                sa += fabs(x * y);                                                            \
            }                                                                                 \
            if (!(fabs(got - alpha * s) <= EPS * fabs(alpha) * sa) && fails++ < 20)           \
                printf(#T " ta=%d tb=%d m=%ld n=%ld k=%ld pad=%ld c[%ld, %ld] = %g, want %g\n", \
                       ta, tb, m, n, k, pad, i, j, got, alpha * s);                           \
        }                                                                                     \
    free(a); free(b); free(c);                                                                \
}
TEST(float, fl_gemm_small_f32, 1e-5)
TEST(double, fl_gemm_small_f64, 1e-13)

int main(void)
{
    const long dims[] = {1, 2, 3, 4, 5, 8, 9, 16, 17, 33, 64, 65, 257};
    const long pads[] = {0, 3};
    const int nd = sizeof dims / sizeof *dims;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int im = 0; im < nd; im++)
                for (int in = 0; in < nd; in++)
                    for (int ik = 0; ik < nd; ik++)
                        for (int ip = 0; ip < 2; ip++) {
                            long m = dims[im], n = dims[in], k = dims[ik];
                            long np32 = (n + 7) / 8 * 8, np64 = (n + 3) / 4 * 4;
                            if (m * n * k > 10000) continue;
                            double alpha = ip ? -0.75 : 1.0;
                            t_float(ta, tb, m, n, k, pads[ip], alpha,
                                    (n == 1 ? k : k * np32) > FL_GEMM_SMALL_PACK ? -1 : 0);
                            t_double(ta, tb, m, n, k, pads[ip], alpha,
                                     (n == 1 ? k : k * np64) > FL_GEMM_SMALL_PACK ? -1 : 0);
                        }
    /* the largest op(b) the stack buffer takes, and one vector more: refused, c untouched */
    t_float(1, 0, 1, 8, 1024, 1, 1.0, 0);
    t_float(1, 0, 1, 9, 1024, 1, 1.0, -1);
    t_double(1, 1, 1, 4, 2048, 1, 1.0, 0);
    t_double(1, 1, 1, 5, 2048, 1, 1.0, -1);
    t_double(0, 0, 2, 1, 8192, 2, 1.0, 0);  /* strided column: copied to col[8192] */
    t_float(0, 0, 2, 1, 8193, 2, 1.0, -1);
    /* empty products: nothing to write (n == 0 used to declare a zero-length stack array) */
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            t_float(ta, tb, 3, 0, 5, 1, 1.0, 0);
            t_double(ta, tb, 3, 0, 5, 1, 1.0, 0);
            t_float(ta, tb, 0, 5, 3, 1, 1.0, 0);
            t_double(ta, tb, 0, 9, 3, 1, 1.0, 0);
            t_float(ta, tb, 3, 5, 0, 2, 1.0, 0);   /* k == 0: zeros */
            t_double(ta, tb, 4, 1, 0, 2, 1.0, 0);
        }
    printf("runs=%ld fails=%ld\n", runs, fails);
    return fails != 0;
}
"""


def _build(tmp_path):
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    src = tmp_path / "driver.c"
    src.write_text(DRIVER)
    exe = tmp_path / "driver"
    base = [cc, "-O1", "-g", f"-I{ROOT / 'csrc'}", str(ROOT / "csrc" / "fl_gemm_small.c"),
            str(src), "-o", str(exe), "-lm"]
    sanitized = base[:1] + ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"] + base[1:]
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}  # a sanitizer CI job's
    for cmd in (sanitized, base):
        if subprocess.run(cmd, capture_output=True, text=True, env=env).returncode == 0:
            return exe
    pytest.skip("csrc/fl_gemm_small.c does not build with " + cc)


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("gemm_small"))


@pytest.mark.parametrize("level", ["", "base", "avx2"])
def test_strided_operands_edges_and_refusals_against_a_double_reference(driver, level):
    env = dict(os.environ, FASTLIN_SIMD=level, ASAN_OPTIONS="detect_leaks=0")
    env.pop("LD_PRELOAD", None)
    r = subprocess.run([str(driver)], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "fails=0" in r.stdout and "runtime error" not in r.stderr, r.stdout + r.stderr
