/* Q5_K, Q6_K and IQ4_XS against Q8_K activation rows: dequantize_row, the scalar reference dot (`_generic`) and
 * the SIMD dot. Q5_K/Q6_K quants are unsigned (7-bit dot operand; Q6_K's -32 through the activation sums);
 * IQ4_XS values are signed table entries, so relaxed builds use the activation's pos/neg planes. */
#include "../common.h"

/* ---- dequantize ---- */
int32_t we_dequant_q5_k(const uint8_t *w, float *y, int32_t nb) {
  uint8_t sc[8], mn[8];
  for (int i = 0; i < nb; i++, w += 176) {
    const float d = we_fp16_to_fp32(we_rd16(w)), dmin = we_fp16_to_fp32(we_rd16(w + 2));
    we_unpack_scales_k4(w + 4, sc, mn);
    for (int j = 0; j < 4; j++) {
      const float d1 = d * sc[2 * j], m1 = dmin * mn[2 * j], d2 = d * sc[2 * j + 1], m2 = dmin * mn[2 * j + 1];
      const uint8_t *ql = w + 48 + 32 * j, *qh = w + 16;
      for (int l = 0; l < 32; l++) *y++ = d1 * (float)((ql[l] & 0xf) + ((qh[l] >> (2 * j)) & 1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; l++) *y++ = d2 * (float)((ql[l] >> 4) + ((qh[l] >> (2 * j + 1)) & 1 ? 16 : 0)) - m2;
    }
  }
  return WE_OK;
}

/* Q6_K quant (0..63, before -32) of element e of the block at w. */
WE_INLINE int q6k_quant(const uint8_t *w, int e) {
  const int h = e / 128, r = e % 128, k = r / 32, l = r % 32;
  const uint8_t *ql = w + 64 * h, *qh = w + 128 + 32 * h;
  const int lo = k == 0 ? ql[l] & 0xf : k == 1 ? ql[l + 32] & 0xf : k == 2 ? ql[l] >> 4 : ql[l + 32] >> 4;
  return lo | (((qh[l] >> (2 * k)) & 3) << 4);
}

int32_t we_dequant_q6_k(const uint8_t *w, float *y, int32_t nb) {
  for (int i = 0; i < nb; i++, w += 210) {
    const float d = we_fp16_to_fp32(we_rd16(w + 208));
    for (int e = 0; e < QK_K; e++) *y++ = d * (float)(int8_t)w[192 + e / 16] * (float)(q6k_quant(w, e) - 32);
  }
  return WE_OK;
}

WE_INLINE int iq4xs_scale(const uint8_t *w, int ib) {
  return (((w[4 + ib / 2] >> (4 * (ib % 2))) & 0xf) | (((we_rd16(w + 2) >> (2 * ib)) & 3) << 4)) - 32;
}

int32_t we_dequant_iq4_xs(const uint8_t *w, float *y, int32_t nb) {
  for (int i = 0; i < nb; i++, w += 136) {
    const float d = we_fp16_to_fp32(we_rd16(w));
    for (int ib = 0; ib < 8; ib++, y += 32) {
      const float dl = d * (float)iq4xs_scale(w, ib);
      const uint8_t *qs = w + 8 + 16 * ib;
      for (int j = 0; j < 16; j++) {
        y[j] = dl * (float)we_kvalues_iq4nl[qs[j] & 0xf];
        y[j + 16] = dl * (float)we_kvalues_iq4nl[qs[j] >> 4];
      }
    }
  }
  return WE_OK;
}

/* ---- scalar reference dots ---- */
float we_vec_dot_q5_k_q8_k_generic(int32_t n, const void *vw, const void *a) {
  const uint8_t *w = (const uint8_t *)vw;
  const int8_t *x = act_qs(a);
  const float *dx = act_d(a, n);
  const int16_t *bs = act_bsums(a, n);
  uint8_t sc[8], mn[8];
  float s = 0.0f;
  for (int i = 0; i < n / QK_K; i++, w += 176, x += QK_K, bs += 16) {
    we_unpack_scales_k4(w + 4, sc, mn);
    int32_t summs = 0, isum = 0;
    for (int j = 0; j < 8; j++) summs += mn[j] * (bs[2 * j] + bs[2 * j + 1]);
    for (int j = 0; j < 4; j++) {
      const uint8_t *ql = w + 48 + 32 * j, *qh = w + 16;
      int32_t p1 = 0, p2 = 0;
      for (int l = 0; l < 32; l++) {
        p1 += ((ql[l] & 0xf) + ((qh[l] >> (2 * j)) & 1) * 16) * x[64 * j + l];
        p2 += ((ql[l] >> 4) + ((qh[l] >> (2 * j + 1)) & 1) * 16) * x[64 * j + 32 + l];
      }
      isum += sc[2 * j] * p1 + sc[2 * j + 1] * p2;
    }
    s += dx[i] * we_fp16_to_fp32(we_rd16(w)) * (float)isum - dx[i] * we_fp16_to_fp32(we_rd16(w + 2)) * (float)summs;
  }
  return s;
}

float we_vec_dot_q6_k_q8_k_generic(int32_t n, const void *vw, const void *a) {
  const uint8_t *w = (const uint8_t *)vw;
  const int8_t *x = act_qs(a);
  const float *dx = act_d(a, n);
  float s = 0.0f;
  for (int i = 0; i < n / QK_K; i++, w += 210, x += QK_K) {
    int32_t isum = 0;
    for (int g = 0; g < 16; g++) {
      int32_t p = 0;
      for (int e = 16 * g; e < 16 * g + 16; e++) p += (q6k_quant(w, e) - 32) * x[e];
      isum += (int8_t)w[192 + g] * p;
    }
    s += we_fp16_to_fp32(we_rd16(w + 208)) * dx[i] * (float)isum;
  }
  return s;
}

float we_vec_dot_iq4_xs_q8_k_generic(int32_t n, const void *vw, const void *a) {
  const uint8_t *w = (const uint8_t *)vw;
  const int8_t *x = act_qs(a);
  const float *dx = act_d(a, n);
  float s = 0.0f;
  for (int i = 0; i < n / QK_K; i++, w += 136, x += QK_K) {
    int32_t isum = 0;
    for (int ib = 0; ib < 8; ib++) {
      const uint8_t *qs = w + 8 + 16 * ib;
      int32_t p = 0;
      for (int j = 0; j < 16; j++) p += we_kvalues_iq4nl[qs[j] & 0xf] * x[32 * ib + j] + we_kvalues_iq4nl[qs[j] >> 4] * x[32 * ib + 16 + j];
      isum += iq4xs_scale(w, ib) * p;
    }
    s += we_fp16_to_fp32(we_rd16(w)) * dx[i] * (float)isum;
  }
  return s;
}

#if !WE_SIMD
float we_vec_dot_q5_k_q8_k(int32_t n, const void *w, const void *a) { return we_vec_dot_q5_k_q8_k_generic(n, w, a); }
float we_vec_dot_q6_k_q8_k(int32_t n, const void *w, const void *a) { return we_vec_dot_q6_k_q8_k_generic(n, w, a); }
float we_vec_dot_iq4_xs_q8_k(int32_t n, const void *w, const void *a) { return we_vec_dot_iq4_xs_q8_k_generic(n, w, a); }
#else
#define SPLAT16(v, k) wasm_i16x8_shuffle((v), (v), k, k, k, k, k, k, k, k)

/* One Q5_K row against NC activation rows (NC literal at each call). */
WE_INLINE void q5k_dot(int32_t n, const uint8_t *w, const void *const *a, float *out, int NC) {
  const v128_t m4 = wasm_i8x16_splat(0x0f), m10 = wasm_i8x16_splat(0x10);
  v128_t acc[4], accm[4];
  for (int c = 0; c < NC; c++) acc[c] = accm[c] = wasm_f32x4_splat(0.0f);
  for (int i = 0; i < n / QK_K; i++, w += 176) {
    const v128_t sm = we_k4_scales(w + 4);
    const v128_t sc = wasm_u16x8_extend_low_u8x16(sm), mn = wasm_u16x8_extend_high_u8x16(sm);
    const v128_t hb0 = wasm_v128_load(w + 16), hb1 = wasm_v128_load(w + 32);
    v128_t isum[4];
    for (int c = 0; c < NC; c++) isum[c] = wasm_i32x4_splat(0);
    /* 5th bit of sub-block 2j is qh bit 2j, of 2j+1 bit 2j+1: moved to 0x10 */
#define HB(h, b) wasm_v128_and((b) <= 4 ? wasm_i16x8_shl((h), 4 - (b)) : wasm_u16x8_shr((h), (b) - 4), m10)
#define Q5STEP(j)                                                                                                  \
  {                                                                                                                \
    const v128_t q0 = wasm_v128_load(w + 48 + 32 * j), q1 = wasm_v128_load(w + 64 + 32 * j);                       \
    const v128_t l0 = wasm_v128_or(wasm_v128_and(q0, m4), HB(hb0, 2 * j)), l1 = wasm_v128_or(wasm_v128_and(q1, m4), HB(hb1, 2 * j)); \
    const v128_t u0 = wasm_v128_or(WE_HI4(q0), HB(hb0, 2 * j + 1)), u1 = wasm_v128_or(WE_HI4(q1), HB(hb1, 2 * j + 1)); \
    const v128_t s0 = SPLAT16(sc, 2 * j), s1 = SPLAT16(sc, 2 * j + 1);                                             \
    for (int c = 0; c < NC; c++) {                                                                                 \
      const int8_t *xx = act_qs(a[c]) + QK_K * i + 64 * j;                                                         \
      const v128_t pl = wasm_i16x8_add(we_dot16_su(wasm_v128_load(xx), l0), we_dot16_su(wasm_v128_load(xx + 16), l1)); \
      const v128_t ph = wasm_i16x8_add(we_dot16_su(wasm_v128_load(xx + 32), u0), we_dot16_su(wasm_v128_load(xx + 48), u1)); \
      isum[c] = wasm_i32x4_add(isum[c], wasm_i32x4_add(wasm_i32x4_dot_i16x8(pl, s0), wasm_i32x4_dot_i16x8(ph, s1))); \
    }                                                                                                              \
  }
    Q5STEP(0) Q5STEP(1) Q5STEP(2) Q5STEP(3)
#undef Q5STEP
#undef HB
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

/* One Q6_K row against NC activation rows (NC literal at each call). */
WE_INLINE void q6k_dot(int32_t n, const uint8_t *w, const void *const *a, float *out, int NC) {
  const v128_t m4 = wasm_i8x16_splat(0x0f), m30 = wasm_i8x16_splat(0x30);
  v128_t acc[4];
  for (int c = 0; c < NC; c++) acc[c] = wasm_f32x4_splat(0.0f);
  for (int i = 0; i < n / QK_K; i++, w += 210) {
    const v128_t s8 = wasm_v128_load(w + 192);
    const v128_t sc0 = wasm_i16x8_extend_low_i8x16(s8), sc1 = wasm_i16x8_extend_high_i8x16(s8);
    v128_t isum[4];
    for (int c = 0; c < NC; c++) {
      /* quants are stored +32: start from -32 * sum(sc * bsum) */
      const int16_t *bs = act_bsums(a[c], n) + 16 * i;
      const v128_t offs = wasm_i32x4_add(wasm_i32x4_dot_i16x8(sc0, wasm_v128_load(bs)), wasm_i32x4_dot_i16x8(sc1, wasm_v128_load(bs + 8)));
      isum[c] = wasm_i32x4_mul(offs, wasm_i32x4_splat(-32));
    }
#define Q6K(SCV, h, k, qv)                                                                                           \
  {                                                                                                                \
    const v128_t q = (qv), s = SPLAT16(SCV, k);                                                                    \
    for (int c = 0; c < NC; c++)                                                                                   \
      isum[c] = wasm_i32x4_add(isum[c], wasm_i32x4_dot_i16x8(we_dot16_su(wasm_v128_load(act_qs(a[c]) + QK_K * i + 128 * h + 16 * k), q), s)); \
  }
#define Q6HALF(SCV, h)                                                                                               \
  {                                                                                                                \
    const uint8_t *ql = w + 64 * h, *qh = w + 128 + 32 * h;                                                        \
    const v128_t L0 = wasm_v128_load(ql), L1 = wasm_v128_load(ql + 16), L2 = wasm_v128_load(ql + 32), L3 = wasm_v128_load(ql + 48); \
    const v128_t H0 = wasm_v128_load(qh), H1 = wasm_v128_load(qh + 16);                                              \
    Q6K(SCV, h, 0, wasm_v128_or(wasm_v128_and(L0, m4), wasm_v128_and(wasm_i16x8_shl(H0, 4), m30)))                    \
    Q6K(SCV, h, 1, wasm_v128_or(wasm_v128_and(L1, m4), wasm_v128_and(wasm_i16x8_shl(H1, 4), m30)))                    \
    Q6K(SCV, h, 2, wasm_v128_or(wasm_v128_and(L2, m4), wasm_v128_and(wasm_i16x8_shl(H0, 2), m30)))                    \
    Q6K(SCV, h, 3, wasm_v128_or(wasm_v128_and(L3, m4), wasm_v128_and(wasm_i16x8_shl(H1, 2), m30)))                    \
    Q6K(SCV, h, 4, wasm_v128_or(WE_HI4(L0), wasm_v128_and(H0, m30)))                                       \
    Q6K(SCV, h, 5, wasm_v128_or(WE_HI4(L1), wasm_v128_and(H1, m30)))                                       \
    Q6K(SCV, h, 6, wasm_v128_or(WE_HI4(L2), wasm_v128_and(wasm_u16x8_shr(H0, 2), m30)))                    \
    Q6K(SCV, h, 7, wasm_v128_or(WE_HI4(L3), wasm_v128_and(wasm_u16x8_shr(H1, 2), m30)))                    \
  }
    Q6HALF(sc0, 0) Q6HALF(sc1, 1)
#undef Q6HALF
#undef Q6K
    const float d = we_fp16_to_fp32(we_rd16(w + 208));
    for (int c = 0; c < NC; c++) acc[c] = we_madd(wasm_f32x4_convert_i32x4(isum[c]), wasm_f32x4_splat(d * act_d(a[c], n)[i]), acc[c]);
  }
  for (int c = 0; c < NC; c++) out[c] = we_hsum_f32x4(acc[c]);
}

float we_vec_dot_q5_k_q8_k(int32_t n, const void *w, const void *a) {
  float r;
  q5k_dot(n, (const uint8_t *)w, &a, &r, 1);
  return r;
}
void we_vec_dot4_q5_k_q8_k(int32_t n, const void *w, const void *const *a, float *out) { q5k_dot(n, (const uint8_t *)w, a, out, 4); }
float we_vec_dot_q6_k_q8_k(int32_t n, const void *w, const void *a) {
  float r;
  q6k_dot(n, (const uint8_t *)w, &a, &r, 1);
  return r;
}
void we_vec_dot4_q6_k_q8_k(int32_t n, const void *w, const void *const *a, float *out) { q6k_dot(n, (const uint8_t *)w, a, out, 4); }

float we_vec_dot_iq4_xs_q8_k(int32_t n, const void *vw, const void *a) {
  const uint8_t *w = (const uint8_t *)vw;
  const int8_t *x = act_qs(a);
  const float *dx = act_d(a, n);
  const uint8_t *pos = act_pos(a, n, QK_K), *neg = act_neg(a, n, QK_K);
  const v128_t kv = wasm_v128_load(we_kvalues_iq4nl);
  const v128_t m4 = wasm_i8x16_splat(0x0f);
  v128_t acc = wasm_f32x4_splat(0.0f);
  for (int i = 0; i < n / QK_K; i++, w += 136) {
    const uint32_t sh = we_rd16(w + 2), sl = we_rd32(w + 4);
    int16_t ls[8];
    for (int ib = 0; ib < 8; ib++) ls[ib] = (int16_t)((((sl >> (4 * ib)) & 0xf) | (((sh >> (2 * ib)) & 3) << 4)) - 32);
    const v128_t sc = wasm_v128_load(ls);
    v128_t isum = wasm_i32x4_splat(0);
#define IQSTEP(ib)                                                                                                 \
  {                                                                                                                \
    const v128_t q = wasm_v128_load(w + 8 + 16 * ib);                                                              \
    const int o = QK_K * i + 32 * ib;                                                                              \
    const v128_t p0 = we_dot16_ss(wasm_i8x16_swizzle(kv, wasm_v128_and(q, m4)), x + o, pos + o, neg + o);         \
    const v128_t p1 = we_dot16_ss(wasm_i8x16_swizzle(kv, WE_HI4(q)), x + o + 16, pos + o + 16, neg + o + 16); \
    isum = wasm_i32x4_add(isum, wasm_i32x4_add(wasm_i32x4_dot_i16x8(p0, SPLAT16(sc, ib)), wasm_i32x4_dot_i16x8(p1, SPLAT16(sc, ib)))); \
  }
    IQSTEP(0) IQSTEP(1) IQSTEP(2) IQSTEP(3) IQSTEP(4) IQSTEP(5) IQSTEP(6) IQSTEP(7)
#undef IQSTEP
    acc = we_madd(wasm_f32x4_convert_i32x4(isum), wasm_f32x4_splat(we_fp16_to_fp32(we_rd16(w)) * dx[i]), acc);
  }
  (void)x;
  (void)pos;
  (void)neg;
  return we_hsum_f32x4(acc);
}
#endif
