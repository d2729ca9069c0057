/* Which kernel variant this process runs, of those built per SIMD level (every float kernel, the
 * double losses and CSR products): 0 baseline, 1 AVX2+FMA, 2 AVX-512 (see FL_DISPATCH_AS in
 * fl_math.h). */
#ifndef FL_CPU_H
#define FL_CPU_H
int fl_simd_level(void);
#endif
