/* Softmax and fused loss kernels in float and double; see fl_loss.h for the contract.
 * Both precisions are built per SIMD level (baseline, AVX2+FMA, AVX-512; fl_variants.h) behind
 * dispatchers: the double ones serve scikit-learn's float64 logistic regression, whose exp and
 * log (fl_exp, fl_log) vectorize 4 or 8 wide there and only 2 wide in a baseline build. */
#include "fl_loss.h"
#include "fl_math.h"

#define FL_REAL float
#define FL_EXP fl_expf
#define FL_LOG fl_logf
#define FL_LOG1PEXP fl_log1pexpf
#define FL_TEMPLATE "fl_loss_tmpl.h"
#include "fl_float_variants.h"
#undef FL_TEMPLATE
#undef FL_REAL
#undef FL_EXP
#undef FL_LOG
#undef FL_LOG1PEXP

/* The public functions of one precision T (suffix P): each calls the variant this CPU runs
 * best, as DISPATCH (FL_DISPATCH_AS or FL_DISPATCH_WIDE_AS, fl_math.h) picks it. */
#define FL_LOSS_PUBLIC(T, P, DISPATCH)                                                             \
    void fl_softmax_rows##P(fl_index n, fl_index m, const T *x, T *y, int log_output)              \
    {                                                                                              \
        DISPATCH(fl_softmax_rows, P, (n, m, x, y, log_output));                                    \
    }                                                                                              \
    fl_index fl_label_weight_total##P(fl_index n, fl_index m, const int64_t *labels, const T *sw,  \
                                      const T *cw, double *total)                                  \
    {                                                                                              \
        return DISPATCH(fl_label_weight_total, P, (n, m, labels, sw, cw, total));                  \
    }                                                                                              \
    double fl_softmax_xent_labels##P(fl_index n, fl_index m, const T *z, const int64_t *labels,    \
                                     const T *sw, const T *cw, double smoothing, double scale,     \
                                     T *g)                                                         \
    {                                                                                              \
        return DISPATCH(fl_softmax_xent_labels, P,                                                 \
                              (n, m, z, labels, sw, cw, smoothing, scale, g));                     \
    }                                                                                              \
    double fl_softmax_xent_probs##P(fl_index n, fl_index m, const T *z, const T *q, const T *sw,   \
                                    const T *cw, double smoothing, double scale, T *g)             \
    {                                                                                              \
        return DISPATCH(fl_softmax_xent_probs, P, (n, m, z, q, sw, cw, smoothing, scale, g));      \
    }                                                                                              \
    double fl_sigmoid_bce##P(fl_index n, fl_index m, const T *z, const T *t, const T *sw,          \
                             const T *pw, double scale, T *g)                                      \
    {                                                                                              \
        return DISPATCH(fl_sigmoid_bce, P, (n, m, z, t, sw, pw, scale, g));                        \
    }                                                                                              \
    double fl_mse##P(fl_index n, fl_index m, const T *p, const T *t, const T *sw, double scale,    \
                     T *g)                                                                         \
    {                                                                                              \
        return DISPATCH(fl_mse, P, (n, m, p, t, sw, scale, g));                                    \
    }                                                                                              \
    double fl_robust##P(fl_index n, fl_index m, const T *p, const T *t, const T *sw, int huber,    \
                        double beta, double scale, T *g)                                           \
    {                                                                                              \
        return DISPATCH(fl_robust, P, (n, m, p, t, sw, huber, beta, scale, g));                    \
    }

FL_LOSS_PUBLIC(float, _f32, FL_DISPATCH_AS)

#define FL_REAL double
#define FL_EXP fl_exp
#define FL_LOG fl_log
#define FL_LOG1PEXP fl_log1pexp
#define FL_TEMPLATE "fl_loss_tmpl.h"
/* no fused multiply-adds in double: every SIMD level then gives the baseline build's bits (the
 * same operations in the same order), so a float64 fit does not depend on the CPU, and a loss
 * that is exactly 0 (one class, say) stays 0, as in the NumPy twin */
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#define FL_VARIANTS_OF _f64
#include "fl_variants.h"
/* once more with 512-bit vectors for full-width AVX-512: the double exp's division sets the
 * pace, and a Zen 5 divides 8 doubles as fast as 4 (1437 x 10: 2.3 -> 1.65 ns an element;
 * 16,000 x 5: 2.85 -> 2.25) */
#include "fl_wide_variant.h"
#undef FL_VARIANTS_OF
#pragma GCC pop_options
#undef FL_TEMPLATE

FL_LOSS_PUBLIC(double, _f64, FL_DISPATCH_WIDE_AS)
