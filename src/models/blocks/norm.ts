import type { GraphBuilder } from '../../graph/graph.ts';

/** rms_norm(x) * weight — the RMSNorm of every target architecture. */
export function rmsNormW(g: GraphBuilder, x: number, weight: string, eps: number, n?: number): number {
  const w = g.weight(weight, n === undefined ? undefined : [n]);
  return g.mul(g.rmsNorm(x, eps), w);
}
