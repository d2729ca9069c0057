/* Body of fl_permutation, included once per SIMD level (fl_variants.h) with FL_SUFFIX set.
 * Every level gives the same permutation for the same (n, seed): the same splitmix64 draws,
 * consumed in the same order. Where AVX-512 multiplies 64-bit lanes (vpmullq), the draws are
 * made a block ahead in vectors and the swaps then only wait on memory: 16384 rows 21 -> 13 us
 * on a Zen 5, 0.13 us of each 256-row step of a linear model. Without it, the mixing's 64-bit
 * multiplies do not vectorize and the draws stay in the swap loop. */
#define FL_FN(name) FL_CONCAT(name, FL_SUFFIX)

void FL_FN(fl_permutation)(fl_index n, uint64_t seed, int64_t *out)
{
    uint64_t state = seed;
    for (fl_index i = 0; i < n; ++i) out[i] = (int64_t)i;
#if defined(__AVX512DQ__)
    enum { BLOCK = 64 };
    uint64_t draws[BLOCK];
    int used = BLOCK;
#define FL_NEXT_DRAW()                                                                            \
    (used == BLOCK ? (fl_splitmix64_block(&state, draws, BLOCK), used = 1, draws[0])            \
                   : draws[used++])
#else
#define FL_NEXT_DRAW() fl_splitmix64(&state)
#endif
    for (fl_index i = n - 1; i > 0; --i) {
        const uint64_t range = (uint64_t)i + 1;
        uint64_t j;
        /* Lemire's multiply-shift with rejection (a division only on the rare rejection path)
         * for ranges that fit 32 bits; otherwise reject below 2^64 mod range, take the
         * remainder */
        if (range <= 0xffffffffULL) {
            const uint32_t r = (uint32_t)range;
            uint64_t m = (FL_NEXT_DRAW() >> 32) * (uint64_t)r;
            uint32_t low = (uint32_t)m;
            if (low < r) {
                const uint32_t threshold = (uint32_t)(-r) % r;
                while (low < threshold) {
                    m = (FL_NEXT_DRAW() >> 32) * (uint64_t)r;
                    low = (uint32_t)m;
                }
            }
            j = m >> 32;
        } else {
            const uint64_t threshold = (0 - range) % range;
            uint64_t x = FL_NEXT_DRAW();
            while (x < threshold) x = FL_NEXT_DRAW();
            j = x % range;
        }
        const int64_t t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
#undef FL_NEXT_DRAW
}

#undef FL_FN
