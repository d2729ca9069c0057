/* Optimizer updates on flat parameter arrays, in place, following torch.optim exactly.
 *
 * SGD (dampening 0): d = g + wd p;  if momentum: buf = momentum buf + d,
 *                    d = nesterov ? d + momentum buf : buf;  p -= lr d.
 *                    buf starts at zero, which equals torch's buf = d on the first step.
 * Adam:  decoupled (AdamW): p *= 1 - lr wd;  else g = g + wd p.
 *        m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *        p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps),  bc_k = 1 - b_k^step.
 * RMSprop: g = g + wd p;  sq = alpha sq + (1-alpha) g^2;  centered (gavg not NULL):
 *        gavg = gavg + (1-alpha)(g - gavg), avg = sqrt(sq - gavg^2) + eps, else sqrt(sq) + eps;
 *        momentum (buf not NULL): buf = momentum buf + g / avg, p -= lr buf;  else p -= lr g / avg.
 * Adagrad: g = g + wd p;  sum += g^2;  p -= lr / (1 + (step-1) lr_decay) * g / (sqrt(sum) + eps).
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
void fl_rmsprop_f32(fl_index n, float *p, const float *g, float *sq, float *buf, float *gavg,
                    double lr, double alpha, double eps, double weight_decay, double momentum);
void fl_rmsprop_f64(fl_index n, double *p, const double *g, double *sq, double *buf,
                    double *gavg, double lr, double alpha, double eps, double weight_decay,
                    double momentum);
void fl_adagrad_f32(fl_index n, float *p, const float *g, float *sum, double lr, double lr_decay,
                    double eps, double weight_decay, int64_t step);
void fl_adagrad_f64(fl_index n, double *p, const double *g, double *sum, double lr,
                    double lr_decay, double eps, double weight_decay, int64_t step);
#endif
