/* Body of fl_activation.c, included once per precision with FL_REAL, FL_SUFFIX and FL_EXP set.
 * Each activation gets its own inner loop (the switch sits outside the loops) so that gcc can
 * vectorize every loop that has no libm call in it. */

#define FL_FN(name) FL_CONCAT(name, FL_SUFFIX)

#define FL_FORWARD_LOOP(EXPR)                                          \
    for (fl_index i = 0; i < n; ++i) {                                 \
        const FL_REAL *xr = x + i * m;                                 \
        FL_REAL *yr = y + i * m;                                       \
        if (z) {                                                       \
            FL_REAL *zr = z + i * m;                                   \
            if (bias) { for (fl_index j = 0; j < m; ++j) zr[j] = xr[j] + bias[j]; } \
            else if (zr != xr) { for (fl_index j = 0; j < m; ++j) zr[j] = xr[j]; }  \
            for (fl_index j = 0; j < m; ++j) { FL_REAL v = zr[j]; yr[j] = (EXPR); } \
        } else if (bias) {                                             \
            for (fl_index j = 0; j < m; ++j) { FL_REAL v = xr[j] + bias[j]; yr[j] = (EXPR); } \
        } else {                                                       \
            for (fl_index j = 0; j < m; ++j) { FL_REAL v = xr[j]; yr[j] = (EXPR); } \
        }                                                              \
    }

void FL_FN(fl_act_forward)(fl_index n, fl_index m, const FL_REAL *x, const FL_REAL *bias, int act,
                            const FL_REAL *alpha, int alpha_per_unit, FL_REAL *z, FL_REAL *y)
{
    const FL_REAL zero = 0, one = 1;
    switch (act) {
    case FL_SIGMOID:
        FL_FORWARD_LOOP(one / (one + FL_EXP(-v)));
        break;
    case FL_TANH:
        FL_FORWARD_LOOP(FL_TANHF(v));
        break;
    case FL_RELU:
        FL_FORWARD_LOOP(v > zero ? v : zero);
        break;
    case FL_LEAKY_RELU: {
        const FL_REAL a = alpha[0];
        FL_FORWARD_LOOP(v > zero ? v : a * v);
        break;
    }
    case FL_PRELU:
        if (alpha_per_unit) {
            FL_FORWARD_LOOP(v > zero ? v : alpha[j] * v);
        } else {
            const FL_REAL a = alpha[0];
            FL_FORWARD_LOOP(v > zero ? v : a * v);
        }
        break;
    case FL_ABS:
        FL_FORWARD_LOOP(v < zero ? -v : v);
        break;
    default: /* identity */
        FL_FORWARD_LOOP(v);
        break;
    }
}

/* The rows are contiguous and nothing here depends on the column, so one loop runs over all
 * n * m values: a loop per row paid its start and end per row (32 x 64 relu: 70 -> 33 ns). */
#define FL_BACKWARD_LOOP(SRC, EXPR)                                    \
    {                                                                  \
        const FL_REAL *sr = (SRC);                                     \
        for (fl_index k = 0; k < n * m; ++k) { FL_REAL g = gy[k], s = sr[k]; gx[k] = (EXPR); } \
    }

void FL_FN(fl_act_backward)(fl_index n, fl_index m, const FL_REAL *gy, const FL_REAL *x,
                             const FL_REAL *y, int act, const FL_REAL *alpha, int alpha_per_unit,
                             FL_REAL *gx, FL_REAL *dalpha)
{
    const FL_REAL zero = 0, one = 1;
    const FL_REAL *xy = x ? x : y; /* sign of x equals sign of y for relu and leaky(alpha > 0) */
    switch (act) {
    case FL_SIGMOID:
        FL_BACKWARD_LOOP(y, g * s * (one - s));
        break;
    case FL_TANH:
        FL_BACKWARD_LOOP(y, g * (one - s * s));
        break;
    case FL_RELU:
        FL_BACKWARD_LOOP(xy, s > zero ? g : zero);
        break;
    case FL_LEAKY_RELU: {
        const FL_REAL a = alpha[0];
        FL_BACKWARD_LOOP(xy, s > zero ? g : a * g);
        break;
    }
    case FL_PRELU:
        if (dalpha) {
            /* dalpha is a reduction over rows: accumulate in double, rows in order. */
            double shared = 0.0;
            for (fl_index i = 0; i < n; ++i) {
                const FL_REAL *gr = gy + i * m, *xr = x + i * m;
                for (fl_index j = 0; j < m; ++j) {
                    FL_REAL c = xr[j] < zero ? gr[j] * xr[j] : zero;
                    if (alpha_per_unit) dalpha[j] += c; else shared += (double)c;
                }
            }
            if (!alpha_per_unit) dalpha[0] += (FL_REAL)shared;
        }
        if (alpha_per_unit) {
            for (fl_index i = 0; i < n; ++i) {
                const FL_REAL *gr = gy + i * m, *xr = x + i * m;
                FL_REAL *out = gx + i * m;
                for (fl_index j = 0; j < m; ++j) out[j] = xr[j] > zero ? gr[j] : alpha[j] * gr[j];
            }
        } else {
            const FL_REAL a = alpha[0];
            FL_BACKWARD_LOOP(x, s > zero ? g : a * g);
        }
        break;
    case FL_ABS:
        FL_BACKWARD_LOOP(x, s > zero ? g : (s < zero ? -g : zero));
        break;
    default:
        if (gx != gy)
            for (fl_index k = 0; k < n * m; ++k) gx[k] = gy[k];
        break;
    }
}

void FL_FN(fl_column_sum)(fl_index n, fl_index m, const FL_REAL *g, FL_REAL *db)
{
    if (m == 1) {
        /* a single column (a linear model's bias) is one long chain of adds: use eight lanes */
        FL_REAL acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        fl_index i = 0;
        for (; i + 8 <= n; i += 8)
            for (int k = 0; k < 8; ++k) acc[k] += g[i + k];
        FL_REAL s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        for (; i < n; ++i) s += g[i];
        db[0] = s;
        return;
    }
    /* 64 columns at a time, summed in a local block the compiler keeps in registers; summed
     * into db through memory, each row's adds waited on the previous row's stores (db may alias
     * g as far as the compiler knows): 32 x 64 took 120 instead of 37 ns. Rows in order, as
     * before. */
    for (fl_index j0 = 0; j0 < m; j0 += 64) {
        FL_REAL acc[64] = {0};
        if (m - j0 >= 64) {
            for (fl_index i = 0; i < n; ++i) {
                const FL_REAL *gr = g + i * m + j0;
                for (int j = 0; j < 64; ++j) acc[j] += gr[j];
            }
            for (int j = 0; j < 64; ++j) db[j0 + j] = acc[j];
        } else {
            const fl_index w = m - j0;
            for (fl_index i = 0; i < n; ++i) {
                const FL_REAL *gr = g + i * m + j0;
                for (fl_index j = 0; j < w; ++j) acc[j] += gr[j];
            }
            for (fl_index j = 0; j < w; ++j) db[j0 + j] = acc[j];
        }
    }
}

#undef FL_FN
#undef FL_FORWARD_LOOP
#undef FL_BACKWARD_LOOP
