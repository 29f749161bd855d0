/* Causal attention over a per-layer f32 KV cache (the cache is [dk, n_kv, n_ctx] K and [dv, n_kv, n_ctx] V).
 * Phase 0 stores the new tokens' K/V at their positions; phase 1 runs one task per (token, head): scores over
 * positions 0..pos, softmax, weighted sum of V. Grouped heads share a KV head (h / (n_head / n_kv)). Scores go to
 * the thread's slice of the scratch (n_ctx floats per thread). */
#include "ops.h"

static int32_t attn_prepare(const we_op *op, int32_t phase, int32_t nth) {
  (void)nth;
  return phase == 0 ? op->ne[3] : op->ne[3] * op->ne[2];
}

WE_INLINE void axpy(float *y, const float *x, float a, int32_t n) {
  int32_t i = 0;
#if WE_SIMD
  const v128_t va = wasm_f32x4_splat(a);
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, wasm_f32x4_add(wasm_v128_load(y + i), wasm_f32x4_mul(va, wasm_v128_load(x + i))));
#endif
  for (; i < n; i++) y[i] += a * x[i];
}

static int32_t attn_task(const we_op *op, int32_t phase, int32_t t, int32_t ith, int32_t nth) {
  (void)nth;
  const int32_t dk = op->ne[0], dv = op->ne[1], nh = op->ne[2];
  const int32_t nkv = op->i[0], nctx = op->i[1];
  const int32_t *pos = (const int32_t *)we_ptr(op->p[3]);
  float *kc = (float *)we_ptr(op->p[4]), *vc = (float *)we_ptr(op->p[5]);
  if (phase == 0) {
    const int32_t p = pos[t];
    if (p < 0 || p >= nctx) return WE_ERR_INDEX;
    __builtin_memcpy(kc + (size_t)p * dk * nkv, (const float *)we_ptr(op->p[1]) + (size_t)t * dk * nkv, 4 * (size_t)dk * nkv);
    __builtin_memcpy(vc + (size_t)p * dv * nkv, (const float *)we_ptr(op->p[2]) + (size_t)t * dv * nkv, 4 * (size_t)dv * nkv);
    return WE_OK;
  }
  const int32_t tok = t / nh, h = t % nh, kh = h / (nh / nkv);
  const int32_t len = pos[tok] + 1;
  if (len < 1 || len > nctx) return WE_ERR_INDEX;
  const float *q = (const float *)we_ptr(op->p[0]) + (size_t)(tok * nh + h) * dk;
  float *sc = (float *)we_ptr(op->p[7]) + (size_t)ith * nctx;
  const float scale = op->f[0];
  float max = -__builtin_inff();
  for (int32_t j = 0; j < len; j++) {
    const float s = we_vec_dot_f32_f32(dk, q, kc + ((size_t)j * nkv + kh) * dk) * scale;
    sc[j] = s;
    max = s > max ? s : max;
  }
  float sum = 0.0f;
  for (int32_t j = 0; j < len; j++) sum += sc[j] = we_expf(sc[j] - max);
  float *y = (float *)we_ptr(op->p[6]) + (size_t)(tok * nh + h) * dv;
  for (int32_t i = 0; i < dv; i++) y[i] = 0.0f;
  for (int32_t j = 0; j < len; j++) axpy(y, vc + ((size_t)j * nkv + kh) * dv, sc[j], dv);
  const float inv = 1.0f / sum;
  for (int32_t i = 0; i < dv; i++) y[i] *= inv;
  return WE_OK;
}

const we_op_impl we_impl_attn = {2, attn_prepare, attn_task};
