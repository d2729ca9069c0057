/* Body of fl_loss.c, included once per precision with FL_REAL, FL_SUFFIX, FL_EXP, FL_LOG set.
 * Reductions (row max, row sum) use eight independent lanes in a fixed order: gcc vectorizes
 * them without -ffast-math and the result does not depend on how rows are split over threads. */

#define FL_FN(name) FL_CONCAT(name, FL_SUFFIX)

/* Rows this short (10 classes, say) leave most of a vector idle, so up to FL_SHORT_CHUNK of them
 * are shifted by their max first and exponentiated as one flat array. */
#define FL_SHORT_ROW 16
#define FL_SHORT_CHUNK 64

static FL_REAL FL_FN(row_max_)(fl_index m, const FL_REAL *x)
{
    FL_REAL acc[8];
    fl_index j = 0;
    for (int k = 0; k < 8; ++k) acc[k] = -(FL_REAL)INFINITY;
    for (; j + 8 <= m; j += 8)
        for (int k = 0; k < 8; ++k) acc[k] = x[j + k] > acc[k] ? x[j + k] : acc[k];
    FL_REAL mx = acc[0];
    for (int k = 1; k < 8; ++k) mx = acc[k] > mx ? acc[k] : mx;
    for (; j < m; ++j) mx = x[j] > mx ? x[j] : mx;
    return mx;
}

/* row_max_, but NaN when the row holds a NaN. */
static FL_REAL FL_FN(row_max_nan_)(fl_index m, const FL_REAL *x)
{
    FL_REAL acc[8];
    fl_index j = 0;
    for (int k = 0; k < 8; ++k) acc[k] = -(FL_REAL)INFINITY;
    for (; j + 8 <= m; j += 8)
        for (int k = 0; k < 8; ++k)
            acc[k] = (x[j + k] > acc[k] || x[j + k] != x[j + k]) ? x[j + k] : acc[k];
    FL_REAL mx = acc[0];
    for (int k = 1; k < 8; ++k) mx = (acc[k] > mx || acc[k] != acc[k]) ? acc[k] : mx;
    for (; j < m; ++j) mx = (x[j] > mx || x[j] != x[j]) ? x[j] : mx;
    return mx;
}

static FL_REAL FL_FN(row_sum_)(fl_index m, const FL_REAL *x)
{
    FL_REAL acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    fl_index j = 0;
    for (; j + 8 <= m; j += 8)
        for (int k = 0; k < 8; ++k) acc[k] += x[j + k];
    FL_REAL s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; j < m; ++j) s += x[j];
    return s;
}

/* sum_i w_i (p_i - t_i)^2 in double over eight lanes added in a fixed order (w = 1 when NULL). */
static double FL_FN(weighted_square_sum_)(fl_index n, const FL_REAL *p, const FL_REAL *t,
                                          const FL_REAL *w)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    fl_index i = 0;
    if (w) {
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; ++k) {
                const double d = (double)p[i + k] - (double)t[i + k];
                acc[k] += (double)w[i + k] * (d * d);
            }
    } else {
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; ++k) {
                const double d = (double)p[i + k] - (double)t[i + k];
                acc[k] += d * d;
            }
    }
    double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; ++i) {
        const double d = (double)p[i] - (double)t[i];
        s += (w ? (double)w[i] : 1.0) * (d * d);
    }
    return s;
}

/* sum_i w_i x_i in double over eight lanes added in a fixed order (w = 1 when NULL). */
static double FL_FN(weighted_sum_)(fl_index n, const FL_REAL *x, const FL_REAL *w)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    fl_index i = 0;
    if (w) {
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; ++k) acc[k] += (double)w[i + k] * (double)x[i + k];
    } else {
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; ++k) acc[k] += (double)x[i + k];
    }
    double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; ++i) s += (w ? (double)w[i] : 1.0) * (double)x[i];
    return s;
}

/* e[j] = exp(x[j] - mx); returns sum(e). e may alias x. */
static FL_REAL FL_FN(row_exp_)(fl_index m, const FL_REAL *x, FL_REAL mx, FL_REAL *e)
{
    for (fl_index j = 0; j < m; ++j) e[j] = FL_EXP(x[j] - mx);
    return FL_FN(row_sum_)(m, e);
}

/* sum_j exp(x[j] - mx) without storing the terms: the eight lanes of row_sum_, so the sum is
 * bitwise the one row_exp_ returns. For log-softmax, whose output may be x itself. */
static FL_REAL FL_FN(row_exp_sum_)(fl_index m, const FL_REAL *x, FL_REAL mx)
{
    FL_REAL acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    fl_index j = 0;
    for (; j + 8 <= m; j += 8)
        for (int k = 0; k < 8; ++k) acc[k] += FL_EXP(x[j + k] - mx);
    FL_REAL s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; j < m; ++j) s += FL_EXP(x[j] - mx);
    return s;
}

/* c short rows of z: g = z - rowmax, exponentiated as one flat array, with each row's max,
 * sum and log of the sum. Returns 0 (and stops) at a row whose max is not finite: the callers
 * take those rows one by one through limit_row_. */
static int FL_FN(short_block_exp_)(fl_index c, fl_index m, const FL_REAL *z, FL_REAL *g,
                                   FL_REAL *mxs, FL_REAL *ses, FL_REAL *logs)
{
    for (fl_index r = 0; r < c; ++r) {
        const FL_REAL *zr = z + r * m;
        FL_REAL *gr = g + r * m;
        FL_REAL mx = zr[0];
        /* a NaN anywhere makes mx NaN (x != x), so NaN rows go to the row-by-row path too */
        for (fl_index j = 1; j < m; ++j) mx = (zr[j] > mx || zr[j] != zr[j]) ? zr[j] : mx;
        if (!isfinite(mx)) return 0;
        mxs[r] = mx;
        for (fl_index j = 0; j < m; ++j) gr[j] = zr[j] - mx;
    }
    for (fl_index k = 0; k < c * m; ++k) g[k] = FL_EXP(g[k]);
    for (fl_index r = 0; r < c; ++r) ses[r] = FL_FN(row_sum_)(m, g + r * m);
    if (logs)
        for (fl_index r = 0; r < c; ++r) logs[r] = FL_LOG(ses[r]);
    return 1;
}

/* If the row's max is infinite, write into buf the limit row (0 where x == max, -inf elsewhere)
 * and return buf with *mx = 0; otherwise return x unchanged. A row that also holds a NaN has no
 * limit: it is returned unchanged and comes out NaN, as the NumPy twin gives it (row_max_ skips
 * NaN, so it is looked for here, in the rare infinite case only). buf may be x itself. */
static const FL_REAL *FL_FN(limit_row_)(fl_index m, const FL_REAL *x, FL_REAL *mx, FL_REAL *buf)
{
    if (isfinite(*mx) || isnan(*mx)) return x;
    for (fl_index j = 0; j < m; ++j)
        if (isnan(x[j])) return x;
    const FL_REAL top = *mx;
    for (fl_index j = 0; j < m; ++j) buf[j] = x[j] == top ? (FL_REAL)0 : -(FL_REAL)INFINITY;
    *mx = 0;
    return buf;
}

void FL_FN(fl_softmax_rows)(fl_index n, fl_index m, const FL_REAL *x, FL_REAL *y, int log_output)
{
    fl_index i = 0;
    if (m <= FL_SHORT_ROW && !log_output) {
        /* short rows: one flat exp per block (see short_block_exp_), then scale each row */
        FL_REAL mxs[FL_SHORT_CHUNK], ses[FL_SHORT_CHUNK];
        while (i < n) {
            const fl_index c = n - i < FL_SHORT_CHUNK ? n - i : FL_SHORT_CHUNK;
            FL_REAL *yc = y + i * m;
            if (!FL_FN(short_block_exp_)(c, m, x + i * m, yc, mxs, ses, NULL))
                break; /* the row-by-row loop below handles the limit rows */
            for (fl_index r = 0; r < c; ++r) {
                const FL_REAL inv = (FL_REAL)1 / ses[r];
                for (fl_index j = 0; j < m; ++j) yc[r * m + j] *= inv;
            }
            i += c;
        }
    }
    for (; i < n; ++i) {
        const FL_REAL *xr = x + i * m;
        FL_REAL *yr = y + i * m;
        FL_REAL mx = FL_FN(row_max_nan_)(m, xr);
        if (isnan(mx)) {
            /* a row holding NaN is NaN, whatever exp makes of NaN */
            for (fl_index j = 0; j < m; ++j) yr[j] = (FL_REAL)NAN;
            continue;
        }
        xr = FL_FN(limit_row_)(m, xr, &mx, yr);
        if (log_output) {
            /* y may be x itself (in place) or the limit row limit_row_ wrote: sum the exps
             * without storing them, then y = x - lse */
            FL_REAL lse = mx + FL_LOG(FL_FN(row_exp_sum_)(m, xr, mx));
            for (fl_index j = 0; j < m; ++j) yr[j] = xr[j] - lse;
        } else {
            FL_REAL inv = (FL_REAL)1 / FL_FN(row_exp_)(m, xr, mx, yr);
            for (fl_index j = 0; j < m; ++j) yr[j] *= inv;
        }
    }
}

fl_index FL_FN(fl_label_weight_total)(fl_index n, fl_index m, const int64_t *labels,
                                       const FL_REAL *sw, const FL_REAL *cw, double *total)
{
    double t = 0.0;
    for (fl_index i = 0; i < n; ++i) {
        int64_t y = labels[i];
        if (y < 0 || y >= (int64_t)m) return i;
        t += (double)(sw ? sw[i] : 1) * (double)(cw ? cw[y] : 1);
    }
    *total = t;
    return -1;
}

/* PyTorch's CrossEntropyLoss with integer targets, class weights and label smoothing eps:
 *   loss_i = (1-eps) w_i (lse - z_y) + (eps/K) s_i sum_k c_k (lse - z_k),  w_i = s_i c_{y_i}
 *   dloss_i/dz_j = (1-eps) w_i (p_j - [j=y]) + (eps/K) s_i (C p_j - c_j),  C = sum_k c_k.
 * xent_label_finish_ turns a row whose gradient buffer holds e_j = exp(z_j - mx), with
 * se = sum_j e_j, into that row's loss and gradient. */
static double FL_FN(xent_label_finish_)(fl_index m, FL_REAL *gr, int64_t y, double s, double w,
                                        FL_REAL mx, FL_REAL se, FL_REAL log_se, double zy,
                                        double weighted_z, double keep, double spread,
                                        double csum, const FL_REAL *cw, double scale)
{
    const double lse = (double)mx + (double)log_se;
    double loss = 0.0;
    if (w != 0.0 && keep != 0.0) loss += keep * w * (lse - zy);
    if (spread != 0.0 && s != 0.0) loss += spread * s * (csum * lse - weighted_z);
    const FL_REAL a = (FL_REAL)(scale * (keep * w + spread * s * csum) / (double)se);
    const FL_REAL b = (FL_REAL)(scale * spread * s);
    if (cw) for (fl_index j = 0; j < m; ++j) gr[j] = a * gr[j] - b * cw[j];
    else    for (fl_index j = 0; j < m; ++j) gr[j] = a * gr[j] - b;
    gr[y] -= (FL_REAL)(scale * keep * w);
    return loss;
}

static double FL_FN(weighted_row_sum_)(fl_index m, const FL_REAL *zr, const FL_REAL *cw)
{
    double acc = 0.0;
    for (fl_index j = 0; j < m; ++j) {
        double c = cw ? (double)cw[j] : 1.0;
        if (c != 0.0) acc += c * (double)zr[j];
    }
    return acc;
}

double FL_FN(fl_softmax_xent_labels)(fl_index n, fl_index m, const FL_REAL *z,
                                      const int64_t *labels, const FL_REAL *sw, const FL_REAL *cw,
                                      double smoothing, double scale, FL_REAL *g)
{
    double total = 0.0;
    const double keep = 1.0 - smoothing, spread = smoothing / (double)m;
    const double csum = cw ? (double)FL_FN(row_sum_)(m, cw) : (double)m;
    fl_index i = 0;
    if (m <= FL_SHORT_ROW) {
        /* The plain case (no weights, no smoothing) needs per row only lse - z_y and
         * g = softmax * scale - scale * onehot, without the general finish's double-precision
         * weight algebra (1.7 instead of 2.6 us for 128 x 10); the numbers are the same. */
        const int plain = !sw && !cw && smoothing == 0.0;
        FL_REAL mxs[FL_SHORT_CHUNK], ses[FL_SHORT_CHUNK], logs[FL_SHORT_CHUNK];
        while (i < n) {
            const fl_index c = n - i < FL_SHORT_CHUNK ? n - i : FL_SHORT_CHUNK;
            if (!FL_FN(short_block_exp_)(c, m, z + i * m, g + i * m, mxs, ses, logs))
                break; /* the row-by-row path below handles the limit rows */
            for (fl_index r = 0; r < c; ++r) {
                const fl_index row = i + r;
                const int64_t y = labels[row];
                const FL_REAL *zr = z + row * m;
                FL_REAL *gr = g + row * m;
                if (plain) {
                    const FL_REAL a = (FL_REAL)(scale / (double)ses[r]);
                    total += ((double)mxs[r] + (double)logs[r]) - (double)zr[y];
                    for (fl_index j = 0; j < m; ++j) gr[j] *= a;
                    gr[y] -= (FL_REAL)scale;
                } else {
                    const double s = sw ? (double)sw[row] : 1.0;
                    const double w = s * (cw ? (double)cw[y] : 1.0);
                    const double wz = (spread != 0.0 && s != 0.0) ? FL_FN(weighted_row_sum_)(m, zr, cw) : 0.0;
                    total += FL_FN(xent_label_finish_)(m, gr, y, s, w, mxs[r], ses[r], logs[r],
                                                       (double)zr[y], wz, keep, spread, csum, cw,
                                                       scale);
                }
            }
            i += c;
        }
    }
    for (; i < n; ++i) {
        const FL_REAL *zr = z + i * m;
        FL_REAL *gr = g + i * m;
        const int64_t y = labels[i];
        const double s = sw ? (double)sw[i] : 1.0;
        const double w = s * (cw ? (double)cw[y] : 1.0);
        FL_REAL mx = FL_FN(row_max_)(m, zr);
        zr = FL_FN(limit_row_)(m, zr, &mx, gr);
        /* zr may now be gr itself (a limit row): read what the loss needs before exp overwrites it */
        const double wz = (spread != 0.0 && s != 0.0) ? FL_FN(weighted_row_sum_)(m, zr, cw) : 0.0;
        const double zy = (double)zr[y];
        for (fl_index j = 0; j < m; ++j) gr[j] = FL_EXP(zr[j] - mx);
        const FL_REAL se = FL_FN(row_sum_)(m, gr);
        total += FL_FN(xent_label_finish_)(m, gr, y, s, w, mx, se, FL_LOG(se), zy, wz, keep,
                                           spread, csum, cw, scale);
    }
    return total;
}

/* Probability targets q (PyTorch semantics, smoothed to (1-eps) q + eps/K):
 *   loss_i = s_i sum_k c_k q_k (lse - z_k),  dloss_i/dz_j = s_i ((sum_k c_k q_k) p_j - c_j q_j). */
double FL_FN(fl_softmax_xent_probs)(fl_index n, fl_index m, const FL_REAL *z, const FL_REAL *q,
                                     const FL_REAL *sw, const FL_REAL *cw, double smoothing,
                                     double scale, FL_REAL *g)
{
    double total = 0.0;
    const double keep = 1.0 - smoothing, spread = smoothing / (double)m;
    for (fl_index i = 0; i < n; ++i) {
        const FL_REAL *zr = z + i * m, *qr = q + i * m;
        FL_REAL *gr = g + i * m;
        const double s = sw ? (double)sw[i] : 1.0;
        FL_REAL mx = FL_FN(row_max_)(m, zr);
        zr = FL_FN(limit_row_)(m, zr, &mx, gr);
        /* weighted target mass and sum_k c_k q_k z_k, skipping q_k = 0 so -inf logits give 0 */
        double mass = 0.0, qz = 0.0;
        for (fl_index j = 0; j < m; ++j) {
            double t = (keep * (double)qr[j] + spread) * (cw ? (double)cw[j] : 1.0);
            if (t != 0.0) { mass += t; qz += t * (double)zr[j]; }
        }
        const FL_REAL se = FL_FN(row_exp_)(m, zr, mx, gr);
        const double lse = (double)mx + (double)FL_LOG(se);
        if (s != 0.0 && mass != 0.0) total += s * (mass * lse - qz);
        {
            const FL_REAL a = (FL_REAL)(scale * s * mass / (double)se);
            const FL_REAL b = (FL_REAL)(scale * s * keep), c0 = (FL_REAL)(scale * s * spread);
            if (cw) for (fl_index j = 0; j < m; ++j) gr[j] = a * gr[j] - cw[j] * (b * qr[j] + c0);
            else    for (fl_index j = 0; j < m; ++j) gr[j] = a * gr[j] - (b * qr[j] + c0);
        }
    }
    return total;
}

#define FL_FLAT_CHUNK 256

/* BCE with logits, PyTorch's pos_weight p_j:
 *   loss = -(p t log sigmoid(z) + (1-t) log(1-sigmoid(z))) = p t log1pexp(-z) + (1-t) log1pexp(z)
 *   dloss/dz = sigmoid(z) (p t + 1 - t) - p t.
 * Terms whose coefficient is zero are skipped so an infinite logit on the right side gives 0. */
double FL_FN(fl_sigmoid_bce)(fl_index n, fl_index m, const FL_REAL *z, const FL_REAL *t,
                              const FL_REAL *sw, const FL_REAL *pw, double scale, FL_REAL *g)
{
    double total = 0.0;
    if (m == 1 || (!sw && !pw)) {
        /* One weight per element (a single output, or no weights): walk the block as one flat
         * array in chunks, each stage its own short loop over an L1-resident buffer. One long
         * loop body (exp, then log, then two divisions) is a dependency chain too long for the
         * CPU to overlap iterations, and ran ~10x slower than these stages. Both log1p(exp(+-z))
         * share u = exp(-|z|), and so does the sigmoid. */
        const fl_index nm = n * m;
        const FL_REAL one = 1, zero = 0, pw0 = pw ? pw[0] : one;
        FL_REAL u[FL_FLAT_CHUNK], l[FL_FLAT_CHUNK];
        for (fl_index c0 = 0; c0 < nm; c0 += FL_FLAT_CHUNK) {
            const fl_index c = nm - c0 < FL_FLAT_CHUNK ? nm - c0 : FL_FLAT_CHUNK;
            const FL_REAL *zc = z + c0, *tc = t + c0;
            const FL_REAL *swc = sw ? sw + c0 : NULL;
            for (fl_index k = 0; k < c; ++k) u[k] = FL_EXP(-(zc[k] < zero ? -zc[k] : zc[k]));
            /* log1p(u) as log(1 + u) * u / ((1 + u) - 1) (Goldberg), exact where 1 + u rounds */
            for (fl_index k = 0; k < c; ++k) {
                const FL_REAL w = one + u[k], d = w - one;
                l[k] = d == zero ? u[k] : FL_LOG(w) * (u[k] / (d == zero ? one : d));
            }
            /* loss terms, skipping zero coefficients so an infinite logit on the right side
             * gives 0, not inf * 0 */
            for (fl_index k = 0; k < c; ++k) {
                const FL_REAL pt = pw0 * tc[k], nt = one - tc[k];
                const FL_REAL lp = pt != zero ? pt * ((zc[k] < zero ? -zc[k] : zero) + l[k]) : zero;
                const FL_REAL ln = nt != zero ? nt * ((zc[k] > zero ? zc[k] : zero) + l[k]) : zero;
                l[k] = lp + ln;
            }
            total += FL_FN(weighted_sum_)(c, l, swc);
            if (g) {
                FL_REAL *gc = g + c0;
                for (fl_index k = 0; k < c; ++k) {
                    const FL_REAL pt = pw0 * tc[k];
                    const FL_REAL sig = (zc[k] >= zero ? one : u[k]) / (one + u[k]);
                    const FL_REAL k_s = (FL_REAL)(scale * (swc ? (double)swc[k] : 1.0));
                    gc[k] = k_s * (sig * (pt + one - tc[k]) - pt);
                }
            }
        }
        return total;
    }
    for (fl_index i = 0; i < n; ++i) {
        const FL_REAL *zr = z + i * m, *tr = t + i * m;
        const double s = sw ? (double)sw[i] : 1.0;
        double row = 0.0;
        for (fl_index j = 0; j < m; ++j) {
            const double zj = (double)zr[j], tj = (double)tr[j];
            const double pt = (pw ? (double)pw[j] : 1.0) * tj, nt = 1.0 - tj;
            double l = 0.0;
            if (pt != 0.0) l += pt * fl_log1pexp(-zj);
            if (nt != 0.0) l += nt * fl_log1pexp(zj);
            row += l;
        }
        total += s * row;
        if (g) {
            FL_REAL *gr = g + i * m;
            const FL_REAL k = (FL_REAL)(scale * s), one = 1;
            for (fl_index j = 0; j < m; ++j) {
                const FL_REAL pt = (pw ? pw[j] : one) * tr[j];
                const FL_REAL sig = one / (one + FL_EXP(-zr[j]));
                gr[j] = k * (sig * (pt + one - tr[j]) - pt);
            }
        }
    }
    return total;
}

double FL_FN(fl_mse)(fl_index n, fl_index m, const FL_REAL *p, const FL_REAL *t, const FL_REAL *sw,
                      double scale, FL_REAL *g)
{
    double total = 0.0;
    if (m == 1 || !sw) {
        /* One weight per element: one flat pass, the squares summed in eight lanes (a single
         * double accumulator would wait ~4 cycles on every element). */
        const fl_index nm = n * m;
        total = FL_FN(weighted_square_sum_)(nm, p, t, sw);
        if (g) {
            const FL_REAL k = (FL_REAL)(2.0 * scale);
            if (sw) for (fl_index i = 0; i < nm; ++i) g[i] = (FL_REAL)(2.0 * scale * (double)sw[i]) * (p[i] - t[i]);
            else    for (fl_index i = 0; i < nm; ++i) g[i] = k * (p[i] - t[i]);
        }
        return total;
    }
    for (fl_index i = 0; i < n; ++i) {
        const FL_REAL *pr = p + i * m, *tr = t + i * m;
        const double s = (double)sw[i];
        total += s * FL_FN(weighted_square_sum_)(m, pr, tr, NULL);
        if (g) {
            FL_REAL *gr = g + i * m;
            const FL_REAL k = (FL_REAL)(2.0 * scale * s);
            for (fl_index j = 0; j < m; ++j) gr[j] = k * (pr[j] - tr[j]);
        }
    }
    return total;
}

/* L1 (huber 0, beta 0), smooth L1 (huber 0, beta > 0) and Huber (huber 1, beta = delta) as
 * torch.nn defines them: below beta the quadratic piece, from beta on the linear one. Terms are
 * formed in double; the gradient's linear piece is +-1 (+-delta), 0 at d = 0 and NaN at NaN. */
double FL_FN(fl_robust)(fl_index n, fl_index m, const FL_REAL *p, const FL_REAL *t,
                        const FL_REAL *sw, int huber, double beta, double scale, FL_REAL *g)
{
    double total = 0.0;
    const double slope = huber ? beta : 1.0;
    const double quad = huber ? 1.0 : (beta > 0.0 ? 1.0 / beta : 0.0);
    for (fl_index i = 0; i < n; ++i) {
        const double s = sw ? (double)sw[i] : 1.0, k = scale * s;
        double row = 0.0;
        for (fl_index j = 0; j < m; ++j) {
            const fl_index e = i * m + j;
            const double d = (double)p[e] - (double)t[e], a = fabs(d);
            double grad;
            if (a < beta) {
                row += 0.5 * d * d * quad;
                grad = d * quad;
            } else {
                row += slope * (a - 0.5 * beta);
                grad = d > 0 ? slope : (d < 0 ? -slope : d);
            }
            if (g) g[e] = (FL_REAL)(k * grad);
        }
        total += s * row;
    }
    return total;
}

#undef FL_FN
