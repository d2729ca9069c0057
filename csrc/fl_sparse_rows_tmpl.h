/* The row kernels of fl_sparse_tmpl.h for one lane type, included with FL_LANE_T (a 32-byte
 * vector of FL_REAL, or FL_REAL itself), FL_LANES (its values), FL_QCAP (the most lane values
 * a panel of this type holds) and FL_W (its names) set.
 *
 * A panel is a range of at least FL_LANES and at most FL_SPARSE_QMAX * FL_LANES columns from
 * c0, held in Q lane values: Q - 1 whole ones, and the last one ending the panel, `tail`
 * columns after c0 (possibly inside the one before). The overlapping columns are computed
 * twice, from the same values by the same operations, so both copies are the same bits; and no
 * load reaches past a row, which a masked tail would otherwise need at every SIMD level. Q is a
 * constant in each inlined copy, so the accumulators (forward) or the row of G (transposed)
 * stay in registers instead of going through memory for every stored entry.
 *
 * Each entry p below `ahead_end` requests the row that entry p + FL_SPARSE_AHEAD needs (none
 * when ahead_end is 0). */

FL_INLINE FL_LANE_T FL_W(load_)(const FL_REAL *p)
{
    FL_LANE_T v;
    memcpy(&v, p, sizeof v);
    return v;
}

FL_INLINE void FL_W(store_)(FL_REAL *p, FL_LANE_T v)
{
    memcpy(p, &v, sizeof v);
}

/* out[i, c0:c0 + tail + FL_LANES] for the rows [b0, b1), each summed over its entries in order */
__attribute__((always_inline)) FL_INLINE void
FL_W(times_panel_)(const int Q, fl_index b0, fl_index b1, fl_index ahead_end,
                   const FL_REAL *data, const FL_IDX *indices, const FL_IDX *indptr, fl_index d,
                   fl_index k, const FL_REAL *W, FL_REAL *out, fl_index c0, fl_index tail)
{
    const fl_index span = (tail + FL_LANES) * (fl_index)sizeof(FL_REAL);
    for (fl_index i = b0; i < b1; ++i) {
        FL_LANE_T acc[FL_SPARSE_QMAX];
        memset(acc, 0, sizeof acc);
        for (fl_index p = indptr[i]; p < indptr[i + 1]; ++p) {
            FL_FN(prefetch_ahead_)(indices, p, ahead_end, d, k, W, c0, span);
            const fl_index j = indices[p];
            if ((size_t)j >= (size_t)d) continue;
            const FL_REAL v = data[p];
            const FL_REAL *w = W + j * k + c0;
            for (int q = 0; q < Q; ++q)
                acc[q] += v * FL_W(load_)(w + (q < Q - 1 ? q * FL_LANES : tail));
        }
        FL_REAL *o = out + i * k + c0;
        for (int q = 0; q < Q; ++q) FL_W(store_)(o + (q < Q - 1 ? q * FL_LANES : tail), acc[q]);
    }
}

/* block[j, c0:c0 + tail + FL_LANES] += data[p] G[i, same] for the rows [b0, b1) in order. Each
 * entry loads all of its Q lane values before it stores any, so the overlapping columns are
 * added once, from the values before the entry. */
__attribute__((always_inline)) FL_INLINE void
FL_W(transposed_panel_)(const int Q, fl_index b0, fl_index b1, fl_index ahead_end,
                        const FL_REAL *data, const FL_IDX *indices, const FL_IDX *indptr,
                        fl_index d, fl_index k, const FL_REAL *G, FL_REAL *block, fl_index c0,
                        fl_index tail)
{
    const fl_index span = (tail + FL_LANES) * (fl_index)sizeof(FL_REAL);
    for (fl_index i = b0; i < b1; ++i) {
        FL_LANE_T g[FL_SPARSE_QMAX];
        for (int q = 0; q < Q; ++q)
            g[q] = FL_W(load_)(G + i * k + c0 + (q < Q - 1 ? q * FL_LANES : tail));
        for (fl_index p = indptr[i]; p < indptr[i + 1]; ++p) {
            FL_FN(prefetch_ahead_)(indices, p, ahead_end, d, k, block, c0, span);
            const fl_index j = indices[p];
            if ((size_t)j >= (size_t)d) continue;
            const FL_REAL v = data[p];
            FL_REAL *b = block + j * k + c0;
            FL_LANE_T x[FL_SPARSE_QMAX];
            for (int q = 0; q < Q; ++q) x[q] = FL_W(load_)(b + (q < Q - 1 ? q * FL_LANES : tail));
            for (int q = 0; q < Q; ++q) x[q] += v * g[q];
            for (int q = 0; q < Q; ++q) FL_W(store_)(b + (q < Q - 1 ? q * FL_LANES : tail), x[q]);
        }
    }
}

/* PANEL(Q, ...) with Q = q as a constant, 1 <= q <= FL_SPARSE_QMAX; the cases beyond
 * FL_QCAP, which this lane type never runs, are unreachable and compiled away */
#define FL_SPARSE_SWITCH(q, PANEL, ...)                                                           \
    switch ((q) < FL_QCAP ? (q) : FL_QCAP) {                                                      \
    case 1: PANEL(1, __VA_ARGS__); break;                                                         \
    case 2: PANEL(2, __VA_ARGS__); break;                                                         \
    case 3: PANEL(3, __VA_ARGS__); break;                                                         \
    case 4: PANEL(4, __VA_ARGS__); break;                                                         \
    case 5: PANEL(5, __VA_ARGS__); break;                                                         \
    case 6: PANEL(6, __VA_ARGS__); break;                                                         \
    case 7: PANEL(7, __VA_ARGS__); break;                                                         \
    default: PANEL(8, __VA_ARGS__); break;                                                        \
    }

static void FL_W(times_rows_)(fl_index r0, fl_index r1, const FL_REAL *data,
                              const FL_IDX *indices, const FL_IDX *indptr, fl_index d,
                              fl_index k, const FL_REAL *W, FL_REAL *out)
{
    const fl_index np = fl_sparse_panels_(k, FL_LANES);
    const fl_index ahead_end = FL_FN(prefetch_end_)(indptr, r1, d, k);
    for (fl_index b0 = r0; b0 < r1; b0 += FL_SPARSE_ROWS) {
        const fl_index b1 = r1 - b0 > FL_SPARSE_ROWS ? b0 + FL_SPARSE_ROWS : r1;
        for (fl_index pn = 0; pn < np; ++pn) {
            fl_index c0, tail;
            const int q = fl_sparse_panel_(k, FL_LANES, pn, np, &c0, &tail);
            FL_SPARSE_SWITCH(q, FL_W(times_panel_), b0, b1, ahead_end, data, indices, indptr, d,
                             k, W, out, c0, tail)
        }
    }
}

static void FL_W(transposed_rows_)(fl_index r0, fl_index r1, const FL_REAL *data,
                                   const FL_IDX *indices, const FL_IDX *indptr, fl_index d,
                                   fl_index k, const FL_REAL *G, FL_REAL *block)
{
    const fl_index np = fl_sparse_panels_(k, FL_LANES);
    const fl_index ahead_end = FL_FN(prefetch_end_)(indptr, r1, d, k);
    for (fl_index b0 = r0; b0 < r1; b0 += FL_SPARSE_ROWS) {
        const fl_index b1 = r1 - b0 > FL_SPARSE_ROWS ? b0 + FL_SPARSE_ROWS : r1;
        for (fl_index pn = 0; pn < np; ++pn) {
            fl_index c0, tail;
            const int q = fl_sparse_panel_(k, FL_LANES, pn, np, &c0, &tail);
            FL_SPARSE_SWITCH(q, FL_W(transposed_panel_), b0, b1, ahead_end, data, indices,
                             indptr, d, k, G, block, c0, tail)
        }
    }
}
#undef FL_SPARSE_SWITCH
