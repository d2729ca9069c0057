/* See fl_random.h. */
#include "fl_random.h"
#include "fl_math.h"

#include <math.h>

/* The splitmix64 finaliser alone: a bijective mix of a 64-bit counter. */
static inline uint64_t fl_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* splitmix64 (Steele, Lea, Flood 2014): a 64-bit state stepped by a Weyl constant and mixed;
 * passes BigCrush, and needs nothing but the seed. */
static inline uint64_t fl_splitmix64(uint64_t *state)
{
    return fl_mix64(*state += 0x9e3779b97f4a7c15ULL);
}

/* draws[0..count) = the next count values of the stream, state advanced past them: the same
 * values as count calls of fl_splitmix64, in a loop the compiler vectorizes where it can. */
static inline void fl_splitmix64_block(uint64_t *state, uint64_t *draws, int count)
{
    const uint64_t base = *state;
    for (int k = 0; k < count; ++k)
        draws[k] = fl_mix64(base + (uint64_t)(k + 1) * 0x9e3779b97f4a7c15ULL);
    *state = base + (uint64_t)count * 0x9e3779b97f4a7c15ULL;
}

/* fl_permutation_i64_base, _avx2 and _avx512 */
#define FL_TEMPLATE "fl_permutation_tmpl.h"
#define FL_VARIANTS_OF _i64
#include "fl_variants.h"
#undef FL_VARIANTS_OF
#undef FL_TEMPLATE

void fl_permutation(fl_index n, uint64_t seed, int64_t *out)
{
    FL_DISPATCH_AS(fl_permutation, _i64, (n, seed, out));
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
