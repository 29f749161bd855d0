// mul_mat, mul_mat_heads and the expert products of moe_experts (mul_mat_id): one encoder over the matvec
// kernel (decode, few columns) and the tiled kernel (prefill). A split weight runs once per segment: 2D weights
// by row ranges, 3D weights by whole matrices (heads or experts).
import type { GpuWeight } from '../buffers.ts';
import { unsupported } from '../errors.ts';
import type { QuantKernel } from '../quant-kernels.ts';
import { Params } from '../uniforms.ts';
import type { Defines } from '../wgsl-pre.ts';
import { numel, type OpContext, type OpEncoder } from './context.ts';

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
  /** mul_mat_id: batch slot z of column t uses the expert route[t][z]. */
  readonly route?: { readonly buf: GPUBuffer; readonly nUsed: number };
}

/** Columns up to this many run on the matvec kernel; more on the tiled one. */
const MATVEC_MAX_COLS = 4;

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
function matvecShape(c: OpContext, q: QuantKernel, k: number, m: number): MatvecShape {
  const chunks = Math.ceil(k / q.dotChunk);
  const stage = c.matvec.stage === true;
  let cpt = c.matvec.cpt ?? 1;
  // Measured on an H100 (scripts/bench-kernels.ts --sweep): direct reads, small workgroups with several chunks
  // per thread and many rows per workgroup (each x chunk is loaded once for all of them) stream fastest.
  let wg = c.matvec.wg ?? Math.min(256, Math.max(32, pow2(Math.ceil(chunks / 4)), pow2(q.chunksPerBlock)));
  const maxRows = stage ? 4 : 8;
  const nr = Math.min(maxRows, Math.max(c.matvec.rows ?? 4, Math.ceil(m / c.caps.maxWorkgroupsPerDim)));
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
  const tiled = a.route === undefined && a.n > MATVEC_MAX_COLS;
  const xv = k % 4 === 0;
  const mv = tiled ? undefined : matvecShape(c, q, k, m);
  for (const seg of w.segments) {
    const rows = is3d ? m : seg.count;
    const p = new Params()
      .u(k)
      .u(rows)
      .u(w.rowBytes)
      .u(is3d ? 0 : seg.first)
      .u(is3d ? m * w.rowBytes : 0)
      .u(is3d ? seg.first : 0)
      .u(is3d ? seg.count : 1)
      .u(a.xc)
      .u(a.xb)
      .u(a.oc)
      .u(a.ob)
      .u(a.route !== undefined ? 2 * a.route.nUsed : 0)
      .u(a.n);
    const z = a.route !== undefined ? a.route.nUsed : is3d ? seg.count : 1;
    if (mv === undefined) {
      c.dispatch({
        kernel: { variant: `mul_mat_${q.name}_f32`, shader: 'mul_mat.wgsl', defines: { QUANT: q.name }, layout: 'rrwu' },
        buffers: [seg.buffer, a.x, a.o],
        params: p,
        grid: [Math.ceil(rows / 64), Math.ceil(a.n / 32), z],
      });
      continue;
    }
    const id = a.route !== undefined;
    const shape = mv.stage ? `_st_w${mv.wg}r${mv.nr}c${mv.cpt}` : `_w${mv.wg}r${mv.nr}`;
    const variant = `mul_mat_vec_${q.name}_f32${id ? '_id' : ''}${mv.sg ? '_sg' : ''}${xv ? '' : '_xs'}${shape}`;
    const staging: Defines = mv.stage ? { STAGE: true, CPT: mv.cpt, TILE_BYTES: mv.tileBytes, TILE_WORDS: mv.tileWords } : {};
    const defines: Defines = { QUANT: q.name, WG: mv.wg, NR: mv.nr, RED: mv.red, SG: mv.sg, ID: id, X_VEC4: xv, ...staging };
    c.dispatch({
      kernel: { variant, shader: 'mul_mat_vec.wgsl', defines, layout: id ? 'rrwur' : 'rrwu', subgroups: mv.sg },
      buffers: id ? [seg.buffer, a.x, a.o, a.route!.buf] : [seg.buffer, a.x, a.o],
      params: p,
      grid: [Math.ceil(rows / mv.nr), a.n, z],
    });
  }
}

export const mulMat: OpEncoder = (c) => {
  const w = c.matrix(0);
  const [k, m] = w.dims as [number, number];
  encodeMatmul(c, { w, x: c.act(1), o: c.out(), n: numel(c.srcShape(1)) / k, xc: k, xb: 0, oc: m, ob: 0 });
};

/** w [k, m, H], x [k, H, n] → [m, H, n]. */
export const mulMatHeads: OpEncoder = (c) => {
  const w = c.matrix(0);
  const [k, m, h] = w.dims as [number, number, number];
  encodeMatmul(c, { w, x: c.act(1), o: c.out(), n: c.srcShape(1)[2]!, xc: h * k, xb: k, oc: h * m, ob: m });
};
