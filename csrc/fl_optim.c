/* Optimizer kernels in float and double; see fl_optim.h for the update rules.
 * The float kernels exist per SIMD level (see fl_math.h) behind dispatchers; the ones with a
 * square root or a division once more for full-width AVX-512 (below). */
#include <math.h>
#include "fl_math.h"
#include "fl_optim.h"

#if defined(_MSC_VER)
#define FL_THREAD_LOCAL __declspec(thread)
#else
#define FL_THREAD_LOCAL _Thread_local
#endif

/* Adam's bias correction 1 - beta^step. Why remembered: every tensor of a network is updated at
 * the same step, and pow cost ~20 ns a call, two calls a tensor (W3's six tensors: 720 ns of
 * updates took 950). The last two (beta, step) pairs are kept per thread, so OpenMP chunks and
 * concurrent fits never share them; pow is deterministic, so the value is the same bits either
 * way. Beyond beta^step < 2^-61, 1 - beta^step rounds to exactly 1.0, and pow would go through
 * its underflow path (errno and a slow path, 3% of a long W3 run): 1.0 is returned directly. */
static double fl_adam_bias_correction(double beta, int64_t step)
{
    static FL_THREAD_LOCAL double kept_beta[2] = {-1.0, -1.0}, kept_value[2];
    static FL_THREAD_LOCAL int64_t kept_step[2];
    static FL_THREAD_LOCAL int next;
    for (int i = 0; i < 2; ++i)
        if (kept_beta[i] == beta && kept_step[i] == step) return kept_value[i];
    const double value = beta > 0.0 && beta < 1.0 && (double)step * log2(beta) < -61.0
                             ? 1.0 : 1.0 - pow(beta, (double)step);
    kept_beta[next] = beta;
    kept_step[next] = step;
    kept_value[next] = value;
    next ^= 1;
    return value;
}

#define FL_REAL float
#define FL_SQRT sqrtf
#define FL_TEMPLATE "fl_optim_tmpl.h"
#include "fl_float_variants.h"
/* The updates once more with 512-bit vectors for full-width AVX-512. Adam's square root and
 * division dominate it, and on a Zen 5 a 512-bit vsqrtps and vdivps take no longer than 256-bit
 * ones: 5569 parameters (W3) in 0.79 instead of 1.42 us (C harness). */
#define FL_VARIANTS_OF _f32
#include "fl_wide_variant.h"
#undef FL_VARIANTS_OF
#undef FL_TEMPLATE
#define FL_DISPATCH_WIDE(name, args) FL_DISPATCH_WIDE_AS(name, _f32, args)
#undef FL_REAL
#undef FL_SQRT

void fl_sgd_f32(fl_index n, float *p, const float *g, float *buf, double lr, double momentum,
                double weight_decay, int nesterov)
{
    FL_DISPATCH(fl_sgd, (n, p, g, buf, lr, momentum, weight_decay, nesterov));
}

void fl_adam_f32(fl_index n, float *p, const float *g, float *m, float *v, double lr, double beta1,
                 double beta2, double eps, double weight_decay, int64_t step, int decoupled)
{
    FL_DISPATCH_WIDE(fl_adam, (n, p, g, m, v, lr, beta1, beta2, eps, weight_decay, step, decoupled));
}

void fl_rmsprop_f32(fl_index n, float *p, const float *g, float *sq, float *buf, float *gavg,
                    double lr, double alpha, double eps, double weight_decay, double momentum)
{
    FL_DISPATCH_WIDE(fl_rmsprop, (n, p, g, sq, buf, gavg, lr, alpha, eps, weight_decay, momentum));
}

void fl_adagrad_f32(fl_index n, float *p, const float *g, float *sum, double lr, double lr_decay,
                    double eps, double weight_decay, int64_t step)
{
    FL_DISPATCH_WIDE(fl_adagrad, (n, p, g, sum, lr, lr_decay, eps, weight_decay, step));
}

#define FL_REAL double
#define FL_SUFFIX _f64
#define FL_SQRT sqrt
#include "fl_optim_tmpl.h"
