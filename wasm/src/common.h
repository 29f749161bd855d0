/* Internal helpers shared by the kernels: ISA selection, fp16/bf16 conversion with ggml's bit semantics, the
 * int8 dot primitives each ISA provides, activation-row plane offsets and the few libm functions we need
 * (freestanding: no libc). */
#ifndef WE_COMMON_H
#define WE_COMMON_H

#include "../include/engine_kernels.h"

#if defined(WE_ISA_RELAXED)
#define WE_SIMD 1
#define WE_ISA_ID WE_ISA_ID_RELAXED
#elif defined(WE_ISA_SIMD128)
#define WE_SIMD 1
#define WE_ISA_ID WE_ISA_ID_SIMD128
#else
#define WE_SIMD 0
#define WE_ISA_ID WE_ISA_ID_SCALAR
#endif

#if WE_SIMD
#include <wasm_simd128.h>
#endif

#define WE_INLINE static inline __attribute__((always_inline))
#define QK 32
#define QK_K 256

typedef union { float f; uint32_t u; } we_fu;

WE_INLINE float we_u2f(uint32_t u) { we_fu x; x.u = u; return x.f; }
WE_INLINE uint32_t we_f2u(float f) { we_fu x; x.f = f; return x.u; }

WE_INLINE uint16_t we_rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
WE_INLINE uint32_t we_rd32(const uint8_t *p) { uint32_t v; __builtin_memcpy(&v, p, 4); return v; }

/* ggml_compute_fp16_to_fp32 */
WE_INLINE float we_fp16_to_fp32(uint16_t h) {
  const uint32_t w = (uint32_t)h << 16;
  const uint32_t sign = w & 0x80000000u;
  const uint32_t two_w = w + w;
  const float normalized = we_u2f((two_w >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
  const float denormalized = we_u2f((two_w >> 17) | (126u << 23)) - 0.5f;
  const uint32_t r = sign | (two_w < (1u << 27) ? we_f2u(denormalized) : we_f2u(normalized));
  return we_u2f(r);
}

/* ggml_compute_fp32_to_fp16 */
WE_INLINE uint16_t we_fp32_to_fp16(float f) {
  float base = (__builtin_fabsf(f) * 0x1.0p+112f) * 0x1.0p-110f;
  const uint32_t w = we_f2u(f);
  const uint32_t shl1_w = w + w;
  const uint32_t sign = w & 0x80000000u;
  uint32_t bias = shl1_w & 0xFF000000u;
  if (bias < 0x71000000u) bias = 0x71000000u;
  base = we_u2f((bias >> 1) + 0x07800000u) + base;
  const uint32_t bits = we_f2u(base);
  const uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
  const uint32_t mantissa_bits = bits & 0x00000FFFu;
  const uint32_t nonsign = exp_bits + mantissa_bits;
  return (uint16_t)((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

WE_INLINE float we_bf16_to_fp32(uint16_t h) { return we_u2f((uint32_t)h << 16); }

/* ggml_compute_fp32_to_bf16 */
WE_INLINE uint16_t we_fp32_to_bf16(float f) {
  const uint32_t u = we_f2u(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 64);
  return (uint16_t)((u + (0x7fffu + ((u >> 16) & 1u))) >> 16);
}

/* Activation planes (see enum we_act). Row bytes are multiples of 16, so every plane of every row is 16-aligned
 * when the buffer is.
 *   Q8_0: qs[n] | d[n/32] f32 | dxs[n/32] f32 (d * sum of the block's qs) | pos[n] | neg[n]
 *   Q8_K: qs[n] | d[n/256] f32 | bsums[n/16] i16 | bsums32[n/32] i16 (sums of 32) | pos[n] | neg[n]
 * pos/neg only in relaxed builds. */
WE_INLINE int32_t we_act_has_split(void) { return WE_ISA_ID == WE_ISA_ID_RELAXED; }
WE_INLINE const int8_t *act_qs(const void *a) { return (const int8_t *)a; }
WE_INLINE const float *act_d(const void *a, int32_t n) { return (const float *)((const uint8_t *)a + n); }
WE_INLINE const float *act_dxs(const void *a, int32_t n) { return act_d(a, n) + n / QK; }
WE_INLINE const int16_t *act_bsums(const void *a, int32_t n) { return (const int16_t *)(act_d(a, n) + n / QK_K); }
WE_INLINE const int16_t *act_bsums32(const void *a, int32_t n) { return act_bsums(a, n) + n / 16; }
WE_INLINE int32_t act_head_bytes(int32_t n, int32_t bs) {
  const int32_t b = bs == QK ? n + 8 * (n / QK) : n + 4 * (n / QK_K) + 2 * (n / 16) + 2 * (n / 32);
  return (b + 15) & ~15;
}
WE_INLINE const uint8_t *act_pos(const void *a, int32_t n, int32_t bs) { return (const uint8_t *)a + act_head_bytes(n, bs); }
WE_INLINE const uint8_t *act_neg(const void *a, int32_t n, int32_t bs) { return act_pos(a, n, bs) + n; }

#if WE_SIMD
WE_INLINE float we_hsum_f32x4(v128_t v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) +
         (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}
WE_INLINE int32_t we_hsum_i32x4(v128_t v) {
  return wasm_i32x4_extract_lane(v, 0) + wasm_i32x4_extract_lane(v, 1) + wasm_i32x4_extract_lane(v, 2) +
         wasm_i32x4_extract_lane(v, 3);
}

/* Int8 dot primitives. Only the sum over all lanes of a result is defined (lane grouping differs by ISA).
 * we_dot16_su: i16x8 partial sums of a (int8, any) * b (int8 in 0..127), two products per lane.
 * we_dot16_ss: i16x8 partial sums of w * x, both int8 with |x| <= 127; relaxed builds take x as its pos/neg
 *              planes (w*pos - w*neg: each term fits int16, so the wrapping difference is exact). */
#if defined(WE_ISA_RELAXED)
WE_INLINE v128_t we_dot16_su(v128_t a, v128_t b) { return wasm_i16x8_relaxed_dot_i8x16_i7x16(a, b); }
WE_INLINE v128_t we_dot16_ss(v128_t w, const int8_t *x, const uint8_t *pos, const uint8_t *neg) {
  (void)x;
  return wasm_i16x8_sub(wasm_i16x8_relaxed_dot_i8x16_i7x16(w, wasm_v128_load(pos)),
                        wasm_i16x8_relaxed_dot_i8x16_i7x16(w, wasm_v128_load(neg)));
}
#else
WE_INLINE v128_t we_dot16_su(v128_t a, v128_t b) {
  /* |a*b| <= 128*127, so two products fit an int16 lane */
  return wasm_i16x8_add(wasm_i16x8_extmul_low_i8x16(a, b), wasm_i16x8_extmul_high_i8x16(a, b));
}
WE_INLINE v128_t we_dot16_ss(v128_t w, const int8_t *x, const uint8_t *pos, const uint8_t *neg) {
  (void)pos;
  (void)neg;
  return we_dot16_su(w, wasm_v128_load(x));
}
#endif
/* Byte shifts as 16-bit shifts under a mask that drops the bits crossing from the neighbour byte: x86 has no byte
 * shift, and V8 emulates i8x16.shr_u/shl with a shift plus a mask it rebuilds each time (3 extra instructions in
 * the hottest loops). Only where the mask keeps no bit a crossing could reach. */
#define WE_HI4(v) wasm_v128_and(wasm_u16x8_shr((v), 4), wasm_i8x16_const_splat(0x0f))
/* i16x8 -> i32x4 pair sums */
WE_INLINE v128_t we_widen16(v128_t v) { return wasm_i32x4_extadd_pairwise_i16x8(v); }
/* lane l of a f32x4 in all lanes */
#define WE_LANE(v, l) wasm_i32x4_shuffle((v), (v), (l), (l), (l), (l))

/* 4 fp16 at p, p + stride, p + 2*stride, p + 3*stride -> f32x4 (ggml conversion; finite inputs) */
WE_INLINE v128_t we_fp16x4_to_f32(const uint8_t *p, int32_t stride) {
  v128_t h = wasm_i32x4_splat(0);
  h = wasm_v128_load16_lane(p, h, 0);
  h = wasm_v128_load16_lane(p + stride, h, 2);
  h = wasm_v128_load16_lane(p + 2 * stride, h, 4);
  h = wasm_v128_load16_lane(p + 3 * stride, h, 6);
  const v128_t mag = wasm_f32x4_mul(wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_const_splat(0x7fff)), 13), wasm_f32x4_const_splat(0x1.0p+112f));
  return wasm_v128_or(mag, wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_const_splat(0x8000)), 16));
}

#if defined(WE_ISA_RELAXED)
#define we_madd(a, b, c) wasm_f32x4_relaxed_madd((a), (b), (c))
#else
#define we_madd(a, b, c) wasm_f32x4_add(wasm_f32x4_mul((a), (b)), (c))
#endif

/* 8 fp16 -> two f32x4, ggml's conversion without the NaN/inf special case: GGUF weights are finite. */
WE_INLINE void we_fp16x8_to_f32(v128_t h, v128_t *lo, v128_t *hi) {
  const v128_t wl = wasm_u32x4_extend_low_u16x8(h);
  const v128_t wh = wasm_u32x4_extend_high_u16x8(h);
  const v128_t mag = wasm_i32x4_const_splat(0x7fff);
  const v128_t scale = wasm_f32x4_const_splat(0x1.0p+112f);
  *lo = wasm_v128_or(wasm_f32x4_mul(wasm_i32x4_shl(wasm_v128_and(wl, mag), 13), scale),
                     wasm_i32x4_shl(wasm_v128_and(wl, wasm_i32x4_const_splat(0x8000)), 16));
  *hi = wasm_v128_or(wasm_f32x4_mul(wasm_i32x4_shl(wasm_v128_and(wh, mag), 13), scale),
                     wasm_i32x4_shl(wasm_v128_and(wh, wasm_i32x4_const_splat(0x8000)), 16));
}
#endif

/* 12-byte K-quant scales (get_scale_min_k4) unpacked to 8 scales and 8 mins. */
WE_INLINE void we_unpack_scales_k4(const uint8_t *q, uint8_t *sc, uint8_t *mn) {
  for (int j = 0; j < 4; j++) {
    sc[j] = q[j] & 63;
    mn[j] = q[j + 4] & 63;
    sc[j + 4] = (q[j + 8] & 0xf) | ((q[j] >> 6) << 4);
    mn[j + 4] = (q[j + 8] >> 4) | ((q[j + 4] >> 6) << 4);
  }
}

#if WE_SIMD
/* 12-byte K-quant scales -> bytes 0..7 scales, 8..15 mins (ggml's kmask trick on 32-bit words) */
WE_INLINE v128_t we_k4_scales(const uint8_t *q) {
  const uint32_t u0 = we_rd32(q), u1 = we_rd32(q + 4), u2 = we_rd32(q + 8);
  const uint32_t k1 = 0x3f3f3f3fu, k2 = 0x0f0f0f0fu, k3 = 0x03030303u;
  return wasm_i32x4_make((int32_t)(u0 & k1), (int32_t)((u2 & k2) | (((u0 >> 6) & k3) << 4)), (int32_t)(u1 & k1),
                         (int32_t)(((u2 >> 4) & k2) | (((u1 >> 6) & k3) << 4)));
}
#endif

/* Q3_K's 12-byte scales -> 16 signed scales (value - 32). */
WE_INLINE void we_unpack_scales_q3k(const uint8_t *q, int8_t *out) {
  for (int j = 0; j < 16; j++) {
    const int low = j < 8 ? q[j] & 0xf : q[j - 8] >> 4;
    const int high = (q[8 + (j % 4)] >> (2 * (j / 4))) & 3;
    out[j] = (int8_t)((low | (high << 4)) - 32);
  }
}

extern const int8_t we_kvalues_iq4nl[16];

/* ---- math (libm-free): relative error ~1e-7 (float) and ~1e-15 (double) ---- */
float we_expf(float x);
double we_exp(double x);
WE_INLINE float we_silu(float x) { return x / (1.0f + we_expf(-x)); }

#if WE_SIMD
/* we_expf on 4 lanes, the same operations in the same order (no contraction), so bit-identical to it: SiLU of a
 * decode step (n_ff per expert) otherwise costs a scalar exp per row. */
WE_INLINE v128_t we_expf4(v128_t x) {
  const v128_t k = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_const_splat(1.44269504088896341f)));
  const v128_t r = wasm_f32x4_sub(wasm_f32x4_sub(x, wasm_f32x4_mul(k, wasm_f32x4_const_splat(0.693145751953125f))),
                                  wasm_f32x4_mul(k, wasm_f32x4_const_splat(1.428606765330187045e-06f)));
  v128_t p = wasm_f32x4_const_splat(1.0f / 5040.0f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_const_splat(1.0f / 720.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_const_splat(1.0f / 120.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_const_splat(1.0f / 24.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_const_splat(1.0f / 6.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_const_splat(0.5f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_const_splat(1.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_const_splat(1.0f));
  const v128_t ki = wasm_i32x4_trunc_sat_f32x4(k);
  const v128_t k1 = wasm_i32x4_shr(wasm_i32x4_add(ki, wasm_u32x4_shr(ki, 31)), 1); /* ki / 2, toward zero as C */
  const v128_t k2 = wasm_i32x4_sub(ki, k1);
  const v128_t bias = wasm_i32x4_const_splat(127);
  v128_t y = wasm_f32x4_mul(wasm_f32x4_mul(p, wasm_i32x4_shl(wasm_i32x4_add(k1, bias), 23)), wasm_i32x4_shl(wasm_i32x4_add(k2, bias), 23));
  y = wasm_v128_bitselect(wasm_f32x4_const_splat(__builtin_inff()), y, wasm_f32x4_gt(x, wasm_f32x4_const_splat(88.7f)));
  return wasm_v128_andnot(y, wasm_f32x4_lt(x, wasm_f32x4_const_splat(-103.9f)));
}
/* silu(g) * u on 4 lanes */
WE_INLINE v128_t we_silu_mul4(v128_t g, v128_t u) {
  return wasm_f32x4_mul(wasm_f32x4_div(g, wasm_f32x4_add(wasm_f32x4_const_splat(1.0f), we_expf4(wasm_f32x4_neg(g)))), u);
}
#endif
/* out[i] = silu(g[i]) * u[i] for 4 values */
WE_INLINE void we_silu_mul_4(const float *g, const float *u, float *out) {
#if WE_SIMD
  wasm_v128_store(out, we_silu_mul4(wasm_v128_load(g), wasm_v128_load(u)));
#else
  for (int j = 0; j < 4; j++) out[j] = we_silu(g[j]) * u[j];
#endif
}

/* ---- per-type row dequantizers (wasm/src/quants; nb = blocks) and dispatch (type_traits.c) ---- */
#define WE_DEQUANT(name) int32_t we_dequant_##name(const uint8_t *w, float *y, int32_t nb);
WE_DEQUANT(f32) WE_DEQUANT(f16) WE_DEQUANT(bf16) WE_DEQUANT(q4_0) WE_DEQUANT(q4_1) WE_DEQUANT(q5_0) WE_DEQUANT(q5_1)
WE_DEQUANT(q8_0) WE_DEQUANT(iq4_nl) WE_DEQUANT(q2_k) WE_DEQUANT(q3_k) WE_DEQUANT(q4_k) WE_DEQUANT(q5_k)
WE_DEQUANT(q6_k) WE_DEQUANT(iq4_xs)
#undef WE_DEQUANT

typedef struct we_type_traits {
  int32_t block_size;
  int32_t type_size;
  int32_t act;
  we_vec_dot_fn dot;
  we_vec_dot_fn dot_generic;
  we_vec_dot4_fn dot4; /* 0 where there is none */
} we_type_traits;
const we_type_traits *we_traits(int32_t type);

#endif
