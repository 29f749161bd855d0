// attn: writes this step's K and V rows into the layer's GPU cache at their positions (set_rows), then runs
// causal attention over the cache (flash_attn, soft_max inside) for every query head and token.
import { grid1d } from '../dispatch.ts';
import { unsupported } from '../errors.ts';
import { Params } from '../uniforms.ts';
import type { OpContext, OpEncoder } from './context.ts';

const MAX_HEAD_DIM = 1024;

function setRows(c: OpContext, x: GPUBuffer, pos: GPUBuffer, cache: GPUBuffer, d: number, nt: number): void {
  c.dispatch({
    kernel: { variant: 'set_rows_f32_i32', shader: 'set_rows.wgsl', layout: 'rrwu' },
    buffers: [x, pos, cache],
    params: new Params().u(d).u(nt),
    grid: grid1d(d * nt, 256, c.caps.maxWorkgroupsPerDim),
  });
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
  c.dispatch({
    kernel: { variant: 'flash_attn_f32_f32', shader: 'flash_attn.wgsl', layout: 'rrrrwu' },
    buffers: [c.act(0), kc, vc, pos, c.out()],
    params: new Params().u(dk).u(dv).u(nh).u(nkv).u(nt).f(scale),
    grid: [nh, nt, 1],
  });
};
