/* Activation kernels in float and double; see fl_activation.h for the contract.
 * The float kernels exist twice (baseline and AVX2+FMA, see fl_math.h) behind dispatchers. */
#include "fl_activation.h"
#include "fl_math.h"

#define FL_REAL float
#define FL_EXP fl_expf
#define FL_TANHF fl_tanhf
#define FL_TEMPLATE "fl_activation_tmpl.h"
#include "fl_float_variants.h"
#undef FL_TEMPLATE
#undef FL_REAL
#undef FL_EXP
#undef FL_TANHF

void fl_act_forward_f32(fl_index n, fl_index m, const float *x, const float *bias, int act,
                        const float *alpha, int alpha_per_unit, float *z, float *y)
{
    FL_DISPATCH(fl_act_forward, (n, m, x, bias, act, alpha, alpha_per_unit, z, y));
}

void fl_act_backward_f32(fl_index n, fl_index m, const float *gy, const float *x, const float *y,
                         int act, const float *alpha, int alpha_per_unit, float *gx, float *dalpha)
{
    FL_DISPATCH(fl_act_backward, (n, m, gy, x, y, act, alpha, alpha_per_unit, gx, dalpha));
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
