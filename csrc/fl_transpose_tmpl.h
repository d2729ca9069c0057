/* Body of fl_transpose_f32, included once per SIMD level (fl_float_variants.h) with FL_SUFFIX
 * set. 8x8 blocks are transposed in registers: three rounds of two-source shuffles (pairs of
 * floats, then pairs of pairs, then 128-bit halves), which GCC turns into unpck/shuf/perm2f128
 * on AVX2. Element by element, the same 64x64 transpose took 6x as long (strided stores). */
#define FL_FN(name) FL_CONCAT(name, FL_SUFFIX)

typedef float FL_FN(fl_tv8_) __attribute__((vector_size(32)));
typedef int FL_FN(fl_ti8_) __attribute__((vector_size(32)));
#define FL_TV FL_FN(fl_tv8_)
#define FL_TI FL_FN(fl_ti8_)

FL_INLINE FL_TV FL_FN(fl_tload_)(const float *p)
{
    FL_TV v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* dst[c * ldd + r] = src[r * lds + c] for r, c < 8 */
FL_INLINE void FL_FN(fl_transpose8_)(const float *FL_RESTRICT s, fl_index lds,
                                     float *FL_RESTRICT d, fl_index ldd)
{
    const FL_TV r0 = FL_FN(fl_tload_)(s), r1 = FL_FN(fl_tload_)(s + lds);
    const FL_TV r2 = FL_FN(fl_tload_)(s + 2 * lds), r3 = FL_FN(fl_tload_)(s + 3 * lds);
    const FL_TV r4 = FL_FN(fl_tload_)(s + 4 * lds), r5 = FL_FN(fl_tload_)(s + 5 * lds);
    const FL_TV r6 = FL_FN(fl_tload_)(s + 6 * lds), r7 = FL_FN(fl_tload_)(s + 7 * lds);
    const FL_TI lo1 = {0, 8, 1, 9, 4, 12, 5, 13}, hi1 = {2, 10, 3, 11, 6, 14, 7, 15};
    const FL_TI lo2 = {0, 1, 8, 9, 4, 5, 12, 13}, hi2 = {2, 3, 10, 11, 6, 7, 14, 15};
    const FL_TI lo4 = {0, 1, 2, 3, 8, 9, 10, 11}, hi4 = {4, 5, 6, 7, 12, 13, 14, 15};
    const FL_TV t0 = __builtin_shuffle(r0, r1, lo1), t1 = __builtin_shuffle(r0, r1, hi1);
    const FL_TV t2 = __builtin_shuffle(r2, r3, lo1), t3 = __builtin_shuffle(r2, r3, hi1);
    const FL_TV t4 = __builtin_shuffle(r4, r5, lo1), t5 = __builtin_shuffle(r4, r5, hi1);
    const FL_TV t6 = __builtin_shuffle(r6, r7, lo1), t7 = __builtin_shuffle(r6, r7, hi1);
    const FL_TV u0 = __builtin_shuffle(t0, t2, lo2), u1 = __builtin_shuffle(t0, t2, hi2);
    const FL_TV u2 = __builtin_shuffle(t1, t3, lo2), u3 = __builtin_shuffle(t1, t3, hi2);
    const FL_TV u4 = __builtin_shuffle(t4, t6, lo2), u5 = __builtin_shuffle(t4, t6, hi2);
    const FL_TV u6 = __builtin_shuffle(t5, t7, lo2), u7 = __builtin_shuffle(t5, t7, hi2);
    const FL_TV out[8] = {__builtin_shuffle(u0, u4, lo4), __builtin_shuffle(u1, u5, lo4),
                          __builtin_shuffle(u2, u6, lo4), __builtin_shuffle(u3, u7, lo4),
                          __builtin_shuffle(u0, u4, hi4), __builtin_shuffle(u1, u5, hi4),
                          __builtin_shuffle(u2, u6, hi4), __builtin_shuffle(u3, u7, hi4)};
    for (int c = 0; c < 8; ++c) memcpy(d + c * ldd, &out[c], sizeof out[c]);
}

void FL_FN(fl_transpose)(fl_index rows, fl_index cols, const float *FL_RESTRICT src,
                         fl_index lds, float *FL_RESTRICT dst, fl_index ldd)
{
    fl_index r = 0;
    for (; r + 8 <= rows; r += 8) {
        fl_index c = 0;
        for (; c + 8 <= cols; c += 8)
            FL_FN(fl_transpose8_)(src + r * lds + c, lds, dst + c * ldd + r, ldd);
        for (; c < cols; ++c)
            for (int q = 0; q < 8; ++q) dst[c * ldd + r + q] = src[(r + q) * lds + c];
    }
    for (; r < rows; ++r)
        for (fl_index c = 0; c < cols; ++c) dst[c * ldd + r] = src[r * lds + c];
}

#undef FL_TI
#undef FL_TV
#undef FL_FN
