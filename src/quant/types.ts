// The contract every ggml type implementation fulfils. Rows are whole blocks; byte layouts are exactly ggml's
// block_* structs (little endian), so bytes move unchanged between GGUF files, llama.cpp and this engine.
import type { GGMLType } from '../core/ggml-type.ts';

export interface QuantTraits {
  readonly type: GGMLType;
  /** ggml's lower-case type name as in ggml.c type_traits (`q4_K`, `f32`, `iq4_xs`). */
  readonly name: string;
  /** Elements per block. */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly typeSize: number;
  /**
   * Decodes `n` elements (a multiple of blockSize) from `src` into `dst`. Either may be a subarray view.
   * Throws EngineError('bad_argument') when n is not whole blocks or a buffer is too short.
   */
  dequantizeRow(src: Uint8Array, dst: Float32Array, n: number): void;
  /** Encodes `n` elements of `src` into `dst` exactly as ggml's reference quantizer (no imatrix) does. */
  quantizeRow(src: Float32Array, dst: Uint8Array, n: number): void;
}
