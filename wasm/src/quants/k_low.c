/* Q2_K, Q3_K and Q4_K against Q8_K activation rows: dequantize_row, the scalar reference dot (`_generic`) and the
 * SIMD dot. Quants are unsigned (Q3_K after adding 4), so they take the dot's 7-bit operand; mins and offsets go
 * through the activation's sums of 16. Sub-block scales multiply int32 partial sums (wasm has no i8 multiply). */
#include "../common.h"

/* ---- dequantize ---- */
int32_t we_dequant_q2_k(const uint8_t *w, float *y, int32_t nb) {
  for (int i = 0; i < nb; i++, w += 84) {
    const float d = we_fp16_to_fp32(we_rd16(w + 80)), dmin = we_fp16_to_fp32(we_rd16(w + 82));
    for (int e = 0; e < QK_K; e++) {
      const int h = e / 128, j = (e % 128) / 32, l = e % 32, g = e / 16;
      const int q = (w[16 + 32 * h + l] >> (2 * j)) & 3;
      *y++ = d * (float)(w[g] & 0xf) * (float)q - dmin * (float)(w[g] >> 4);
    }
  }
  return WE_OK;
}

int32_t we_dequant_q3_k(const uint8_t *w, float *y, int32_t nb) {
  int8_t sc[16];
  for (int i = 0; i < nb; i++, w += 110) {
    const float d = we_fp16_to_fp32(we_rd16(w + 108));
    we_unpack_scales_q3k(w + 96, sc);
    for (int e = 0; e < QK_K; e++) {
      const int h = e / 128, j = (e % 128) / 32, l = e % 32;
      const int lo = (w[32 + 32 * h + l] >> (2 * j)) & 3;
      const int hi = (w[l] >> (4 * h + j)) & 1 ? 0 : 4;
      *y++ = d * (float)sc[e / 16] * (float)(lo - hi);
    }
  }
  return WE_OK;
}

int32_t we_dequant_q4_k(const uint8_t *w, float *y, int32_t nb) {
  uint8_t sc[8], mn[8];
  for (int i = 0; i < nb; i++, w += 144) {
    const float d = we_fp16_to_fp32(we_rd16(w)), dmin = we_fp16_to_fp32(we_rd16(w + 2));
    we_unpack_scales_k4(w + 4, sc, mn);
    for (int j = 0; j < 4; j++) {
      const float d1 = d * sc[2 * j], m1 = dmin * mn[2 * j], d2 = d * sc[2 * j + 1], m2 = dmin * mn[2 * j + 1];
      for (int l = 0; l < 32; l++) *y++ = d1 * (float)(w[16 + 32 * j + l] & 0xf) - m1;
      for (int l = 0; l < 32; l++) *y++ = d2 * (float)(w[16 + 32 * j + l] >> 4) - m2;
    }
  }
  return WE_OK;
}

/* ---- scalar reference dots ---- */
float we_vec_dot_q2_k_q8_k_generic(int32_t n, const void *vw, const void *a) {
  const uint8_t *w = (const uint8_t *)vw;
  const int8_t *x = act_qs(a);
  const float *dx = act_d(a, n);
  const int16_t *bs = act_bsums(a, n);
  float s = 0.0f;
  for (int i = 0; i < n / QK_K; i++, w += 84, x += QK_K, bs += 16) {
    int32_t summs = 0, isum = 0;
    for (int g = 0; g < 16; g++) summs += (w[g] >> 4) * bs[g];
    for (int e = 0; e < QK_K; e += 16) {
      int32_t p = 0;
      for (int k = e; k < e + 16; k++) p += ((w[16 + 32 * (k / 128) + k % 32] >> (2 * ((k % 128) / 32))) & 3) * x[k];
      isum += (w[e / 16] & 0xf) * p;
    }
    s += dx[i] * we_fp16_to_fp32(we_rd16(w + 80)) * (float)isum - dx[i] * we_fp16_to_fp32(we_rd16(w + 82)) * (float)summs;
  }
  return s;
}

float we_vec_dot_q3_k_q8_k_generic(int32_t n, const void *vw, const void *a) {
  const uint8_t *w = (const uint8_t *)vw;
  const int8_t *x = act_qs(a);
  const float *dx = act_d(a, n);
  int8_t sc[16];
  float s = 0.0f;
  for (int i = 0; i < n / QK_K; i++, w += 110, x += QK_K) {
    we_unpack_scales_q3k(w + 96, sc);
    int32_t isum = 0;
    for (int e = 0; e < QK_K; e += 16) {
      int32_t p = 0;
      for (int k = e; k < e + 16; k++) {
        const int h = k / 128, j = (k % 128) / 32, l = k % 32;
        const int lo = (w[32 + 32 * h + l] >> (2 * j)) & 3;
        p += (lo - ((w[l] >> (4 * h + j)) & 1 ? 0 : 4)) * x[k];
      }
      isum += sc[e / 16] * p;
    }
    s += we_fp16_to_fp32(we_rd16(w + 108)) * dx[i] * (float)isum;
  }
  return s;
}

float we_vec_dot_q4_k_q8_k_generic(int32_t n, const void *vw, const void *a) {
  const uint8_t *w = (const uint8_t *)vw;
  const int8_t *x = act_qs(a);
  const float *dx = act_d(a, n);
  const int16_t *bs = act_bsums(a, n);
  uint8_t sc[8], mn[8];
  float s = 0.0f;
  for (int i = 0; i < n / QK_K; i++, w += 144, x += QK_K, bs += 16) {
    we_unpack_scales_k4(w + 4, sc, mn);
    int32_t summs = 0, isum = 0;
    for (int j = 0; j < 8; j++) summs += mn[j] * (bs[2 * j] + bs[2 * j + 1]);
    for (int j = 0; j < 4; j++) {
      int32_t p1 = 0, p2 = 0;
      for (int l = 0; l < 32; l++) {
        p1 += (w[16 + 32 * j + l] & 0xf) * x[64 * j + l];
        p2 += (w[16 + 32 * j + l] >> 4) * x[64 * j + 32 + l];
      }
      isum += sc[2 * j] * p1 + sc[2 * j + 1] * p2;
    }
    s += dx[i] * we_fp16_to_fp32(we_rd16(w)) * (float)isum - dx[i] * we_fp16_to_fp32(we_rd16(w + 2)) * (float)summs;
  }
  return s;
}

#if !WE_SIMD
float we_vec_dot_q2_k_q8_k(int32_t n, const void *w, const void *a) { return we_vec_dot_q2_k_q8_k_generic(n, w, a); }
float we_vec_dot_q3_k_q8_k(int32_t n, const void *w, const void *a) { return we_vec_dot_q3_k_q8_k_generic(n, w, a); }
float we_vec_dot_q4_k_q8_k(int32_t n, const void *w, const void *a) { return we_vec_dot_q4_k_q8_k_generic(n, w, a); }
#else
#define SPLAT16(v, k) wasm_i16x8_shuffle((v), (v), k, k, k, k, k, k, k, k)

float we_vec_dot_q2_k_q8_k(int32_t n, const void *vw, const void *a) {
  const uint8_t *w = (const uint8_t *)vw;
  const int8_t *x = act_qs(a);
  const float *dx = act_d(a, n);
  const int16_t *bs = act_bsums(a, n);
  const v128_t m3 = wasm_i8x16_splat(3), m4 = wasm_i8x16_splat(0x0f);
  v128_t acc = wasm_f32x4_splat(0.0f), accm = wasm_f32x4_splat(0.0f);
  for (int i = 0; i < n / QK_K; i++, w += 84, x += QK_K, bs += 16) {
    const v128_t s8 = wasm_v128_load(w);
    const v128_t sc = wasm_v128_and(s8, m4), mn = WE_HI4(s8);
    const v128_t sc0 = wasm_u16x8_extend_low_u8x16(sc), sc1 = wasm_u16x8_extend_high_u8x16(sc);
    const v128_t mins = wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_u16x8_extend_low_u8x16(mn), wasm_v128_load(bs)),
                                       wasm_i32x4_dot_i16x8(wasm_u16x8_extend_high_u8x16(mn), wasm_v128_load(bs + 8)));
    v128_t isum = wasm_i32x4_splat(0);
    /* group g = 8h + 2j + (0|1): elements 128h + 32j + [0,16) and [16,32), quants (qs[32h + l] >> 2j) & 3 */
#define Q2STEP(SCV, h, j, k0, k1)                                                                                  \
  {                                                                                                                \
    const v128_t q0 = wasm_v128_and(wasm_u16x8_shr(wasm_v128_load(w + 16 + 32 * h), 2 * j), m3);                   \
    const v128_t q1 = wasm_v128_and(wasm_u16x8_shr(wasm_v128_load(w + 32 + 32 * h), 2 * j), m3);                   \
    isum = wasm_i32x4_add(isum, wasm_i32x4_dot_i16x8(we_dot16_su(wasm_v128_load(x + 128 * h + 32 * j), q0), SPLAT16(SCV, k0))); \
    isum = wasm_i32x4_add(isum, wasm_i32x4_dot_i16x8(we_dot16_su(wasm_v128_load(x + 128 * h + 32 * j + 16), q1), SPLAT16(SCV, k1))); \
  }
    Q2STEP(sc0, 0, 0, 0, 1) Q2STEP(sc0, 0, 1, 2, 3) Q2STEP(sc0, 0, 2, 4, 5) Q2STEP(sc0, 0, 3, 6, 7)
    Q2STEP(sc1, 1, 0, 0, 1) Q2STEP(sc1, 1, 1, 2, 3) Q2STEP(sc1, 1, 2, 4, 5) Q2STEP(sc1, 1, 3, 6, 7)
#undef Q2STEP
    acc = we_madd(wasm_f32x4_convert_i32x4(isum), wasm_f32x4_splat(dx[i] * we_fp16_to_fp32(we_rd16(w + 80))), acc);
    accm = we_madd(wasm_f32x4_convert_i32x4(mins), wasm_f32x4_splat(dx[i] * we_fp16_to_fp32(we_rd16(w + 82))), accm);
  }
  return we_hsum_f32x4(acc) - we_hsum_f32x4(accm);
}

/* Q3_K's 12 scale bytes -> 16 bytes of 6-bit scales (ggml's kmask trick), not yet minus 32 */
WE_INLINE v128_t q3k_scales(const uint8_t *q) {
  const uint32_t a0 = we_rd32(q), a1 = we_rd32(q + 4), a2 = we_rd32(q + 8);
  const uint32_t k1 = 0x03030303u, k2 = 0x0f0f0f0fu;
  return wasm_i32x4_make((int32_t)((a0 & k2) | ((a2 & k1) << 4)), (int32_t)((a1 & k2) | (((a2 >> 2) & k1) << 4)),
                         (int32_t)(((a0 >> 4) & k2) | (((a2 >> 4) & k1) << 4)), (int32_t)(((a1 >> 4) & k2) | (((a2 >> 6) & k1) << 4)));
}

float we_vec_dot_q3_k_q8_k(int32_t n, const void *vw, const void *a) {
  const uint8_t *w = (const uint8_t *)vw;
  const int8_t *x = act_qs(a);
  const float *dx = act_d(a, n);
  const int16_t *bs = act_bsums(a, n);
  const v128_t m3 = wasm_i8x16_splat(3), four = wasm_i8x16_splat(4);
  v128_t acc = wasm_f32x4_splat(0.0f);
  for (int i = 0; i < n / QK_K; i++, w += 110, x += QK_K, bs += 16) {
    const v128_t s8 = wasm_i8x16_sub(q3k_scales(w + 96), wasm_i8x16_splat(32));
    const v128_t sc0 = wasm_i16x8_extend_low_i8x16(s8), sc1 = wasm_i16x8_extend_high_i8x16(s8);
    /* quants are stored +4: subtract 4 * sum(sc * bsum) */
    const v128_t offs = wasm_i32x4_add(wasm_i32x4_dot_i16x8(sc0, wasm_v128_load(bs)), wasm_i32x4_dot_i16x8(sc1, wasm_v128_load(bs + 8)));
    v128_t isum = wasm_i32x4_mul(offs, wasm_i32x4_splat(-4));
    const v128_t hm0 = wasm_v128_load(w), hm1 = wasm_v128_load(w + 16);
    /* element 128h + 32j + l: low 2 bits (qs[32h + l] >> 2j) & 3, 3rd bit = bit 4h + j of hmask[l] */
#define Q3STEP(SCV, h, j, k0, k1)                                                                                  \
  {                                                                                                                \
    const int b = 4 * h + j;                                                                                       \
    const v128_t q0 = wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(wasm_v128_load(w + 32 + 32 * h), 2 * j), m3),      \
                                   wasm_v128_and(b >= 2 ? wasm_u16x8_shr(hm0, b - 2) : wasm_i16x8_shl(hm0, 2 - b), four)); \
    const v128_t q1 = wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(wasm_v128_load(w + 48 + 32 * h), 2 * j), m3),      \
                                   wasm_v128_and(b >= 2 ? wasm_u16x8_shr(hm1, b - 2) : wasm_i16x8_shl(hm1, 2 - b), four)); \
    isum = wasm_i32x4_add(isum, wasm_i32x4_dot_i16x8(we_dot16_su(wasm_v128_load(x + 128 * h + 32 * j), q0), SPLAT16(SCV, k0))); \
    isum = wasm_i32x4_add(isum, wasm_i32x4_dot_i16x8(we_dot16_su(wasm_v128_load(x + 128 * h + 32 * j + 16), q1), SPLAT16(SCV, k1))); \
  }
    Q3STEP(sc0, 0, 0, 0, 1) Q3STEP(sc0, 0, 1, 2, 3) Q3STEP(sc0, 0, 2, 4, 5) Q3STEP(sc0, 0, 3, 6, 7)
    Q3STEP(sc1, 1, 0, 0, 1) Q3STEP(sc1, 1, 1, 2, 3) Q3STEP(sc1, 1, 2, 4, 5) Q3STEP(sc1, 1, 3, 6, 7)
#undef Q3STEP
    acc = we_madd(wasm_f32x4_convert_i32x4(isum), wasm_f32x4_splat(we_fp16_to_fp32(we_rd16(w + 108)) * dx[i]), acc);
  }
  return we_hsum_f32x4(acc);
}

/* One Q4_K row against NC activation rows (NC literal at each call): quants and scales decode once per block. */
WE_INLINE void q4k_dot(int32_t n, const uint8_t *w, const void *const *a, float *out, int NC) {
  const v128_t m4 = wasm_i8x16_splat(0x0f);
  v128_t acc[4], accm[4];
  for (int c = 0; c < NC; c++) acc[c] = accm[c] = wasm_f32x4_splat(0.0f);
  for (int i = 0; i < n / QK_K; i++, w += 144) {
    const v128_t sm = we_k4_scales(w + 4);
    const v128_t sc = wasm_u16x8_extend_low_u8x16(sm), mn = wasm_u16x8_extend_high_u8x16(sm);
    v128_t isum[4];
    for (int c = 0; c < NC; c++) isum[c] = wasm_i32x4_splat(0);
#define Q4STEP(j)                                                                                                  \
  {                                                                                                                \
    const v128_t q0 = wasm_v128_load(w + 16 + 32 * j), q1 = wasm_v128_load(w + 32 + 32 * j);                       \
    const v128_t l0 = wasm_v128_and(q0, m4), l1 = wasm_v128_and(q1, m4), h0 = WE_HI4(q0), h1 = WE_HI4(q1); \
    const v128_t s0 = SPLAT16(sc, 2 * j), s1 = SPLAT16(sc, 2 * j + 1);                                             \
    for (int c = 0; c < NC; c++) {                                                                                 \
      const int8_t *xx = act_qs(a[c]) + QK_K * i + 64 * j;                                                         \
      const v128_t pl = wasm_i16x8_add(we_dot16_su(wasm_v128_load(xx), l0), we_dot16_su(wasm_v128_load(xx + 16), l1)); \
      const v128_t ph = wasm_i16x8_add(we_dot16_su(wasm_v128_load(xx + 32), h0), we_dot16_su(wasm_v128_load(xx + 48), h1)); \
      isum[c] = wasm_i32x4_add(isum[c], wasm_i32x4_add(wasm_i32x4_dot_i16x8(pl, s0), wasm_i32x4_dot_i16x8(ph, s1))); \
    }                                                                                                              \
  }
    Q4STEP(0) Q4STEP(1) Q4STEP(2) Q4STEP(3)
#undef Q4STEP
    const float d = we_fp16_to_fp32(we_rd16(w)), dmin = we_fp16_to_fp32(we_rd16(w + 2));
    for (int c = 0; c < NC; c++) {
      const float dx = act_d(a[c], n)[i];
      const v128_t mins = wasm_i32x4_dot_i16x8(mn, wasm_v128_load(act_bsums32(a[c], n) + 8 * i));
      acc[c] = we_madd(wasm_f32x4_convert_i32x4(isum[c]), wasm_f32x4_splat(dx * d), acc[c]);
      accm[c] = we_madd(wasm_f32x4_convert_i32x4(mins), wasm_f32x4_splat(dx * dmin), accm[c]);
    }
  }
  for (int c = 0; c < NC; c++) out[c] = we_hsum_f32x4(acc[c]) - we_hsum_f32x4(accm[c]);
}

float we_vec_dot_q4_k_q8_k(int32_t n, const void *w, const void *a) {
  float r;
  q4k_dot(n, (const uint8_t *)w, &a, &r, 1);
  return r;
}
void we_vec_dot4_q4_k_q8_k(int32_t n, const void *w, const void *const *a, float *out) { q4k_dot(n, (const uint8_t *)w, a, out, 4); }
#endif
