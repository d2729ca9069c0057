/* Body of fl_linear.c, included once per precision with FL_REAL, FL_SUFFIX and FL_PUBLIC (the
 * precision's public suffix, for the loss kernels) set. */
#define FL_FN(name) FL_CONCAT(name, FL_SUFFIX)
#define FL_LOSS_FN(name) FL_CONCAT(name, FL_PUBLIC)

static FL_REAL FL_FN(dot_)(fl_index d, const FL_REAL *x, const FL_REAL *w)
{
    FL_REAL acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    fl_index j = 0;
    for (; j + 8 <= d; j += 8)
        for (int l = 0; l < 8; ++l) acc[l] += x[j + l] * w[j + l];
    FL_REAL s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; j < d; ++j) s += x[j] * w[j];
    return s;
}

/* z[r] = x_r . w for c rows. With GCC's vector extension, eight rows at a time share each load
 * of w and keep eight independent chains of multiply-adds in flight, enough to cover the
 * latency of two FMA units (four rows: 1.2 instead of 1.6 us for 256 rows of 100); the
 * auto-vectorizer turns that form into shuffles, so it is spelled out.
 * The last d % 8 columns are one more vector step: the final 8 columns of the row against
 * w_tail, the final 8 of w with the lanes already counted set to zero. */
static void FL_FN(dots_)(fl_index c, fl_index d, const FL_REAL *const *xr, const FL_REAL *w,
                         FL_REAL *z)
{
    fl_index r = 0;
#if defined(__GNUC__) && !defined(FL_NO_VECTOR_EXT)
    typedef FL_REAL vec __attribute__((vector_size(8 * sizeof(FL_REAL))));
    if (d >= 8) {
        const fl_index dv = d - d % 8, rest = d % 8;
        FL_REAL wt[8];
        vec w_tail;
        for (int l = 0; l < 8; ++l) wt[l] = l < 8 - rest ? (FL_REAL)0 : w[d - 8 + l];
        memcpy(&w_tail, wt, sizeof w_tail);
#define FL_DOTS_GROUP(Q)                                                                          \
        {                                                                                        \
            vec acc[Q];                                                                          \
            for (int q = 0; q < (Q); ++q) acc[q] = (vec){0};                                     \
            for (fl_index j = 0; j < dv; j += 8) {                                               \
                vec wv;                                                                          \
                memcpy(&wv, w + j, sizeof wv);                                                   \
                for (int q = 0; q < (Q); ++q) {                                                  \
                    vec xv;                                                                      \
                    memcpy(&xv, xr[r + q] + j, sizeof xv);                                       \
                    acc[q] += xv * wv;                                                           \
                }                                                                                \
            }                                                                                    \
            for (int q = 0; q < (Q); ++q) {                                                      \
                FL_REAL a[8];                                                                    \
                if (rest) {                                                                      \
                    vec xv;                                                                      \
                    memcpy(&xv, xr[r + q] + d - 8, sizeof xv);                                   \
                    acc[q] += xv * w_tail;                                                       \
                }                                                                                \
                memcpy(a, &acc[q], sizeof a);                                                    \
                z[r + q] = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));    \
            }                                                                                    \
            r += (Q);                                                                            \
        }
        /* constant group sizes: a guard per row inside the loop over j cost more than the
         * multiply-adds it guarded */
        while (r + 4 <= c) FL_DOTS_GROUP(4)
        while (r < c) FL_DOTS_GROUP(1)
#undef FL_DOTS_GROUP
        return;
    }
#endif
    for (; r < c; ++r) z[r] = FL_FN(dot_)(d, xr[r], w);
}

/* dw[j] += g_r x_r[j] for the chunk's rows r in order. Up to eight vectors of dw stay in
 * registers while every row of the chunk, still in L1, is added in; the last d % 8 columns are
 * one more vector, the row's final 8 columns times g_r in the lanes not yet counted and 0 in
 * the others (as in dots_). Adding row by row through memory instead, each block of dw was
 * stored and loaded again per row, and the stores and reloads, not the multiply-adds, set the
 * pace; a scalar loop over the last columns was a chain of dependent multiply-adds as long as
 * the chunk. Each element is still one multiply-add per row, in row order. */
static void FL_FN(accumulate_)(fl_index c, fl_index d, const FL_REAL *const *xr,
                               const FL_REAL *g, FL_REAL *FL_RESTRICT dw)
{
    fl_index j = 0;
#if defined(__GNUC__) && !defined(FL_NO_VECTOR_EXT)
    typedef FL_REAL vec __attribute__((vector_size(8 * sizeof(FL_REAL))));
    if (d >= 8) {
        const fl_index rest = d % 8;
        vec mask;
        FL_REAL ml[8];
        for (int l = 0; l < 8; ++l) ml[l] = l < 8 - rest ? (FL_REAL)0 : (FL_REAL)1;
        memcpy(&mask, ml, sizeof mask);
        /* NV vectors of dw from column j in registers; TAIL: the last d % 8 columns as well */
#define FL_ACC_BLOCK(NV, TAIL)                                                                    \
        {                                                                                        \
            vec a[(NV) ? (NV) : 1], at;                                                          \
            for (int q = 0; q < (NV); ++q) memcpy(&a[q], dw + j + q * 8, sizeof a[q]);          \
            if (TAIL) memcpy(&at, dw + d - 8, sizeof at); /* its last `rest` lanes are kept */  \
            for (fl_index r = 0; r < c; ++r) {                                                   \
                const FL_REAL gr = g[r], *x = xr[r] + j;                                         \
                for (int q = 0; q < (NV); ++q) {                                                 \
                    vec xv;                                                                      \
                    memcpy(&xv, x + q * 8, sizeof xv);                                           \
                    a[q] += gr * xv;                                                             \
                }                                                                                \
                if (TAIL) {                                                                      \
                    vec xv;                                                                      \
                    memcpy(&xv, xr[r] + d - 8, sizeof xv);                                       \
                    at += (gr * mask) * xv;                                                      \
                }                                                                                \
            }                                                                                    \
            for (int q = 0; q < (NV); ++q) memcpy(dw + j + q * 8, &a[q], sizeof a[q]);          \
            j += 8 * (NV);                                                                       \
            if (TAIL) {                                                                          \
                FL_REAL t[8];                                                                    \
                memcpy(t, &at, sizeof t);                                                        \
                for (int l = 8 - (int)rest; l < 8; ++l) dw[d - 8 + l] = t[l];                    \
                j = d;                                                                           \
            }                                                                                    \
        }
        while (d - j >= 64) FL_ACC_BLOCK(8, 0)
        switch ((int)((d - j) / 8) + (rest ? 8 : 0)) {
        case 1: FL_ACC_BLOCK(1, 0) break;
        case 2: FL_ACC_BLOCK(2, 0) break;
        case 3: FL_ACC_BLOCK(3, 0) break;
        case 4: FL_ACC_BLOCK(4, 0) break;
        case 5: FL_ACC_BLOCK(5, 0) break;
        case 6: FL_ACC_BLOCK(6, 0) break;
        case 7: FL_ACC_BLOCK(7, 0) break;
        case 8: FL_ACC_BLOCK(0, 1) break; /* only the last columns are left */
        case 9: FL_ACC_BLOCK(1, 1) break;
        case 10: FL_ACC_BLOCK(2, 1) break;
        case 11: FL_ACC_BLOCK(3, 1) break;
        case 12: FL_ACC_BLOCK(4, 1) break;
        case 13: FL_ACC_BLOCK(5, 1) break;
        case 14: FL_ACC_BLOCK(6, 1) break;
        case 15: FL_ACC_BLOCK(7, 1) break;
        default: break;
        }
#undef FL_ACC_BLOCK
        return;
    }
#endif
    for (fl_index r = 0; r < c; ++r)
        for (fl_index k = j; k < d; ++k) dw[k] += g[r] * xr[r][k];
}

double FL_FN(fl_linear1_step)(fl_index m, fl_index d, const FL_REAL *X, const int64_t *rows,
                              const FL_REAL *w, const FL_REAL *b, const FL_REAL *t,
                              const FL_REAL *sw, const FL_REAL *pw, int bce, double scale,
                              FL_REAL *dw, FL_REAL *db, double *correct)
{
    FL_REAL z[FL_LINEAR_CHUNK], tc[FL_LINEAR_CHUNK], swc[FL_LINEAR_CHUNK], g[FL_LINEAR_CHUNK];
    const FL_REAL *xr[FL_LINEAR_CHUNK];
    const FL_REAL bias = b ? *b : (FL_REAL)0;
    double total = 0.0, hits = 0.0;
    FL_REAL gsum = 0;
    for (fl_index j = 0; j < d; ++j) dw[j] = 0;
    for (fl_index c0 = 0; c0 < m; c0 += FL_LINEAR_CHUNK) {
        const fl_index c = m - c0 < FL_LINEAR_CHUNK ? m - c0 : FL_LINEAR_CHUNK;
        for (fl_index r = 0; r < c; ++r) {
            const fl_index row = rows ? (fl_index)rows[c0 + r] : c0 + r;
            xr[r] = X + row * d;
            tc[r] = t[row];
            if (sw) swc[r] = sw[row];
        }
        if (rows) {
            /* the next chunk's rows are random reads: ask for them while this one computes */
            const fl_index c1 = c0 + FL_LINEAR_CHUNK;
            const fl_index cn = m - c1 < FL_LINEAR_CHUNK ? m - c1 : FL_LINEAR_CHUNK;
            for (fl_index r = 0; r < cn; ++r) {
                const char *p = (const char *)(X + (fl_index)rows[c1 + r] * d);
                for (size_t off = 0; off < (size_t)d * sizeof(FL_REAL); off += 64)
                    FL_PREFETCH(p + off);
            }
        }
        FL_FN(dots_)(c, d, xr, w, z);
        for (fl_index r = 0; r < c; ++r) z[r] += bias;
        total += bce ? FL_LOSS_FN(fl_sigmoid_bce)(c, 1, z, tc, sw ? swc : NULL, pw, scale, g)
                     : FL_LOSS_FN(fl_mse)(c, 1, z, tc, sw ? swc : NULL, scale, g);
        if (bce)
            for (fl_index r = 0; r < c; ++r) hits += (z[r] > 0) == (tc[r] > (FL_REAL)0.5);
        for (fl_index r = 0; r < c; ++r) gsum += g[r];
        FL_FN(accumulate_)(c, d, xr, g, dw);
    }
    if (db) *db = gsum;
    *correct += hits;
    return total;
}

#undef FL_FN
#undef FL_LOSS_FN
