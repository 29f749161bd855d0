// What the benchmark page can measure: a list of targets, each loading one GGUF at one thread count into an
// engine that lives in workers, and running one raw greedy prompt at a time. ktweb placements and backends
// plug in here as entries of KTWEB_PLACEMENTS once the engine can be told where to run (its actual backend is
// always read back from ModelInfo.backend and shown as is); wllama targets live in bench-wllama.ts.
import type { ChatCompletionChunk } from '../api/types.ts';
import { WorkerEngine } from '../api/worker-engine.ts';
import type { KernelStat, Sample } from './bench-types.ts';

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
  /** Table/chart label: engine and what it runs on. */
  readonly label: string;
  readonly backend: string;
  readonly placement: string;
  /** Threads the engine says it uses; null when it does not say. */
  readonly threadsUsed: number | null;
  /** One raw (no chat template) greedy completion of `prompt`, at most `maxTokens` tokens, timed by the engine. */
  run(prompt: string, maxTokens: number): Promise<Sample>;
  /** Per-kernel bandwidth of the last run, or null when this engine/backend does not expose it. */
  kernelStats(): Promise<readonly KernelStat[] | null>;
  /** Why kernelStats() is null, in words for the page. */
  readonly kernelNote: string;
  /** Stops the run in progress (it rejects or returns early). */
  abort(): void;
  /** Frees the workers and memory. */
  dispose(): Promise<void>;
}

export interface BenchTarget {
  readonly id: string;
  readonly label: string;
  readonly defaultOn: boolean;
  /** null when it can run here, else the reason it cannot (shown next to its checkbox). */
  unavailable(): string | null;
  load(model: BenchModel, opts: LoadOptions): Promise<LoadedTarget>;
  /** How its numbers are measured, for the visible note and the JSON export. */
  readonly method: string;
}

const KTWEB_METHOD =
  'ktweb: each run is chat.completions.create({raw: true, temperature: 0, max_tokens, stream: true}) in the engine worker; ' +
  'the numbers are the timings of its last chunk, measured with performance.now() inside the worker. ' +
  'Prefill tokens/s = timings.prefill_tokens_per_s = prompt tokens ÷ the time of the one batched forward pass over the prompt (sampling excluded). ' +
  'Decode tokens/s = timings.decode_tokens_per_s = generated tokens ÷ the time from the end of prefill to the end of generation ' +
  '(every step samples a token greedily, hands it to the page and runs one forward pass). The KV cache is reset every run, so the whole prompt is processed each time.';

/** Placements the ktweb engine can be asked for. Today the worker API takes none (the engine picks its default rules). */
const KTWEB_PLACEMENTS: ReadonlyArray<{ id: string; label: string }> = [{ id: 'default', label: 'engine default' }];

function ktwebTarget(placement: { id: string; label: string }): BenchTarget {
  return {
    id: placement.id === 'default' ? 'ktweb' : `ktweb-${placement.id}`,
    label: placement.id === 'default' ? 'ktweb (engine worker)' : `ktweb · ${placement.label}`,
    defaultOn: true,
    unavailable: () => null,
    method: KTWEB_METHOD,
    async load(model, opts) {
      const worker = new Worker(new URL('../workers/engine.worker.ts', import.meta.url), { type: 'module' });
      const engine = new WorkerEngine(worker);
      let loading = true;
      try {
        // The thread count is passed through once the worker's load takes it; the row keeps the requested count
        // and shows the backend the engine reports, so a single-threaded backend is never labelled as threaded.
        const info = await engine.load({ kind: 'files', files: [...model.files] }, { nCtx: opts.nCtx, cpuThreads: opts.threads }, (p) => {
          if (loading) opts.onProgress(`${p.phase} ${((p.bytesDone / Math.max(1, p.bytesTotal)) * 100).toFixed(0)}%`);
        });
        loading = false;
        const backend = info.backend;
        return {
          engine: 'ktweb',
          label: `ktweb · ${backend.replace(/\s*\(.*\)$/, '')}`,
          backend,
          placement: placement.label,
          threadsUsed: null,
          kernelNote: `not available for this backend (${backend} does not expose per-kernel timings yet)`,
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
          kernelStats: () => Promise.resolve(null),
          abort: () => void engine.abort(),
          dispose() {
            worker.terminate();
            return Promise.resolve();
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

/**
 * Runs one answer in the engine worker and returns its last chunk (the one with finish_reason and timings).
 * Chunks come through a comlink proxy, which is its own MessageChannel, while stream()'s result comes back on the
 * worker's port: the two are not ordered, so the last chunk can arrive after stream() resolved. Waiting for the
 * chunk that carries finish_reason (the worker always sends it) makes the run's end certain. WorkerEngine's
 * iterator stops at stream()'s result and can lose that chunk; this helper does not.
 */
export function ktwebTargets(): BenchTarget[] {
  return KTWEB_PLACEMENTS.map(ktwebTarget);
}
