// Optional emulation of llama.cpp's CPU matmul input rounding: ggml-cpu converts the activation row to the
// weight type's vec_dot_type (Q8_0, Q8_1, Q8_K, F16, BF16) before a dot product. With it, cpu-ref reproduces
// llama.cpp's numbers on quantized models to ~1e-6 instead of ~1e-2, which makes the oracle comparison tight.
import { GGMLType } from '../../core/ggml-type.ts';
import { quantTraits } from '../../quant/registry.ts';

const VEC_DOT_TYPE: Partial<Record<GGMLType, GGMLType>> = {
  [GGMLType.F16]: GGMLType.F16,
  [GGMLType.BF16]: GGMLType.BF16,
  [GGMLType.Q4_0]: GGMLType.Q8_0,
  [GGMLType.Q4_1]: GGMLType.Q8_1,
  [GGMLType.Q5_0]: GGMLType.Q8_0,
  [GGMLType.Q5_1]: GGMLType.Q8_1,
  [GGMLType.Q8_0]: GGMLType.Q8_0,
  [GGMLType.IQ4_NL]: GGMLType.Q8_0,
  [GGMLType.Q2_K]: GGMLType.Q8_K,
  [GGMLType.Q3_K]: GGMLType.Q8_K,
  [GGMLType.Q4_K]: GGMLType.Q8_K,
  [GGMLType.Q5_K]: GGMLType.Q8_K,
  [GGMLType.Q6_K]: GGMLType.Q8_K,
  [GGMLType.IQ4_XS]: GGMLType.Q8_K,
};

/** Rounds each k-long column of x [k, n] through the vec_dot_type of `weightType`; x unchanged for F32 weights. */
export function roundActivations(x: Float32Array, k: number, weightType: number): Float32Array {
  const vt = VEC_DOT_TYPE[weightType as GGMLType];
  if (vt === undefined) return x;
  const t = quantTraits(vt);
  if (k % t.blockSize !== 0) return x;
  const out = new Float32Array(x.length);
  const buf = new Uint8Array((k / t.blockSize) * t.typeSize);
  for (let c = 0; c < x.length / k; c++) {
    t.quantizeRow(x.subarray(c * k, (c + 1) * k), buf, k);
    t.dequantizeRow(buf, out.subarray(c * k, (c + 1) * k), k);
  }
  return out;
}
