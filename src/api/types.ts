// The engine interface, shaped like OpenAI's chat completions so the pages, the CLI and the HTTP server speak
// the same request and chunk objects. TSDoc here is the public contract.
import type { ChatMessage } from '../tokenizer/index.ts';

export type { ChatMessage } from '../tokenizer/index.ts';
/**
 * Per-kernel bandwidth of a decode step (LocalEngine.kernelBench): one row per kernel kind (op, weight types,
 * shape, device) with bytes per call, µs per call, GB/s and the executor's per-run overhead; the options bound how
 * long each kernel is timed. Defined with the measurement in runtime/kernel-bench.ts.
 */
export type { KernelBenchOptions, KernelStat } from '../runtime/kernel-bench.ts';

export interface ChatCompletionRequest {
  readonly messages: readonly ChatMessage[];
  /** Tokens to generate at most (default 512). */
  readonly max_tokens?: number;
  /** 0 = greedy. Default: the model's generation_config, else 0. */
  readonly temperature?: number;
  readonly top_p?: number;
  readonly top_k?: number;
  readonly min_p?: number;
  readonly repetition_penalty?: number;
  readonly seed?: number;
  /** Continue plain text instead of applying the chat template. */
  readonly raw?: boolean;
}

export type FinishReason = 'stop' | 'length' | 'abort';

export interface Timings {
  readonly prompt_tokens: number;
  readonly prefill_ms: number;
  readonly prefill_tokens_per_s: number;
  readonly completion_tokens: number;
  readonly decode_ms: number;
  readonly decode_tokens_per_s: number;
}

export interface ChatCompletionChunk {
  readonly id: string;
  readonly object: 'chat.completion.chunk';
  readonly created: number;
  readonly model: string;
  readonly choices: readonly [{ readonly index: 0; readonly delta: { readonly role?: 'assistant'; readonly content?: string }; readonly finish_reason: FinishReason | null }];
  /** Generated token ids in this chunk (ktweb extension). */
  readonly token_ids?: readonly number[];
  /** On the last chunk. */
  readonly usage?: { readonly prompt_tokens: number; readonly completion_tokens: number; readonly total_tokens: number };
  readonly timings?: Timings;
}

export interface ChatCompletion {
  readonly id: string;
  readonly object: 'chat.completion';
  readonly created: number;
  readonly model: string;
  readonly choices: readonly [{ readonly index: 0; readonly message: { readonly role: 'assistant'; readonly content: string }; readonly finish_reason: FinishReason }];
  readonly usage: { readonly prompt_tokens: number; readonly completion_tokens: number; readonly total_tokens: number };
  readonly timings: Timings;
  readonly token_ids: readonly number[];
  readonly prompt_token_ids: readonly number[];
}

export interface LoadProgress {
  readonly phase: 'header' | 'weights' | 'ready';
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface ModelInfo {
  readonly name: string;
  readonly architecture: string;
  readonly nParams: number;
  readonly weightBytes: number;
  readonly nCtx: number;
  readonly hasChatTemplate: boolean;
  /** Which backends run the model, e.g. "hybrid: WebGPU (…) + WASM relaxed-SIMD ×2 threads". */
  readonly backend: string;
  /** The placement rules it was loaded with. */
  readonly rules: string;
}

export interface PlanSummary {
  readonly devices: Readonly<Record<'gpu' | 'cpu', { weights: number; kvCache: number; scratch: number; total: number }>>;
  /** Modules holding weights, by decode device. */
  readonly modulesOnGpu: number;
  readonly modulesOnCpu: number;
  readonly wasmShards: number;
}

/** What the engine reports about the loaded model while it runs (chat page, bench page). */
export interface EngineStats {
  /** Live bytes per device: GPU buffers, and each wasm memory of the CPU side (absent where not reported). */
  readonly memory: { readonly gpu?: readonly number[]; readonly cpu?: readonly number[] };
  /** The last forward pass of the hybrid runtime (absent on one device). */
  readonly lastStep?: { readonly wallMs: number; readonly gpuMs: number; readonly cpuMs: number; readonly overlapMs: number; readonly segments: number };
  /** Modules holding weights, by decode device, and the rules file. */
  readonly placement: { readonly rules: string; readonly modulesOnGpu: number; readonly modulesOnCpu: number };
}
