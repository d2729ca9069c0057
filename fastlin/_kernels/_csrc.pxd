# The C ABI of csrc/ in one place: every kernel is noexcept nogil and takes raw pointers.
from libc.stdint cimport int32_t, int64_t, uint64_t

cdef extern from "fl_common.h":
    ctypedef Py_ssize_t fl_index
    void fl_prefetch_bytes(const void *p, size_t nbytes) noexcept nogil

cdef extern from "fl_gemm_small.h" nogil:
    enum:
        FL_GEMM_SMALL_MACS
        FL_GEMM_SMALL_ROW_MACS
        FL_GEMM_SMALL_PACK
    void fl_transpose_f32(fl_index rows, fl_index cols, const float *src, fl_index lds,
                          float *dst, fl_index ldd) noexcept
    int fl_gemm_small_f32(int trans_a, int trans_b, fl_index m, fl_index n, fl_index k,
                           float alpha, const float *a, fl_index lda, const float *b,
                           fl_index ldb, float *c, fl_index ldc) noexcept
    int fl_gemm_small_f64(int trans_a, int trans_b, fl_index m, fl_index n, fl_index k,
                           double alpha, const double *a, fl_index lda, const double *b,
                           fl_index ldb, double *c, fl_index ldc) noexcept

cdef extern from "fl_activation.h" nogil:
    void fl_act_forward_f32(fl_index n, fl_index m, const float *x, const float *bias, int act,
                            const float *alpha, int alpha_per_unit, float *z, float *y) noexcept
    void fl_act_forward_f64(fl_index n, fl_index m, const double *x, const double *bias, int act,
                            const double *alpha, int alpha_per_unit, double *z, double *y) noexcept
    void fl_act_backward_f32(fl_index n, fl_index m, const float *gy, const float *x, const float *y,
                             int act, const float *alpha, int alpha_per_unit, float *gx,
                             float *dalpha) noexcept
    void fl_act_backward_f64(fl_index n, fl_index m, const double *gy, const double *x,
                             const double *y, int act, const double *alpha, int alpha_per_unit,
                             double *gx, double *dalpha) noexcept
    void fl_column_sum_f32(fl_index n, fl_index m, const float *g, float *db) noexcept
    void fl_column_sum_f64(fl_index n, fl_index m, const double *g, double *db) noexcept

cdef extern from "fl_loss.h" nogil:
    void fl_softmax_rows_f32(fl_index n, fl_index m, const float *x, float *y, int log_output) noexcept
    void fl_softmax_rows_f64(fl_index n, fl_index m, const double *x, double *y, int log_output) noexcept
    fl_index fl_label_weight_total_f32(fl_index n, fl_index m, const int64_t *labels, const float *sw,
                                       const float *cw, double *total) noexcept
    fl_index fl_label_weight_total_f64(fl_index n, fl_index m, const int64_t *labels, const double *sw,
                                       const double *cw, double *total) noexcept
    double fl_softmax_xent_labels_f32(fl_index n, fl_index m, const float *z, const int64_t *labels,
                                      const float *sw, const float *cw, double smoothing,
                                      double scale, float *g) noexcept
    double fl_softmax_xent_labels_f64(fl_index n, fl_index m, const double *z, const int64_t *labels,
                                      const double *sw, const double *cw, double smoothing,
                                      double scale, double *g) noexcept
    double fl_softmax_xent_probs_f32(fl_index n, fl_index m, const float *z, const float *q,
                                     const float *sw, const float *cw, double smoothing,
                                     double scale, float *g) noexcept
    double fl_softmax_xent_probs_f64(fl_index n, fl_index m, const double *z, const double *q,
                                     const double *sw, const double *cw, double smoothing,
                                     double scale, double *g) noexcept
    double fl_sigmoid_bce_f32(fl_index n, fl_index m, const float *z, const float *t, const float *sw,
                              const float *pw, double scale, float *g) noexcept
    double fl_sigmoid_bce_f64(fl_index n, fl_index m, const double *z, const double *t,
                              const double *sw, const double *pw, double scale, double *g) noexcept
    double fl_mse_f32(fl_index n, fl_index m, const float *p, const float *t, const float *sw,
                      double scale, float *g) noexcept
    double fl_mse_f64(fl_index n, fl_index m, const double *p, const double *t, const double *sw,
                      double scale, double *g) noexcept
    double fl_robust_f32(fl_index n, fl_index m, const float *p, const float *t, const float *sw,
                         int huber, double beta, double scale, float *g) noexcept
    double fl_robust_f64(fl_index n, fl_index m, const double *p, const double *t,
                         const double *sw, int huber, double beta, double scale,
                         double *g) noexcept

cdef extern from "fl_optim.h" nogil:
    void fl_sgd_f32(fl_index n, float *p, const float *g, float *buf, double lr, double momentum,
                    double weight_decay, int nesterov) noexcept
    void fl_sgd_f64(fl_index n, double *p, const double *g, double *buf, double lr, double momentum,
                    double weight_decay, int nesterov) noexcept
    void fl_adam_f32(fl_index n, float *p, const float *g, float *m, float *v, double lr,
                     double beta1, double beta2, double eps, double weight_decay, int64_t step,
                     int decoupled) noexcept
    void fl_adam_f64(fl_index n, double *p, const double *g, double *m, double *v, double lr,
                     double beta1, double beta2, double eps, double weight_decay, int64_t step,
                     int decoupled) noexcept
    void fl_rmsprop_f32(fl_index n, float *p, const float *g, float *sq, float *buf, float *gavg,
                        double lr, double alpha, double eps, double weight_decay,
                        double momentum) noexcept
    void fl_rmsprop_f64(fl_index n, double *p, const double *g, double *sq, double *buf,
                        double *gavg, double lr, double alpha, double eps, double weight_decay,
                        double momentum) noexcept
    void fl_adagrad_f32(fl_index n, float *p, const float *g, float *sum, double lr,
                        double lr_decay, double eps, double weight_decay, int64_t step) noexcept
    void fl_adagrad_f64(fl_index n, double *p, const double *g, double *sum, double lr,
                        double lr_decay, double eps, double weight_decay, int64_t step) noexcept

cdef extern from "fl_random.h" nogil:
    void fl_permutation(fl_index n, uint64_t seed, int64_t *out) noexcept
    void fl_dropout_f32(fl_index n, uint64_t seed, double p, const float *a, float *mask,
                        float *out) noexcept
    void fl_dropout_f64(fl_index n, uint64_t seed, double p, const double *a, double *mask,
                        double *out) noexcept

cdef extern from "fl_linear.h" nogil:
    enum: FL_LINEAR_AHEAD
    double fl_linear1_step_f32(fl_index m, fl_index d, const float *X, const int64_t *rows,
                               fl_index next, const float *w, const float *b, const float *t,
                               const float *sw, const float *pw, int bce, double scale,
                               float *dw, float *db, double *correct) noexcept
    double fl_linear1_step_f64(fl_index m, fl_index d, const double *X, const int64_t *rows,
                               fl_index next, const double *w, const double *b, const double *t,
                               const double *sw, const double *pw, int bce, double scale,
                               double *dw, double *db, double *correct) noexcept

cdef extern from "fl_scan.h" nogil:
    int fl_indices_in_range(fl_index n, const int64_t *x, int64_t limit) noexcept
    int fl_all_finite_f32(fl_index n, const float *x) noexcept
    int fl_all_finite_f64(fl_index n, const double *x) noexcept
    int fl_all_finite_rows_f32(fl_index n_rows, fl_index d, const float *x,
                               const int64_t *rows) noexcept
    int fl_all_finite_rows_f64(fl_index n_rows, fl_index d, const double *x,
                               const int64_t *rows) noexcept

cdef extern from "fl_sparse.h" nogil:
    void fl_csr_times_dense_i32_f32(fl_index r0, fl_index r1, const float *data,
                                    const int32_t *indices, const int32_t *indptr, fl_index d,
                                    fl_index k, const float *W, float *out) noexcept
    void fl_csr_times_dense_i64_f32(fl_index r0, fl_index r1, const float *data,
                                    const int64_t *indices, const int64_t *indptr, fl_index d,
                                    fl_index k, const float *W, float *out) noexcept
    void fl_csr_times_dense_i32_f64(fl_index r0, fl_index r1, const double *data,
                                    const int32_t *indices, const int32_t *indptr, fl_index d,
                                    fl_index k, const double *W, double *out) noexcept
    void fl_csr_times_dense_i64_f64(fl_index r0, fl_index r1, const double *data,
                                    const int64_t *indices, const int64_t *indptr, fl_index d,
                                    fl_index k, const double *W, double *out) noexcept
    void fl_csr_transposed_times_dense_i32_f32(fl_index r0, fl_index r1, const float *data,
                                               const int32_t *indices, const int32_t *indptr,
                                               fl_index d, fl_index k, const float *G,
                                               float *block) noexcept
    void fl_csr_transposed_times_dense_i64_f32(fl_index r0, fl_index r1, const float *data,
                                               const int64_t *indices, const int64_t *indptr,
                                               fl_index d, fl_index k, const float *G,
                                               float *block) noexcept
    void fl_csr_transposed_times_dense_i32_f64(fl_index r0, fl_index r1, const double *data,
                                               const int32_t *indices, const int32_t *indptr,
                                               fl_index d, fl_index k, const double *G,
                                               double *block) noexcept
    void fl_csr_transposed_times_dense_i64_f64(fl_index r0, fl_index r1, const double *data,
                                               const int64_t *indices, const int64_t *indptr,
                                               fl_index d, fl_index k, const double *G,
                                               double *block) noexcept
