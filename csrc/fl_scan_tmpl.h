/* Body of fl_scan.c, included once per precision with FL_REAL and FL_SUFFIX set.
 * x * 0 is 0 for a finite x and NaN for an infinite or NaN one, so lanes summing x * 0 over a
 * block stay 0 exactly when the block is finite: no branch per element, and one test per
 * block of FL_SCAN_BLOCK values to stop early. 32 lanes make four independent vector chains:
 * with one, each add waits for the last and the scan ran below memory speed. */
#define FL_FN(name) FL_CONCAT(name, FL_SUFFIX)
#define FL_SCAN_BLOCK 4096

int FL_FN(fl_all_finite)(fl_index n, const FL_REAL *x)
{
    for (fl_index start = 0; start < n; start += FL_SCAN_BLOCK) {
        const fl_index len = n - start < FL_SCAN_BLOCK ? n - start : FL_SCAN_BLOCK;
        const FL_REAL *b = x + start;
        FL_REAL acc[32] = {0};
        FL_REAL total = 0;
        fl_index i = 0;
        for (; i + 32 <= len; i += 32)
            for (int l = 0; l < 32; ++l) acc[l] += b[i + l] * (FL_REAL)0;
        for (; i < len; ++i) acc[0] += b[i] * (FL_REAL)0;
        for (int l = 0; l < 32; ++l) total += acc[l];
        if (!(total == 0)) return 0;
    }
    return 1;
}

int FL_FN(fl_all_finite_rows)(fl_index n_rows, fl_index d, const FL_REAL *x, const int64_t *rows)
{
    /* 8-lane vector adds of x * 0 in four chains, the row's last eight read again (a value
     * counted twice is still 0 when finite); left to the auto-vectorizer, the per-row loops
     * came out as scalar adds and the adds, not the reads, set the pace */
    FL_REAL tail = 0; /* without the vector extension, every value is summed here */
#if defined(__GNUC__) && !defined(FL_NO_VECTOR_EXT)
    typedef FL_REAL vec __attribute__((vector_size(8 * sizeof(FL_REAL))));
#define FL_SCAN_LOAD(v, p) memcpy(&(v), (p), sizeof(v))
    vec a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
#endif
    for (fl_index r = 0; r < n_rows; ++r) {
        if (r + FL_SCAN_AHEAD < n_rows)
            fl_prefetch_bytes(x + rows[r + FL_SCAN_AHEAD] * d, (size_t)d * sizeof(FL_REAL));
        const FL_REAL *b = x + rows[r] * d;
#if defined(__GNUC__) && !defined(FL_NO_VECTOR_EXT)
        if (d >= 8) {
            fl_index i = 0;
            vec v, w, y, z;
            for (; i + 32 <= d; i += 32) {
                FL_SCAN_LOAD(v, b + i);
                FL_SCAN_LOAD(w, b + i + 8);
                FL_SCAN_LOAD(y, b + i + 16);
                FL_SCAN_LOAD(z, b + i + 24);
                a0 += v * 0;
                a1 += w * 0;
                a2 += y * 0;
                a3 += z * 0;
            }
            for (; i + 8 <= d; i += 8) {
                FL_SCAN_LOAD(v, b + i);
                a1 += v * 0;
            }
            if (i < d) {
                FL_SCAN_LOAD(v, b + d - 8);
                a2 += v * 0;
            }
            continue;
        }
#endif
        for (fl_index i = 0; i < d; ++i) tail += b[i] * (FL_REAL)0;
    }
#if defined(__GNUC__) && !defined(FL_NO_VECTOR_EXT)
    const vec s = (a0 + a1) + (a2 + a3);
    for (int l = 0; l < 8; ++l) tail += s[l];
#undef FL_SCAN_LOAD
#endif
    return tail == 0;
}

#undef FL_FN
