// What crosses the page ↔ engine-worker boundary. Engine errors keep their class, code and details across it:
// comlink's 'throw' handler is replaced on both sides (installErrorTransfer) so `instanceof EngineError` and
// `e.code` work in the page exactly as in the worker.
import * as Comlink from 'comlink';
import { EngineError, engineErrorFromJSON, type ErrorCode, type ErrorDetails } from '../core/errors.ts';
import type { ChatCompletionChunk, ChatCompletionRequest, EngineStats, KernelBenchOptions, KernelStat, LoadProgress, ModelInfo, PlanSummary } from './types.ts';

/** How the page names a model for the worker: picked/OPFS files (Files clone cheaply: they are references). */
export type WorkerModelSource = { readonly kind: 'files'; readonly files: readonly File[] } | { readonly kind: 'url'; readonly url: string; readonly name: string };

/** LoadOptions of LocalEngine that can cross to the worker (no callbacks). */
export interface WorkerLoadOptions {
  readonly nCtx: number;
  /** auto: hardware WebGPU when present, else all-CPU rules. */
  readonly device?: 'auto' | 'gpu' | 'cpu';
  /** A shipped rule file (e.g. `mixtral.yaml`); default: chosen from the architecture and device. */
  readonly rules?: string;
  /** Edited text for `rules`. */
  readonly rulesText?: string;
  readonly cpuThreads?: number;
  readonly chunkSize?: number;
  readonly overlap?: boolean;
}

export interface LoadedRules {
  readonly name: string;
  readonly text: string;
  /** Loaded from text edited in the page rather than the shipped file. */
  readonly edited: boolean;
}

/** The WebGPU adapter as `device: 'auto'` judges it (a software adapter counts as no GPU there). */
export interface GpuProbe {
  /** navigator.gpu exists in the worker. */
  readonly webgpu: boolean;
  /** The adapter's vendor/architecture/device/description, or null when WebGPU found no adapter. */
  readonly adapter: string | null;
  /** SwiftShader, llvmpipe or lavapipe: WebGPU computed on the CPU, slower than the WASM kernels. */
  readonly software: boolean;
}

export interface EngineWorkerApi {
  load(src: WorkerModelSource, opts: WorkerLoadOptions, onProgress: (p: LoadProgress) => void): Promise<ModelInfo>;
  /** Streams chunks to `onChunk`; resolves when the answer ends. */
  stream(req: ChatCompletionRequest, onChunk: (c: ChatCompletionChunk) => void): Promise<void>;
  /** Stops the answer being generated (its last chunk says finish_reason 'abort'). */
  abort(): void;
  /** Frees the loaded model's device memory and kernel workers (before the page drops this worker). */
  unload(): Promise<void>;
  /** The rules the loaded model runs with: ModelInfo.rules and its text (the edited text when it was loaded with one). */
  loadedRules(): Promise<LoadedRules>;
  /** Names of the shipped rule files (rules/*.yaml), the ones `rules` may name and `extends:` may reach. */
  ruleFiles(): Promise<string[]>;
  /** What WebGPU offers this worker, without opening a device (the pages' notes and the bench's GPU targets). */
  probeGpu(): Promise<GpuProbe>;
  /** Validates `text` as the rules file `name` and plans the loaded model with it. */
  plan(name: string, text: string): Promise<PlanSummary>;
  /** Live memory by device, the last step's device times, the placement summary. */
  stats(): Promise<EngineStats>;
  /** Per-kernel GB/s of a decode step on the loaded model's weights (LocalEngine.kernelBench); not while generating. */
  kernelBench(opts?: KernelBenchOptions): Promise<KernelStat[]>;
}

interface SerializedThrown {
  readonly isError: boolean;
  readonly value: { name?: string; message?: string; stack?: string; code?: ErrorCode; details?: ErrorDetails } | unknown;
}

let installed = false;

export function installErrorTransfer(): void {
  if (installed) return;
  installed = true;
  // comlink does not export its thrown-value marker; its own handler knows how to recognise one.
  const builtin = Comlink.transferHandlers.get('throw')!;
  Comlink.transferHandlers.set('throw', {
    canHandle: (v: unknown): v is { value: unknown } => builtin.canHandle(v),
    serialize: ({ value }: { value: unknown }): [SerializedThrown, Transferable[]] => {
      if (value instanceof EngineError) return [{ isError: true, value: { ...value.toJSON(), stack: value.stack } }, []];
      if (value instanceof Error) return [{ isError: true, value: { name: value.name, message: value.message, stack: value.stack } }, []];
      return [{ isError: false, value }, []];
    },
    deserialize: (s: SerializedThrown): never => {
      const v = s.value as { name?: string; message?: string; code?: ErrorCode; details?: ErrorDetails };
      if (s.isError && v.name === 'EngineError' && v.code !== undefined) throw engineErrorFromJSON({ code: v.code, message: v.message ?? '', details: v.details });
      if (s.isError) throw Object.assign(new Error(v.message), { name: v.name ?? 'Error' });
      throw s.value;
    },
  });
}
