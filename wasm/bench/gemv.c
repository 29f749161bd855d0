/* A decode GEMV over the kernels' own dot products, built twice from the same source (scripts/build-wasm.mjs
 * --bench): wasm32 and wasm64 (Memory64). Measures what 64-bit addressing costs the expert kernels, the question
 * behind sharding weights over several wasm32 memories (ARCHITECTURE.md, "Experts beyond 4 GiB"). */
#include "../src/common.h"

/* out[r] = dot(row r of w, act) for r < m; rows of `type` with k elements; act in we_act_type(type)'s layout */
WE_API int32_t bench_gemv(int32_t type, int32_t k, int32_t m, const uint8_t *w, const void *act, float *out) {
  const we_type_traits *tr = we_traits(type);
  const int32_t rb = we_row_bytes(type, k);
  if (!tr || rb < 0) return WE_ERR_TYPE;
  for (int32_t r = 0; r < m; r++) out[r] = tr->dot(k, w + (size_t)r * (size_t)rb, act);
  return WE_OK;
}
