// What the benchmark page can measure: a list of targets, each loading one GGUF at one thread count into an
// engine that lives in workers, and running one raw greedy prompt at a time. ktweb has one target per placement
// (hybrid = the model's rules, all GPU, all CPU), each a fresh engine worker loaded with that device and rules
// file; its actual backend is always read back from ModelInfo.backend and shown as is. wllama: bench-wllama.ts.
import type { ChatCompletionChunk } from '../api/types.ts';
import { WorkerEngine } from '../api/worker-engine.ts';
import type { GpuProbe, WorkerLoadOptions } from '../api/worker-protocol.ts';
import type { KernelStat, Sample, StepStat } from './bench-types.ts';

/** The model under test: the same bytes go to every engine. */
export interface BenchModel {
  readonly name: string;
  /** GGUF bytes (all shards). */
  readonly bytes: number;
  /** GGUF files in shard order (what wllama gets). */
  readonly ggufs: readonly File[];
  /** Every file the user gave (GGUF shards plus optional HF JSON), for ktweb. */
  readonly files: readonly File[];
}

export interface LoadOptions {
  readonly threads: number;
  readonly nCtx: number;
  readonly onProgress: (text: string) => void;
}

/** A model loaded in one engine at one thread count. */
export interface LoadedTarget {
  readonly engine: string;
  /** Table/chart label: engine and placement. */
  readonly label: string;
  readonly backend: string;
  readonly placement: string;
  /** Threads the engine says it uses (0: no CPU worker threads); null when it does not say. */
  readonly threadsUsed: number | null;
  /** One raw (no chat template) greedy completion of `prompt`, at most `maxTokens` tokens, timed by the engine. */
  run(prompt: string, maxTokens: number): Promise<Sample>;
  /**
   * Per-kernel bandwidth, measured now on the loaded model (after the runs), or null when this engine/backend does
   * not expose it.
   */
  kernelStats(): Promise<readonly KernelStat[] | null>;
  /** Why kernelStats() is null, or how its numbers are measured, in words for the page. */
  readonly kernelNote: string;
  /** GPU/CPU times of the last forward pass, or null when the engine does not split one (one device, or wllama). */
  lastStep(): Promise<StepStat | null>;
  /** Live bytes per device, or null when the engine does not report them. */
  memory(): Promise<{ gpu?: readonly number[]; cpu?: readonly number[] } | null>;
  /** Stops the run in progress (it rejects or returns early). */
  abort(): void;
  /** Frees the workers and memory. */
  dispose(): Promise<void>;
}

export interface BenchTarget {
  readonly id: string;
  readonly label: string;
  readonly defaultOn: boolean;
  /** false: the thread count changes nothing (no CPU side), so it runs once, at the first thread count. */
  readonly usesThreads: boolean;
  /** null when it can run here, else the reason it cannot (shown next to its checkbox). */
  unavailable(): string | null;
  /** Said next to the target when it runs but its numbers need a caveat (a software GPU), else null. */
  caveat(): string | null;
  load(model: BenchModel, opts: LoadOptions): Promise<LoadedTarget>;
  /** How its numbers are measured, for the visible note and the JSON export. */
  readonly method: string;
}

const KERNEL_METHOD =
  'after the runs, engine.kernelBench() times every weight-reading kernel of a decode step (mul_mat, mul_mat_heads, moe_experts) grouped by op, weight type, shape and device, ' +
  "on the model's own weights where the placement put them: one graph per kernel calls it once on every layer's weights of that kind (as a decode step reads them), " +
  'the activation and the experts\' route (n_used distinct experts, other ones every run) given as inputs, run through the executor of that device. ' +
  'µs/call = median run time ÷ calls per run, so it includes that share of the per-run overhead (WebGPU: write inputs, submit, map the read-back; WASM: write inputs, start the worker pool, read outputs), ' +
  'which is measured on a trivial graph and shown with each table; GB/s = weight bytes per call (experts: n_used experts\' gate + up + down) ÷ µs/call. ' +
  'Where WebGPU has timestamp queries, the same calls replayed in one compute pass give the GPU time per call without that overhead.';

const KTWEB_METHOD =
  'ktweb: each placement is its own engine worker, loaded with that device and rules file and the thread count as cpuThreads. ' +
  'Each run is chat.completions.create({raw: true, temperature: 0, max_tokens, stream: true}) in the engine worker; ' +
  'the numbers are the timings of its last chunk, measured with performance.now() inside the worker. ' +
  'Prefill tokens/s = timings.prefill_tokens_per_s = prompt tokens ÷ the time of the batched forward passes over the prompt (sampling excluded). ' +
  'Decode tokens/s = timings.decode_tokens_per_s = generated tokens ÷ the time from the end of prefill to the end of generation ' +
  '(every step samples a token greedily, hands it to the page and runs one forward pass). The KV cache is reset every run, so the whole prompt is processed each time. ' +
  'Per-step device times (hybrid only) are EngineStats.lastStep after the last run at each length: the last decode step, with the time each device spent running its segments and the time both ran at once. ' +
  `Per-kernel GB/s: ${KERNEL_METHOD}`;

interface Placement {
  readonly id: string;
  readonly label: string;
  readonly describe: string;
  readonly opts: Pick<WorkerLoadOptions, 'device' | 'rules'>;
  readonly gpu: boolean;
  readonly cpu: boolean;
}

const KTWEB_PLACEMENTS: readonly Placement[] = [
  { id: 'hybrid', label: 'hybrid', describe: "the model's rules", opts: { device: 'gpu' }, gpu: true, cpu: true },
  { id: 'all-gpu', label: 'all GPU', describe: 'all-gpu.yaml', opts: { device: 'gpu', rules: 'all-gpu.yaml' }, gpu: true, cpu: false },
  { id: 'all-cpu', label: 'all CPU', describe: 'all-cpu.yaml', opts: { device: 'cpu', rules: 'all-cpu.yaml' }, gpu: false, cpu: true },
];

function newEngine(): { worker: Worker; engine: WorkerEngine } {
  const worker = new Worker(new URL('../workers/engine.worker.ts', import.meta.url), { type: 'module' });
  return { worker, engine: new WorkerEngine(worker) };
}

/** Asks an engine worker what WebGPU offers (the same judgement device 'auto' makes), then lets it go. */
export async function probeGpu(): Promise<GpuProbe> {
  const { worker, engine } = newEngine();
  try {
    return await engine.probeGpu();
  } finally {
    worker.terminate();
  }
}

function ktwebTarget(p: Placement, gpu: GpuProbe): BenchTarget {
  const noGpu = !gpu.webgpu ? 'this browser has no WebGPU' : gpu.adapter === null ? 'WebGPU found no adapter' : null;
  return {
    id: `ktweb-${p.id}`,
    label: `ktweb · ${p.label}`,
    // A software adapter runs the GPU placements correctly but measures a CPU emulation: opt-in there.
    defaultOn: !p.gpu || !gpu.software,
    usesThreads: p.cpu,
    unavailable: () => (p.gpu ? noGpu : null),
    caveat: () => (p.gpu && gpu.software ? `WebGPU here is a software adapter (${gpu.adapter ?? ''}): GPU numbers measure a CPU emulation` : null),
    method: KTWEB_METHOD,
    async load(model, opts) {
      const { worker, engine } = newEngine();
      let loading = true;
      try {
        const info = await engine.load({ kind: 'files', files: [...model.files] }, { nCtx: opts.nCtx, cpuThreads: opts.threads, ...p.opts }, (pr) => {
          if (loading) opts.onProgress(`${pr.phase} ${((pr.bytesDone / Math.max(1, pr.bytesTotal)) * 100).toFixed(0)}%`);
        });
        loading = false;
        const backend = info.backend;
        // The WASM side names its worker count ("×2 threads"); a GPU-only backend uses no CPU workers.
        const threads = /×(\d+) threads?/.exec(backend);
        return {
          engine: 'ktweb',
          label: `ktweb · ${p.label}`,
          backend,
          placement: `${p.label}: ${info.rules}${p.id === 'hybrid' ? ` (${p.describe})` : ''}`,
          threadsUsed: threads !== null ? Number(threads[1]) : /WASM|cpu-ref/.test(backend) ? null : 0,
          kernelNote: KERNEL_METHOD,
          async run(prompt, maxTokens) {
            const t0 = performance.now();
            let last: ChatCompletionChunk | undefined;
            for await (const c of engine.chat.completions.create({ messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens, temperature: 0, raw: true, stream: true })) last = c;
            const t = last?.timings;
            if (t === undefined) throw new Error('ktweb finished without timings');
            return {
              prompt_tokens: t.prompt_tokens,
              prefill_ms: t.prefill_ms,
              prefill_tokens_per_s: t.prefill_tokens_per_s > 0 ? t.prefill_tokens_per_s : Number.NaN,
              completion_tokens: t.completion_tokens,
              decode_ms: t.decode_ms,
              decode_tokens_per_s: t.completion_tokens > 0 && t.decode_tokens_per_s > 0 ? t.decode_tokens_per_s : Number.NaN,
              wall_ms: Math.round((performance.now() - t0) * 10) / 10,
            };
          },
          kernelStats: () => engine.kernelBench(),
          async lastStep() {
            const s = (await engine.stats()).lastStep;
            if (s === undefined || s.segments === 0) return null;
            return { wall_ms: s.wallMs, gpu_ms: s.gpuMs, cpu_ms: s.cpuMs, overlap_ms: s.overlapMs, segments: s.segments };
          },
          async memory() {
            return (await engine.stats()).memory;
          },
          abort: () => void engine.abort(),
          async dispose() {
            // Unload first so the GPU buffers and wasm workers go now, not whenever the terminated worker is collected.
            // Bounded: a worker stuck in a stopped run must not hold the page.
            await Promise.race([engine.unload().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
            worker.terminate();
          },
        };
      } catch (e) {
        loading = false;
        worker.terminate();
        throw e;
      }
    },
  };
}

export function ktwebTargets(gpu: GpuProbe): BenchTarget[] {
  return KTWEB_PLACEMENTS.map((p) => ktwebTarget(p, gpu));
}
