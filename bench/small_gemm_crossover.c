/* Per-call time of csrc/fl_gemm_small.h's loops against OpenBLAS for small row-major products,
 * every layout (NN: X @ W, TN: X^T dZ, NT: dZ @ W^T), one thread. The evidence behind the
 * limits in fl_gemm_small.h. Build and run against NumPy's OpenBLAS (ILP64, symbols
 * scipy_*_64_) from the repository root:
 *
 *   L=$(python -c "import numpy, pathlib; print(pathlib.Path(numpy.__file__).parent.parent / 'numpy.libs')")
 *   gcc -O3 -fno-math-errno -fno-trapping-math -Icsrc bench/small_gemm_crossover.c \
 *       csrc/fl_gemm_small.c $L/libscipy_openblas64_*.so -Wl,-rpath,$L -o /tmp/crossover
 *   /tmp/crossover
 *
 * Best of 7 rounds of 20000 calls each, alternating the two paths; ratio < 1: the loops win. */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include "fl_gemm_small.h"

void scipy_sgemm_64_(const char *, const char *, const int64_t *, const int64_t *,
                     const int64_t *, const float *, const float *, const int64_t *,
                     const float *, const int64_t *, const float *, float *, const int64_t *);
void scipy_sgemv_64_(const char *, const int64_t *, const int64_t *, const float *,
                     const float *, const int64_t *, const float *, const int64_t *,
                     const float *, float *, const int64_t *);
void scipy_openblas_set_num_threads64_(int);

static float A[1 << 16], B[1 << 16], C[1 << 16];

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* The call fastlin/_kernels/_blas.pyx gemm_rm makes: GEMV for one output column or row. */
static void blas(int ta, int tb, int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb,
                 int64_t ldc)
{
    const float one = 1, zero = 0;
    const char T = 'T', N = 'N';
    const int64_t inc1 = 1;
    if (n == 1) {
        const int64_t incx = tb ? 1 : ldb;
        if (ta) scipy_sgemv_64_(&N, &m, &k, &one, A, &lda, B, &incx, &zero, C, &ldc);
        else scipy_sgemv_64_(&T, &k, &m, &one, A, &lda, B, &incx, &zero, C, &ldc);
        return;
    }
    if (m == 1) {
        const int64_t incx = ta ? lda : 1;
        if (tb) scipy_sgemv_64_(&T, &k, &n, &one, B, &ldb, A, &incx, &zero, C, &inc1);
        else scipy_sgemv_64_(&N, &n, &k, &one, B, &ldb, A, &incx, &zero, C, &inc1);
        return;
    }
    scipy_sgemm_64_(tb ? &T : &N, ta ? &T : &N, &n, &m, &k, &one, B, &ldb, A, &lda, &zero, C,
                    &ldc);
}

/* Not in main: GCC compiles main as run-once code, and the timed loops there measured the
 * loops' calls ~50 ns slower than the same loops in an ordinary function. */
static int __attribute__((noinline)) run(void)
{
    static const int shapes[][3] = {  /* m, n, k: W4's and W3's products, then a sweep */
        {4, 16, 2}, {4, 1, 16}, {16, 1, 4}, {4, 16, 1}, {2, 16, 4}, {32, 1, 64}, {64, 1, 32},
        {32, 64, 1}, {8, 8, 8}, {16, 16, 16}, {8, 32, 16}, {32, 16, 8}, {64, 8, 8},
        {16, 16, 32}, {32, 32, 8}, {128, 1, 32}, {32, 1, 128}, {32, 32, 32}, {32, 64, 64},
        {64, 64, 32}, {32, 64, 20}, {20, 64, 32}};
    scipy_openblas_set_num_threads64_(1);
    for (int i = 0; i < (1 << 16); ++i) {
        A[i] = (float)(i % 7) * 0.1f;
        B[i] = (float)(i % 5) * 0.2f;
    }
    printf("%-13s %3s %6s %9s %9s %7s\n", "m,n,k", "op", "MACs", "BLAS ns", "loops ns", "ratio");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s) {
        for (int op = 0; op < 3; ++op) {
            const int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
            const int ta = op == 1, tb = op == 2;
            const int64_t lda = ta ? m : k, ldb = tb ? k : n, ldc = n;
            const int calls = 20000;
            double best_blas = 1e9, best_loops = 1e9;
            for (int round = 0; round < 7; ++round) {
                double t0 = now();
                for (int r = 0; r < calls; ++r) blas(ta, tb, m, n, k, lda, ldb, ldc);
                const double t_blas = (now() - t0) / calls;
                t0 = now();
                for (int r = 0; r < calls; ++r)
                    if (fl_gemm_small_f32(ta, tb, m, n, k, 1.0f, A, lda, B, ldb, C, ldc) != 0)
                        return 1;
                const double t_loops = (now() - t0) / calls;
                if (t_blas < best_blas) best_blas = t_blas;
                if (t_loops < best_loops) best_loops = t_loops;
            }
            printf("%3d,%3d,%3d   %3s %6d %9.1f %9.1f %7.2f\n", m, n, k,
                   op == 0 ? "NN" : op == 1 ? "TN" : "NT", m * n * k, best_blas * 1e9,
                   best_loops * 1e9, best_loops / best_blas);
        }
    }
    return 0;
}


int main(void)
{
    return run();
}
