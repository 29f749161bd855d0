/* Native reference for the WASM kernel benchmark: llama.cpp's own CPU dot products (ggml_get_type_traits_cpu of a
 * libggml-cpu variant from node-llama-cpp: "haswell" = AVX2+FMA+F16C, "zen4" = AVX-512, or a native build), over
 * the same decode GEMV as e2e/wasm-bench-core.ts: a [k, m] weight of ~mb MiB tiled from 64 quantized rows (given
 * in a file, quantized by ktweb's ggml-exact TS quantizers), an activation row quantized once to the type's
 * vec_dot_type, one thread. Prints "<type id> <bytes> <median ms per GEMV> <GB/s> <a result>".
 * Usage: native-gemv LIB.so TYPE K MB REPS TILE_FILE */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void (*from_float_t)(const float *x, void *y, int64_t k);
typedef void (*vec_dot_t)(int n, float *s, size_t bs, const void *x, size_t bx, const void *y, size_t by, int nrc);
struct traits_cpu {
  from_float_t from_float;
  vec_dot_t vec_dot;
  int vec_dot_type;
  int64_t nrows;
};

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: native-gemv LIB.so TYPE K MB REPS TILE_FILE\n");
    return 2;
  }
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
  if (!lib) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  void (*cpu_init)(void) = (void (*)(void))dlsym(lib, "ggml_cpu_init");
  const struct traits_cpu *(*get)(int) = (const struct traits_cpu *(*)(int))dlsym(lib, "ggml_get_type_traits_cpu");
  if (!cpu_init || !get) {
    fprintf(stderr, "missing ggml_cpu_init / ggml_get_type_traits_cpu\n");
    return 1;
  }
  cpu_init();
  const int type = atoi(argv[2]), k = atoi(argv[3]), reps = atoi(argv[5]);
  const double mb = atof(argv[4]);
  FILE *f = fopen(argv[6], "rb");
  if (!f) return 1;
  fseek(f, 0, SEEK_END);
  const long tile = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *t = malloc(tile);
  if (fread(t, 1, tile, f) != (size_t)tile) return 1;
  fclose(f);
  const size_t rb = tile / 64;
  size_t m = (size_t)(mb * 1048576.0 / rb / 64) * 64;
  if (m < 64) m = 64;
  uint8_t *w = aligned_alloc(64, (rb * m + 63) / 64 * 64);
  for (size_t o = 0; o < rb * m; o += tile) memcpy(w + o, t, o + tile <= rb * m ? (size_t)tile : rb * m - o);
  const struct traits_cpu *tr = get(type);
  const struct traits_cpu *act = get(tr->vec_dot_type);
  float *x = malloc(sizeof(float) * k);
  for (int i = 0; i < k; i++) x[i] = (float)((rand() / (double)RAND_MAX) * 2.0 - 1.0);
  void *y = aligned_alloc(64, (size_t)k * 4 + 64);
  if (tr->vec_dot_type == 0) memcpy(y, x, sizeof(float) * k);
  else act->from_float(x, y, k);
  float *out = malloc(sizeof(float) * m);
  double *times = malloc(sizeof(double) * reps);
  for (int r = 0; r < reps + 2; r++) {
    const double t0 = now_ms();
    for (size_t i = 0; i < m; i++) tr->vec_dot(k, out + i, 0, w + i * rb, 0, y, 0, 1);
    if (r >= 2) times[r - 2] = now_ms() - t0; /* two warm-up passes */
  }
  /* the median: robust against other load on a shared machine (the WASM benchmark reports the same) */
  for (int i = 1; i < reps; i++)
    for (int j = i; j > 0 && times[j] < times[j - 1]; j--) {
      const double s = times[j];
      times[j] = times[j - 1];
      times[j - 1] = s;
    }
  const double best = times[reps / 2];
  printf("%d %zu %.4f %.3f %g\n", type, rb * m, best, rb * m / best / 1e6, out[m / 2]);
  return 0;
}
