/* The program runner shared by all threads: ops run phase by phase; a barrier separates phases and its last
 * arriving thread prepares the next phase alone (task count, per-thread ranges), so no extra barrier is needed.
 * Tasks are split in contiguous per-thread ranges; a thread drains its own range, then steals from the others
 * (atomic fetch_add on their counters), as KTransformers' Backend::do_work_stealing_job. Waiting threads spin
 * WE_CTL_SPIN times, then sleep in memory.atomic.wait32 (workers only; the caller's thread never waits here). */
#include "ops.h"

#define LD(w) __atomic_load_n(&ctl[w], __ATOMIC_SEQ_CST)
#define ST(w, v) __atomic_store_n(&ctl[w], (v), __ATOMIC_SEQ_CST)

static const we_op_impl *impl_of(int32_t code) {
  switch (code) {
    case WE_OP_MUL_MAT: return &we_impl_mul_mat;
    case WE_OP_GET_ROWS: return &we_impl_get_rows;
    case WE_OP_RMS_NORM: return &we_impl_rms_norm;
    case WE_OP_BINARY: return &we_impl_binary;
    case WE_OP_UNARY: return &we_impl_unary;
    case WE_OP_SLICE0: return &we_impl_slice0;
    case WE_OP_CONCAT0: return &we_impl_concat0;
    case WE_OP_REPEAT1: return &we_impl_repeat1;
    case WE_OP_ROPE: return &we_impl_rope;
    case WE_OP_ATTN: return &we_impl_attn;
    case WE_OP_MOE_GATE: return &we_impl_moe_gate;
    case WE_OP_MOE_EXPERTS: return &we_impl_moe_experts;
    default: return 0;
  }
}

static void set_status(int32_t *ctl, int32_t st, int32_t op) {
  int32_t expected = 0;
  if (__atomic_compare_exchange_n(&ctl[WE_CTL_STATUS], &expected, st, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) ST(WE_CTL_STATUS_OP, op);
}

/* Serial section: move the program counter to the next phase that has tasks and split them. Sets PC_OP to -1
 * when the program is done. */
static void advance(int32_t *ctl, int32_t nth) {
  const we_op *ops = (const we_op *)(uintptr_t)(uint32_t)LD(WE_CTL_OPS);
  const int32_t n_ops = LD(WE_CTL_N_OPS);
  int32_t op = LD(WE_CTL_PC_OP), phase = LD(WE_CTL_PC_PHASE);
  int32_t tasks = 0;
  for (;;) {
    phase++;
    const we_op_impl *im = op < n_ops ? impl_of(ops[op].code) : 0;
    if (op < n_ops && !im) {
      set_status(ctl, WE_ERR_OP, op);
      op++;
      phase = -1;
      continue;
    }
    if (op < n_ops && phase >= im->n_phases) {
      op++;
      phase = -1;
      continue;
    }
    if (op >= n_ops) {
      op = -1;
      break;
    }
    tasks = im->prepare(&ops[op], phase, nth);
    if (tasks < 0) {
      set_status(ctl, -tasks, op);
      tasks = 0;
    }
    if (tasks > 0) break;
  }
  ST(WE_CTL_N_TASKS, tasks);
  for (int32_t t = 0; t < nth; t++) {
    int32_t *r = ctl + WE_CTL_RANGES + WE_CTL_RANGE_STRIDE * t;
    __atomic_store_n(&r[0], (int32_t)((int64_t)tasks * t / nth), __ATOMIC_SEQ_CST);
    __atomic_store_n(&r[1], (int32_t)((int64_t)tasks * (t + 1) / nth), __ATOMIC_SEQ_CST);
  }
  ST(WE_CTL_PC_PHASE, phase);
  ST(WE_CTL_PC_OP, op);
}

/* Returns 0 when `word` changed, 1 when the pool aborted (a thread trapped). */
static int32_t wait_while_equal(int32_t *ctl, int32_t word, int32_t value, int32_t waiters_word) {
  const int32_t spin = LD(WE_CTL_SPIN);
  for (int32_t i = 0; i < spin; i++)
    if (LD(word) != value) return 0;
  while (LD(word) == value) {
    if (LD(WE_CTL_ABORT)) return 1;
    if (waiters_word >= 0) __atomic_fetch_add(&ctl[waiters_word], 1, __ATOMIC_SEQ_CST);
    __builtin_wasm_memory_atomic_wait32(&ctl[word], value, -1);
    if (waiters_word >= 0) __atomic_fetch_sub(&ctl[waiters_word], 1, __ATOMIC_SEQ_CST);
  }
  return 0;
}

/* All nth threads meet; the last one runs advance() and releases the others. Returns 1 on abort. */
static int32_t barrier(int32_t *ctl, int32_t nth) {
  const int32_t gen = LD(WE_CTL_BAR_GEN);
  if (__atomic_fetch_add(&ctl[WE_CTL_BAR_COUNT], 1, __ATOMIC_SEQ_CST) == nth - 1) {
    ST(WE_CTL_BAR_COUNT, 0);
    advance(ctl, nth);
    ST(WE_CTL_BAR_GEN, gen + 1);
    if (LD(WE_CTL_BAR_WAITERS) > 0) __builtin_wasm_memory_atomic_notify(&ctl[WE_CTL_BAR_GEN], 0xffffffffu);
    return 0;
  }
  return nth > 1 ? wait_while_equal(ctl, WE_CTL_BAR_GEN, gen, WE_CTL_BAR_WAITERS) : 0;
}

static void run_tasks(int32_t *ctl, int32_t ith, int32_t nth) {
  const we_op *ops = (const we_op *)(uintptr_t)(uint32_t)LD(WE_CTL_OPS);
  const int32_t op = LD(WE_CTL_PC_OP), phase = LD(WE_CTL_PC_PHASE);
  const we_op_impl *im = impl_of(ops[op].code);
  for (int32_t k = 0; k < nth; k++) {
    int32_t *r = ctl + WE_CTL_RANGES + WE_CTL_RANGE_STRIDE * ((ith + k) % nth);
    const int32_t end = __atomic_load_n(&r[1], __ATOMIC_SEQ_CST);
    for (;;) {
      const int32_t t = __atomic_fetch_add(&r[0], 1, __ATOMIC_SEQ_CST);
      if (t >= end) break;
      const int32_t st = im->task(&ops[op], phase, t, ith, nth);
      if (st != WE_OK) set_status(ctl, st, op);
    }
  }
}

/* One run of the program in ctl, by thread ith of nth. Returns 1 when the pool aborted. */
static int32_t run(int32_t *ctl, int32_t ith, int32_t nth) {
  if (barrier(ctl, nth)) return 1;
  while (LD(WE_CTL_PC_OP) >= 0) {
    run_tasks(ctl, ith, nth);
    if (barrier(ctl, nth)) return 1;
  }
  return 0;
}

WE_API int32_t we_worker_main(int32_t *ctl, int32_t ith) {
  const int32_t nth = LD(WE_CTL_N_THREADS);
  /* RUN_SEQ starts at 0 in a fresh control block; reading it here instead could miss a run posted before this
   * thread got going */
  int32_t seen = 0;
  for (;;) {
    if (wait_while_equal(ctl, WE_CTL_RUN_SEQ, seen, -1) || LD(WE_CTL_ABORT) || LD(WE_CTL_QUIT)) return WE_OK;
    seen = LD(WE_CTL_RUN_SEQ);
    if (run(ctl, ith, nth)) return WE_OK;
    /* DONE_SEQ only once every thread has left run(), so the caller may write the next program at once */
    if (__atomic_add_fetch(&ctl[WE_CTL_EXIT_COUNT], 1, __ATOMIC_SEQ_CST) == nth) {
      ST(WE_CTL_EXIT_COUNT, 0);
      ST(WE_CTL_DONE_SEQ, seen);
      __builtin_wasm_memory_atomic_notify(&ctl[WE_CTL_DONE_SEQ], 0xffffffffu);
    }
  }
}

static int32_t solo_ctl[WE_CTL_RANGES + WE_CTL_RANGE_STRIDE];

WE_API int32_t we_run_program(const we_op *ops, int32_t n_ops) {
  int32_t *ctl = solo_ctl;
  ST(WE_CTL_OPS, (int32_t)(uintptr_t)ops);
  ST(WE_CTL_N_OPS, n_ops);
  ST(WE_CTL_STATUS, 0);
  ST(WE_CTL_PC_OP, 0);
  ST(WE_CTL_PC_PHASE, -1);
  run(ctl, 0, 1);
  return LD(WE_CTL_STATUS);
}
