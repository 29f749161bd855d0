/* One row per weight type: block geometry, the activation format its dot reads, the dot (SIMD in SIMD builds)
 * and its scalar reference, and dequantize_row; plus the exported type queries. */
#include "common.h"

typedef int32_t (*we_dequant_fn)(const uint8_t *w, float *y, int32_t nb);

typedef struct {
  int32_t type;
  we_type_traits t;
  we_dequant_fn dequant;
} row_t;

#if WE_SIMD
#define D4(DOT) we_vec_dot4_##DOT
#else
#define D4(DOT) 0
#endif
#define ROW(T, BS, TS, ACT, DOT, DQN) {T, {BS, TS, ACT, we_vec_dot_##DOT, we_vec_dot_##DOT##_generic, 0}, we_dequant_##DQN}
#define ROW4(T, BS, TS, ACT, DOT, DQN) {T, {BS, TS, ACT, we_vec_dot_##DOT, we_vec_dot_##DOT##_generic, D4(DOT)}, we_dequant_##DQN}
static const row_t ROWS[] = {
    ROW(WE_F32, 1, 4, WE_ACT_F32, f32_f32, f32),
    ROW(WE_F16, 1, 2, WE_ACT_F16, f16_f16, f16),
    ROW(WE_BF16, 1, 2, WE_ACT_BF16, bf16_bf16, bf16),
    ROW4(WE_Q4_0, QK, 18, WE_ACT_Q8_0, q4_0_q8_0, q4_0),
    ROW4(WE_Q4_1, QK, 20, WE_ACT_Q8_0, q4_1_q8_1, q4_1),
    ROW4(WE_Q5_0, QK, 22, WE_ACT_Q8_0, q5_0_q8_0, q5_0),
    ROW4(WE_Q5_1, QK, 24, WE_ACT_Q8_0, q5_1_q8_1, q5_1),
    ROW4(WE_Q8_0, QK, 34, WE_ACT_Q8_0, q8_0_q8_0, q8_0),
    ROW4(WE_IQ4_NL, QK, 18, WE_ACT_Q8_0, iq4_nl_q8_0, iq4_nl),
    ROW(WE_Q2_K, QK_K, 84, WE_ACT_Q8_K, q2_k_q8_k, q2_k),
    ROW(WE_Q3_K, QK_K, 110, WE_ACT_Q8_K, q3_k_q8_k, q3_k),
    ROW4(WE_Q4_K, QK_K, 144, WE_ACT_Q8_K, q4_k_q8_k, q4_k),
    ROW4(WE_Q5_K, QK_K, 176, WE_ACT_Q8_K, q5_k_q8_k, q5_k),
    ROW4(WE_Q6_K, QK_K, 210, WE_ACT_Q8_K, q6_k_q8_k, q6_k),
    ROW(WE_IQ4_XS, QK_K, 136, WE_ACT_Q8_K, iq4_xs_q8_k, iq4_xs),
};
#undef ROW
#undef ROW4
#undef D4

static const row_t *find(int32_t type) {
  for (unsigned i = 0; i < sizeof(ROWS) / sizeof(ROWS[0]); i++)
    if (ROWS[i].type == type) return &ROWS[i];
  return 0;
}

const we_type_traits *we_traits(int32_t type) {
  const row_t *r = find(type);
  return r ? &r->t : 0;
}

WE_API int32_t we_isa(void) { return WE_ISA_ID; }
WE_API int32_t we_type_supported(int32_t type) { return find(type) != 0; }
WE_API int32_t we_block_size(int32_t type) {
  const row_t *r = find(type);
  return r ? r->t.block_size : -1;
}
WE_API int32_t we_row_bytes(int32_t type, int32_t n) {
  const row_t *r = find(type);
  if (!r || n % r->t.block_size != 0) return -1;
  return n / r->t.block_size * r->t.type_size;
}
WE_API int32_t we_act_type(int32_t type) {
  const row_t *r = find(type);
  return r ? r->t.act : -1;
}

WE_API int32_t we_dequantize_row(int32_t type, const void *src, float *dst, int32_t n) {
  const row_t *r = find(type);
  if (!r) return WE_ERR_TYPE;
  if (n % r->t.block_size != 0) return WE_ERR_SHAPE;
  return r->dequant((const uint8_t *)src, dst, n / r->t.block_size);
}

WE_API int32_t we_vec_dot4(int32_t type, int32_t n, const void *w, const void *const *acts, float *out) {
  const row_t *r = find(type);
  if (!r || !r->t.dot4) return WE_ERR_TYPE;
  if (n % r->t.block_size != 0) return WE_ERR_SHAPE;
  r->t.dot4(n, w, acts, out);
  return WE_OK;
}

WE_API int32_t we_vec_dot(int32_t type, int32_t n, const void *w, const void *act, float *out, int32_t generic) {
  const row_t *r = find(type);
  if (!r) return WE_ERR_TYPE;
  if (n % r->t.block_size != 0) return WE_ERR_SHAPE;
  *out = generic ? r->t.dot_generic(n, w, act) : r->t.dot(n, w, act);
  return WE_OK;
}
