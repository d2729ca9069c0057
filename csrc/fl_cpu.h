/* Which float kernel variant this process runs: 0 baseline, 1 AVX2+FMA, 2 AVX-512 (see
 * FL_DISPATCH in fl_math.h). */
#ifndef FL_CPU_H
#define FL_CPU_H
int fl_simd_level(void);
#endif
