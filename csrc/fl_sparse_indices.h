/* fl_variants.h once per index width (int32_t and int64_t, suffixes _i32 and _i64) for the
 * precision the including file has set (FL_REAL, FL_VARIANTS_OF, FL_TEMPLATE). No include
 * guard: included once per precision. */
#define FL_IDX int32_t
#define FL_IDX_NAME _i32
#include "fl_variants.h"
#undef FL_IDX
#undef FL_IDX_NAME
#define FL_IDX int64_t
#define FL_IDX_NAME _i64
#include "fl_variants.h"
#undef FL_IDX
#undef FL_IDX_NAME
