/* Body of fl_indices_in_range, included once per SIMD level (fl_variants.h) with FL_SUFFIX
 * set. One unsigned compare per index (a negative one wraps above every limit), or-ed into
 * lanes with no branch, so the loop vectorizes; the compare-and-keep-the-extreme loop it
 * replaced in train.pyx's TrainPlan.run ran at 0.7 ns an index (12 us for a 16384-row epoch). */
#define FL_FN(name) FL_CONCAT(name, FL_SUFFIX)

int FL_FN(fl_indices_in_range)(fl_index n, const int64_t *x, int64_t limit)
{
    uint64_t bad[8] = {0};
    const uint64_t lim = (uint64_t)limit;
    fl_index i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; ++l) bad[l] |= (uint64_t)x[i + l] >= lim;
    for (; i < n; ++i) bad[0] |= (uint64_t)x[i] >= lim;
    return !((bad[0] | bad[1]) | (bad[2] | bad[3]) | (bad[4] | bad[5]) | (bad[6] | bad[7]));
}

#undef FL_FN
