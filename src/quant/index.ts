// Public API of the quant module: ggml block codecs bit-compatible with llama.cpp's reference quantizers.
export type { QuantTraits } from './types.ts';
export { QUANT_TRAITS, quantTraits, rowBytes, dequantize, quantize } from './registry.ts';
export { fp16ToFp32, fp32ToFp16, bf16ToFp32, fp32ToBf16 } from './f16.ts';
export { KVALUES_IQ4NL, quantizeRowIq4NlRef } from './iq4.ts';
