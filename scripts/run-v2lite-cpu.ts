// The DeepSeek-V2-Lite-shaped model (~9.7 GB, more than two wasm32 memories) with every op on the CPU in Node:
// weights streamed range by range from the file into as many wasm memories as they need, a prefill, greedy decode,
// and the process's peak resident memory (VmHWM: the main thread and every kernel worker thread) against the
// weight bytes. With --llama, llama.cpp (node-llama-cpp) greedy-decodes the same prompt ids in a second phase
// (after ours is freed) and the tokens are compared.
// Make the model first: node bin/ktweb.mjs make-model --arch deepseek2 --preset v2-lite-shape --quant Q4_K_M --seed 1 /tmp/v2lite.gguf
// Usage: npx tsx scripts/run-v2lite-cpu.ts [--gguf /tmp/v2lite.gguf] [--threads N] [--prompt 16] [--decode 16]
//        [--ctx 256] [--llama] [--json bench/results/v2lite-cpu-node.json]
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { createNodeWasmRuntime, physicalCores } from '../src/cli/node-wasm.ts';
import { openGGUF } from '../src/gguf/model.ts';
import { NodeFileSource } from '../src/storage/node-fs.ts';
import { benchModel } from '../e2e/wasm-model-bench.ts';

const { values: a } = parseArgs({
  options: {
    gguf: { type: 'string', default: '/tmp/v2lite.gguf' },
    threads: { type: 'string' },
    prompt: { type: 'string', default: '16' },
    decode: { type: 'string', default: '16' },
    ctx: { type: 'string', default: '256' },
    llama: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});

/** kB fields of /proc/self/status (VmHWM: peak resident set of the whole process, all threads). */
function status(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m === null ? NaN : Number(m[1]) * 1024;
}

const threads = a.threads !== undefined ? Number(a.threads) : physicalCores();
const gguf = await openGGUF(await NodeFileSource.open(a.gguf));
const fileBytes = [...gguf.tensors.values()].reduce((s, t) => s + t.info.nBytes, 0);
const rssBefore = status('VmRSS');
let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, status('VmRSS'))), 100);
const r = await benchModel(gguf, () => createNodeWasmRuntime({ threads }), {
  promptTokens: Number(a.prompt),
  decodeTokens: Number(a.decode),
  nCtx: Number(a.ctx),
  prefillReps: 1,
  now: () => performance.now(),
  log: (l) => console.log(`${l}  [rss ${(status('VmRSS') / 2 ** 30).toFixed(2)} GiB]`),
});
clearInterval(sampler);
const hwm = status('VmHWM');
await gguf.close();
console.log(`weights ${(r.weightBytes / 1e9).toFixed(2)} GB; peak RSS ${(hwm / 1e9).toFixed(2)} GB (${(hwm / r.weightBytes).toFixed(3)}x the weights; ${(rssBefore / 1e6).toFixed(0)} MB before loading)`);

let llama: { tokens: number[]; match: number; decodeTokensPerS: number } | undefined;
if (a.llama) {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const l = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await l.loadModel({ modelPath: a.gguf });
  // F32 KV cache and no flash attention, as the oracle of the tests (tests/helpers/llama-oracle.ts): llama.cpp's F16
  // cache alone flips near-tied greedy tokens of a random-weight model after a few steps
  const ctx = await model.createContext({ contextSize: Number(a.ctx), threads, batchSize: Number(a.prompt), experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32', flashAttention: false });
  const seq = ctx.getSequence();
  const tokens: number[] = [];
  const t0 = performance.now();
  let t1 = 0;
  for await (const t of seq.evaluate(r.prompt as never[], { temperature: 0 })) {
    tokens.push(t);
    if (tokens.length === 2) t1 = performance.now();
    if (tokens.length >= r.generated.length) break;
  }
  const decodeTokensPerS = ((tokens.length - 2) * 1000) / (performance.now() - t1);
  console.log(`llama.cpp: first token after ${(t1 - t0).toFixed(0)} ms, then ${decodeTokensPerS.toFixed(2)} tokens/s`);
  await ctx.dispose();
  await model.dispose();
  let match = 0;
  while (match < tokens.length && tokens[match] === r.generated[match]) match++;
  llama = { tokens, match, decodeTokensPerS };
  console.log(`llama.cpp greedy tokens: ${tokens.join(' ')}\nktweb     greedy tokens: ${r.generated.join(' ')}\nagree on the first ${match} of ${tokens.length}`);
}

const out = {
  machine: { cpu: cpus()[0]?.model, logicalCpus: cpus().length, memoryBytes: totalmem(), node: process.version, note: 'shared VM (other agents running)' },
  model: { file: a.gguf, fileTensorBytes: fileBytes },
  threads,
  result: { ...r, prompt: undefined },
  memory: { peakRssBytes: hwm, sampledPeakRssBytes: peak, rssBeforeLoadBytes: rssBefore, peakOverWeights: hwm / r.weightBytes },
  ...(llama !== undefined ? { llama } : {}),
};
if (a.json !== undefined) await writeFile(a.json, JSON.stringify(out, null, 2) + '\n');
process.exit(0); // node-llama-cpp keeps the event loop alive
