/* Elementwise math that the compiler can vectorize.
 *
 * glibc's expf is only vectorized by gcc under -ffast-math, which fastlin never uses. fl_expf is
 * a branch-free Cephes-style exp: round x/ln2 with the 1.5*2^23 trick (no SSE4.1 needed), a
 * two-constant Cody-Waite reduction, a degree-6 polynomial on [-ln2/2, ln2/2] and 2^n built from
 * the exponent bits. The input is clamped to [-87.3, 88.37], so exp underflows to ~1e-38 instead
 * of 0 and saturates near FLT_MAX instead of inf: the callers (sigmoid, softmax) only ever divide
 * by 1 + exp or normalise, where that difference is below float resolution. Max error ~2 ulp.
 */
#ifndef FL_MATH_H
#define FL_MATH_H

#include <math.h>
#include <string.h>
#include "fl_common.h"

FL_INLINE float fl_expf(float x)
{
    const float hi = 88.3762626647949f, lo = -87.3365447504f;
    x = x > hi ? hi : x;
    x = x < lo ? lo : x;
    const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float t = x * 1.44269504088896341f + magic;
    float n = t - magic;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

FL_INLINE double fl_exp(double x) { return exp(x); }

/* log(1 + exp(x)) without overflow for large x and without losing precision for very negative x. */
FL_INLINE double fl_log1pexp(double x)
{
    return (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x)));
}

#endif
