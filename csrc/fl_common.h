/* Shared definitions of fastlin's plain-C kernels: no Python.h, pointer + length APIs.
 *
 * Every kernel exists for float (_f32) and double (_f64). The bodies are written once in a
 * *_tmpl.h file that the .c file includes twice with FL_REAL and FL_SUFFIX set, so the two
 * precisions can never drift apart.
 */
#ifndef FL_COMMON_H
#define FL_COMMON_H

#include <stddef.h>
#include <stdint.h>

typedef ptrdiff_t fl_index;

#define FL_INLINE static inline
#if defined(_MSC_VER)
#define FL_RESTRICT __restrict
#else
#define FL_RESTRICT __restrict__
#endif

#define FL_CONCAT_(a, b) a##b
#define FL_CONCAT(a, b) FL_CONCAT_(a, b)

#if defined(__GNUC__)
#define FL_PREFETCH(p) __builtin_prefetch((p))
#else
#define FL_PREFETCH(p) ((void)(p))
#endif

/* Asks for each cache line the `bytes` bytes (at least one) from p touch, once: a row about to
 * be read at random, whose lines the hardware prefetchers cannot guess. */
FL_INLINE void fl_prefetch_bytes(const void *p, size_t bytes)
{
    const uintptr_t end = (uintptr_t)p + bytes - 1;
    for (uintptr_t line = (uintptr_t)p & ~(uintptr_t)63; line <= end; line += 64)
        FL_PREFETCH((const char *)line);
}

/* Activation codes. fastlin/_kernels/_codes.pxd mirrors this enum for Cython and Python (as
 * fastlin._kernels._codes.Activation), so these values are the only ones to edit. */
enum fl_activation {
    FL_IDENTITY = 0,
    FL_SIGMOID = 1,
    FL_TANH = 2,
    FL_RELU = 3,
    FL_LEAKY_RELU = 4,
    FL_PRELU = 5,
    FL_ABS = 6
};

#endif
