// ggml's rope with YaRN (ggml-cpu rope_yarn): the reference every rope kernel is checked against.
import type { RopeParams } from '../../graph/graph.ts';

function yarnCorrDim(nDims: number, nCtxOrig: number, nRot: number, base: number): number {
  return (nDims * Math.log(nCtxOrig / (nRot * 2 * Math.PI))) / (2 * Math.log(base));
}

export function yarnCorrDims(p: RopeParams): [number, number] {
  const start = Math.floor(yarnCorrDim(p.nDims, p.nCtxOrig, p.betaFast, p.freqBase));
  const end = Math.ceil(yarnCorrDim(p.nDims, p.nCtxOrig, p.betaSlow, p.freqBase));
  return [Math.max(0, start), Math.min(p.nDims - 1, end)];
}

function ramp(low: number, high: number, i0: number): number {
  const y = (i0 / 2 - low) / Math.max(0.001, high - low);
  return 1 - Math.min(1, Math.max(0, y));
}

/** cos/sin per rotated pair for one position: [cos0, sin0, cos1, sin1, ...] (nDims/2 pairs). */
export function ropeCache(pos: number, p: RopeParams, corr: [number, number]): Float64Array {
  const out = new Float64Array(p.nDims);
  const thetaScale = Math.pow(p.freqBase, -2 / p.nDims);
  let thetaExtrap = pos;
  for (let i0 = 0; i0 < p.nDims; i0 += 2) {
    const thetaInterp = p.freqScale * thetaExtrap;
    let theta = thetaInterp;
    let mscale = p.attnFactor;
    if (p.extFactor !== 0) {
      const mix = ramp(corr[0], corr[1], i0) * p.extFactor;
      theta = thetaInterp * (1 - mix) + thetaExtrap * mix;
      mscale *= 1 + 0.1 * Math.log(1 / p.freqScale);
    }
    out[i0] = Math.cos(theta) * mscale;
    out[i0 + 1] = Math.sin(theta) * mscale;
    thetaExtrap *= thetaScale;
  }
  return out;
}

/** In place on x [hd, nHead, nTok]; dims beyond nDims pass through. */
export function rope(x: Float32Array, shape: readonly number[], positions: Int32Array, p: RopeParams): void {
  const [hd, nh, nt] = shape as [number, number, number];
  const corr = yarnCorrDims(p);
  const half = p.nDims / 2;
  for (let t = 0; t < nt; t++) {
    const cs = ropeCache(positions[t]!, p, corr);
    for (let h = 0; h < nh; h++) {
      const base = (t * nh + h) * hd;
      for (let i0 = 0; i0 < p.nDims; i0 += 2) {
        const c = cs[i0]!;
        const s = cs[i0 + 1]!;
        const a = p.mode === 'normal' ? base + i0 : base + i0 / 2;
        const b = p.mode === 'normal' ? a + 1 : a + half;
        const x0 = x[a]!;
        const x1 = x[b]!;
        x[a] = x0 * c - x1 * s;
        x[b] = x0 * s + x1 * c;
      }
    }
  }
}
