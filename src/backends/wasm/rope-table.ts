// cos/sin per token and rotated pair for the rope op, with YaRN, exactly as ggml's rope_yarn (and cpu-ref's
// rope.ts) compute them in double: the kernel then only rotates. Written per run, since positions change.
import type { RopeParams } from '../../graph/graph.ts';

function corrDim(nDims: number, nCtxOrig: number, nRot: number, base: number): number {
  return (nDims * Math.log(nCtxOrig / (nRot * 2 * Math.PI))) / (2 * Math.log(base));
}

/** table [nDims, nt]: (cos, sin) of pair i0/2 at [t * nDims + i0, + 1]. */
export function ropeTable(positions: Int32Array, p: RopeParams, out: Float64Array): void {
  const low = Math.max(0, Math.floor(corrDim(p.nDims, p.nCtxOrig, p.betaFast, p.freqBase)));
  const high = Math.min(p.nDims - 1, Math.ceil(corrDim(p.nDims, p.nCtxOrig, p.betaSlow, p.freqBase)));
  const thetaScale = Math.pow(p.freqBase, -2 / p.nDims);
  for (let t = 0; t < positions.length; t++) {
    let thetaExtrap = positions[t]!;
    const o = t * p.nDims;
    for (let i0 = 0; i0 < p.nDims; i0 += 2) {
      const thetaInterp = p.freqScale * thetaExtrap;
      let theta = thetaInterp;
      let mscale = p.attnFactor;
      if (p.extFactor !== 0) {
        const y = (i0 / 2 - low) / Math.max(0.001, high - low);
        const mix = (1 - Math.min(1, Math.max(0, y))) * p.extFactor;
        theta = thetaInterp * (1 - mix) + thetaExtrap * mix;
        mscale *= 1 + 0.1 * Math.log(1 / p.freqScale);
      }
      out[o + i0] = Math.cos(theta) * mscale;
      out[o + i0 + 1] = Math.sin(theta) * mscale;
      thetaExtrap *= thetaScale;
    }
  }
}
