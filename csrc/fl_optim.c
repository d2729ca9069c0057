/* Optimizer kernels in float and double; see fl_optim.h for the update rules. */
#include <math.h>
#include "fl_optim.h"

#define FL_REAL float
#define FL_SUFFIX _f32
#define FL_SQRT sqrtf
#include "fl_optim_tmpl.h"
#undef FL_REAL
#undef FL_SUFFIX
#undef FL_SQRT

#define FL_REAL double
#define FL_SUFFIX _f64
#define FL_SQRT sqrt
#include "fl_optim_tmpl.h"
