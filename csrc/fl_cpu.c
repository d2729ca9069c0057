/* See fl_cpu.h. */
#include "fl_cpu.h"
#include "fl_math.h"

int fl_simd_level(void)
{
#if FL_HAVE_DISPATCH
    return fl_cpu_level();
#else
    return 0;
#endif
}
