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

#undef FL_FN
