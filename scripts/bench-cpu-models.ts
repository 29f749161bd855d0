// Whole models on the CPU, same GGUF and thread count: ktweb's WASM backend (all ops, e2e/wasm-model-bench.ts)
// against llama.cpp native (node-llama-cpp) in Node, and, with --browser, ktweb against wllama in one Chromium
// page (e2e/wasm-model-page.ts). Prefill = one forward pass over the prompt (median of reps); decode = greedy
// steps after it. --rounds N repeats everything N times, engines interleaved, and the summary keeps each
// engine's best round: on a shared machine other load only ever slows a run down. --json writes rows + summary.
// Usage: npx tsx scripts/bench-cpu-models.ts --gguf /tmp/bench-moe-Q4_0.gguf[,more.gguf] [--threads 1,2]
//        [--prompt 128] [--decode 32] [--reps 3] [--engines ktweb,llama.cpp] [--browser] [--json out.json]
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { createNodeWasmRuntime } from '../src/cli/node-wasm.ts';
import { openGGUF } from '../src/gguf/model.ts';
import { NodeFileSource } from '../src/storage/node-fs.ts';
import { benchModel, benchPrompt } from '../e2e/wasm-model-bench.ts';
import type { ModelRow } from '../e2e/wasm-model-run.ts';
import { ensureKernelsBuilt } from '../tests/backends/wasm/build.ts';

const { values: a } = parseArgs({
  options: {
    gguf: { type: 'string', default: '/tmp/bench-moe-Q4_0.gguf' },
    threads: { type: 'string', default: '1' },
    prompt: { type: 'string', default: '128' },
    decode: { type: 'string', default: '32' },
    reps: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '1' },
    engines: { type: 'string' },
    browser: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});

const prompt = Number(a.prompt);
const decode = Number(a.decode);
const reps = Number(a.reps);
const rows: ModelRow[] = [];
const show = (r: ModelRow): void => {
  rows.push(r);
  console.log(`${r.env.padEnd(8)} ${r.engine.padEnd(9)} ${r.model.padEnd(22)} ${String(r.threads).padStart(2)}t  prefill ${r.prefillTokensPerS.toFixed(1).padStart(7)} t/s  decode ${r.decodeTokensPerS.toFixed(1).padStart(7)} t/s  (${r.backend})`);
};

/** llama.cpp through node-llama-cpp: evaluate(prompt) yields after the prefill, then once per decode step. */
async function llamaCpp(path: string, threads: number): Promise<void> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: path, useMmap: true });
  const ctx = await model.createContext({ contextSize: prompt + decode + 16, threads, batchSize: prompt });
  const ids = benchPrompt(prompt, await vocabSize(path));
  const seq = ctx.getSequence();
  const pre: number[] = [];
  const dec: number[] = [];
  for (let r = 0; r <= reps; r++) {
    await seq.clearHistory();
    const t0 = performance.now();
    let t1 = 0;
    let n = 0;
    for await (const _ of seq.evaluate(ids as never[], { temperature: 0 })) {
      void _;
      if (++n === 1) t1 = performance.now();
      if (n > decode || r < reps) break; // every rep measures the prefill; the last one also decodes
    }
    if (r > 0) pre.push(t1 - t0); // rep 0 warms up
    if (r === reps) dec.push(performance.now() - t1);
  }
  const med = [...pre].sort((x, y) => x - y)[Math.floor(pre.length / 2)]!;
  show({ env: 'node', engine: 'llama.cpp', backend: `node-llama-cpp ${llama.buildType} build, ${llama.cpuMathCores} cores`, model: basename(path), threads, promptTokens: prompt, prefillTokensPerS: (1000 * prompt) / med, decodeTokens: decode, decodeTokensPerS: (1000 * decode) / dec[0]! });
  await ctx.dispose();
  await model.dispose();
}

async function vocabSize(path: string): Promise<number> {
  const gguf = await openGGUF(await NodeFileSource.open(path));
  const n = gguf.tensor('token_embd.weight').info.dims[1]!;
  await gguf.close();
  return n;
}

async function ktwebNode(path: string, threads: number): Promise<void> {
  const gguf = await openGGUF(await NodeFileSource.open(path));
  const r = await benchModel(gguf, () => createNodeWasmRuntime({ threads }), { promptTokens: prompt, decodeTokens: decode, nCtx: prompt + decode + 16, prefillReps: reps, now: () => performance.now() });
  await gguf.close();
  show({ env: 'node', engine: 'ktweb', backend: r.label, model: basename(path), threads, promptTokens: prompt, prefillTokensPerS: r.prefillTokensPerS, decodeTokens: decode, decodeTokensPerS: r.decodeTokensPerS });
}

ensureKernelsBuilt();
const files = a.gguf.split(',');
const threadCounts = a.threads.split(',').map(Number);
let env = `node ${process.version}`;
for (let round = 0; round < Number(a.rounds); round++) {
  if (a.browser) {
    const { browserModelBench } = await import('../e2e/wasm-model-run.ts');
    const engines = (a.engines ?? 'ktweb,wllama').split(',');
    env = await browserModelBench(files, threadCounts, engines, { promptTokens: prompt, decodeTokens: decode, reps }, show);
  } else {
    const engines = (a.engines ?? 'ktweb,llama.cpp').split(',');
    for (const f of files) {
      for (const t of threadCounts) {
        if (engines.includes('ktweb')) await ktwebNode(f, t);
        if (engines.includes('llama.cpp')) await llamaCpp(f, t);
      }
    }
  }
}
const best = new Map<string, ModelRow>();
for (const r of rows) {
  const key = `${r.env}/${r.engine}/${r.model}/${r.threads}`;
  const b = best.get(key);
  best.set(key, { ...r, prefillTokensPerS: Math.max(r.prefillTokensPerS, b?.prefillTokensPerS ?? 0), decodeTokensPerS: Math.max(r.decodeTokensPerS, b?.decodeTokensPerS ?? 0) });
}
console.log('best of rounds:');
for (const r of best.values()) console.log(`${r.env.padEnd(8)} ${r.engine.padEnd(9)} ${r.model.padEnd(22)} ${String(r.threads).padStart(2)}t  prefill ${r.prefillTokensPerS.toFixed(1).padStart(7)} t/s  decode ${r.decodeTokensPerS.toFixed(1).padStart(7)} t/s`);
if (a.json !== undefined) await writeFile(a.json, JSON.stringify({ env, prompt, decode, reps, rounds: Number(a.rounds), best: [...best.values()], rows }, null, 2) + '\n');
process.exit(0); // node-llama-cpp keeps the event loop alive
