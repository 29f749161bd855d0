/// <reference types="vite/client" />
// Chromium page for whole-model CPU benchmarks: ktweb's WASM backend (module Workers, as many wasm memories as the
// weights need) and wllama (llama.cpp in wasm64 with pthreads) on the same picked GGUF File (disk-backed, read by
// ranges) and the same thread count. Driven by e2e/wasm-model-run.ts through window.wasmModel.
import type { RawCompletionResponse } from '@wllama/wllama/esm/index.js';
import wllamaWasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url';
import { mdArray } from '../src/gguf/metadata.ts';
import { openGGUF } from '../src/gguf/model.ts';
import { BlobSource } from '../src/storage/blob-source.ts';
import { fromGGUFMetadata } from '../src/tokenizer/gguf.ts';
import { browserRuntime } from './wasm-browser.ts';
import { benchModel, type ModelBenchResult } from './wasm-model-bench.ts';

export interface PageBenchOptions {
  readonly file: number;
  readonly threads: number;
  readonly promptTokens: number;
  readonly decodeTokens: number;
  readonly reps: number;
  readonly shardBytes?: number;
}

export interface PeerResult {
  readonly backend: string;
  readonly threads: number;
  readonly promptTokens: number;
  readonly prefillTokensPerS: number;
  readonly decodeTokensPerS: number;
}

const log: string[] = [];
const file = (i: number): File => (document.getElementById('files') as HTMLInputElement).files![i]!;

async function ktweb(o: PageBenchOptions): Promise<ModelBenchResult & { log: string[] }> {
  log.length = 0;
  const gguf = await openGGUF(new BlobSource(file(o.file)));
  const r = await benchModel(gguf, () => browserRuntime(o.threads), {
    promptTokens: o.promptTokens,
    decodeTokens: o.decodeTokens,
    nCtx: o.promptTokens + o.decodeTokens + 16,
    prefillReps: o.reps,
    now: () => performance.now(),
    log: (l) => log.push(l),
    ...(o.shardBytes !== undefined ? { shardBytes: o.shardBytes } : {}),
  });
  return { ...r, log: [...log] };
}

/** wllama's own timings (ggml_time_us inside its worker), as src/app/bench-wllama.ts reads them; median of reps. */
async function wllama(o: PageBenchOptions): Promise<PeerResult> {
  const { Wllama } = await import('@wllama/wllama/esm/index.js');
  const quiet = { debug: () => {}, log: () => {}, warn: () => {}, error: (...a: unknown[]) => console.error('[wllama]', ...a) };
  const w = new Wllama({ default: wllamaWasmUrl }, { suppressNativeLog: true, logger: quiet as unknown as Console });
  w.setCompat(null); // never the CDN build
  const nCtx = Math.max(512, o.promptTokens + o.decodeTokens + 16);
  try {
    log.push('wllama: loading');
    await w.loadModel([file(o.file)], { n_threads: o.threads, n_ctx: nCtx, n_gpu_layers: 0, seed: 0 });
    const gguf = await openGGUF(new BlobSource(file(o.file)));
    // wllama takes plain text (token ids, or the random ids decoded to text, break its request encoding): a
    // story sentence repeated up to the prompt length, counted with the model's own tokenizer
    const tok = fromGGUFMetadata(gguf.metadata);
    const types = mdArray(gguf.metadata, 'tokenizer.ggml.token_type', gguf.name).values as ArrayLike<number>;
    const byteTokens = Array.from(types).flatMap((t, id) => (Number(t) === 6 ? [id] : []));
    let text = '';
    while (tok.encode(text).length < o.promptTokens) text += 'Once upon a time, a little girl named Lily found a shiny red ball in the park. ';
    while (tok.encode(text).length > o.promptTokens) text = text.slice(0, -1);
    const pre: number[] = [];
    const dec: number[] = [];
    let promptN = 0;
    for (let r = 0; r <= o.reps; r++) {
      // random weights pick byte tokens, whose partial UTF-8 makes llama.cpp's server fail to encode its JSON
      // answer: those are banned (logit_bias false), and ignore_eos keeps the model decoding to max_tokens
      const req = { prompt: text, max_tokens: o.decodeTokens + 1, temperature: 0, seed: 0, cache_prompt: false, ignore_eos: true, logit_bias: byteTokens.map((id) => [id, false]), stream: false as const };
      log.push(`wllama: completion ${r}`);
      const res: RawCompletionResponse = await w.createCompletion(req as unknown as Parameters<typeof w.createCompletion>[0] & { stream: false });
      const t = res.timings!;
      if (r === 0) continue; // warm-up
      promptN = t.prompt_n;
      pre.push(t.prompt_n / (t.prompt_ms / 1000));
      dec.push((t.predicted_n - 1) / (t.predicted_ms / 1000));
    }
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    return { backend: `wllama ${Wllama.getLibllamaVersion()} wasm64${w.isMultithread() ? ' pthreads' : ''}`, threads: w.getNumThreads(), promptTokens: promptN, prefillTokensPerS: med(pre), decodeTokensPerS: med(dec) };
  } finally {
    await w.exit().catch(() => {});
  }
}

declare global {
  interface Window {
    wasmModel: { ktweb: typeof ktweb; wllama: typeof wllama; log: string[] };
  }
}
window.wasmModel = { ktweb, wllama, log };
document.getElementById('status')!.textContent = 'ready';
