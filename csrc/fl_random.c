/* See fl_random.h. */
#include "fl_random.h"

#include <math.h>

/* splitmix64 (Steele, Lea, Flood 2014): a 64-bit state stepped by a Weyl constant and mixed;
 * passes BigCrush, and needs nothing but the seed. */
static inline uint64_t fl_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform integer in [0, range), without bias. Ranges that fit 32 bits use Lemire's
 * multiply-shift with rejection (a division only on the rare rejection path); larger ones
 * reject below 2^64 mod range and take the remainder. */
static inline uint64_t fl_bounded(uint64_t *state, uint64_t range)
{
    if (range <= 0xffffffffULL) {
        const uint32_t r = (uint32_t)range;
        uint64_t m = (fl_splitmix64(state) >> 32) * (uint64_t)r;
        uint32_t low = (uint32_t)m;
        if (low < r) {
            const uint32_t threshold = (uint32_t)(-r) % r;
            while (low < threshold) {
                m = (fl_splitmix64(state) >> 32) * (uint64_t)r;
                low = (uint32_t)m;
            }
        }
        return m >> 32;
    }
    {
        const uint64_t threshold = (0 - range) % range;
        uint64_t x = fl_splitmix64(state);
        while (x < threshold) x = fl_splitmix64(state);
        return x % range;
    }
}

void fl_permutation(fl_index n, uint64_t seed, int64_t *out)
{
    uint64_t state = seed;
    for (fl_index i = 0; i < n; ++i) out[i] = (int64_t)i;
    for (fl_index i = n - 1; i > 0; --i) {
        const fl_index j = (fl_index)fl_bounded(&state, (uint64_t)i + 1);
        const int64_t t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
}

/* The splitmix64 finaliser alone: a bijective mix of a 64-bit counter. */
static inline uint64_t fl_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#define FL_DROPOUT_BODY(REAL)                                                   \
    const REAL scale = (REAL)(1.0 / (1.0 - p));                                 \
    const uint64_t threshold = (uint64_t)ceil(p * 9007199254740992.0);         \
    for (fl_index i = 0; i < n; ++i) {                                          \
        const REAL keep = (fl_mix64(seed + (uint64_t)i) >> 11) >= threshold     \
                              ? scale : (REAL)0;                                \
        mask[i] = keep;                                                         \
        out[i] = a[i] * keep;                                                   \
    }

void fl_dropout_f32(fl_index n, uint64_t seed, double p, const float *a, float *mask, float *out)
{
    FL_DROPOUT_BODY(float)
}

void fl_dropout_f64(fl_index n, uint64_t seed, double p, const double *a, double *mask,
                    double *out)
{
    FL_DROPOUT_BODY(double)
}
