// The placement + memory plan of a model before anything is loaded: per module where it runs in prefill and
// decode and which rule put it there; bytes per device for weights, KV cache (for a context length) and scratch;
// checked against the devices' limits with a clear refusal. Pure: GGUF header + rules in, plan out.
import { EngineError } from '../core/errors.ts';
import type { Metadata } from '../gguf/metadata.ts';
import type { Graph } from '../graph/graph.ts';
import type { Model } from '../models/model.ts';
import { moduleTree, type Family } from './module-tree.ts';
import { placeModules, type ModulePlacement } from './place.ts';
import type { Rule } from './rules.ts';
import type { Device } from './vocabulary.ts';

export interface DeviceBytes {
  weights: number;
  kvCache: number;
  scratch: number;
  total: number;
}

export interface DeviceLimits {
  /** Bytes the GPU may hold (undefined: not checked). */
  readonly gpuBytes?: number;
  /** Largest GPU buffer binding; bigger tensors are split across bindings (reported, not refused). */
  readonly gpuMaxBinding?: number;
  /** RAM for CPU weights + cache + scratch (undefined: not checked). */
  readonly cpuBytes?: number;
  /** One wasm32 memory; CPU expert weights are sharded over memories of this size. */
  readonly wasmMemoryBytes?: number;
}

export interface PlacementPlan {
  readonly modules: readonly ModulePlacement[];
  readonly tensorBytes: ReadonlyMap<string, number>;
  readonly devices: Readonly<Record<Device, DeviceBytes>>;
  readonly nCtx: number;
  /** Number of wasm memories the CPU-side weights need. */
  readonly wasmShards: number;
  /** GPU tensors larger than one binding (split by the buffer arena). */
  readonly splitTensors: readonly string[];
}

export function familyOf(md: Metadata, model: Model): Family {
  const arch = model.hp.arch;
  if (arch === 'deepseek2') return md.get('deepseek2.expert_gating_func')?.value === 2 ? 'DeepseekV3' : 'DeepseekV2';
  if (arch === 'qwen2moe') return 'Qwen2Moe';
  if (arch === 'qwen3moe') return 'Qwen3Moe';
  return model.hp.nExpert > 0 ? 'Mixtral' : 'Llama';
}

const F32 = 4;

function kvBytesPerToken(g: Graph): Map<number, number> {
  const out = new Map<number, number>();
  for (const n of g.nodes) {
    if (n.spec.op !== 'attn') continue;
    const k = g.nodes[n.src[1]!]!.shape;
    const v = g.nodes[n.src[2]!]!.shape;
    out.set(n.spec.layer, (k[0]! * k[1]! + v[0]! * v[1]!) * F32);
  }
  return out;
}

export function planPlacement(
  md: Metadata,
  model: Model,
  tensorBytes: ReadonlyMap<string, number>,
  rules: readonly Rule[],
  o: { nCtx: number; chunk?: number; defaultDevice?: Device; limits?: DeviceLimits },
): PlacementPlan {
  const g = model.build({ nTokens: 1, allLogits: false });
  const yarn = model.hp.rope.extFactor !== 0;
  const modules = placeModules(moduleTree(g, familyOf(md, model), yarn), rules, o.defaultDevice ?? 'gpu');
  const zero = (): DeviceBytes => ({ weights: 0, kvCache: 0, scratch: 0, total: 0 });
  const devices: Record<Device, DeviceBytes> = { gpu: zero(), cpu: zero() };
  const split: string[] = [];
  let cpuWeights = 0;
  for (const m of modules) {
    for (const t of m.tensors) {
      const b = tensorBytes.get(t) ?? 0;
      const where = new Set([m.placement.generate, m.placement.prefill]);
      for (const d of where) devices[d].weights += b;
      if (where.has('cpu')) cpuWeights += b;
      if (where.has('gpu') && o.limits?.gpuMaxBinding !== undefined && b > o.limits.gpuMaxBinding) split.push(t);
    }
  }
  const kv = kvBytesPerToken(g);
  for (const [layer, perTok] of kv) {
    const attn = modules.find((m) => m.path === `model.layers.${layer}.self_attn`);
    devices[attn?.placement.generate ?? 'gpu'].kvCache += perTok * o.nCtx;
  }
  // Scratch: the activations of a prefill chunk; the largest few intermediate tensors live at once.
  const chunk = o.chunk ?? 512;
  const acts = g.nodes.filter((n) => n.spec.op !== 'weight' && n.spec.op !== 'input').map((n) => n.shape.reduce((a, b) => a * b, 1)).sort((a, b) => b - a);
  const scratch = acts.slice(0, 4).reduce((a, b) => a + b, 0) * chunk * F32;
  for (const d of ['gpu', 'cpu'] as const) if (devices[d].weights > 0) devices[d].scratch = scratch;
  for (const d of ['gpu', 'cpu'] as const) devices[d].total = devices[d].weights + devices[d].kvCache + devices[d].scratch;
  const shardBytes = o.limits?.wasmMemoryBytes ?? 4 * 2 ** 30;
  const plan: PlacementPlan = { modules, tensorBytes, devices, nCtx: o.nCtx, wasmShards: Math.ceil(cpuWeights / (shardBytes * 0.95)), splitTensors: split };
  checkLimits(plan, o.limits);
  return plan;
}

const gib = (n: number): string => `${(n / 2 ** 30).toFixed(2)} GiB`;

function checkLimits(p: PlacementPlan, l: DeviceLimits | undefined): void {
  if (l === undefined) return;
  if (l.gpuBytes !== undefined && p.devices.gpu.total > l.gpuBytes) {
    throw new EngineError(
      'out_of_memory',
      `the plan needs ${gib(p.devices.gpu.total)} on the GPU (weights ${gib(p.devices.gpu.weights)}, KV cache ${gib(p.devices.gpu.kvCache)} for ${p.nCtx} tokens, scratch ${gib(p.devices.gpu.scratch)}) but ${gib(l.gpuBytes)} is available; move experts to the CPU in the rules, lower --ctx, or use a smaller quant`,
    );
  }
  if (l.cpuBytes !== undefined && p.devices.cpu.total > l.cpuBytes) {
    throw new EngineError(
      'out_of_memory',
      `the plan needs ${gib(p.devices.cpu.total)} of RAM on the CPU side (weights ${gib(p.devices.cpu.weights)}, KV cache ${gib(p.devices.cpu.kvCache)}) but ${gib(l.cpuBytes)} is available; put more on the GPU or use a smaller quant`,
    );
  }
}
