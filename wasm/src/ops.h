/* The op implementations the program runner dispatches to: each op is a sequence of phases; prepare() runs on
 * one thread between phases (all others wait at the barrier) and returns the phase's task count (or -status);
 * task() runs one task on thread ith of nth. */
#ifndef WE_OPS_H
#define WE_OPS_H
#include "common.h"

typedef struct we_op_impl {
  int32_t n_phases;
  int32_t (*prepare)(const we_op *op, int32_t phase, int32_t nth);
  int32_t (*task)(const we_op *op, int32_t phase, int32_t task, int32_t ith, int32_t nth);
} we_op_impl;

extern const we_op_impl we_impl_mul_mat, we_impl_get_rows, we_impl_rms_norm, we_impl_binary, we_impl_unary,
    we_impl_slice0, we_impl_concat0, we_impl_repeat1, we_impl_rope, we_impl_attn, we_impl_moe_gate,
    we_impl_moe_experts;

WE_INLINE int32_t we_div_up(int32_t a, int32_t b) { return (a + b - 1) / b; }
WE_INLINE void *we_ptr(uint32_t p) { return (void *)(uintptr_t)p; }

/* Elementwise tasks cover at least this many elements, so a task costs more than taking it. */
#define WE_ELEMS_PER_TASK 16384

#endif
