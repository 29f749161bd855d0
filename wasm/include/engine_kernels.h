/* engine_kernels.h - the whole C ABI of ktweb's WebAssembly kernels (plain C99, freestanding, wasm32).
 * One source tree builds three binaries selected by a macro: WE_ISA_SCALAR, WE_ISA_SIMD128, WE_ISA_RELAXED
 * (wasm/out/kernels-<isa>.wasm). Every build also carries the scalar reference of each kernel (`_generic`).
 * Pointers are byte offsets into the one shared memory; shapes are ggml order (ne0 contiguous). Functions return
 * a we_status and never abort. src/backends/wasm/abi.ts mirrors the enums, struct layouts and field indices. */
#ifndef ENGINE_KERNELS_H
#define ENGINE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#define WE_API __attribute__((visibility("default")))

enum we_status {
  WE_OK = 0,
  WE_ERR_TYPE = 1,     /* weight type without a kernel */
  WE_ERR_SHAPE = 2,    /* element count not whole blocks, or a bad dimension */
  WE_ERR_INDEX = 3,    /* a row id outside its table (get_rows) or a position past the context (attn) */
  WE_ERR_OP = 4,       /* unknown op code */
  WE_ERR_EXPERT = 5,   /* an expert id outside [0, n_expert) */
};

/* ggml type ids (enum ggml_type). */
enum we_type {
  WE_F32 = 0, WE_F16 = 1, WE_Q4_0 = 2, WE_Q4_1 = 3, WE_Q5_0 = 6, WE_Q5_1 = 7, WE_Q8_0 = 8, WE_Q8_1 = 9,
  WE_Q2_K = 10, WE_Q3_K = 11, WE_Q4_K = 12, WE_Q5_K = 13, WE_Q6_K = 14, WE_Q8_K = 15,
  WE_IQ4_NL = 20, WE_IQ4_XS = 23, WE_BF16 = 30,
};

/* Activation rows a weight type's dot product reads (llama.cpp's vec_dot_type, in a SIMD-friendly layout):
 *   F32:  float[n].   F16 / BF16: float[n] rounded through fp16 / bf16 (ggml converts src1 the same way).
 *   Q8_0: int8 qs[n] | float d[n/32] | float d*sum(qs)[n/32] | relaxed builds: uint8 pos[n] | uint8 neg[n]
 *         (qs and d are exactly quantize_row_q8_0_ref's; Q8_1 differs only in its fp16 sum, which we keep exact)
 *   Q8_K: int8 qs[n] | float d[n/256] | int16 bsums[n/16] | int16 sums of 32[n/32] | relaxed: pos[n] | neg[n]
 * Planes start at 16-byte multiples. pos/neg = max(q, 0), max(-q, 0): both fit relaxed dot's 7-bit operand
 * (relaxed_dot_i8x16_i7x16), so signed weights (Q8_0, IQ4_*) dot against them; unsigned quants take the 7-bit
 * operand themselves and their offsets/mins go through the sums. */
enum we_act { WE_ACT_F32 = 0, WE_ACT_F16 = 1, WE_ACT_BF16 = 2, WE_ACT_Q8_0 = 3, WE_ACT_Q8_K = 4 };

enum we_isa { WE_ISA_ID_SCALAR = 0, WE_ISA_ID_SIMD128 = 1, WE_ISA_ID_RELAXED = 2 };

/* ---- type traits ---- */
WE_API int32_t we_isa(void);
WE_API int32_t we_type_supported(int32_t type);  /* 1 when mul_mat/get_rows/experts can read the type */
WE_API int32_t we_block_size(int32_t type);
WE_API int32_t we_row_bytes(int32_t type, int32_t n);  /* -1 when n is not whole blocks */
WE_API int32_t we_act_type(int32_t type);              /* we_act of the type's dot product */
WE_API int32_t we_act_row_bytes(int32_t act, int32_t n);  /* 16-byte multiple */

/* ---- activations ---- */
/* ggml blocks, bit-exact with quantize_row_q8_0_ref / q8_1_ref / q8_K_ref (src/quant has the TS references). */
WE_API int32_t we_quantize_row_q8_0(const float *x, void *y, int32_t n);
WE_API int32_t we_quantize_row_q8_1(const float *x, void *y, int32_t n);
WE_API int32_t we_quantize_row_q8_k(const float *x, void *y, int32_t n);
/* One activation row in the layout of `act` (see enum we_act). */
WE_API int32_t we_quantize_act(int32_t act, const float *x, void *dst, int32_t n);

/* ---- weights ---- */
WE_API int32_t we_dequantize_row(int32_t type, const void *src, float *dst, int32_t n);
/* Dot of one weight row (GGUF blocks of `type`) with one activation row of we_act_type(type). `generic` = 1 picks
 * the scalar reference in any build. */
WE_API int32_t we_vec_dot(int32_t type, int32_t n, const void *w, const void *act, float *out, int32_t generic);

typedef float (*we_vec_dot_fn)(int32_t n, const void *w, const void *act);
#define WE_DOT(name)                                                              \
  float we_vec_dot_##name(int32_t n, const void *w, const void *act);             \
  float we_vec_dot_##name##_generic(int32_t n, const void *w, const void *act);
WE_DOT(f32_f32)
WE_DOT(f16_f16)
WE_DOT(bf16_bf16)
WE_DOT(q4_0_q8_0)
WE_DOT(q4_1_q8_1)
WE_DOT(q5_0_q8_0)
WE_DOT(q5_1_q8_1)
WE_DOT(q8_0_q8_0)
WE_DOT(iq4_nl_q8_0)
WE_DOT(q2_k_q8_k)
WE_DOT(q3_k_q8_k)
WE_DOT(q4_k_q8_k)
WE_DOT(q5_k_q8_k)
WE_DOT(q6_k_q8_k)
WE_DOT(iq4_xs_q8_k)
#undef WE_DOT

/* One weight row against 4 activation rows at once (weights decoded once: prefill and expert GEMMs). SIMD builds,
 * for the types listed; we_vec_dot4 answers WE_ERR_TYPE where a type has none. */
typedef void (*we_vec_dot4_fn)(int32_t n, const void *w, const void *const *acts, float *out);
#define WE_DOT4(name) void we_vec_dot4_##name(int32_t n, const void *w, const void *const *acts, float *out);
WE_DOT4(q4_0_q8_0)
WE_DOT4(q4_1_q8_1)
WE_DOT4(q5_0_q8_0)
WE_DOT4(q5_1_q8_1)
WE_DOT4(q8_0_q8_0)
WE_DOT4(iq4_nl_q8_0)
WE_DOT4(q4_k_q8_k)
WE_DOT4(q5_k_q8_k)
WE_DOT4(q6_k_q8_k)
#undef WE_DOT4
WE_API int32_t we_vec_dot4(int32_t type, int32_t n, const void *w, const void *const *acts, float *out);

/* ---- graph programs ----
 * A program is an array of we_op records that a pool of threads runs together: each op is one or more phases of
 * independent tasks; threads take tasks from per-thread ranges and steal from each other (atomic counters in
 * we_ctl), and a barrier separates phases. Field use per op code below; unused fields are 0. */
enum we_op_code {
  WE_OP_MUL_MAT = 1,     /* w [k, m, H] x [k, H, n] -> dst [m, H, n]: type, act, ne = {k, m, n, H},
                            p = {w, x, dst, act scratch}, i = {w row stride, act row bytes, w head stride} */
  WE_OP_GET_ROWS = 2,    /* type, ne = {k, n_rows, n_ids}, p = {w, ids (int32), dst}, i = {row stride} */
  WE_OP_RMS_NORM = 3,    /* ne = {n0, rows}, p = {x, -, dst}, f = {eps} */
  WE_OP_BINARY = 4,      /* dst = a (op) b, b broadcast: ne = a's 4 dims, i = {b's 4 dims, 0 mul | 1 add},
                            p = {a, b, dst} */
  WE_OP_UNARY = 5,       /* ne = {numel}, p = {x, y, dst}, i = {0 scale | 1 sigmoid | 2 swiglu(x, y)}, f = {s} */
  WE_OP_SLICE0 = 6,      /* ne = {n0 of src, len, rows}, p = {src, -, dst}, i = {start} */
  WE_OP_CONCAT0 = 7,     /* ne = {na, nb, rows}, p = {a, b, dst} */
  WE_OP_REPEAT1 = 8,     /* [n0, 1, n2] -> [n0, rep, n2]: ne = {n0, rep, n2}, p = {src, -, dst} */
  WE_OP_ROPE = 9,        /* ne = {hd, n_head, nt}, p = {x, table double [n_dims, nt] (cos, sin pairs), dst},
                            i = {n_dims, 0 normal | 1 neox} */
  WE_OP_ATTN = 10,       /* ne = {dk, dv, n_head, nt}, p = {q, k, v, positions, k cache, v cache, dst, scratch},
                            i = {n_kv_head, n_ctx}, f = {scale}; caches [dk, n_kv, n_ctx] / [dv, n_kv, n_ctx] */
  WE_OP_MOE_GATE = 11,   /* ne = {n_expert, nt, n_used}, p = {logits, bias or 0, dst [2*n_used, nt]},
                            i = {0 softmax | 1 sigmoid, norm, n_group, topk_group, 0 top2_sum | 1 max}, f = {scale} */
  WE_OP_MOE_EXPERTS = 12 /* ne = {n_embd, n_ff, n_expert, nt}, p = {x, route, gate, up, down, dst, scratch},
                            i = {n_used, gate type, up type, down type} */
};

typedef struct we_op {
  int32_t code;
  int32_t type;
  int32_t act;
  int32_t reserved;
  int32_t ne[4];
  uint32_t p[8];
  int32_t i[8];
  float f[8];
} we_op; /* 128 bytes */

/* Scratch bytes a MOE_EXPERTS op needs (p[6]). */
WE_API int32_t we_moe_scratch_bytes(const we_op *op);

/* Control block shared by the caller and the threads; int32 words at these indices. The caller writes the
 * program, bumps RUN_SEQ and notifies it; threads run it and the last one stores RUN_SEQ into DONE_SEQ and
 * notifies DONE_SEQ. Per-thread task ranges start at word WE_CTL_RANGES, WE_CTL_RANGE_STRIDE words apart. */
enum we_ctl_word {
  WE_CTL_RUN_SEQ = 0,
  WE_CTL_DONE_SEQ = 16,
  WE_CTL_QUIT = 32,
  WE_CTL_N_THREADS = 33,
  WE_CTL_OPS = 34,
  WE_CTL_N_OPS = 35,
  WE_CTL_STATUS = 36,      /* first non-zero we_status of the run */
  WE_CTL_STATUS_OP = 37,   /* index of the op that set it */
  WE_CTL_SPIN = 38,        /* spin iterations before a thread sleeps */
  WE_CTL_ABORT = 39,       /* set (and BAR_GEN, DONE_SEQ notified) when a thread trapped: everyone leaves */
  WE_CTL_BAR_COUNT = 48,
  WE_CTL_EXIT_COUNT = 49,  /* threads that left the run; the last one publishes DONE_SEQ */
  WE_CTL_BAR_GEN = 64,
  WE_CTL_BAR_WAITERS = 65,
  WE_CTL_PC_OP = 80,
  WE_CTL_PC_PHASE = 81,
  WE_CTL_N_TASKS = 82,
  WE_CTL_RANGES = 96,
  WE_CTL_RANGE_STRIDE = 16
};
#define WE_CTL_BYTES(nth) (4 * (WE_CTL_RANGES + WE_CTL_RANGE_STRIDE * (nth)))

/* Thread `ith` of `nth`: waits for runs until WE_CTL_QUIT is set. */
WE_API int32_t we_worker_main(int32_t *ctl, int32_t ith);
/* Runs a program on the calling thread alone (tests, and runtimes without threads). */
WE_API int32_t we_run_program(const we_op *ops, int32_t n_ops);

#endif
