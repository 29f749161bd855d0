// attn: writes this step's K and V rows into the layer's GPU cache at their positions (set_rows), then attention
// over the cache. Prefill (many tokens) runs causal flash_attn, one workgroup per (head, token). Decode (a few
// tokens, one long KV walk each) runs flash-decoding: the positions are split over workgroups that share each
// KV row among the query heads of its group (GQA, or MLA's heads over the compressed cache), then a reduce.
import { grid1d } from '../dispatch.ts';
import { unsupported } from '../errors.ts';
import { Params } from '../uniforms.ts';
import type { OpContext, OpEncoder } from './context.ts';

const MAX_HEAD_DIM = 1024;
/** Tokens up to this many take the split (decode) path. */
const SPLIT_MAX_TOKENS = 4;
/** Threads of flash_attn_split (WG there): a split holds whole tiles of this many positions. */
const SPLIT_WG = 128;
/** Splits a token's KV walk is cut into at most (the grid is fixed per plan, sized for n_ctx). */
const MAX_SPLITS = 32;
/** Registers per thread for the partial outputs (HG heads x DV_PER dims). */
const MAX_ACC = 32;

function setRows(c: OpContext, x: GPUBuffer, pos: GPUBuffer, cache: GPUBuffer, d: number, nt: number): void {
  c.dispatch({
    kernel: { variant: 'set_rows_f32_i32', shader: 'set_rows.wgsl', layout: 'rrwu' },
    buffers: [x, pos, cache],
    params: new Params().u(d).u(nt),
    grid: grid1d(d * nt, 256, c.caps.maxWorkgroupsPerDim),
  });
}

/** Query heads per split workgroup: the largest divisor of the group size whose q rows and tiles fit. */
function headsPerGroup(c: OpContext, group: number, dk: number, dvPer: number): number {
  for (let hg = Math.min(8, group); hg > 1; hg--) {
    if (group % hg !== 0 || hg * dvPer > MAX_ACC) continue;
    if ((hg * dk + 2 * hg * SPLIT_WG + 4) * 4 <= c.caps.maxWorkgroupStorage) return hg;
  }
  return 1;
}

export const attn: OpEncoder = (c) => {
  if (c.node.spec.op !== 'attn') return;
  const { layer, scale } = c.node.spec;
  const [dk, nh, nt] = c.srcShape(0) as [number, number, number];
  const nkv = c.srcShape(1)[1]!;
  const dv = c.srcShape(2)[0]!;
  if (dk > MAX_HEAD_DIM || dv > MAX_HEAD_DIM) throw unsupported(`attn: head sizes ${dk}/${dv} exceed ${MAX_HEAD_DIM}`);
  const pos = c.ids(3);
  const kc = c.kvCache(layer, 'k', dk * nkv);
  const vc = c.kvCache(layer, 'v', dv * nkv);
  setRows(c, c.act(1), pos, kc, dk * nkv, nt);
  setRows(c, c.act(2), pos, vc, dv * nkv, nt);
  if (nt > SPLIT_MAX_TOKENS) {
    c.dispatch({
      kernel: { variant: 'flash_attn_f32_f32', shader: 'flash_attn.wgsl', layout: 'rrrrwu' },
      buffers: [c.act(0), kc, vc, pos, c.out()],
      params: new Params().u(dk).u(dv).u(nh).u(nkv).u(nt).f(scale),
      grid: [nh, nt, 1],
    });
    return;
  }
  const chunk = SPLIT_WG * Math.max(1, Math.ceil(c.nCtx / (SPLIT_WG * MAX_SPLITS)));
  const nSplit = Math.ceil(c.nCtx / chunk);
  const dvPer = Math.ceil(dv / SPLIT_WG);
  const hg = headsPerGroup(c, nh / nkv, dk, dvPer);
  const part = c.scratch(4 * (dv + 2) * nh * nt * nSplit);
  c.dispatch({
    kernel: { variant: `flash_attn_split_f32_h${hg}_d${dvPer}_k${dk}`, shader: 'flash_attn_split.wgsl', defines: { HG: hg, DV_PER: dvPer, QS_LEN: hg * dk }, layout: 'rrrrwu' },
    buffers: [c.act(0), kc, vc, pos, part],
    params: new Params().u(dk).u(dv).u(nh).u(nkv).u(nt).f(scale).u(chunk).u(nSplit),
    grid: [nh / hg, nSplit, nt],
  });
  c.dispatch({
    kernel: { variant: 'flash_attn_reduce_f32', shader: 'flash_attn_reduce.wgsl', layout: 'rrwu' },
    buffers: [part, pos, c.out()],
    params: new Params().u(dv).u(nh).u(nt).u(chunk),
    grid: [nh, nt, 1],
  });
};
