/* The shuffled sample order of each training epoch.
 *
 * NumPy's Generator.permutation costs ~9 ns per element here (144 us for 16384 rows, 2.3 us of
 * every 256-row step of a linear model); this Fisher-Yates over a splitmix64 stream with
 * Lemire's unbiased bounded integers costs a fraction of that. The permutation depends only on
 * (n, seed), so the compiled and the Python training loops see the same order. */
#ifndef FL_RANDOM_H
#define FL_RANDOM_H
#include "fl_common.h"

/* out[0..n) = a uniformly random permutation of 0..n-1 drawn from seed. */
void fl_permutation(fl_index n, uint64_t seed, int64_t *out);

/* Inverted dropout of a[0..n): element i is kept when (mix64(seed + i) >> 11) >= ceil(p * 2^53),
 * a counter-based draw (each element's draw depends on (seed, i) alone), so the compiled loop,
 * the Python loop and fastlin.layers.Dropout give the same mask for the same seed.
 * mask[i] = kept ? 1 / (1 - p) : 0 (rounded to the precision), out[i] = a[i] * mask[i].
 * Requires 0 <= p < 1; out may be a. */
void fl_dropout_f32(fl_index n, uint64_t seed, double p, const float *a, float *mask, float *out);
void fl_dropout_f64(fl_index n, uint64_t seed, double p, const double *a, double *mask,
                    double *out);
#endif
