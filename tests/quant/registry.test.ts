// The registry: which types exist, their geometry, and the typed errors for everything else.
import { describe, it, expect } from 'vitest';
import { EngineError } from '../../src/core/errors.ts';
import { GGML_TYPE_GEOMETRY, GGMLType } from '../../src/core/ggml-type.ts';
import { QUANT_TRAITS, dequantize, quantTraits, quantize, rowBytes } from '../../src/quant/index.ts';

const EXPECTED_NAMES: Readonly<Record<number, string>> = {
  [GGMLType.F32]: 'f32',
  [GGMLType.F16]: 'f16',
  [GGMLType.BF16]: 'bf16',
  [GGMLType.Q4_0]: 'q4_0',
  [GGMLType.Q4_1]: 'q4_1',
  [GGMLType.Q5_0]: 'q5_0',
  [GGMLType.Q5_1]: 'q5_1',
  [GGMLType.Q8_0]: 'q8_0',
  [GGMLType.Q8_1]: 'q8_1',
  [GGMLType.Q2_K]: 'q2_K',
  [GGMLType.Q3_K]: 'q3_K',
  [GGMLType.Q4_K]: 'q4_K',
  [GGMLType.Q5_K]: 'q5_K',
  [GGMLType.Q6_K]: 'q6_K',
  [GGMLType.Q8_K]: 'q8_K',
  [GGMLType.IQ4_NL]: 'iq4_nl',
  [GGMLType.IQ4_XS]: 'iq4_xs',
};

function thrown(fn: () => unknown): EngineError {
  try {
    fn();
  } catch (e) {
    if (e instanceof EngineError) return e;
    throw e;
  }
  throw new Error('expected an EngineError, nothing was thrown');
}

describe('quant registry', () => {
  it('registers exactly the implemented types with ggml names and geometry', () => {
    expect(new Set(QUANT_TRAITS.keys())).toEqual(new Set(Object.keys(EXPECTED_NAMES).map(Number)));
    for (const [type, t] of QUANT_TRAITS) {
      expect(t.type).toBe(type);
      expect(t.name).toBe(EXPECTED_NAMES[type]);
      expect({ blockSize: t.blockSize, typeSize: t.typeSize }, t.name).toEqual(GGML_TYPE_GEOMETRY[type]);
      expect(quantTraits(type)).toBe(t);
    }
  });

  it('rejects an unknown id with unsupported_quant naming the id and the tensor', () => {
    const e = thrown(() => quantTraits(99, 'blk.0.ffn_down.weight'));
    expect(e.code).toBe('unsupported_quant');
    expect(e.message).toContain('id 99');
    expect(e.message).toContain('blk.0.ffn_down.weight');
    expect(e.details.tensor).toBe('blk.0.ffn_down.weight');
  });

  it('rejects a known but unimplemented type by name and id, listing what is supported', () => {
    const e = thrown(() => quantTraits(GGMLType.IQ2_XXS, 'blk.0.ffn_down.weight'));
    expect(e.code).toBe('unsupported_quant');
    expect(e.message).toContain('IQ2_XXS');
    expect(e.message).toContain('id 16');
    expect(e.message).toContain('blk.0.ffn_down.weight');
    expect(e.message).toContain('q4_K');
    expect(e.message).toContain('llama-quantize');
    expect(e.details.tensor).toBe('blk.0.ffn_down.weight');
    expect(thrown(() => quantTraits(GGMLType.MXFP4)).message).toContain('MXFP4 (id 39)');
  });

  it('sizes rows of any ggml type and refuses partial blocks', () => {
    expect(rowBytes(GGMLType.Q4_K, 4096)).toBe(16 * 144);
    expect(rowBytes(GGMLType.F16, 7)).toBe(14);
    expect(rowBytes(GGMLType.IQ2_XXS, 512)).toBe(2 * 66); // sizable even though not computable
    expect(thrown(() => rowBytes(GGMLType.Q4_K, 100)).code).toBe('bad_argument');
    expect(thrown(() => rowBytes(GGMLType.Q8_0, -32)).code).toBe('bad_argument');
    expect(thrown(() => rowBytes(99, 256)).code).toBe('unsupported_quant');
  });

  it('quantize/dequantize convenience functions agree with the traits', () => {
    const x = new Float32Array(256);
    for (let i = 0; i < 256; i++) x[i] = Math.sin(i);
    const q = quantize(GGMLType.Q5_K, x);
    expect(q.length).toBe(176);
    const y = dequantize(GGMLType.Q5_K, q, 256);
    const t = quantTraits(GGMLType.Q5_K);
    const y2 = new Float32Array(256);
    t.dequantizeRow(q, y2, 256);
    expect(y).toEqual(y2);
    expect(thrown(() => quantize(GGMLType.Q5_K, new Float32Array(100))).code).toBe('bad_argument');
    expect(thrown(() => quantize(GGMLType.IQ2_XXS, x)).code).toBe('unsupported_quant');
  });

  it('row codecs refuse buffers that are too short instead of silently dropping writes', () => {
    for (const t of QUANT_TRAITS.values()) {
      const n = t.blockSize === 1 ? 32 : t.blockSize;
      const bytes = (n / t.blockSize) * t.typeSize;
      expect(thrown(() => t.dequantizeRow(new Uint8Array(bytes - 1), new Float32Array(n), n)).code, t.name).toBe('bad_argument');
      expect(thrown(() => t.dequantizeRow(new Uint8Array(bytes), new Float32Array(n - 1), n)).code, t.name).toBe('bad_argument');
      expect(thrown(() => t.quantizeRow(new Float32Array(n), new Uint8Array(bytes - 1), n)).code, t.name).toBe('bad_argument');
      if (t.blockSize > 1) expect(thrown(() => t.quantizeRow(new Float32Array(n), new Uint8Array(bytes), n - 1)).code, t.name).toBe('bad_argument');
    }
  });
});
