// rope: the angles (cos, sin with YaRN's magnitude scale) are computed on the host in f64 for the run's
// positions, exactly as ggml_rope_yarn / cpu-ref do, since f32 angles of positions in the thousands are off by
// ~1e-4 rad; the kernel only rotates. The table is rewritten before each run (positions change per step).
import type { RopeParams } from '../../../graph/graph.ts';
import { grid1d } from '../dispatch.ts';
import { Params } from '../uniforms.ts';
import { numel, type OpEncoder } from './context.ts';

function corrDim(nDims: number, nCtxOrig: number, nRot: number, base: number): number {
  return (nDims * Math.log(nCtxOrig / (nRot * 2 * Math.PI))) / (2 * Math.log(base));
}

/** cos/sin pairs [n_dims, nt] for `positions` (ggml rope_yarn with ext_factor mixing and mscale). */
export function ropeTableValues(positions: Int32Array, p: RopeParams): Float32Array<ArrayBuffer> {
  const lo = Math.max(0, Math.floor(corrDim(p.nDims, p.nCtxOrig, p.betaFast, p.freqBase)));
  const hi = Math.min(p.nDims - 1, Math.ceil(corrDim(p.nDims, p.nCtxOrig, p.betaSlow, p.freqBase)));
  const thetaScale = Math.pow(p.freqBase, -2 / p.nDims);
  const out = new Float32Array(p.nDims * positions.length);
  positions.forEach((pos, t) => {
    let thetaExtrap = pos;
    for (let i0 = 0; i0 < p.nDims; i0 += 2) {
      const thetaInterp = p.freqScale * thetaExtrap;
      let theta = thetaInterp;
      let mscale = p.attnFactor;
      if (p.extFactor !== 0) {
        const ramp = 1 - Math.min(1, Math.max(0, (i0 / 2 - lo) / Math.max(0.001, hi - lo)));
        const mix = ramp * p.extFactor;
        theta = thetaInterp * (1 - mix) + thetaExtrap * mix;
        mscale *= 1 + 0.1 * Math.log(1 / p.freqScale);
      }
      out[t * p.nDims + i0] = Math.cos(theta) * mscale;
      out[t * p.nDims + i0 + 1] = Math.sin(theta) * mscale;
      thetaExtrap *= thetaScale;
    }
  });
  return out;
}

export const rope: OpEncoder = (c) => {
  if (c.node.spec.op !== 'rope') return;
  const p = c.node.spec.p;
  const [hd, nh, nt] = c.node.shape as [number, number, number];
  c.dispatch({
    kernel: { variant: 'rope_f32', shader: 'rope.wgsl', layout: 'rrwu' },
    buffers: [c.act(0), c.ropeTable(p), c.out()],
    params: new Params().u(hd).u(nh).u(nt).u(p.nDims).u(p.mode === 'neox' ? 1 : 0),
    grid: grid1d(numel(c.node.shape), 256, c.caps.maxWorkgroupsPerDim),
  });
};
