// One row of the benchmark table from what a target measured (medians over the repetitions), or the row that says
// why a target failed. Kept apart from bench-types.ts, which must not depend on the targets' interfaces.
import type { BenchTarget, LoadedTarget } from './bench-targets.ts';
import { median, type ResultRow, type Sample, type StepStat } from './bench-types.ts';

export function resultRow(target: string, t: LoadedTarget, threads: number, len: number, samples: readonly Sample[], step: StepStat | null): ResultRow {
  return {
    target,
    engine: t.engine,
    label: t.label,
    backend: t.backend,
    placement: t.placement,
    threads_requested: threads,
    threads_used: t.threadsUsed,
    prompt_target: len,
    prompt_tokens: median(samples.map((s) => s.prompt_tokens)),
    completion_tokens: median(samples.map((s) => s.completion_tokens)),
    prefill_tokens_per_s: median(samples.map((s) => s.prefill_tokens_per_s)),
    decode_tokens_per_s: median(samples.map((s) => s.decode_tokens_per_s)),
    samples,
    last_step: step,
  };
}

export function errorRow(t: BenchTarget, threads: number, len: number, error: string): ResultRow {
  return {
    target: t.id,
    engine: t.id.split('-')[0]!,
    label: t.label,
    backend: '—',
    placement: '—',
    threads_requested: threads,
    threads_used: null,
    prompt_target: len,
    prompt_tokens: Number.NaN,
    completion_tokens: Number.NaN,
    prefill_tokens_per_s: Number.NaN,
    decode_tokens_per_s: Number.NaN,
    samples: [],
    last_step: null,
    error,
  };
}
