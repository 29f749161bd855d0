/* Activation quantization: ggml's reference Q8_0 / Q8_1 / Q8_K quantizers (bit-exact with src/quant) and the
 * activation rows of enum we_act that the dot products read. Quantized once per op and column, so scalar code. */
#include "../common.h"

WE_INLINE float we_roundf(float x) {
  /* C roundf (halves away from zero); x - trunc(x) is exact. */
  float t = __builtin_truncf(x);
  if (__builtin_fabsf(x - t) >= 0.5f) t += __builtin_copysignf(1.0f, x);
  return t;
}

/* One 32-block as quantize_row_q8_0_ref: returns d before its fp16 rounding and writes qs; *sum = sum of qs. */
static float quant_block_q8_0(const float *x, int8_t *qs, int32_t *sum) {
  float amax = 0.0f;
  for (int j = 0; j < QK; j++) {
    const float a = __builtin_fabsf(x[j]);
    amax = amax > a ? amax : a;
  }
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  int32_t s = 0;
  for (int j = 0; j < QK; j++) {
    const int q = (int)we_roundf(x[j] * id);
    qs[j] = (int8_t)q;
    s += (int8_t)q;
  }
  *sum = s;
  return d;
}

/* One 256-block as quantize_row_q8_K_ref: returns d, writes qs and the 16 sums of 16. */
static float quant_block_q8_k(const float *x, int8_t *qs, int32_t *bsums) {
  float max = 0.0f, amax = 0.0f;
  for (int j = 0; j < QK_K; j++) {
    const float ax = __builtin_fabsf(x[j]);
    if (ax > amax) {
      amax = ax;
      max = x[j];
    }
  }
  if (amax == 0.0f) {
    for (int j = 0; j < QK_K; j++) qs[j] = 0;
    for (int j = 0; j < 16; j++) bsums[j] = 0;
    return 0.0f;
  }
  const float iscale = -127.0f / max;
  for (int j = 0; j < QK_K; j++) {
    const int v = (int)__builtin_rintf(iscale * x[j]); /* nearest_int: |v| <= 127 here */
    qs[j] = (int8_t)(v < 127 ? v : 127);
  }
  for (int j = 0; j < 16; j++) {
    int32_t s = 0;
    for (int i = 0; i < 16; i++) s += qs[16 * j + i];
    bsums[j] = s;
  }
  return 1.0f / iscale;
}

WE_API int32_t we_quantize_row_q8_0(const float *x, void *y, int32_t n) {
  if (n % QK != 0) return WE_ERR_SHAPE;
  uint8_t *b = (uint8_t *)y;
  for (int i = 0; i < n / QK; i++, b += 34) {
    int32_t s;
    const uint16_t d = we_fp32_to_fp16(quant_block_q8_0(x + i * QK, (int8_t *)(b + 2), &s));
    b[0] = d & 0xff;
    b[1] = d >> 8;
  }
  return WE_OK;
}

WE_API int32_t we_quantize_row_q8_1(const float *x, void *y, int32_t n) {
  if (n % QK != 0) return WE_ERR_SHAPE;
  uint8_t *b = (uint8_t *)y;
  for (int i = 0; i < n / QK; i++, b += 36) {
    int32_t s;
    const float df = quant_block_q8_0(x + i * QK, (int8_t *)(b + 4), &s);
    const uint16_t d = we_fp32_to_fp16(df);
    const uint16_t hs = we_fp32_to_fp16((float)s * df);
    b[0] = d & 0xff;
    b[1] = d >> 8;
    b[2] = hs & 0xff;
    b[3] = hs >> 8;
  }
  return WE_OK;
}

WE_API int32_t we_quantize_row_q8_k(const float *x, void *y, int32_t n) {
  if (n % QK_K != 0) return WE_ERR_SHAPE;
  uint8_t *b = (uint8_t *)y;
  for (int i = 0; i < n / QK_K; i++, b += 292) {
    int32_t bs[16];
    const float d = quant_block_q8_k(x + i * QK_K, (int8_t *)(b + 4), bs);
    __builtin_memcpy(b, &d, 4);
    for (int j = 0; j < 16; j++) {
      const int16_t v = (int16_t)bs[j];
      __builtin_memcpy(b + 260 + 2 * j, &v, 2);
    }
  }
  return WE_OK;
}

WE_API int32_t we_act_row_bytes(int32_t act, int32_t n) {
  switch (act) {
    case WE_ACT_F32:
    case WE_ACT_F16:
    case WE_ACT_BF16: return (4 * n + 15) & ~15;
    case WE_ACT_Q8_0: return act_head_bytes(n, QK) + (we_act_has_split() ? 2 * n : 0);
    case WE_ACT_Q8_K: return act_head_bytes(n, QK_K) + (we_act_has_split() ? 2 * n : 0);
    default: return -1;
  }
}

static void split_planes(const int8_t *qs, uint8_t *pos, uint8_t *neg, int32_t n) {
  for (int j = 0; j < n; j++) {
    const int q = qs[j];
    pos[j] = (uint8_t)(q > 0 ? q : 0);
    neg[j] = (uint8_t)(q < 0 ? -q : 0);
  }
}

WE_API int32_t we_quantize_act(int32_t act, const float *x, void *dst, int32_t n) {
  switch (act) {
    case WE_ACT_F32: {
      float *y = (float *)dst;
      for (int j = 0; j < n; j++) y[j] = x[j];
      return WE_OK;
    }
    case WE_ACT_F16: {
      float *y = (float *)dst;
      for (int j = 0; j < n; j++) y[j] = we_fp16_to_fp32(we_fp32_to_fp16(x[j]));
      return WE_OK;
    }
    case WE_ACT_BF16: {
      float *y = (float *)dst;
      for (int j = 0; j < n; j++) y[j] = we_bf16_to_fp32(we_fp32_to_bf16(x[j]));
      return WE_OK;
    }
    case WE_ACT_Q8_0: {
      if (n % QK != 0) return WE_ERR_SHAPE;
      int8_t *qs = (int8_t *)dst;
      float *d = (float *)act_d(dst, n), *dxs = (float *)act_dxs(dst, n);
      for (int i = 0; i < n / QK; i++) {
        int32_t sum;
        d[i] = we_fp16_to_fp32(we_fp32_to_fp16(quant_block_q8_0(x + i * QK, qs + i * QK, &sum)));
        dxs[i] = d[i] * (float)sum;
      }
      if (we_act_has_split()) split_planes(qs, (uint8_t *)act_pos(dst, n, QK), (uint8_t *)act_neg(dst, n, QK), n);
      return WE_OK;
    }
    case WE_ACT_Q8_K: {
      if (n % QK_K != 0) return WE_ERR_SHAPE;
      int8_t *qs = (int8_t *)dst;
      float *d = (float *)act_d(dst, n);
      int16_t *bs = (int16_t *)act_bsums(dst, n), *bs32 = (int16_t *)act_bsums32(dst, n);
      for (int i = 0; i < n / QK_K; i++) {
        int32_t b[16];
        d[i] = quant_block_q8_k(x + i * QK_K, qs + i * QK_K, b);
        for (int j = 0; j < 16; j++) bs[16 * i + j] = (int16_t)b[j];
        for (int j = 0; j < 8; j++) bs32[8 * i + j] = (int16_t)(b[2 * j] + b[2 * j + 1]);
      }
      if (we_act_has_split()) split_planes(qs, (uint8_t *)act_pos(dst, n, QK_K), (uint8_t *)act_neg(dst, n, QK_K), n);
      return WE_OK;
    }
    default: return WE_ERR_TYPE;
  }
}
