// Which ggml types have WGSL helpers (shaders/common/quant/<type>.wgsl) and their geometry. Adding a type is a
// helper file plus its quant/ traits row: kernels and the conformance suite pick it up from here.
import { EngineError } from '../../core/errors.ts';
import { ggmlTypeName } from '../../core/ggml-type.ts';
import { quantTraits } from '../../quant/registry.ts';
import type { ShaderLibrary } from './wgsl-pre.ts';

export interface QuantKernel {
  /** Lower-case ggml name: the helper file and the variant key part (`q4_k`). */
  readonly name: string;
  readonly blockSize: number;
  readonly typeSize: number;
  /** Elements per dot_chunk() call of the helper (its DOT_CHUNK). */
  readonly dotChunk: number;
  /** Dot chunks per block (CPB) and bytes per block (BLOCK_BYTES; float types: a virtual block of one chunk). */
  readonly chunksPerBlock: number;
  readonly chunkBlockBytes: number;
  /** Float types accept any row length; quant types need whole blocks. */
  readonly isFloat: boolean;
}

export function quantKernel(lib: ShaderLibrary, type: number, tensor?: string): QuantKernel {
  const t = quantTraits(type, tensor);
  const name = t.name.toLowerCase();
  const src = lib.get(`common/quant/${name}.wgsl`);
  const num = (c: string): number | undefined => {
    const m = src === undefined ? null : new RegExp(`const ${c}: u32 = (\\d+)u;`).exec(src);
    return m === null ? undefined : Number(m[1]);
  };
  const dotChunk = num('DOT_CHUNK');
  const cpb = num('CPB');
  const bb = num('BLOCK_BYTES');
  if (dotChunk === undefined || cpb === undefined || bb === undefined) {
    const of = tensor !== undefined ? ` of tensor ${tensor}` : '';
    throw new EngineError('unsupported_quant', `ggml type ${ggmlTypeName(type)}${of} has no WebGPU kernel; place the tensor on the CPU or requantize it`, tensor !== undefined ? { tensor } : {});
  }
  return { name, blockSize: t.blockSize, typeSize: t.typeSize, dotChunk, chunksPerBlock: cpb, chunkBlockBytes: bb, isFloat: t.blockSize === 1 };
}
