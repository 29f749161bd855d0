/* The 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) against Q8_0 activation rows: dequantize_row,
 * the scalar reference dot (`_generic`, ggml's vec_dot_*_generic) and the SIMD dot in the same file. Unsigned
 * quants (Q4_x, Q5_x) go into the 7-bit operand of the int8 dot and their offset is applied through the
 * activation's block sums; signed ones (Q8_0, IQ4_NL) use the activation's pos/neg planes on relaxed SIMD. */
#include "../common.h"

const int8_t we_kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/* ---- dequantize ---- */
int32_t we_dequant_q4_0(const uint8_t *w, float *y, int32_t nb) {
  for (int i = 0; i < nb; i++, w += 18, y += QK) {
    const float d = we_fp16_to_fp32(we_rd16(w));
    for (int j = 0; j < 16; j++) {
      y[j] = (float)((w[2 + j] & 0xf) - 8) * d;
      y[j + 16] = (float)((w[2 + j] >> 4) - 8) * d;
    }
  }
  return WE_OK;
}
int32_t we_dequant_q4_1(const uint8_t *w, float *y, int32_t nb) {
  for (int i = 0; i < nb; i++, w += 20, y += QK) {
    const float d = we_fp16_to_fp32(we_rd16(w)), m = we_fp16_to_fp32(we_rd16(w + 2));
    for (int j = 0; j < 16; j++) {
      y[j] = (float)(w[4 + j] & 0xf) * d + m;
      y[j + 16] = (float)(w[4 + j] >> 4) * d + m;
    }
  }
  return WE_OK;
}
int32_t we_dequant_q5_0(const uint8_t *w, float *y, int32_t nb) {
  for (int i = 0; i < nb; i++, w += 22, y += QK) {
    const float d = we_fp16_to_fp32(we_rd16(w));
    const uint32_t qh = we_rd32(w + 2);
    for (int j = 0; j < 16; j++) {
      const int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
      y[j] = (float)(((w[6 + j] & 0xf) | h0) - 16) * d;
      y[j + 16] = (float)(((w[6 + j] >> 4) | h1) - 16) * d;
    }
  }
  return WE_OK;
}
int32_t we_dequant_q5_1(const uint8_t *w, float *y, int32_t nb) {
  for (int i = 0; i < nb; i++, w += 24, y += QK) {
    const float d = we_fp16_to_fp32(we_rd16(w)), m = we_fp16_to_fp32(we_rd16(w + 2));
    const uint32_t qh = we_rd32(w + 4);
    for (int j = 0; j < 16; j++) {
      const int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
      y[j] = (float)((w[8 + j] & 0xf) | h0) * d + m;
      y[j + 16] = (float)((w[8 + j] >> 4) | h1) * d + m;
    }
  }
  return WE_OK;
}
int32_t we_dequant_q8_0(const uint8_t *w, float *y, int32_t nb) {
  for (int i = 0; i < nb; i++, w += 34, y += QK) {
    const float d = we_fp16_to_fp32(we_rd16(w));
    for (int j = 0; j < QK; j++) y[j] = (float)(int8_t)w[2 + j] * d;
  }
  return WE_OK;
}
int32_t we_dequant_iq4_nl(const uint8_t *w, float *y, int32_t nb) {
  for (int i = 0; i < nb; i++, w += 18, y += QK) {
    const float d = we_fp16_to_fp32(we_rd16(w));
    for (int j = 0; j < 16; j++) {
      y[j] = d * (float)we_kvalues_iq4nl[w[2 + j] & 0xf];
      y[j + 16] = d * (float)we_kvalues_iq4nl[w[2 + j] >> 4];
    }
  }
  return WE_OK;
}

/* ---- scalar reference dots ---- */
float we_vec_dot_q4_0_q8_0_generic(int32_t n, const void *vw, const void *a) {
  const uint8_t *w = (const uint8_t *)vw;
  const int8_t *x = act_qs(a);
  const float *dx = act_d(a, n);
  float s = 0.0f;
  for (int i = 0; i < n / QK; i++, w += 18, x += QK) {
    int32_t sumi = 0;
    for (int j = 0; j < 16; j++) sumi += ((w[2 + j] & 0xf) - 8) * x[j] + ((w[2 + j] >> 4) - 8) * x[j + 16];
    s += (float)sumi * we_fp16_to_fp32(we_rd16(w)) * dx[i];
  }
  return s;
}

float we_vec_dot_q4_1_q8_1_generic(int32_t n, const void *vw, const void *a) {
  const uint8_t *w = (const uint8_t *)vw;
  const int8_t *x = act_qs(a);
  const float *dx = act_d(a, n);
  const float *dxs = act_dxs(a, n);
  float s = 0.0f;
  for (int i = 0; i < n / QK; i++, w += 20, x += QK) {
    int32_t sumi = 0;
    for (int j = 0; j < 16; j++) sumi += (w[4 + j] & 0xf) * x[j] + (w[4 + j] >> 4) * x[j + 16];
    s += (float)sumi * we_fp16_to_fp32(we_rd16(w)) * dx[i] + we_fp16_to_fp32(we_rd16(w + 2)) * dxs[i];
  }
  return s;
}

float we_vec_dot_q5_0_q8_0_generic(int32_t n, const void *vw, const void *a) {
  const uint8_t *w = (const uint8_t *)vw;
  const int8_t *x = act_qs(a);
  const float *dx = act_d(a, n);
  float s = 0.0f;
  for (int i = 0; i < n / QK; i++, w += 22, x += QK) {
    const uint32_t qh = we_rd32(w + 2);
    int32_t sumi = 0;
    for (int j = 0; j < 16; j++) {
      const int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
      sumi += (((w[6 + j] & 0xf) | h0) - 16) * x[j] + (((w[6 + j] >> 4) | h1) - 16) * x[j + 16];
    }
    s += (float)sumi * we_fp16_to_fp32(we_rd16(w)) * dx[i];
  }
  return s;
}

float we_vec_dot_q5_1_q8_1_generic(int32_t n, const void *vw, const void *a) {
  const uint8_t *w = (const uint8_t *)vw;
  const int8_t *x = act_qs(a);
  const float *dx = act_d(a, n);
  const float *dxs = act_dxs(a, n);
  float s = 0.0f;
  for (int i = 0; i < n / QK; i++, w += 24, x += QK) {
    const uint32_t qh = we_rd32(w + 4);
    int32_t sumi = 0;
    for (int j = 0; j < 16; j++) {
      const int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
      sumi += ((w[8 + j] & 0xf) | h0) * x[j] + ((w[8 + j] >> 4) | h1) * x[j + 16];
    }
    s += (float)sumi * we_fp16_to_fp32(we_rd16(w)) * dx[i] + we_fp16_to_fp32(we_rd16(w + 2)) * dxs[i];
  }
  return s;
}

float we_vec_dot_q8_0_q8_0_generic(int32_t n, const void *vw, const void *a) {
  const uint8_t *w = (const uint8_t *)vw;
  const int8_t *x = act_qs(a);
  const float *dx = act_d(a, n);
  float s = 0.0f;
  for (int i = 0; i < n / QK; i++, w += 34, x += QK) {
    int32_t sumi = 0;
    for (int j = 0; j < QK; j++) sumi += (int8_t)w[2 + j] * x[j];
    s += (float)sumi * we_fp16_to_fp32(we_rd16(w)) * dx[i];
  }
  return s;
}

float we_vec_dot_iq4_nl_q8_0_generic(int32_t n, const void *vw, const void *a) {
  const uint8_t *w = (const uint8_t *)vw;
  const int8_t *x = act_qs(a);
  const float *dx = act_d(a, n);
  float s = 0.0f;
  for (int i = 0; i < n / QK; i++, w += 18, x += QK) {
    int32_t sumi = 0;
    for (int j = 0; j < 16; j++) sumi += we_kvalues_iq4nl[w[2 + j] & 0xf] * x[j] + we_kvalues_iq4nl[w[2 + j] >> 4] * x[j + 16];
    s += (float)sumi * we_fp16_to_fp32(we_rd16(w)) * dx[i];
  }
  return s;
}

#if !WE_SIMD
float we_vec_dot_q4_0_q8_0(int32_t n, const void *w, const void *a) { return we_vec_dot_q4_0_q8_0_generic(n, w, a); }
float we_vec_dot_q4_1_q8_1(int32_t n, const void *w, const void *a) { return we_vec_dot_q4_1_q8_1_generic(n, w, a); }
float we_vec_dot_q5_0_q8_0(int32_t n, const void *w, const void *a) { return we_vec_dot_q5_0_q8_0_generic(n, w, a); }
float we_vec_dot_q5_1_q8_1(int32_t n, const void *w, const void *a) { return we_vec_dot_q5_1_q8_1_generic(n, w, a); }
float we_vec_dot_q8_0_q8_0(int32_t n, const void *w, const void *a) { return we_vec_dot_q8_0_q8_0_generic(n, w, a); }
float we_vec_dot_iq4_nl_q8_0(int32_t n, const void *w, const void *a) { return we_vec_dot_iq4_nl_q8_0_generic(n, w, a); }
#else

/* Element j of a Q5 block's high bits, as 0x10 in byte j: lanes 0..15 from qh bits 0..15 (half 0) or 16..31. */
WE_INLINE v128_t q5_high(uint32_t qh, int half) {
  const v128_t bytes = wasm_i32x4_splat((int32_t)qh);
  const v128_t idx = half == 0 ? wasm_i8x16_const(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1)
                               : wasm_i8x16_const(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const v128_t bit = wasm_u8x16_const(1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
  const v128_t sel = wasm_v128_and(wasm_i8x16_swizzle(bytes, idx), bit);
  return wasm_v128_and(wasm_i8x16_eq(sel, bit), wasm_i8x16_splat(0x10));
}

/* q (0..31) of a Q4_0/Q4_1/Q5_0/Q5_1 block: elements 0..15 in *lo, 16..31 in *hi */
WE_INLINE void unsigned_quants(const uint8_t *w, int qs_off, int high, v128_t *lo, v128_t *hi) {
  const v128_t q = wasm_v128_load(w + qs_off);
  const v128_t m = wasm_i8x16_splat(0x0f);
  *lo = wasm_v128_and(q, m);
  /* a 16-bit shift and the same mask: x86 has no byte shift, and V8 rebuilds the mask of i8x16.shr_u every time */
  *hi = wasm_v128_and(wasm_u16x8_shr(q, 4), m);
  if (high) {
    const uint32_t qh = we_rd32(w + qs_off - 4);
    *lo = wasm_v128_or(*lo, q5_high(qh, 0));
    *hi = wasm_v128_or(*hi, q5_high(qh, 1));
  }
}

/* int32x4 whose lanes sum to sum(q * x) over a block: four products of at most 31 * 127 per int16 lane */
WE_INLINE v128_t unsigned_sum(v128_t lo, v128_t hi, const int8_t *x) {
  return we_widen16(wasm_i16x8_add(we_dot16_su(wasm_v128_load(x), lo), we_dot16_su(wasm_v128_load(x + 16), hi)));
}

/* One weight row against NC activation rows (NC is a literal at every call, so the column loops unroll):
 * sum_i d_w,i d_x,i (sum q x)_i + (min ? m_i d_x,i sum x_i : -off d_w,i d_x,i sum x_i). 4 blocks per step: the
 * block scales convert 4 at a time and the offset/min term is one f32x4 multiply-add per 4 blocks. */
WE_INLINE void unsigned_dot(int32_t n, const uint8_t *w, const void *const *a, float *out, int NC, int bytes, int qs_off, int high, int has_min, float off) {
  const int nb = n / QK;
  /* One column (a GEMV) is latency-bound on its accumulator: odd blocks and the min term go into a second chain.
     Several columns are independent chains already, and a second set would spill (V8 has 16 xmm registers). */
  const int two = NC == 1;
  v128_t acc[4], acc1 = wasm_f32x4_splat(0.0f);
  for (int c = 0; c < NC; c++) acc[c] = wasm_f32x4_splat(0.0f);
  int i = 0;
  for (; i + 4 <= nb; i += 4, w += 4 * bytes) {
    const v128_t dw = we_fp16x4_to_f32(w, bytes);
    /* the min (or -offset * d) times the block sums joins the same sums: only the lane sum matters */
    const v128_t mn = has_min ? we_fp16x4_to_f32(w + 2, bytes) : wasm_f32x4_mul(dw, wasm_f32x4_splat(-off));
    v128_t sc[4];
    for (int c = 0; c < NC; c++) {
      sc[c] = wasm_f32x4_mul(dw, wasm_v128_load(act_d(a[c], n) + i));
      if (two) acc1 = we_madd(mn, wasm_v128_load(act_dxs(a[c], n) + i), acc1);
      else acc[c] = we_madd(mn, wasm_v128_load(act_dxs(a[c], n) + i), acc[c]);
    }
    for (int b = 0; b < 4; b++) {
      v128_t lo, hi;
      unsigned_quants(w + b * bytes, qs_off, high, &lo, &hi);
      for (int c = 0; c < NC; c++) {
        const v128_t s = wasm_f32x4_convert_i32x4(unsigned_sum(lo, hi, act_qs(a[c]) + QK * (i + b)));
        const v128_t f = b == 0 ? WE_LANE(sc[c], 0) : b == 1 ? WE_LANE(sc[c], 1) : b == 2 ? WE_LANE(sc[c], 2) : WE_LANE(sc[c], 3);
        if (two && (b & 1)) acc1 = we_madd(s, f, acc1);
        else acc[c] = we_madd(s, f, acc[c]);
      }
    }
  }
  for (int c = 0; c < NC; c++) out[c] = we_hsum_f32x4(two ? wasm_f32x4_add(acc[c], acc1) : acc[c]);
  for (; i < nb; i++, w += bytes) {
    v128_t lo, hi;
    unsigned_quants(w, qs_off, high, &lo, &hi);
    const float dw = we_fp16_to_fp32(we_rd16(w));
    for (int c = 0; c < NC; c++) {
      const float dx = act_d(a[c], n)[i], dxs = act_dxs(a[c], n)[i];
      out[c] += dw * dx * (float)we_hsum_i32x4(unsigned_sum(lo, hi, act_qs(a[c]) + QK * i));
      out[c] += has_min ? we_fp16_to_fp32(we_rd16(w + 2)) * dxs : -off * dw * dxs;
    }
  }
}

#define UNSIGNED(NAME, BYTES, QS, HIGH, MIN, OFF)                                                   \
  float we_vec_dot_##NAME(int32_t n, const void *w, const void *a) {                                 \
    float r;                                                                                         \
    unsigned_dot(n, (const uint8_t *)w, &a, &r, 1, BYTES, QS, HIGH, MIN, OFF);                       \
    return r;                                                                                        \
  }                                                                                                  \
  void we_vec_dot4_##NAME(int32_t n, const void *w, const void *const *a, float *out) {              \
    unsigned_dot(n, (const uint8_t *)w, a, out, 4, BYTES, QS, HIGH, MIN, OFF);                       \
  }
UNSIGNED(q4_0_q8_0, 18, 2, 0, 0, 8.0f)
UNSIGNED(q4_1_q8_1, 20, 4, 0, 1, 0.0f)
UNSIGNED(q5_0_q8_0, 22, 6, 1, 0, 16.0f)
UNSIGNED(q5_1_q8_1, 24, 8, 1, 1, 0.0f)
#undef UNSIGNED

/* signed 4-bit table values (IQ4_NL) or int8 quants (Q8_0) of the block at w */
WE_INLINE void signed_values(const uint8_t *w, int iq4, v128_t *v0, v128_t *v1) {
  if (iq4) {
    const v128_t kv = wasm_v128_load(we_kvalues_iq4nl);
    const v128_t q = wasm_v128_load(w + 2);
    *v0 = wasm_i8x16_swizzle(kv, wasm_v128_and(q, wasm_i8x16_splat(0x0f)));
    *v1 = wasm_i8x16_swizzle(kv, WE_HI4(q));
  } else {
    *v0 = wasm_v128_load(w + 2);
    *v1 = wasm_v128_load(w + 18);
  }
}

/* int32x4 whose lanes sum to sum(v * x) over block `blk` of activation row a (n elements) */
WE_INLINE v128_t signed_sum(v128_t v0, v128_t v1, const void *a, int32_t n, int blk) {
  const int o = QK * blk;
  const int8_t *x = act_qs(a) + o;
  const uint8_t *pos = act_pos(a, n, QK) + o, *neg = act_neg(a, n, QK) + o;
  /* each half's int16 lanes are exact, their sum might not be: widen before adding */
  return wasm_i32x4_add(we_widen16(we_dot16_ss(v0, x, pos, neg)), we_widen16(we_dot16_ss(v1, x + 16, pos + 16, neg + 16)));
}

WE_INLINE void signed_dot(int32_t n, const uint8_t *w, const void *const *a, float *out, int NC, int bytes, int iq4) {
  const int nb = n / QK;
  v128_t acc[4];
  for (int c = 0; c < NC; c++) acc[c] = wasm_f32x4_splat(0.0f);
  int i = 0;
  for (; i + 4 <= nb; i += 4, w += 4 * bytes) {
    const v128_t dw = we_fp16x4_to_f32(w, bytes);
    v128_t sc[4];
    for (int c = 0; c < NC; c++) sc[c] = wasm_f32x4_mul(dw, wasm_v128_load(act_d(a[c], n) + i));
    for (int b = 0; b < 4; b++) {
      v128_t v0, v1;
      signed_values(w + b * bytes, iq4, &v0, &v1);
      for (int c = 0; c < NC; c++) {
        const v128_t s = wasm_f32x4_convert_i32x4(signed_sum(v0, v1, a[c], n, i + b));
        acc[c] = we_madd(s, b == 0 ? WE_LANE(sc[c], 0) : b == 1 ? WE_LANE(sc[c], 1) : b == 2 ? WE_LANE(sc[c], 2) : WE_LANE(sc[c], 3), acc[c]);
      }
    }
  }
  for (int c = 0; c < NC; c++) out[c] = we_hsum_f32x4(acc[c]);
  for (; i < nb; i++, w += bytes) {
    v128_t v0, v1;
    signed_values(w, iq4, &v0, &v1);
    const float dw = we_fp16_to_fp32(we_rd16(w));
    for (int c = 0; c < NC; c++) out[c] += dw * act_d(a[c], n)[i] * (float)we_hsum_i32x4(signed_sum(v0, v1, a[c], n, i));
  }
}

#define SIGNED(NAME, BYTES, IQ4)                                                                    \
  float we_vec_dot_##NAME(int32_t n, const void *w, const void *a) {                                 \
    float r;                                                                                         \
    signed_dot(n, (const uint8_t *)w, &a, &r, 1, BYTES, IQ4);                                        \
    return r;                                                                                        \
  }                                                                                                  \
  void we_vec_dot4_##NAME(int32_t n, const void *w, const void *const *a, float *out) {              \
    signed_dot(n, (const uint8_t *)w, a, out, 4, BYTES, IQ4);                                        \
  }
SIGNED(q8_0_q8_0, 34, 0)
SIGNED(iq4_nl_q8_0, 18, 1)
#undef SIGNED
#endif
