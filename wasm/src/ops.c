/* Dense elementwise and layout ops: rms_norm, binary (mul/add with broadcast), unary (scale, sigmoid, swiglu),
 * slice0, concat0, repeat1 and rope. Shapes in ggml order; every op writes a separate dst. */
#include "ops.h"

static int32_t one_phase_rows(int32_t rows, int32_t row_len) {
  const int32_t per = row_len >= WE_ELEMS_PER_TASK ? 1 : WE_ELEMS_PER_TASK / (row_len > 0 ? row_len : 1);
  return we_div_up(rows, per);
}
static void row_range(int32_t t, int32_t rows, int32_t row_len, int32_t *r0, int32_t *r1) {
  const int32_t per = row_len >= WE_ELEMS_PER_TASK ? 1 : WE_ELEMS_PER_TASK / (row_len > 0 ? row_len : 1);
  *r0 = t * per;
  *r1 = *r0 + per < rows ? *r0 + per : rows;
}

/* ---- rms_norm: sum of squares in double, as ggml (ggml_float) and cpu-ref ---- */
static int32_t rms_prepare(const we_op *op, int32_t phase, int32_t nth) {
  (void)phase;
  (void)nth;
  return one_phase_rows(op->ne[1], op->ne[0]);
}
static int32_t rms_task(const we_op *op, int32_t phase, int32_t t, int32_t ith, int32_t nth) {
  (void)phase;
  (void)ith;
  (void)nth;
  const int32_t n0 = op->ne[0];
  int32_t r0, r1;
  row_range(t, op->ne[1], n0, &r0, &r1);
  for (int32_t r = r0; r < r1; r++) {
    const float *x = (const float *)we_ptr(op->p[0]) + (size_t)r * n0;
    float *y = (float *)we_ptr(op->p[2]) + (size_t)r * n0;
    double ss = 0.0;
    for (int32_t i = 0; i < n0; i++) ss += (double)x[i] * (double)x[i];
    const double k = 1.0 / __builtin_sqrt(ss / n0 + (double)op->f[0]);
    for (int32_t i = 0; i < n0; i++) y[i] = (float)((double)x[i] * k);
  }
  return WE_OK;
}
const we_op_impl we_impl_rms_norm = {1, rms_prepare, rms_task};

/* ---- binary: a [ne0..ne3] (op) b, b's dims each 1 or equal ---- */
static int32_t bin_prepare(const we_op *op, int32_t phase, int32_t nth) {
  (void)phase;
  (void)nth;
  return one_phase_rows(op->ne[1] * op->ne[2] * op->ne[3], op->ne[0]);
}
static int32_t bin_task(const we_op *op, int32_t phase, int32_t t, int32_t ith, int32_t nth) {
  (void)phase;
  (void)ith;
  (void)nth;
  const int32_t *ne = op->ne, *nb = op->i;
  const int32_t add = op->i[4];
  int32_t r0, r1;
  row_range(t, ne[1] * ne[2] * ne[3], ne[0], &r0, &r1);
  const float *a = (const float *)we_ptr(op->p[0]), *b = (const float *)we_ptr(op->p[1]);
  float *y = (float *)we_ptr(op->p[2]);
  for (int32_t r = r0; r < r1; r++) {
    const int32_t i1 = r % ne[1], i2 = (r / ne[1]) % ne[2], i3 = r / (ne[1] * ne[2]);
    const int32_t br = (i1 % nb[1]) + nb[1] * ((i2 % nb[2]) + nb[2] * (i3 % nb[3]));
    const float *ar = a + (size_t)r * ne[0], *bp = b + (size_t)br * nb[0];
    float *yr = y + (size_t)r * ne[0];
    if (nb[0] == 1) {
      for (int32_t i = 0; i < ne[0]; i++) yr[i] = add ? ar[i] + bp[0] : ar[i] * bp[0];
    } else if (add) {
      for (int32_t i = 0; i < ne[0]; i++) yr[i] = ar[i] + bp[i];
    } else {
      for (int32_t i = 0; i < ne[0]; i++) yr[i] = ar[i] * bp[i];
    }
  }
  return WE_OK;
}
const we_op_impl we_impl_binary = {1, bin_prepare, bin_task};

/* ---- unary: scale, sigmoid, swiglu ---- */
static int32_t un_prepare(const we_op *op, int32_t phase, int32_t nth) {
  (void)phase;
  (void)nth;
  return we_div_up(op->ne[0], WE_ELEMS_PER_TASK);
}
static int32_t un_task(const we_op *op, int32_t phase, int32_t t, int32_t ith, int32_t nth) {
  (void)phase;
  (void)ith;
  (void)nth;
  const int32_t i0 = t * WE_ELEMS_PER_TASK, i1 = i0 + WE_ELEMS_PER_TASK < op->ne[0] ? i0 + WE_ELEMS_PER_TASK : op->ne[0];
  const float *x = (const float *)we_ptr(op->p[0]), *u = (const float *)we_ptr(op->p[1]);
  float *y = (float *)we_ptr(op->p[2]);
  switch (op->i[0]) {
    case 0:
      for (int32_t i = i0; i < i1; i++) y[i] = x[i] * op->f[0];
      return WE_OK;
    case 1: {
      int32_t i = i0;
#if WE_SIMD
      for (; i + 4 <= i1; i += 4)
        wasm_v128_store(y + i, wasm_f32x4_div(wasm_f32x4_const_splat(1.0f), wasm_f32x4_add(wasm_f32x4_const_splat(1.0f), we_expf4(wasm_f32x4_neg(wasm_v128_load(x + i))))));
#endif
      for (; i < i1; i++) y[i] = 1.0f / (1.0f + we_expf(-x[i]));
      return WE_OK;
    }
    case 2: {
      int32_t i = i0;
      for (; i + 4 <= i1; i += 4) we_silu_mul_4(x + i, u + i, y + i);
      for (; i < i1; i++) y[i] = we_silu(x[i]) * u[i];
      return WE_OK;
    }
    default: return WE_ERR_OP;
  }
}
const we_op_impl we_impl_unary = {1, un_prepare, un_task};

/* ---- slice0 / concat0 / repeat1 ---- */
static int32_t sl_prepare(const we_op *op, int32_t phase, int32_t nth) {
  (void)phase;
  (void)nth;
  return one_phase_rows(op->ne[2], op->ne[1]);
}
static int32_t sl_task(const we_op *op, int32_t phase, int32_t t, int32_t ith, int32_t nth) {
  (void)phase;
  (void)ith;
  (void)nth;
  const int32_t n0 = op->ne[0], len = op->ne[1], start = op->i[0];
  int32_t r0, r1;
  row_range(t, op->ne[2], len, &r0, &r1);
  const float *x = (const float *)we_ptr(op->p[0]);
  float *y = (float *)we_ptr(op->p[2]);
  for (int32_t r = r0; r < r1; r++) __builtin_memcpy(y + (size_t)r * len, x + (size_t)r * n0 + start, 4 * (size_t)len);
  return WE_OK;
}
const we_op_impl we_impl_slice0 = {1, sl_prepare, sl_task};

static int32_t cc_prepare(const we_op *op, int32_t phase, int32_t nth) {
  (void)phase;
  (void)nth;
  return one_phase_rows(op->ne[2], op->ne[0] + op->ne[1]);
}
static int32_t cc_task(const we_op *op, int32_t phase, int32_t t, int32_t ith, int32_t nth) {
  (void)phase;
  (void)ith;
  (void)nth;
  const int32_t na = op->ne[0], nb = op->ne[1];
  int32_t r0, r1;
  row_range(t, op->ne[2], na + nb, &r0, &r1);
  const float *a = (const float *)we_ptr(op->p[0]), *b = (const float *)we_ptr(op->p[1]);
  float *y = (float *)we_ptr(op->p[2]);
  for (int32_t r = r0; r < r1; r++) {
    __builtin_memcpy(y + (size_t)r * (na + nb), a + (size_t)r * na, 4 * (size_t)na);
    __builtin_memcpy(y + (size_t)r * (na + nb) + na, b + (size_t)r * nb, 4 * (size_t)nb);
  }
  return WE_OK;
}
const we_op_impl we_impl_concat0 = {1, cc_prepare, cc_task};

static int32_t rp_prepare(const we_op *op, int32_t phase, int32_t nth) {
  (void)phase;
  (void)nth;
  return one_phase_rows(op->ne[1] * op->ne[2], op->ne[0]);
}
static int32_t rp_task(const we_op *op, int32_t phase, int32_t t, int32_t ith, int32_t nth) {
  (void)phase;
  (void)ith;
  (void)nth;
  const int32_t n0 = op->ne[0], rep = op->ne[1];
  int32_t r0, r1;
  row_range(t, rep * op->ne[2], n0, &r0, &r1);
  const float *x = (const float *)we_ptr(op->p[0]);
  float *y = (float *)we_ptr(op->p[2]);
  for (int32_t r = r0; r < r1; r++) __builtin_memcpy(y + (size_t)r * n0, x + (size_t)(r / rep) * n0, 4 * (size_t)n0);
  return WE_OK;
}
const we_op_impl we_impl_repeat1 = {1, rp_prepare, rp_task};

/* ---- rope: the caller precomputes cos/sin (double) per token and pair, YaRN included, so this is the rotation ---- */
static int32_t rope_prepare(const we_op *op, int32_t phase, int32_t nth) {
  (void)phase;
  (void)nth;
  return one_phase_rows(op->ne[1] * op->ne[2], op->ne[0]);
}
static int32_t rope_task(const we_op *op, int32_t phase, int32_t t, int32_t ith, int32_t nth) {
  (void)phase;
  (void)ith;
  (void)nth;
  const int32_t hd = op->ne[0], nh = op->ne[1], nd = op->i[0], neox = op->i[1];
  int32_t r0, r1;
  row_range(t, nh * op->ne[2], hd, &r0, &r1);
  const double *table = (const double *)we_ptr(op->p[1]);
  for (int32_t r = r0; r < r1; r++) {
    const float *x = (const float *)we_ptr(op->p[0]) + (size_t)r * hd;
    float *y = (float *)we_ptr(op->p[2]) + (size_t)r * hd;
    const double *cs = table + (size_t)(r / nh) * nd;
    __builtin_memcpy(y, x, 4 * (size_t)hd);
    for (int32_t i0 = 0; i0 < nd; i0 += 2) {
      const int32_t ia = neox ? i0 / 2 : i0, ib = neox ? i0 / 2 + nd / 2 : i0 + 1;
      const double c = cs[i0], s = cs[i0 + 1], x0 = x[ia], x1 = x[ib];
      y[ia] = (float)(x0 * c - x1 * s);
      y[ib] = (float)(x0 * s + x1 * c);
    }
  }
  return WE_OK;
}
const we_op_impl we_impl_rope = {1, rope_prepare, rope_task};
