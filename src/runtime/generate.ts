// The generation loop shared by the CLI and (later) the pages: prefill the prompt in one batch, then decode
// token by token, streaming text through the tokenizer's incremental decoder. Stops at an end-of-generation
// token, at maxNewTokens, or when the AbortSignal fires (Ctrl-C stops generation, not the process).
import type { Sampler } from './sampler.ts';

export interface GenerationModel {
  eval(tokens: readonly number[], allLogits?: boolean): Float32Array;
  readonly position: number;
  readonly nCtx: number;
}

export interface GenerationTokenizer {
  createStreamDecoder(): { push(id: number): string; flush?(): string };
  isEog(id: number): boolean;
}

export interface GenerationStep {
  readonly token: number;
  readonly text: string;
}

export interface GenerationStats {
  promptTokens: number;
  generatedTokens: number;
  prefillMs: number;
  decodeMs: number;
  stopReason: 'eog' | 'length' | 'aborted' | 'context';
}

// A macrotask turn without setTimeout: browsers clamp nested timers to 4 ms, which would cap decode at
// ~250 tokens/s. Closing the port lets Node exit.
const yieldToEventLoop = (): Promise<void> =>
  new Promise<void>((r) => {
    const c = new MessageChannel();
    c.port1.onmessage = () => {
      c.port1.close();
      r();
    };
    c.port2.postMessage(null);
  });

export async function* generate(
  model: GenerationModel,
  tok: GenerationTokenizer,
  sampler: Sampler,
  prompt: readonly number[],
  maxNewTokens: number,
  stats: GenerationStats,
  signal?: AbortSignal,
): AsyncGenerator<GenerationStep> {
  const dec = tok.createStreamDecoder();
  for (const t of prompt) sampler.accept(t);
  stats.promptTokens = prompt.length;
  let t0 = performance.now();
  let logits = model.eval(prompt);
  stats.prefillMs = performance.now() - t0;
  t0 = performance.now();
  stats.stopReason = 'length';
  for (let i = 0; i < maxNewTokens; i++) {
    if (signal?.aborted === true) {
      stats.stopReason = 'aborted';
      break;
    }
    const next = sampler.sample(logits);
    sampler.accept(next);
    if (tok.isEog(next)) {
      stats.stopReason = 'eog';
      break;
    }
    stats.generatedTokens++;
    yield { token: next, text: dec.push(next) };
    if (model.position >= model.nCtx) {
      stats.stopReason = 'context';
      break;
    }
    await yieldToEventLoop(); // lets a SIGINT or a UI event through between tokens
    logits = model.eval([next]);
  }
  const rest = dec.flush?.() ?? '';
  if (rest !== '') yield { token: -1, text: rest };
  stats.decodeMs = performance.now() - t0;
}
