/* Elementwise activations, forward and backward, over row-major blocks of rows.
 *
 * Forward:  y = act(x + bias), bias of length m or NULL; if z is not NULL it receives x + bias
 *           (the pre-activation that abs and prelu need for their backward pass). x may alias
 *           y or z: the Dense layer runs this in place on its GEMM output.
 * Backward: gx = gy * act'(.), from the pre-activation x when given, else from the output y
 *           (sigmoid and tanh only need y; relu and leaky_relu with alpha > 0 can use either).
 *           prelu accumulates d loss / d alpha into dalpha (length m when alpha_per_unit, else
 *           1); dalpha must be zeroed by the caller and may be NULL. gx may alias gy.
 * alpha:    leaky_relu's slope is alpha[0]; prelu's slopes are alpha[j] or alpha[0].
 */
#ifndef FL_ACTIVATION_H
#define FL_ACTIVATION_H
#include "fl_common.h"

void fl_act_forward_f32(fl_index n, fl_index m, const float *x, const float *bias, int act,
                        const float *alpha, int alpha_per_unit, float *z, float *y);
void fl_act_forward_f64(fl_index n, fl_index m, const double *x, const double *bias, int act,
                        const double *alpha, int alpha_per_unit, double *z, double *y);
void fl_act_backward_f32(fl_index n, fl_index m, const float *gy, const float *x, const float *y,
                         int act, const float *alpha, int alpha_per_unit, float *gx, float *dalpha);
void fl_act_backward_f64(fl_index n, fl_index m, const double *gy, const double *x, const double *y,
                         int act, const double *alpha, int alpha_per_unit, double *gx, double *dalpha);
/* db[j] = sum_i g[i, j], rows summed in order so the result does not depend on threading. */
void fl_column_sum_f32(fl_index n, fl_index m, const float *g, float *db);
void fl_column_sum_f64(fl_index n, fl_index m, const double *g, double *db);
#endif
