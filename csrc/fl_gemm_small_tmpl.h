/* Body of fl_gemm_small.c, included once per precision and SIMD level with FL_REAL and
 * FL_SUFFIX set. GCC's vector extension spells the register blocking out: the
 * auto-vectorizer keeps an output row in memory between multiply-adds, which made a 16^3
 * product 2.5x slower than BLAS instead of faster. */
#define FL_FN(name) FL_CONCAT(name, FL_SUFFIX)
#define FL_VL (32 / (int)sizeof(FL_REAL))   /* lanes of one 32-byte vector */

typedef FL_REAL FL_FN(fl_vec_) __attribute__((vector_size(32)));
#define FL_VEC FL_FN(fl_vec_)

FL_INLINE FL_VEC FL_FN(fl_load_)(const FL_REAL *p)
{
    FL_VEC v;
    memcpy(&v, p, sizeof v);
    return v;
}

FL_INLINE FL_REAL FL_FN(fl_hsum_)(FL_VEC v)
{
    FL_REAL x[8] = {0};
    memcpy(x, &v, sizeof v);
    return ((x[0] + x[1]) + (x[2] + x[3])) + ((x[4] + x[5]) + (x[6] + x[7]));
}

/* c[i] = a[i, :] . bv, a not transposed: partial sums along p in vector lanes, four rows at
 * a time so four chains of multiply-adds are in flight. */
static void FL_FN(fl_gemm_small_dots_)(fl_index m, fl_index k, FL_REAL alpha,
                                       const FL_REAL *FL_RESTRICT a, fl_index lda,
                                       const FL_REAL *FL_RESTRICT bv, FL_REAL *FL_RESTRICT c,
                                       fl_index ldc)
{
    const fl_index kv = k - k % FL_VL;
    fl_index i = 0;
    for (; i + 4 <= m; i += 4) {
        const FL_REAL *a0 = a + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
        FL_VEC s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
        for (fl_index p = 0; p < kv; p += FL_VL) {
            const FL_VEC b = FL_FN(fl_load_)(bv + p);
            s0 += FL_FN(fl_load_)(a0 + p) * b;
            s1 += FL_FN(fl_load_)(a1 + p) * b;
            s2 += FL_FN(fl_load_)(a2 + p) * b;
            s3 += FL_FN(fl_load_)(a3 + p) * b;
        }
        FL_REAL r0 = FL_FN(fl_hsum_)(s0), r1 = FL_FN(fl_hsum_)(s1);
        FL_REAL r2 = FL_FN(fl_hsum_)(s2), r3 = FL_FN(fl_hsum_)(s3);
        for (fl_index p = kv; p < k; ++p) {
            r0 += a0[p] * bv[p];
            r1 += a1[p] * bv[p];
            r2 += a2[p] * bv[p];
            r3 += a3[p] * bv[p];
        }
        c[i * ldc] = alpha * r0;
        c[(i + 1) * ldc] = alpha * r1;
        c[(i + 2) * ldc] = alpha * r2;
        c[(i + 3) * ldc] = alpha * r3;
    }
    for (; i < m; ++i) {
        const FL_REAL *ai = a + i * lda;
        FL_VEC s = {0};
        for (fl_index p = 0; p < kv; p += FL_VL) s += FL_FN(fl_load_)(ai + p) * FL_FN(fl_load_)(bv + p);
        FL_REAL r = FL_FN(fl_hsum_)(s);
        for (fl_index p = kv; p < k; ++p) r += ai[p] * bv[p];
        c[i * ldc] = alpha * r;
    }
}

/* c[i] = sum_p a[p, i] * bv[p * incb], a transposed: row p of a is contiguous along i, so the
 * output is accumulated four vectors of rows at a time in registers. */
static void FL_FN(fl_gemm_small_axpys_)(fl_index m, fl_index k, FL_REAL alpha,
                                        const FL_REAL *FL_RESTRICT a, fl_index lda,
                                        const FL_REAL *FL_RESTRICT bv, fl_index incb,
                                        FL_REAL *FL_RESTRICT c, fl_index ldc)
{
    fl_index i = 0;
    for (; i + 4 * FL_VL <= m; i += 4 * FL_VL) {
        /* even and odd p in separate sums: eight chains of multiply-adds in flight */
        FL_VEC s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, t0 = {0}, t1 = {0}, t2 = {0}, t3 = {0};
        fl_index p = 0;
        for (; p + 2 <= k; p += 2) {
            const FL_REAL *ap = a + p * lda + i, *aq = ap + lda;
            const FL_REAL b = bv[p * incb], bq = bv[(p + 1) * incb];
            s0 += FL_FN(fl_load_)(ap) * b;
            s1 += FL_FN(fl_load_)(ap + FL_VL) * b;
            s2 += FL_FN(fl_load_)(ap + 2 * FL_VL) * b;
            s3 += FL_FN(fl_load_)(ap + 3 * FL_VL) * b;
            t0 += FL_FN(fl_load_)(aq) * bq;
            t1 += FL_FN(fl_load_)(aq + FL_VL) * bq;
            t2 += FL_FN(fl_load_)(aq + 2 * FL_VL) * bq;
            t3 += FL_FN(fl_load_)(aq + 3 * FL_VL) * bq;
        }
        for (; p < k; ++p) {
            const FL_REAL *ap = a + p * lda + i;
            const FL_REAL b = bv[p * incb];
            s0 += FL_FN(fl_load_)(ap) * b;
            s1 += FL_FN(fl_load_)(ap + FL_VL) * b;
            s2 += FL_FN(fl_load_)(ap + 2 * FL_VL) * b;
            s3 += FL_FN(fl_load_)(ap + 3 * FL_VL) * b;
        }
        s0 += t0; s1 += t1; s2 += t2; s3 += t3;
        FL_REAL x[4 * 8];
        s0 *= alpha; s1 *= alpha; s2 *= alpha; s3 *= alpha;
        if (ldc == 1) {
            memcpy(c + i, &s0, sizeof s0);
            memcpy(c + i + FL_VL, &s1, sizeof s1);
            memcpy(c + i + 2 * FL_VL, &s2, sizeof s2);
            memcpy(c + i + 3 * FL_VL, &s3, sizeof s3);
            continue;
        }
        memcpy(x, &s0, sizeof s0);
        memcpy(x + FL_VL, &s1, sizeof s1);
        memcpy(x + 2 * FL_VL, &s2, sizeof s2);
        memcpy(x + 3 * FL_VL, &s3, sizeof s3);
        for (int l = 0; l < 4 * FL_VL; ++l) c[(i + l) * ldc] = x[l];
    }
    for (; i + FL_VL <= m; i += FL_VL) {
        FL_VEC s = {0};
        for (fl_index p = 0; p < k; ++p) s += FL_FN(fl_load_)(a + p * lda + i) * bv[p * incb];
        FL_REAL x[8];
        s *= alpha;
        memcpy(x, &s, sizeof s);
        for (int l = 0; l < FL_VL; ++l) c[(i + l) * ldc] = x[l];
    }
    for (; i < m; ++i) {
        FL_REAL r = 0;
        for (fl_index p = 0; p < k; ++p) r += a[p * lda + i] * bv[p * incb];
        c[i * ldc] = alpha * r;
    }
}

/* Rows i..i+MR of c (MR = 4 or 1) from op(b) packed as bt (k rows of np columns, np a
 * multiple of FL_VL, zero beyond n): two vectors of columns at a time in registers, then the
 * last columns one vector at a time, the final partial vector through a scratch row. */
#define FL_SMALL_ROWS(MR)                                                                         \
    {                                                                                            \
        fl_index j = 0;                                                                          \
        for (; j + 2 * FL_VL <= n; j += 2 * FL_VL) {                                             \
            FL_VEC acc[MR][2];                                                                   \
            for (int q = 0; q < MR; ++q) acc[q][0] = acc[q][1] = (FL_VEC){0};                    \
            for (fl_index p = 0; p < k; ++p) {                                                   \
                const FL_VEC b0 = FL_FN(fl_load_)(bt + p * np + j);                              \
                const FL_VEC b1 = FL_FN(fl_load_)(bt + p * np + j + FL_VL);                      \
                for (int q = 0; q < MR; ++q) {                                                   \
                    const FL_REAL aq = trans_a ? a[p * lda + i + q] : a[(i + q) * lda + p];      \
                    acc[q][0] += aq * b0;                                                        \
                    acc[q][1] += aq * b1;                                                        \
                }                                                                                \
            }                                                                                    \
            for (int q = 0; q < MR; ++q) {                                                       \
                if (alpha != 1) {                                                                \
                    acc[q][0] *= alpha;                                                          \
                    acc[q][1] *= alpha;                                                          \
                }                                                                                \
                memcpy(c + (i + q) * ldc + j, &acc[q][0], sizeof(FL_VEC));                       \
                memcpy(c + (i + q) * ldc + j + FL_VL, &acc[q][1], sizeof(FL_VEC));               \
            }                                                                                    \
        }                                                                                        \
        for (; j < n; j += FL_VL) {                                                              \
            /* even and odd p in separate sums: twice the chains in flight for one vector */     \
            FL_VEC acc[MR], odd[MR];                                                             \
            for (int q = 0; q < MR; ++q) acc[q] = odd[q] = (FL_VEC){0};                          \
            fl_index p = 0;                                                                      \
            for (; p + 2 <= k; p += 2) {                                                         \
                const FL_VEC b0 = FL_FN(fl_load_)(bt + p * np + j);                              \
                const FL_VEC b1 = FL_FN(fl_load_)(bt + (p + 1) * np + j);                        \
                for (int q = 0; q < MR; ++q) {                                                   \
                    acc[q] += (trans_a ? a[p * lda + i + q] : a[(i + q) * lda + p]) * b0;        \
                    odd[q] += (trans_a ? a[(p + 1) * lda + i + q] : a[(i + q) * lda + p + 1])    \
                              * b1;                                                              \
                }                                                                                \
            }                                                                                    \
            for (; p < k; ++p) {                                                                 \
                const FL_VEC b0 = FL_FN(fl_load_)(bt + p * np + j);                              \
                for (int q = 0; q < MR; ++q)                                                     \
                    acc[q] += (trans_a ? a[p * lda + i + q] : a[(i + q) * lda + p]) * b0;        \
            }                                                                                    \
            for (int q = 0; q < MR; ++q) acc[q] += odd[q];                                       \
            const fl_index cols = n - j < FL_VL ? n - j : FL_VL;                                 \
            for (int q = 0; q < MR; ++q) {                                                       \
                FL_REAL row[8];                                                                  \
                if (alpha != 1) acc[q] *= alpha;                                                 \
                if (cols == FL_VL) {                                                             \
                    memcpy(c + (i + q) * ldc + j, &acc[q], sizeof(FL_VEC));                      \
                    continue;                                                                    \
                }                                                                                \
                memcpy(row, &acc[q], sizeof(FL_VEC));                                            \
                for (fl_index l = 0; l < cols; ++l) c[(i + q) * ldc + j + l] = row[l];           \
            }                                                                                    \
        }                                                                                        \
    }

int FL_FN(fl_gemm_small)(int trans_a, int trans_b, fl_index m, fl_index n, fl_index k,
                          FL_REAL alpha, const FL_REAL *FL_RESTRICT a, fl_index lda,
                          const FL_REAL *FL_RESTRICT b, fl_index ldb, FL_REAL *FL_RESTRICT c,
                          fl_index ldc)
{
    const fl_index np = (n + FL_VL - 1) / FL_VL * FL_VL;
    if (m < 0 || n < 0 || k < 0 || (n == 1 ? k : k * np) > FL_GEMM_SMALL_PACK)
        return -1;
    if (m == 0 || n == 0)      /* c is empty; and bt below must not be a zero-length array */
        return 0;
    if (k == 0) {
        for (fl_index i = 0; i < m; ++i)
            for (fl_index j = 0; j < n; ++j) c[i * ldc + j] = 0;
        return 0;
    }
    if (n == 1) {              /* op(b) is one column: b[p * ldb], or b[p] when transposed */
        const fl_index incb = trans_b ? 1 : ldb;
        if (trans_a) {
            FL_FN(fl_gemm_small_axpys_)(m, k, alpha, a, lda, b, incb, c, ldc);
        } else if (incb == 1) {
            FL_FN(fl_gemm_small_dots_)(m, k, alpha, a, lda, b, c, ldc);
        } else {
            FL_REAL col[k];
            for (fl_index p = 0; p < k; ++p) col[p] = b[p * incb];
            FL_FN(fl_gemm_small_dots_)(m, k, alpha, a, lda, col, c, ldc);
        }
        return 0;
    }
    /* op(b) packed row-major, each row padded with zeros to np columns */
    FL_REAL bt[k * np];
    for (fl_index p = 0; p < k; ++p) {
        FL_REAL *row = bt + p * np;
        if (trans_b)
            for (fl_index j = 0; j < n; ++j) row[j] = b[j * ldb + p];
        else
            memcpy(row, b + p * ldb, (size_t)n * sizeof(FL_REAL));
        for (fl_index j = n; j < np; ++j) row[j] = 0;
    }
    fl_index i = 0;
    for (; i + 4 <= m; i += 4) {
        FL_SMALL_ROWS(4)
    }
    for (; i < m; ++i) {
        FL_SMALL_ROWS(1)
    }
    return 0;
}

#undef FL_SMALL_ROWS
#undef FL_VEC
#undef FL_VL
#undef FL_FN
