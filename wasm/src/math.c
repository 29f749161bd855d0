/* exp in float and double without libm: x = k*ln2 + r, |r| <= ln2/2, polynomial for e^r, 2^k from the exponent
 * bits. Float: ~1 ulp (softmax, SiLU, sigmoid); double: ~1e-15 (router probabilities, where top-k ties matter). */
#include "common.h"

float we_expf(float x) {
  if (x > 88.7f) return __builtin_inff();
  if (x < -103.9f) return 0.0f;
  const float k = __builtin_rintf(x * 1.44269504088896341f);
  const float r = (x - k * 0.693145751953125f) - k * 1.428606765330187045e-06f;
  /* Taylor to degree 7 on |r| <= 0.347: truncation < 2e-9 relative */
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int ki = (int)k;
  /* 2^k split in two factors so that k down to -149 (subnormal results) stays representable */
  const int k1 = ki / 2, k2 = ki - k1;
  return p * we_u2f((uint32_t)(k1 + 127) << 23) * we_u2f((uint32_t)(k2 + 127) << 23);
}

double we_exp(double x) {
  if (x > 709.0) return __builtin_inf();
  if (x < -745.0) return 0.0;
  const double k = __builtin_rint(x * 1.4426950408889634);
  const double r = (x - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
  double p = 1.0 / 6227020800.0; /* 1/13! */
  static const double inv_fact[13] = {1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0,
                                      1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0,
                                      1.0 / 6.0, 0.5, 1.0, 1.0};
  for (int i = 0; i < 13; i++) p = p * r + inv_fact[i];
  const long long ki = (long long)k;
  const long long k1 = ki / 2, k2 = ki - k1;
  union { double d; uint64_t u; } a, b;
  a.u = (uint64_t)(k1 + 1023) << 52;
  b.u = (uint64_t)(k2 + 1023) << 52;
  return p * a.d * b.d;
}
