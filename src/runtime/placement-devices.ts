// Graph node → device under a placement plan: a node runs where its module runs (decode placement for a
// one-token step, prefill placement otherwise). Attention must not change device between prefill and decode,
// since its KV cache lives on that device.
import { EngineError } from '../core/errors.ts';
import type { GraphNode } from '../graph/graph.ts';
import type { PlacementPlan } from '../placement/index.ts';
import type { SegmentDevice } from './segments.ts';

export function nodeDevices(plan: PlacementPlan): (n: GraphNode, nTokens: number) => SegmentDevice {
  const byPath = new Map(plan.modules.map((m) => [m.path, m.placement] as const));
  for (const m of plan.modules) {
    if (m.path.endsWith('.self_attn') && m.placement.prefill !== m.placement.generate) {
      throw new EngineError('rule_invalid', `${m.path}: prefill on ${m.placement.prefill} but decode on ${m.placement.generate}; attention keeps its KV cache on one device, so place it on the same device for both${m.placement.rule !== undefined ? ` (${m.placement.rule.file}:${m.placement.rule.line})` : ''}`);
    }
  }
  return (n, nTokens) => {
    const p = byPath.get(n.module);
    if (p === undefined) throw new EngineError('model_invalid', `module ${n.module} is not in the placement plan`);
    return nTokens === 1 ? p.generate : p.prefill;
  };
}
