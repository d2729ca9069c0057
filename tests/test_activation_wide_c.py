"""The activations' full-width AVX-512 build (csrc/fl_activation.c: 512-bit vectors, chosen on
Zen 5 and later) against the 256-bit AVX-512 build every other AVX-512 CPU runs, forward and
backward, for every activation, with and without a bias, the pre-activation output, from x or
from y, with one slope or one per unit. Each element is the same operations in the same order
at either width (PReLU's slope gradient sums rows in order at both), so the two must agree to
the bit. Compiled here with a small driver because Python reaches only the variant the CPU is
given; skipped where the CPU has no AVX-512 to run both."""
import pytest

DRIVER = r"""
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "fl_activation.c"

#define DECL(W) \
void fl_act_forward_f32_##W(fl_index, fl_index, const float *, const float *, int, const float *, \
                            int, float *, float *);                                                \
void fl_act_backward_f32_##W(fl_index, fl_index, const float *, const float *, const float *, int, \
                             const float *, int, float *, float *);
DECL(avx512)
DECL(avx512w)

#define N 37
#define M 131
static float x[N * M], bias[M], alpha[M], gy[N * M];
static float z[2][N * M], y[2][N * M], gx[2][N * M], da[2][M];
static long fails = 0;

int main(void)
{
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")
        || !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl")) {
        printf("no avx512\n");
        return 0;
    }
    unsigned seed = 12345u;
    for (int i = 0; i < N * M; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = ((float)(seed >> 8) / 16777216.0f - 0.5f) * (i % 11 == 0 ? 40.0f : 8.0f);
        seed = seed * 1103515245u + 12345u;
        gy[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
    for (int j = 0; j < M; j++) { bias[j] = 0.01f * (float)(j % 17) - 0.08f; alpha[j] = 0.02f * (float)(j % 7); }
    static const long widths[] = {1, 7, 16, 17, 64, M};
    for (int act = 0; act <= 6; act++)
        for (unsigned k = 0; k < sizeof widths / sizeof widths[0]; k++)
            for (int opt = 0; opt < 4; opt++) {
                long m = widths[k], n = N;
                const float *b = (opt & 1) ? bias : NULL;
                int per_unit = (opt & 2) != 0;
                memset(z, 0, sizeof z); memset(y, 0, sizeof y); memset(gx, 0, sizeof gx); memset(da, 0, sizeof da);
                fl_act_forward_f32_avx512(n, m, x, b, act, alpha, per_unit, z[0], y[0]);
                fl_act_forward_f32_avx512w(n, m, x, b, act, alpha, per_unit, z[1], y[1]);
                fl_act_backward_f32_avx512(n, m, gy, z[0], y[0], act, alpha, per_unit, gx[0], da[0]);
                fl_act_backward_f32_avx512w(n, m, gy, z[1], y[1], act, alpha, per_unit, gx[1], da[1]);
                if (memcmp(y[0], y[1], sizeof y[0]) || memcmp(z[0], z[1], sizeof z[0])
                    || memcmp(gx[0], gx[1], sizeof gx[0]) || memcmp(da[0], da[1], sizeof da[0])) {
                    fails++;
                    printf("act=%d m=%ld opt=%d differs\n", act, m, opt);
                }
                if (act < 1 || act > 3)
                    continue;
                /* backward from the output alone (sigmoid, tanh, relu) */
                fl_act_backward_f32_avx512(n, m, gy, NULL, y[0], act, alpha, per_unit, gx[0], NULL);
                fl_act_backward_f32_avx512w(n, m, gy, NULL, y[1], act, alpha, per_unit, gx[1], NULL);
                if (memcmp(gx[0], gx[1], sizeof gx[0])) {
                    fails++;
                    printf("act=%d m=%ld opt=%d (from y) differs\n", act, m, opt);
                }
            }
    printf("fails=%ld\n", fails);
    return fails != 0;
}
"""


def test_full_width_activations_are_the_same_bits_as_the_256_bit_ones(run_c_driver):
    run = run_c_driver(DRIVER)
    if "no avx512" in run.stdout:
        pytest.skip("this CPU has no AVX-512 to run both builds")
    assert run.returncode == 0 and "fails=0" in run.stdout, run.stdout[-3000:]
