/* Activation kernels in float and double; see fl_activation.h for the contract. */
#include "fl_activation.h"
#include "fl_math.h"

#define FL_REAL float
#define FL_SUFFIX _f32
#define FL_EXP fl_expf
#define FL_TANHF fl_tanhf
#include "fl_activation_tmpl.h"
#undef FL_REAL
#undef FL_SUFFIX
#undef FL_EXP
#undef FL_TANHF

#define FL_REAL double
#define FL_SUFFIX _f64
#define FL_EXP exp
#define FL_TANHF tanh
#include "fl_activation_tmpl.h"
