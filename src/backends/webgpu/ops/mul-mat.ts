// mul_mat, mul_mat_heads and the expert products of moe_experts (mul_mat_id): one encoder over the matvec
// kernels (decode, few columns: f32, or int8 with MatvecTuning.q8) and the tiled kernel (prefill; for experts one
// GEMM per expert over the tokens routed to it). A split weight runs once per segment: 2D weights by row ranges,
// 3D weights by whole matrices (heads or experts).
import type { GpuWeight } from '../buffers.ts';
import { unsupported } from '../errors.ts';
import type { QuantKernel } from '../quant-kernels.ts';
import { Params } from '../uniforms.ts';
import type { Defines } from '../wgsl-pre.ts';
import { numel, type OpContext, type OpEncoder } from './context.ts';
import { q8Eligible, quantizeActivation } from './mul-mat-q8.ts';

export interface MatmulCall {
  readonly w: GpuWeight;
  readonly x: GPUBuffer;
  readonly o: GPUBuffer;
  /** Columns of X per batch. */
  readonly n: number;
  /** Element strides of X and O between columns (c) and batches (b): heads, or expert slots with a route. */
  readonly xc: number;
  readonly xb: number;
  readonly oc: number;
  readonly ob: number;
  /**
   * mul_mat_id: batch slot z of column t uses the expert route[t][z]. With `rows` (moe_rows.wgsl's per-expert
   * pair lists, for batches past MATVEC_MAX_COLS) each expert runs as one tiled GEMM over its tokens.
   */
  readonly route?: { readonly buf: GPUBuffer; readonly nUsed: number; readonly rows?: GPUBuffer; readonly nExpert?: number };
  /** The graph node X is (reshapes looked through), when it is one: derived forms of X are memoised by it. */
  readonly xRoot?: number;
}

/** Columns up to this many run on the matvec kernel; more on the tiled one. */
export const MATVEC_MAX_COLS = 4;

const pow2 = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

interface MatvecShape {
  readonly wg: number;
  readonly nr: number;
  readonly cpt: number;
  readonly tileBytes: number;
  readonly tileWords: number;
  readonly red: number;
  readonly sg: boolean;
  readonly stage: boolean;
}

/** Threads, rows and chunks per thread of a matvec workgroup, shrunk until its staging tile fits shared memory. */
/** `int8`: the q8 kernel's chunk and default shape (it reads weights directly, never staged). */
function matvecShape(c: OpContext, q: QuantKernel, k: number, m: number, int8?: { chunk: number; wg: number; rows: number }): MatvecShape {
  const chunks = Math.ceil(k / (int8?.chunk ?? q.dotChunk));
  const stage = c.matvec.stage === true && int8 === undefined;
  let cpt = c.matvec.cpt ?? 1;
  // Measured on an H100 (scripts/bench-kernels.ts --sweep): direct reads, small workgroups with several chunks
  // per thread and many rows per workgroup (each x chunk is loaded once for all of them) stream fastest.
  let wg = c.matvec.wg ?? int8?.wg ?? Math.min(256, Math.max(32, pow2(Math.ceil(chunks / 4)), pow2(q.chunksPerBlock)));
  const maxRows = stage ? 4 : 8;
  const nr = Math.min(maxRows, Math.max(c.matvec.rows ?? int8?.rows ?? 4, Math.ceil(m / c.caps.maxWorkgroupsPerDim)));
  if (Math.ceil(m / nr) > c.caps.maxWorkgroupsPerDim) throw unsupported(`mul_mat_vec: ${m} rows need more than ${c.caps.maxWorkgroupsPerDim} workgroups`);
  // A tile holds whole blocks.
  if (wg * cpt < q.chunksPerBlock) cpt = q.chunksPerBlock / wg;
  const sg = c.caps.subgroups;
  for (;;) {
    const tileBytes = ((wg * cpt) / q.chunksPerBlock) * q.chunkBlockBytes;
    const tileWords = 4 * (Math.ceil(tileBytes / 16) + 1) + 4;
    const red = sg ? nr * Math.ceil(wg / c.caps.subgroupMinSize) : nr * wg;
    if (((stage ? nr * tileWords : 0) + red) * 4 <= c.caps.maxWorkgroupStorage) return { wg, nr, cpt, tileBytes, tileWords, red, sg, stage };
    if (cpt > 1 && (wg * cpt) / 2 >= q.chunksPerBlock) cpt /= 2;
    else if (wg > 32 && (wg * cpt) / 2 >= q.chunksPerBlock) wg /= 2;
    else throw unsupported(`mul_mat_vec ${q.name}: no workgroup shape fits ${c.caps.maxWorkgroupStorage} bytes of workgroup memory`);
  }
}

export function encodeMatmul(c: OpContext, a: MatmulCall): void {
  const w = a.w;
  const q = c.quant(w.type, w.name);
  const k = w.dims[0]!;
  const m = w.dims[1] ?? 1;
  if (!q.isFloat && k % q.blockSize !== 0) throw unsupported(`mul_mat: row length ${k} of ${w.name} is not whole ${q.name} blocks`, w.name);
  const is3d = w.dims.length >= 3;
  const tiled = a.n > MATVEC_MAX_COLS && (a.route === undefined || a.route.rows !== undefined);
  const xv = k % 4 === 0;
  const nBatch = a.route !== undefined ? a.route.nUsed : is3d ? w.dims[2]! : 1;
  const q8 = !tiled && q8Eligible(c, q, k) ? quantizeActivation(c, q, a.x, a.xRoot, k, a.n, a.xc, a.xb, nBatch) : undefined;
  const mv = tiled ? undefined : matvecShape(c, q, k, m, q8);
  const id = a.route !== undefined;
  for (const seg of w.segments) {
    const rows = is3d ? m : seg.count;
    // Params of all three kernels; X strides in elements (quantized rows for q8), the route stride per kernel.
    const params = (xc: number, xb: number, routeStride: number): Params =>
      new Params()
        .u(k)
        .u(rows)
        .u(w.rowBytes)
        .u(is3d ? 0 : seg.first)
        .u(is3d ? m * w.rowBytes : 0)
        .u(is3d ? seg.first : 0)
        .u(is3d ? seg.count : 1)
        .u(xc)
        .u(xb)
        .u(a.oc)
        .u(a.ob)
        .u(routeStride)
        .u(a.n)
        .u(a.route?.nExpert ?? 0);
    if (mv === undefined) {
      const rows3 = a.route?.rows;
      c.dispatch({
        kernel: { variant: `mul_mat${rows3 !== undefined ? '_id' : ''}_${q.name}_f32`, shader: 'mul_mat.wgsl', defines: { QUANT: q.name, ID: rows3 !== undefined }, layout: rows3 !== undefined ? 'rrwur' : 'rrwu' },
        buffers: rows3 !== undefined ? [seg.buffer, a.x, a.o, rows3] : [seg.buffer, a.x, a.o],
        params: params(a.xc, a.xb, a.route?.nUsed ?? 0),
        grid: [Math.ceil(rows / 64), Math.ceil(a.n / 32), is3d ? seg.count : 1],
      });
      continue;
    }
    const z = a.route !== undefined ? a.route.nUsed : is3d ? seg.count : 1;
    const routeStride = id ? 2 * a.route!.nUsed : 0;
    if (q8 !== undefined) {
      c.dispatch({
        kernel: { variant: `mul_mat_vec_q8_${q.name}${id ? '_id' : ''}${mv.sg ? '_sg' : ''}_w${mv.wg}r${mv.nr}`, shader: 'mul_mat_vec_q8.wgsl', defines: { QUANT: q.name, WG: mv.wg, NR: mv.nr, RED: mv.red, SG: mv.sg, ID: id }, layout: id ? 'rrrwur' : 'rrrwu', subgroups: mv.sg },
        buffers: id ? [seg.buffer, q8.xq, q8.xs, a.o, a.route!.buf] : [seg.buffer, q8.xq, q8.xs, a.o],
        params: params(q8.cstride, q8.bstride, routeStride),
        grid: [Math.ceil(rows / mv.nr), a.n, z],
      });
      continue;
    }
    const shape = mv.stage ? `_st_w${mv.wg}r${mv.nr}c${mv.cpt}` : `_w${mv.wg}r${mv.nr}`;
    const variant = `mul_mat_vec_${q.name}_f32${id ? '_id' : ''}${mv.sg ? '_sg' : ''}${xv ? '' : '_xs'}${shape}`;
    const staging: Defines = mv.stage ? { STAGE: true, CPT: mv.cpt, TILE_BYTES: mv.tileBytes, TILE_WORDS: mv.tileWords } : {};
    const defines: Defines = { QUANT: q.name, WG: mv.wg, NR: mv.nr, RED: mv.red, SG: mv.sg, ID: id, X_VEC4: xv, ...staging };
    c.dispatch({
      kernel: { variant, shader: 'mul_mat_vec.wgsl', defines, layout: id ? 'rrwur' : 'rrwu', subgroups: mv.sg },
      buffers: id ? [seg.buffer, a.x, a.o, a.route!.buf] : [seg.buffer, a.x, a.o],
      params: params(a.xc, a.xb, routeStride),
      grid: [Math.ceil(rows / mv.nr), a.n, z],
    });
  }
}

export const mulMat: OpEncoder = (c) => {
  const w = c.matrix(0);
  const [k, m] = w.dims as [number, number];
  encodeMatmul(c, { w, x: c.act(1), o: c.out(), n: numel(c.srcShape(1)) / k, xc: k, xb: 0, oc: m, ob: 0, xRoot: c.srcRoot(1) });
};

/** w [k, m, H], x [k, H, n] → [m, H, n]. */
export const mulMatHeads: OpEncoder = (c) => {
  const w = c.matrix(0);
  const [k, m, h] = w.dims as [number, number, number];
  encodeMatmul(c, { w, x: c.act(1), o: c.out(), n: c.srcShape(1)[2]!, xc: h * k, xb: k, oc: h * m, ob: m, xRoot: c.srcRoot(1) });
};
