/* Softmax and fused losses over row-major blocks: each returns the block's summed (weighted)
 * loss as a double and, when g is not NULL, writes the gradient of the *mean* loss in the same
 * pass over each row (scale is 1 / the mean's denominator, computed by the caller). The
 * softmax cross-entropy kernels need g (it doubles as the row scratch); bce and mse accept NULL.
 *
 * Rows whose maximum logit is +inf (or whose logits are all -inf) are handled as the limit of
 * the softmax: the probability mass is shared equally by the entries equal to the maximum, and
 * the loss is finite or +inf accordingly; a finite input never produces NaN.
 *
 * fl_robust is L1 / smooth L1 / Huber (see fl_loss_tmpl.h); beta is smooth L1's beta or
 * Huber's delta.
 *
 * Optional arrays (sw sample weights per row, cw class weights per column, pw positive-class
 * weights per column) are NULL when absent. Labels are int64 and must already be checked with
 * fl_label_weight_total_* (the row kernels trust them).
 */
#ifndef FL_LOSS_H
#define FL_LOSS_H
#include "fl_common.h"

#define FL_LOSS_DECLS(T, S)                                                                       \
    void fl_softmax_rows##S(fl_index n, fl_index m, const T *x, T *y, int log_output);            \
    fl_index fl_label_weight_total##S(fl_index n, fl_index m, const int64_t *labels, const T *sw,  \
                                      const T *cw, double *total);                                \
    double fl_softmax_xent_labels##S(fl_index n, fl_index m, const T *z, const int64_t *labels,    \
                                     const T *sw, const T *cw, double smoothing, double scale,     \
                                     T *g);                                                        \
    double fl_softmax_xent_probs##S(fl_index n, fl_index m, const T *z, const T *q, const T *sw,   \
                                    const T *cw, double smoothing, double scale, T *g);            \
    double fl_sigmoid_bce##S(fl_index n, fl_index m, const T *z, const T *t, const T *sw,          \
                             const T *pw, double scale, T *g);                                     \
    double fl_mse##S(fl_index n, fl_index m, const T *p, const T *t, const T *sw, double scale,    \
                     T *g);                                                                   \
    double fl_robust##S(fl_index n, fl_index m, const T *p, const T *t, const T *sw, int huber,   \
                        double beta, double scale, T *g);

FL_LOSS_DECLS(float, _f32)
FL_LOSS_DECLS(double, _f64)
#undef FL_LOSS_DECLS
#endif
