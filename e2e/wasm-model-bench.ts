// Whole-model CPU benchmark shared by the Node scripts (scripts/bench-cpu-models.ts, scripts/run-v2lite-cpu.ts) and
// the Chromium page (e2e/wasm-model-page.ts): a GGUF from any ByteSource, every op on the WASM backend
// (ShardedWasmExecutor: one memory when the weights fit, several otherwise), weights streamed range by range from
// the byte source into wasm memory; then a prefill of `promptTokens` and greedy decode steps, timed.
import { ShardedWasmExecutor } from '../src/backends/wasm/sharded.ts';
import type { WasmRuntime } from '../src/backends/wasm/runtime.ts';
import type { GGUFModel } from '../src/gguf/model.ts';
import type { Graph } from '../src/graph/graph.ts';
import { modelFromGGUF } from '../src/models/registry.ts';

export interface ModelBenchOptions {
  readonly promptTokens: number;
  readonly decodeTokens: number;
  readonly nCtx: number;
  /** Prefill repetitions (the median is reported; the first run compiles and is not counted). */
  readonly prefillReps?: number;
  readonly shardBytes?: number;
  readonly now: () => number;
  readonly log?: (line: string) => void;
}

export interface ModelBenchResult {
  readonly label: string;
  readonly shards: number;
  readonly weightBytes: number;
  readonly loadMs: number;
  readonly promptTokens: number;
  readonly prefillMs: number;
  readonly prefillTokensPerS: number;
  readonly decodeTokens: number;
  readonly decodeMs: number;
  readonly decodeTokensPerS: number;
  /** The prompt (deterministic ids) and the greedy tokens, to compare with other engines. */
  readonly prompt: readonly number[];
  readonly generated: readonly number[];
}

/** Deterministic prompt ids in [3, nVocab): the same in every engine. */
export function benchPrompt(n: number, nVocab: number): number[] {
  let s = 0x9e3779b9;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return 3 + (s % (nVocab - 3));
  });
}

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchModel(gguf: GGUFModel, createRuntime: () => Promise<WasmRuntime>, o: ModelBenchOptions): Promise<ModelBenchResult> {
  const log = o.log ?? (() => {});
  const model = modelFromGGUF(gguf);
  const ex = await ShardedWasmExecutor.create({ nCtx: o.nCtx, createRuntime, ...(o.shardBytes !== undefined ? { shardBytes: o.shardBytes } : {}) });
  try {
    const g1 = model.build({ nTokens: 1, allLogits: false });
    const gp = model.build({ nTokens: o.promptTokens, allLogits: false });
    const names = new Set(g1.nodes.flatMap((n) => (n.spec.op === 'weight' ? [n.spec.name] : [])));
    const weightBytes = [...names].reduce((a, n) => a + gguf.tensor(n).info.nBytes, 0);
    const t0 = o.now();
    let done = 0;
    let shown = 0;
    await ex.loadWeightsRanged(
      g1,
      { info: (n) => gguf.tensor(n).info, read: (n, off, len) => gguf.readTensor(n, off, len) },
      (b) => {
        done += b;
        if (done - shown < 2 ** 30) return;
        shown = done;
        log(`loaded ${(done / 2 ** 30).toFixed(1)} of ${(weightBytes / 2 ** 30).toFixed(1)} GiB`);
      },
    );
    const loadMs = o.now() - t0;
    log(`loaded ${(weightBytes / 2 ** 30).toFixed(2)} GiB in ${(loadMs / 1000).toFixed(1)} s into ${ex.shardCount} memor${ex.shardCount === 1 ? 'y' : 'ies'} (${ex.label})`);
    const nVocab = g1.nodes[g1.output]!.shape[0]!;
    const prompt = benchPrompt(o.promptTokens, nVocab);
    const run = (g: Graph, tokens: number[], pos: number): Promise<Float32Array> =>
      ex.run(g, { tokens: Int32Array.from(tokens), positions: Int32Array.from(tokens, (_, i) => pos + i) });
    // the first prefill compiles the program and sizes the arena
    let logits = await run(gp, prompt, 0);
    const times: number[] = [];
    for (let r = 0; r < (o.prefillReps ?? 3); r++) {
      ex.resetCache();
      const t = o.now();
      logits = await run(gp, prompt, 0);
      times.push(o.now() - t);
    }
    const prefillMs = median(times);
    log(`prefill ${o.promptTokens} tokens: ${prefillMs.toFixed(1)} ms (${((1000 * o.promptTokens) / prefillMs).toFixed(2)} tokens/s)`);
    const generated = [argmax(logits)];
    logits = await run(g1, [generated[0]!], o.promptTokens); // compiles the decode program
    generated.push(argmax(logits));
    const td = o.now();
    for (let i = 0; i < o.decodeTokens; i++) {
      logits = await run(g1, [generated[generated.length - 1]!], o.promptTokens + 1 + i);
      generated.push(argmax(logits));
    }
    const decodeMs = o.now() - td;
    log(`decode ${o.decodeTokens} tokens: ${decodeMs.toFixed(0)} ms (${((1000 * o.decodeTokens) / decodeMs).toFixed(2)} tokens/s)`);
    return {
      label: ex.label,
      shards: ex.shardCount,
      weightBytes,
      loadMs,
      promptTokens: o.promptTokens,
      prefillMs,
      prefillTokensPerS: (1000 * o.promptTokens) / prefillMs,
      decodeTokens: o.decodeTokens,
      decodeMs,
      decodeTokensPerS: (1000 * o.decodeTokens) / decodeMs,
      prompt,
      generated,
    };
  } finally {
    await ex.dispose();
  }
}
