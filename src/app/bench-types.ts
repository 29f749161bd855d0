// Benchmark page data: settings, one measured run (Sample), one result row per engine × threads × prompt
// length (medians over the repetitions), the exported report, and the small pure helpers the page needs.
// No DOM here, so the shapes stay easy to read and to check.
import type { KernelStat } from '../api/types.ts';

export interface BenchSettings {
  /** Target prompt lengths in tokens (the prompt is raw text of a repeated word; the engines tokenize it). */
  readonly promptLengths: readonly number[];
  /** Tokens to generate per run (greedy; an engine may stop earlier at an end-of-generation token). */
  readonly genTokens: number;
  /** Runs per cell; the table shows the median. */
  readonly repetitions: number;
  /** Thread counts: wllama loads with n_threads = each, ktweb with cpuThreads = each (targets without a CPU side run once). */
  readonly threads: readonly number[];
  /** Ids of the bench targets to run (see bench-targets.ts). */
  readonly targets: readonly string[];
}

export const DEFAULT_PROMPT_LENGTHS = [16, 64, 128] as const;
export const DEFAULT_GEN_TOKENS = 32;
export const DEFAULT_REPETITIONS = 2;
/** The word the prompt repeats: one token in every vocabulary we know, so lengths are easy to hit. */
export const PROMPT_WORD = 'the';

/** One measured run, as the engine reported it. */
export interface Sample {
  readonly prompt_tokens: number;
  readonly prefill_ms: number;
  readonly prefill_tokens_per_s: number;
  readonly completion_tokens: number;
  readonly decode_ms: number;
  /** NaN when fewer than one decode step was timed (the model stopped at once). */
  readonly decode_tokens_per_s: number;
  /** Request to final answer as seen by the page (includes messaging between the page and the workers). */
  readonly wall_ms: number;
}

/** ktweb's per-kernel bandwidth of a decode step (LocalEngine.kernelBench, see runtime/kernel-bench.ts). */
export type { KernelStat } from '../api/types.ts';

/** ktweb's breakdown of one forward pass over both devices (EngineStats.lastStep; hybrid placements only). */
export interface StepStat {
  readonly wall_ms: number;
  /** Time the GPU queue spent running its segments (dispatch and read-back included). */
  readonly gpu_ms: number;
  readonly cpu_ms: number;
  /** Time both devices were busy at once. */
  readonly overlap_ms: number;
  readonly segments: number;
}

export interface ResultRow {
  /** Bench target id (bench-targets.ts / bench-wllama.ts). */
  readonly target: string;
  /** 'ktweb' or 'wllama'. */
  readonly engine: string;
  /** The row's label in the table and the chart, e.g. "ktweb · cpu-ref" or "wllama · CPU". */
  readonly label: string;
  /** What actually ran: ktweb's ModelInfo.backend; for wllama its build and device. */
  readonly backend: string;
  readonly placement: string;
  readonly threads_requested: number;
  /** Threads the engine reports it uses; null when the engine does not say. */
  readonly threads_used: number | null;
  readonly prompt_target: number;
  /** Median of the prompt tokens the engine reported (tokenization is the engine's). */
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly prefill_tokens_per_s: number;
  readonly decode_tokens_per_s: number;
  readonly samples: readonly Sample[];
  /** The last forward pass of the last run at this length (a decode step), where the engine reports one. */
  readonly last_step: StepStat | null;
  /** Set instead of numbers when the target failed (the message says why). */
  readonly error?: string;
}

export interface KernelReport {
  readonly label: string;
  readonly backend: string;
  readonly threads_requested: number;
  /** null: the engine exposes no per-kernel numbers for this backend (or timing them failed: `note` says why). */
  readonly kernels: readonly KernelStat[] | null;
  /** Why `kernels` is null, or how they were measured. */
  readonly note: string;
  /** Live bytes per device after the runs (GPU buffers, each wasm memory), where the engine reports them. */
  readonly memory: { readonly gpu?: readonly number[]; readonly cpu?: readonly number[] } | null;
}

export interface BenchReport {
  readonly date: string;
  readonly userAgent: string;
  readonly hardwareConcurrency: number;
  readonly crossOriginIsolated: boolean;
  readonly environment: { readonly webgpu: boolean; readonly gpuAdapter: string | null; readonly softwareGpu: boolean; readonly jspi: boolean; readonly memory64: boolean };
  readonly model: { readonly name: string; readonly bytes: number };
  readonly settings: BenchSettings;
  readonly method: Readonly<Record<string, string>>;
  readonly results: readonly ResultRow[];
  readonly kernels: readonly KernelReport[];
}

export function median(xs: readonly number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const m = v.length >> 1;
  return v.length % 2 === 1 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/** tokens / ms → tokens per second, one decimal (NaN when nothing was timed). */
export function perSecond(tokens: number, ms: number): number {
  return tokens > 0 && ms > 0 ? Math.round((tokens / ms) * 1e4) / 10 : Number.NaN;
}

/** "16, 64 128" → [16, 64, 128]; throws a readable message for anything else. */
export function parseIntList(text: string, what: string, min: number, max: number): number[] {
  const parts = text.split(/[\s,;]+/).filter((s) => s !== '');
  if (parts.length === 0) throw new Error(`${what}: give at least one number`);
  const out: number[] = [];
  for (const p of parts) {
    const n = Number(p);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${what}: "${p}" is not a whole number from ${min} to ${max}`);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

export function parseIntField(text: string, what: string, min: number, max: number): number {
  const n = Number(text.trim());
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${what}: "${text}" is not a whole number from ${min} to ${max}`);
  return n;
}

/** The raw prompt text: `words` copies of PROMPT_WORD separated by spaces. */
export function promptText(words: number): string {
  return Array.from({ length: Math.max(1, words) }, () => PROMPT_WORD).join(' ');
}

/**
 * Prompt tokens grow linearly with the number of repeated words: tokens = a·words + b (b holds BOS and any
 * prefix). Two probes fix a and b; this returns the word count whose prompt is closest to `target` tokens.
 */
export function wordsFor(target: number, probe1: { words: number; tokens: number }, probe2: { words: number; tokens: number }): number {
  const a = (probe2.tokens - probe1.tokens) / (probe2.words - probe1.words);
  const b = probe1.tokens - a * probe1.words;
  if (!(a > 0)) return target;
  return Math.max(1, Math.round((target - b) / a));
}

export function fmtRate(x: number): string {
  if (!Number.isFinite(x)) return '—';
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}
