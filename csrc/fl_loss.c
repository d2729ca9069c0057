/* Softmax and fused loss kernels in float and double; see fl_loss.h for the contract.
 * The float kernels exist twice (baseline and AVX2+FMA, see fl_math.h) behind dispatchers. */
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

void fl_softmax_rows_f32(fl_index n, fl_index m, const float *x, float *y, int log_output)
{
    FL_DISPATCH(fl_softmax_rows, (n, m, x, y, log_output));
}

fl_index fl_label_weight_total_f32(fl_index n, fl_index m, const int64_t *labels, const float *sw,
                                   const float *cw, double *total)
{
    return FL_DISPATCH(fl_label_weight_total, (n, m, labels, sw, cw, total));
}

double fl_softmax_xent_labels_f32(fl_index n, fl_index m, const float *z, const int64_t *labels,
                                  const float *sw, const float *cw, double smoothing, double scale,
                                  float *g)
{
    return FL_DISPATCH(fl_softmax_xent_labels, (n, m, z, labels, sw, cw, smoothing, scale, g));
}

double fl_softmax_xent_probs_f32(fl_index n, fl_index m, const float *z, const float *q,
                                 const float *sw, const float *cw, double smoothing, double scale,
                                 float *g)
{
    return FL_DISPATCH(fl_softmax_xent_probs, (n, m, z, q, sw, cw, smoothing, scale, g));
}

double fl_sigmoid_bce_f32(fl_index n, fl_index m, const float *z, const float *t, const float *sw,
                          const float *pw, double scale, float *g)
{
    return FL_DISPATCH(fl_sigmoid_bce, (n, m, z, t, sw, pw, scale, g));
}

double fl_mse_f32(fl_index n, fl_index m, const float *p, const float *t, const float *sw,
                  double scale, float *g)
{
    return FL_DISPATCH(fl_mse, (n, m, p, t, sw, scale, g));
}

double fl_robust_f32(fl_index n, fl_index m, const float *p, const float *t, const float *sw,
                     int huber, double beta, double scale, float *g)
{
    return FL_DISPATCH(fl_robust, (n, m, p, t, sw, huber, beta, scale, g));
}

#define FL_REAL double
#define FL_SUFFIX _f64
#define FL_EXP fl_exp
#define FL_LOG fl_log
#define FL_LOG1PEXP fl_log1pexp
#include "fl_loss_tmpl.h"
