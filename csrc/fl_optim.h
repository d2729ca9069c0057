/* Optimizer updates on flat parameter arrays, in place, following torch.optim exactly.
 *
 * SGD (dampening 0): d = g + wd p;  if momentum: buf = momentum buf + d,
 *                    d = nesterov ? d + momentum buf : buf;  p -= lr d.
 *                    buf starts at zero, which equals torch's buf = d on the first step.
 * Adam:  decoupled (AdamW): p *= 1 - lr wd;  else g = g + wd p.
 *        m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *        p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps),  bc_k = 1 - b_k^step.
 * The scalar coefficients are computed in double by the caller-facing wrappers. */
#ifndef FL_OPTIM_H
#define FL_OPTIM_H
#include "fl_common.h"

void fl_sgd_f32(fl_index n, float *p, const float *g, float *buf, double lr, double momentum,
                double weight_decay, int nesterov);
void fl_sgd_f64(fl_index n, double *p, const double *g, double *buf, double lr, double momentum,
                double weight_decay, int nesterov);
void fl_adam_f32(fl_index n, float *p, const float *g, float *m, float *v, double lr, double beta1,
                 double beta2, double eps, double weight_decay, int64_t step, int decoupled);
void fl_adam_f64(fl_index n, double *p, const double *g, double *m, double *v, double lr,
                 double beta1, double beta2, double eps, double weight_decay, int64_t step,
                 int decoupled);
#endif
