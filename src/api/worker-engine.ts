// The page's handle on the engine worker: the same chat.completions shape as LocalEngine, over comlink.
// Chunks arrive through a proxied callback and are re-exposed as an async iterator, so the UI thread only
// ever awaits (it never computes).
import * as Comlink from 'comlink';
import type { ChatCompletionChunk, ChatCompletionRequest, EngineStats, KernelBenchOptions, KernelStat, LoadProgress, ModelInfo, PlanSummary } from './types.ts';
import { installErrorTransfer, type EngineWorkerApi, type GpuProbe, type LoadedRules, type WorkerLoadOptions, type WorkerModelSource } from './worker-protocol.ts';

export class WorkerEngine {
  private readonly remote: Comlink.Remote<EngineWorkerApi>;

  constructor(worker: Worker) {
    installErrorTransfer();
    this.remote = Comlink.wrap<EngineWorkerApi>(worker);
  }

  load(src: WorkerModelSource, opts: WorkerLoadOptions, onProgress: (p: LoadProgress) => void): Promise<ModelInfo> {
    return this.remote.load(src, opts, Comlink.proxy(onProgress));
  }

  abort(): Promise<void> {
    return this.remote.abort();
  }

  unload(): Promise<void> {
    return this.remote.unload();
  }

  loadedRules(): Promise<LoadedRules> {
    return this.remote.loadedRules();
  }

  ruleFiles(): Promise<string[]> {
    return this.remote.ruleFiles();
  }

  probeGpu(): Promise<GpuProbe> {
    return this.remote.probeGpu();
  }

  plan(name: string, text: string): Promise<PlanSummary> {
    return this.remote.plan(name, text);
  }

  stats(): Promise<EngineStats> {
    return this.remote.stats();
  }

  kernelBench(opts?: KernelBenchOptions): Promise<KernelStat[]> {
    return this.remote.kernelBench(opts);
  }

  readonly chat = {
    completions: {
      create: (req: ChatCompletionRequest & { stream: true }): AsyncIterable<ChatCompletionChunk> => this.stream(req),
    },
  };

  private async *stream(req: ChatCompletionRequest): AsyncGenerator<ChatCompletionChunk> {
    const queue: ChatCompletionChunk[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    let sawLast = false;
    let failure: unknown;
    const finished = this.remote
      .stream(
        req,
        Comlink.proxy((c: ChatCompletionChunk) => {
          queue.push(c);
          if (c.choices[0].finish_reason !== null) sawLast = true;
          wake?.();
        }),
      )
      .then(
        () => {
          done = true;
          wake?.();
        },
        (e: unknown) => {
          failure = e;
          done = true;
          wake?.();
        },
      );
    for (;;) {
      const c = queue.shift();
      if (c !== undefined) {
        yield c;
        continue;
      }
      // Chunks (proxy channel) and the call's result (worker channel) are not ordered: end only after the
      // last chunk arrived, or on failure.
      if (done && (sawLast || failure !== undefined)) break;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
    await finished;
    if (failure !== undefined) throw failure;
  }
}
