// The int8 matvec path (MatvecTuning.q8): the activation is quantized once per plan and source (memoised, so q, k, v
// or gate and up share it) as llama.cpp's CPU rounds it for the weight type (Q8_0 for Q4_0/Q8_0, Q8_K for Q4_K),
// then mul_mat_vec_q8.wgsl dots the weight blocks with it through dot4I8Packed.
import type { QuantKernel } from '../quant-kernels.ts';
import { Params } from '../uniforms.ts';
import type { OpContext } from './context.ts';

/**
 * Weight types with a shaders/common/q8/ helper: the activation rounding (Q8_K or Q8_0), the block rows must be
 * whole in, the helper's chunk, and the workgroup shape (threads, rows) fastest for each on an H100 (4096x14336
 * sweep in bench/results/webgpu-kernels-h100.md).
 */
const Q8_TYPES: Readonly<Record<string, { readonly k: boolean; readonly block: number; readonly chunk: number; readonly wg: number; readonly rows: number }>> = {
  q4_0: { k: false, block: 32, chunk: 32, wg: 64, rows: 4 },
  q8_0: { k: false, block: 32, chunk: 32, wg: 128, rows: 2 },
  q4_k: { k: true, block: 256, chunk: 32, wg: 64, rows: 4 },
};

export interface Q8Activation {
  readonly xq: GPUBuffer;
  readonly xs: GPUBuffer;
  /** Quantized rows between columns and between batches (0: batches share the column's row). */
  readonly cstride: number;
  readonly bstride: number;
  /** Elements per chunk of the helper (QCHUNK). */
  readonly chunk: number;
  /** Default workgroup threads and rows for this type. */
  readonly wg: number;
  readonly rows: number;
}

export function q8Eligible(c: OpContext, q: QuantKernel, k: number): boolean {
  const t = Q8_TYPES[q.name];
  return c.matvec.q8 === true && t !== undefined && k % t.block === 0 && c.hasShader(`common/q8/${q.name}.wgsl`);
}

/**
 * X [k, columns (xc apart), batches (xb apart)] quantized into rows (column, batch); memoised by the source node
 * when `root` is given (a scratch value such as the experts' hidden state is quantized where it is used).
 */
export function quantizeActivation(c: OpContext, q: QuantKernel, x: GPUBuffer, root: number | undefined, k: number, n: number, xc: number, xb: number, nBatch: number): Q8Activation {
  const t = Q8_TYPES[q.name]!;
  const nb = xb === 0 ? 1 : nBatch;
  const make = (own: boolean): Q8Activation => {
    const rows = n * nb;
    const alloc = (bytes: number, label: string): GPUBuffer => (own ? c.planBuffer(bytes, label) : c.scratch(bytes));
    const xq = alloc(rows * k, 'q8_x');
    const xs = alloc((rows * k) / 4, 'q8_scales');
    c.dispatch({
      kernel: { variant: `quantize_q8_${t.k ? 'k' : '0'}_f32`, shader: 'quantize_q8.wgsl', defines: { MODE_K: t.k }, layout: 'rwwu' },
      buffers: [x, xq, xs],
      params: new Params().u(k).u(nb).u(xc).u(xb).u(rows),
      grid: [Math.ceil(k / 256), rows, 1],
    });
    return { xq, xs, cstride: nb, bstride: xb === 0 ? 0 : 1, chunk: t.chunk, wg: t.wg, rows: t.rows };
  };
  if (root === undefined) return make(false);
  return c.memo(`q8:${root}:${t.k}:${k}:${n}:${xc}:${xb}:${nb}`, () => make(true));
}

