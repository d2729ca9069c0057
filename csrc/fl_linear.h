/* One training step's forward pass, loss and gradient for a one-output linear model
 * z = X w + b (linear regression with MSE, logistic regression with BCE-with-logits) in a
 * single pass over the batch's rows.
 *
 * Why: layer by layer, a 256 x 100 batch is read three times (gathered into a buffer, then
 * X w, then X^T g) and each read of 100 KB costs ~1.4 us from L2, more from L3. The gradient
 * of a row here depends on that row alone, so rows are taken in chunks that stay in L1:
 * dot products, then the loss kernel of fl_loss.h on the chunk (the same code and semantics
 * as the layer-by-layer path), then the chunk's rows, still in L1, are added into dw. Where
 * 32 vector registers hold a row (full-width AVX-512, 16 to 112 features), linear regression
 * goes one row at a time instead, reading each row once: fl_mse's formula per row. The
 * sums run in another order than GEMV's, so results agree with the layer-by-layer path to
 * rounding, not bit for bit; they are the same on every run.
 *
 * rows: the batch's row indices into X/t/sw (NULL: rows 0..m-1); rows[m .. m + next) are the
 * next batch's first rows, asked for while this batch's last rows compute (their reads would
 * otherwise start the next step with nothing in flight). t: one target per row.
 * sw: per-row weights or NULL; pw: the BCE positive-class weight (one value) or NULL; scale:
 * 1 / the mean's denominator. Writes dw (d values) and, when db is not NULL, *db; adds to
 * *correct the rows whose sign of z matches t > 0.5 (BCE only). Returns sum_r sw_r loss_r. */
#ifndef FL_LINEAR_H
#define FL_LINEAR_H
#include "fl_common.h"

/* rows per chunk: as many as FL_LINEAR_L1_BYTES hold, a multiple of 8, from 8 to FL_LINEAR_CHUNK;
 * shuffled rows are asked for FL_LINEAR_AHEAD rows before their dot products */
#define FL_LINEAR_CHUNK 64
#define FL_LINEAR_L1_BYTES 24576
#define FL_LINEAR_AHEAD 8

#define FL_LINEAR_DECLS(T, S)                                                                     \
    double fl_linear1_step##S(fl_index m, fl_index d, const T *X, const int64_t *rows,           \
                              fl_index next,                                                     \
                              const T *w, const T *b, const T *t, const T *sw, const T *pw,      \
                              int bce, double scale, T *dw, T *db, double *correct);

FL_LINEAR_DECLS(float, _f32)
FL_LINEAR_DECLS(double, _f64)
#undef FL_LINEAR_DECLS
#endif
