/* mul_mat (and mul_mat_heads: H weight matrices, one per head) and get_rows. Phase 0 quantizes every activation
 * column once to the weight type's activation format; phase 1 splits the output into blocks of WE_MM_ROWS rows
 * x WE_MM_COLS columns: a task reads its weight rows once and dots each against all of its columns, 4 columns per
 * weight decode where the type has a dot4 kernel. */
#include "ops.h"

#define WE_MM_ROWS 16
#define WE_MM_COLS 16

/* x [k, H, n] -> act rows [H * n] */
static int32_t mm_prepare(const we_op *op, int32_t phase, int32_t nth) {
  (void)nth;
  const int32_t m = op->ne[1], n = op->ne[2], h = op->ne[3];
  if (phase == 0) return n * h;
  return h * we_div_up(m, WE_MM_ROWS) * we_div_up(n, WE_MM_COLS);
}

static int32_t mm_task(const we_op *op, int32_t phase, int32_t t, int32_t ith, int32_t nth) {
  (void)ith;
  (void)nth;
  const int32_t k = op->ne[0], m = op->ne[1], n = op->ne[2], nh = op->ne[3];
  const int32_t arb = op->i[1];
  uint8_t *act = (uint8_t *)we_ptr(op->p[3]);
  if (phase == 0) return we_quantize_act(op->act, (const float *)we_ptr(op->p[1]) + (size_t)t * k, act + (size_t)t * arb, k);
  const we_type_traits *tr = we_traits(op->type);
  if (!tr) return WE_ERR_TYPE;
  const we_vec_dot_fn dot = tr->dot;
  const we_vec_dot4_fn dot4 = tr->dot4;
  const int32_t nrb = we_div_up(m, WE_MM_ROWS), ncb = we_div_up(n, WE_MM_COLS);
  const int32_t h = t / (nrb * ncb), rb = (t / ncb) % nrb, cb = t % ncb;
  const int32_t r0 = rb * WE_MM_ROWS, r1 = r0 + WE_MM_ROWS < m ? r0 + WE_MM_ROWS : m;
  const int32_t c0 = cb * WE_MM_COLS, c1 = c0 + WE_MM_COLS < n ? c0 + WE_MM_COLS : n;
  const uint8_t *w = (const uint8_t *)we_ptr(op->p[0]) + (size_t)h * (uint32_t)op->i[2];
  float *dst = (float *)we_ptr(op->p[2]);
  /* columns outer, rows inner: 4 activation rows stay in L1 while the tile's weight rows stream past them */
  const int32_t c4 = dot4 ? c0 + ((c1 - c0) & ~3) : c0;
  for (int32_t c = c0; c < c4; c += 4) {
    const void *as[4];
    for (int32_t j = 0; j < 4; j++) as[j] = act + (size_t)((c + j) * nh + h) * arb;
    for (int32_t r = r0; r < r1; r++) {
      float o[4];
      dot4(k, w + (size_t)r * (uint32_t)op->i[0], as, o);
      for (int32_t j = 0; j < 4; j++) dst[(size_t)((c + j) * nh + h) * m + r] = o[j];
    }
  }
  for (int32_t c = c4; c < c1; c++) {
    const int32_t col = c * nh + h;
    for (int32_t r = r0; r < r1; r++) dst[(size_t)col * m + r] = dot(k, w + (size_t)r * (uint32_t)op->i[0], act + (size_t)col * arb);
  }
  return WE_OK;
}

const we_op_impl we_impl_mul_mat = {2, mm_prepare, mm_task};

static int32_t gr_prepare(const we_op *op, int32_t phase, int32_t nth) {
  (void)phase;
  (void)nth;
  return op->ne[2];
}

static int32_t gr_task(const we_op *op, int32_t phase, int32_t t, int32_t ith, int32_t nth) {
  (void)phase;
  (void)ith;
  (void)nth;
  const int32_t k = op->ne[0];
  const int32_t id = ((const int32_t *)we_ptr(op->p[1]))[t];
  if (id < 0 || id >= op->ne[1]) return WE_ERR_INDEX;
  const uint8_t *w = (const uint8_t *)we_ptr(op->p[0]) + (size_t)id * (uint32_t)op->i[0];
  return we_dequantize_row(op->type, w, (float *)we_ptr(op->p[2]) + (size_t)t * k, k);
}

const we_op_impl we_impl_get_rows = {1, gr_prepare, gr_task};
