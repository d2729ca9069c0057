/* Activation kernels in float and double; see fl_activation.h for the contract.
 * The float kernels exist per SIMD level (see fl_math.h) behind dispatchers, the activations
 * once more for full-width AVX-512 (below). */
#include "fl_activation.h"
#include "fl_math.h"

#define FL_REAL float
#define FL_EXP fl_expf
#define FL_TANHF fl_tanhf
#define FL_TEMPLATE "fl_activation_tmpl.h"
#include "fl_float_variants.h"
/* once more with 512-bit vectors for full-width AVX-512: tanh's and the sigmoid's division sets
 * their pace, and a Zen 5 divides 16 floats as fast as 8 (4096 x 256, forward: tanh 361 -> 213
 * us, sigmoid 547 -> 253 us; NumPy's tanh 203 us) */
#define FL_VARIANTS_OF _f32
#include "fl_wide_variant.h"
#undef FL_VARIANTS_OF
#undef FL_TEMPLATE
#undef FL_REAL
#undef FL_EXP
#undef FL_TANHF

void fl_act_forward_f32(fl_index n, fl_index m, const float *x, const float *bias, int act,
                        const float *alpha, int alpha_per_unit, float *z, float *y)
{
    FL_DISPATCH_WIDE_AS(fl_act_forward, _f32, (n, m, x, bias, act, alpha, alpha_per_unit, z, y));
}

void fl_act_backward_f32(fl_index n, fl_index m, const float *gy, const float *x, const float *y,
                         int act, const float *alpha, int alpha_per_unit, float *gx, float *dalpha)
{
    FL_DISPATCH_WIDE_AS(fl_act_backward, _f32,
                        (n, m, gy, x, y, act, alpha, alpha_per_unit, gx, dalpha));
}

void fl_column_sum_f32(fl_index n, fl_index m, const float *g, float *db)
{
    FL_DISPATCH(fl_column_sum, (n, m, g, db));
}

#define FL_REAL double
#define FL_SUFFIX _f64
#define FL_EXP exp
#define FL_TANHF tanh
#include "fl_activation_tmpl.h"
