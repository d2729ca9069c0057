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

/* z[r] = x_r . w for c rows. With GCC's vector extension (FL_LIN_BYTES-byte vectors), eight
 * rows at a time share each load of w and keep eight independent chains of multiply-adds in
 * flight, enough to cover the latency of two FMA units; the auto-vectorizer turns that form
 * into shuffles, so it is spelled out. The last d % L columns are one more vector step: the
 * final L columns of the row against w_tail, the final L of w with the lanes already counted
 * set to zero. Each row's lanes are then summed as the tree ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7))
 * (a 16-lane vector first adds its halves): for eight rows at once by shuffles, three levels of
 * an 8 x 8 transpose; one row at a time through memory, a store and seven dependent adds a row
 * cost as much as the row's multiply-adds. */
static void FL_FN(dots_)(fl_index c, fl_index d, const FL_REAL *const *xr,
                         const char *const *ahead, const FL_REAL *w, FL_REAL *z)
{
    fl_index r = 0;
#if defined(__GNUC__) && !defined(FL_NO_VECTOR_EXT)
#define L ((fl_index)(FL_LIN_BYTES / sizeof(FL_REAL)))
    typedef FL_REAL vec __attribute__((vector_size(FL_LIN_BYTES)));
    if (d >= L) {
        const fl_index dv = d - d % L, rest = d % L;
        FL_REAL wt[L];
        vec w_tail;
        for (fl_index l = 0; l < L; ++l) wt[l] = l < L - rest ? (FL_REAL)0 : w[d - L + l];
        memcpy(&w_tail, wt, sizeof w_tail);
#define FL_DOTS_SUMS(Q)                                                                           \
            if (ahead)                                                                           \
                for (int q = 0; q < (Q); ++q)                                                    \
                    if (ahead[r + q])                                                            \
                        fl_prefetch_bytes(ahead[r + q], (size_t)d * sizeof(FL_REAL));            \
            vec acc[Q];                                                                          \
            for (int q = 0; q < (Q); ++q) acc[q] = (vec){0};                                     \
            for (fl_index j = 0; j < dv; j += L) {                                               \
                vec wv;                                                                          \
                memcpy(&wv, w + j, sizeof wv);                                                   \
                for (int q = 0; q < (Q); ++q) {                                                  \
                    vec xv;                                                                      \
                    memcpy(&xv, xr[r + q] + j, sizeof xv);                                       \
                    acc[q] += xv * wv;                                                           \
                }                                                                                \
            }                                                                                    \
            if (rest)                                                                            \
                for (int q = 0; q < (Q); ++q) {                                                  \
                    vec xv;                                                                      \
                    memcpy(&xv, xr[r + q] + d - L, sizeof xv);                                   \
                    acc[q] += xv * w_tail;                                                       \
                }
#if FL_LIN_TREE
        typedef FL_REAL v8 __attribute__((vector_size(8 * sizeof(FL_REAL))));
        for (; r + 8 <= c; r += 8) {
            FL_DOTS_SUMS(8)
            v8 h[8];
            for (int q = 0; q < 8; ++q) h[q] = FL_LIN_HALVES(acc[q]);
            v8 p[4], e[2], s;
            for (int q = 0; q < 4; ++q)
                p[q] = __builtin_shufflevector(h[2 * q], h[2 * q + 1], 0, 8, 2, 10, 4, 12, 6, 14) +
                       __builtin_shufflevector(h[2 * q], h[2 * q + 1], 1, 9, 3, 11, 5, 13, 7, 15);
            for (int q = 0; q < 2; ++q)
                e[q] = __builtin_shufflevector(p[2 * q], p[2 * q + 1], 0, 1, 8, 9, 4, 5, 12, 13) +
                       __builtin_shufflevector(p[2 * q], p[2 * q + 1], 2, 3, 10, 11, 6, 7, 14, 15);
            s = __builtin_shufflevector(e[0], e[1], 0, 1, 2, 3, 8, 9, 10, 11) +
                __builtin_shufflevector(e[0], e[1], 4, 5, 6, 7, 12, 13, 14, 15);
            memcpy(z + r, &s, sizeof s);
        }
#endif
        for (; r < c; ++r) {
            FL_DOTS_SUMS(1)
            FL_REAL a[L];
            memcpy(a, &acc[0], sizeof a);
            for (fl_index h = L; h > 8; h /= 2)
                for (fl_index l = 0; l < h / 2; ++l) a[l] += a[l + h / 2];
            if (L >= 8)
                z[r] = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
            else
                z[r] = (a[0] + a[1]) + (a[L - 2] + a[L - 1]);
        }
#undef FL_DOTS_SUMS
        return;
    }
#undef L
#endif
    for (; r < c; ++r) {
        if (ahead && ahead[r]) fl_prefetch_bytes(ahead[r], (size_t)d * sizeof(FL_REAL));
        z[r] = FL_FN(dot_)(d, xr[r], w);
    }
}

/* dw[j] += g_r x_r[j] for the chunk's rows r. Up to eight vectors (L lanes each) of dw stay in
 * registers while every row of the chunk, still in L1, is added in; the last d % L columns are
 * one more vector, the row's final L columns times g_r in the lanes not yet counted and 0 in the
 * others (as in dots_). Adding row by row through memory instead, each block of dw was stored
 * and loaded again per row, and the stores and reloads, not the multiply-adds, set the pace; a
 * scalar loop over the last columns was a chain of dependent multiply-adds as long as the chunk.
 * Even and odd rows go to two sets of sums, added at the end of the chunk: with one, each
 * multiply-add waited on the previous row's (W5's step 3% faster). */
static void FL_FN(accumulate_)(fl_index c, fl_index d, const FL_REAL *const *xr,
                               const FL_REAL *g, FL_REAL *FL_RESTRICT dw)
{
    fl_index j = 0;
#if defined(__GNUC__) && !defined(FL_NO_VECTOR_EXT)
#define L ((fl_index)(FL_LIN_BYTES / sizeof(FL_REAL)))
    typedef FL_REAL vec __attribute__((vector_size(FL_LIN_BYTES)));
    if (d >= L) {
        const fl_index rest = d % L;
        vec mask;
        FL_REAL ml[L];
        for (fl_index l = 0; l < L; ++l) ml[l] = l < L - rest ? (FL_REAL)0 : (FL_REAL)1;
        memcpy(&mask, ml, sizeof mask);
        /* NV vectors of dw from column j in registers; TAIL: the last d % 8 columns as well */
#define FL_ACC_BLOCK(NV, TAIL)                                                                    \
        {                                                                                        \
            vec a[(NV) ? (NV) : 1], at;                                                          \
            for (int q = 0; q < (NV); ++q) memcpy(&a[q], dw + j + q * L, sizeof a[q]);          \
            if (TAIL) memcpy(&at, dw + d - L, sizeof at); /* its last `rest` lanes are kept */  \
            vec b[(NV) ? (NV) : 1], bt = (vec){0}; /* the odd rows' sums */                     \
            for (int q = 0; q < (NV); ++q) b[q] = (vec){0};                                      \
            fl_index r = 0;                                                                      \
            for (; r + 2 <= c; r += 2) {                                                         \
                const FL_REAL g0 = g[r], g1 = g[r + 1];                                          \
                const FL_REAL *x0 = xr[r] + j, *x1 = xr[r + 1] + j;                              \
                for (int q = 0; q < (NV); ++q) {                                                 \
                    vec v0, v1;                                                                  \
                    memcpy(&v0, x0 + q * L, sizeof v0);                                          \
                    memcpy(&v1, x1 + q * L, sizeof v1);                                          \
                    a[q] += g0 * v0;                                                             \
                    b[q] += g1 * v1;                                                             \
                }                                                                                \
                if (TAIL) {                                                                      \
                    vec v0, v1;                                                                  \
                    memcpy(&v0, xr[r] + d - L, sizeof v0);                                       \
                    memcpy(&v1, xr[r + 1] + d - L, sizeof v1);                                   \
                    at += (g0 * mask) * v0;                                                      \
                    bt += (g1 * mask) * v1;                                                      \
                }                                                                                \
            }                                                                                    \
            if (r < c) {                                                                         \
                const FL_REAL g0 = g[r], *x0 = xr[r] + j;                                        \
                for (int q = 0; q < (NV); ++q) {                                                 \
                    vec v0;                                                                      \
                    memcpy(&v0, x0 + q * L, sizeof v0);                                          \
                    a[q] += g0 * v0;                                                             \
                }                                                                                \
                if (TAIL) {                                                                      \
                    vec v0;                                                                      \
                    memcpy(&v0, xr[r] + d - L, sizeof v0);                                       \
                    at += (g0 * mask) * v0;                                                      \
                }                                                                                \
            }                                                                                    \
            for (int q = 0; q < (NV); ++q) a[q] += b[q];                                         \
            at += bt;                                                                            \
            for (int q = 0; q < (NV); ++q) memcpy(dw + j + q * L, &a[q], sizeof a[q]);          \
            j += L * (NV);                                                                       \
            if (TAIL) {                                                                          \
                FL_REAL t[L];                                                                    \
                memcpy(t, &at, sizeof t);                                                        \
                for (fl_index l = L - rest; l < L; ++l) dw[d - L + l] = t[l];                    \
                j = d;                                                                           \
            }                                                                                    \
        }
        while (d - j >= 8 * L) FL_ACC_BLOCK(8, 0)
        switch ((int)((d - j) / L) + (rest ? 8 : 0)) {
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
#undef L
#endif
    for (fl_index r = 0; r < c; ++r)
        for (fl_index k = j; k < d; ++k) dw[k] += g[r] * xr[r][k];
}

#if FL_LIN_ROWS && defined(__GNUC__) && !defined(FL_NO_VECTOR_EXT)
/* Linear regression (MSE) one row at a time, the row held in registers (at most FL_LIN_ROWS
 * vectors): its dot product, residual, loss and gradient, then the row times its gradient into
 * dw, with no second read of the row. Even and odd rows add into two sets of dw vectors and
 * of loss and bias-gradient sums (in double: two chains in float lost ~10x the eight-lane
 * two-pass sum's precision on long batches). The two-pass chunks above read each row twice (from L1 the
 * second time), so loads, half of them split across cache lines, set their pace: on a Zen 5,
 * W5's step took 1.7-1.8 us here against 2.3-2.5 (a C harness, rows from L3). Built only where
 * 32 vector registers hold the row, w and both sets of sums. */
#define FL_ROW_STEP(R, ACC, TOT, GS, NV)                                                          \
    {                                                                                             \
        const fl_index rr = (R);                                                                  \
        if (rows && rr + FL_LINEAR_AHEAD < m + next)                                              \
            fl_prefetch_bytes(X + (fl_index)rows[rr + FL_LINEAR_AHEAD] * d,                       \
                              (size_t)d * sizeof(FL_REAL));                                       \
        const fl_index row = rows ? (fl_index)rows[rr] : rr;                                      \
        const FL_REAL *x = X + row * d;                                                           \
        vec xv[NV];                                                                               \
        for (int q = 0; q < (NV) - 1; ++q) memcpy(&xv[q], x + q * L, sizeof xv[q]);             \
        memcpy(&xv[(NV) - 1], x + d - L, sizeof xv[0]);                                          \
        vec s0 = xv[0] * wv[0], s1 = (vec){0};                                                    \
        for (int q = 1; q < (NV); q += 2) {                                                       \
            s1 += xv[q] * wv[q];                                                                  \
            if (q + 1 < (NV)) s0 += xv[q + 1] * wv[q + 1];                                        \
        }                                                                                         \
        const vec s = s0 + s1;                                                                    \
        const v8 h = FL_LIN_HALVES(s);                                                            \
        const v4 pr = __builtin_shufflevector(h, h, 0, 2, 4, 6) +                                 \
                      __builtin_shufflevector(h, h, 1, 3, 5, 7);                                  \
        const v2 e2 = __builtin_shufflevector(pr, pr, 0, 2) + __builtin_shufflevector(pr, pr, 1, 3); \
        const FL_REAL z = (e2[0] + e2[1]) + bias, target = t[row];                                \
        const double dd = (double)z - (double)target;                                             \
        FL_REAL k = k_plain;                                                                      \
        if (sw) {                                                                                 \
            k = (FL_REAL)(2.0 * scale * (double)sw[row]);                                         \
            TOT += (double)sw[row] * (dd * dd);                                                   \
        } else {                                                                                  \
            TOT += dd * dd;                                                                       \
        }                                                                                         \
        const FL_REAL g = k * (z - target);                                                       \
        GS += g;                                                                                  \
        const vec gv = (vec){0} + g;                                                              \
        for (int q = 0; q < (NV); ++q) ACC[q] += gv * xv[q];                                      \
    }

#define FL_ROWS_BODY(NV)                                                                          \
    {                                                                                             \
        vec wv[NV], a0[NV], a1[NV];                                                               \
        for (int q = 0; q < (NV) - 1; ++q) memcpy(&wv[q], w + q * L, sizeof wv[q]);             \
        memcpy(&wv[(NV) - 1], wl, sizeof wv[0]);                                                  \
        for (int q = 0; q < (NV); ++q) a0[q] = a1[q] = (vec){0};                                 \
        fl_index r = 0;                                                                           \
        for (; r + 2 <= m; r += 2) {                                                              \
            FL_ROW_STEP(r, a0, tot0, gs0, NV)                                                     \
            FL_ROW_STEP(r + 1, a1, tot1, gs1, NV)                                                 \
        }                                                                                         \
        if (r < m) FL_ROW_STEP(r, a0, tot0, gs0, NV)                                              \
        for (int q = 0; q < (NV) - 1; ++q) {                                                      \
            const vec sum = a0[q] + a1[q];                                                        \
            memcpy(dw + q * L, &sum, sizeof sum);                                                 \
        }                                                                                         \
        const vec last = a0[(NV) - 1] + a1[(NV) - 1];                                             \
        memcpy(tail, &last, sizeof last);                                                         \
    }

static double FL_FN(mse_rows_)(fl_index m, fl_index d, const FL_REAL *X, const int64_t *rows,
                               fl_index next, const FL_REAL *w, const FL_REAL *b,
                               const FL_REAL *t, const FL_REAL *sw, double scale, FL_REAL *dw,
                               FL_REAL *db)
{
#define L ((fl_index)(FL_LIN_BYTES / sizeof(FL_REAL)))
    typedef FL_REAL vec __attribute__((vector_size(FL_LIN_BYTES)));
    typedef FL_REAL v8 __attribute__((vector_size(8 * sizeof(FL_REAL))));
    typedef FL_REAL v4 __attribute__((vector_size(4 * sizeof(FL_REAL))));
    typedef FL_REAL v2 __attribute__((vector_size(2 * sizeof(FL_REAL))));
    /* the last vector is the row's final L values: w's lanes there that an earlier vector
     * already covers are 0 in the dot product, and only the other lanes of its gradient sums
     * are written to dw */
    const fl_index rest = d % L, nv = (d + L - 1) / L;
    FL_REAL wl[L], tail[L];
    for (fl_index l = 0; l < L; ++l) wl[l] = rest && l < L - rest ? (FL_REAL)0 : w[d - L + l];
    const FL_REAL bias = b ? *b : (FL_REAL)0, k_plain = (FL_REAL)(2.0 * scale);
    double tot0 = 0.0, tot1 = 0.0, gs0 = 0.0, gs1 = 0.0;
    switch ((int)nv) {
    case 1: FL_ROWS_BODY(1) break;
    case 2: FL_ROWS_BODY(2) break;
    case 3: FL_ROWS_BODY(3) break;
    case 4: FL_ROWS_BODY(4) break;
    case 5: FL_ROWS_BODY(5) break;
    case 6: FL_ROWS_BODY(6) break;
    default: FL_ROWS_BODY(7) break;
    }
    for (fl_index l = rest ? L - rest : 0; l < L; ++l) dw[d - L + l] = tail[l];
    if (db) *db = (FL_REAL)(gs0 + gs1);
    return tot0 + tot1;
#undef L
}
#undef FL_ROWS_BODY
#undef FL_ROW_STEP
#endif

double FL_FN(fl_linear1_step)(fl_index m, fl_index d, const FL_REAL *X, const int64_t *rows,
                              fl_index next, const FL_REAL *w, const FL_REAL *b, const FL_REAL *t,
                              const FL_REAL *sw, const FL_REAL *pw, int bce, double scale,
                              FL_REAL *dw, FL_REAL *db, double *correct)
{
    FL_REAL z[FL_LINEAR_CHUNK], tc[FL_LINEAR_CHUNK], swc[FL_LINEAR_CHUNK], g[FL_LINEAR_CHUNK];
    const FL_REAL *xr[FL_LINEAR_CHUNK];
    const char *ahead[FL_LINEAR_CHUNK];
    const FL_REAL bias = b ? *b : (FL_REAL)0;
    double total = 0.0, hits = 0.0;
    FL_REAL gsum[8] = {0, 0, 0, 0, 0, 0, 0, 0};
#if FL_LIN_ROWS && defined(__GNUC__) && !defined(FL_NO_VECTOR_EXT)
    if (!bce && d >= (fl_index)(FL_LIN_BYTES / sizeof(FL_REAL))
            && d <= FL_LIN_ROWS * (fl_index)(FL_LIN_BYTES / sizeof(FL_REAL)))
        return FL_FN(mse_rows_)(m, d, X, rows, next, w, b, t, sw, scale, dw, db);
#endif
    for (fl_index j = 0; j < d; ++j) dw[j] = 0;
    /* rows per chunk: as many as stay in L1 (FL_LINEAR_L1_BYTES) between the two passes, a
     * multiple of eight (the dot products' group), at least eight, at most FL_LINEAR_CHUNK */
    fl_index chunk = (fl_index)(FL_LINEAR_L1_BYTES / ((size_t)d * sizeof(FL_REAL))) / 8 * 8;
    chunk = chunk < 8 ? 8 : chunk > FL_LINEAR_CHUNK ? FL_LINEAR_CHUNK : chunk;
    for (fl_index c0 = 0; c0 < m; c0 += chunk) {
        const fl_index c = m - c0 < chunk ? m - c0 : chunk;
        for (fl_index r = 0; r < c; ++r) {
            const fl_index row = rows ? (fl_index)rows[c0 + r] : c0 + r;
            xr[r] = X + row * d;
            tc[r] = t[row];
            if (sw) swc[r] = sw[row];
        }
        if (rows) {
            /* random reads: each group of eight rows asks for the eight after it while its dot
             * products run (FL_LINEAR_AHEAD rows ahead; a whole chunk ahead at once, the
             * requests queued behind each other and the step took 10% longer) */
            for (fl_index r = 0; r < c; ++r)
                ahead[r] = c0 + r + FL_LINEAR_AHEAD < m + next
                    ? (const char *)(X + (fl_index)rows[c0 + r + FL_LINEAR_AHEAD] * d) : NULL;
        }
        FL_FN(dots_)(c, d, xr, rows ? ahead : NULL, w, z);
        for (fl_index r = 0; r < c; ++r) z[r] += bias;
        total += bce ? FL_LOSS_FN(fl_sigmoid_bce)(c, 1, z, tc, sw ? swc : NULL, pw, scale, g)
                     : FL_LOSS_FN(fl_mse)(c, 1, z, tc, sw ? swc : NULL, scale, g);
        if (bce)
            for (fl_index r = 0; r < c; ++r) hits += (z[r] > 0) == (tc[r] > (FL_REAL)0.5);
        {   /* eight lanes: one chain of adds through the batch cost a quarter of the step */
            fl_index r = 0;
            for (; r + 8 <= c; r += 8)
                for (int l = 0; l < 8; ++l) gsum[l] += g[r + l];
            for (; r < c; ++r) gsum[r % 8] += g[r];
        }
        FL_FN(accumulate_)(c, d, xr, g, dw);
    }
    if (db)
        *db = ((gsum[0] + gsum[1]) + (gsum[2] + gsum[3])) + ((gsum[4] + gsum[5]) + (gsum[6] + gsum[7]));
    *correct += hits;
    return total;
}

#undef FL_FN
#undef FL_LOSS_FN
