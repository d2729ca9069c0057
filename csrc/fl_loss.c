/* Softmax and fused loss kernels in float and double; see fl_loss.h for the contract. */
#include "fl_loss.h"
#include "fl_math.h"

#define FL_REAL float
#define FL_SUFFIX _f32
#define FL_EXP fl_expf
#include "fl_loss_tmpl.h"
#undef FL_REAL
#undef FL_SUFFIX
#undef FL_EXP

#define FL_REAL double
#define FL_SUFFIX _f64
#define FL_EXP exp
#include "fl_loss_tmpl.h"
