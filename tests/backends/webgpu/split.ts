// The binding limit that spreads a conformance case's weights over at least 2-3 buffers: a third of the largest
// weight, rounded down to whole units (rows, or matrices of 3D weights) but never below one unit. Activations that
// enter the cases as F32 "weights" (x, logits) are not matrices and stay whole.
import { WEIGHT_PAD } from '../../../src/backends/webgpu/buffers.ts';
import { rowBytes } from '../../../src/quant/registry.ts';
import type { ConformanceCase } from '../../conformance/cases.ts';

export const SPLIT_OPS: ReadonlySet<string> = new Set(['mul_mat', 'mul_mat_heads', 'get_rows', 'moe_experts']);

export function splitWeights(c: ConformanceCase): string[] {
  return [...c.weights.keys()].filter((n) => n !== 'x' && n !== 'logits');
}

export function splitBindingLimit(c: ConformanceCase): number {
  let limit = 0;
  for (const n of splitWeights(c)) {
    const w = c.weights.get(n)!;
    const unit = rowBytes(w.type, w.dims[0]!) * (w.dims.length >= 3 ? w.dims[1]! : 1);
    limit = Math.max(limit, Math.max(unit, Math.floor(w.bytes.length / 3 / unit) * unit) + WEIGHT_PAD);
  }
  return limit;
}
