/// <reference types="vite/client" />
// wllama (llama.cpp compiled to wasm64 with pthreads and JSPI) as the in-browser peer on the benchmark page. It
// loads the very File objects ktweb gets and runs in its own workers. Its wasm comes from node_modules through
// Vite (`?url`): nothing is fetched from a CDN — compat mode (which would download a wasm32 build) is switched off,
// and where JSPI or Memory64 is missing the target says so instead of running.
import type { RawCompletionResponse } from '@wllama/wllama/esm/index.js';
import wllamaWasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url';
import type { BenchTarget } from './bench-targets.ts';
import { perSecond } from './bench-types.ts';

export function hasJspi(): boolean {
  return typeof (WebAssembly as unknown as { Suspending?: unknown }).Suspending === 'function';
}

export function hasMemory64(): boolean {
  try {
    new WebAssembly.Memory({ address: 'i64', initial: 1n } as unknown as WebAssembly.MemoryDescriptor);
    return true;
  } catch {
    return false;
  }
}

export function hasWebGpu(): boolean {
  return 'gpu' in navigator;
}

const METHOD =
  'wllama: each run is createCompletion({prompt, max_tokens, temperature: 0, cache_prompt: false}) (llama.cpp\'s server code in wasm); ' +
  'the numbers come from the timings llama.cpp returns, measured with its own clock (ggml_time_us) in the wasm worker. ' +
  'Prefill tokens/s = timings.prompt_n ÷ timings.prompt_ms (prompt processing up to the first sampled token). ' +
  'Decode tokens/s = (timings.predicted_n − 1) ÷ timings.predicted_ms: predicted_ms runs from the first sampled token to the last, ' +
  'which is predicted_n − 1 forward passes (llama.cpp\'s own predicted_per_second divides by predicted_n and so counts one token too many). ' +
  'cache_prompt is off, so the whole prompt is processed each run (timings.cache_n = 0).';

const quietLogger = { debug: () => {}, log: () => {}, warn: (...a: unknown[]) => console.warn('[wllama]', ...a), error: (...a: unknown[]) => console.error('[wllama]', ...a) };

function unavailable(): string | null {
  const missing: string[] = [];
  if (!hasJspi()) missing.push('JSPI (WebAssembly.Suspending)');
  if (!hasMemory64()) missing.push('WebAssembly Memory64');
  if (missing.length > 0) return `wllama cannot run in this browser: it needs ${missing.join(' and ')}; its compat build would have to be downloaded from a CDN, which this page never does`;
  return null;
}

function wllamaTarget(device: 'cpu' | 'webgpu'): BenchTarget {
  return {
    id: device === 'cpu' ? 'wllama' : 'wllama-webgpu',
    label: device === 'cpu' ? 'wllama 3.8 (CPU, wasm64)' : 'wllama 3.8 (WebGPU)',
    defaultOn: device === 'cpu',
    usesThreads: true,
    caveat: () => null,
    unavailable: () => unavailable() ?? (device === 'webgpu' && !hasWebGpu() ? 'this browser has no WebGPU' : null),
    method: METHOD,
    async load(model, opts) {
      opts.onProgress('loading wllama');
      const { Wllama } = await import('@wllama/wllama/esm/index.js'); // ~400 kB of JS: only fetched when wllama runs
      const w = new Wllama({ default: wllamaWasmUrl }, { suppressNativeLog: true, logger: quietLogger as unknown as Console });
      w.setCompat(null); // never the CDN compat build
      opts.onProgress('starting wllama');
      try {
        await w.loadModel([...model.ggufs], { n_threads: opts.threads, n_ctx: opts.nCtx, n_gpu_layers: device === 'cpu' ? 0 : 99999, seed: 0 });
      } catch (e) {
        await w.exit().catch(() => {});
        throw e;
      }
      const threadsUsed = w.getNumThreads();
      const backend = `llama.cpp ${Wllama.getLibllamaVersion()} wasm64 ${device === 'cpu' ? 'CPU' : 'WebGPU'}${w.isMultithread() ? ', pthreads' : ', single-thread build'}`;
      let controller: AbortController | undefined;
      return {
        engine: 'wllama',
        label: device === 'cpu' ? 'wllama · CPU' : 'wllama · WebGPU',
        backend,
        placement: device === 'cpu' ? 'all CPU (n_gpu_layers 0)' : 'all GPU (n_gpu_layers 99999)',
        threadsUsed,
        kernelNote: 'not available for this backend (wllama exposes no per-kernel timings)',
        async run(prompt, maxTokens) {
          controller = new AbortController();
          const t0 = performance.now();
          // cache_prompt is a llama.cpp server field that wllama forwards as is (its typings omit it).
          const req = { prompt, max_tokens: maxTokens, temperature: 0, seed: 0, cache_prompt: false, abortSignal: controller.signal, stream: false as const };
          let r: RawCompletionResponse;
          try {
            r = await w.createCompletion(req);
          } catch (e) {
            // Seen here: llama.cpp's server code inside wllama throws (nlohmann json, "invalid UTF-8 byte") when the
            // generated text is not valid UTF-8, as random-weight models' lone byte tokens make it, and wllama then
            // reports only a garbled reply length. Say what the error most likely means.
            const m = e instanceof Error ? e.message : String(e);
            if (/Invalid typed array length/.test(m)) throw new Error(`wllama's completion failed (${m}); wllama fails this way when the generated text is not valid UTF-8 (e.g. random-weight test models)`);
            throw e;
          }
          const wall = performance.now() - t0;
          const t = r.timings;
          if (t === undefined) throw new Error('wllama returned no timings');
          if (t.cache_n > 0) throw new Error(`wllama reused ${t.cache_n} cached prompt tokens; the prefill number would be wrong`);
          return {
            prompt_tokens: t.prompt_n,
            prefill_ms: Math.round(t.prompt_ms * 1000) / 1000,
            prefill_tokens_per_s: perSecond(t.prompt_n, t.prompt_ms),
            completion_tokens: t.predicted_n,
            decode_ms: Math.round(t.predicted_ms * 1000) / 1000,
            decode_tokens_per_s: perSecond(t.predicted_n - 1, t.predicted_ms),
            wall_ms: Math.round(wall * 10) / 10,
          };
        },
        kernelStats: () => Promise.resolve(null),
        lastStep: () => Promise.resolve(null),
        memory: () => Promise.resolve(null),
        abort: () => controller?.abort(),
        dispose: () => w.exit(),
      };
    },
  };
}

export function wllamaTargets(): BenchTarget[] {
  return [wllamaTarget('cpu'), wllamaTarget('webgpu')];
}
