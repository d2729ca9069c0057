/* Elementwise math that the compiler can vectorize.
 *
 * glibc's expf is only vectorized by gcc under -ffast-math, which fastlin never uses. fl_expf is
 * a branch-free Cephes-style exp: round x/ln2 with the 1.5*2^23 trick (no SSE4.1 needed), a
 * two-constant Cody-Waite reduction, a degree-6 polynomial on [-ln2/2, ln2/2] and 2^n built from
 * the exponent bits of a clamped argument; outside [-87.3, 88.37] the result is selected to 0 or
 * inf (a blend, not a branch), skipping float denormals; NaN gives NaN. Max error ~2 ulp.
 */
#ifndef FL_MATH_H
#define FL_MATH_H

#include <math.h>
#include <string.h>
#include "fl_common.h"

FL_INLINE float fl_expf(float xin)
{
    const float hi = 88.3762626647949f, lo = -87.3365447504f;
    float x = xin > hi ? hi : xin;
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
    /* 2^n from the bits of t, which are 0x4B400000 + n after the magic add (|n| < 2^22): no
     * float -> int conversion, and unsigned arithmetic, so no input is undefined behaviour. The
     * conversion (int32_t)n that this replaces was undefined for NaN (which the clamps keep):
     * x86 gives INT_MIN, which was then shifted as a negative int (UBSan reported both). For NaN
     * the scale is some float and y is NaN anyway. Bitwise the same results as before for every
     * other float (checked exhaustively, baseline and AVX2 builds), and no slower. */
    uint32_t tbits;
    memcpy(&tbits, &t, sizeof tbits);
    const uint32_t bits = (tbits - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    y = y * scale;
    y = xin < lo ? 0.0f : y;
    return xin > hi ? (float)INFINITY : y;
}

/* tanh as a rational minimax approximation x P(x^2) / Q(x^2) on [-7.905, 7.905] (beyond which
 * float tanh is +-1), the form Eigen uses for float: one division and no exp, so it vectorizes
 * and costs about half of 1 - 2 / (exp(2x) + 1). Max relative error 2.8e-7 (measured against
 * double tanh on a 1e-5 grid over [-20, 20]); below |x| = 4e-4 tanh(x) rounds to x itself. */
FL_INLINE float fl_tanhf(float x)
{
    const float clamp = 7.90531110763549805f;
    float xc = x > clamp ? clamp : x;
    xc = xc < -clamp ? -clamp : xc;
    const float x2 = xc * xc;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 - 8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * xc;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    const float r = p / q;
    return (x < 4e-4f && x > -4e-4f) ? x : r;
}

/* Runtime dispatch: kernels built for baseline x86-64, AVX2+FMA and AVX-512 (every float
 * kernel, and the double ones that a .c file builds through fl_variants.h), so a default build
 * (which must run on any x86-64, hence no -march) still uses the vector units the CPU has.
 * AVX-512 pays even at 256-bit width: 32 vector registers hold exp's and tanh's constants
 * and mask registers do the selects (sigmoid 4096 x 256: 567 -> 380 us on this Zen 4).
 * FASTLIN_SIMD=base|avx2 in the environment caps the level, and FASTLIN_SIMD=avx512 keeps the
 * AVX-512 level without its 512-bit variants (the tests run every variant that way). FL_HAVE_DISPATCH is 0 elsewhere and the baseline kernels are the only ones. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(FL_NO_DISPATCH)
#define FL_HAVE_DISPATCH 1
#include <stdlib.h>
FL_INLINE int fl_cpu_level(void)
{
    static int cached = -1;
    if (cached < 0) {
        int level = 0;
        const char *cap = getenv("FASTLIN_SIMD");
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
            level = 1;
            if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
                && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw"))
                level = 2;
        }
        if (cap && strcmp(cap, "base") == 0) level = 0;
        if (cap && strcmp(cap, "avx2") == 0 && level > 1) level = 1;
        cached = level;
    }
    return cached;
}
/* Call name##prec##_avx512, _avx2 or _base (prec: _f32 or _f64, spelled out), whichever this
 * CPU runs best. */
#define FL_DISPATCH_AS(name, prec, args)                                                          \
    (fl_cpu_level() == 2 ? name##prec##_avx512 args                                              \
                         : fl_cpu_level() == 1 ? name##prec##_avx2 args : name##prec##_base args)
#include <cpuid.h>
/* 1 where the AVX-512 units are 512 bits wide throughout and 512-bit vectors cost no more than
 * 256-bit ones: AMD family 0x1A (Zen 5) and later, at the AVX-512 level. A Zen 4 runs 512-bit
 * instructions as two 256-bit halves, and Intel's cores may lower their clock for them. The
 * kernels bound by division, square root or a long polynomial have a variant built for 512-bit
 * vectors (suffix _avx512w) that these CPUs take; every element is the same operations in the
 * same order at either width, so the results are the same bits. */
FL_INLINE int fl_full_width_avx512(void)
{
    static int cached = -1;
    if (cached < 0) {
        unsigned a, b, c, d, family = 0;
        int amd = 0;
        if (__get_cpuid(0, &a, &b, &c, &d))
            amd = b == 0x68747541u && d == 0x69746e65u && c == 0x444d4163u; /* AuthenticAMD */
        if (__get_cpuid(1, &a, &b, &c, &d)) {
            family = (a >> 8) & 0xf;
            if (family == 0xf) family += (a >> 20) & 0xff;
        }
        const char *cap = getenv("FASTLIN_SIMD"); /* "avx512": the 256-bit kernels only */
        cached = fl_cpu_level() == 2 && amd && family >= 0x1a && !(cap && strcmp(cap, "avx512") == 0);
    }
    return cached;
}
#define FL_DISPATCH_WIDE_AS(name, prec, args)                                                     \
    (fl_full_width_avx512() ? name##prec##_avx512w args : FL_DISPATCH_AS(name, prec, args))
#else
#define FL_HAVE_DISPATCH 0
#define FL_DISPATCH_AS(name, prec, args) (name##prec##_base args)
#define FL_DISPATCH_WIDE_AS(name, prec, args) FL_DISPATCH_AS(name, prec, args)
#endif
#define FL_DISPATCH(name, args) FL_DISPATCH_AS(name, _f32, args)

/* Natural log for positive, finite, normal x, vectorizable (Cephes logf: split x into 2^e * m
 * with m in [sqrt(1/2), sqrt(2)), degree-8 polynomial for log(m)). Max error ~1 ulp. Any other x
 * gives a finite number that means nothing: use fl_logf unless x is known to be in range. */
FL_INLINE float fl_logf_normal_(float x)
{
    int32_t bits;
    memcpy(&bits, &x, sizeof bits);
    float e = (float)(((bits >> 23) & 0xff) - 126);
    int32_t mbits = (bits & 0x007fffff) | 0x3f000000; /* mantissa scaled into [0.5, 1) */
    float m;
    memcpy(&m, &mbits, sizeof m);
    const int small = m < 0.707106781186547524f;
    e = small ? e - 1.0f : e;
    m = small ? m + m - 1.0f : m - 1.0f;
    const float z = m * m;
    float y = 7.0376836292e-2f;
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    y += -2.12194440e-4f * e;
    y += -0.5f * z;
    return m + y + 0.693359375f * e;
}

/* fl_logf_normal_ for x >= FLT_MIN, and also for NaN and +inf, which come back as themselves (one
 * select, so loops over it stay vectorized and cost about the same). The callers take the log of
 * a softmax denominator: >= 1, unless a NaN reached the row, which the polynomial alone turned
 * into ~88 (a finite log-softmax for a NaN row). 0, negative and subnormal x stay outside. */
FL_INLINE float fl_logf(float x)
{
    const float r = fl_logf_normal_(x);
    return x < (float)INFINITY ? r : x;
}

/* log(1 + exp(x)) in float, vectorizable: max(x, 0) + log1p(exp(-|x|)), with log1p(u) taken as
 * log(1 + u) * u / ((1 + u) - 1) (Goldberg), exact to a few ulp even where 1 + u rounds to 1. */
FL_INLINE float fl_log1pexpf(float x)
{
    const float ax = x < 0.0f ? -x : x;
    const float u = fl_expf(-ax);
    const float w = 1.0f + u;
    const float d = w - 1.0f;
    /* w is in [1, 2], or NaN for a NaN x, which the product with u / d carries to the result */
    const float log1p_u = d == 0.0f ? u : fl_logf_normal_(w) * (u / (d == 0.0f ? 1.0f : d));
    return (x > 0.0f ? x : 0.0f) + log1p_u;
}

/* log(1 + exp(x)) without overflow for large x and without losing precision for very negative x. */
FL_INLINE double fl_log1pexp(double x)
{
    return (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x)));
}

/* exp in double, vectorizable (glibc's exp is not, outside -ffast-math): Cephes' exp, n = x/ln2
 * rounded with the 1.5*2^52 trick (no SSE4.1 needed), a two-constant Cody-Waite reduction to
 * |r| <= ln2/2, the rational approximation 1 + 2 r P(r²) / (Q(r²) - r P(r²)), and 2^n applied
 * as two factors 2^n1 * 2^n2 (n1 = floor(n/2)) built from exponent bits, so results down in the
 * subnormal range and up to DBL_MAX come out right without a branch. Below -745.2 the result
 * is 0, above 709.79 inf; NaN gives NaN. Max error ~1 ulp (tests/test_math_c.py). The softmax
 * losses in double (scikit-learn's float64 logistic regression) spend most of their time in
 * exp: libm's took ~5 ns an element, scalar. */
FL_INLINE double fl_exp(double xin)
{
    const double hi = 709.79, lo = -745.2, magic = 6755399441055744.0; /* 1.5 * 2^52 */
    double x = xin > hi ? hi : xin;
    x = x < lo ? lo : x;
    const double n = (x * 1.4426950408889634073599 + magic) - magic;
    double r = x - n * 6.93145751953125E-1;
    r = r - n * 1.42860682030941723212E-6;
    const double rr = r * r;
    const double px = r * ((1.26177193074810590878E-4 * rr + 3.02994407707441961300E-2) * rr
                           + 9.99999999999999999910E-1);
    const double qx = ((3.00198505138664455042E-6 * rr + 2.52448340349684104192E-3) * rr
                       + 2.27265548208155028766E-1) * rr + 2.00000000000000000009E0;
    const double y = 1.0 + 2.0 * (px / (qx - px));
    /* n1 = floor(n / 2) by the same rounding (n/2 - 1/4 is k - 1/4 or k + 1/4), n2 = n - n1;
     * each within [-539, 513], so 2^n1 and 2^n2 are normal doubles. The integers are read from
     * the bits of t = k + 1.5*2^52, which are 0x4338000000000000 + k; unsigned arithmetic, so
     * no input (NaN included) is undefined behaviour. */
    const double t1 = (n * 0.5 - 0.25) + magic;
    const double t2 = (n - (t1 - magic)) + magic;
    uint64_t b1, b2;
    memcpy(&b1, &t1, sizeof b1);
    memcpy(&b2, &t2, sizeof b2);
    b1 = (b1 - 0x4338000000000000ull + 1023u) << 52;
    b2 = (b2 - 0x4338000000000000ull + 1023u) << 52;
    double s1, s2;
    memcpy(&s1, &b1, sizeof s1);
    memcpy(&s2, &b2, sizeof s2);
    const double e = y * s1 * s2;
    return xin > hi ? (double)INFINITY : (xin < lo ? 0.0 : e);
}

/* Natural log in double for positive, finite, normal x, vectorizable; NaN and +inf come back as
 * themselves (as fl_logf). Cephes' log: x = m 2^e with m in [sqrt(1/2), sqrt(2)), then
 * log(m) = t - t²/2 + t³ P(t)/Q(t) for t = m - 1 and e ln2 added in two parts. The exponent and
 * mantissa are taken from the bits, and e converted through the 1.5*2^52 trick (AVX2 has no
 * int64 -> double conversion). Max error ~1 ulp (tests/test_math_c.py). 0, negative and
 * subnormal x stay outside: the callers take logs of values in [1, 2] or of softmax sums >= 1. */
FL_INLINE double fl_log(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    const uint64_t mbits = (bits & 0x000fffffffffffffull) | 0x3fe0000000000000ull;
    const uint64_t ebits = 0x4338000000000000ull | ((bits >> 52) & 0x7ffu);
    double m, ef;
    memcpy(&m, &mbits, sizeof m);  /* in [0.5, 1) */
    memcpy(&ef, &ebits, sizeof ef);
    double e = (ef - 6755399441055744.0) - 1022.0;
    const int low = m < 0.70710678118654752440;
    e = low ? e - 1.0 : e;
    const double t = low ? (m + m) - 1.0 : m - 1.0;
    const double z = t * t;
    const double p = ((((1.01875663804580931796E-4 * t + 4.97494994976747001425E-1) * t
                        + 4.70579119878881725854E0) * t + 1.44989225341610930846E1) * t
                      + 1.79368678507819816313E1) * t + 7.70838733755885391666E0;
    const double q = ((((t + 1.12873587189167450590E1) * t + 4.52279145837532221105E1) * t
                       + 8.29875266912776603211E1) * t + 7.11544750618563894466E1) * t
                     + 2.31251620126765340583E1;
    double y = t * (z * p / q) - e * 2.121944400546905827679e-4;
    y = y - 0.5 * z;
    const double r = (t + y) + e * 0.693359375;
    return x < (double)INFINITY ? r : x;
}

#endif
