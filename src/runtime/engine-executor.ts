// From a placement plan to a running executor: the GPU side, the CPU side or both behind a HybridExecutor, with
// every weight streamed from the GGUF to the device the plan gives it (tensor by tensor, no whole-model copy in
// the JS heap). The faces (CLI, engine worker) provide the devices; this layer never touches platform globals.
import { CpuRefExecutor } from '../backends/cpu-ref/executor.ts';
import { EngineError } from '../core/errors.ts';
import type { GGUFModel } from '../gguf/model.ts';
import type { GraphExecutor, WeightData } from '../graph/executor.ts';
import type { Graph } from '../graph/graph.ts';
import type { Model } from '../models/model.ts';
import type { PlacementPlan } from '../placement/index.ts';
import { HybridExecutor } from './hybrid-executor.ts';
import { nodeDevices } from './placement-devices.ts';

export interface DeviceExecutorOptions {
  /** Positions the KV cache holds. */
  readonly nCtx: number;
  /** Weights the executor did not load ahead (executors without loadWeights read everything through it). */
  readonly weights: (name: string) => WeightData;
  /** CPU worker threads. */
  readonly cpuThreads: number;
  /** Bytes of weights this device will hold (the CPU side shards wasm memories by it). */
  readonly weightBytes: number;
}

/** An executor plus what the engine reports about it. */
export interface DeviceExecutor extends GraphExecutor {
  /** e.g. "WebGPU (NVIDIA H100)" or "WASM relaxed-SIMD ×16 threads". */
  readonly label: string;
  /** Bytes the device holds now, per memory (GPU buffers; one entry per wasm memory). */
  memoryBytes?(): number[];
}

/** What a face offers: how to open each device. Missing entries mean the device is not available here. */
export interface ComputeDevices {
  /** Physical cores: the CPU side's threads unless told otherwise (fewer beside a GPU, defaultCpuThreads). */
  readonly cores: number;
  /** Why there is no GPU here (shown when rules need one), or undefined when `gpu` exists. */
  readonly gpuMissing?: string;
  gpu?(o: DeviceExecutorOptions): Promise<DeviceExecutor>;
  /** Without it the CPU side is the reference engine (cpu-ref), correct but slow. */
  cpu?(o: DeviceExecutorOptions): Promise<DeviceExecutor>;
}

export interface LoadedExecutor {
  readonly exec: GraphExecutor;
  /** Human-readable: which backends run what. */
  readonly label: string;
  readonly usesGpu: boolean;
  readonly usesCpu: boolean;
  /** CPU worker threads (0 without a CPU side). */
  readonly cpuThreads: number;
  /** Live bytes per device and memory, where the device reports them. */
  memory(): { gpu?: number[]; cpu?: number[] };
  dispose(): Promise<void>;
}

/** A CPU implementation of WebGPU (SwiftShader, lavapipe) computes slower than the WASM kernels: `auto` skips it. */
export function isSoftwareAdapter(description: string): boolean {
  return /swiftshader|llvmpipe|lavapipe/i.test(description);
}

/**
 * CPU worker threads when not told: every physical core, but beside a GPU a quarter of them (at least two) stay
 * free for the thread that records and submits GPU work, Dawn's and the driver's threads: on the 16-core H100
 * machine, hybrid decode ran 12.2 tokens/s with 12 WASM threads and 7.5 with 14 or 16 (the expert op took twice
 * as long, bench/results/hybrid-h100.md). KTransformers' advice is the same in spirit (physical cores − 2).
 */
export function defaultCpuThreads(cores: number, besideGpu: boolean): number {
  return besideGpu ? Math.max(1, cores - Math.max(2, Math.ceil(cores / 4))) : Math.max(1, cores);
}

function uses(plan: PlacementPlan, d: 'gpu' | 'cpu'): boolean {
  return plan.modules.some((m) => m.placement.prefill === d || m.placement.generate === d);
}

/**
 * The rules' `defer_experts` kwarg (kt-kernel expert deferral): one non-negative integer for all expert modules,
 * below n_used; 0 when no rule sets it.
 */
export function deferExperts(plan: PlacementPlan, nUsed: number): number {
  let value: number | undefined;
  let from: string | undefined;
  for (const m of plan.modules) {
    const r = m.placement.rule;
    const v = r?.kwargs['defer_experts'];
    if (r === undefined || v === undefined || !m.path.endsWith('.experts')) continue;
    const where = `${r.file}:${r.line}`;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= Math.max(1, nUsed)) {
      throw new EngineError('rule_invalid', `${where}: defer_experts must be an integer from 0 to n_used − 1 = ${nUsed - 1}, got ${String(v)}`, { file: r.file });
    }
    if (value !== undefined && v !== value) throw new EngineError('rule_invalid', `${where}: defer_experts ${v} differs from ${value} set by ${from}; use one value for every layer`, { file: r.file });
    value = v;
    from = where;
  }
  return value ?? 0;
}

/** The weights a graph reads, in first-use order. */
export function graphWeights(g: Graph): string[] {
  return [...new Set(g.nodes.flatMap((n) => (n.spec.op === 'weight' ? [n.spec.name] : [])))];
}

function cpuRef(o: DeviceExecutorOptions): DeviceExecutor {
  return Object.assign(new CpuRefExecutor(o.weights, o.nCtx), { label: 'cpu-ref (reference engine)' });
}

/**
 * Opens the devices the plan needs, streams the weights to them and returns the executor for the model's graphs.
 * `rulesName` only labels errors.
 */
export async function loadExecutor(
  gguf: GGUFModel,
  model: Model,
  plan: PlacementPlan,
  devices: ComputeDevices,
  o: { nCtx: number; cpuThreads?: number; rulesName: string; overlap?: boolean; onProgress?: (done: number, total: number) => void },
): Promise<LoadedExecutor> {
  const usesGpu = uses(plan, 'gpu');
  const usesCpu = uses(plan, 'cpu');
  if (usesGpu && devices.gpu === undefined) {
    throw new EngineError('bad_argument', `the rules ${o.rulesName} put modules on the GPU, but ${devices.gpuMissing ?? 'there is no WebGPU device here'}; use the all-CPU rules (rules/all-cpu.yaml, --device cpu)`);
  }
  // Executors without loadWeights (cpu-ref) read from here; it holds only what they asked to keep.
  const resident = new Map<string, WeightData>();
  const weights = (name: string): WeightData => {
    const w = resident.get(name);
    if (w === undefined) throw new EngineError('model_invalid', `tensor ${name} was not loaded for this placement`, { tensor: name });
    return w;
  };
  const read = async (name: string): Promise<WeightData> => {
    const { info } = gguf.tensor(name);
    return { type: info.type, dims: info.dims, bytes: await gguf.readTensor(name) };
  };
  const cpuThreads = o.cpuThreads ?? defaultCpuThreads(devices.cores, usesGpu);
  const common = { nCtx: o.nCtx, weights, cpuThreads };
  const opened: DeviceExecutor[] = [];
  try {
    const gpu = usesGpu ? await devices.gpu!({ ...common, weightBytes: plan.devices.gpu.weights }) : undefined;
    if (gpu !== undefined) opened.push(gpu);
    const cpuOpts = { ...common, weightBytes: plan.devices.cpu.weights };
    const cpu = usesCpu ? await (devices.cpu?.(cpuOpts) ?? Promise.resolve(cpuRef(cpuOpts))) : undefined;
    if (cpu !== undefined) opened.push(cpu);
    const exec: GraphExecutor = gpu !== undefined && cpu !== undefined ? new HybridExecutor({ gpu, cpu }, nodeDevices(plan), { overlap: o.overlap ?? true }) : (gpu ?? cpu)!;
    const label = gpu !== undefined && cpu !== undefined ? `hybrid: ${gpu.label} + ${cpu.label}` : (gpu ?? cpu)!.label;

    // A one-token graph has the decode placement, a two-token graph the prefill placement; together they read
    // every weight on every device it is used on.
    const graphs = [model.build({ nTokens: 1, allLogits: false }), model.build({ nTokens: 2, allLogits: false })];
    const total = [...new Set(graphs.flatMap(graphWeights))].reduce((a, n) => a + gguf.tensor(n).info.nBytes, 0);
    let done = 0;
    const progress = (bytes: number): void => {
      done += bytes;
      o.onProgress?.(Math.min(done, total), total);
    };
    for (const g of graphs) await loadGraph(exec, g, read, resident, progress);
    return {
      exec,
      label,
      usesGpu,
      usesCpu,
      cpuThreads: usesCpu ? cpuThreads : 0,
      memory: () => ({ ...(gpu?.memoryBytes !== undefined ? { gpu: gpu.memoryBytes() } : {}), ...(cpu?.memoryBytes !== undefined ? { cpu: cpu.memoryBytes() } : {}) }),
      dispose: async () => {
        for (const d of opened) await d.dispose?.();
      },
    };
  } catch (e) {
    for (const d of opened) await d.dispose?.();
    throw e;
  }
}

/** Loads g's weights on the executors that run it; those without loadWeights keep them in `resident`. */
async function loadGraph(
  exec: GraphExecutor,
  g: Graph,
  read: (name: string) => Promise<WeightData>,
  resident: Map<string, WeightData>,
  progress: (bytes: number) => void,
): Promise<void> {
  if (exec instanceof HybridExecutor) {
    for (const seg of exec.segments(g)) await loadGraph(exec.executors[seg.device], seg.graph, read, resident, progress);
    return;
  }
  if (exec.loadWeights !== undefined) return exec.loadWeights(g, read, progress);
  for (const name of graphWeights(g)) {
    if (resident.has(name)) continue;
    const w = await read(name);
    resident.set(name, w);
    progress(w.bytes.length);
  }
}
