"""The optimizer updates' full-width AVX-512 build (csrc/fl_optim.c: 512-bit vectors, chosen on
Zen 5 and later) against the 256-bit AVX-512 build every other AVX-512 CPU runs. Each element's
update is the same operations in the same order at either width, so the two must agree to the
bit, at every length (whole vectors, a remainder, none) and for every option of Adam, RMSprop
and Adagrad. Compiled here with a small driver because Python reaches only the variant the CPU
is given; skipped where the CPU has no AVX-512 to run both."""
import pytest

DRIVER = r"""
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "fl_optim.c"

#define DECL(W) \
void fl_adam_f32_##W(fl_index, float *, const float *, float *, float *, double, double, double, \
                     double, double, int64_t, int);                                              \
void fl_rmsprop_f32_##W(fl_index, float *, const float *, float *, float *, float *, double,     \
                        double, double, double, double);                                         \
void fl_adagrad_f32_##W(fl_index, float *, const float *, float *, double, double, double,       \
                        double, int64_t);
DECL(avx512)
DECL(avx512w)

#define N 4099
static float p[2][N], g[N], s1[2][N], s2[2][N], s3[2][N];
static long fails = 0;

static void reset(unsigned seed)
{
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        g[i] = ((float)(seed >> 8) / 16777216.0f - 0.5f) * (i % 7 == 0 ? 1e-3f : 1.0f);
        for (int w = 0; w < 2; w++) {
            p[w][i] = (float)((i % 23) - 11) * 0.05f;
            s1[w][i] = s2[w][i] = s3[w][i] = 0.0f;
        }
    }
}

static void same(const char *what, long n)
{
    if (memcmp(p[0], p[1], sizeof p[0]) || memcmp(s1[0], s1[1], sizeof s1[0])
        || memcmp(s2[0], s2[1], sizeof s2[0]) || memcmp(s3[0], s3[1], sizeof s3[0])) {
        fails++;
        printf("%s n=%ld differs\n", what, n);
    }
}

int main(void)
{
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")
        || !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl")) {
        printf("no avx512\n");
        return 0;
    }
    static const long sizes[] = {0, 1, 15, 16, 17, 64, 1000, 4099};
    for (unsigned k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        long n = sizes[k];
        for (int opt = 0; opt < 6; opt++) {
            reset(7u + (unsigned)(opt * 31 + n));
            for (int64_t step = 1; step <= 4; step++) {
                switch (opt) {
                case 0: case 1:   /* Adam (L2 weight decay) and AdamW (decoupled) */
                    fl_adam_f32_avx512(n, p[0], g, s1[0], s2[0], 1e-3, 0.9, 0.999, 1e-8, 0.01, step, opt);
                    fl_adam_f32_avx512w(n, p[1], g, s1[1], s2[1], 1e-3, 0.9, 0.999, 1e-8, 0.01, step, opt);
                    break;
                case 2:           /* RMSprop, plain */
                    fl_rmsprop_f32_avx512(n, p[0], g, s1[0], NULL, NULL, 1e-2, 0.99, 1e-8, 0.0, 0.0);
                    fl_rmsprop_f32_avx512w(n, p[1], g, s1[1], NULL, NULL, 1e-2, 0.99, 1e-8, 0.0, 0.0);
                    break;
                case 3:           /* RMSprop with momentum, centered, weight decay */
                    fl_rmsprop_f32_avx512(n, p[0], g, s1[0], s2[0], s3[0], 1e-2, 0.9, 1e-6, 0.1, 0.9);
                    fl_rmsprop_f32_avx512w(n, p[1], g, s1[1], s2[1], s3[1], 1e-2, 0.9, 1e-6, 0.1, 0.9);
                    break;
                default:          /* Adagrad, with and without lr decay and weight decay */
                    fl_adagrad_f32_avx512(n, p[0], g, s1[0], 0.1, opt == 5 ? 0.01 : 0.0, 1e-10, opt == 5 ? 0.1 : 0.0, step);
                    fl_adagrad_f32_avx512w(n, p[1], g, s1[1], 0.1, opt == 5 ? 0.01 : 0.0, 1e-10, opt == 5 ? 0.1 : 0.0, step);
                }
            }
            same(opt < 2 ? "adam" : opt < 4 ? "rmsprop" : "adagrad", n);
        }
    }
    printf("fails=%ld\n", fails);
    return fails != 0;
}
"""


def test_full_width_updates_are_the_same_bits_as_the_256_bit_ones(run_c_driver):
    run = run_c_driver(DRIVER)
    if "no avx512" in run.stdout:
        pytest.skip("this CPU has no AVX-512 to run both builds")
    assert run.returncode == 0 and "fails=0" in run.stdout, run.stdout[-3000:]
