// Bit-exactness against llama.cpp: fingerprints of the bytes ggml's reference quantizers produce for a fixed input.
// Recorded by calling ggml_quantize_chunk (no imatrix; what llama-quantize runs), quantize_row_q8_1_ref,
// quantize_row_q8_K_ref, ggml_fp32_to_fp16_row and ggml_fp32_to_bf16_row_ref in the libggml-base.so that ships with
// node-llama-cpp 3.21.1 (x86-64), and cross-checked against a transcription of ggml-quants.c compiled with
// gcc -O2 -ffp-contract=off. ggml-base is built without FMA contraction there; a build that fuses a*b+c (e.g.
// clang on arm64) can produce slightly different k-quant bytes, which llama.cpp reads just the same.
import { describe, it, expect } from 'vitest';
import { QUANT_TRAITS, quantizeRowIq4NlRef } from '../../src/quant/index.ts';
import { fnv1a, goldenInput } from './helpers.ts';

const INPUT_FNV = '64a97a27';

const GOLDEN: Readonly<Record<string, string>> = {
  f16: '06f39824',
  bf16: '9112a6f5',
  q4_0: 'fe3ba9a3',
  q4_1: '8c78fe6b',
  q5_0: 'efa37d9f',
  q5_1: '45d6d845',
  q8_0: 'f54b1233',
  q8_1: '73943c5c',
  q2_K: 'a4f06168',
  q3_K: '00476067',
  q4_K: '28164054',
  q5_K: '5c5c4e3a',
  q6_K: '83ed5ae8',
  q8_K: 'edf76da8',
  iq4_nl: '2737cd62', // quantize_iq4_nl (what llama-quantize writes)
  iq4_xs: '90453c22',
};

describe('golden bytes from ggml reference quantizers', () => {
  const x = goldenInput();

  it('the input generator is unchanged', () => {
    expect(fnv1a(new Uint8Array(x.buffer))).toBe(INPUT_FNV);
  });

  for (const t of QUANT_TRAITS.values()) {
    if (t.name === 'f32') continue;
    it(`${t.name} matches ggml byte for byte`, () => {
      const q = new Uint8Array((x.length / t.blockSize) * t.typeSize);
      t.quantizeRow(x, q, x.length);
      expect(fnv1a(q)).toBe(GOLDEN[t.name]);
    });
  }

  // From the transcription: that llama.cpp's quantize_row_iq4_nl_ref leaves the quants of an all-zero block
  // uninitialized (stack garbage, harmless since d = 0); ours writes zeros. All other blocks match it.
  it('quantize_row_iq4_nl_ref (no scale search) matches too', () => {
    const q = new Uint8Array((x.length / 32) * 18);
    quantizeRowIq4NlRef(x, q, x.length);
    expect(fnv1a(q)).toBe('3f77f48c');
  });
});
