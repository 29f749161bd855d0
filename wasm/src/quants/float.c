/* F32, F16 and BF16 weights: dequantize_row and dots against float activation rows (for F16/BF16 already rounded
 * through the weight's type, as ggml converts src1). Any n (no blocks), so every SIMD loop has a scalar tail. */
#include "../common.h"

int32_t we_dequant_f32(const uint8_t *w, float *y, int32_t n) {
  __builtin_memcpy(y, w, 4 * (size_t)n);
  return WE_OK;
}
int32_t we_dequant_f16(const uint8_t *w, float *y, int32_t n) {
  for (int i = 0; i < n; i++) y[i] = we_fp16_to_fp32(we_rd16(w + 2 * i));
  return WE_OK;
}
int32_t we_dequant_bf16(const uint8_t *w, float *y, int32_t n) {
  for (int i = 0; i < n; i++) y[i] = we_bf16_to_fp32(we_rd16(w + 2 * i));
  return WE_OK;
}

float we_vec_dot_f32_f32_generic(int32_t n, const void *vw, const void *a) {
  const float *w = (const float *)vw, *x = (const float *)a;
  float s = 0.0f;
  for (int i = 0; i < n; i++) s += w[i] * x[i];
  return s;
}
float we_vec_dot_f16_f16_generic(int32_t n, const void *vw, const void *a) {
  const uint8_t *w = (const uint8_t *)vw;
  const float *x = (const float *)a;
  float s = 0.0f;
  for (int i = 0; i < n; i++) s += we_fp16_to_fp32(we_rd16(w + 2 * i)) * x[i];
  return s;
}
float we_vec_dot_bf16_bf16_generic(int32_t n, const void *vw, const void *a) {
  const uint8_t *w = (const uint8_t *)vw;
  const float *x = (const float *)a;
  float s = 0.0f;
  for (int i = 0; i < n; i++) s += we_bf16_to_fp32(we_rd16(w + 2 * i)) * x[i];
  return s;
}

#if !WE_SIMD
float we_vec_dot_f32_f32(int32_t n, const void *w, const void *a) { return we_vec_dot_f32_f32_generic(n, w, a); }
float we_vec_dot_f16_f16(int32_t n, const void *w, const void *a) { return we_vec_dot_f16_f16_generic(n, w, a); }
float we_vec_dot_bf16_bf16(int32_t n, const void *w, const void *a) { return we_vec_dot_bf16_bf16_generic(n, w, a); }
#else
float we_vec_dot_f32_f32(int32_t n, const void *vw, const void *a) {
  const float *w = (const float *)vw, *x = (const float *)a;
  v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = we_madd(wasm_v128_load(w + i), wasm_v128_load(x + i), s0);
    s1 = we_madd(wasm_v128_load(w + i + 4), wasm_v128_load(x + i + 4), s1);
    s2 = we_madd(wasm_v128_load(w + i + 8), wasm_v128_load(x + i + 8), s2);
    s3 = we_madd(wasm_v128_load(w + i + 12), wasm_v128_load(x + i + 12), s3);
  }
  for (; i + 4 <= n; i += 4) s0 = we_madd(wasm_v128_load(w + i), wasm_v128_load(x + i), s0);
  float s = we_hsum_f32x4(wasm_f32x4_add(wasm_f32x4_add(s0, s1), wasm_f32x4_add(s2, s3)));
  for (; i < n; i++) s += w[i] * x[i];
  return s;
}

float we_vec_dot_f16_f16(int32_t n, const void *vw, const void *a) {
  const uint8_t *w = (const uint8_t *)vw;
  const float *x = (const float *)a;
  v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    v128_t a0, a1, b0, b1;
    we_fp16x8_to_f32(wasm_v128_load(w + 2 * i), &a0, &a1);
    we_fp16x8_to_f32(wasm_v128_load(w + 2 * i + 16), &b0, &b1);
    s0 = we_madd(a0, wasm_v128_load(x + i), s0);
    s1 = we_madd(a1, wasm_v128_load(x + i + 4), s1);
    s2 = we_madd(b0, wasm_v128_load(x + i + 8), s2);
    s3 = we_madd(b1, wasm_v128_load(x + i + 12), s3);
  }
  float s = we_hsum_f32x4(wasm_f32x4_add(wasm_f32x4_add(s0, s1), wasm_f32x4_add(s2, s3)));
  for (; i < n; i++) s += we_fp16_to_fp32(we_rd16(w + 2 * i)) * x[i];
  return s;
}

float we_vec_dot_bf16_bf16(int32_t n, const void *vw, const void *a) {
  const uint8_t *w = (const uint8_t *)vw;
  const float *x = (const float *)a;
  v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    const v128_t h0 = wasm_v128_load(w + 2 * i), h1 = wasm_v128_load(w + 2 * i + 16);
    s0 = we_madd(wasm_i32x4_shl(wasm_u32x4_extend_low_u16x8(h0), 16), wasm_v128_load(x + i), s0);
    s1 = we_madd(wasm_i32x4_shl(wasm_u32x4_extend_high_u16x8(h0), 16), wasm_v128_load(x + i + 4), s1);
    s2 = we_madd(wasm_i32x4_shl(wasm_u32x4_extend_low_u16x8(h1), 16), wasm_v128_load(x + i + 8), s2);
    s3 = we_madd(wasm_i32x4_shl(wasm_u32x4_extend_high_u16x8(h1), 16), wasm_v128_load(x + i + 12), s3);
  }
  float s = we_hsum_f32x4(wasm_f32x4_add(wasm_f32x4_add(s0, s1), wasm_f32x4_add(s2, s3)));
  for (; i < n; i++) s += we_bf16_to_fp32(we_rd16(w + 2 * i)) * x[i];
  return s;
}
#endif
