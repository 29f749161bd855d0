// The generation loop shared by the CLI and (later) the pages: prefill the prompt in one batch, then decode
// token by token, streaming text through the tokenizer's incremental decoder. Stops at an end-of-generation
// token, at maxNewTokens, or when the AbortSignal fires (Ctrl-C stops generation, not the process).
import type { Sampler } from './sampler.ts';
import type { TopKOptions } from './session.ts';

export interface GenerationModel {
  eval(tokens: readonly number[], allLogits?: boolean): Float32Array | Promise<Float32Array>;
  /** The k best logits of the last position, cut on the device; undefined when it cannot. */
  evalTopK?(tokens: readonly number[], o: TopKOptions): Promise<{ ids: Int32Array; logits: Float32Array } | undefined>;
  readonly position: number;
  readonly nCtx: number;
}

/** Largest k cut on the device; a sampler that needs more candidates gets the full logits. */
const MAX_DEVICE_TOP_K = 256;

/** Evaluates `tokens` and samples the next token, reading back only top-k candidates when the model can. */
async function evalAndSample(model: GenerationModel, sampler: Sampler, tokens: readonly number[]): Promise<number> {
  const k = sampler.candidates;
  if (model.evalTopK !== undefined && k > 0 && k <= MAX_DEVICE_TOP_K) {
    const penalty = sampler.o.repeatPenalty;
    const r = await model.evalTopK(tokens, penalty !== 1 ? { k, penaltyIds: sampler.penalized, penalty } : { k });
    if (r !== undefined) return sampler.sampleCandidates(r.ids, r.logits);
  }
  return sampler.sample(await model.eval(tokens));
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
  let next = await evalAndSample(model, sampler, prompt);
  stats.prefillMs = performance.now() - t0;
  t0 = performance.now();
  stats.stopReason = 'length';
  for (let i = 0; i < maxNewTokens; i++) {
    if (signal?.aborted === true) {
      stats.stopReason = 'aborted';
      break;
    }
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
    next = await evalAndSample(model, sampler, [next]);
  }
  const rest = dec.flush?.() ?? '';
  if (rest !== '') yield { token: -1, text: rest };
  stats.decodeMs = performance.now() - t0;
}
