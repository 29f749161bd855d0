// Per-kernel bandwidth measured in the engine, on the loaded model's own weights where they already live. The
// kernels are the weight-reading nodes of a decode step (the one-token graph): mul_mat (attention/MLA projections,
// router, dense and shared FFN, lm_head), mul_mat_heads (MLA's absorbed k_b/v_b) and moe_experts (the routed
// experts: gate and up, SwiGLU, down, weighted sum). Nodes are grouped into kinds by (op, weight types, shapes,
// device); per kind one small graph applies the kernel to every weight of the kind (each layer's, as a decode step
// reads them, so the working set is the step's rather than one cache-hot matrix) with the activation (and the
// experts' route) as `external` inputs, and runs on the executor of the device the placement gives those modules.
// A call's time is the median run time ÷ the calls in the run, so it carries a share of the executor's per-run
// overhead (WebGPU: write inputs, submit, map the read-back; WASM: write inputs, start the pool, read outputs); that
// overhead is measured on a trivial graph and reported beside every kernel. Where the GPU executor can replay a
// graph under timestamp queries (WebGpuExecutor.profile), the GPU time of the same calls is reported too.
import { EngineError } from '../core/errors.ts';
import { ggmlTypeName } from '../core/ggml-type.ts';
import { mulberry32 } from '../core/random.ts';
import type { GraphExecutor, RunInputs } from '../graph/executor.ts';
import { GraphBuilder, type Graph, type GraphNode, type Shape } from '../graph/graph.ts';
import { HybridExecutor } from './hybrid-executor.ts';
import type { SegmentDevice } from './segments.ts';

export type KernelOp = 'mul_mat' | 'mul_mat_heads' | 'moe_experts';

/** One kernel kind of a decode step, timed on its device with the model's own weights. */
export interface KernelStat {
  /** mul_mat, mul_mat_heads (MLA absorbed k_b/v_b) or moe_experts (routed experts: gate, up, SwiGLU, down, sum). */
  readonly op: KernelOp;
  /** The first module of the kind, e.g. `model.layers.0.self_attn.q_proj`. */
  readonly module: string;
  /** Every module of the kind, layer numbers as `*` (e.g. `model.layers.*.self_attn.q_proj`), in decode order. */
  readonly roles: readonly string[];
  /** The weights one call of that module reads (moe_experts: gate, up, down). */
  readonly weights: readonly string[];
  /** ggml type names of those weights, `/`-joined (e.g. `Q4_K` or `Q4_K/Q4_K/Q6_K`). */
  readonly type: string;
  /** Weight shape in ggml order as the op reads it: [k, m]; [k, m, heads]; experts: gate [n_embd, n_ff, n_expert]. */
  readonly shape: readonly number[];
  /** moe_experts: experts one call computes (distinct ids, rotated from run to run). */
  readonly nUsed?: number;
  readonly device: SegmentDevice;
  /** The device executor, e.g. `WebGPU (…)` or `WASM relaxed ×4 threads`. */
  readonly backend: string;
  /** Modules of this kind in a decode step; one timed run calls the kernel once on each one's weights. */
  readonly callsPerRun: number;
  /** Timed runs (after the warm-up). */
  readonly runs: number;
  /** Weight bytes one call reads (moe_experts: n_used experts' gate + up + down). */
  readonly bytesPerCall: number;
  /** Median run time ÷ callsPerRun, µs; includes 1/callsPerRun of the executor's per-run overhead. */
  readonly usPerCall: number;
  /** bytesPerCall ÷ usPerCall (GB/s, 1e9 bytes). */
  readonly gbPerS: number;
  /** Median run time of a trivial graph (one small external, one scale) on the same executor, µs. */
  readonly runOverheadUs: number;
  /** GPU only, with timestamp queries: the run's calls replayed in one compute pass, GPU time per call (µs). */
  readonly gpuUsPerCall?: number;
  /** bytesPerCall ÷ gpuUsPerCall. */
  readonly gpuGbPerS?: number;
}

export interface KernelBenchOptions {
  /** Untimed runs per kernel first (pipelines, programs, caches); default 2. */
  readonly warmup?: number;
  /** Timed runs per kernel: at least minRuns, then more until minMs has passed or maxRuns ran (3, 200, 200 ms). */
  readonly minRuns?: number;
  readonly maxRuns?: number;
  readonly minMs?: number;
}

/** One kernel kind ready to run: its graph, the outputs to read back, and the inputs of run `rep`. */
export interface KernelCase {
  readonly op: KernelOp;
  readonly device: SegmentDevice;
  /** Module of each call, in decode order. */
  readonly modules: readonly string[];
  /** Weights of each call (mul_mat: one; moe_experts: gate, up, down). */
  readonly weights: readonly (readonly string[])[];
  readonly types: readonly number[];
  readonly shape: Shape;
  readonly nUsed?: number;
  readonly bytesPerCall: number;
  readonly graph: Graph;
  /** One output per call (every call's result is read back, so no backend can skip one). */
  readonly outputs: readonly number[];
  inputs(rep: number): RunInputs;
}

export interface TensorFacts {
  readonly type: number;
  readonly nBytes: number;
}

interface Kind {
  readonly op: KernelOp;
  readonly device: SegmentDevice;
  readonly types: readonly number[];
  /** Shapes the op reads its weights as (after reshapes), per weight source. */
  readonly seen: readonly Shape[];
  readonly xShape: Shape;
  readonly routeShape?: Shape;
  readonly nUsed?: number;
  readonly bytes: number;
  readonly calls: { module: string; weights: string[] }[];
}

/** Weight sources per op: the node's inputs that are weights. */
const WEIGHT_SRC: Readonly<Record<KernelOp, readonly number[]>> = { mul_mat: [0], mul_mat_heads: [0], moe_experts: [2, 3, 4] };

function weightBehind(g: Graph, id: number): string | undefined {
  let n = g.nodes[id]!;
  while (n.spec.op === 'reshape') n = g.nodes[n.src[0]!]!;
  return n.spec.op === 'weight' ? n.spec.name : undefined;
}

const numel = (s: Shape): number => s.reduce((a, b) => a * b, 1);
const same = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * The kernel kinds of a decode graph (one token): every mul_mat / mul_mat_heads / moe_experts node whose matrices
 * are weights, grouped by (op, device, weight types, shapes), in first-use order, each with a graph that calls it
 * on every weight of the kind. `deviceOf` gives a node's device (the decode placement); `tensor` the GGUF facts.
 */
export function kernelCases(decode: Graph, deviceOf: (n: GraphNode) => SegmentDevice, tensor: (name: string) => TensorFacts, seed = 1): KernelCase[] {
  if (decode.nTokens !== 1) throw new EngineError('bad_argument', `kernel cases come from the one-token decode graph, got ${decode.nTokens} tokens`);
  const kinds = new Map<string, Kind>();
  const shapes = new Map<string, Shape>();
  for (const n of decode.nodes) if (n.spec.op === 'weight') shapes.set(n.spec.name, n.shape);
  for (const n of decode.nodes) {
    const op = n.spec.op;
    if (op !== 'mul_mat' && op !== 'mul_mat_heads' && op !== 'moe_experts') continue;
    const src = WEIGHT_SRC[op];
    const weights = src.map((i) => weightBehind(decode, n.src[i]!));
    if (weights.some((w) => w === undefined)) continue;
    const names = weights as string[];
    const seen = src.map((i) => decode.nodes[n.src[i]!]!.shape);
    const types = names.map((w) => tensor(w).type);
    const device = deviceOf(n);
    const xShape = decode.nodes[n.src[op === 'moe_experts' ? 0 : 1]!]!.shape;
    const routeShape = op === 'moe_experts' ? decode.nodes[n.src[1]!]!.shape : undefined;
    const nUsed = n.spec.op === 'moe_experts' ? n.spec.nUsed : undefined;
    const key = JSON.stringify([op, device, types, seen, xShape, routeShape, nUsed]);
    let k = kinds.get(key);
    if (k === undefined) {
      // Bytes one call reads: the matrix; of the experts tensors n_used of n_expert matrices each.
      const all = names.reduce((a, w) => a + tensor(w).nBytes, 0);
      const bytes = nUsed !== undefined ? (all * nUsed) / seen[0]![2]! : all;
      k = { op, device, types, seen, xShape, routeShape, nUsed, bytes, calls: [] };
      kinds.set(key, k);
    }
    if (!k.calls.some((c) => c.weights.join() === names.join())) k.calls.push({ module: n.module, weights: names });
  }
  return [...kinds.values()].map((k, i) => caseOf(k, shapes, seed + i));
}

function caseOf(k: Kind, shapes: ReadonlyMap<string, Shape>, seed: number): KernelCase {
  const b = new GraphBuilder(1, (name) => shapes.get(name));
  const x = b.external(k.xShape);
  const route = k.routeShape !== undefined ? b.external(k.routeShape) : undefined;
  const outputs = k.calls.map((c) =>
    b.scope(c.module, () => {
      const w = c.weights.map((name, i) => {
        const id = b.weight(name);
        return same(b.shape(id), k.seen[i]!) ? id : b.reshape(id, k.seen[i]!);
      });
      if (k.op === 'mul_mat') return b.mulMat(w[0]!, x);
      if (k.op === 'mul_mat_heads') return b.mulMatHeads(w[0]!, x);
      return b.moeExperts(x, route!, w[0]!, w[1]!, w[2]!, k.nUsed!);
    }),
  );
  const graph = b.build(outputs[outputs.length - 1]!);
  const rand = mulberry32(seed);
  const xv = Float32Array.from({ length: numel(k.xShape) }, () => rand() * 2 - 1);
  const nExpert = k.seen[0]![2] ?? 1;
  const nUsed = k.nUsed ?? 0;
  if (nUsed > nExpert) throw new EngineError('model_invalid', `${k.calls[0]!.module}: ${nUsed} experts per token but only ${nExpert} experts`);
  // Distinct expert ids, the next n_used each run (a decode step reads other experts every token), equal weights.
  const routeOf = (rep: number): Float32Array => {
    const r = new Float32Array(2 * nUsed);
    for (let i = 0; i < nUsed; i++) {
      r[i] = (rep * nUsed + i) % nExpert;
      r[nUsed + i] = 1 / nUsed;
    }
    return r;
  };
  return {
    op: k.op,
    device: k.device,
    modules: k.calls.map((c) => c.module),
    weights: k.calls.map((c) => c.weights),
    types: k.types,
    shape: k.seen[0]!,
    ...(k.nUsed !== undefined ? { nUsed: k.nUsed } : {}),
    bytesPerCall: k.bytes,
    graph,
    outputs,
    inputs: (rep) => {
      const externals = new Map<number, Float32Array>([[x, xv]]);
      if (route !== undefined) externals.set(route, routeOf(rep));
      return { tokens: Int32Array.of(0), positions: Int32Array.of(0), externals };
    },
  };
}

/** The executor that runs `device`'s nodes: a hybrid's side, or the single executor itself. */
export function deviceExecutor(exec: GraphExecutor, device: SegmentDevice): GraphExecutor {
  return exec instanceof HybridExecutor ? exec.executors[device] : exec;
}

/** WebGpuExecutor.profile: replays a graph `reps` times in one compute pass, GPU time in ns (undefined: no timestamps). */
interface Profiler {
  profile(g: Graph, inputs: RunInputs, reps: number, outputs?: readonly number[]): Promise<number | undefined>;
}

function median(xs: readonly number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 === 1 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

async function timeRuns(run: (rep: number) => Promise<unknown>, o: KernelBenchOptions): Promise<{ runs: number; medianMs: number }> {
  const warmup = o.warmup ?? 2;
  const minRuns = Math.max(1, o.minRuns ?? 3);
  const maxRuns = Math.max(minRuns, o.maxRuns ?? 200);
  const minMs = o.minMs ?? 200;
  for (let i = 0; i < warmup; i++) await run(i);
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || (times.length < maxRuns && performance.now() - start < minMs)) {
    const t0 = performance.now();
    await run(warmup + times.length);
    times.push(performance.now() - t0);
  }
  return { runs: times.length, medianMs: median(times) };
}

/** A graph that does next to nothing: what one run costs on an executor besides its kernels. */
function trivialGraph(): { graph: Graph; inputs: RunInputs } {
  const b = new GraphBuilder(1, () => undefined);
  const x = b.external([64, 1]);
  const graph = b.build(b.scale(x, 1));
  return { graph, inputs: { tokens: Int32Array.of(0), positions: Int32Array.of(0), externals: new Map([[x, new Float32Array(64)]]) } };
}

/** 4 significant digits (GB/s of a tiny kernel on a software GPU can be 0.0004). */
const sig = (v: number): number => Number(v.toPrecision(4));

/**
 * Times every case on the executor of its device (`exec` as the engine holds it: one device executor or a
 * HybridExecutor over both). The executors must be idle (no generation at the same time).
 */
export async function measureKernels(exec: GraphExecutor, cases: readonly KernelCase[], o: KernelBenchOptions = {}): Promise<KernelStat[]> {
  const overhead = new Map<SegmentDevice, number>();
  for (const d of new Set(cases.map((c) => c.device))) {
    const ex = deviceExecutor(exec, d);
    const t = trivialGraph();
    const { medianMs } = await timeRuns(() => ex.run(t.graph, t.inputs), o);
    overhead.set(d, medianMs * 1e3);
  }
  const out: KernelStat[] = [];
  for (const c of cases) {
    const ex = deviceExecutor(exec, c.device);
    const runMany = ex.runMany?.bind(ex);
    if (runMany === undefined) throw new EngineError('bad_argument', `the ${c.device} executor cannot read back several values; per-kernel timing needs runMany`);
    const { runs, medianMs } = await timeRuns((rep) => runMany(c.graph, c.inputs(rep), c.outputs), o);
    const calls = c.outputs.length;
    const us = (medianMs * 1e3) / calls;
    let gpu: { gpuUsPerCall: number; gpuGbPerS: number } | undefined;
    const prof = (ex as Partial<Profiler>).profile;
    if (c.device === 'gpu' && typeof prof === 'function') {
      const ns = await prof.call(ex, c.graph, c.inputs(0), runs, c.outputs);
      if (ns !== undefined && ns > 0) {
        const gus = ns / 1e3 / (runs * calls);
        gpu = { gpuUsPerCall: sig(gus), gpuGbPerS: sig(c.bytesPerCall / gus / 1e3) };
      }
    }
    out.push({
      op: c.op,
      module: c.modules[0]!,
      roles: [...new Set(c.modules.map((m) => m.replace(/\.layers\.\d+\./, '.layers.*.')))],
      weights: c.weights[0]!,
      type: c.types.map(ggmlTypeName).join('/'),
      shape: [...c.shape],
      ...(c.nUsed !== undefined ? { nUsed: c.nUsed } : {}),
      device: c.device,
      backend: (ex as { label?: string }).label ?? c.device,
      callsPerRun: calls,
      runs,
      bytesPerCall: Math.round(c.bytesPerCall),
      usPerCall: sig(us),
      gbPerS: sig(c.bytesPerCall / us / 1e3),
      runOverheadUs: sig(overhead.get(c.device)!),
      ...gpu,
    });
  }
  return out;
}

/** Kernel cases per executor, built once per loaded model (their plans and programs stay with the executor). */
const CASES = new WeakMap<GraphExecutor, KernelCase[]>();

/** kernelCases for a loaded engine, cached per executor; `decode` builds its one-token graph. */
export function engineKernelCases(exec: GraphExecutor, decode: () => Graph, deviceOf: (n: GraphNode) => SegmentDevice, tensor: (name: string) => TensorFacts): KernelCase[] {
  let c = CASES.get(exec);
  if (c === undefined) {
    c = kernelCases(decode(), deviceOf, tensor);
    CASES.set(exec, c);
  }
  return c;
}
