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

/* z[r] = x_r . w for c rows. With GCC's vector extension, four rows at a time share each load
 * of w and keep four independent chains of multiply-adds in flight (1.2 instead of 1.6 us for
 * 256 rows of 100); the auto-vectorizer turns that form into shuffles, so it is spelled out.
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
        while (r < c) {
            const int q_n = c - r < 4 ? (int)(c - r) : 4;
            vec acc[4] = {{0}, {0}, {0}, {0}};
            for (fl_index j = 0; j < dv; j += 8) {
                vec wv;
                memcpy(&wv, w + j, sizeof wv);
                for (int q = 0; q < 4; ++q) {
                    if (q < q_n) {
                        vec xv;
                        memcpy(&xv, xr[r + q] + j, sizeof xv);
                        acc[q] += xv * wv;
                    }
                }
            }
            for (int q = 0; q < q_n; ++q) {
                FL_REAL a[8];
                if (rest) {
                    vec xv;
                    memcpy(&xv, xr[r + q] + d - 8, sizeof xv);
                    acc[q] += xv * w_tail;
                }
                memcpy(a, &acc[q], sizeof a);
                z[r + q] = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
            }
            r += q_n;
        }
        return;
    }
#endif
    for (; r < c; ++r) z[r] = FL_FN(dot_)(d, xr[r], w);
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
        /* dw += g_r x_r row after row; four rows per pass over dw, in the same order as one
         * at a time, so dw is stored once per four rows instead of once per row */
        fl_index r = 0;
        for (; r + 4 <= c; r += 4) {
            const FL_REAL g0 = g[r], g1 = g[r + 1], g2 = g[r + 2], g3 = g[r + 3];
            const FL_REAL *FL_RESTRICT x0 = xr[r];
            const FL_REAL *FL_RESTRICT x1 = xr[r + 1];
            const FL_REAL *FL_RESTRICT x2 = xr[r + 2];
            const FL_REAL *FL_RESTRICT x3 = xr[r + 3];
            FL_REAL *FL_RESTRICT acc = dw;
            for (fl_index j = 0; j < d; ++j)
                acc[j] = (((acc[j] + g0 * x0[j]) + g1 * x1[j]) + g2 * x2[j]) + g3 * x3[j];
        }
        for (; r < c; ++r) {
            const FL_REAL gr = g[r];
            const FL_REAL *FL_RESTRICT x = xr[r];
            FL_REAL *FL_RESTRICT acc = dw;
            for (fl_index j = 0; j < d; ++j) acc[j] += gr * x[j];
        }
    }
    if (db) *db = gsum;
    *correct += hits;
    return total;
}

#undef FL_FN
#undef FL_LOSS_FN
